//! A full-featured rmcp server with every fixture the official MCP conformance
//! suite (`@modelcontextprotocol/conformance`) expects of a server, for both
//! protocol eras:
//!
//! * `2025-11-25` and older: rmcp's own sessions (`LocalSessionManager`,
//!   `legacy_session_mode`), so sampling and elicitation requests travel to the
//!   client on the POST stream and are answered on later POSTs, logging goes to
//!   the standalone GET stream, and SSE streams are resumable (SEP-1699).
//! * `2026-07-28`: rmcp serves each request statelessly (`server/discover`,
//!   per-request `_meta`, `subscriptions/listen`, `InputRequiredResult` rounds
//!   instead of server-to-client requests).
//!
//! ```text
//! cargo run --example rmcp_fixtures                       # http://127.0.0.1:8002/mcp
//! cargo run --example rmcp_fixtures -- --bind 127.0.0.1:0
//! cargo run --example rmcp_fixtures -- --guarded          # behind McpGuard::server_sessions
//! npx @modelcontextprotocol/conformance server --url http://127.0.0.1:8002/mcp --suite all --spec-version 2026-07-28
//! ```
//!
//! Bare, it is rmcp with its defaults (its own sessions, its own Host check).
//! With `--guarded`, the same rmcp configuration runs behind
//! `McpGuard::local(bind)?.server_sessions(store)`: rmcp keeps its sessions,
//! and the guard governs them. `scripts/conformance.sh` runs the whole suite
//! against both and fails if the guard breaks any check the bare server
//! passes.
//!
//! It also serves the suite's extension scenarios (run without
//! `--spec-version`): tasks (SEP-2663, on rmcp's `TaskManager`) and skills
//! (SEP-2640).
//!
//! Layout: `handler` (the `ServerHandler`: prompts, resources, completion,
//! logging, subscriptions), `tools` (the tool table), `tool_calls` (the
//! tools), `tasks` (the task tools), `skills` (one skill), `mrtr`
//! (input-required rounds and their sealed `requestState`), `polling` (the
//! middleware that lets `test_reconnection` end its own SSE stream).

#[path = "rmcp_fixtures/handler.rs"]
mod handler;
#[path = "rmcp_fixtures/mrtr.rs"]
mod mrtr;
#[path = "rmcp_fixtures/polling.rs"]
mod polling;
#[path = "rmcp_fixtures/skills.rs"]
mod skills;
#[path = "rmcp_fixtures/tasks.rs"]
mod tasks;
#[path = "rmcp_fixtures/tool_calls.rs"]
mod tool_calls;
#[path = "rmcp_fixtures/tools.rs"]
mod tools;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use mcp_tower_guard::{McpGuard, MokaSessionStore};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};

pub use handler::{Fixtures, Shared};
pub use polling::SsePolling;

/// The default address: next to `rmcp_server` (8001).
const DEFAULT_BIND: ([u8; 4], u16) = ([127, 0, 0, 1], 8002);

/// rmcp's configuration for the fixtures: its defaults (legacy sessions on,
/// priming events with a retry hint, 15 s SSE keep-alive, its loopback Host
/// allowlist), the same bare and guarded.
pub fn rmcp_config() -> StreamableHttpServerConfig {
    StreamableHttpServerConfig::default().with_legacy_session_mode(true)
}

/// The bare rmcp service: the seam a guard wraps. One [`Fixtures`] handler is
/// made per session (legacy) or per request (2026-07-28); they share `shared`.
pub fn mcp_service<M: SessionManager>(
    sessions: Arc<M>,
    shared: Arc<Shared>,
    config: StreamableHttpServerConfig,
) -> StreamableHttpService<Fixtures, M> {
    StreamableHttpService::new(move || Ok(Fixtures::new(shared.clone())), sessions, config)
}

/// The whole app at `/mcp`. `sessions` is rmcp's session manager, usually
/// `LocalSessionManager` (tests may pass a wrapper around it); `config` is
/// [`rmcp_config`] or a variant of it; `guard`, when given, wraps the rmcp
/// service (use `McpGuard::server_sessions`, so rmcp keeps its sessions).
pub fn router<M: SessionManager>(
    sessions: Arc<M>,
    config: StreamableHttpServerConfig,
    guard: Option<McpGuard>,
) -> Router {
    let polling = Arc::new(SsePolling::default());
    let service = mcp_service(sessions, Arc::new(Shared::default()), config);
    let mcp = match guard {
        Some(guard) => Router::new().route_service("/mcp", guard.into_service(service)),
        None => Router::new().route_service("/mcp", service),
    };
    // The polling layer stays outermost, so `test_reconnection` can still
    // cut its own stream.
    mcp.layer(axum::middleware::from_fn_with_state(
        polling,
        polling::layer,
    ))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let mut bind = SocketAddr::from(DEFAULT_BIND);
    let mut guarded = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--guarded" => guarded = true,
            "--bind" => match args.next().map(|v| v.parse()) {
                Some(Ok(addr)) => bind = addr,
                _ => {
                    eprintln!("error: --bind: expected IP:PORT");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!(
                    "usage: rmcp_fixtures [--bind ADDR] [--guarded]   (default 127.0.0.1:8002, bare)"
                );
                return ExitCode::from(2);
            }
        }
    }

    let guard = if guarded {
        match McpGuard::local(bind) {
            Ok(guard) => Some(guard.server_sessions(MokaSessionStore::new())),
            Err(err) => {
                eprintln!("error: {err}");
                return ExitCode::from(2);
            }
        }
    } else {
        None
    };
    let config = rmcp_config();
    let shutdown = config.cancellation_token.clone();
    let app = router(Arc::new(LocalSessionManager::default()), config, guard);

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
    // Scripts wait for exactly this line.
    println!("listening on http://{addr}/mcp");

    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            // Ends rmcp's sessions and open SSE streams, so the drain can finish.
            shutdown.cancel();
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
