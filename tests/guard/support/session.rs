//! Helpers shared by the `session*` integration tests.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_tower_guard::envelope::Envelope;
use mcp_tower_guard::protocol::RequestProtocol;
use mcp_tower_guard::session::{CloseCause, McpSessionLayer, SessionContext};
use tower::{Layer, Service, ServiceExt};

pub type B = Full<Bytes>;

/// A JSON-RPC request body.
pub fn rpc(method: &str) -> B {
    Full::new(Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{{}}}}"#
    )))
}

/// A legacy `initialize` body asking for `version`.
pub fn init_body(version: &str) -> B {
    Full::new(Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{version}","capabilities":{{}},"clientInfo":{{"name":"t","version":"1"}}}}}}"#
    )))
}

pub fn initialize() -> Request<B> {
    Request::post("/mcp").body(init_body("2025-06-18")).unwrap()
}

pub fn initialize_as(user: &str) -> Request<B> {
    Request::post("/mcp")
        .header("x-user", user)
        .body(init_body("2025-06-18"))
        .unwrap()
}

pub fn ping(id: &HeaderValue) -> Request<B> {
    Request::post("/mcp")
        .header("mcp-session-id", id.clone())
        .body(rpc("ping"))
        .unwrap()
}

pub fn ping_as(id: &HeaderValue, user: &str) -> Request<B> {
    Request::post("/mcp")
        .header("mcp-session-id", id.clone())
        .header("x-user", user)
        .body(rpc("ping"))
        .unwrap()
}

pub fn delete(id: &HeaderValue) -> Request<B> {
    Request::delete("/mcp")
        .header("mcp-session-id", id.clone())
        .body(B::default())
        .unwrap()
}

/// What the inner service saw.
#[derive(Clone, Default)]
pub struct Seen {
    pub calls: Arc<AtomicUsize>,
    pub last: Arc<Mutex<Option<SessionContext>>>,
    pub protocol: Arc<Mutex<Option<RequestProtocol>>>,
    pub body: Arc<Mutex<Option<Bytes>>>,
}

impl Seen {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn last(&self) -> Option<SessionContext> {
        self.last.lock().unwrap().clone()
    }
}

/// The test MCP service. Request headers steer it:
/// `x-test-status` (answer status), `x-test-sleep-ms` (work time),
/// `x-test-hold-ms` (keep the session context alive after answering, like an
/// SSE stream), `x-test-sse` (answer as `text/event-stream`), `x-test-answer`
/// (`error`, `other-id`, `empty`, `cut`: see [`answer`]), `x-test-negotiate`
/// (the version an `initialize` answers).
pub async fn handler(seen: Seen, req: Request<B>) -> Result<Response<B>, Infallible> {
    seen.calls.fetch_add(1, Ordering::SeqCst);
    let ctx = req.extensions().get::<SessionContext>().cloned();
    *seen.last.lock().unwrap() = ctx.as_ref().map(SessionContext::detached);
    *seen.protocol.lock().unwrap() = req.extensions().get::<RequestProtocol>().copied();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let ms = |name: &str| header(name).and_then(|v| v.parse::<u64>().ok());
    let status = header("x-test-status")
        .and_then(|s| s.parse::<u16>().ok())
        .map_or(StatusCode::OK, |s| StatusCode::from_u16(s).unwrap());
    let sleep = ms("x-test-sleep-ms");
    let hold = ms("x-test-hold-ms");
    let sse = header("x-test-sse").is_some();
    let inbound_session = header("mcp-session-id");
    let kind = header("x-test-answer");
    let negotiate = header("x-test-negotiate");
    let has_envelope = req.extensions().get::<Envelope>().is_some();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    *seen.body.lock().unwrap() = Some(body.clone());
    if let Some(ms) = sleep {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let (Some(ms), Some(ctx)) = (hold, ctx.clone()) {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            drop(ctx);
        });
    }
    let answer = answer(&body, kind.as_deref(), negotiate);
    let text = if sse {
        format!("event: message\ndata: {answer}\n\n")
    } else {
        answer
    };
    let text = match kind.as_deref() {
        Some("empty") => String::new(),
        // Cut off: an SSE event before its blank line (never dispatched), half a JSON body.
        Some("cut") if sse => text.trim_end().to_owned(),
        Some("cut") => text[..text.len() / 2].to_owned(),
        _ => text,
    };
    let mut res = Response::new(Full::new(Bytes::from(text)));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static(if sse {
            "text/event-stream"
        } else {
            "application/json"
        }),
    );
    if let Some(v) = inbound_session {
        h.insert("x-seen-mcp-session-id", v.parse().unwrap());
    }
    if has_envelope {
        h.insert("x-seen-envelope", HeaderValue::from_static("1"));
    }
    Ok(res)
}

/// The JSON-RPC answer to `body`: a `result` echoing the request id (for
/// `initialize`, with the `protocolVersion` it asked for, or `negotiate`), or
/// an error (`x-test-answer: error`), or a result for another id
/// (`x-test-answer: other-id`).
pub fn answer(body: &[u8], kind: Option<&str>, negotiate: Option<String>) -> String {
    let request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let id = match kind {
        Some("other-id") => serde_json::json!("someone-else"),
        _ => request
            .get("id")
            .cloned()
            .unwrap_or(serde_json::Value::Null),
    };
    if kind == Some("error") {
        return serde_json::json!({"jsonrpc":"2.0","id":id,"error":{"code":-32602,"message":"Invalid params"}}).to_string();
    }
    let result = match request.get("method").and_then(|m| m.as_str()) {
        Some("initialize") => {
            let version = negotiate
                .map(serde_json::Value::String)
                .or_else(|| request.pointer("/params/protocolVersion").cloned())
                .unwrap_or_default();
            serde_json::json!({"protocolVersion": version, "capabilities": {}, "serverInfo": {"name": "test", "version": "1"}})
        }
        _ => serde_json::json!({}),
    };
    serde_json::json!({"jsonrpc":"2.0","id":id,"result":result}).to_string()
}

/// The test service wrapped in `layer`.
pub fn service(
    layer: McpSessionLayer,
    seen: &Seen,
) -> impl Service<
    Request<B>,
    Response = Response<B>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<B>, Infallible>> + Send,
> + Clone
       + Send
       + 'static {
    let seen = seen.clone();
    layer.layer(tower::service_fn(move |req| handler(seen.clone(), req)))
}

/// Sends one request through a clone of `svc`.
pub async fn send<S>(svc: &S, req: Request<B>) -> Response<B>
where
    S: Service<Request<B>, Response = Response<B>, Error = Infallible> + Clone,
{
    svc.clone().oneshot(req).await.unwrap()
}

pub async fn body(res: Response<B>) -> Bytes {
    res.into_body().collect().await.unwrap().to_bytes()
}

pub fn session_id(res: &Response<B>) -> HeaderValue {
    res.headers()
        .get("mcp-session-id")
        .expect("response carries Mcp-Session-Id")
        .clone()
}

/// Close-hook recorder.
#[derive(Clone, Default)]
pub struct Closed(pub Arc<Mutex<Vec<(String, CloseCause)>>>);

impl Closed {
    pub fn hook(&self) -> impl Fn(&SessionContext, CloseCause) + Send + Sync + 'static {
        let log = self.0.clone();
        move |ctx: &SessionContext, cause| {
            log.lock()
                .unwrap()
                .push((ctx.id().as_str().to_owned(), cause))
        }
    }

    pub fn all(&self) -> Vec<(String, CloseCause)> {
        self.0.lock().unwrap().clone()
    }

    pub fn cause_of(&self, id: &HeaderValue) -> Option<CloseCause> {
        let id = id.to_str().unwrap();
        self.all()
            .into_iter()
            .find(|(closed, _)| closed == id)
            .map(|(_, c)| c)
    }
}

/// A failed `initialize` of every shape: the header that steers the test
/// handler, and whether it answers as SSE.
pub fn failing_initializes() -> Vec<(&'static str, Request<B>)> {
    let mut out = Vec::new();
    for sse in [false, true] {
        for (name, header, value) in [
            ("500", "x-test-status", "500"),
            ("400", "x-test-status", "400"),
            ("json-rpc error", "x-test-answer", "error"),
            ("result for another id", "x-test-answer", "other-id"),
            ("empty body", "x-test-answer", "empty"),
            ("cut off", "x-test-answer", "cut"),
        ] {
            let mut req = initialize();
            req.headers_mut()
                .insert(header, HeaderValue::from_static(value));
            if sse {
                req.headers_mut()
                    .insert("x-test-sse", HeaderValue::from_static("1"));
            }
            out.push((name, req));
        }
    }
    out
}

/// The body of `res` as JSON.
pub async fn body_json(res: Response<B>) -> serde_json::Value {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}
