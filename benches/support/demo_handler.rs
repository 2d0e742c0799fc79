//! The demo's MCP handler (`examples/streamable_http/app.rs`, included by the
//! load bench as `crate::app`) served bare or behind the four layers, wired as
//! the demo's `app()` wires them (Host and Origin on the router, Headers and
//! Session on `/mcp`). Unlike `app()`, no close hooks are registered, so the
//! guarded target differs from the bare one by the layers alone.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::response::Response;
use axum::Router;
use mcp_tower_guard::session::MokaSessionStore;
use mcp_tower_guard::{HostCheckLayer, McpHeadersLayer, McpSessionLayer, OriginGuardLayer};
use tower::{Service, ServiceBuilder};

/// The demo's `--heartbeat` default.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// The headers layer as the demo configures it (its `Server` header).
fn headers_layer() -> McpHeadersLayer {
    McpHeadersLayer::new().server_header(HeaderValue::from_static(concat!(
        "mcp-tower-guard-demo/",
        env!("CARGO_PKG_VERSION")
    )))
}

/// The same handler with the four layers around the whole router, outside
/// axum: no `Router::layer` or `route_layer`, so axum boxes no route again.
pub fn outer(
    store: MokaSessionStore,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
       + Clone
       + Send
       + 'static {
    ServiceBuilder::new()
        .layer(HostCheckLayer::localhost())
        .layer(OriginGuardLayer::localhost())
        .layer(headers_layer())
        .layer(McpSessionLayer::new(store))
        .service(crate::app::unguarded_router(HEARTBEAT))
}

/// The demo handler at `/mcp`: behind the four layers in the demo's order when
/// `sessions` is given (Host and Origin for loopback), else bare.
pub fn router(sessions: Option<MokaSessionStore>) -> Router {
    let routes = crate::app::unguarded_router(HEARTBEAT);
    let Some(store) = sessions else {
        return routes;
    };
    let headers = headers_layer();
    routes
        .route_layer(
            ServiceBuilder::new()
                .layer(headers)
                .layer(McpSessionLayer::new(store)),
        )
        .layer(
            ServiceBuilder::new()
                .layer(HostCheckLayer::localhost())
                .layer(OriginGuardLayer::localhost()),
        )
}
