//! The headers layer in front: one envelope and protocol for both layers.

use super::*;
use mcp_tower_guard::McpHeadersLayer;
use tower::{ServiceBuilder, ServiceExt};

fn post(body: B) -> Request<B> {
    Request::post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(body)
        .unwrap()
}

#[tokio::test]
async fn headers_then_session_share_the_envelope_and_protocol() {
    let store = MokaSessionStore::new();
    let seen = Seen::default();
    let handler_seen = seen.clone();
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new())
        .layer(McpSessionLayer::new(store.clone()))
        .service_fn(move |req| handler(handler_seen.clone(), req));

    let res = svc
        .clone()
        .oneshot(post(init_body("2025-11-25")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let id = session_id(&res);

    // No version header: the headers layer assumed 2025-03-26; the session
    // layer replaces it with what the session negotiated.
    let mut req = post(rpc("tools/list"));
    req.headers_mut().insert("mcp-session-id", id.clone());
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-seen-envelope"], "1");
    let p = seen.protocol.lock().unwrap().unwrap();
    assert_eq!(
        (p.version(), p.assumed()),
        (ProtocolVersion::V2025_11_25, true)
    );

    // A modern request with a stale session id is not the session layer's business.
    let mut req = post(Full::new(Bytes::from_static(
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
    )));
    req.headers_mut().insert(
        "mcp-protocol-version",
        HeaderValue::from_static("2026-07-28"),
    );
    req.headers_mut()
        .insert("mcp-method", HeaderValue::from_static("tools/list"));
    req.headers_mut().insert("mcp-session-id", id.clone());
    let calls = seen.calls();
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{:?}",
        res.extensions().get::<Rejection>()
    );
    assert_eq!(seen.calls(), calls + 1);
    assert!(!res.headers().contains_key("mcp-session-id"));
    assert_eq!(store.stats().rejected.total(), 0);

    let mut req = post(rpc("ping"));
    req.headers_mut()
        .insert("mcp-session-id", HeaderValue::from_static("unknown"));
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
