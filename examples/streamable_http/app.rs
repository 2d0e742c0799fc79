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
//!
//! Its parts, beside this file: `guards.rs` (the layers, built from the
//! settings), `handlers.rs` (POST, GET and DELETE on `/mcp`), `jsonrpc.rs`
//! (the methods), `mcp_tools.rs` (the tools), `tasks.rs` (the tasks
//! extension) and `serving.rs` (the HTTP/1.1 and HTTP/2 server).
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

#[path = "guards.rs"]
mod guards;
#[path = "handlers.rs"]
mod handlers;
#[path = "jsonrpc.rs"]
mod jsonrpc;
#[path = "mcp_tools.rs"]
mod mcp_tools;
#[path = "serving.rs"]
mod serving;

use guards::Guards;
use handlers::{mcp_delete, mcp_get, mcp_post};
#[cfg(feature = "telemetry")]
use jsonrpc::catalog_request;
use jsonrpc::{handle_message, handle_message_reply};
pub use mcp_tools::tool_rules;
use mcp_tools::{call_tool, call_tool_stateless, tool_call, tools};
pub use serving::serve;

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
