//! [`McpGuard`]: every layer in the one right order, from one call.
//!
//! ```
//! use std::net::SocketAddr;
//! use axum::{routing::post, Router};
//! use mcp_tower_guard::McpGuard;
//!
//! # fn main() -> Result<(), mcp_tower_guard::ConfigError> {
//! let addr: SocketAddr = "127.0.0.1:8000".parse().unwrap();
//! let mcp = Router::new().route("/", post(|| async { "..." }));
//! let guarded = McpGuard::local(addr)?.into_service(mcp);
//! let app: Router = Router::new()
//!     .route_service("/mcp", guarded)
//!     .route("/health", axum::routing::get(|| async { "ok" })); // not guarded
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! The guard wraps one service: mount it with `route_service` or
//! `nest_service`, or serve it with hyper. Routes beside it are untouched,
//! and the layers cannot be stacked in the wrong order. The separate layers
//! stay available for a stack composed by hand, in the order [`Guarded`]
//! names.

mod service;

use std::net::SocketAddr;

use tower_layer::Layer;

use service::Optional;
pub use service::{GuardBody, Guarded, ResponseFuture};

use crate::protocol::Era;
use crate::session::IntoSessionStore;
use crate::{
    ConfigError, HostCheckLayer, LocalBind, McpHeadersLayer, McpSessionLayer, MokaSessionStore,
    OriginGuardLayer,
};

/// The whole guard for an MCP endpoint: telemetry (feature `telemetry`),
/// Host, Origin, Headers, Auth (feature `auth`, when set), Session (for
/// legacy-era clients) and rate limits (feature `ratelimit`, when set),
/// outermost first.
///
/// [`McpGuard::local`] fits a server on a loopback address: the loopback Host
/// and Origin allowlists, every protocol revision, and sessions in a fresh
/// [`MokaSessionStore`] with its defaults. Each part can be replaced; then
/// [`layer`](Self::layer) or [`into_service`](Self::into_service).
#[derive(Clone, Debug)]
#[must_use]
pub struct McpGuard {
    host: HostCheckLayer,
    origin: OriginGuardLayer,
    headers: McpHeadersLayer,
    #[cfg(feature = "auth")]
    auth: Option<crate::auth::McpAuthLayer>,
    session: Sessions,
    #[cfg(feature = "ratelimit")]
    rate_limits: Option<crate::ratelimit::McpRateLimitLayer>,
    #[cfg(feature = "telemetry")]
    telemetry: crate::telemetry::McpTelemetryLayer,
}

/// The session part of a guard. The default store is made only when the
/// guard is turned into a layer or a service, so one replaced by
/// [`McpGuard::sessions`] or [`McpGuard::stateless`] is never built.
#[derive(Clone, Debug)]
enum Sessions {
    Default,
    Layer(McpSessionLayer),
    Stateless,
}

impl Sessions {
    fn resolve(self) -> Option<McpSessionLayer> {
        match self {
            Self::Default => Some(McpSessionLayer::new(MokaSessionStore::new())),
            Self::Layer(layer) => Some(layer),
            Self::Stateless => None,
        }
    }
}

impl McpGuard {
    /// Guards for a server about to listen on `addr`, which must be a
    /// loopback address ([`LocalBind`]'s rule: anything else is a
    /// [`ConfigError::UnsafeBind`]; to serve beyond localhost, use
    /// [`new`](Self::new) with the layer that
    /// `LocalBind::new(addr).allow_non_loopback(true).allow_hosts([..]).host_check()?`
    /// returns).
    ///
    /// # Errors
    ///
    /// [`ConfigError::UnsafeBind`] for a non-loopback `addr`.
    pub fn local(addr: SocketAddr) -> Result<Self, ConfigError> {
        Self::new(LocalBind::new(addr).host_check()?)
    }

    /// Guards behind the given Host check, for a server beyond localhost:
    /// for example
    /// `LocalBind::new(addr).allow_non_loopback(true).allow_hosts(["mcp.example.com"]).host_check()?`,
    /// or [`HostCheckLayer::new`] behind a proxy. The rest as in
    /// [`local`](Self::local): set [`origins`](Self::origins) for the pages
    /// that call the server.
    ///
    /// # Errors
    ///
    /// None today; the `Result` leaves room for settings checked here.
    pub fn new(host: HostCheckLayer) -> Result<Self, ConfigError> {
        Ok(Self {
            host,
            origin: OriginGuardLayer::localhost(),
            headers: McpHeadersLayer::new(),
            #[cfg(feature = "auth")]
            auth: None,
            session: Sessions::Default,
            #[cfg(feature = "ratelimit")]
            rate_limits: None,
            #[cfg(feature = "telemetry")]
            telemetry: crate::telemetry::McpTelemetryLayer::new(),
        })
    }

    /// Replaces the Host check (for example one built by [`LocalBind`] with
    /// named hosts, or [`HostCheckLayer::new`] behind a proxy).
    pub fn hosts(mut self, host: HostCheckLayer) -> Self {
        self.host = host;
        self
    }

    /// The guard's Host check, to put in front of the routes served beside
    /// the MCP endpoint: a DNS-rebinding page must reach none of a local
    /// server's routes (health checks, OAuth metadata, the 404 of an unknown
    /// path), not only the MCP one.
    ///
    /// With axum, layer the other routes (and the fallback) with it, then add
    /// the guarded endpoint, so `/mcp` is not checked twice:
    ///
    /// ```
    /// use axum::routing::{get, post};
    /// use mcp_tower_guard::McpGuard;
    ///
    /// # fn main() -> Result<(), mcp_tower_guard::ConfigError> {
    /// let guard = McpGuard::local("127.0.0.1:8000".parse().unwrap())?;
    /// let mcp = axum::Router::new().fallback(post(|| async { "{}" }));
    /// let app: axum::Router = axum::Router::new()
    ///     .route("/health", get(|| async { "ok" }))
    ///     .layer(guard.host_check()) // every route above, and the 404 of any other path
    ///     .route_service("/mcp", guard.into_service(mcp));
    /// # let _ = app;
    /// # Ok(()) }
    /// ```
    pub fn host_check(&self) -> HostCheckLayer {
        self.host.clone()
    }

    /// Replaces the Origin check (for example
    /// `OriginGuardLayer::localhost().allow_origin("https://app.example.com")?`).
    pub fn origins(mut self, origin: OriginGuardLayer) -> Self {
        self.origin = origin;
        self
    }

    /// Replaces the headers layer (supported revisions, body limits, tool rules).
    pub fn headers(mut self, headers: McpHeadersLayer) -> Self {
        self.headers = headers;
        self
    }

    /// Keeps legacy-era sessions in `store` (a [`MokaSessionStore`] with your
    /// limits and hooks, a Redis store, or your own). The guard mints the ids;
    /// the inner service is stateless for them.
    pub fn sessions(mut self, store: impl IntoSessionStore) -> Self {
        self.session = Sessions::Layer(McpSessionLayer::new(store));
        self
    }

    /// The inner server owns its sessions, and the guard governs them, in
    /// `store`: the mode for real SDK servers (rmcp with its default
    /// `LocalSessionManager`), which keep what only they can keep, such as
    /// pending sampling and elicitation requests, GET streams and resumable
    /// event logs. The guard records the id the server mints on a successful
    /// `initialize`, enforces its limits, expiry and principal binding,
    /// refuses unknown ids before the server sees them, forwards a client's
    /// DELETE, and closes a session on the server with a DELETE when it ends
    /// one itself. See [`SessionOwner`](crate::session::SessionOwner) for the
    /// three ways to run sessions.
    ///
    /// ```
    /// use mcp_tower_guard::{McpGuard, MokaSessionStore};
    ///
    /// # fn main() -> Result<(), mcp_tower_guard::ConfigError> {
    /// let store = MokaSessionStore::builder().max_sessions(100).build()?;
    /// let guard = McpGuard::local("127.0.0.1:8000".parse().unwrap())?.server_sessions(store);
    /// # let _ = guard;
    /// # Ok(()) }
    /// ```
    pub fn server_sessions(mut self, store: impl IntoSessionStore) -> Self {
        self.session = Sessions::Layer(
            McpSessionLayer::new(store).owner(crate::session::SessionOwner::Server),
        );
        self
    }

    /// Admits only requests with a valid bearer token and the scopes their
    /// operation needs (feature `auth`), between the headers and session
    /// layers: sessions then bind to the verified user. Mount
    /// [`McpAuthLayer::metadata_service`](crate::auth::McpAuthLayer::metadata_service)
    /// at its [`metadata_paths`](crate::auth::McpAuthLayer::metadata_paths)
    /// beside the guarded route.
    #[cfg(feature = "auth")]
    #[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
    pub fn auth(mut self, auth: crate::auth::McpAuthLayer) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Applies `limits` last, inside the session layer (feature
    /// `ratelimit`): only requests every other part accepted are counted,
    /// and the principal and session are known.
    #[cfg(feature = "ratelimit")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ratelimit")))]
    pub fn rate_limits(mut self, limits: crate::ratelimit::McpRateLimitLayer) -> Self {
        self.rate_limits = Some(limits);
        self
    }

    /// Replaces the telemetry settings (feature `telemetry`; with the
    /// feature on, every guard measures, outermost, at no cost when no
    /// subscriber or recorder is installed).
    #[cfg(feature = "telemetry")]
    #[cfg_attr(docsrs, doc(cfg(feature = "telemetry")))]
    pub fn telemetry(mut self, telemetry: crate::telemetry::McpTelemetryLayer) -> Self {
        self.telemetry = telemetry;
        self
    }

    /// Uses `layer` for sessions (principal binding, DELETE, id generator).
    pub fn session_layer(mut self, layer: McpSessionLayer) -> Self {
        self.session = Sessions::Layer(layer);
        self
    }

    /// No session layer: the inner service serves every request statelessly
    /// (rmcp's stateless mode does). 2026-07-28 requests never have sessions
    /// anyway.
    pub fn stateless(mut self) -> Self {
        self.session = Sessions::Stateless;
        self
    }

    /// A `tower` layer that applies the whole guard. Every service it makes
    /// shares one session store.
    pub fn layer(&self) -> McpGuardLayer {
        let mut guard = self.clone();
        if let Some(layer) = guard.session.clone().resolve() {
            guard.session = Sessions::Layer(layer);
        }
        McpGuardLayer(guard)
    }

    /// Wraps `inner` in the whole guard.
    ///
    /// A guard whose headers layer serves only 2026-07-28 (which has no
    /// sessions) but keeps a session layer is named here, at warn: no request
    /// would ever reach the store; use [`stateless`](Self::stateless).
    pub fn into_service<S>(self, inner: S) -> Guarded<S> {
        let session = self.session.resolve();
        if session.is_some() && !self.headers.versions().has_era(Era::Legacy) {
            tracing::warn!(
                target: "mcp_tower_guard::order",
                "McpGuard keeps sessions, but its headers layer serves only 2026-07-28, which has \
                 none: no request will use the store. Call .stateless(), or allow a legacy revision"
            );
        }
        // Bearer clients from unlisted origins are admitted only where a
        // token is verified: without an auth layer the mode fails closed.
        #[cfg(feature = "auth")]
        let origin = if self.origin.admits_bearer_clients() && self.auth.is_none() {
            tracing::error!(
                target: "mcp_tower_guard::order",
                "OriginGuardLayer::admit_bearer_clients needs an McpAuthLayer to verify the tokens, and this \
                 McpGuard has none: the mode is off, so unlisted origins get 403. Add McpGuard::auth"
            );
            self.origin.admit_bearer_clients(false)
        } else {
            self.origin
        };
        #[cfg(not(feature = "auth"))]
        let origin = self.origin;
        #[cfg(feature = "ratelimit")]
        let inner = match self.rate_limits {
            Some(limits) => Optional::On(limits.into_service(inner)),
            None => Optional::Off(inner),
        };
        let inner = match session {
            Some(session) => Optional::On(session.into_service(inner)),
            None => Optional::Off(inner),
        };
        // Authorization in two halves: the identity before anything reads
        // the body (a request without a valid token gets 401 at once, and
        // learns nothing about tools), the scopes behind the headers layer,
        // whose envelope names the tool.
        #[cfg(feature = "auth")]
        let gate = self
            .auth
            .as_ref()
            .map(crate::auth::McpAuthLayer::identity_gate);
        #[cfg(feature = "auth")]
        let inner = match self.auth {
            Some(auth) => Optional::On(auth.into_service(inner)),
            None => Optional::Off(inner),
        };
        let headers = self.headers.into_service(inner);
        #[cfg(feature = "auth")]
        let headers = match gate {
            Some(gate) => Optional::On(gate.into_service(headers)),
            None => Optional::Off(headers),
        };
        let guarded = self.host.into_service(origin.into_service(headers));
        #[cfg(feature = "telemetry")]
        let guarded = tower_layer::Layer::layer(&self.telemetry, guarded);
        Guarded { inner: guarded }
    }
}

/// The [`tower_layer::Layer`] form of an [`McpGuard`].
#[derive(Clone, Debug)]
pub struct McpGuardLayer(McpGuard);

impl<S> Layer<S> for McpGuardLayer {
    type Service = Guarded<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.0.clone().into_service(inner)
    }
}
