//! rmcp's `StreamableHttpService` behind mcp-tower-guard's four layers.
//!
//! ```text
//! cargo run --example rmcp_server                       # http://127.0.0.1:8001/mcp
//! cargo run --example rmcp_server -- --bind 127.0.0.1:0
//! ```
//!
//! # Who owns what
//!
//! rmcp runs **stateless** (`legacy_session_mode = false`, `NeverSessionManager`):
//! every POST is served on its own by a fresh handler, and GET/DELETE are not
//! rmcp's business. The layers own the rest:
//!
//! | concern | owner |
//! |---|---|
//! | Host allowlist (DNS rebinding) | `HostCheckLayer` (rmcp's own check is turned off: one list, one place) |
//! | Origin allowlist | `OriginGuardLayer` (rmcp's is off by default) |
//! | `MCP-Protocol-Version`, `Mcp-Method`/`Mcp-Name`, Accept, Content-Type, body size | `McpHeadersLayer` (rmcp checks again; both agree) |
//! | `Mcp-Param-*` headers of tools with `x-mcp-header` parameters | `McpHeadersLayer`, which learns the schemas from rmcp's own `tools/list` answers (`learn_tools`) |
//! | sessions: minting the id on `initialize`, 404 for unknown/expired ids, idle and absolute expiry, limits (429), DELETE | `McpSessionLayer` + `MokaSessionStore` |
//! | JSON-RPC, tools, `initialize` negotiation, `server/discover` | rmcp |
//!
//! This is the guard-owned setup (`McpGuard::sessions`). What it gives up:
//! server-to-client requests (sampling, elicitation) and rmcp's standalone GET
//! stream: a GET with a valid session reaches rmcp, which answers 405, and
//! rmcp's client then simply runs without that stream. Notifications sent
//! *during* a request (progress, logging) still arrive, on that request's SSE
//! response. A server that needs those keeps rmcp's own sessions and lets the
//! guard govern them: `McpGuard::server_sessions` (the README's rmcp recipe,
//! and `examples/rmcp_fixtures.rs --guarded`, which passes the whole
//! conformance suite).
//!
//! Handlers still see the session: rmcp puts the HTTP request parts into the
//! request context, and the session layer put its `SessionContext` into those
//! parts. The `session_info` tool reads it.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use mcp_tower_guard::session::{MokaSessionStore, SessionContext};
use mcp_tower_guard::{ConfigError, McpGuard, McpHeadersLayer};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{schemars, tool, tool_handler, tool_router, ServerHandler};
use serde::Deserialize;

/// Arguments of `echo`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct EchoArgs {
    /// The text to return.
    pub text: String,
}

/// Arguments of `add`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AddArgs {
    /// Left operand.
    pub a: f64,
    /// Right operand.
    pub b: f64,
}

/// Arguments of `route`: `region` is mirrored into the `Mcp-Param-Region`
/// header (2026-07-28, `x-mcp-header`), so a gateway can route on it.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RouteArgs {
    /// The region to run in.
    #[schemars(extend("x-mcp-header" = "Region"))]
    pub region: String,
    /// The query.
    pub query: String,
}

/// The rmcp server: the demo's tools, written with rmcp's macros.
#[derive(Debug, Clone, Default)]
pub struct DemoTools;

#[tool_router(vis = "pub")]
impl DemoTools {
    /// Returns the text it is given.
    #[tool(description = "Returns the text it is given.")]
    fn echo(&self, Parameters(EchoArgs { text }): Parameters<EchoArgs>) -> String {
        text
    }

    /// Adds two numbers.
    #[tool(description = "Adds two numbers.")]
    fn add(&self, Parameters(AddArgs { a, b }): Parameters<AddArgs>) -> String {
        (a + b).to_string()
    }

    /// Where a query would run.
    #[tool(
        description = "Describes where a query would run; `region` travels in Mcp-Param-Region."
    )]
    fn route(&self, Parameters(RouteArgs { region, query }): Parameters<RouteArgs>) -> String {
        format!("{query} runs in {region}")
    }

    /// The session the session layer found for this request.
    #[tool(description = "Returns what the session layer knows about this session.")]
    fn session_info(&self, Extension(parts): Extension<http::request::Parts>) -> String {
        match parts.extensions.get::<SessionContext>() {
            Some(session) => serde_json::json!({
                "tag": session.id().tag().to_string(),
                "protocolVersion": session.protocol_version().map(|v| v.to_string()),
                "userAgent": session.client().user_agent(),
            })
            .to_string(),
            None => "no session (2026-07-28 requests are stateless)".to_owned(),
        }
    }
}

#[tool_handler]
impl ServerHandler for DemoTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "mcp-tower-guard-rmcp-demo",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "rmcp behind mcp-tower-guard. Tools: echo, add, route, session_info.",
            )
    }
}

/// The rmcp configuration that leaves sessions to `McpSessionLayer`.
pub fn rmcp_config() -> StreamableHttpServerConfig {
    StreamableHttpServerConfig::default()
        // One session table: ours.
        .with_legacy_session_mode(false)
        // Plain JSON replies when a handler sends nothing before its result.
        .with_json_response(true)
        // HostCheckLayer is the one Host allowlist (it also knows --allow-host entries).
        .disable_allowed_hosts()
}

/// rmcp behind the four layers, mounted at `/mcp`, plus the store (for stats and shutdown).
///
/// # Errors
///
/// [`ConfigError`] when `bind` is not a loopback address.
pub fn rmcp_app(
    bind: SocketAddr,
    idle_timeout: Duration,
) -> Result<(Router, MokaSessionStore, StreamableHttpServerConfig), ConfigError> {
    let store = MokaSessionStore::builder()
        .idle_timeout(idle_timeout)
        .on_closed(|session, cause| {
            tracing::info!(target: "rmcp_server", session = %session.id().tag(), %cause, "session closed");
        })
        .build()?;
    let config = rmcp_config();
    let rmcp = StreamableHttpService::new(
        || Ok(DemoTools),
        Arc::new(NeverSessionManager::default()),
        config.clone(),
    );
    // The four layers in their order, from one call.
    let mcp = McpGuard::local(bind)?
        // rmcp's schemas are the one copy: the layer reads them from rmcp's tools/list.
        .headers(McpHeadersLayer::new().learn_tools(true))
        .sessions(store.clone())
        .into_service(rmcp);
    Ok((Router::new().route_service("/mcp", mcp), store, config))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,mcp_tower_guard=debug".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let mut bind: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8001));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--bind", Some(v)) => match v.parse() {
                Ok(addr) => bind = addr,
                Err(_) => {
                    eprintln!("error: --bind {v:?}: expected IP:PORT");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("usage: rmcp_server [--bind ADDR]   (default 127.0.0.1:8001)");
                return ExitCode::from(2);
            }
        }
    }

    let (router, store, rmcp_config) = match rmcp_app(bind, Duration::from_secs(30 * 60)) {
        Ok(app) => app,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(bind).await {
        Ok(l) => l,
        Err(err) => {
            eprintln!("error: cannot listen on {bind}: {err}");
            return ExitCode::FAILURE;
        }
    };
    let Ok(addr) = listener.local_addr() else {
        return ExitCode::FAILURE;
    };
    println!("listening on http://{addr}/mcp");

    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            store.shutdown();
            rmcp_config.cancellation_token.cancel();
        })
        .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
