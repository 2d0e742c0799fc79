//! Misordered layers, and a session layer behind a modern-only headers
//! layer: named once, with the right order.

use super::*;

/// Issue 17: layers stacked the wrong way round (here axum's
/// `Router::layer` read as "outermost first", which puts the session layer
/// outside the Host check) are named once per layer on the first request, at
/// warn, with the right order; a well-ordered stack says nothing.
#[tokio::test(flavor = "current_thread")]
async fn misordered_layers_are_named_once_with_the_right_order() {
    use mcp_tower_guard::{HostCheckLayer, McpHeadersLayer, McpSessionLayer, OriginGuardLayer};

    let initialize = || {
        http::Request::post("/mcp")
            .header("host", "localhost")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(
                r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
            ))
            .unwrap()
    };
    let handler = || async {
        (
            [("content-type", "application/json")],
            r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18"}}"#,
        )
    };

    let (logs, _guard) = crate::support::guards::capture_logs();
    let store = mcp_tower_guard::MokaSessionStore::new();
    let wrong = axum::Router::new()
        .route("/mcp", axum::routing::post(handler))
        .layer(HostCheckLayer::localhost())
        .layer(OriginGuardLayer::localhost())
        .layer(McpHeadersLayer::new())
        .layer(McpSessionLayer::new(store));
    for _ in 0..3 {
        let res = wrong.clone().oneshot(initialize()).await.unwrap();
        assert_eq!(res.status(), http::StatusCode::OK);
    }
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    for layer in ["HostCheckLayer", "OriginGuardLayer", "McpHeadersLayer"] {
        assert_eq!(
            text.matches(&format!("ran before {layer}")).count(),
            1,
            "{layer}: {text}"
        );
    }
    assert!(text.contains("WARN"), "{text}");
    assert!(text.contains("outermost first"), "{text}");

    let (logs, _guard) = crate::support::guards::capture_logs();
    let right = axum::Router::new()
        .route("/mcp", axum::routing::post(handler))
        .layer(
            tower::ServiceBuilder::new()
                .layer(HostCheckLayer::localhost())
                .layer(OriginGuardLayer::localhost())
                .layer(McpHeadersLayer::new())
                .layer(McpSessionLayer::new(
                    mcp_tower_guard::MokaSessionStore::new(),
                )),
        );
    let res = right.oneshot(initialize()).await.unwrap();
    assert_eq!(res.status(), http::StatusCode::OK);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(!text.contains("ran before"), "{text}");
}

/// Issue 17: a session layer behind a headers layer that serves only
/// 2026-07-28 (which has no sessions) is named on its first request, once, at
/// warn (`McpGuard` names it when built: `interop::preset`); behind a headers
/// layer that also serves legacy revisions it says nothing.
#[tokio::test(flavor = "current_thread")]
async fn session_layer_behind_a_modern_only_headers_layer_is_named_once() {
    let modern = || {
        http::Request::post("/mcp")
            .header("host", "localhost")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/list")
            .body(axum::body::Body::from(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
            ))
            .unwrap()
    };
    let handler = || async {
        (
            [("content-type", "application/json")],
            r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
        )
    };
    let stack = |headers: McpHeadersLayer| {
        axum::Router::new().route(
            "/mcp",
            axum::routing::post(handler).layer(
                tower::ServiceBuilder::new()
                    .layer(headers)
                    .layer(McpSessionLayer::new(store())),
            ),
        )
    };

    let (logs, _guard) = crate::support::guards::capture_logs();
    let modern_only = stack(
        McpHeadersLayer::new()
            .supported_versions(["2026-07-28"])
            .unwrap(),
    );
    for _ in 0..3 {
        let res = modern_only.clone().oneshot(modern()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers().get("mcp-session-id").is_none());
    }
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.matches("serves only 2026-07-28").count(), 1, "{text}");
    assert!(text.contains("WARN"), "{text}");
    assert!(text.contains("supported_versions"), "{text}");

    let (logs, _guard) = crate::support::guards::capture_logs();
    let both_eras = stack(McpHeadersLayer::new());
    let res = both_eras.oneshot(modern()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(!text.contains("serves only 2026-07-28"), "{text}");
}
