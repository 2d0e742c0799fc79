//! `McpHeadersLayer` through real tower stacks: one test per spec rule, both eras.
//!
//! Spec quotes are from the MCP transport pages (2025-06-18 / 2025-11-25
//! `basic/transports.mdx`, 2026-07-28 `basic/transports/streamable-http.mdx`).
#![cfg(feature = "axum")]

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

// ------------------------------------------------- legacy era: the version header

#[tokio::test]
async fn spec_2025_06_18_missing_header_assumes_2025_03_26() {
    // "if the server does not receive an MCP-Protocol-Version header, and has no other
    // way to identify the version ... the server SHOULD assume protocol version 2025-03-26."
    let out = send(legacy_post(None, TOOLS_LIST)).await;
    let p = out.passed();
    assert_eq!(
        p,
        RequestProtocol::new(
            ProtocolVersion::V2025_03_26,
            Era::Legacy,
            VersionSource::Assumed
        )
    );
    // An assumed version is not reflected on the response.
    assert!(out.headers.get("mcp-protocol-version").is_none());
    assert_eq!(
        out.body,
        TOOLS_LIST.as_bytes(),
        "the body is replayed unchanged"
    );
}

#[tokio::test]
async fn spec_2025_06_18_header_only_on_subsequent_requests_initialize_needs_none() {
    // "the client MUST include the MCP-Protocol-Version header on all subsequent requests"
    let out = send(legacy_post(None, INITIALIZE)).await;
    let p = out.passed();
    assert_eq!(p.era(), Era::Legacy);
    // It speaks the revision it asks for (issue 17: a handler that echoes
    // `RequestProtocol` negotiates that one), and no header is reflected.
    assert_eq!(
        (p.version(), p.source(), p.assumed()),
        (
            ProtocolVersion::V2025_11_25,
            VersionSource::Initialize,
            false
        )
    );
    assert!(out.headers.get("mcp-protocol-version").is_none());
}

#[tokio::test]
async fn initialize_asking_for_an_unknown_or_unsupported_revision_stays_assumed() {
    for asked in ["2099-01-01", "2026-07-28", "latest"] {
        let body = INITIALIZE.replace("2025-11-25", asked);
        let p = send(legacy_post(None, &body)).await.passed();
        assert_eq!(
            (p.version(), p.source()),
            (ProtocolVersion::V2025_03_26, VersionSource::Assumed),
            "{asked}"
        );
    }
}

#[tokio::test]
async fn spec_2025_06_18_supported_header_is_accepted_and_reflected() {
    for v in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        let out = send(legacy_post(Some(v), PING)).await;
        let p = out.passed();
        assert_eq!(
            (p.version().to_string().as_str(), p.era(), p.assumed()),
            (v, Era::Legacy, false)
        );
        assert_eq!(out.headers["mcp-protocol-version"], v);
    }
}

#[tokio::test]
async fn spec_2025_06_18_unsupported_protocol_version_is_400() {
    // "If the server receives a request with an invalid or unsupported
    // MCP-Protocol-Version, it MUST respond with 400 Bad Request."
    let out = send(legacy_post(Some("1999-01-01"), PING)).await;
    out.rejected(StatusCode::BAD_REQUEST, -32000);
    let v = out.json();
    assert_eq!(v["error"]["data"]["requested"], "1999-01-01");
    assert_eq!(
        v["error"]["data"]["supported"],
        json!([
            "2024-11-05",
            "2025-03-26",
            "2025-06-18",
            "2025-11-25",
            "2026-07-28"
        ])
    );
    let msg = out.message();
    assert!(
        msg.contains("1999-01-01") && msg.contains("2025-11-25, 2026-07-28"),
        "{msg}"
    );
    assert_eq!(
        out.rejection.unwrap().kind(),
        RejectionKind::UnsupportedProtocolVersion
    );
}

#[tokio::test]
async fn spec_2025_06_18_invalid_protocol_version_is_400() {
    for bad in [
        "latest",
        "2025-6-18",
        "2025-06-18 ",
        "2025-13-01",
        "",
        "2025/06/18",
    ] {
        let out = send(legacy_post(Some(bad), PING)).await;
        out.rejected(StatusCode::BAD_REQUEST, -32000);
        assert!(
            out.message().contains("supported versions: 2024-11-05"),
            "{bad:?}: {}",
            out.message()
        );
    }
    // Two headers are not one version.
    let mut req = legacy_post(Some("2025-06-18"), PING);
    req.headers_mut().append(
        "mcp-protocol-version",
        HeaderValue::from_static("2025-06-18"),
    );
    send(req).await.rejected(StatusCode::BAD_REQUEST, -32000);
}

#[tokio::test]
async fn spec_2025_06_18_version_outside_configured_list_is_400() {
    let layer = McpHeadersLayer::new()
        .supported_versions(["2025-11-25"])
        .unwrap();
    let out = send_with(layer.clone(), legacy_post(Some("2025-06-18"), PING)).await;
    out.rejected(StatusCode::BAD_REQUEST, -32000);
    assert_eq!(
        out.json()["error"]["data"]["supported"],
        json!(["2025-11-25"])
    );
    send_with(layer, legacy_post(Some("2025-11-25"), PING))
        .await
        .passed();
}

#[tokio::test]
async fn a9_header_on_initialize_is_validated_when_present() {
    // The spec is silent; we validate a header on initialize like any other (Go SDK behaviour).
    send(legacy_post(Some("2025-11-25"), INITIALIZE))
        .await
        .passed();
    send(legacy_post(Some("1999-01-01"), INITIALIZE))
        .await
        .rejected(StatusCode::BAD_REQUEST, -32000);
    send(legacy_post(Some("garbage"), INITIALIZE))
        .await
        .rejected(StatusCode::BAD_REQUEST, -32000);
}

#[tokio::test]
async fn legacy_get_and_delete_version_header() {
    let get = |v: Option<&'static str>, m: Method| {
        let mut b = Request::builder()
            .method(m)
            .uri("/mcp")
            .header("accept", "text/event-stream");
        if let Some(v) = v {
            b = b.header("mcp-protocol-version", v);
        }
        b.body(Full::default()).unwrap()
    };
    let p = send(get(Some("2025-11-25"), Method::GET)).await.passed();
    assert_eq!(p.version(), ProtocolVersion::V2025_11_25);
    assert!(send(get(None, Method::DELETE)).await.passed().assumed());
    send(get(Some("2025-99-01"), Method::GET))
        .await
        .rejected(StatusCode::BAD_REQUEST, -32000);
    send(get(Some("2019-01-01"), Method::DELETE))
        .await
        .rejected(StatusCode::BAD_REQUEST, -32000);
}

// ---------------------------------------------------------- legacy era: batches

#[tokio::test]
async fn spec_2025_03_26_batch_is_accepted_by_2025_03_26_and_2024_11_05() {
    // 2025-03-26: "MCP implementations ... MUST support receiving JSON-RPC batches."
    for v in [None, Some("2025-03-26"), Some("2024-11-05")] {
        let out = send(legacy_post(v, BATCH)).await;
        out.passed();
        assert_eq!(out.body, BATCH.as_bytes());
    }
}

#[tokio::test]
async fn spec_2025_06_18_batch_is_400_32600() {
    // 2025-06-18: "The body of the POST request MUST be a single JSON-RPC request,
    // notification, or response." (batching removed)
    for v in ["2025-06-18", "2025-11-25"] {
        let out = send(legacy_post(Some(v), BATCH)).await;
        out.rejected(StatusCode::BAD_REQUEST, -32600);
        assert_eq!(
            out.rejection.unwrap().kind(),
            RejectionKind::BatchNotAllowed
        );
    }
    // Without a header the assumed 2025-03-26 allows batches only if a batch-era version is supported.
    let layer = McpHeadersLayer::new()
        .supported_versions(["2025-06-18", "2025-11-25"])
        .unwrap();
    send_with(layer, legacy_post(None, BATCH))
        .await
        .rejected(StatusCode::BAD_REQUEST, -32600);
}

#[tokio::test]
async fn spec_2025_03_26_initialize_must_not_be_part_of_a_batch() {
    // lifecycle.mdx: "The initialize request MUST NOT be part of a JSON-RPC batch"
    let body = format!("[{INITIALIZE},{PING}]");
    for v in [None, Some("2025-03-26")] {
        let out = send(legacy_post(v, &body)).await;
        out.rejected(StatusCode::BAD_REQUEST, -32600);
        assert_eq!(out.rejection.unwrap().kind(), RejectionKind::InvalidRequest);
    }
}

#[tokio::test]
async fn legacy_clients_may_post_responses() {
    // 2025-11-25: "a single JSON-RPC request, notification, or response"
    let body = r#"{"jsonrpc":"2.0","id":"srv-1","result":{}}"#;
    send(legacy_post(Some("2025-11-25"), body)).await.passed();
}

// ------------------------------------------------------------ JSON-RPC body shape

#[tokio::test]
async fn jsonrpc_2_0_invalid_json_is_400_32700() {
    for body in [
        "{",
        "not json",
        "",
        r#"{"jsonrpc":"2.0","id":1,"method":"ping""#,
    ] {
        let out = send(legacy_post(None, body)).await;
        out.rejected(StatusCode::BAD_REQUEST, -32700);
    }
    let out = send(modern_post(
        Some(MODERN),
        Some("tools/call"),
        Some(b"x"),
        "{".into(),
    ))
    .await;
    out.rejected(StatusCode::BAD_REQUEST, -32700);
}

#[tokio::test]
async fn jsonrpc_2_0_not_a_message_is_400_32600() {
    for body in [
        "[]",
        "42",
        r#"{"id":1,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":1}"#,
    ] {
        send(legacy_post(None, body))
            .await
            .rejected(StatusCode::BAD_REQUEST, -32600);
    }
}

// ------------------------------------------------------------ POST body limits

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

/// A body that never delivers a byte.
struct Stalled;

impl http_body::Body for Stalled {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        Poll::Pending
    }
}

async fn axum_echo(
    req: Request<axum::body::Body>,
) -> Result<Response<axum::body::Body>, Infallible> {
    let protocol = req.extensions().get::<RequestProtocol>().copied();
    let body = if req.method() == Method::POST {
        req.into_body().collect().await.unwrap().to_bytes()
    } else {
        Bytes::new()
    };
    let mut res = Response::new(axum::body::Body::from(body));
    if let Some(p) = protocol {
        res.extensions_mut().insert(p);
    }
    Ok(res)
}

async fn send_axum_body(layer: McpHeadersLayer, req: Request<axum::body::Body>) -> Outcome {
    let svc = ServiceBuilder::new().layer(layer).service_fn(axum_echo);
    outcome(svc.oneshot(req).await.unwrap()).await
}

#[tokio::test]
async fn content_length_over_limit_is_413_before_reading() {
    let req = post()
        .header("content-length", (4 * 1024 * 1024 + 1).to_string())
        .body(axum::body::Body::new(Untouchable))
        .unwrap();
    send_axum_body(McpHeadersLayer::new(), req)
        .await
        .rejected(StatusCode::PAYLOAD_TOO_LARGE, -32000);
}

#[tokio::test]
async fn body_over_limit_is_413() {
    let layer = McpHeadersLayer::new().max_body_bytes(64).unwrap();
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(100)
    );
    // No Content-Length: the limit is enforced while reading.
    let out = send_with(layer.clone(), legacy_post(None, &big)).await;
    out.rejected(StatusCode::PAYLOAD_TOO_LARGE, -32000);
    // Just under the limit passes.
    send_with(layer, legacy_post(None, PING)).await.passed();
}

#[tokio::test(start_paused = true)]
async fn slow_body_is_408() {
    let layer = McpHeadersLayer::new()
        .body_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let req = post().body(axum::body::Body::new(Stalled)).unwrap();
    let out = send_axum_body(layer, req).await;
    out.rejected(StatusCode::REQUEST_TIMEOUT, -32000);
    assert_eq!(out.rejection.unwrap().kind(), RejectionKind::BodyTimeout);
}

#[tokio::test]
async fn get_and_delete_never_touch_the_body() {
    for method in [Method::GET, Method::DELETE] {
        let req = Request::builder()
            .method(method)
            .uri("/mcp")
            .header("accept", "text/event-stream")
            .header("content-length", "999999999")
            .body(axum::body::Body::new(Untouchable))
            .unwrap();
        send_axum_body(McpHeadersLayer::new(), req).await.passed();
    }
}

#[test]
fn body_limit_builders_validate() {
    assert!(McpHeadersLayer::new().max_body_bytes(0).is_err());
    assert!(McpHeadersLayer::new()
        .body_read_timeout(Some(std::time::Duration::ZERO))
        .is_err());
    let layer = McpHeadersLayer::new()
        .max_body_bytes(10)
        .unwrap()
        .body_read_timeout(None)
        .unwrap();
    assert_eq!(
        (layer.limits().max_bytes(), layer.limits().read_timeout()),
        (10, None)
    );
    assert_eq!(McpHeadersLayer::new().limits().max_bytes(), 4 * 1024 * 1024);
}

// ------------------------------------------------------------------ Accept

#[tokio::test]
async fn spec_post_accept_must_list_json_and_event_stream_else_406() {
    // "The client MUST include an Accept header, listing both application/json and
    // text/event-stream as supported content types."
    let with_accept = |accept: Option<&str>| {
        let mut b = Request::post("/mcp").header("content-type", "application/json");
        if let Some(a) = accept {
            b = b.header("accept", a);
        }
        with_body(b, PING)
    };
    for ok in [
        ACCEPT_BOTH,
        "*/*",
        "application/*, text/*",
        "text/event-stream;q=0.5, application/json;q=0.1",
        "APPLICATION/JSON, Text/Event-Stream",
        "application/json; charset=utf-8 , text/event-stream",
        ",application/json,,text/event-stream,",
    ] {
        send(with_accept(Some(ok))).await.passed();
    }
    for bad in [
        None,
        Some(""),
        Some("application/json"),
        Some("text/event-stream"),
        Some("*/*, application/json;q=0"),
        Some("application/*;q=0, */*"),
        Some("text/html"),
        Some("application/json;q=2, text/event-stream"),
        Some("application/json text/event-stream"),
    ] {
        let out = send(with_accept(bad)).await;
        out.rejected(StatusCode::NOT_ACCEPTABLE, -32000);
        assert_eq!(
            out.rejection.unwrap().kind(),
            RejectionKind::NotAcceptable,
            "{bad:?}"
        );
    }
    // Two Accept fields form one list.
    let mut req = with_accept(Some("application/json"));
    req.headers_mut()
        .append("accept", HeaderValue::from_static("text/event-stream"));
    send(req).await.passed();
}

#[tokio::test]
async fn spec_get_accept_must_list_event_stream_else_406() {
    // "The client MUST include an Accept header, listing text/event-stream as a supported content type."
    let get = |accept: Option<&str>| {
        let mut b = Request::get("/mcp");
        if let Some(a) = accept {
            b = b.header("accept", a);
        }
        b.body(Full::default()).unwrap()
    };
    for ok in [
        "text/event-stream",
        "*/*",
        "text/*",
        "application/json, text/event-stream",
    ] {
        send(get(Some(ok))).await.passed();
    }
    for bad in [
        None,
        Some("application/json"),
        Some("text/*, text/event-stream;q=0"),
    ] {
        send(get(bad))
            .await
            .rejected(StatusCode::NOT_ACCEPTABLE, -32000);
    }
}

#[tokio::test]
async fn check_accept_false_lets_missing_accept_through() {
    let layer = McpHeadersLayer::new().check_accept(false);
    let req = with_body(
        Request::post("/mcp").header("content-type", "application/json"),
        PING,
    );
    send_with(layer.clone(), req).await.passed();
    send_with(layer, Request::get("/mcp").body(Full::default()).unwrap())
        .await
        .passed();
}

// ---------------------------------------------------------------- Content-Type

#[tokio::test]
async fn post_content_type_must_be_application_json_else_415() {
    let with_ct = |ct: Option<&str>| {
        let mut b = Request::post("/mcp").header("accept", ACCEPT_BOTH);
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        with_body(b, PING)
    };
    for ok in [
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=\"UTF-8\"",
    ] {
        send(with_ct(Some(ok))).await.passed();
    }
    for bad in [
        None,
        Some("application/jsonx"),
        Some("text/plain"),
        Some("text/plain; a=application/json"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("*/*"),
    ] {
        let out = send(with_ct(bad)).await;
        out.rejected(StatusCode::UNSUPPORTED_MEDIA_TYPE, -32000);
    }
    let layer = McpHeadersLayer::new().check_content_type(false);
    send_with(layer, with_ct(Some("text/plain"))).await.passed();
}

// -------------------------------------------------------------------- methods

#[tokio::test]
async fn other_methods_are_405_with_allow() {
    // Decision: OPTIONS and HEAD are 405 too; a CORS layer outside answers preflights.
    for m in [
        Method::PUT,
        Method::PATCH,
        Method::OPTIONS,
        Method::HEAD,
        Method::TRACE,
    ] {
        let req = Request::builder()
            .method(m.clone())
            .uri("/mcp")
            .header("accept", "*/*")
            .body(Full::default())
            .unwrap();
        let out = send(req).await;
        assert_eq!(out.status, StatusCode::METHOD_NOT_ALLOWED, "{m}");
        assert_eq!(out.headers["allow"], "GET, POST, DELETE");
        assert_eq!(out.headers["x-content-type-options"], "nosniff");
        assert_eq!(
            out.rejection.unwrap().kind(),
            RejectionKind::MethodNotAllowed
        );
    }
    let modern_only = McpHeadersLayer::new().supported_versions([MODERN]).unwrap();
    let req = Request::builder()
        .method(Method::PUT)
        .uri("/mcp")
        .body(Full::default())
        .unwrap();
    let out = send_with(modern_only, req).await;
    assert_eq!(out.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(out.headers["allow"], "POST");
}

#[tokio::test]
async fn spec_2026_07_28_get_and_delete_are_405_allow_post() {
    // "HTTP GET or DELETE to the MCP endpoint: respond with 405 Method Not Allowed."
    for m in [Method::GET, Method::DELETE] {
        let req = Request::builder()
            .method(m.clone())
            .uri("/mcp")
            .header("accept", "text/event-stream")
            .header("mcp-protocol-version", MODERN)
            .body(Full::default())
            .unwrap();
        let out = send(req).await;
        out.rejected(StatusCode::METHOD_NOT_ALLOWED, -32000);
        assert_eq!(out.headers["allow"], "POST", "{m}");
        // A modern-only server refuses them whatever the header says.
        let modern_only = McpHeadersLayer::new().supported_versions([MODERN]).unwrap();
        let req = Request::builder()
            .method(m)
            .uri("/mcp")
            .header("accept", "text/event-stream")
            .body(Full::default())
            .unwrap();
        let out = send_with(modern_only, req).await;
        assert_eq!(
            (out.status, &out.headers["allow"]),
            (
                StatusCode::METHOD_NOT_ALLOWED,
                &HeaderValue::from_static("POST")
            )
        );
    }
}

// ------------------------------------------------- modern era: accepted requests

#[tokio::test]
async fn spec_2026_07_28_conforming_requests_pass() {
    let cases: Vec<(&str, Value, Option<&[u8]>)> = vec![
        (
            "tools/call",
            json!({"name": "get_weather", "arguments": {"location": "Seattle"}}),
            Some(b"get_weather"),
        ),
        (
            "prompts/get",
            json!({"name": "summarize"}),
            Some(b"summarize"),
        ),
        (
            "resources/read",
            json!({"uri": "file:///projects/myapp/config.json"}),
            Some(b"file:///projects/myapp/config.json"),
        ),
        ("tools/list", json!({}), None),
        ("server/discover", json!({}), None),
    ];
    for (method, params, name) in cases {
        let body = modern_body(method, params, Some(MODERN));
        let out = send(modern_post(Some(MODERN), Some(method), name, body.clone())).await;
        assert_eq!(out.passed(), modern_protocol(), "{method}");
        assert_eq!(out.headers["mcp-protocol-version"], MODERN);
        assert_eq!(out.body, body.as_bytes());
    }
}

#[tokio::test]
async fn spec_2026_07_28_notification_needs_no_mcp_method() {
    // "header requirements for notification POSTs are not defined by this revision":
    // Mcp-Method is checked on a notification only when present.
    let body = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 1, "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN}}})
    .to_string();
    send(modern_post(Some(MODERN), None, None, body.clone()))
        .await
        .passed();
    send(modern_post(
        Some(MODERN),
        Some("notifications/cancelled"),
        None,
        body.clone(),
    ))
    .await
    .passed();
    send(modern_post(Some(MODERN), Some("tools/call"), None, body))
        .await
        .rejected(StatusCode::BAD_REQUEST, -32020);
}

// ---------------------------------------- modern era: protocol version header vs _meta

#[tokio::test]
async fn spec_2026_07_28_header_required_on_every_post_else_32020() {
    // "Every POST request to the MCP endpoint MUST include an MCP-Protocol-Version header."
    let out = send(modern_post(
        None,
        Some("tools/call"),
        Some(b"echo"),
        tool_call("echo"),
    ))
    .await;
    out.rejected(StatusCode::BAD_REQUEST, -32020);
    assert!(
        out.message().contains("MCP-Protocol-Version"),
        "{}",
        out.message()
    );
    assert_eq!(out.rejection.unwrap().kind(), RejectionKind::HeaderMismatch);
}

#[tokio::test]
async fn spec_2026_07_28_header_must_match_meta_else_32020() {
    // "The header value MUST match the io.modelcontextprotocol/protocolVersion field carried
    // in the request body's _meta. If the values do not match, the server MUST reject the
    // request with 400 Bad Request and a HeaderMismatch JSON-RPC error."
    let params = json!({"name": "echo"});
    for meta in [
        Some("2025-11-25"),
        Some("2026-7-28"),
        Some("2027-01-01"),
        Some(" 2026-07-28"),
    ] {
        let body = modern_body("tools/call", params.clone(), meta);
        let out = send(modern_post(
            Some(MODERN),
            Some("tools/call"),
            Some(b"echo"),
            body,
        ))
        .await;
        out.rejected(StatusCode::BAD_REQUEST, -32020);
    }
    // A version that is not a string, or none at all, is a malformed request
    // (basic/index.mdx: "A request missing any required field is malformed; the server
    // MUST reject it with JSON-RPC error code -32602"): see tests/guard/headers/modern_edge.rs.
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{"io.modelcontextprotocol/protocolVersion":20260728,"io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    send(modern_post(
        Some(MODERN),
        Some("tools/call"),
        Some(b"echo"),
        body.into(),
    ))
    .await
    .rejected(StatusCode::BAD_REQUEST, -32602);
    let body = modern_body("tools/call", params, None);
    send(modern_post(
        Some(MODERN),
        Some("tools/call"),
        Some(b"echo"),
        body,
    ))
    .await
    .rejected(StatusCode::BAD_REQUEST, -32602);
}

#[tokio::test]
async fn spec_2026_07_28_malformed_or_repeated_header_is_32020_unknown_value_is_32022() {
    // "A header value contains invalid characters" is a validation failure (-32020); a
    // well-formed value the server does not implement is "unknown to the server" (-32022).
    for bad in ["", "2026 07 28"] {
        let out = send(modern_post(
            Some(bad),
            Some("tools/call"),
            Some(b"echo"),
            tool_call("echo"),
        ))
        .await;
        out.rejected(StatusCode::BAD_REQUEST, -32020);
    }
    for unknown in ["2026-07-28x", "latest"] {
        let out = send(modern_post(
            Some(unknown),
            Some("tools/call"),
            Some(b"echo"),
            tool_call("echo"),
        ))
        .await;
        out.rejected(StatusCode::BAD_REQUEST, -32022);
        assert_eq!(out.json()["error"]["data"]["requested"], unknown);
    }
    let mut req = modern_post(
        Some(MODERN),
        Some("tools/call"),
        Some(b"echo"),
        tool_call("echo"),
    );
    req.headers_mut()
        .append("mcp-protocol-version", HeaderValue::from_static(MODERN));
    send(req).await.rejected(StatusCode::BAD_REQUEST, -32020);
}

#[tokio::test]
async fn spec_2026_07_28_unsupported_version_is_400_32022_with_supported_list() {
    // "If the server does not implement the requested protocol version ... it MUST respond
    // with 400 Bad Request and an UnsupportedProtocolVersionError listing its supported versions."
    let body = modern_body("tools/call", json!({"name": "echo"}), Some("2027-01-01"));
    let out = send(modern_post(
        Some("2027-01-01"),
        Some("tools/call"),
        Some(b"echo"),
        body,
    ))
    .await;
    out.rejected(StatusCode::BAD_REQUEST, -32022);
    let data = &out.json()["error"]["data"];
    assert_eq!(data["requested"], "2027-01-01");
    assert_eq!(
        data["supported"],
        json!([
            "2024-11-05",
            "2025-03-26",
            "2025-06-18",
            "2025-11-25",
            "2026-07-28"
        ])
    );

    // "or is a known version the server has chosen not to support": a legacy-only server.
    let legacy_only = McpHeadersLayer::new()
        .supported_versions(["2025-06-18", "2025-11-25"])
        .unwrap();
    let out = send_with(
        legacy_only,
        modern_post(
            Some(MODERN),
            Some("tools/call"),
            Some(b"echo"),
            tool_call("echo"),
        ),
    )
    .await;
    out.rejected(StatusCode::BAD_REQUEST, -32022);
    assert_eq!(
        out.json()["error"]["data"],
        json!({"supported": ["2025-06-18", "2025-11-25"], "requested": MODERN})
    );
}

#[tokio::test]
async fn spec_2026_07_28_modern_only_server_rejects_request_without_header() {
    // "A server that does not support such clients MUST reject a request without the
    // header per Server Validation." and versioning.mdx: a modern-only server "SHOULD name
    // the protocol versions it supports in any error it returns to an initialize request".
    let modern_only = McpHeadersLayer::new().supported_versions([MODERN]).unwrap();
    for body in [INITIALIZE, PING] {
        let out = send_with(modern_only.clone(), legacy_post(None, body)).await;
        out.rejected(StatusCode::BAD_REQUEST, -32020);
        assert!(
            out.message().contains("supported versions: 2026-07-28"),
            "{}",
            out.message()
        );
        assert_eq!(out.json()["error"]["data"]["supported"], json!([MODERN]));
    }
    // A legacy version header is simply unsupported there.
    let out = send_with(modern_only, legacy_post(Some("2025-11-25"), PING)).await;
    out.rejected(StatusCode::BAD_REQUEST, -32000);
}

// ------------------------------------------------ modern era: body shape

#[tokio::test]
async fn spec_2026_07_28_client_must_not_send_responses_is_32600() {
    // "The body of the HTTP POST MUST be a single JSON-RPC request or notification.
    // The client MUST NOT send JSON-RPC responses."
    let response = r#"{"jsonrpc":"2.0","id":1,"result":{}}"#;
    let out = send(modern_post(Some(MODERN), None, None, response.into())).await;
    out.rejected(StatusCode::BAD_REQUEST, -32600);
    assert_eq!(out.rejection.unwrap().kind(), RejectionKind::InvalidRequest);
}

#[tokio::test]
async fn spec_2026_07_28_batch_is_32600() {
    let one = tool_call("echo");
    let batch = format!("[{one},{one}]");
    let out = send(modern_post(
        Some(MODERN),
        Some("tools/call"),
        Some(b"echo"),
        batch,
    ))
    .await;
    out.rejected(StatusCode::BAD_REQUEST, -32600);
    assert_eq!(
        out.rejection.unwrap().kind(),
        RejectionKind::BatchNotAllowed
    );
}

// ------------------------------------------------ modern era: Mcp-Method

#[tokio::test]
async fn spec_2026_07_28_mcp_method_required_and_must_match_else_32020() {
    // "Mcp-Method | method | All requests" and "A required standard header ... is missing"
    let body = modern_body("tools/list", json!({}), Some(MODERN));
    for method in [None, Some("tools/call"), Some("Tools/List"), Some("")] {
        let out = send(modern_post(Some(MODERN), method, None, body.clone())).await;
        out.rejected(StatusCode::BAD_REQUEST, -32020);
    }
    // RFC 9110 §5.5: "a field value does not include leading or trailing whitespace".
    send(modern_post(
        Some(MODERN),
        Some(" tools/list\t"),
        None,
        body.clone(),
    ))
    .await
    .passed();
    let mut req = modern_post(Some(MODERN), Some("tools/list"), None, body);
    req.headers_mut()
        .append("mcp-method", HeaderValue::from_static("tools/list"));
    send(req).await.rejected(StatusCode::BAD_REQUEST, -32020);
}

// ------------------------------------------------ modern era: Mcp-Name matrix

#[tokio::test]
async fn spec_2026_07_28_mcp_name_must_match_params_name_or_uri_else_32020() {
    // "Mcp-Name | params.name or params.uri | tools/call, resources/read, prompts/get requests"
    // "servers MUST decode an encoded Mcp-Name ... value before comparing it"
    type Case = (&'static str, Value, Option<&'static [u8]>, bool);
    let cases: Vec<Case> = vec![
        // tools/call
        ("tools/call", json!({"name": "echo"}), Some(b"echo"), true),
        ("tools/call", json!({"name": "echo"}), None, false),
        ("tools/call", json!({"name": "echo"}), Some(b"other"), false),
        ("tools/call", json!({"name": "echo"}), Some(b"ECHO"), false),
        (
            "tools/call",
            json!({"name": "echo"}),
            Some(b"=?base64?ZWNobw==?="),
            true,
        ),
        (
            "tools/call",
            json!({"name": "echo"}),
            Some(b"=?base64?b3RoZXI=?="),
            false,
        ), // "other"
        (
            "tools/call",
            json!({"name": "echo"}),
            Some(b"=?base64?ZWNobw?="),
            false,
        ), // no padding
        (
            "tools/call",
            json!({"name": "echo"}),
            Some(b"=?base64?@@@@?="),
            false,
        ),
        (
            "tools/call",
            json!({"name": "echo"}),
            Some(b"=?base64?/w==?="),
            false,
        ), // not UTF-8
        (
            "tools/call",
            json!({"name": "echo"}),
            Some(b"=?BASE64?ZWNobw==?="),
            false,
        ), // markers are case-sensitive
        (
            "tools/call",
            json!({"name": "Hello, 世界"}),
            Some(b"=?base64?SGVsbG8sIOS4lueVjA==?="),
            true,
        ),
        (
            "tools/call",
            json!({"name": "Hello, 世界"}),
            Some("Hello, 世界".as_bytes()),
            false,
        ), // raw non-ASCII
        (
            "tools/call",
            json!({"name": " padded "}),
            Some(b"=?base64?IHBhZGRlZCA=?="),
            true,
        ),
        (
            "tools/call",
            json!({"name": "=?base64?literal?="}),
            Some(b"=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="),
            true,
        ),
        (
            "tools/call",
            json!({"name": "=?base64?literal?="}),
            Some(b"=?base64?literal?="),
            false,
        ),
        ("tools/call", json!({"arguments": {}}), None, true), // no params.name: nothing to mirror
        ("tools/call", json!({"arguments": {}}), Some(b"echo"), false),
        // prompts/get
        (
            "prompts/get",
            json!({"name": "summarize"}),
            Some(b"summarize"),
            true,
        ),
        (
            "prompts/get",
            json!({"name": "summarize"}),
            Some(b"translate"),
            false,
        ),
        ("prompts/get", json!({"name": "summarize"}), None, false),
        // resources/read: the uri, not a name
        (
            "resources/read",
            json!({"uri": "file:///a.txt"}),
            Some(b"file:///a.txt"),
            true,
        ),
        (
            "resources/read",
            json!({"uri": "file:///a.txt", "name": "a"}),
            Some(b"a"),
            false,
        ),
        (
            "resources/read",
            json!({"uri": "file:///a.txt"}),
            Some(b"file:///b.txt"),
            false,
        ),
        (
            "resources/read",
            json!({"uri": "file:///a.txt"}),
            None,
            false,
        ),
        (
            "resources/read",
            json!({"uri": "file:///ä.txt"}),
            Some(b"=?base64?ZmlsZTovLy/DpC50eHQ=?="),
            true,
        ),
        // other methods: Mcp-Name is not looked at
        ("tools/list", json!({}), Some(b"anything"), true),
    ];
    for (method, params, name, ok) in cases {
        let body = modern_body(method, params.clone(), Some(MODERN));
        let out = send(modern_post(Some(MODERN), Some(method), name, body)).await;
        if ok {
            assert_eq!(
                out.passed(),
                modern_protocol(),
                "{method} {params} {name:?}"
            );
        } else {
            out.rejected(StatusCode::BAD_REQUEST, -32020);
            assert!(
                out.message().contains("Mcp-Name"),
                "{method} {name:?}: {}",
                out.message()
            );
        }
    }
}

/// SEP-2663 (tasks extension), "Streamable HTTP: Routing Headers": "When
/// `tasks/get`, `tasks/update`, or `tasks/cancel` is sent over the Streamable
/// HTTP transport, the client MUST set the `Mcp-Name` header (defined by
/// SEP-2243) to the value of `params.taskId`." The server side is SEP-2243's
/// rule: "Servers MUST reject requests with a 400 Bad Request HTTP status and
/// JSON-RPC error code -32020 (HeaderMismatch)" when a required header is
/// missing or differs from the body.
#[tokio::test]
async fn sep_2663_tasks_requests_must_carry_mcp_name_equal_to_params_task_id() {
    const TASK: &str = "786512e2-9e0d-44bd-8f29-789f320fe840";
    for method in ["tasks/get", "tasks/update", "tasks/cancel"] {
        let params = if method == "tasks/update" {
            json!({"taskId": TASK, "inputResponses": {}})
        } else {
            json!({"taskId": TASK})
        };
        let cases: [(Option<&[u8]>, bool); 7] = [
            (Some(TASK.as_bytes()), true),
            // Optional whitespace around a header value is not part of it.
            (Some(format!(" {TASK} ").leak().as_bytes()), true),
            // The Base64 form decodes to the task id.
            (
                Some(b"=?base64?Nzg2NTEyZTItOWUwZC00NGJkLThmMjktNzg5ZjMyMGZlODQw?="),
                true,
            ),
            (None, false),
            (
                Some(b"sep-2663-wrong-task-id-for-routing-header-mismatch"),
                false,
            ),
            (Some(TASK.to_uppercase().leak().as_bytes()), false),
            (Some(b"=?base64?b3RoZXI=?="), false), // "other"
        ];
        for (name, ok) in cases {
            let body = modern_body(method, params.clone(), Some(MODERN));
            let out = send(modern_post(Some(MODERN), Some(method), name, body)).await;
            if ok {
                assert_eq!(out.passed(), modern_protocol(), "{method} {name:?}");
            } else {
                // 400 -32020 with the request's id (checked by `rejected`).
                out.rejected(StatusCode::BAD_REQUEST, -32020);
                assert!(out.message().contains("Mcp-Name"), "{}", out.message());
            }
        }
    }
}

/// SEP-2663: "`tasks/result` is removed; clients calling it MUST receive
/// -32601 (Method Not Found)", and `tasks/list` is gone too. Their answer is
/// -32601 whatever `Mcp-Name` says: the routing rule names only the three
/// methods it lists.
#[tokio::test]
async fn sep_2663_removed_task_methods_get_32601_not_a_header_mismatch() {
    for method in ["tasks/result", "tasks/list"] {
        let body = modern_body(method, json!({"taskId": "t-1"}), Some(MODERN));
        let out = send(modern_post(
            Some(MODERN),
            Some(method),
            Some(b"other"),
            body,
        ))
        .await;
        out.rejected(StatusCode::NOT_FOUND, -32601);
    }
}

#[tokio::test]
async fn spec_2026_07_28_duplicate_mcp_name_is_32020() {
    let mut req = modern_post(
        Some(MODERN),
        Some("tools/call"),
        Some(b"echo"),
        tool_call("echo"),
    );
    req.headers_mut()
        .append("mcp-name", HeaderValue::from_static("echo"));
    send(req).await.rejected(StatusCode::BAD_REQUEST, -32020);
}

#[tokio::test]
async fn spec_2026_07_28_encoded_names_round_trip_through_the_layer() {
    for name in [
        "plain",
        "with space",
        "ünïcödé",
        "tab\tinside",
        "\tlead",
        "line\nbreak",
        "=?base64?x?=",
    ] {
        let value = encode_value(name);
        let out = send(modern_post(
            Some(MODERN),
            Some("tools/call"),
            Some(value.as_bytes()),
            tool_call(name),
        ))
        .await;
        out.passed();
    }
}

// -------------------------------------------------------------- response headers

#[tokio::test]
async fn sse_responses_get_x_accel_buffering_and_no_cache() {
    // "servers SHOULD include the X-Accel-Buffering: no header in the HTTP response"
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new().server_header(HeaderValue::from_static("mcp-guard")))
        .service_fn(|req: Request<Full<Bytes>>| async move {
            let mut res = Response::new(Full::<Bytes>::default());
            res.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("text/event-stream"),
            );
            if req.uri().path() == "/custom" {
                res.headers_mut()
                    .insert("cache-control", HeaderValue::from_static("no-store"));
                res.headers_mut()
                    .insert("x-accel-buffering", HeaderValue::from_static("yes"));
                res.headers_mut()
                    .insert("server", HeaderValue::from_static("inner"));
                res.headers_mut().insert(
                    "mcp-protocol-version",
                    HeaderValue::from_static("2025-06-18"),
                );
            }
            Ok::<_, Infallible>(res)
        });
    let req = |path: &str| {
        Request::get(path)
            .header("accept", "text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(Full::default())
            .unwrap()
    };
    let res = svc.clone().oneshot(req("/mcp")).await.unwrap();
    let h = res.headers();
    assert_eq!(h["x-accel-buffering"], "no");
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["server"], "mcp-guard");
    assert_eq!(h["mcp-protocol-version"], "2025-11-25");
    // Never overwrite what the inner service set.
    let res = svc.oneshot(req("/custom")).await.unwrap();
    let h = res.headers();
    assert_eq!(h["x-accel-buffering"], "yes");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["server"], "inner");
    assert_eq!(h["mcp-protocol-version"], "2025-06-18");
}

#[tokio::test]
async fn json_responses_get_no_sse_headers_and_rejections_carry_server_and_nosniff() {
    let layer = McpHeadersLayer::new().server_header(HeaderValue::from_static("mcp-guard"));
    let out = send_with(layer.clone(), legacy_post(Some("2025-11-25"), PING)).await;
    out.passed();
    assert!(out.headers.get("x-accel-buffering").is_none());
    assert!(out.headers.get("cache-control").is_none());
    assert_eq!(out.headers["server"], "mcp-guard");
    let out = send_with(layer, legacy_post(Some("bogus"), PING)).await;
    out.rejected(StatusCode::BAD_REQUEST, -32000);
    assert_eq!(out.headers["server"], "mcp-guard");
    assert!(out.headers.get("mcp-protocol-version").is_none());
}

// The envelope is parsed at most once per request: tests/guard/headers/envelope_parsed_once.rs
// (its own binary, so its global tracing subscriber sees every event).

#[tokio::test]
async fn envelope_already_in_extensions_is_used_and_body_left_alone() {
    // "whichever layer needs it first parses it": a stored Envelope wins, the body is not read.
    let mut req = post()
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", "tools/list")
        .body(axum::body::Body::new(Untouchable))
        .unwrap();
    let envelope =
        Envelope::parse(modern_body("tools/list", json!({}), Some(MODERN)).as_bytes()).unwrap();
    req.extensions_mut().insert(envelope);
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new())
        .service_fn(|req: Request<axum::body::Body>| async move {
            let p = req.extensions().get::<RequestProtocol>().copied();
            let mut res = Response::new(axum::body::Body::empty());
            if let Some(p) = p {
                res.extensions_mut().insert(p);
            }
            Ok::<_, Infallible>(res)
        });
    let out = outcome(svc.oneshot(req).await.unwrap()).await;
    assert_eq!(out.passed(), modern_protocol());
}

// ------------------------------------------------------------ framework fit

#[tokio::test]
async fn works_in_axum_router_layer() {
    use axum::extract::Extension;
    use axum::routing::post as axum_post;

    async fn handler(Extension(p): Extension<RequestProtocol>, body: Bytes) -> String {
        format!(
            "{} {:?} {} {}",
            p.version(),
            p.era(),
            p.assumed(),
            body.len()
        )
    }
    let app = axum::Router::new()
        .route("/mcp", axum_post(handler).get(handler).delete(handler))
        .layer(McpHeadersLayer::new());

    let body = tool_call("echo");
    let req = post()
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", "tools/call")
        .header("mcp-name", "echo")
        .body(axum::body::Body::from(body.clone()))
        .unwrap();
    let out = outcome(app.clone().oneshot(req).await.unwrap()).await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.body, format!("2026-07-28 Modern false {}", body.len()));
    assert_eq!(out.headers["mcp-protocol-version"], MODERN);

    let req = post()
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", "tools/call")
        .header("mcp-name", "rm_rf")
        .body(axum::body::Body::from(body))
        .unwrap();
    let mut out = outcome(app.clone().oneshot(req).await.unwrap()).await;
    out.request_id = json!(7);
    out.rejected(StatusCode::BAD_REQUEST, -32020);

    // The layer wraps the whole method router, so it answers PUT itself.
    let req = Request::put("/mcp")
        .body(axum::body::Body::empty())
        .unwrap();
    let out = outcome(app.oneshot(req).await.unwrap()).await;
    assert_eq!(out.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(out.headers["allow"], "GET, POST, DELETE");
}

#[tokio::test]
async fn works_around_an_rmcp_shaped_service() {
    // rmcp's StreamableHttpService answers Response<BoxBody<Bytes, Infallible>>.
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new())
        .service_fn(|req: Request<axum::body::Body>| async move {
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let res: Response<BoxBody<Bytes, Infallible>> = Response::new(Full::new(body).boxed());
            Ok::<_, Infallible>(res)
        });
    let ok = post()
        .header("mcp-protocol-version", "2025-11-25")
        .body(axum::body::Body::from(PING))
        .unwrap();
    let out = outcome(svc.clone().oneshot(ok).await.unwrap()).await;
    assert_eq!(
        (out.status, out.body.as_ref()),
        (StatusCode::OK, PING.as_bytes())
    );
    let bad = post()
        .header("mcp-protocol-version", "1.0")
        .body(axum::body::Body::from(PING))
        .unwrap();
    let out = outcome(svc.oneshot(bad).await.unwrap()).await;
    assert_eq!(out.status, StatusCode::BAD_REQUEST);
    assert_eq!(out.json()["error"]["code"], -32000);
}

#[tokio::test]
async fn custom_rejection_builder_and_service_accessors() {
    let layer = McpHeadersLayer::new().with_rejection(StatusOnly::default());
    let mut svc: McpHeaders<_, StatusOnly> = tower::Layer::layer(&layer, tower::service_fn(echo));
    let _: &_ = svc.get_ref();
    let _: &mut _ = svc.get_mut();
    let res = svc
        .ready()
        .await
        .unwrap()
        .call(legacy_post(Some("nope"), PING))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get("content-type").is_none());
    assert_eq!(res.extensions().get::<Rejection>().unwrap().code(), -32000);
}

#[test]
fn layer_and_service_are_send_sync_clone_static() {
    fn assert_all<T: Send + Sync + Clone + 'static>(_: &T) {}
    let layer = McpHeadersLayer::new();
    assert_all(&layer);
    let svc = tower::Layer::layer(&layer, tower::service_fn(echo));
    assert_all(&svc);
    fn future_is_send<S: Service<Request<Full<Bytes>>>>(_: &S)
    where
        S::Future: Send + 'static,
    {
    }
    future_is_send(&svc);
}

#[tokio::test]
async fn poll_ready_is_forwarded_and_inner_clone_is_ready() {
    // With a ConcurrencyLimit inside, the service taken into the POST future is the
    // one poll_ready prepared; a second request after the first completes still works.
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new())
        .concurrency_limit(1)
        .service_fn(echo);
    let mut svc = svc;
    for _ in 0..3 {
        let res = svc
            .ready()
            .await
            .unwrap()
            .call(legacy_post(None, PING))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
}
