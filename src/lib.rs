//! Tower middleware that makes a Model Context Protocol (MCP) server's
//! Streamable HTTP endpoint safe and spec-exact.
//!
//! Four layers wrap any `tower::Service<http::Request<B>>` (an axum `Router`,
//! rmcp's `StreamableHttpService`, a hyper service):
//!
//! | layer | checks | statuses |
//! |---|---|---|
//! | [`HostCheckLayer`] | `Host` / `:authority` allowlist, loopback by default (DNS rebinding) | 400, 403 |
//! | [`OriginGuardLayer`] | `Origin` allowlist; a present, invalid Origin is refused | 403 |
//! | [`McpHeadersLayer`] | `MCP-Protocol-Version` for both eras; for 2026-07-28 the required `_meta`, removed methods, `Mcp-Method`/`Mcp-Name`/`Mcp-Param-*` against the body, required client capabilities; Accept, Content-Type | 400, 404, 405, 406, 408, 413, 415, 431 |
//! | [`McpSessionLayer`] | legacy-era sessions in a moka cache: expiry, limits, DELETE, user binding | 400, 404, 429 |
//!
//! Recommended order, outermost first: Host, Origin, Headers, Session. Each layer
//! decides before calling the inner service; a rejected request creates nothing.
//! Rejections are JSON-RPC error bodies carrying the request's id (see [`rejection`]).
//!
//! ```
//! use mcp_tower_guard::{HostCheckLayer, McpHeadersLayer, McpSessionLayer, OriginGuardLayer};
//! use mcp_tower_guard::session::MokaSessionStore;
//! use tower::ServiceBuilder;
//!
//! # fn main() -> Result<(), mcp_tower_guard::ConfigError> {
//! // Build the session store once and share it (limits, hooks and stats live there).
//! let store = MokaSessionStore::builder().max_sessions(1_000).build()?;
//! let guards = ServiceBuilder::new()
//!     .layer(HostCheckLayer::localhost())
//!     .layer(OriginGuardLayer::localhost())
//!     .layer(McpHeadersLayer::new())
//!     .layer(McpSessionLayer::new(store));
//! # let _ = guards;
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! - `axum` (default): JSON rejection bodies for `axum::body::Body`.
//! - `cors`: [`cors::mcp_cors`], a tower-http `CorsLayer` built from an
//!   [`OriginGuardLayer`]'s own allowlist.
//! - `redis`: `session::redis::RedisSessionStore`, one session table shared
//!   by several replicas.
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[macro_use]
mod macros;

mod authority;

pub mod body;
#[cfg(feature = "cors")]
#[cfg_attr(docsrs, doc(cfg(feature = "cors")))]
pub mod cors;
pub mod envelope;
mod error;
pub mod future;
pub mod header_names;
pub mod headers;
pub mod host;
pub mod origin;
pub mod protocol;
pub mod read;
pub mod rejection;
pub mod session;

pub use error::ConfigError;

// The README's Rust blocks compile as doctests (those marked `ignore` need a server).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
pub use headers::McpHeadersLayer;
pub use host::{HostCheckLayer, LocalBind};
pub use origin::OriginGuardLayer;
pub use rejection::{JsonRpcRejection, Rejection, RejectionKind, RejectionResponse, StatusOnly};
pub use session::{McpSessionLayer, MokaSessionStore, SessionContext};
