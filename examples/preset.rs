//! The README's quick start as a complete program: an axum app whose `/mcp`
//! route is guarded by [`McpGuard`] and whose `/health` route is not. It uses
//! only what the README shows, and CI builds it, so the README cannot drift
//! from the API.
//!
//! ```text
//! cargo run --example preset
//! curl -s localhost:8000/mcp -H 'content-type: application/json' \
//!   -H 'accept: application/json, text/event-stream' \
//!   -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}' -i
//! ```

use axum::routing::{get, post};
use axum::{Json, Router};
use mcp_tower_guard::McpGuard;
use serde_json::{json, Value};

/// A minimal MCP handler: answers `initialize` and `ping`, refuses the rest.
async fn mcp(Json(message): Json<Value>) -> Json<Value> {
    let id = message["id"].clone();
    let result = match message["method"].as_str() {
        Some("initialize") => json!({
            "protocolVersion": message["params"]["protocolVersion"],
            "capabilities": {},
            "serverInfo": {"name": "preset-example", "version": "0.1.0"},
        }),
        Some("ping") => json!({}),
        _ => {
            return Json(json!({"jsonrpc": "2.0", "id": id,
                "error": {"code": -32601, "message": "Method not found"}}))
        }
    };
    Json(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: std::net::SocketAddr = "127.0.0.1:8000".parse()?;
    let handler = Router::new().fallback(post(mcp));
    let app = Router::new()
        .route_service("/mcp", McpGuard::local(addr)?.into_service(handler))
        .route("/health", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("MCP endpoint on http://{addr}/mcp");
    axum::serve(listener, app).await?;
    Ok(())
}
