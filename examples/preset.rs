// The README's quick start: `cargo run --example preset`.
// [dependencies]
// mcp-tower-guard = "0.1"
// axum = "0.8"
// serde_json = "1"
// tokio = { version = "1", features = ["macros", "rt-multi-thread", "net"] }
use std::net::SocketAddr;

use axum::routing::{get, post};
use axum::{Json, Router};
use mcp_tower_guard::{ConfigError, McpGuard};
use serde_json::{json, Value};

/// Your MCP server; this one answers `initialize` and `ping`.
async fn mcp(Json(message): Json<Value>) -> Json<Value> {
    let result = match message["method"].as_str() {
        Some("initialize") => json!({
            "protocolVersion": message["params"]["protocolVersion"],
            "capabilities": {},
            "serverInfo": {"name": "preset", "version": "0.1.0"},
        }),
        Some("ping") => json!({}),
        _ => {
            return Json(json!({"jsonrpc": "2.0", "id": message["id"],
            "error": {"code": -32601, "message": "Method not found"}}))
        }
    };
    Json(json!({"jsonrpc": "2.0", "id": message["id"], "result": result}))
}

/// `/mcp` behind the whole guard (Host, Origin, Headers, Session, in that
/// order); `/health` beside it, and any other path, behind the Host check.
pub fn app(addr: SocketAddr) -> Result<Router, ConfigError> {
    let guard = McpGuard::local(addr)?; // refuses a non-loopback addr
    Ok(Router::new()
        .route("/health", get(|| async { "ok" }))
        // Host on every route above and on the 404 of unknown paths, so a
        // DNS-rebinding page reaches none of them; /mcp is added after.
        .layer(guard.host_check())
        .route_service(
            "/mcp",
            guard.into_service(Router::new().fallback(post(mcp))),
        ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = "127.0.0.1:8000".parse()?;
    let app = app(addr)?;
    println!("MCP endpoint on http://{addr}/mcp");
    axum::serve(tokio::net::TcpListener::bind(addr).await?, app).await?;
    Ok(())
}
