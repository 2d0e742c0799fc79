// The README's hand-composed stack: `cargo run --example axum_app`.
// [dependencies]
// mcp-tower-guard = "0.1"
// axum = "0.8"
// serde_json = "1"
// tokio = { version = "1", features = ["macros", "rt-multi-thread", "net", "signal"] }
// tower = "0.5"
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Extension;
use axum::routing::{get, post};
use axum::{Json, Router};
use mcp_tower_guard::session::{MokaSessionStore, SessionContext};
use mcp_tower_guard::{
    LocalBind, McpHeadersLayer, McpSessionLayer, OriginGuardLayer, RequestProtocol,
};
use serde_json::{json, Value};
use tower::ServiceBuilder;

async fn mcp(
    Extension(protocol): Extension<RequestProtocol>, // version and era, checked
    session: Option<Extension<SessionContext>>,      // Some for legacy requests
    Json(message): Json<Value>,
) -> Json<Value> {
    let tag = session.map(|Extension(s)| s.id().tag().to_string());
    Json(json!({"jsonrpc": "2.0", "id": message["id"], "result": {
        "era": format!("{:?}", protocol.era()), "session": tag }}))
}

pub fn app(addr: SocketAddr) -> Result<(Router, MokaSessionStore), Box<dyn std::error::Error>> {
    // Build the store once and share it; hooks, limits and stats live here.
    let store = MokaSessionStore::builder()
        .idle_timeout(Duration::from_secs(30 * 60))
        .max_sessions(1_000)
        .build()?;
    // MCP rules on the MCP route only, around its handler (the session layer
    // answers DELETE itself: no stub route, no `route_layer` scope surprises)...
    let mcp_route = ServiceBuilder::new()
        .layer(McpHeadersLayer::new())
        .layer(McpSessionLayer::new(store.clone()))
        .service(post(mcp));
    let app = Router::new()
        .route_service("/mcp", mcp_route)
        .route("/health", get(|| async { "ok" }))
        // ...Host and Origin on everything, outermost.
        .layer(
            ServiceBuilder::new()
                .layer(LocalBind::new(addr).host_check()?) // refuses a non-loopback addr
                .layer(OriginGuardLayer::localhost()),
        );
    Ok((app, store))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = "127.0.0.1:8000".parse()?;
    let (app, store) = app(addr)?;
    println!("MCP endpoint on http://{addr}/mcp");
    axum::serve(tokio::net::TcpListener::bind(addr).await?, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    store.shutdown(); // close hooks fire with CloseCause::Shutdown
    Ok(())
}
