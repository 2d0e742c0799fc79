//! `McpHeadersLayer` through real tower stacks: one test per spec rule, both eras.
//!
//! Spec quotes are from the MCP transport pages (2025-06-18 / 2025-11-25
//! `basic/transports.mdx`, 2026-07-28 `basic/transports/streamable-http.mdx`).
#![cfg(feature = "axum")]

/// Accept, Content-Type and HTTP methods.
mod accept_content_type_methods;
/// The JSON-RPC body shape and the body limits.
mod body;
/// Legacy era: the version header and batches.
mod legacy_era;
/// 2026-07-28: `Mcp-Method`, the `Mcp-Name` matrix, tasks.
mod mcp_method_and_name;
/// 2026-07-28: accepted requests, the version header against `_meta`, body shape.
mod modern_era;
/// Response headers, a parsed envelope, and framework fit.
mod responses_and_frameworks;

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use mcp_tower_guard::envelope::Envelope;
use mcp_tower_guard::headers::{encode_value, McpHeaders};
use mcp_tower_guard::protocol::{Era, ProtocolVersion, RequestProtocol, VersionSource};
use mcp_tower_guard::{McpHeadersLayer, Rejection, RejectionKind, StatusOnly};
use serde_json::{json, Value};
use tower::{Service, ServiceBuilder, ServiceExt};

// ---------------------------------------------------------------- helpers

const ACCEPT_BOTH: &str = "application/json, text/event-stream";
const MODERN: &str = "2026-07-28";

/// The inner service: echoes the body it received and records the
/// `RequestProtocol` in the response extensions. Only POST bodies are read.
async fn echo(req: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let protocol = req.extensions().get::<RequestProtocol>().copied();
    let body = if req.method() == Method::POST {
        req.into_body().collect().await.unwrap().to_bytes()
    } else {
        Bytes::new()
    };
    let mut res = Response::new(Full::new(body));
    if let Some(p) = protocol {
        res.extensions_mut().insert(p);
    }
    Ok(res)
}

fn stack(
    layer: McpHeadersLayer,
) -> impl Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = Infallible> + Clone
{
    ServiceBuilder::new().layer(layer).service_fn(echo)
}

struct Outcome {
    status: StatusCode,
    headers: HeaderMap,
    rejection: Option<Rejection>,
    protocol: Option<RequestProtocol>,
    body: Bytes,
    /// The `id` of the request body when it is a single JSON-RPC request, else null.
    request_id: Value,
}

impl Outcome {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A rejection: status, JSON-RPC code in the typed rejection and in the body, the
    /// request's own id (null where none can be known), nosniff.
    #[track_caller]
    fn rejected(&self, status: StatusCode, code: i32) -> &Self {
        assert_eq!(self.status, status, "body: {:?}", self.body);
        let r = self
            .rejection
            .as_ref()
            .expect("typed rejection in the extensions");
        assert_eq!(r.code(), code, "{r}");
        let v = self.json();
        assert_eq!(v["jsonrpc"], "2.0");
        assert_eq!(v["error"]["code"], code, "{v}");
        // "Error responses MUST include the same ID as the request they correspond to
        // (except in error cases where the ID could not be read due a malformed request)":
        // unknown only when the body was never read or does not parse.
        let unread = matches!(
            r.kind(),
            RejectionKind::PayloadTooLarge
                | RejectionKind::BodyTimeout
                | RejectionKind::BodyReadFailed
                | RejectionKind::ParseError
                | RejectionKind::InvalidRequest
                | RejectionKind::HeadersTooLarge
        ) || self.request_id.is_null();
        if unread {
            assert_eq!(v["id"], Value::Null, "{v}");
        } else {
            assert_eq!(v["id"], self.request_id, "{v}");
        }
        assert_eq!(self.headers["content-type"], "application/json");
        assert_eq!(self.headers["x-content-type-options"], "nosniff");
        assert!(self.protocol.is_none(), "the inner service must not run");
        self
    }

    #[track_caller]
    fn passed(&self) -> RequestProtocol {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "rejected: {:?}",
            self.rejection.as_ref().map(ToString::to_string)
        );
        assert!(self.rejection.is_none());
        assert_eq!(self.headers["x-content-type-options"], "nosniff");
        self.protocol
            .expect("RequestProtocol in the request extensions")
    }

    fn message(&self) -> String {
        self.rejection
            .as_ref()
            .map(|r| r.message().to_owned())
            .unwrap_or_default()
    }
}

async fn send_with(layer: McpHeadersLayer, req: Request<Full<Bytes>>) -> Outcome {
    let (parts, body) = req.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let request_id = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) if m.contains_key("method") => {
            m.get("id").cloned().unwrap_or(Value::Null)
        }
        _ => Value::Null,
    };
    let req = Request::from_parts(parts, Full::new(bytes));
    let res = stack(layer).oneshot(req).await.unwrap();
    let mut out = outcome(res).await;
    out.request_id = request_id;
    out
}

async fn send(req: Request<Full<Bytes>>) -> Outcome {
    send_with(McpHeadersLayer::new(), req).await
}

async fn outcome<B>(res: Response<B>) -> Outcome
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = res.into_parts();
    Outcome {
        status: parts.status,
        rejection: parts.extensions.get::<Rejection>().cloned(),
        protocol: parts.extensions.get::<RequestProtocol>().copied(),
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
        request_id: Value::Null,
    }
}

/// A POST with the `Accept` and `Content-Type` a conforming client sends.
fn post() -> http::request::Builder {
    Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
}

fn with_body(builder: http::request::Builder, body: impl Into<String>) -> Request<Full<Bytes>> {
    builder.body(Full::new(Bytes::from(body.into()))).unwrap()
}

fn legacy_post(version: Option<&str>, body: &str) -> Request<Full<Bytes>> {
    let mut b = post();
    if let Some(v) = version {
        b = b.header("mcp-protocol-version", v);
    }
    with_body(b, body)
}

const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
const TOOLS_LIST: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;
const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
const BATCH: &str = r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"}]"#;

/// A 2026-07-28 body: `params` plus `_meta` with `meta_version` (if any).
fn modern_body(method: &str, mut params: Value, meta_version: Option<&str>) -> String {
    if let Some(v) = meta_version {
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": v,
            "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {},
        });
    }
    json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}).to_string()
}

/// A 2026-07-28 POST. `None` leaves a header out.
fn modern_post(
    version: Option<&str>,
    mcp_method: Option<&str>,
    mcp_name: Option<&[u8]>,
    body: String,
) -> Request<Full<Bytes>> {
    let mut b = post();
    if let Some(v) = version {
        b = b.header("mcp-protocol-version", v);
    }
    if let Some(m) = mcp_method {
        b = b.header("mcp-method", m);
    }
    if let Some(n) = mcp_name {
        b = b.header("mcp-name", HeaderValue::from_bytes(n).unwrap());
    }
    with_body(b, body)
}

fn tool_call(name: &str) -> String {
    modern_body(
        "tools/call",
        json!({"name": name, "arguments": {}}),
        Some(MODERN),
    )
}

fn modern_protocol() -> RequestProtocol {
    RequestProtocol::new(
        ProtocolVersion::V2026_07_28,
        Era::Modern,
        VersionSource::Header,
    )
}

/// A body that must never be polled.
struct Untouchable;

impl http_body::Body for Untouchable {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        panic!("the body must not be read");
    }
}
