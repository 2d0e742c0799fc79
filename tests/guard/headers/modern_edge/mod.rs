//! The 2026-07-28 rules the edge enforces beyond the standard headers, through
//! real tower stacks: request ids in every rejection, required `_meta`,
//! removed methods, unknown versions, `Mcp-Param-{Name}` headers from tool
//! schemas, required client capabilities, session-era leftovers, the optional
//! status mapping and tool learning.
//!
//! Quotes are from `basic/transports/streamable-http.mdx`, `basic/index.mdx`
//! and `server/tools.mdx` of the 2026-07-28 revision.
#![cfg(feature = "axum")]

/// `Mcp-Param-{Name}` headers.
mod mcp_param_headers;
/// Required `_meta` and capabilities, removed methods, unknown versions, session leftovers.
mod meta_and_methods;
/// Request ids in every rejection.
mod request_ids;
/// The optional status mapping and tool learning.
mod status_and_learning;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_tower_guard::headers::{encode_value, ToolRules};
use mcp_tower_guard::session::MokaSessionStore;
use mcp_tower_guard::{
    HostCheckLayer, McpHeadersLayer, McpSessionLayer, OriginGuardLayer, Rejection, RejectionKind,
};
use serde_json::{json, Value};
use tower::{Service, ServiceBuilder, ServiceExt};

const MODERN: &str = "2026-07-28";
const ACCEPT_BOTH: &str = "application/json, text/event-stream";

// ---------------------------------------------------------------- helpers

/// What the inner service saw of the last request that reached it.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Option<HeaderMap>>>);

impl Seen {
    fn headers(&self) -> Option<HeaderMap> {
        self.0.lock().unwrap().clone()
    }
}

/// An inner service that records the request headers and answers `answer`.
fn inner(
    seen: Seen,
    answer: impl Fn() -> Response<Full<Bytes>> + Clone + Send + 'static,
) -> impl Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send + 'static,
> + Clone
       + Send
       + 'static {
    tower::service_fn(move |req: Request<Full<Bytes>>| {
        let seen = seen.clone();
        let answer = answer.clone();
        async move {
            *seen.0.lock().unwrap() = Some(req.headers().clone());
            Ok::<_, Infallible>(answer())
        }
    })
}

fn ok_json() -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::from(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#));
    res.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    res
}

struct Outcome {
    status: StatusCode,
    headers: HeaderMap,
    rejection: Option<Rejection>,
    body: Value,
    reached: bool,
}

impl Outcome {
    #[track_caller]
    fn rejected(&self, status: StatusCode, code: i32) -> &Self {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["error"]["code"], code, "{}", self.body);
        assert_eq!(self.rejection.as_ref().map(Rejection::code), Some(code));
        assert!(!self.reached, "the inner service must not run");
        self
    }

    #[track_caller]
    fn id(&self, id: Value) -> &Self {
        assert_eq!(self.body["id"], id, "{}", self.body);
        self
    }

    #[track_caller]
    fn passed(&self) -> &Self {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.body);
        assert!(self.rejection.is_none());
        assert!(self.reached, "the inner service must run");
        self
    }
}

async fn run<S>(svc: S, seen: &Seen, req: Request<Full<Bytes>>) -> Outcome
where
    S: Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = Infallible>,
{
    *seen.0.lock().unwrap() = None;
    let res = svc.oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Outcome {
        status: parts.status,
        rejection: parts.extensions.get::<Rejection>().cloned(),
        headers: parts.headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        reached: seen.headers().is_some(),
    }
}

async fn send(layer: McpHeadersLayer, req: Request<Full<Bytes>>) -> Outcome {
    let seen = Seen::default();
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service(inner(seen.clone(), ok_json));
    run(svc, &seen, req).await
}

/// Every `_meta` field a 2026-07-28 client sends.
fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    })
}

fn body(id: Value, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

/// A 2026-07-28 POST with the standard headers derived from the body.
fn modern(method: &str, params: Value) -> http::request::Builder {
    let mut b = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", method);
    let name = params
        .get("name")
        .or_else(|| params.get("uri"))
        .and_then(Value::as_str);
    if let Some(name) = name {
        b = b.header("mcp-name", encode_value(name));
    }
    b
}

fn modern_request(id: Value, method: &str, params: Value) -> Request<Full<Bytes>> {
    let text = body(id, method, params.clone());
    modern(method, params).body(Full::from(text)).unwrap()
}

fn sql_call(arguments: Value, params: &[(&str, &[u8])]) -> Request<Full<Bytes>> {
    let call = json!({"name": "execute_sql", "arguments": arguments, "_meta": meta()});
    let mut req = modern_request(json!(7), "tools/call", call);
    for (name, value) in params {
        req.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(value).unwrap(),
        );
    }
    req
}
