//! McpSessionLayer: the transport spec's session rules (2025-03-26 to 2025-11-25,
//! section "Session Management"), the security best practices on session ids,
//! and the pass-through of the sessionless 2026-07-28 era.

/// An axum `Router`: one table across routes.
mod axum_router;
/// Session context and state, body replay, shutdown, hooks.
mod context_and_shutdown;
/// Ids: fixation, hijack, binding to the credential, generators.
mod id_security;
/// The version negotiated at initialize, on later requests.
mod negotiated_version;
/// The spec's rules: create on initialize, 400/404, DELETE, the modern era.
mod spec_rules;
/// Async, failing and down store backends.
mod store_backends;
/// The headers layer in front of the session layer.
mod with_headers_layer;

use crate::support::session as support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Request, StatusCode};
use http_body_util::Full;
use mcp_tower_guard::host::PeerAddr;
use mcp_tower_guard::protocol::{Era, ProtocolVersion, RequestProtocol, VersionSource};
use mcp_tower_guard::session::{
    CloseCause, McpSessionLayer, MokaSessionStore, Principal, Reservation, SessionContext,
    SessionId, SessionStats, SessionStore, StoreCall, StoreError, StoreStats,
};
use mcp_tower_guard::{Rejection, RejectionKind};
use support::*;

async fn json(res: http::Response<B>) -> serde_json::Value {
    serde_json::from_slice(&body(res).await).unwrap()
}

trait ToHeader {
    fn to_string_header(&self) -> HeaderValue;
}

impl ToHeader for SessionId {
    fn to_string_header(&self) -> HeaderValue {
        HeaderValue::from_str(self.as_str()).unwrap()
    }
}
