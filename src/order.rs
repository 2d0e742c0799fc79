//! The order the layers must run in, checked on live requests: each layer
//! leaves something in the request extensions (the headers layer its
//! [`RequestProtocol`](crate::protocol::RequestProtocol) and the parsed
//! envelope, the session layer its `SessionContext`), so a layer that finds
//! one of them was stacked *inside* a layer that belongs inside it. That is
//! logged once per layer, at warn, naming the right order. Nothing is refused:
//! the request is checked as usual, only later than it should be (a bad
//! `Host` with a junk body gets the body's 400 instead of the Host's 403).
//!
//! The cost on a well-ordered stack is one lookup in an empty extensions map
//! per guard.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use http::Extensions;

/// The order, outermost first, as the warning states it.
const ORDER: &str = "Telemetry (when used), Host, Origin, Headers, Auth (when used), Session, RateLimit (when used) (outermost first: \
    ServiceBuilder::new().layer(McpTelemetryLayer).layer(HostCheckLayer).layer(OriginGuardLayer).layer(McpHeadersLayer).layer(McpAuthLayer).layer(McpSessionLayer).layer(McpRateLimitLayer); \
    axum's Router::layer wraps in the opposite order, so call it with Session first, or pass one ServiceBuilder)";

/// Set once a layer has warned about its place.
#[derive(Clone, Debug, Default)]
pub(crate) struct WarnOnce(Arc<AtomicBool>);

impl WarnOnce {
    /// True the first time only.
    pub(crate) fn first(&self) -> bool {
        !self.0.swap(true, Ordering::Relaxed)
    }
}

/// Which inner layer already ran, if any, from what it left in `extensions`.
fn ran_already(extensions: &Extensions, below_headers: bool) -> Option<&'static str> {
    #[cfg(feature = "session")]
    if extensions.get::<crate::session::SessionContext>().is_some() {
        return Some("McpSessionLayer");
    }
    #[cfg(feature = "auth")]
    if extensions.get::<crate::auth::AuthContext>().is_some() {
        return Some("McpAuthLayer");
    }
    #[cfg(feature = "headers")]
    if !below_headers
        && extensions
            .get::<crate::protocol::RequestProtocol>()
            .is_some()
    {
        return Some("McpHeadersLayer or McpSessionLayer");
    }
    #[cfg(feature = "envelope")]
    if !below_headers && extensions.get::<crate::envelope::Envelope>().is_some() {
        return Some("a layer that reads the body (McpHeadersLayer or McpSessionLayer)");
    }
    let _ = (extensions, below_headers);
    None
}

/// Checks that no layer which belongs inside `layer` has run before it.
/// `below_headers` is true for the headers layer itself, which only the
/// session layer must not precede.
pub(crate) fn check(
    layer: &'static str,
    extensions: &Extensions,
    below_headers: bool,
    warned: &WarnOnce,
) {
    if let Some(inner) = ran_already(extensions, below_headers) {
        if warned.first() {
            tracing::warn!(
                target: "mcp_tower_guard::order",
                layer,
                ran_before = inner,
                "{inner} ran before {layer}: the layers are stacked in the wrong order, so requests \
                 are checked later than they should be. The order is {ORDER}"
            );
        }
    }
}

/// Left by a headers layer that serves only 2026-07-28, which has no
/// sessions: a session layer inside it that finds this was given a store no
/// request will use.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ModernOnlyRoute;
