//! Tower middleware that makes a Model Context Protocol (MCP) server's
//! Streamable HTTP endpoint safe and spec-exact.
//!
//! Seven layers wrap any `tower::Service<http::Request<B>>` (an axum `Router`,
//! rmcp's `StreamableHttpService`, a hyper service), one feature each:
//!
//! | layer | checks | statuses |
//! |---|---|---|
//! | [`HostCheckLayer`] | `Host` / `:authority` allowlist, loopback by default (DNS rebinding) | 400, 403 |
//! | [`OriginGuardLayer`] | `Origin` allowlist; a present, invalid Origin is refused | 403 |
//! | [`McpHeadersLayer`] | `MCP-Protocol-Version` for both eras; for 2026-07-28 the required `_meta`, removed methods, `Mcp-Method`/`Mcp-Name`/`Mcp-Param-*` against the body, required client capabilities; Accept, Content-Type | 400, 404, 405, 406, 408, 413, 415, 431 |
//! | `auth::McpAuthLayer` (feature `auth`) | OAuth 2.1 resource server: bearer tokens (JWT/JWKS or introspection), RFC 9728 metadata, per-tool scopes | 400, 401, 403 |
//! | [`McpSessionLayer`] | legacy-era sessions in a moka cache (or Redis), its own or the inner server's governed ([`SessionOwner`](session::SessionOwner)): expiry, limits, DELETE, user binding | 400, 404, 421, 429 |
//! | `ratelimit::McpRateLimitLayer` (feature `ratelimit`) | GCRA limits keyed on principal, session, address, method and tool, in process or in Redis | 429 |
//! | `telemetry::McpTelemetryLayer` (feature `telemetry`) | nothing: it observes, with OpenTelemetry spans and metrics | |
//!
//! [`McpGuard`] applies them in the one right order, outermost first:
//! Telemetry, Host, Origin, the token's verification, Headers, the scope
//! check, Session, rate limits. Each layer decides before calling the inner
//! service; a rejected request creates nothing. Rejections are JSON-RPC error
//! bodies carrying the request's id (see [`rejection`]).
//!
//! ```
//! use mcp_tower_guard::McpGuard;
//! use mcp_tower_guard::session::MokaSessionStore;
//!
//! # fn main() -> Result<(), mcp_tower_guard::ConfigError> {
//! let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 8000));
//! // Build the session store once and share it (limits, hooks and stats live there).
//! let store = MokaSessionStore::builder().max_sessions(1_000).build()?;
//! let guard = McpGuard::local(addr)?.sessions(store); // refuses a non-loopback addr
//! let mcp = tower::service_fn(|_req: http::Request<String>| async {
//!     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
//! });
//! let service = guard.into_service(mcp);
//! # let _ = service;
//! # Ok(())
//! # }
//! ```
//!
//! Composed by hand, the same order with `ServiceBuilder` ([`Guarded`](guard::Guarded)
//! names it), the Host check from `LocalBind::new(addr).host_check()?`. A CORS
//! layer goes between Host and Origin (`Host → CORS → Origin → Headers →
//! Session`); around an `McpGuard`, wrap the whole guard (`cors::mcp_cors`,
//! feature `cors`, builds it from the Origin allowlist).
//!
//! # Features
//!
//! One per layer, as tower-http does; the default is every layer plus `axum`,
//! which is what the examples here and in the README use.
//!
//! | feature | gives | pulls in |
//! |---|---|---|
//! | `host` | [`HostCheckLayer`], [`LocalBind`] | nothing beyond `http`, tower and `tracing` |
//! | `origin` | [`OriginGuardLayer`] | the same |
//! | `headers` | [`McpHeadersLayer`], `protocol` | `envelope`, `base64` |
//! | `session` | [`McpSessionLayer`], [`MokaSessionStore`] | `headers`, `moka`, `uuid` |
//! | `envelope` | `envelope`, `read`, `Rejection::with_data` | `serde`, `serde_json`, `tokio` (timers) |
//! | `axum` | rejection bodies for `axum::body::Body`; an axum `Router` needs it | `axum-core` |
//! | `cors` | `cors::mcp_cors`: a tower-http `CorsLayer` from an `OriginGuardLayer`'s allowlist | `origin`, `tower-http` |
//! | `redis` | `session::redis::RedisSessionStore`: one session table for several replicas | `session`, `redis` |
//! | `auth` | `auth::McpAuthLayer`: an OAuth 2.1 resource server (RFC 9728 metadata, JWT/JWKS and introspection, per-tool scopes) | `headers`, `jsonwebtoken` (pure-Rust crypto), `reqwest` (rustls), `url`, `moka` |
//! | `ratelimit` | `ratelimit::McpRateLimitLayer`: GCRA rate limits keyed on principal, session, address, method and tool | `headers`, `governor` |
//! | `telemetry` | `telemetry::McpTelemetryLayer`: OpenTelemetry spans after the MCP semantic conventions, metrics through the `metrics` facade | `headers`, `metrics`, `opentelemetry` (the API only), `tracing-opentelemetry` |
//!
//! Features are additive: turning one on adds items and changes no type
//! (the [`Guarded`](guard::Guarded) service and its body are the same under
//! every set; `.ci/run` builds each feature alone, and each pair of the
//! layers that meet inside `McpGuard`).
//!
//! **Types from other crates in the API.** The `http`, `http-body` and
//! `bytes` types every tower service speaks, tower's `Service` and `Layer`,
//! and `serde_json::Value` where JSON is handed over as it is (JSON-RPC
//! error `data`, tool schemas, verified claims). Two more are re-exported on
//! purpose, so their versions move with this crate's: `auth::Algorithm`
//! (`jsonwebtoken::Algorithm`) and `ratelimit::Quota` (`governor::Quota`).
//! Nothing else: the Redis client's errors, for example, reach you as text.
//! `public-api.txt` lists the whole API, and CI compares it with the code.
//!
//! A server that wants only the Host check builds with
//! `default-features = false, features = ["host"]` and compiles none of moka,
//! uuid, serde_json or tokio.
//!
//! # Module map
//!
//! Where each decision lives, in the order a request meets them. Every layer
//! has the same rooms: `layer.rs` (the public builder), `config.rs` (its
//! settings, shared by its services through an `Arc`), `service.rs` (the
//! `Service` impl) and, where the answer can wait, `future.rs`.
//!
//! | request path | file | what it decides |
//! |---|---|---|
//! | Telemetry | `telemetry/layer.rs`, `telemetry/span.rs` | whether anyone listens; the span, its parent (`telemetry/context.rs` reads W3C trace context) and fields; `telemetry/slot.rs` hears what the inner layers learn |
//! | Host | `host/config.rs` | the allowlist and the check; `host/forwarded.rs` reads `Forwarded` / `X-Forwarded-Host` from trusted proxies; `host/bind.rs` is [`LocalBind`] |
//! | Origin | `origin/config.rs`, `origin/parse.rs` | the Origin allowlist, `null`, Fetch Metadata |
//! | (both) | `authority.rs` | the host and port grammar Host and Origin share |
//! | Headers, head | `headers/check/mod.rs` | method, `Accept` (`headers/accept.rs`), `Content-Type`, the version of GET / DELETE, the `Mcp-*` budget |
//! | body | `read.rs` | the bounded, timed body read (`BodyLimits`), once per request |
//! | envelope | `envelope/mod.rs` | the JSON-RPC parse (the only JSON parse of a request; `envelope/raw.rs` is its serde side, `envelope/arguments.rs` the second look at `params.arguments` a tool rule takes) |
//! | era | `protocol/` | revisions, eras, `request_era`, and `RequestProtocol`, put in the extensions once |
//! | Headers, body | `headers/check/rules.rs`, `headers/tools.rs` | `_meta`, removed methods, `Mcp-Method` / `Mcp-Name` / `Mcp-Param-*` against the body, capabilities |
//! | Auth | `auth/flow.rs` | bearer token (`auth/bearer.rs`), challenges (`auth/challenge.rs`), scopes (`auth/scope.rs`); verifiers in `auth/jwt.rs`, `auth/jwks.rs`, `auth/introspect.rs`, the token cache in `auth/verifier.rs`, the metadata document in `auth/metadata.rs` |
//! | Session | `session/flow/` | every session decision: `mod.rs` sequences, `existing.rs` serves a request with an id, `create.rs` an `initialize`, `initialize.rs` judges its answer; `session/future.rs` only polls |
//! | store | `session/store/` | the trait (`mod.rs`); `common.rs` holds the limits, retry hints and hooks every store shares, `stats.rs` and `metered.rs` observe it; `moka/` and `redis/` are the stores |
//! | rate limits | `ratelimit/rule.rs`, `ratelimit/store.rs` | which rules a request meets and its key; the GCRA cells |
//! | rejection | `rejection/mod.rs` | every refusal: kind (`rejection/kind.rs`), status, JSON-RPC code, the log event; `jsonrpc.rs` writes the body |
//! | events | `observe/` | what the layers tell telemetry; empty without the feature, and the only way in: no layer names `telemetry` |
//!
//! Shared pieces have one home each: header names in `header_names.rs`, body
//! types in `body.rs`, the peer address in [`PeerAddr`], keyed hashes and
//! [`Tag`] in `keyed.rs`, configuration errors in [`ConfigError`]. The inner service is cloned only when a response future
//! must outlive `call` (`future.rs` says when).
#![forbid(unsafe_code)]
// As tokio does: a build with only some layers leaves shared helpers unused;
// the full build (CI's clippy) still denies dead code.
#![cfg_attr(
    not(all(feature = "host", feature = "origin", feature = "session")),
    allow(dead_code, unused_imports, unused_macros)
)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]
// Every `pub` item is reachable from the crate root: what is public is meant to be.
#![deny(unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[macro_use]
mod macros;

#[cfg(feature = "envelope")]
mod answer;
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub mod auth;
#[cfg(any(feature = "host", feature = "origin"))]
mod authority;

pub mod body;
#[cfg(feature = "cors")]
#[cfg_attr(docsrs, doc(cfg(feature = "cors")))]
pub mod cors;
#[cfg(all(feature = "origin", feature = "auth"))]
mod deferred_origin;
#[cfg(feature = "envelope")]
#[cfg_attr(docsrs, doc(cfg(feature = "envelope")))]
pub mod envelope;
mod error;
mod future;
#[cfg(any(feature = "host", feature = "origin"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "host", feature = "origin"))))]
pub mod gate;
#[cfg(all(feature = "host", feature = "origin", feature = "session"))]
#[cfg_attr(
    docsrs,
    doc(cfg(all(feature = "host", feature = "origin", feature = "session")))
)]
pub mod guard;
pub mod header_names;
#[cfg(feature = "headers")]
#[cfg_attr(docsrs, doc(cfg(feature = "headers")))]
pub mod headers;
#[cfg(feature = "host")]
#[cfg_attr(docsrs, doc(cfg(feature = "host")))]
pub mod host;
pub mod jsonrpc;
mod keyed;
mod log_budget;
mod observe;
mod order;
#[cfg(feature = "origin")]
#[cfg_attr(docsrs, doc(cfg(feature = "origin")))]
pub mod origin;
mod peer;
#[cfg(feature = "envelope")]
#[cfg_attr(docsrs, doc(cfg(feature = "envelope")))]
pub mod protocol;
#[cfg(feature = "ratelimit")]
#[cfg_attr(docsrs, doc(cfg(feature = "ratelimit")))]
pub mod ratelimit;
#[cfg(feature = "envelope")]
#[cfg_attr(docsrs, doc(cfg(feature = "envelope")))]
pub mod read;
pub mod rejection;
#[cfg(feature = "session")]
#[cfg_attr(docsrs, doc(cfg(feature = "session")))]
pub mod session;
#[cfg(feature = "telemetry")]
#[cfg_attr(docsrs, doc(cfg(feature = "telemetry")))]
pub mod telemetry;

pub use error::ConfigError;
#[cfg(all(feature = "host", feature = "origin", feature = "session"))]
pub use guard::McpGuard;

/// Entry points of the cargo-fuzz targets for private parsers; compiled only
/// under `--cfg fuzzing` (cargo-fuzz sets it), never part of the API.
#[cfg(all(fuzzing, feature = "headers"))]
#[doc(hidden)]
pub mod fuzzing {
    /// The `accept` target's oracle (see `headers/accept.rs`).
    pub fn accept(data: &[u8]) {
        crate::headers::accept_oracle(data);
    }

    /// The `protocol_version` target's header oracle (see `protocol/mod.rs`).
    pub fn version_header(data: &[u8]) {
        crate::protocol::version_header_oracle(data);
    }
}
pub use keyed::Tag;
pub use peer::PeerAddr;

// The README's Rust blocks compile as doctests; the `no_run` ones serve, and
// `tests/guard/readme.rs` runs them (they are the `examples/` files).
#[cfg(all(doctest, feature = "axum", feature = "session"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
#[cfg(feature = "headers")]
pub use headers::McpHeadersLayer;
#[cfg(feature = "host")]
pub use host::{HostCheckLayer, LocalBind};
#[cfg(feature = "origin")]
pub use origin::OriginGuardLayer;
#[cfg(feature = "headers")]
pub use protocol::RequestProtocol;
pub use rejection::{JsonRpcRejection, Rejection, RejectionKind, RejectionResponse, StatusOnly};
#[cfg(feature = "session")]
pub use session::{McpSessionLayer, MokaSessionStore, SessionContext};
