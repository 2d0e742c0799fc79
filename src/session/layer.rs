//! [`McpSessionLayer`]: configuration and `Layer` impl.

use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use super::config::SessionConfig;
use super::id::{IdGenerator, UuidV4};
use super::owner::SessionOwner;
use super::principal::ResolvePrincipal;
use super::service::McpSession;
use super::store::{IntoSessionStore, SessionStore};
use crate::rejection::JsonRpcRejection;

/// Owns the legacy-era session lifecycle (2024-11-05 to 2025-11-25) so the
/// inner service can stay stateless. Requests of the 2026-07-28 era pass through
/// untouched. See the [module docs](super) for the full behaviour.
///
/// Build the store yourself and pass it in: clones of a store share one table, so
/// every route (axum calls `layer()` once per route) sees the same sessions.
#[derive(Clone)]
#[must_use]
pub struct McpSessionLayer<R = JsonRpcRejection> {
    config: Arc<SessionConfig>,
    rejection: R,
}

impl McpSessionLayer {
    /// A layer over `store` (a [`MokaSessionStore`](super::MokaSessionStore), any
    /// other [`SessionStore`], or an `Arc<dyn SessionStore>`), with: no principal
    /// binding, DELETE allowed, no `X-Session-Id` alias, UUID v4 ids, default body
    /// limits, JSON-RPC rejection bodies.
    pub fn new(store: impl IntoSessionStore) -> Self {
        let store = metered(store.into_session_store());
        Self {
            config: Arc::new(SessionConfig {
                idle: Arc::new(super::activity::StoreIdle(Arc::clone(&store))),
                store,
                principal: None,
                allow_delete: true,
                legacy_alias: false,
                ids: Arc::new(UuidV4),
                streams_keep_alive: true,
                owner: SessionOwner::Guard,
                server: Arc::default(),
                warned_inner_sessions: Default::default(),
                warned_modern_only: Default::default(),
            }),
            rejection: JsonRpcRejection,
        }
    }
}

/// The store, timed per call when the `telemetry` feature is on.
fn metered(store: Arc<dyn SessionStore>) -> Arc<dyn SessionStore> {
    super::store::metered::MeteredStore::wrap(store)
}

impl<R> McpSessionLayer<R> {
    fn config_mut(&mut self) -> &mut SessionConfig {
        Arc::make_mut(&mut self.config)
    }

    /// Binds each session to the principal `resolver` finds on its `initialize`
    /// request; a request of another principal gets the same 404 as an unknown id.
    /// See [`Principal::authorization_hash`](super::Principal::authorization_hash)
    /// for a ready-made resolver. Without one, a session is bound to the
    /// identity an `McpAuthLayer` verified (feature `auth`), when there is one.
    pub fn principal(mut self, resolver: impl ResolvePrincipal) -> Self {
        self.config_mut().principal = Some(Arc::new(resolver));
        self
    }

    /// Whether DELETE ends a session (default true). When false, a legacy DELETE
    /// is answered 405 with `Allow: GET, POST`, as the spec allows.
    pub fn allow_delete(mut self, allow: bool) -> Self {
        self.config_mut().allow_delete = allow;
        self
    }

    /// Accepts `X-Session-Id` as an alias of `Mcp-Session-Id` (default false).
    /// The inner service then sees `Mcp-Session-Id`, and responses carry
    /// `Mcp-Session-Id`. Both headers with different values get 400.
    pub fn legacy_alias_header(mut self, accept: bool) -> Self {
        self.config_mut().legacy_alias = accept;
        self
    }

    /// Replaces the id generator (default: a random UUID v4, see [`SessionId::new_random`](super::SessionId::new_random)). Invalid output is replaced
    /// by a UUID v4; see [`IdGenerator`].
    pub fn id_generator(mut self, generator: impl IdGenerator) -> Self {
        self.config_mut().ids = Arc::new(generator);
        self
    }

    /// Whether an open response stream keeps its session alive (default true).
    ///
    /// - `true`: an SSE answer on a session (a GET stream, or a POST answered
    ///   as a stream) marks the session busy until the stream ends, fails or the
    ///   client goes away. Idle time is measured from the last request *or* the
    ///   last stream close, whichever is later. A client holding a GET stream
    ///   open is still bounded by the store's absolute lifetime.
    /// - `false`: idle time is measured from the last request alone. A stream
    ///   that receives only heartbeats is cut when the session idles out (the
    ///   close hook is where a handler ends its streams).
    ///
    /// This works for the response body types the crate can wrap without
    /// changing them: axum's `Body`, and `BoxBody` / `UnsyncBoxBody` over
    /// `Bytes` (rmcp's). With another body type, keep a clone of the request's
    /// [`SessionContext`](super::SessionContext) in the stream instead.
    pub fn streams_keep_alive(mut self, keep_alive: bool) -> Self {
        self.config_mut().streams_keep_alive = keep_alive;
        self
    }

    /// Who mints and keeps the sessions (default [`SessionOwner::Guard`]).
    ///
    /// With [`SessionOwner::Server`] the inner MCP server keeps its own
    /// sessions (rmcp's default `LocalSessionManager`, so sampling,
    /// elicitation, GET streams and resumability work) and this layer
    /// governs them:
    ///
    /// - an `initialize` takes a slot (429 at the limits) before it reaches
    ///   the server; the session is recorded under the id the server sets on
    ///   its answer when that answer is a JSON-RPC `result` for the request
    ///   (any other outcome gives the slot back; a server that sets no id is
    ///   named once at warn);
    /// - every later legacy request must carry an id the store holds, open,
    ///   of the same principal: otherwise the layer's own 400 or 404, and the
    ///   server never sees it;
    /// - a client's DELETE goes to the server, then closes the record; a 404
    ///   from the server for a held session closes the record
    ///   ([`CloseCause::ServerClosed`](super::CloseCause::ServerClosed));
    /// - when the layer closes a session (idle or absolute expiry, eviction,
    ///   shutdown), it tells the server with a `DELETE` carrying the id, sent
    ///   through the inner service (at most 5 s; a failure is logged once).
    ///
    /// ```
    /// use mcp_tower_guard::session::{McpSessionLayer, MokaSessionStore, SessionOwner};
    ///
    /// let layer = McpSessionLayer::new(MokaSessionStore::new()).owner(SessionOwner::Server);
    /// # let _ = layer;
    /// ```
    pub fn owner(mut self, owner: SessionOwner) -> Self {
        self.config_mut().owner = owner;
        self
    }

    /// Replaces the rejection response builder.
    pub fn with_rejection<R2: Clone>(self, rejection: R2) -> McpSessionLayer<R2> {
        McpSessionLayer {
            config: self.config,
            rejection,
        }
    }

    /// The store this layer uses.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.config.store
    }

    /// Wraps `inner`: the same as [`Layer::layer`], without importing the trait.
    pub fn into_service<S>(self, inner: S) -> McpSession<S, R> {
        McpSession::new(inner, self.config, self.rejection)
    }
}

impl<S, R: Clone> Layer<S> for McpSessionLayer<R> {
    type Service = McpSession<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        McpSession::new(inner, Arc::clone(&self.config), self.rejection.clone())
    }
}

impl<R> fmt::Debug for McpSessionLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::rejection::debug_guard::<R>(f, "McpSessionLayer", None, &self.config)
    }
}
