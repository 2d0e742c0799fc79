//! The demo application: a small MCP server, written by hand over JSON-RPC,
//! behind mcp-tower-guard's four layers.
//!
//! Shared by `examples/streamable_http.rs` (the binary) and the integration
//! tests (`#[path = "../examples/streamable_http/app.rs"] mod app;`).
//!
//! What the handler relies on from the layers (request extensions):
//!
//! - [`RequestProtocol`]: the version and era of the request (headers layer);
//! - the parsed [`Envelope`] of a POST (headers layer), used to log the method;
//! - the session context of a legacy request (session layer), used by the
//!   `session_info` tool and to route notifications to the session's GET stream.
//!
//! The handler itself never checks Host, Origin, Accept, Content-Type,
//! `MCP-Protocol-Version` or `Mcp-Session-Id`: a request that reaches it has
//! passed all of that.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use futures_util::stream::{self, Stream};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use mcp_tower_guard::envelope::Envelope;
use mcp_tower_guard::headers::ToolRules;
use mcp_tower_guard::protocol::{Era, ProtocolVersion, RequestProtocol};
#[cfg(feature = "redis")]
use mcp_tower_guard::session::redis::RedisSessionStore;
use mcp_tower_guard::session::{CloseCause, IntoSessionStore, MokaSessionStore, SessionContext};
use mcp_tower_guard::LocalBind;
use mcp_tower_guard::{
    ConfigError, HostCheckLayer, McpGuard, McpHeadersLayer, McpSessionLayer, OriginGuardLayer,
};
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tower::ServiceExt;

#[path = "tasks.rs"]
mod tasks;

/// Name reported in `serverInfo`.
pub const SERVER_NAME: &str = "mcp-tower-guard-demo";
/// Newest legacy revision: the answer to an `initialize` asking for a version we do not speak.
pub const LATEST_LEGACY: ProtocolVersion = ProtocolVersion::V2025_11_25;
/// Capacity of a session's notification buffer (messages queued while no GET stream is open).
const STREAM_BUFFER: usize = 64;
/// Longest `delayMs` the `echo` tool accepts.
const MAX_TOOL_DELAY_MS: u64 = 2_000;
/// Largest POST body the handler reads (the headers layer enforces its own, smaller, limit first).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Settings of the demo server (see `--help` of the example).
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Idle timeout of a session.
    pub idle_timeout: Duration,
    /// Absolute lifetime of a session (`None`: the store's default, 24 h).
    pub max_lifetime: Option<Duration>,
    /// Most sessions open at once.
    pub max_sessions: usize,
    /// Browser origins accepted in addition to the local ones.
    pub allowed_origins: Vec<String>,
    /// Hosts accepted in addition to the loopback names.
    pub allowed_hosts: Vec<String>,
    /// Interval of `heartbeat` events on GET streams.
    pub heartbeat: Duration,
    /// Keep sessions in this Redis (`redis://host:port`), shared with every
    /// replica that uses the same Redis (feature `redis`). `None`: in memory.
    pub redis: Option<String>,
    /// With `redis`: the near cache TTL (`None`: every lookup asks Redis).
    pub near_cache: Option<Duration>,
    /// Whether an open GET stream keeps its session alive
    /// ([`McpSessionLayer::streams_keep_alive`]).
    pub streams_keep_alive: bool,
    /// Require bearer tokens from this OAuth issuer (feature `auth`).
    pub auth_issuer: Option<String>,
    /// With `auth_issuer`: the endpoint's canonical URI (default `http://BIND/mcp`).
    pub auth_resource: Option<String>,
    /// With `auth_issuer`: the scopes requests need.
    pub required_scopes: Vec<ScopeRule>,
    /// `--rate-limit` rules, in `RateLimitRule::parse` form (feature `ratelimit`).
    pub rate_limits: Vec<String>,
    /// `--metrics-addr`: where to serve Prometheus text (feature `telemetry`).
    pub metrics_addr: Option<SocketAddr>,
    /// `--otlp-endpoint`: where to export spans over OTLP/gRPC (feature `telemetry`).
    pub otlp_endpoint: Option<String>,
    /// Counts of the per-session resources the app holds (shared by clones).
    pub live: Live,
}

/// `--require-scope METHOD[:NAME]=SCOPE`: `*` as the method means every request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeRule {
    /// A JSON-RPC method, or `*`.
    pub method: String,
    /// A tool, prompt or resource name.
    pub name: Option<String>,
    /// The scope it needs.
    pub scope: String,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            idle_timeout: Duration::from_secs(30 * 60),
            max_lifetime: None,
            max_sessions: 1000,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            heartbeat: Duration::from_secs(15),
            redis: None,
            near_cache: None,
            streams_keep_alive: true,
            auth_issuer: None,
            auth_resource: None,
            required_scopes: Vec::new(),
            rate_limits: Vec::new(),
            metrics_addr: None,
            otlp_endpoint: None,
            live: Live::default(),
        }
    }
}

impl DemoConfig {
    /// A configuration for tests: loopback, port 0.
    pub fn for_tests() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Self::default()
        }
    }
}

// ---------------------------------------------------------------------------
// Application state: the GET streams of live sessions
// ---------------------------------------------------------------------------

/// One session's server-to-client channel. Messages sent while no GET stream is
/// open wait in its buffer (up to `STREAM_BUFFER`); the receiver is handed back
/// when the client disconnects, so a reconnecting client gets what it missed.
///
/// It lives in the session's own state
/// ([`SessionContext::state_or_insert_with`]), not in a map of the app's: it
/// can only be created while the store holds the session, and the store drops
/// it with the session. A tool call still running when its session is deleted
/// gets `None` and cannot bring it back.
#[derive(Clone)]
struct Outbox(Arc<OutboxInner>);

struct OutboxInner {
    tx: mpsc::Sender<Value>,
    rx: Mutex<Option<mpsc::Receiver<Value>>>,
    live: Live,
}

impl Outbox {
    fn new(live: &Live) -> Self {
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        live.0.outboxes.fetch_add(1, Ordering::Relaxed);
        Self(Arc::new(OutboxInner {
            tx,
            rx: Mutex::new(Some(rx)),
            live: live.clone(),
        }))
    }

    fn rx(&self) -> std::sync::MutexGuard<'_, Option<mpsc::Receiver<Value>>> {
        // A poisoned lock only means a thread panicked while holding it; the slot is intact.
        self.0
            .rx
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for OutboxInner {
    fn drop(&mut self) {
        self.live.0.outboxes.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How many per-session resources the demo holds now: outboxes and open GET
/// streams. Tests and the soak check that both return to zero.
#[derive(Clone, Debug, Default)]
pub struct Live(Arc<LiveCounts>);

#[derive(Debug, Default)]
struct LiveCounts {
    outboxes: AtomicUsize,
    streams: AtomicUsize,
}

impl Live {
    /// Session outboxes alive now.
    pub fn outboxes(&self) -> usize {
        self.0.outboxes.load(Ordering::Relaxed)
    }

    /// GET streams open now.
    pub fn streams(&self) -> usize {
        self.0.streams.load(Ordering::Relaxed)
    }
}

/// The handlers' shared state.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    heartbeat: Duration,
    live: Live,
    tasks: tasks::Tasks,
}

impl AppState {
    fn new(heartbeat: Duration, live: Live) -> Self {
        Self {
            inner: Arc::new(Inner {
                heartbeat,
                live,
                tasks: tasks::Tasks::default(),
            }),
        }
    }

    /// Queues `message` for the session's GET stream. Never blocks: a full
    /// buffer drops it, and so does a session that has closed.
    fn notify(&self, session: &SessionContext, message: Value) {
        let Some(outbox) = session.state_or_insert_with(|| Outbox::new(&self.inner.live)) else {
            tracing::debug!(target: "demo", session = %session.id().tag(), "session closed; notification dropped");
            return;
        };
        if let Err(err) = outbox.0.tx.try_send(message) {
            tracing::warn!(target: "demo", session = %session.id().tag(), %err, "notification dropped");
        }
    }

    /// Takes the session's receiver for a new GET stream; `None` while another
    /// stream holds it, or once the session has closed.
    fn open_stream(&self, session: &SessionContext) -> Option<mpsc::Receiver<Value>> {
        let outbox = session.state_or_insert_with(|| Outbox::new(&self.inner.live))?;
        let rx = outbox.rx().take();
        rx
    }

    /// Gives a receiver back when its stream ends, unless the session is gone.
    fn return_stream(&self, session: &SessionContext, rx: mpsc::Receiver<Value>) {
        if let Some(outbox) = session.state::<Outbox>() {
            *outbox.rx() = Some(rx);
        }
    }
}

// ---------------------------------------------------------------------------
// The app
// ---------------------------------------------------------------------------

/// Builds the demo's router and its in-memory session store.
///
/// `McpGuard` wraps the MCP endpoint (Host, Origin, Headers, then with their
/// features Auth and rate limits, and Session); the Host check also covers
/// every other route and the 404 of unknown paths, so a DNS-rebinding page
/// reaches nothing.
///
/// # Errors
///
/// A [`ConfigError`] for a bind address that needs `--allow-host`, or an
/// invalid host or origin entry.
pub fn app(config: &DemoConfig) -> Result<(Router, MokaSessionStore), ConfigError> {
    let guards = Guards::new(config)?;
    let state = AppState::new(config.heartbeat, config.live.clone());
    let mut store = MokaSessionStore::builder()
        .idle_timeout(config.idle_timeout)
        .max_sessions(config.max_sessions)
        .on_created(log_created)
        .on_closed(log_closed);
    if let Some(lifetime) = config.max_lifetime {
        store = store.max_lifetime(lifetime);
    }
    let store = store.build()?;
    let router = guards.router(state, store.clone())?;
    Ok((router, store))
}

/// Like [`app`], with the sessions in Redis at `url`: replicas started with the
/// same URL serve each other's sessions, and a session closed on one replica
/// (DELETE, expiry) ends its GET stream on whichever replica serves it.
///
/// # Errors
///
/// A [`ConfigError`] as for [`app`], or Redis cannot be reached.
#[cfg(feature = "redis")]
pub async fn app_redis(
    config: &DemoConfig,
    url: &str,
) -> Result<(Router, RedisSessionStore), Box<dyn std::error::Error + Send + Sync>> {
    #[allow(unused_mut)]
    let mut guards = Guards::new(config)?;
    // With --redis, rate limits are shared by the replicas too.
    #[cfg(feature = "ratelimit")]
    if let Some(limits) = guards.rate_limits.take() {
        let shared = mcp_tower_guard::ratelimit::RedisRateLimits::connect(url).await?;
        guards.rate_limits = Some(limits.shared(shared));
    }
    let state = AppState::new(config.heartbeat, config.live.clone());
    let mut store = RedisSessionStore::builder(url)
        .idle_timeout(config.idle_timeout)
        .max_sessions(config.max_sessions)
        .on_created(log_created)
        .on_closed(log_closed);
    if let Some(lifetime) = config.max_lifetime {
        store = store.max_lifetime(lifetime);
    }
    if let Some(ttl) = config.near_cache {
        store = store.near_cache(ttl);
    }
    let store = store.build().await?;
    let router = guards.router(state, store.clone())?;
    Ok((router, store))
}

/// The session store the binary runs with.
#[derive(Clone, Debug)]
pub enum DemoStore {
    /// In memory (the default).
    Memory(MokaSessionStore),
    /// In Redis, shared by replicas (`--redis`).
    #[cfg(feature = "redis")]
    Redis(RedisSessionStore),
}

impl DemoStore {
    /// A name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Memory(_) => "memory",
            #[cfg(feature = "redis")]
            Self::Redis(_) => "redis",
        }
    }

    /// Ends this server's sessions (close hooks fire, so GET streams end). In
    /// Redis the sessions stay for the other replicas.
    pub fn shutdown(&self) {
        match self {
            Self::Memory(store) => store.shutdown(),
            #[cfg(feature = "redis")]
            Self::Redis(store) => store.shutdown(),
        }
    }
}

/// [`app`] or [`app_redis`], as `config.redis` asks.
///
/// # Errors
///
/// As [`app`] and [`app_redis`]; `--redis` without the `redis` feature.
pub async fn app_for(
    config: &DemoConfig,
) -> Result<(Router, DemoStore), Box<dyn std::error::Error + Send + Sync>> {
    match config.redis.as_deref() {
        None => {
            let (router, store) = app(config)?;
            Ok((router, DemoStore::Memory(store)))
        }
        #[cfg(feature = "redis")]
        Some(url) => {
            let (router, store) = app_redis(config, url).await?;
            Ok((router, DemoStore::Redis(store)))
        }
        #[cfg(not(feature = "redis"))]
        Some(_) => Err("--redis needs the `redis` feature: \
             cargo run --features redis --example streamable_http -- --redis URL"
            .into()),
    }
}

/// The demo's MCP routes with no layer in front: the load bench serves them
/// bare, and behind the four layers, to measure what the layers cost.
pub fn unguarded_router(heartbeat: Duration) -> Router {
    Router::new()
        .route("/mcp", post(mcp_post).get(mcp_get).delete(mcp_delete))
        .with_state(AppState::new(heartbeat, Live::default()))
}

/// The layers in front of the handlers, built (and checked) before the store.
struct Guards {
    hosts: HostCheckLayer,
    origins: OriginGuardLayer,
    headers: McpHeadersLayer,
    #[cfg(feature = "auth")]
    auth: Option<mcp_tower_guard::auth::McpAuthLayer>,
    #[cfg(feature = "ratelimit")]
    rate_limits: Option<mcp_tower_guard::ratelimit::McpRateLimitLayer>,
    streams_keep_alive: bool,
}

impl Guards {
    fn new(config: &DemoConfig) -> Result<Self, ConfigError> {
        #[cfg(not(feature = "ratelimit"))]
        if !config.rate_limits.is_empty() {
            return Err(ConfigError::InvalidSetting {
                setting: "--rate-limit",
                reason: "build the demo with --features ratelimit".to_owned(),
            });
        }
        #[cfg(not(feature = "auth"))]
        if config.auth_issuer.is_some() {
            return Err(ConfigError::InvalidSetting {
                setting: "--auth-issuer",
                reason: "build the demo with --features auth".to_owned(),
            });
        }
        let hosts = LocalBind::new(config.bind)
            .allow_hosts(config.allowed_hosts.iter().cloned())
            .allow_non_loopback(!config.allowed_hosts.is_empty())
            .host_check()?;
        let origins = OriginGuardLayer::localhost().allow_origins(&config.allowed_origins)?;
        let headers = McpHeadersLayer::new()
            .server_header(HeaderValue::from_static(concat!(
                "mcp-tower-guard-demo/",
                env!("CARGO_PKG_VERSION")
            )))
            .tool_rules(tool_rules()?);
        Ok(Self {
            hosts,
            origins,
            headers,
            #[cfg(feature = "auth")]
            auth: auth_layer(config)?,
            #[cfg(feature = "ratelimit")]
            rate_limits: rate_limit_layer(config)?,
            streams_keep_alive: config.streams_keep_alive,
        })
    }

    /// The whole guard around the handlers, as one `McpGuard` (the order is
    /// its business). DELETE is the session layer's, so no route for it.
    fn router(self, state: AppState, store: impl IntoSessionStore) -> Result<Router, ConfigError> {
        let sessions = McpSessionLayer::new(store).streams_keep_alive(self.streams_keep_alive);
        let guard = McpGuard::new(self.hosts)?
            .origins(self.origins)
            .headers(self.headers)
            .session_layer(sessions);
        // Only the demo's own tool and prompt names become metric labels.
        #[cfg(feature = "telemetry")]
        let guard = guard.telemetry(
            mcp_tower_guard::telemetry::McpTelemetryLayer::new().known_targets(catalog_names()),
        );
        let handlers = Router::new()
            .route("/mcp", post(mcp_post).get(mcp_get))
            .with_state(state);
        #[cfg(feature = "ratelimit")]
        let guard = match self.rate_limits {
            Some(limits) => guard.rate_limits(limits),
            None => guard,
        };
        #[allow(unused_mut)]
        let mut router = Router::new();
        #[cfg(feature = "auth")]
        let guard = match self.auth {
            Some(auth) => {
                // The metadata document beside the MCP route, at both well-known paths.
                for path in auth.metadata_paths() {
                    router = router.route_service(&path, auth.metadata_service());
                }
                guard.auth(auth)
            }
            None => guard,
        };
        // The Host check on every other route (the OAuth metadata) and on the
        // 404 of unknown paths; /mcp is added after, so it is checked once.
        Ok(router
            .fallback(|| async { StatusCode::NOT_FOUND })
            .layer(guard.host_check())
            .route_service("/mcp", guard.into_service(handlers)))
    }
}

/// The names of the demo's tools and prompts.
#[cfg(feature = "telemetry")]
fn catalog_names() -> Vec<String> {
    let prompts = catalog_request("prompts/list", &json!({})).unwrap_or_default();
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item["name"].as_str().map(str::to_owned))
            .collect()
    };
    let mut all = names(&tools(Era::Modern));
    all.extend(names(&prompts["prompts"]));
    all
}

/// `--rate-limit` rules as a layer.
#[cfg(feature = "ratelimit")]
fn rate_limit_layer(
    config: &DemoConfig,
) -> Result<Option<mcp_tower_guard::ratelimit::McpRateLimitLayer>, ConfigError> {
    use mcp_tower_guard::ratelimit::{KeyPart, McpRateLimitLayer, RateLimitRule};
    if config.rate_limits.is_empty() {
        return Ok(None);
    }
    let rules = config
        .rate_limits
        .iter()
        .map(|r| RateLimitRule::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    // Without a verified user every request has the same principal: a rule
    // keyed on it alone would be one bucket for everybody.
    if config.auth_issuer.is_none() {
        if let Some(rule) = rules.iter().find(|r| r.key_parts() == [KeyPart::Principal]) {
            return Err(ConfigError::InvalidSetting {
                setting: "--rate-limit",
                reason: format!(
                    "{}: by=principal needs --auth-issuer (without a verified user every request \
                     shares one bucket); key by addr, or add addr",
                    rule.rule_name()
                ),
            });
        }
    }
    McpRateLimitLayer::new(rules).map(Some)
}

/// `--auth-issuer`, `--auth-resource` and `--require-scope` as a layer.
#[cfg(feature = "auth")]
fn auth_layer(
    config: &DemoConfig,
) -> Result<Option<mcp_tower_guard::auth::McpAuthLayer>, ConfigError> {
    use mcp_tower_guard::auth::{JwtVerifier, McpAuthLayer, ResourceMetadata, ScopePolicy};
    let Some(issuer) = &config.auth_issuer else {
        return Ok(None);
    };
    let resource = config
        .auth_resource
        .clone()
        .unwrap_or_else(|| format!("http://{}/mcp", config.bind));
    let metadata = ResourceMetadata::new(&resource, issuer)?.resource_name("mcp-tower-guard demo");
    let verifier = JwtVerifier::builder(issuer, metadata.resource()).build()?;
    let mut policy = ScopePolicy::new();
    for rule in &config.required_scopes {
        let scope = [rule.scope.as_str()];
        policy = match (rule.method.as_str(), rule.name.as_deref()) {
            ("*", None) => policy.require(scope)?,
            (method, None) => policy.method(method, scope)?,
            ("tools/call", Some(name)) => policy.tool(name, scope)?,
            ("prompts/get", Some(name)) => policy.prompt(name, scope)?,
            ("resources/read", Some(uri)) => policy.resource(uri, scope)?,
            (method, Some(_)) => {
                return Err(ConfigError::InvalidSetting {
                    setting: "--require-scope",
                    reason: format!(
                        "{method}: a NAME goes only with tools/call, prompts/get or resources/read"
                    ),
                })
            }
        };
    }
    Ok(Some(McpAuthLayer::new(metadata, verifier).scopes(policy)))
}

/// The created hook: one log line.
fn log_created(session: &SessionContext) {
    let client = session.client();
    tracing::info!(
        target: "demo",
        session = %session.id().tag(),
        version = %session.protocol_version().map_or_else(|| "-".to_owned(), |v| v.to_string()),
        user_agent = client.user_agent(),
        peer = ?client.peer_addr(),
        "session created"
    );
}

/// The closed hook: one log line. The session's outbox is in its state, which
/// the store drops right after this hook; that ends its GET stream.
fn log_closed(session: &SessionContext, cause: CloseCause) {
    tracing::info!(target: "demo", session = %session.id().tag(), %cause, "session closed");
}

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

/// What the handler knows about the request beyond its body.
struct Cx {
    era: Era,
    version: ProtocolVersion,
    session: Option<SessionView>,
}

/// The session context the session layer hands over, as the demo uses it:
/// its id, and its state (the outbox). What `session_info` returns is built
/// only when that tool asks ([`SessionView::info`]).
#[derive(Clone, Debug)]
struct SessionView {
    ctx: SessionContext,
}

/// The session context the session layer put in the request. `None` for
/// 2026-07-28 requests (stateless). On `initialize` it is the session being
/// created, stored once the handler answers with a 2xx.
fn session_view(parts: &axum::http::request::Parts) -> Option<SessionView> {
    let ctx = parts.extensions.get::<SessionContext>()?;
    Some(SessionView { ctx: ctx.clone() })
}

impl SessionView {
    /// What `session_info` returns (timestamps formatted, client headers).
    fn info(&self) -> Value {
        let ctx = &self.ctx;
        let client = ctx.client();
        json!({
        // The tag, not the id: the id is a bearer capability and tool output ends up in logs.
        "tag": ctx.id().tag().to_string(),
        "createdAt": rfc3339(ctx.created_at()),
        "lastSeen": rfc3339(ctx.last_seen()),
        "protocolVersion": ctx.protocol_version().map(|v| v.to_string()),
        "client": {
            "userAgent": client.user_agent(),
            "origin": client.origin(),
            "peerAddr": client.peer_addr().map(|a| a.to_string()),
        },
        "principal": ctx.principal().map(|p| p.tag().to_string()),
        "inFlight": ctx.in_flight(),
        })
    }
}

fn protocol_of(parts: &axum::http::request::Parts) -> (Era, ProtocolVersion) {
    match parts.extensions.get::<RequestProtocol>() {
        Some(p) => (p.era(), p.version()),
        // Every route of the demo is behind the headers layer, which puts
        // the request's protocol in the extensions; a legacy default otherwise.
        None => (Era::Legacy, ProtocolVersion::LEGACY_DEFAULT),
    }
}

/// `POST /mcp`: one JSON-RPC message (or a 2025-03-26 batch).
async fn mcp_post(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let (era, version) = protocol_of(&parts);
    let cx = Cx {
        era,
        version,
        session: session_view(&parts),
    };
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &error_body(
                    Value::Null,
                    INVALID_REQUEST,
                    "request body could not be read",
                ),
            )
        }
    };
    let message: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &error_body(Value::Null, PARSE_ERROR, &format!("Parse error: {e}")),
            )
        }
    };
    if let Some(method) = parts
        .extensions
        .get::<Envelope>()
        .and_then(Envelope::method)
    {
        tracing::debug!(target: "demo", method, era = ?cx.era, version = %cx.version, "mcp request");
    }
    // A slow tool: the work happens while the request is in flight, so a
    // DELETE (or an expiry) can land before the tool reports to the session.
    if let Some(delay) = tool_delay(&message) {
        tokio::time::sleep(delay).await;
    }
    match message {
        Value::Array(batch) => {
            let replies: Vec<Value> = batch
                .iter()
                .filter_map(|m| handle_message(&state, &cx, m))
                .map(|(_, body)| body)
                .collect();
            if replies.is_empty() {
                accepted()
            } else {
                json_response(StatusCode::OK, &Value::Array(replies))
            }
        }
        single => match handle_message_reply(&state, &cx, &single) {
            Some(Reply::Json(status, body)) => json_response(status, &body),
            Some(Reply::Stream(events)) => request_stream(events),
            None => accepted(),
        },
    }
}

/// The `delayMs` of an `echo` call (at most [`MAX_TOOL_DELAY_MS`]).
fn tool_delay(message: &Value) -> Option<Duration> {
    if message.get("method")? != "tools/call" || message.pointer("/params/name")? != "echo" {
        return None;
    }
    let ms = message.pointer("/params/arguments/delayMs")?.as_u64()?;
    Some(Duration::from_millis(ms.min(MAX_TOOL_DELAY_MS)))
}

/// `GET /mcp`: the session's server-to-client SSE stream (legacy era only; the
/// headers layer answers 405 to a 2026-07-28 GET).
async fn mcp_get(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _body) = req.into_parts();
    let (_, version) = protocol_of(&parts);
    let Some(session) = session_view(&parts) else {
        // Only reachable without the session layer.
        return json_response(
            StatusCode::BAD_REQUEST,
            &error_body(
                Value::Null,
                SERVER_ERROR,
                "Bad Request: Mcp-Session-Id header is required",
            ),
        );
    };
    let Some(rx) = state.open_stream(&session.ctx) else {
        return json_response(
            StatusCode::CONFLICT,
            &error_body(
                Value::Null,
                SERVER_ERROR,
                "Conflict: this session already has an open GET stream",
            ),
        );
    };
    tracing::info!(target: "demo", session = %session.ctx.id().tag(), "GET stream opened");
    let connected = json!({
        "session": session.ctx.id().tag().to_string(),
        "protocolVersion": version.to_string(),
        "timestamp": rfc3339(SystemTime::now()),
    });
    // Detached: with `streams_keep_alive` the session layer keeps the session
    // busy while this stream is open; without it, only requests count.
    let stream = sse_stream(state, session.ctx.detached(), rx, connected);
    let mut res = Sse::new(stream).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// `DELETE /mcp` without the guard (the bare router the benches measure);
/// behind it, the session layer answers DELETE (204, or 404 for an unknown
/// session) and the headers layer a 2026-07-28 DELETE (405).
async fn mcp_delete() -> Response {
    let mut res = StatusCode::METHOD_NOT_ALLOWED.into_response();
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
    res
}

/// State of one GET stream.
struct StreamState {
    app: AppState,
    session: SessionContext,
    rx: Option<mpsc::Receiver<Value>>,
    heartbeat: tokio::time::Interval,
    connected: Option<Value>,
}

impl Drop for StreamState {
    fn drop(&mut self) {
        tracing::debug!(target: "demo", session = %self.session.id().tag(), "GET stream ended");
        if let Some(rx) = self.rx.take() {
            self.app.return_stream(&self.session, rx);
        }
        self.app
            .inner
            .live
            .0
            .streams
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// The SSE events of a GET stream:
///
/// - `event: connected` first, with the session tag, the protocol version and a timestamp;
/// - then the session's JSON-RPC notifications as plain (`message`) events;
/// - and `event: heartbeat` with a timestamp every `--heartbeat`.
///
/// Named events other than `message` are skipped by MCP clients (rmcp hands
/// them to a no-op control hook, the TypeScript and Python SDKs only dispatch
/// `message` events), so `connected` and `heartbeat` are safe; their data is
/// JSON all the same. The stream ends when the session ends (the store drops
/// the session's state, and with it the outbox's sender) or the server shuts down.
fn sse_stream(
    app: AppState,
    session: SessionContext,
    rx: mpsc::Receiver<Value>,
    connected: Value,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    let period = app.inner.heartbeat;
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    app.inner.live.0.streams.fetch_add(1, Ordering::Relaxed);
    let state = StreamState {
        app,
        session,
        rx: Some(rx),
        heartbeat,
        connected: Some(connected),
    };
    stream::unfold(state, |mut st| async move {
        if let Some(connected) = st.connected.take() {
            let event = Event::default()
                .event("connected")
                .retry(Duration::from_secs(3))
                .data(connected.to_string());
            return Some((Ok(event), st));
        }
        let rx = st.rx.as_mut()?;
        tokio::select! {
            // `None` once the session ended (its sender was dropped) and the buffer is drained.
            message = rx.recv() => message.map(|m| (Ok(Event::default().data(m.to_string())), st)),
            _ = st.heartbeat.tick() => {
                let data = json!({ "timestamp": rfc3339(SystemTime::now()) });
                Some((Ok(Event::default().event("heartbeat").data(data.to_string())), st))
            }
        }
    })
}

/// A 2026-07-28 response stream: the request's notifications, then its response, then the end.
fn request_stream(events: Vec<Value>) -> Response {
    let events = events
        .into_iter()
        .map(|event| Ok::<_, Infallible>(Event::default().data(event.to_string())));
    Sse::new(stream::iter(events)).into_response()
}

fn accepted() -> Response {
    StatusCode::ACCEPTED.into_response()
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut res = Response::new(Body::from(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

// ---------------------------------------------------------------------------
// JSON-RPC
// ---------------------------------------------------------------------------

const PARSE_ERROR: i64 = -32700;
const SERVER_ERROR: i64 = -32000;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

fn error_body(id: Value, code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

fn result_body(id: Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

fn server_info() -> Value {
    json!({ "name": SERVER_NAME, "version": env!("CARGO_PKG_VERSION") })
}

/// A JSON-RPC error from a method handler.
struct RpcError {
    code: i64,
    message: String,
}

impl RpcError {
    fn invalid_params(message: impl Into<String>) -> Self {
        Self {
            code: INVALID_PARAMS,
            message: message.into(),
        }
    }
}

/// What a request is answered with.
enum Reply {
    /// One JSON object.
    Json(StatusCode, Value),
    /// An SSE stream scoped to the request: its notifications, then the response.
    Stream(Vec<Value>),
}

/// Handles one message. `None` for notifications and responses (HTTP 202).
fn handle_message(state: &AppState, cx: &Cx, message: &Value) -> Option<(StatusCode, Value)> {
    match handle_message_reply(state, cx, message)? {
        Reply::Json(status, body) => Some((status, body)),
        Reply::Stream(mut events) => events.pop().map(|last| (StatusCode::OK, last)),
    }
}

fn handle_message_reply(state: &AppState, cx: &Cx, message: &Value) -> Option<Reply> {
    let Some(obj) = message
        .as_object()
        .filter(|o| o.get("jsonrpc") == Some(&json!("2.0")))
    else {
        return Some(Reply::Json(
            StatusCode::BAD_REQUEST,
            error_body(
                Value::Null,
                INVALID_REQUEST,
                "Invalid Request: not a JSON-RPC 2.0 message",
            ),
        ));
    };
    let id = obj.get("id").cloned();
    let Some(method) = obj.get("method").and_then(Value::as_str) else {
        // A response to a server request: we never send any, so nothing to match; accept it.
        if cx.era == Era::Modern {
            return Some(Reply::Json(
                StatusCode::BAD_REQUEST,
                error_body(
                    Value::Null,
                    INVALID_REQUEST,
                    "Invalid Request: clients must not send responses in 2026-07-28",
                ),
            ));
        }
        return None;
    };
    let params = obj.get("params").cloned().unwrap_or(Value::Null);
    let Some(id) = id else {
        handle_notification(cx, method);
        return None;
    };
    let outcome = match cx.era {
        Era::Legacy => legacy_request(state, cx, method, &params).map(|r| (Vec::new(), r)),
        _ => modern_request(state, cx, method, &params),
    };
    Some(match outcome {
        Ok((notes, result)) if notes.is_empty() => {
            Reply::Json(StatusCode::OK, result_body(id, result))
        }
        Ok((mut notes, result)) => {
            notes.push(result_body(id, result));
            Reply::Stream(notes)
        }
        Err(e) => {
            // 2026-07-28: an unknown method is also an HTTP 404.
            let status = if cx.era == Era::Modern && e.code == METHOD_NOT_FOUND {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            };
            Reply::Json(status, error_body(id, e.code, &e.message))
        }
    })
}

fn handle_notification(cx: &Cx, method: &str) {
    match method {
        "notifications/initialized" => {
            if let Some(s) = &cx.session {
                tracing::info!(target: "demo", session = %s.ctx.id().tag(), "client initialized");
            }
        }
        "notifications/cancelled" => {
            // Every request is answered before its HTTP response ends: nothing to cancel.
        }
        other => tracing::debug!(target: "demo", method = other, "notification ignored"),
    }
}

fn method_not_found(method: &str) -> RpcError {
    RpcError {
        code: METHOD_NOT_FOUND,
        message: format!("Method not found: {method}"),
    }
}

fn legacy_request(
    state: &AppState,
    cx: &Cx,
    method: &str,
    params: &Value,
) -> Result<Value, RpcError> {
    match method {
        "initialize" => Ok(initialize(params)?),
        "ping" => Ok(json!({})),
        "logging/setLevel" => Ok(json!({})),
        "tools/list" => Ok(json!({ "tools": tools(Era::Legacy) })),
        "tools/call" => call_tool(state, cx, params),
        other => catalog_request(other, params),
    }
}

/// Prompts and resources, the same in both eras; results carry the 2026-07-28
/// caching hints (`ttlMs`, `cacheScope`), which earlier clients ignore.
fn catalog_request(method: &str, params: &Value) -> Result<Value, RpcError> {
    let cache = |mut result: Value| {
        result["ttlMs"] = json!(CATALOG_TTL_MS);
        result["cacheScope"] = json!("public");
        result
    };
    match method {
        "prompts/list" => Ok(cache(json!({ "prompts": [{
            "name": "summarize",
            "description": "Asks for a one-paragraph summary of a text.",
            "arguments": [{ "name": "text", "description": "Text to summarize", "required": true }],
        }]}))),
        "prompts/get" => {
            let name = params
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if name != "summarize" {
                return Err(RpcError::invalid_params(format!("Unknown prompt: {name}")));
            }
            let text = params
                .pointer("/arguments/text")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    RpcError::invalid_params("prompts/get: argument `text` is required")
                })?;
            Ok(json!({
                "description": "Summarize a text",
                "messages": [{ "role": "user", "content": { "type": "text",
                    "text": format!("Summarize in one paragraph:\n\n{text}") } }],
            }))
        }
        "resources/list" => Ok(cache(json!({ "resources": [{
            "uri": README_URI,
            "name": "readme",
            "description": "What this server is.",
            "mimeType": "text/plain",
        }]}))),
        "resources/templates/list" => Ok(cache(json!({ "resourceTemplates": [{
            "uriTemplate": "demo://echo/{text}",
            "name": "echo",
            "description": "A resource whose content is the text in its URI.",
            "mimeType": "text/plain",
        }]}))),
        "resources/read" => {
            let uri = params
                .get("uri")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let text = if uri == README_URI {
                "mcp-tower-guard demo server: tower middleware in front of a hand-written MCP handler.".to_owned()
            } else if let Some(text) = uri.strip_prefix("demo://echo/") {
                text.to_owned()
            } else {
                // 2026-07-28: "resource not found" is -32602.
                return Err(RpcError::invalid_params(format!(
                    "Resource not found: {uri}"
                )));
            };
            Ok(cache(
                json!({ "contents": [{ "uri": uri, "mimeType": "text/plain", "text": text }] }),
            ))
        }
        other => Err(method_not_found(other)),
    }
}

/// How long clients may cache the demo's lists (`ttlMs`).
const CATALOG_TTL_MS: u64 = 60_000;
const README_URI: &str = "demo://readme";

/// `initialize`: echo the client's revision if we speak it, else answer with
/// the newest legacy revision (the client then decides whether to go on).
fn initialize(params: &Value) -> Result<Value, RpcError> {
    let requested = params
        .get("protocolVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            RpcError::invalid_params("initialize: params.protocolVersion is required")
        })?;
    let version = requested
        .parse::<ProtocolVersion>()
        .ok()
        .filter(|v| v.era() == Era::Legacy && ProtocolVersion::KNOWN.contains(v))
        .unwrap_or(LATEST_LEGACY);
    Ok(json!({
        "protocolVersion": version.to_string(),
        "capabilities": {
            "tools": { "listChanged": false },
            "prompts": { "listChanged": false },
            "resources": { "listChanged": false, "subscribe": false },
            "logging": {},
        },
        "serverInfo": server_info(),
        "instructions": "Demo server of mcp-tower-guard. Tools: echo, add, session_info.",
    }))
}

/// 2026-07-28: stateless; every result carries `resultType` and the server's
/// identity in `_meta`. Returns the notifications to stream before the result.
///
/// The layers have already refused what the revision removed (`ping`,
/// `initialize`, ...) with 404, and checked `_meta`, the `Mcp-*` headers and
/// the capabilities `tool_rules` requires; this only does the work.
fn modern_request(
    state: &AppState,
    cx: &Cx,
    method: &str,
    params: &Value,
) -> Result<(Vec<Value>, Value), RpcError> {
    let mut notes = Vec::new();
    let tasks = &state.inner.tasks;
    let mut result = match method {
        "server/discover" => json!({
            "supportedVersions": ProtocolVersion::KNOWN.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "capabilities": {
                "tools": { "listChanged": false },
                "prompts": { "listChanged": false },
                "resources": { "listChanged": false },
                "extensions": { tasks::EXTENSION: {} },
            },
            "instructions": "Demo server of mcp-tower-guard. Tools: echo, add, route_query, greet, slow_compute (a task).",
            "ttlMs": CATALOG_TTL_MS,
            "cacheScope": "public",
        }),
        "tools/list" => {
            json!({ "tools": tools(Era::Modern), "ttlMs": CATALOG_TTL_MS, "cacheScope": "public" })
        }
        "tools/call" if params.get("name") == Some(&json!("slow_compute")) => {
            let (_, args) = tool_call(params)?;
            let seconds = args.get("seconds").and_then(Value::as_u64).ok_or_else(|| {
                RpcError::invalid_params("slow_compute: `seconds` must be a whole number")
            })?;
            let label = args.get("label").and_then(Value::as_str).unwrap_or("work");
            tasks.create(label, seconds.min(tasks::MAX_SECONDS))
        }
        "tools/call" => {
            let (result, logs) = call_tool_stateless(cx, params)?;
            notes = logs;
            result
        }
        // The extension's methods (SEP-2663): an unknown task is -32602.
        "tasks/get" => tasks.get(task_id(params)?).ok_or_else(unknown_task)?,
        "tasks/cancel" => tasks
            .cancel(task_id(params)?)
            .then(|| json!({}))
            .ok_or_else(unknown_task)?,
        "tasks/update" => tasks
            .contains(task_id(params)?)
            .then(|| json!({}))
            .ok_or_else(unknown_task)?,
        other => catalog_request(other, params)?,
    };
    if let Value::Object(map) = &mut result {
        map.entry("resultType").or_insert_with(|| json!("complete"));
        let meta = map
            .entry("_meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(meta) = meta {
            meta.insert("io.modelcontextprotocol/serverInfo".into(), server_info());
        }
    }
    Ok((notes, result))
}

/// `params.taskId` of a tasks request.
fn task_id(params: &Value) -> Result<&str, RpcError> {
    params
        .get("taskId")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params("params.taskId must be a string"))
}

fn unknown_task() -> RpcError {
    RpcError::invalid_params("Unknown task")
}

/// The checks `McpHeadersLayer` makes for the demo's tools, from the very
/// definitions `tools/list` returns: the `x-mcp-header` parameters of
/// `route_query`, and the sampling capability `test_missing_capability` needs.
pub fn tool_rules() -> Result<ToolRules, ConfigError> {
    ToolRules::from_tools_list(&tools(Era::Modern))?
        .require_capabilities("test_missing_capability", json!({ "sampling": {} }))?
        // A task handle is only for clients that declared the extension.
        .require_capabilities(
            "slow_compute",
            json!({ "extensions": { tasks::EXTENSION: {} } }),
        )
}

/// The tools of an era. `route_query` mirrors parameters into `Mcp-Param-*`
/// headers (2026-07-28, SEP-2243; earlier clients just see a schema extension).
/// The `test_*` tools exist for the conformance suite's 2026-07-28 scenarios.
fn tools(era: Era) -> Value {
    let mut tools = common_tools();
    if era == Era::Modern {
        if let Value::Array(list) = &mut tools {
            list.extend(conformance_tools());
        }
    }
    tools
}

fn conformance_tools() -> Vec<Value> {
    let no_args = json!({ "type": "object", "additionalProperties": false });
    vec![
        json!({
            "name": "greet",
            "description": "Greets `name` at once (a plain result, never a task).",
            "inputSchema": {
                "type": "object",
                "properties": { "name": { "type": "string" } },
                "required": ["name"],
            },
        }),
        json!({
            "name": "slow_compute",
            "description": "Works for `seconds` (at most 600) as a task (tasks extension, SEP-2663): poll it with tasks/get, end it with tasks/cancel.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "seconds": { "type": "integer", "minimum": 0 },
                    "label": { "type": "string" },
                },
                "required": ["seconds"],
            },
        }),
        json!({
            "name": "test_missing_capability",
            "description": "Needs the client's sampling capability (the edge answers -32021 without it).",
            "inputSchema": no_args,
        }),
        json!({
            "name": "test_logging_tool",
            "description": "Logs one message, only when the request sets _meta io.modelcontextprotocol/logLevel.",
            "inputSchema": no_args,
        }),
        json!({
            "name": "test_streaming_elicitation",
            "description": "Asks the client for input with an InputRequiredResult (MRTR), never a server request.",
            "inputSchema": no_args,
        }),
    ]
}

fn common_tools() -> Value {
    json!([
        {
            "name": "echo",
            "description": "Returns the text it is given, and logs it to the session's GET stream.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "text": { "type": "string", "description": "Text to echo" },
                    "delayMs": {
                        "type": "integer", "minimum": 0, "maximum": MAX_TOOL_DELAY_MS,
                        "description": "Work this long first (a slow tool)",
                    },
                },
                "required": ["text"],
            },
        },
        {
            "name": "add",
            "description": "Adds two numbers.",
            "inputSchema": {
                "type": "object",
                "properties": { "a": { "type": "number" }, "b": { "type": "number" } },
                "required": ["a", "b"],
            },
        },
        {
            "name": "session_info",
            "description": "Returns what the session layer knows about this session.",
            "inputSchema": { "type": "object", "properties": {} },
        },
        {
            "name": "route_query",
            "description": "Describes where a query would run. Its routing parameters are mirrored into Mcp-Param-* headers, so a gateway can route without reading the body.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "region": { "type": "string", "description": "Region to run in", "x-mcp-header": "Region" },
                    "shard": { "type": "integer", "description": "Shard number", "x-mcp-header": "Shard" },
                    "dry_run": { "type": "boolean", "description": "Plan only", "x-mcp-header": "DryRun" },
                    "target": {
                        "type": "object",
                        "properties": {
                            "zone": { "type": "string", "description": "Zone within the region", "x-mcp-header": "Zone" },
                        },
                    },
                    "query": { "type": "string", "description": "The query" },
                },
                "required": ["region"],
            },
        },
    ])
}

/// The `name` and `arguments` of a `tools/call`.
fn tool_call(params: &Value) -> Result<(&str, Map<String, Value>), RpcError> {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params("tools/call: params.name must be a string"))?;
    let args = match params.get("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(RpcError::invalid_params(
                "tools/call: params.arguments must be an object",
            ))
        }
    };
    Ok((name, args))
}

fn text_result(text: String, structured: Option<Value>) -> Value {
    let mut result = json!({ "content": [{ "type": "text", "text": text }], "isError": false });
    if let Some(s) = structured {
        result["structuredContent"] = s;
    }
    result
}

/// A failed tool run: reported to the model as an `isError` result, not as a protocol error.
fn tool_error(text: impl Into<String>) -> Value {
    json!({ "content": [{ "type": "text", "text": text.into() }], "isError": true })
}

fn call_tool(state: &AppState, cx: &Cx, params: &Value) -> Result<Value, RpcError> {
    let (name, args) = tool_call(params)?;
    match name {
        "echo" => {
            let Some(text) = args.get("text").and_then(Value::as_str) else {
                return Ok(tool_error("echo: argument `text` must be a string"));
            };
            if let Some(session) = &cx.session {
                state.notify(
                    &session.ctx,
                    json!({
                        "jsonrpc": "2.0",
                        "method": "notifications/message",
                        "params": { "level": "info", "logger": "echo", "data": { "echoed": text } },
                    }),
                );
            }
            Ok(text_result(text.to_owned(), None))
        }
        "session_info" => match &cx.session {
            Some(s) => {
                let info = s.info();
                Ok(text_result(info.to_string(), Some(info)))
            }
            None => Ok(tool_error("session_info: this request has no session")),
        },
        _ => call_pure_tool(name, &args),
    }
}

/// A 2026-07-28 `tools/call`: the result, and the notifications to stream before it.
fn call_tool_stateless(_cx: &Cx, params: &Value) -> Result<(Value, Vec<Value>), RpcError> {
    let (name, args) = tool_call(params)?;
    let meta = params.get("_meta");
    let result = match name {
        "echo" => match args.get("text").and_then(Value::as_str) {
            Some(text) => text_result(text.to_owned(), None),
            None => tool_error("echo: argument `text` must be a string"),
        },
        "session_info" => {
            tool_error("session_info: 2026-07-28 requests are stateless; there is no session")
        }
        "greet" => match args.get("name").and_then(Value::as_str) {
            Some(name) => text_result(format!("Hello, {name}!"), None),
            None => tool_error("greet: argument `name` must be a string"),
        },
        "test_missing_capability" => text_result(
            "the client declared the sampling capability".to_owned(),
            None,
        ),
        "test_logging_tool" => {
            // "servers MUST NOT emit notifications/message for requests that did
            // not include" io.modelcontextprotocol/logLevel.
            let level = meta
                .and_then(|m| m.get("io.modelcontextprotocol/logLevel"))
                .and_then(Value::as_str);
            let logs = level
                .map(|_| {
                    vec![json!({ "jsonrpc": "2.0", "method": "notifications/message",
                        "params": { "level": "info", "logger": "test_logging_tool", "data": "logged on request" } })]
                })
                .unwrap_or_default();
            return Ok((text_result("done".to_owned(), None), logs));
        }
        "test_streaming_elicitation" => json!({
            "resultType": "input_required",
            "inputRequests": {
                "confirm": {
                    "method": "elicitation/create",
                    "params": {
                        "mode": "form",
                        "message": "Confirm to go on",
                        "requestedSchema": {
                            "type": "object",
                            "properties": { "confirmed": { "type": "boolean" } },
                            "required": ["confirmed"],
                        },
                    },
                },
            },
            "requestState": "demo-elicitation-1",
        }),
        _ => call_pure_tool(name, &args)?,
    };
    Ok((result, Vec::new()))
}

/// Tools that need no session.
fn call_pure_tool(name: &str, args: &Map<String, Value>) -> Result<Value, RpcError> {
    match name {
        "add" => {
            let (Some(a), Some(b)) = (
                args.get("a").and_then(Value::as_f64),
                args.get("b").and_then(Value::as_f64),
            ) else {
                return Ok(tool_error("add: arguments `a` and `b` must be numbers"));
            };
            let sum = a + b;
            if !sum.is_finite() {
                return Ok(tool_error("add: the sum is not a finite number"));
            }
            let sum_json = if sum.fract() == 0.0 && sum.abs() < 9.0e15 {
                json!(sum as i64)
            } else {
                json!(sum)
            };
            Ok(text_result(
                sum_json.to_string(),
                Some(json!({ "sum": sum_json })),
            ))
        }
        "route_query" => {
            let Some(region) = args.get("region").and_then(Value::as_str) else {
                return Ok(tool_error(
                    "route_query: argument `region` must be a string",
                ));
            };
            let shard = args.get("shard").and_then(Value::as_i64);
            let dry_run = args
                .get("dry_run")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let zone = args
                .get("target")
                .and_then(|t| t.get("zone"))
                .and_then(Value::as_str);
            let plan = json!({ "region": region, "shard": shard, "zone": zone, "dryRun": dry_run });
            Ok(text_result(plan.to_string(), Some(plan)))
        }
        other => Err(RpcError::invalid_params(format!("Unknown tool: {other}"))),
    }
}

// ---------------------------------------------------------------------------
// Serving: TCP_NODELAY, HTTP/1.1 keep-alive and HTTP/2 (h2c) on one port, graceful shutdown
// ---------------------------------------------------------------------------

/// How long shutdown waits for open connections before giving up on them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` completes, then drains
/// connections (at most [`DRAIN_TIMEOUT`]).
///
/// Every accepted socket gets `TCP_NODELAY`. The connection speaks HTTP/1.1
/// (keep-alive, 30 s header read timeout) or HTTP/2 with prior knowledge
/// (h2c), whichever the client opens with.
pub async fn serve<F>(listener: TcpListener, router: Router, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(Duration::from_secs(20));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(target: "demo", %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(target: "demo", %err, "TCP_NODELAY not set");
        }
        let svc = TowerToHyperService::new(router.clone().map_request(
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                // The session layer records the peer (`SocketAddr`) as client info;
                // axum extractors read `ConnectInfo`.
                req.extensions_mut().insert(peer);
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                req.map(Body::new)
            },
        ));
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(tcp), svc);
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            if let Err(err) = conn.await {
                tracing::debug!(target: "demo", %peer, %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(target: "demo", connections = graceful.count(), "draining connections");
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(target: "demo", "connections still open after {DRAIN_TIMEOUT:?}; closing them");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/// RFC 3339 UTC timestamp with milliseconds, e.g. `2026-08-22T10:15:30.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{hh:02}:{mm:02}:{ss:02}.{:03}Z",
        d.subsec_millis()
    )
}

/// Ends every session (close hooks fire with cause `Shutdown`, so GET streams
/// end) and refuses new ones.
pub fn shutdown_store(store: &MokaSessionStore) {
    store.shutdown();
}
