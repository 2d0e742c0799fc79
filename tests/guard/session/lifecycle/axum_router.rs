//! The layer on an axum `Router`: one table across routes.

use super::*;
use axum::body::Body;
use axum::routing::post;
use axum::{Extension, Router};
use tower::ServiceExt;

async fn handler(
    Extension(session): Extension<SessionContext>,
    envelope: Option<Extension<mcp_tower_guard::envelope::Envelope>>,
) -> axum::Json<serde_json::Value> {
    let id = envelope.and_then(|Extension(e)| e.single().and_then(|m| m.id().cloned()));
    axum::Json(serde_json::json!({
        "jsonrpc": "2.0", "id": id, "result": {"tag": session.id().tag().to_string()}
    }))
}

fn req(method: &str, uri: &str, id: Option<&HeaderValue>, body: &'static str) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(id) = id {
        b = b.header("mcp-session-id", id.clone());
    }
    b.body(Body::from(body)).unwrap()
}

const INIT: &str =
    r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#;
const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

#[tokio::test]
async fn axum_router_layer_shares_one_table_across_routes() {
    let store = MokaSessionStore::new();
    let app = Router::new()
        .route("/a", post(handler).get(handler).delete(handler))
        .route("/b", post(handler))
        .layer(McpSessionLayer::new(store.clone()));

    let res = app
        .clone()
        .oneshot(req("POST", "/a", None, INIT))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let id = res.headers()["mcp-session-id"].clone();

    // axum calls `layer()` per route: the session made on /a is known on /b.
    let res = app
        .clone()
        .oneshot(req("POST", "/b", Some(&id), PING))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .clone()
        .oneshot(req("GET", "/a", Some(&id), ""))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let res = app
        .clone()
        .oneshot(req("POST", "/b", None, PING))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let bytes = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["jsonrpc"], "2.0");

    let res = app
        .clone()
        .oneshot(req("DELETE", "/a", Some(&id), ""))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .clone()
        .oneshot(req("POST", "/b", Some(&id), PING))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(store.stats().created, 1);
}
