//! MCP-aware rate limits (feature `ratelimit`): [`McpRateLimitLayer`].
//!
//! Agents call MCP servers in loops; operators limit by user and by tool,
//! not by IP. Each [`RateLimitRule`] is a GCRA quota (rate plus burst, from
//! the `governor` crate) on a key made of request facts the earlier layers
//! validated: the principal, the session, the client address, the method and
//! the tool, prompt or resource name from the envelope.
//!
//! Place it last, after the headers, auth and session layers: only requests
//! that every earlier layer accepted are counted, so a request refused for
//! a bad Host or an unknown session never uses up a quota. When several rules
//! apply, each counts the request; the first that refuses answers 429, and
//! the cells the rules before it took stay taken (as with stacked limiters
//! anywhere).
//!
//! A refusal is 429 with `Retry-After`, the IETF `RateLimit-Policy` and
//! `RateLimit` fields, the JSON-RPC error body with the request id and
//! `error.data.rule`, and one `tracing` event (target
//! `mcp_tower_guard::ratelimit`) with the key as a keyed hash.
//!
//! Memory is bounded: each rule keeps at most `max_keys` keys (100,000 by
//! default, 8 bytes of state each plus the map's overhead). A key whose
//! burst has refilled is in the same state as a new one and is forgotten
//! first; if the cap is still reached, arbitrary keys are forgotten and start
//! over with a full burst. No request is ever refused for lack of room.
//!
//! ```
//! use std::num::NonZeroU32;
//! use mcp_tower_guard::ratelimit::{KeyPart, McpRateLimitLayer, Quota, RateLimitRule};
//!
//! # fn main() -> Result<(), mcp_tower_guard::ConfigError> {
//! let n = |n| NonZeroU32::new(n).unwrap();
//! let limits = McpRateLimitLayer::new([
//!     RateLimitRule::new("per-user", Quota::per_second(n(100)), [KeyPart::Principal])?,
//!     RateLimitRule::new("deploy", Quota::per_minute(n(1)), [KeyPart::Principal])?
//!         .method("tools/call")
//!         .name("deploy"),
//! ])?;
//! # let _ = limits;
//! # Ok(()) }
//! ```

mod future;
mod layer;
#[cfg(feature = "redis")]
mod redis;
mod rule;
mod store;

#[cfg(feature = "redis")]
pub use self::redis::{RedisDecision, RedisLimitsError, RedisRateLimits};
pub use future::ResponseFuture;
/// Re-exported on purpose: a rule's rate and burst ([`RateLimitRule::new`]).
pub use governor::Quota;
pub use layer::{McpRateLimit, McpRateLimitLayer, DEFAULT_MAX_KEYS};
pub use rule::{KeyPart, RateLimitRule};

/// The `tracing` target of the layer's events.
pub(crate) const TARGET: &str = "mcp_tower_guard::ratelimit";
