//! `McpRateLimitLayer`: exact GCRA counts on tokio's paused clock,
//! overlapping rules, the 429 answer, requests refused earlier not
//! counted, and a bounded key table under a million distinct keys.

#![cfg(feature = "ratelimit")]

/// Exact counts, the 429, overlapping rules, task ids.
mod counting;
/// Review findings (batches, IPv6 and proxies, log floods, the demo).
mod findings;
/// Key tables, client addresses, and the layer's place in the stack.
mod keys_and_stacking;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use mcp_tower_guard::ratelimit::{KeyPart, McpRateLimitLayer, Quota, RateLimitRule};
use mcp_tower_guard::{
    HostCheckLayer, McpHeadersLayer, McpSessionLayer, MokaSessionStore, PeerAddr,
};
use serde_json::{json, Value};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

fn n(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

fn inner() -> axum::Router {
    axum::Router::new().fallback(axum::routing::any(|| async {
        axum::Json(json!({"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-11-25"}}))
    }))
}

/// A 2026-07-28 `tools/call` of `tool` from `peer`.
fn call(tool: &str, peer: SocketAddr) -> Request<Body> {
    let mut req = crate::support::modern_tools_call(tool, json!({}));
    req.extensions_mut().insert(PeerAddr(peer));
    req
}

fn peer(i: u32) -> SocketAddr {
    SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 40000))
}

async fn status<S, B>(svc: &mut S, req: Request<Body>) -> StatusCode
where
    S: Service<Request<Body>, Response = http::Response<B>>,
    S::Error: std::fmt::Debug,
{
    svc.ready().await.unwrap().call(req).await.unwrap().status()
}
