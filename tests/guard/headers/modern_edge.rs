//! The 2026-07-28 rules the edge enforces beyond the standard headers, through
//! real tower stacks: request ids in every rejection, required `_meta`,
//! removed methods, unknown versions, `Mcp-Param-{Name}` headers from tool
//! schemas, required client capabilities, session-era leftovers, the optional
//! status mapping and tool learning.
//!
//! Quotes are from `basic/transports/streamable-http.mdx`, `basic/index.mdx`
//! and `server/tools.mdx` of the 2026-07-28 revision.
#![cfg(feature = "axum")]

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

// ------------------------------------------------ request ids in every rejection

#[tokio::test]
async fn spec_2026_07_28_error_responses_include_the_same_id_as_the_request() {
    // basic/index.mdx: "Error responses MUST include the same ID as the request they
    // correspond to (except in error cases where the ID could not be read due a
    // malformed request)." Every JSON id spelling comes back as sent.
    for id in [
        json!(1),
        json!(0),
        json!(-7),
        json!("abc"),
        json!(""),
        json!(18446744073709551615_u64),
    ] {
        // Mcp-Method disagrees with the body: a header rejection after the body is read.
        let mut params = json!({"_meta": meta()});
        let req = Request::post("/mcp")
            .header("accept", ACCEPT_BOTH)
            .header("content-type", "application/json")
            .header("mcp-protocol-version", MODERN)
            .header("mcp-method", "prompts/list")
            .body(Full::from(body(id.clone(), "tools/list", params.clone())))
            .unwrap();
        send(McpHeadersLayer::new(), req)
            .await
            .rejected(StatusCode::BAD_REQUEST, -32020)
            .id(id.clone());
        // An unsupported version.
        params["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2099-01-01");
        let req = Request::post("/mcp")
            .header("accept", ACCEPT_BOTH)
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2099-01-01")
            .header("mcp-method", "tools/list")
            .body(Full::from(body(id.clone(), "tools/list", params)))
            .unwrap();
        send(McpHeadersLayer::new(), req)
            .await
            .rejected(StatusCode::BAD_REQUEST, -32022)
            .id(id.clone());
    }
    // Numbers keep their JSON spelling, beyond what an f64 holds.
    let text = r#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"tools/list","params":{}}"#;
    let req = modern("tools/list", json!({}))
        .body(Full::from(text))
        .unwrap();
    let seen = Seen::default();
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new())
        .service(inner(seen.clone(), ok_json));
    let res = svc.oneshot(req).await.unwrap();
    let raw = res.into_body().collect().await.unwrap().to_bytes();
    let raw = String::from_utf8(raw.to_vec()).unwrap();
    assert!(
        raw.contains(r#""id":123456789012345678901234567890"#),
        "{raw}"
    );
}

#[tokio::test]
async fn every_rejection_kind_after_the_body_carries_the_id_in_both_eras() {
    let id = json!(42);
    let layer = McpHeadersLayer::new;
    // 406 and 415 are decided from the head but answered once the body is read.
    let req = Request::post("/mcp")
        .header("accept", "text/html")
        .header("content-type", "application/json")
        .body(Full::from(body(id.clone(), "tools/list", json!({}))))
        .unwrap();
    send(layer(), req)
        .await
        .rejected(StatusCode::NOT_ACCEPTABLE, -32000)
        .id(id.clone());
    let req = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "text/plain")
        .body(Full::from(body(id.clone(), "tools/list", json!({}))))
        .unwrap();
    send(layer(), req)
        .await
        .rejected(StatusCode::UNSUPPORTED_MEDIA_TYPE, -32000)
        .id(id.clone());
    // Legacy: an unsupported version header, then a forbidden batch.
    let req = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "1999-01-01")
        .body(Full::from(body(id.clone(), "ping", json!({}))))
        .unwrap();
    send(layer(), req)
        .await
        .rejected(StatusCode::BAD_REQUEST, -32000)
        .id(id.clone());
    // A modern removed method, missing _meta, a missing Mcp-Name.
    send(
        layer(),
        modern_request(id.clone(), "ping", json!({"_meta": meta()})),
    )
    .await
    .rejected(StatusCode::NOT_FOUND, -32601)
    .id(id.clone());
    send(layer(), modern_request(id.clone(), "tools/list", json!({})))
        .await
        .rejected(StatusCode::BAD_REQUEST, -32602)
        .id(id.clone());

    // The session layer's rejections carry it too (a legacy request without a session).
    let store = MokaSessionStore::builder().build().unwrap();
    let seen = Seen::default();
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new())
        .layer(McpSessionLayer::new(store))
        .service(inner(seen.clone(), ok_json));
    let req = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-11-25")
        .body(Full::from(body(json!("s-1"), "tools/list", json!({}))))
        .unwrap();
    let out = run(svc.clone(), &seen, req).await;
    out.rejected(StatusCode::BAD_REQUEST, -32000)
        .id(json!("s-1"));
    assert_eq!(
        out.rejection.unwrap().kind(),
        RejectionKind::MissingSessionId
    );
    let req = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-11-25")
        .header("mcp-session-id", "no-such-session")
        .body(Full::from(body(json!(9), "tools/list", json!({}))))
        .unwrap();
    run(svc, &seen, req)
        .await
        .rejected(StatusCode::NOT_FOUND, -32001)
        .id(json!(9));
}

#[tokio::test]
async fn id_is_null_only_where_none_can_be_known() {
    // A notification has no id; invalid JSON and a batch name none; 413 and 431 are
    // decided before the body is read; Host and Origin never read it.
    let notification = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2099-01-01"}}})
    .to_string();
    let req = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2099-01-01")
        .body(Full::from(notification))
        .unwrap();
    send(McpHeadersLayer::new(), req)
        .await
        .rejected(StatusCode::BAD_REQUEST, -32022)
        .id(Value::Null);
    let req = modern("tools/list", json!({}))
        .body(Full::from(r#"{"jsonrpc":"2.0","id":5,"method":"#))
        .unwrap();
    send(McpHeadersLayer::new(), req)
        .await
        .rejected(StatusCode::BAD_REQUEST, -32700)
        .id(Value::Null);
    let req = modern("tools/list", json!({}))
        .header("content-length", "99999999")
        .body(Full::from(body(json!(5), "tools/list", json!({}))))
        .unwrap();
    send(McpHeadersLayer::new(), req)
        .await
        .rejected(StatusCode::PAYLOAD_TOO_LARGE, -32000)
        .id(Value::Null);
    let mut req = modern_request(json!(5), "tools/list", json!({"_meta": meta()}));
    for i in 0..70 {
        req.headers_mut().append(
            http::HeaderName::from_bytes(format!("mcp-param-p{i}").as_bytes()).unwrap(),
            HeaderValue::from_static("x"),
        );
    }
    send(McpHeadersLayer::new(), req)
        .await
        .rejected(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, -32000)
        .id(Value::Null);
    let seen = Seen::default();
    let svc = ServiceBuilder::new()
        .layer(HostCheckLayer::localhost())
        .layer(OriginGuardLayer::localhost())
        .layer(McpHeadersLayer::new())
        .service(inner(seen.clone(), ok_json));
    let mut req = modern_request(json!(5), "tools/list", json!({"_meta": meta()}));
    req.headers_mut()
        .insert("host", HeaderValue::from_static("evil.example"));
    run(svc, &seen, req)
        .await
        .rejected(StatusCode::FORBIDDEN, -32000)
        .id(Value::Null);
}

// ------------------------------------------------ required _meta

#[tokio::test]
async fn spec_2026_07_28_request_missing_a_required_meta_field_is_400_32602() {
    // basic/index.mdx: "A request missing any required field is malformed; the server
    // MUST reject it with JSON-RPC error code -32602 (Invalid params). On HTTP, the
    // response status MUST be 400 Bad Request."
    let mut no_version = meta();
    no_version
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/protocolVersion");
    let mut no_caps = meta();
    no_caps
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientCapabilities");
    let mut caps_not_object = meta();
    caps_not_object["io.modelcontextprotocol/clientCapabilities"] = json!(["sampling"]);
    let mut version_not_string = meta();
    version_not_string["io.modelcontextprotocol/protocolVersion"] = json!(20260728);
    for (case, params) in [
        ("no params", Value::Null),
        ("no _meta", json!({})),
        ("_meta null", json!({"_meta": null})),
        ("no protocolVersion", json!({"_meta": no_version})),
        ("no clientCapabilities", json!({"_meta": no_caps})),
        (
            "clientCapabilities not an object",
            json!({"_meta": caps_not_object}),
        ),
        (
            "protocolVersion not a string",
            json!({"_meta": version_not_string}),
        ),
    ] {
        let out = send(
            McpHeadersLayer::new(),
            modern_request(json!(101), "server/discover", params),
        )
        .await;
        out.rejected(StatusCode::BAD_REQUEST, -32602).id(json!(101));
        assert_eq!(
            out.rejection.as_ref().unwrap().kind(),
            RejectionKind::InvalidParams,
            "{case}"
        );
    }
    // "Clients SHOULD include io.modelcontextprotocol/clientInfo": optional, so served.
    let mut no_info = meta();
    no_info
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientInfo");
    send(
        McpHeadersLayer::new(),
        modern_request(json!(105), "server/discover", json!({"_meta": no_info})),
    )
    .await
    .passed();
}

#[tokio::test]
async fn spec_2026_07_28_header_and_meta_version_must_match_else_32020() {
    // "If the values do not match, the server MUST reject the request with
    // 400 Bad Request and a HeaderMismatch JSON-RPC error."
    let mut other = meta();
    other["io.modelcontextprotocol/protocolVersion"] = json!("v999.0.0");
    send(
        McpHeadersLayer::new(),
        modern_request(json!(302), "server/discover", json!({"_meta": other})),
    )
    .await
    .rejected(StatusCode::BAD_REQUEST, -32020)
    .id(json!(302));
}

// ------------------------------------------------ removed methods

#[tokio::test]
async fn spec_2026_07_28_method_the_server_does_not_implement_is_404_32601() {
    // "If the server does not implement the requested RPC method, it MUST respond with
    // 404 Not Found and a JSON-RPC error with code -32601 (Method not found)": the
    // methods this revision removed are implemented by no 2026-07-28 server.
    for method in [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "resources/unsubscribe",
        "tasks/list",
        "tasks/result",
    ] {
        let out = send(
            McpHeadersLayer::new(),
            modern_request(json!(500), method, json!({"_meta": meta()})),
        )
        .await;
        out.rejected(StatusCode::NOT_FOUND, -32601).id(json!(500));
        assert!(out.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(method));
    }
    // Legacy requests keep them.
    let req = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-11-25")
        .body(Full::from(body(json!(1), "ping", json!({}))))
        .unwrap();
    send(McpHeadersLayer::new(), req).await.passed();
    // Methods the edge does not know are the inner service's call.
    send(
        McpHeadersLayer::new(),
        modern_request(json!(601), "unknown/method", json!({"_meta": meta()})),
    )
    .await
    .passed();
}

// ------------------------------------------------ unknown versions

#[tokio::test]
async fn spec_2026_07_28_unknown_version_is_32022_echoing_the_requested_value() {
    // "If the server does not implement the requested protocol version (whether the
    // version is unknown to the server, ...) it MUST respond with 400 Bad Request and an
    // UnsupportedProtocolVersionError"; its data "echoes the requested version".
    let mut v999 = meta();
    v999["io.modelcontextprotocol/protocolVersion"] = json!("v999.0.0");
    for (header, mcp_method, params) in [
        // Shaped as 2026-07-28 by its body's _meta.
        ("v999.0.0", None, json!({"_meta": v999.clone()})),
        // ... or by its Mcp-Method header alone.
        ("v999.0.0", Some("server/discover"), json!({})),
        (
            "1999-01-01",
            Some("server/discover"),
            json!({"_meta": meta()}),
        ),
        (
            "2025-07-01",
            Some("server/discover"),
            json!({"_meta": meta()}),
        ),
    ] {
        let mut b = Request::post("/mcp")
            .header("accept", ACCEPT_BOTH)
            .header("content-type", "application/json")
            .header("mcp-protocol-version", header);
        if let Some(m) = mcp_method {
            b = b.header("mcp-method", m);
        }
        let req = b
            .body(Full::from(body(json!(301), "server/discover", params)))
            .unwrap();
        let out = send(McpHeadersLayer::new(), req).await;
        out.rejected(StatusCode::BAD_REQUEST, -32022).id(json!(301));
        assert_eq!(out.body["error"]["data"]["requested"], header);
        assert!(out.body["error"]["data"]["supported"]
            .as_array()
            .unwrap()
            .contains(&json!(MODERN)));
    }
    // A legacy-shaped request keeps the legacy 400, with the value unquoted.
    let req = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "v999.0.0")
        .body(Full::from(body(json!(3), "tools/list", json!({}))))
        .unwrap();
    let out = send(McpHeadersLayer::new(), req).await;
    out.rejected(StatusCode::BAD_REQUEST, -32000).id(json!(3));
    assert_eq!(out.body["error"]["data"]["requested"], "v999.0.0");
}

// ------------------------------------------------ Mcp-Param-{Name}

fn sql_rules() -> ToolRules {
    ToolRules::from_tools_list(&json!({"tools": [{
        "name": "execute_sql",
        "inputSchema": {
            "type": "object",
            "properties": {
                "region": {"type": "string", "x-mcp-header": "Region"},
                "shard": {"type": "integer", "x-mcp-header": "Shard"},
                "dry_run": {"type": "boolean", "x-mcp-header": "DryRun"},
                "target": {"type": "object", "properties": {
                    "zone": {"type": "string", "x-mcp-header": "Zone"}}},
                "query": {"type": "string"}
            },
            "required": ["region", "query"]
        }
    }]}))
    .unwrap()
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

async fn sql(arguments: Value, params: &[(&str, &[u8])]) -> Outcome {
    send(
        McpHeadersLayer::new().tool_rules(sql_rules()),
        sql_call(arguments, params),
    )
    .await
}

#[tokio::test]
async fn spec_2026_07_28_server_must_validate_that_header_matches_body() {
    // "Parameter value provided | Client MUST include the header | Server MUST validate
    // header matches body"
    sql(
        json!({"region": "us-west1", "query": "SELECT 1"}),
        &[("Mcp-Param-Region", b"us-west1")],
    )
    .await
    .passed();
    let out = sql(
        json!({"region": "us-west1", "query": "SELECT 1"}),
        &[("Mcp-Param-Region", b"eu-west1")],
    )
    .await;
    out.rejected(StatusCode::BAD_REQUEST, -32020).id(json!(7));
    assert!(
        out.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Mcp-Param-Region"),
        "{}",
        out.body
    );
    // Header names are case-insensitive; values are not.
    sql(
        json!({"region": "us-west1"}),
        &[("MCP-PARAM-REGION", b"us-west1")],
    )
    .await
    .passed();
    sql(
        json!({"region": "us-west1"}),
        &[("mcp-param-region", b"US-WEST1")],
    )
    .await
    .rejected(StatusCode::BAD_REQUEST, -32020);
}

#[tokio::test]
async fn spec_2026_07_28_client_omits_header_but_value_is_in_body_server_must_reject() {
    // "Client omits header but value is in body | Non-conforming client | Server MUST
    // reject the request"
    sql(json!({"region": "us-west1", "query": "q"}), &[])
        .await
        .rejected(StatusCode::BAD_REQUEST, -32020)
        .id(json!(7));
    sql(json!({"target": {"zone": "b"}}), &[])
        .await
        .rejected(StatusCode::BAD_REQUEST, -32020);
}

#[tokio::test]
async fn spec_2026_07_28_null_or_absent_parameter_server_must_not_expect_the_header() {
    // "Parameter value is null | Server MUST NOT expect the header" and "Parameter not in
    // arguments | Server MUST NOT expect the header"
    sql(json!({"query": "q"}), &[]).await.passed();
    sql(json!({"region": null, "shard": null, "target": null}), &[])
        .await
        .passed();
    sql(json!({"target": {}}), &[]).await.passed();
    sql(json!({"target": "not an object"}), &[]).await.passed();
    send(
        McpHeadersLayer::new().tool_rules(sql_rules()),
        modern_request(
            json!(7),
            "tools/call",
            json!({"name": "execute_sql", "_meta": meta()}),
        ),
    )
    .await
    .passed();
    // A header claiming a value the body does not have is a mismatch.
    sql(json!({"query": "q"}), &[("Mcp-Param-Region", b"us-west1")])
        .await
        .rejected(StatusCode::BAD_REQUEST, -32020);
}

#[tokio::test]
async fn spec_2026_07_28_servers_must_decode_an_encoded_value_before_comparing() {
    // "servers MUST decode an encoded Mcp-Name or Mcp-Param-{Name} value before comparing
    // it to the corresponding request body value"
    for value in [
        "Hello, 世界",
        " padded ",
        "line1\nline2",
        "=?base64?literal?=",
    ] {
        let header = encode_value(value);
        sql(
            json!({"region": value}),
            &[("Mcp-Param-Region", header.as_bytes())],
        )
        .await
        .passed();
    }
    sql(
        json!({"region": "Hello"}),
        &[("Mcp-Param-Region", b"=?base64?SGVsbG8=?=")],
    )
    .await
    .passed();
    // Values without both markers are literal.
    sql(
        json!({"region": "SGVsbG8="}),
        &[("Mcp-Param-Region", b"SGVsbG8=")],
    )
    .await
    .passed();
    sql(
        json!({"region": "=?base64?SGVsbG8="}),
        &[("Mcp-Param-Region", b"=?base64?SGVsbG8=")],
    )
    .await
    .passed();
}

#[tokio::test]
async fn spec_2026_07_28_recognized_header_with_invalid_characters_is_rejected() {
    // "Servers MUST reject requests with a recognized Mcp-Param-{Name} header that
    // contains invalid characters"
    for bad in [
        &b"=?base64?SGVsbG8?="[..],
        b"=?base64?SGVs!!!bG8=?=",
        b"caf\xc3\xa9",
        b"\xff\xfe",
    ] {
        sql(json!({"region": "Hello"}), &[("Mcp-Param-Region", bad)])
            .await
            .rejected(StatusCode::BAD_REQUEST, -32020)
            .id(json!(7));
    }
    // Repeated: which one would an intermediary route on?
    sql(
        json!({"region": "a"}),
        &[("Mcp-Param-Region", b"a"), ("Mcp-Param-Region", b"a")],
    )
    .await
    .rejected(StatusCode::BAD_REQUEST, -32020);
}

#[tokio::test]
async fn spec_2026_07_28_integer_and_boolean_parameters() {
    // "integer: Convert to decimal string representation", "boolean: Convert to
    // lowercase", and "servers SHOULD compare ... numerically (42.0 and 42 are equal)".
    let both = |shard: Value, header: &'static [u8]| async move {
        sql(json!({"shard": shard}), &[("Mcp-Param-Shard", header)]).await
    };
    both(json!(42), b"42").await.passed();
    both(json!(42.0), b"42").await.passed();
    both(json!(42), b"42.0").await.passed();
    both(json!(-7), b"-7").await.passed();
    both(json!(42), b"43")
        .await
        .rejected(StatusCode::BAD_REQUEST, -32020);
    both(json!(42), b"0x2a")
        .await
        .rejected(StatusCode::BAD_REQUEST, -32020);
    sql(json!({"dry_run": true}), &[("Mcp-Param-DryRun", b"true")])
        .await
        .passed();
    sql(json!({"dry_run": false}), &[("Mcp-Param-DryRun", b"false")])
        .await
        .passed();
    sql(json!({"dry_run": true}), &[("Mcp-Param-DryRun", b"TRUE")])
        .await
        .rejected(StatusCode::BAD_REQUEST, -32020);
    // Nested through properties.
    sql(
        json!({"target": {"zone": "b"}}),
        &[("Mcp-Param-Zone", b"b")],
    )
    .await
    .passed();
}

#[tokio::test]
async fn spec_2026_07_28_unrecognized_mcp_param_header_is_forwarded() {
    // "Intermediate servers that do not recognize an Mcp-Param-{Name} header MUST
    // forward it and otherwise ignore it"
    let seen = Seen::default();
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new().tool_rules(sql_rules()))
        .service(inner(seen.clone(), ok_json));
    let out = run(
        svc.clone(),
        &seen,
        sql_call(
            json!({"region": "r"}),
            &[("Mcp-Param-Region", b"r"), ("Mcp-Param-Other", b"anything")],
        ),
    )
    .await;
    out.passed();
    assert_eq!(seen.headers().unwrap()["mcp-param-other"], "anything");
    assert_eq!(seen.headers().unwrap()["mcp-param-region"], "r");
    // A tool the table does not know: nothing to check.
    let call = json!({"name": "other_tool", "arguments": {"region": "x"}, "_meta": meta()});
    let mut req = modern_request(json!(8), "tools/call", call);
    req.headers_mut()
        .insert("mcp-param-region", HeaderValue::from_static("y"));
    run(svc, &seen, req).await.passed();
}

#[tokio::test]
async fn legacy_tools_call_is_not_checked_against_mcp_param_headers() {
    // SEP-2243 is part of 2026-07-28; a legacy client sends no Mcp-Param headers.
    let req = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-11-25")
        .body(Full::from(body(
            json!(1),
            "tools/call",
            json!({"name": "execute_sql", "arguments": {"region": "r"}}),
        )))
        .unwrap();
    send(McpHeadersLayer::new().tool_rules(sql_rules()), req)
        .await
        .passed();
}

#[tokio::test]
async fn mcp_header_count_and_bytes_are_capped_431() {
    let mut req = sql_call(json!({}), &[]);
    req.headers_mut().insert(
        "mcp-param-big",
        HeaderValue::from_str(&"x".repeat(20_000)).unwrap(),
    );
    send(McpHeadersLayer::new(), req)
        .await
        .rejected(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, -32000);
    // Configurable.
    let layer = McpHeadersLayer::new().max_mcp_headers(3).unwrap();
    send(layer.clone(), sql_call(json!({}), &[("Mcp-Param-A", b"1")]))
        .await
        .rejected(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, -32000);
    send(
        layer,
        modern_request(json!(1), "tools/list", json!({"_meta": meta()})),
    )
    .await
    .passed();
    assert!(McpHeadersLayer::new().max_mcp_headers(0).is_err());
    assert!(McpHeadersLayer::new().max_mcp_header_bytes(10).is_err());
}

// ------------------------------------------------ required client capabilities

#[tokio::test]
async fn spec_2026_07_28_undeclared_required_capability_is_400_32021() {
    // basic/index.mdx: "If processing a request requires a capability the client did not
    // include in io.modelcontextprotocol/clientCapabilities, the server MUST return a
    // MissingRequiredClientCapabilityError (-32021) whose data.requiredCapabilities lists
    // the missing capabilities. On HTTP, the response status MUST be 400 Bad Request."
    let rules = ToolRules::new()
        .require_capabilities(
            "summarize",
            json!({"sampling": {}, "elicitation": {"url": {}}}),
        )
        .unwrap();
    let layer = McpHeadersLayer::new().tool_rules(rules);
    let call = |caps: Value| {
        let mut m = meta();
        m["io.modelcontextprotocol/clientCapabilities"] = caps;
        modern_request(
            json!(401),
            "tools/call",
            json!({"name": "summarize", "arguments": {}, "_meta": m}),
        )
    };
    let out = send(layer.clone(), call(json!({}))).await;
    out.rejected(StatusCode::BAD_REQUEST, -32021).id(json!(401));
    assert_eq!(
        out.body["error"]["data"]["requiredCapabilities"],
        json!({"sampling": {}, "elicitation": {"url": {}}})
    );
    assert_eq!(
        out.rejection.unwrap().kind(),
        RejectionKind::MissingClientCapability
    );
    let out = send(
        layer.clone(),
        call(json!({"sampling": {}, "elicitation": {}})),
    )
    .await;
    out.rejected(StatusCode::BAD_REQUEST, -32021);
    assert_eq!(
        out.body["error"]["data"]["requiredCapabilities"],
        json!({"elicitation": {"url": {}}})
    );
    send(
        layer,
        call(json!({"sampling": {}, "elicitation": {"url": {}, "form": {}}})),
    )
    .await
    .passed();
}

// ------------------------------------------------ session-era leftovers

#[tokio::test]
async fn spec_2026_07_28_session_id_and_last_event_id_are_ignored_and_never_echoed() {
    // "An Mcp-Session-Id header on a request: ignore it, and do not mint or echo session
    // IDs." and "A Last-Event-ID header: ignore it; streams are not resumable."
    let seen = Seen::default();
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new())
        .service(inner(seen.clone(), || {
            let mut res = ok_json();
            res.headers_mut().insert(
                "mcp-session-id",
                HeaderValue::from_static("minted-by-inner"),
            );
            res
        }));
    let mut req = modern_request(json!(1), "tools/list", json!({"_meta": meta()}));
    req.headers_mut()
        .insert("mcp-session-id", HeaderValue::from_static("stale"));
    req.headers_mut()
        .insert("last-event-id", HeaderValue::from_static("42"));
    let out = run(svc, &seen, req).await;
    out.passed();
    let inner_saw = seen.headers().unwrap();
    assert!(inner_saw.get("mcp-session-id").is_none());
    assert!(inner_saw.get("last-event-id").is_none());
    assert!(out.headers.get("mcp-session-id").is_none());
}

// ------------------------------------------------ optional status mapping

fn json_error(code: i64) -> Response<Full<Bytes>> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": code, "message": "m"}});
    let mut res = Response::new(Full::from(body.to_string()));
    res.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    res
}

async fn mapped(
    layer: McpHeadersLayer,
    answer: Response<Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> (StatusCode, Value) {
    let answer = Arc::new(Mutex::new(Some(answer)));
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service_fn(move |_req: Request<Full<Bytes>>| {
            let answer = answer.clone();
            async move { Ok::<_, Infallible>(answer.lock().unwrap().take().unwrap()) }
        });
    let res = svc.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn map_error_status_gives_json_rpc_errors_their_2026_07_28_status() {
    let req = || modern_request(json!(1), "tools/list", json!({"_meta": meta()}));
    let on = McpHeadersLayer::new().map_error_status(true);
    for (code, status) in [
        (-32601, StatusCode::NOT_FOUND),
        (-32602, StatusCode::BAD_REQUEST),
        (-32020, StatusCode::BAD_REQUEST),
        (-32021, StatusCode::BAD_REQUEST),
        (-32022, StatusCode::BAD_REQUEST),
        (-32603, StatusCode::OK),
    ] {
        let (got, body) = mapped(on.clone(), json_error(code), req()).await;
        assert_eq!(got, status, "{code}");
        assert_eq!(body["error"]["code"], code, "the body is unchanged");
    }
    // Off by default.
    let (got, _) = mapped(McpHeadersLayer::new(), json_error(-32601), req()).await;
    assert_eq!(got, StatusCode::OK);
    // SSE streams pass through untouched.
    let mut sse = json_error(-32601);
    sse.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/event-stream"),
    );
    let (got, _) = mapped(on.clone(), sse, req()).await;
    assert_eq!(got, StatusCode::OK);
    // Legacy answers keep their status.
    let legacy = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-11-25")
        .body(Full::from(body(json!(1), "tools/list", json!({}))))
        .unwrap();
    let (got, _) = mapped(on, json_error(-32601), legacy).await;
    assert_eq!(got, StatusCode::OK);
}

// ------------------------------------------------ learning tools

#[tokio::test]
async fn learn_tools_reads_the_inner_services_own_tools_list() {
    let listed = json!({"jsonrpc": "2.0", "id": 1, "result": {"tools": [
        {"name": "execute_sql", "inputSchema": {"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"}}}},
        {"name": "broken", "inputSchema": {"type": "object", "properties": {
            "n": {"type": "number", "x-mcp-header": "N"}}}}
    ], "ttlMs": 0, "cacheScope": "public"}});
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new().learn_tools(true))
        .service_fn(move |req: Request<Full<Bytes>>| {
            let listed = listed.clone();
            async move {
                let is_list = req.headers()["mcp-method"] == "tools/list";
                let body = if is_list {
                    listed.to_string()
                } else {
                    r#"{"jsonrpc":"2.0","id":7,"result":{}}"#.to_owned()
                };
                let mut res = Response::new(Full::<Bytes>::from(body));
                res.headers_mut()
                    .insert("content-type", HeaderValue::from_static("application/json"));
                Ok::<_, Infallible>(res)
            }
        });
    let call = || sql_call(json!({"region": "us-west1"}), &[]);
    // Before any tools/list: the table is empty, nothing is checked.
    let res = svc.clone().oneshot(call()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The answer to tools/list passes through unchanged ...
    let res = svc
        .clone()
        .oneshot(modern_request(
            json!(1),
            "tools/list",
            json!({"_meta": meta()}),
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let listed: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(listed["result"]["tools"].as_array().unwrap().len(), 2);
    // ... and from now on the call needs its header.
    let res = svc.clone().oneshot(call()).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = svc
        .clone()
        .oneshot(sql_call(
            json!({"region": "us-west1"}),
            &[("Mcp-Param-Region", b"us-west1")],
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}
