// The README's rmcp server: `cargo run --example rmcp_minimal`.
// [dependencies]
// mcp-tower-guard = "0.1"
// rmcp = { version = "3.9", features = ["server", "macros", "transport-streamable-http-server"] }
// axum = "0.8"
// http = "1" # the tool names http::request::Parts
// tokio = { version = "1", features = ["macros", "rt-multi-thread", "net"] }
use std::net::SocketAddr;
use std::sync::Arc;

use mcp_tower_guard::{ConfigError, McpGuard, MokaSessionStore, SessionContext};
// `Extension` here is rmcp's, which hands the tool the HTTP request parts.
use rmcp::handler::server::common::Extension;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{tool, tool_handler, tool_router, ServerHandler};

#[derive(Clone, Default)]
struct MyServer;

#[tool_router]
impl MyServer {
    /// rmcp keeps the session (so sampling, elicitation and GET streams
    /// work); the guard's record of it rides along in the request parts.
    #[tool(description = "Which session this request belongs to.")]
    fn whoami(&self, Extension(parts): Extension<http::request::Parts>) -> String {
        match parts.extensions.get::<SessionContext>() {
            Some(session) => session.id().tag().to_string(),
            None => "stateless (2026-07-28)".to_owned(),
        }
    }
}

#[tool_handler]
impl ServerHandler for MyServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

pub fn app(addr: SocketAddr) -> Result<axum::Router, ConfigError> {
    // rmcp keeps its own sessions (its default); the guard governs them.
    let config = StreamableHttpServerConfig::default().disable_allowed_hosts(); // Host: the guard's one list
    let rmcp = StreamableHttpService::new(
        || Ok(MyServer),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let sessions = MokaSessionStore::builder().max_sessions(1_000).build()?;
    let guard = McpGuard::local(addr)? // refuses a non-loopback addr
        .server_sessions(sessions); // limits, expiry, binding, DELETE over rmcp's sessions
    Ok(axum::Router::new().route_service("/mcp", guard.into_service(rmcp)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = "127.0.0.1:8000".parse()?;
    let app = app(addr)?;
    println!("MCP endpoint on http://{addr}/mcp");
    axum::serve(tokio::net::TcpListener::bind(addr).await?, app).await?;
    Ok(())
}
