//! `McpGuard`, the one-call preset: mounted with axum's `route_service` and
//! `nest_service` (routes beside it stay unguarded), in session and
//! stateless mode, and as a `tower` layer. rmcp's `StreamableHttpService`
//! behind it is `interop::rmcp_server` (the example uses the preset).

use std::net::SocketAddr;

use axum::body::Body;
use axum::routing::{get, post};
use axum::Router;
use http::{Request, StatusCode};
use mcp_tower_guard::{McpGuard, McpHeadersLayer};
use tower::{Layer, ServiceExt};

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
const PING: &str = r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#;

fn addr() -> SocketAddr {
    "127.0.0.1:8000".parse().unwrap()
}

/// The MCP handler, on any path (`route_service` keeps the full path,
/// `nest_service` strips it): a JSON-RPC result for id 1 or 2.
fn mcp() -> Router {
    let answer = |id: u8| {
        (
            [("content-type", "application/json")],
            format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"protocolVersion":"2025-06-18"}}}}"#),
        )
    };
    Router::new().fallback(post(move |body: String| async move {
        answer(if body.contains("ping") { 2 } else { 1 })
    }))
}

fn post_to(path: &str, host: &str, body: &'static str, session: Option<&str>) -> Request<Body> {
    let mut req = Request::post(path)
        .header("host", host)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    if let Some(id) = session {
        req = req
            .header("mcp-session-id", id)
            .header("mcp-protocol-version", "2025-06-18");
    }
    req.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn route_service_guards_only_its_route_and_keeps_sessions() {
    let app = Router::new()
        .route_service("/mcp", McpGuard::local(addr()).unwrap().into_service(mcp()))
        .route("/health", get(|| async { "ok" }));

    // The route beside the guard is not covered by it.
    let health = Request::get("/health")
        .header("host", "evil.example")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.clone().oneshot(health).await.unwrap().status(),
        StatusCode::OK
    );

    // The guard's route: Host first, then the rest in order.
    let res = app
        .clone()
        .oneshot(post_to("/mcp", "evil.example", "junk", None))
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "a bad Host wins over a bad body"
    );

    let res = app
        .clone()
        .oneshot(post_to("/mcp", "localhost:8000", INITIALIZE, None))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let id = res.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let res = app
        .clone()
        .oneshot(post_to("/mcp", "localhost:8000", PING, Some(&id)))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .oneshot(post_to("/mcp", "localhost:8000", PING, None))
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "a legacy request needs its session"
    );
}

#[tokio::test]
async fn nest_service_stateless_mode_mints_no_session() {
    let guard = McpGuard::local(addr())
        .unwrap()
        .headers(McpHeadersLayer::new())
        .stateless();
    let app = Router::new().nest_service("/mcp", guard.into_service(mcp()));
    let res = app
        .clone()
        .oneshot(post_to("/mcp", "localhost", INITIALIZE, None))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("mcp-session-id").is_none());
    let res = app
        .oneshot(post_to("/mcp", "localhost", PING, None))
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "no session layer, no session required"
    );
}

#[tokio::test]
async fn as_a_layer_and_refusing_a_non_loopback_bind() {
    let layer = McpGuard::local(addr()).unwrap().layer();
    let svc = layer.layer(mcp());
    let res = svc
        .oneshot(post_to("/", "localhost", INITIALIZE, None))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("mcp-session-id").is_some());

    let lan: SocketAddr = "0.0.0.0:8000".parse().unwrap();
    let err = McpGuard::local(lan).unwrap_err();
    assert!(matches!(
        err,
        mcp_tower_guard::ConfigError::UnsafeBind { .. }
    ));
    // The message names methods that exist, and the way that works.
    let text = err.to_string();
    assert!(
        text.contains("LocalBind::allow_non_loopback(true)"),
        "{text}"
    );
    let hosts = mcp_tower_guard::LocalBind::new(lan)
        .allow_non_loopback(true)
        .allow_hosts(["mcp.example.com"])
        .host_check()
        .unwrap();
    let svc = McpGuard::new(hosts).unwrap().into_service(mcp());
    let res = svc
        .oneshot(post_to("/", "mcp.example.com", INITIALIZE, None))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// Issue 17: sessions on a 2026-07-28-only endpoint are named when the guard
/// is built (nothing would ever use them); a stateless one says nothing.
#[tokio::test(flavor = "current_thread")]
async fn sessions_on_a_modern_only_endpoint_are_named_at_build() {
    let modern_only = || {
        McpHeadersLayer::new()
            .supported_versions(["2026-07-28"])
            .unwrap()
    };
    let (logs, _guard) = crate::support::guards::capture_logs();
    let _svc = McpGuard::local(addr())
        .unwrap()
        .headers(modern_only())
        .into_service(mcp());
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("serves only 2026-07-28"), "{text}");
    assert!(text.contains(".stateless()"), "{text}");

    let (logs, _guard) = crate::support::guards::capture_logs();
    let _svc = McpGuard::local(addr())
        .unwrap()
        .headers(modern_only())
        .stateless()
        .into_service(mcp());
    let _svc = McpGuard::local(addr()).unwrap().into_service(mcp());
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(!text.contains("serves only 2026-07-28"), "{text}");
}
