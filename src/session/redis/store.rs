//! [`RedisSessionStore`]: the session table in Redis, shared by replicas.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{AsyncConnectionConfig, Client, RedisError, Script, ScriptInvocation, Value};
use http::HeaderValue;
use moka::sync::Cache;
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::near_cache::NearCache;
use super::notify::{self, CloseMessage};
use super::scripts::{as_bytes, as_string, as_u64, Reply, Scripts};
use crate::protocol::ProtocolVersion;
use crate::session::context::{ClientInfo, SessionContext};
use crate::session::hooks::SessionHooks;
use crate::session::id::SessionId;
use crate::session::principal::Principal;
use crate::session::stats::{Counters, RejectReason, SessionStats};
use crate::session::store::{
    validate_limits, CloseCause, LimitScope, Reservation, SessionStore, StoreCall, StoreError,
};
use crate::ConfigError;

use crate::session::TARGET;

/// Longest duration accepted for timeouts (as the moka store).
use crate::session::store::MAX_DURATION;
/// How long a closed session's cause is kept in Redis (`{P}:t:<id>`), for
/// replicas that missed the notification.
const TOMBSTONE_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a replica remembers it already ran the close hook for an id.
const RECENTLY_CLOSED_TTL: Duration = Duration::from_secs(120);
const RECENTLY_CLOSED_CAPACITY: u64 = 100_000;

/// True for the first of any number of concurrent closes of `id` on this
/// replica. `or_insert_with` coalesces concurrent callers; moka's `or_insert`
/// is a lookup then an insert, so two racing closes (the local DELETE and its
/// own pub/sub message) could both see a fresh entry and fire the hook twice
/// (finding F8).
fn first_close(recently_closed: &Cache<SessionId, ()>, id: &SessionId) -> bool {
    recently_closed
        .entry(id.clone())
        .or_insert_with(|| ())
        .is_fresh()
}
/// Ids per refresh or check script call.
const BATCH: usize = 500;
/// How long `build` waits for the first connection and subscription.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest refresh slack (see `Config::slack`).
const MAX_SLACK: Duration = Duration::from_secs(1);
/// Shortest maintenance tick.
const MIN_TICK: Duration = Duration::from_millis(10);

/// Why [`RedisSessionStoreBuilder::build`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// A setting is out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The URL is not a Redis URL.
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    /// Redis could not be reached, or refused the scripts or the subscription.
    #[error("cannot use Redis: {0}")]
    Connect(String),
}

#[derive(Clone, Debug)]
struct Config {
    prefix: String,
    idle_timeout: Duration,
    max_lifetime: Duration,
    max_sessions: usize,
    max_per_principal: Option<usize>,
    retry_after: Duration,
    unavailable_retry_after: Duration,
    timeout: Duration,
    reservation_ttl: Duration,
    near_cache_ttl: Option<Duration>,
    near_cache_capacity: u64,
    maintenance_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            prefix: "mcp-tower-guard".to_owned(),
            idle_timeout: Duration::from_secs(60 * 60),
            max_lifetime: Duration::from_secs(24 * 60 * 60),
            max_sessions: 10_000,
            max_per_principal: None,
            retry_after: Duration::from_secs(30),
            unavailable_retry_after: Duration::from_secs(1),
            timeout: Duration::from_millis(500),
            reservation_ttl: Duration::from_secs(60),
            near_cache_ttl: None,
            near_cache_capacity: 100_000,
            maintenance_interval: Duration::from_secs(1),
        }
    }
}

impl Config {
    /// How far past the idle timeout a refresh may set the deadline, so a busy
    /// session is written at most once per slack: a tenth of the idle timeout,
    /// at most 1 s. A session expires between `idle_timeout` and
    /// `idle_timeout + slack` after its last use.
    fn slack(&self) -> Duration {
        (self.idle_timeout / 10).min(MAX_SLACK)
    }

    /// The maintenance tick: the configured interval, but at most a quarter of
    /// the idle timeout so busy sessions are refreshed well before they lapse.
    fn tick(&self) -> Duration {
        self.maintenance_interval
            .min(self.idle_timeout / 4)
            .max(MIN_TICK)
    }
}

/// Redis key and channel names, all under one hash tag `{prefix}`.
#[derive(Debug)]
struct Keys {
    live: String,
    pending: String,
    idx: String,
    pcount: String,
    /// `{prefix}:`, for the per-session keys the scripts build.
    prefix: String,
    channel: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        let base = format!("{{{prefix}}}:");
        Self {
            live: format!("{base}live"),
            pending: format!("{base}pending"),
            idx: format!("{base}idx"),
            pcount: format!("{base}pcount"),
            channel: format!("{base}closed"),
            prefix: base,
        }
    }
}

/// A failed Redis call.
struct Failure {
    reason: String,
    /// The script may have run (timeout, connection lost after sending).
    ambiguous: bool,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn principal_arg(principal: Option<&Principal>) -> String {
    principal.map_or_else(String::new, |p| format!("+{}", p.as_str()))
}

/// The shared state of a store and its clones.
pub(super) struct Shared {
    conn: ConnectionManager,
    keys: Keys,
    scripts: Scripts,
    config: Config,
    hooks: SessionHooks,
    counters: Counters,
    /// Global `ZCARD`s from the latest script reply.
    live: AtomicU64,
    pending: AtomicU64,
    /// This replica's contexts, so requests on one session share in-flight
    /// count and per-session state.
    local: Mutex<HashMap<SessionId, SessionContext>>,
    near: Option<NearCache>,
    near_hits: AtomicU64,
    recently_closed: Cache<SessionId, ()>,
    /// Sessions whose last request ended: their idle timer restarts at the next tick.
    refresh_queue: Mutex<HashSet<SessionId>>,
    subscribed: AtomicBool,
    /// Set on (re)subscription until the held sessions were checked.
    needs_check: AtomicBool,
    healthy: AtomicBool,
    shut_down: AtomicBool,
    runtime: Handle,
    tasks: Mutex<Vec<AbortHandle>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for Shared {
    fn drop(&mut self) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
    }
}

impl Shared {
    pub(super) fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }

    fn unavailable(&self, reason: impl Into<String>) -> StoreError {
        StoreError::Unavailable {
            reason: reason.into(),
            retry_after: self.config.unavailable_retry_after,
        }
    }

    fn check_open(&self) -> Result<(), StoreError> {
        if self.is_shut_down() {
            return Err(self.unavailable("store is shut down"));
        }
        Ok(())
    }

    /// A script call with the common keys and arguments.
    fn invocation<'a>(&self, script: &'a Script) -> ScriptInvocation<'a> {
        let mut inv = script.prepare_invoke();
        inv.key(&self.keys.live)
            .key(&self.keys.pending)
            .key(&self.keys.idx)
            .key(&self.keys.pcount)
            .arg(&self.keys.prefix)
            .arg(&self.keys.channel)
            .arg(millis(TOMBSTONE_TTL));
        inv
    }

    /// Runs a script within the timeout and takes in the counts it reports.
    async fn run(&self, op: &'static str, inv: &ScriptInvocation<'_>) -> Result<Reply, Failure> {
        let mut conn = self.conn.clone();
        let timeout = self.config.timeout;
        let outcome = tokio::time::timeout(timeout, inv.invoke_async::<Value>(&mut conn)).await;
        let result = match outcome {
            Err(_) => Err(Failure {
                reason: format!(
                    "redis did not answer `{op}` within {} ms",
                    timeout.as_millis()
                ),
                ambiguous: true,
            }),
            Ok(Err(err)) => Err(Failure {
                reason: format!("redis `{op}` failed: {}", describe(&err)),
                ambiguous: !err.is_connection_refusal(),
            }),
            Ok(Ok(value)) => Reply::parse(value).ok_or_else(|| Failure {
                reason: format!("unexpected reply from redis to `{op}`"),
                ambiguous: false,
            }),
        };
        match &result {
            Ok(reply) => {
                self.mark_healthy();
                self.absorb(reply);
            }
            Err(failure) => self.mark_unhealthy(&failure.reason),
        }
        result
    }

    fn absorb(&self, reply: &Reply) {
        if let Some(live) = reply.live {
            self.live.store(live, Ordering::Relaxed);
        }
        if let Some(pending) = reply.pending {
            self.pending.store(pending, Ordering::Relaxed);
        }
        for (n, cause) in [
            (reply.closed_idle, CloseCause::IdleExpired),
            (reply.closed_lifetime, CloseCause::LifetimeExpired),
            (reply.closed_evicted, CloseCause::Evicted),
        ] {
            for _ in 0..n {
                self.counters.closed(cause);
            }
        }
    }

    fn mark_healthy(&self) {
        if !self.healthy.swap(true, Ordering::AcqRel) {
            tracing::info!(target: TARGET, "redis session store reachable again");
        }
    }

    fn mark_unhealthy(&self, reason: &str) {
        if self.healthy.swap(false, Ordering::AcqRel) {
            tracing::warn!(
                target: TARGET,
                reason,
                "redis session store unavailable: session requests get 503 until it answers again"
            );
        } else {
            tracing::debug!(target: TARGET, reason, "redis session store still unavailable");
        }
    }

    fn failure(&self, failure: Failure) -> StoreError {
        self.unavailable(failure.reason)
    }

    // -----------------------------------------------------------------------
    // Operations
    // -----------------------------------------------------------------------

    async fn reserve(
        self: Arc<Self>,
        id: SessionId,
        principal: Option<Principal>,
    ) -> Result<Reservation, StoreError> {
        self.check_open()?;
        let max_pp = self.config.max_per_principal.unwrap_or(0) as u64;
        let mut inv = self.invocation(&self.scripts.reserve);
        inv.arg(id.as_str())
            .arg(principal_arg(principal.as_ref()))
            .arg(self.config.max_sessions as u64)
            .arg(max_pp)
            .arg(millis(self.config.reservation_ttl));
        let reply = match self.run("reserve", &inv).await {
            Ok(reply) => reply,
            Err(failure) => {
                if failure.ambiguous {
                    self.spawn_discard(id);
                }
                return Err(self.failure(failure));
            }
        };
        let limit = |scope| StoreError::LimitReached {
            scope,
            retry_after: self.config.retry_after,
        };
        match reply.status.as_str() {
            "ok" => Ok(Reservation::new(id, principal)),
            "in_use" => Err(StoreError::IdInUse),
            "limit_principal" => Err(limit(LimitScope::Principal)),
            "limit_global" => Err(limit(LimitScope::Global)),
            other => Err(self.unavailable(format!("unexpected reserve status {other:?}"))),
        }
    }

    async fn commit(
        self: Arc<Self>,
        reservation: Reservation,
        session: SessionContext,
    ) -> Result<(), StoreError> {
        let id = reservation.id().clone();
        if let Err(err) = self.check_open() {
            self.spawn_discard(id);
            return Err(err);
        }
        let epoch = self.near.as_ref().map(NearCache::epoch);
        let mut inv = self.invocation(&self.scripts.commit);
        inv.arg(id.as_str())
            .arg(millis(self.config.idle_timeout))
            .arg(millis(self.config.max_lifetime));
        if let Some(version) = session.protocol_version() {
            inv.arg("v").arg(version.to_string());
        }
        let client = session.client();
        if let Some(ua) = client.user_agent_header() {
            inv.arg("ua").arg(ua.as_bytes());
        }
        if let Some(origin) = client.origin_header() {
            inv.arg("o").arg(origin.as_bytes());
        }
        if let Some(peer) = client.peer_addr() {
            inv.arg("a").arg(peer.to_string());
        }
        let reply = match self.run("commit", &inv).await {
            Ok(reply) => reply,
            Err(failure) => {
                // Never leave behind a session whose id nobody was given.
                self.spawn_discard(id);
                return Err(self.failure(failure));
            }
        };
        if reply.status != "ok" {
            return Err(self.unavailable(
                "the reservation lapsed before the session was committed \
                 (initialize took longer than reservation_ttl)",
            ));
        }
        self.counters.created.fetch_add(1, Ordering::Relaxed);
        lock(&self.local).insert(id.clone(), session.detached());
        if let (Some(near), Some(epoch)) = (&self.near, epoch) {
            let remaining = self.config.idle_timeout.min(self.config.max_lifetime);
            near.insert(&id, epoch, remaining);
        }
        tracing::debug!(
            target: TARGET,
            session = %id.tag(),
            principal = session.principal().map(|p| p.tag().to_string()),
            "session created"
        );
        self.hooks.created(&session);
        Ok(())
    }

    /// A near-cache hit: the local context, no round trip.
    fn near_hit(&self, id: &SessionId) -> Option<SessionContext> {
        let near = self.near.as_ref()?;
        if !self.subscribed.load(Ordering::Acquire) || !near.fresh(id) {
            return None;
        }
        let session = lock(&self.local).get(id)?.detached();
        // Redis does not see this use: restart its idle timer at the next tick.
        lock(&self.refresh_queue).insert(id.clone());
        self.near_hits.fetch_add(1, Ordering::Relaxed);
        Some(session)
    }

    async fn get(self: Arc<Self>, id: SessionId) -> Result<Option<SessionContext>, StoreError> {
        self.check_open()?;
        let epoch = self.near.as_ref().map(NearCache::epoch);
        let mut inv = self.invocation(&self.scripts.get);
        inv.arg(id.as_str())
            .arg(millis(self.config.idle_timeout))
            .arg(millis(self.config.slack()));
        let reply = self.run("get", &inv).await.map_err(|f| self.failure(f))?;
        match reply.status.as_str() {
            "ok" => {
                let remaining = reply
                    .extra
                    .first()
                    .and_then(as_u64)
                    .map_or(Duration::ZERO, Duration::from_millis);
                let session = {
                    let mut local = lock(&self.local);
                    match local.get(&id) {
                        Some(session) => session.detached(),
                        None => {
                            let fields = match reply.extra.get(1) {
                                Some(Value::Array(fields)) => fields.as_slice(),
                                _ => &[],
                            };
                            let session = restore(&id, fields);
                            local.insert(id.clone(), session.detached());
                            session
                        }
                    }
                };
                if let (Some(near), Some(epoch)) = (&self.near, epoch) {
                    near.insert(&id, epoch, remaining);
                }
                Ok(Some(session))
            }
            "none" => {
                // Closed while this replica held it; the notification may not
                // have arrived (or was missed while disconnected).
                if lock(&self.local).contains_key(&id) {
                    let cause = reply
                        .extra
                        .first()
                        .and_then(as_string)
                        .and_then(|c| CloseCause::from_name(&c))
                        .unwrap_or(CloseCause::Evicted);
                    self.fire_closed(&id, cause, None);
                }
                Ok(None)
            }
            other => Err(self.unavailable(format!("unexpected get status {other:?}"))),
        }
    }

    async fn remove(self: Arc<Self>, id: SessionId, cause: CloseCause) -> Result<bool, StoreError> {
        self.check_open()?;
        let mut inv = self.invocation(&self.scripts.remove);
        inv.arg(id.as_str()).arg(cause.as_str());
        let reply = self
            .run("remove", &inv)
            .await
            .map_err(|f| self.failure(f))?;
        match reply.status.as_str() {
            "ok" => {
                self.counters.closed(cause);
                self.fire_closed(&id, cause, None);
                Ok(true)
            }
            "none" => Ok(false),
            other => Err(self.unavailable(format!("unexpected remove status {other:?}"))),
        }
    }

    /// Drops a reservation (or an unannounced session) in the background.
    fn spawn_discard(self: &Arc<Self>, id: SessionId) {
        let shared = Arc::clone(self);
        self.runtime.spawn(async move {
            let mut inv = shared.invocation(&shared.scripts.discard);
            inv.arg(id.as_str());
            // On failure the reservation lapses after `reservation_ttl`.
            let _ = shared.run("discard", &inv).await;
        });
    }

    fn touch(&self, id: &SessionId) {
        if self.is_shut_down() {
            return;
        }
        // Only the end of the last request matters: while busy, the
        // maintenance tick keeps the session alive.
        let ended = lock(&self.local)
            .get(id)
            .is_some_and(|s| s.in_flight() == 0);
        if ended {
            lock(&self.refresh_queue).insert(id.clone());
        }
    }

    /// Runs the close hook on this replica, once per session. `known` rebuilds
    /// a context when this replica holds none.
    fn fire_closed(
        &self,
        id: &SessionId,
        cause: CloseCause,
        known: Option<(SystemTime, Option<Principal>)>,
    ) {
        if let Some(near) = &self.near {
            near.invalidate(id);
        }
        let held = lock(&self.local).remove(id);
        let session = match (held, known) {
            (Some(session), _) => session,
            (None, Some((created, principal))) => SessionContext::restore(
                id.clone(),
                principal,
                ClientInfo::default(),
                None,
                created,
                created,
            ),
            // The notification (with what is needed) will follow.
            (None, None) => return,
        };
        if !first_close(&self.recently_closed, id) {
            return;
        }
        tracing::debug!(
            target: TARGET,
            session = %id.tag(),
            principal = session.principal().map(|p| p.tag().to_string()),
            cause = cause.as_str(),
            "session closed"
        );
        self.hooks.closed(&session, cause);
    }

    pub(super) fn on_close_message(&self, message: CloseMessage) {
        let CloseMessage {
            cause,
            created_at,
            id,
            principal,
        } = message;
        self.fire_closed(&id, cause, Some((created_at, principal)));
    }

    /// A (re)subscription: trust the near cache again from a clean slate, and
    /// close the local sessions that ended while no notification could arrive.
    pub(super) async fn on_subscribed(&self) {
        if let Some(near) = &self.near {
            near.clear();
        }
        self.needs_check.store(true, Ordering::Release);
        self.subscribed.store(true, Ordering::Release);
        self.check_held().await;
    }

    /// Closes the held sessions Redis no longer has. Retried by the
    /// maintenance task until it gets through.
    async fn check_held(&self) {
        if !self.needs_check.swap(false, Ordering::AcqRel) {
            return;
        }
        let held: Vec<SessionId> = lock(&self.local).keys().cloned().collect();
        for chunk in held.chunks(BATCH) {
            let mut inv = self.invocation(&self.scripts.check);
            for id in chunk {
                inv.arg(id.as_str());
            }
            let states = match self.run("check", &inv).await {
                Ok(Reply { mut extra, .. }) if !extra.is_empty() => extra.swap_remove(0),
                _ => {
                    self.needs_check.store(true, Ordering::Release);
                    return;
                }
            };
            let Value::Array(states) = states else {
                continue;
            };
            for (id, state) in chunk.iter().zip(states) {
                let state = as_string(&state).unwrap_or_default();
                if !state.is_empty() {
                    let cause = CloseCause::from_name(&state).unwrap_or(CloseCause::Evicted);
                    self.fire_closed(id, cause, None);
                }
            }
        }
    }

    pub(super) fn on_unsubscribed(&self) {
        self.subscribed.store(false, Ordering::Release);
        if let Some(near) = &self.near {
            near.clear();
        }
    }

    /// One maintenance pass: close what expired, restart idle timers, keep busy
    /// sessions alive, forget contexts nobody used for an idle timeout.
    pub(super) async fn maintain_once(&self) {
        let inv = self.invocation(&self.scripts.sweep);
        let _ = self.run("sweep", &inv).await;
        self.check_held().await;

        let mut ids: Vec<SessionId> = lock(&self.refresh_queue).drain().collect();
        {
            let local = lock(&self.local);
            ids.extend(
                local
                    .iter()
                    .filter(|(_, s)| s.in_flight() > 0)
                    .map(|(id, _)| id.clone()),
            );
        }
        ids.sort_unstable();
        ids.dedup();
        for chunk in ids.chunks(BATCH) {
            let mut inv = self.invocation(&self.scripts.refresh);
            inv.arg(millis(self.config.idle_timeout))
                .arg(millis(self.config.slack()));
            for id in chunk {
                inv.arg(id.as_str());
            }
            if self.run("refresh", &inv).await.is_err() {
                break;
            }
        }

        let idle = self.config.idle_timeout;
        lock(&self.local)
            .retain(|_, s| s.in_flight() > 0 || s.last_seen_instant().elapsed() < idle);
    }

    fn shutdown(&self) {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return;
        }
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
        self.subscribed.store(false, Ordering::Release);
        if let Some(near) = &self.near {
            near.clear();
        }
        let held: Vec<(SessionId, SessionContext)> = lock(&self.local).drain().collect();
        for (id, session) in held {
            if first_close(&self.recently_closed, &id) {
                self.counters.closed(CloseCause::Shutdown);
                tracing::debug!(
                    target: TARGET,
                    session = %id.tag(),
                    cause = CloseCause::Shutdown.as_str(),
                    "session closed on this replica"
                );
                self.hooks.closed(&session, CloseCause::Shutdown);
            }
        }
    }

    fn stats(&self) -> SessionStats {
        let mut stats = self.counters.snapshot(self.pending.load(Ordering::Relaxed));
        stats.active = self.live.load(Ordering::Relaxed);
        stats
    }
}

/// A readable Redis error, without arguments (ids never appear).
fn describe(err: &RedisError) -> String {
    if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connection_refusal() {
        "connection refused".to_owned()
    } else if err.is_connection_dropped() {
        "connection dropped".to_owned()
    } else {
        err.to_string()
    }
}

/// A context from the stored session hash (a flat field/value array).
fn restore(id: &SessionId, fields: &[Value]) -> SessionContext {
    let mut created = None;
    let mut seen = None;
    let mut principal = None;
    let mut version = None;
    let mut user_agent = None;
    let mut origin = None;
    let mut peer = None;
    for pair in fields.chunks_exact(2) {
        let (Some(name), value) = (as_bytes(&pair[0]), &pair[1]) else {
            continue;
        };
        match name {
            b"c" => created = as_u64(value),
            b"seen" => seen = as_u64(value),
            b"p" => principal = as_string(value).map(Principal::new),
            b"v" => version = as_bytes(value).and_then(ProtocolVersion::parse_bytes),
            b"ua" => user_agent = as_bytes(value).and_then(|b| HeaderValue::from_bytes(b).ok()),
            b"o" => origin = as_bytes(value).and_then(|b| HeaderValue::from_bytes(b).ok()),
            b"a" => peer = as_string(value).and_then(|a| a.parse().ok()),
            _ => {}
        }
    }
    let at = |ms: Option<u64>| {
        ms.map_or_else(SystemTime::now, |ms| UNIX_EPOCH + Duration::from_millis(ms))
    };
    let created = at(created);
    SessionContext::restore(
        id.clone(),
        principal,
        ClientInfo::new(user_agent, origin, peer),
        version,
        created,
        seen.map_or(created, |ms| UNIX_EPOCH + Duration::from_millis(ms)),
    )
}

/// Legacy-era sessions in Redis, shared by every replica that points at the
/// same Redis and key prefix. See the [module docs](super) for the design and
/// its guarantees. Cloning is an `Arc` clone.
///
/// ```no_run
/// use std::time::Duration;
/// use mcp_tower_guard::session::redis::RedisSessionStore;
/// use mcp_tower_guard::McpSessionLayer;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisSessionStore::builder("redis://127.0.0.1:6379")
///     .idle_timeout(Duration::from_secs(30 * 60))
///     .max_sessions(10_000)
///     .max_sessions_per_principal(10)
///     .timeout(Duration::from_millis(500))
///     .near_cache(Duration::from_secs(1))
///     .on_closed(|session, cause| {
///         tracing::info!(session = %session.id().tag(), %cause, "session closed");
///     })
///     .build()
///     .await?;
/// let layer = McpSessionLayer::new(store.clone());
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisSessionStore {
    shared: Arc<Shared>,
}

impl RedisSessionStore {
    /// A builder for a store on the Redis at `url` (`redis://[user:password@]host[:port][/db]`,
    /// or `rediss://` when the `redis` crate's TLS features are enabled).
    pub fn builder(url: impl Into<String>) -> RedisSessionStoreBuilder {
        RedisSessionStoreBuilder {
            url: url.into(),
            config: Config::default(),
            hooks: SessionHooks::default(),
        }
    }

    /// A store with the defaults on the Redis at `url`.
    pub async fn connect(url: impl Into<String>) -> Result<Self, RedisStoreError> {
        Self::builder(url).build().await
    }

    /// A snapshot of the counters. `active` and `reserved` are the global
    /// numbers (all replicas) as of this replica's latest sweep, create or
    /// delete (at most one maintenance tick old); the other counters count what *this*
    /// replica did (sessions it created, closes its scripts performed,
    /// requests it refused), so summing them over replicas gives the totals.
    pub fn stats(&self) -> SessionStats {
        self.shared.stats()
    }

    /// Lookups answered by the near cache (no round trip) on this replica.
    pub fn near_cache_hits(&self) -> u64 {
        self.shared.near_hits.load(Ordering::Relaxed)
    }

    /// Whether this replica currently receives close notifications. While it
    /// does not, the near cache is bypassed.
    pub fn notifications_connected(&self) -> bool {
        self.shared.subscribed.load(Ordering::Acquire)
    }

    /// Runs one maintenance pass now (the maintenance task does this on an
    /// interval): closes expired sessions (their notifications go out),
    /// restarts idle timers of sessions whose requests ended, keeps busy
    /// sessions alive.
    pub async fn run_pending_tasks(&self) {
        self.shared.maintain_once().await;
    }

    /// Stops this replica: fires the close hook with [`CloseCause::Shutdown`]
    /// for every session this replica holds (so its streams end), stops the
    /// background tasks and refuses further calls (503).
    ///
    /// Sessions stay in Redis: the other replicas keep serving them (a rolling
    /// restart does not log clients out). A session whose last user was this
    /// replica expires by its idle timeout.
    pub fn shutdown(&self) {
        self.shared.shutdown();
    }
}

impl fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.stats();
        f.debug_struct("RedisSessionStore")
            .field("active", &stats.active)
            .field("reserved", &stats.reserved)
            .field("prefix", &self.shared.config.prefix)
            .field("notifications_connected", &self.notifications_connected())
            .field("hooks", &self.shared.hooks)
            .finish_non_exhaustive()
    }
}

impl SessionStore for RedisSessionStore {
    fn reserve(
        &self,
        id: &SessionId,
        principal: Option<&Principal>,
    ) -> StoreCall<Result<Reservation, StoreError>> {
        let shared = Arc::clone(&self.shared);
        // If the request is dropped while the script may be running, the slot
        // is given back in the background rather than held for `reservation_ttl`.
        let mut guard = DiscardOnDrop {
            shared: Some(Arc::clone(&self.shared)),
            id: id.clone(),
        };
        let call = shared.reserve(id.clone(), principal.cloned());
        StoreCall::pending(async move {
            let result = call.await;
            guard.disarm();
            result
        })
    }

    fn commit(
        &self,
        reservation: Reservation,
        session: SessionContext,
    ) -> StoreCall<Result<(), StoreError>> {
        // In a task: the session is stored and announced (created hook) even if
        // the request is dropped meanwhile.
        let shared = Arc::clone(&self.shared);
        let failed = self.shared.unavailable("commit task failed");
        let task = self
            .shared
            .runtime
            .spawn(shared.commit(reservation, session));
        StoreCall::pending(async move { task.await.unwrap_or(Err(failed)) })
    }

    fn release(&self, reservation: Reservation) {
        self.shared.spawn_discard(reservation.id().clone());
    }

    fn abandon(&self, reservation: Reservation, session: &SessionContext) {
        self.shared.spawn_discard(reservation.id().clone());
        // Only this replica saw the id: the hook fires here, not on the channel.
        self.shared.counters.closed(CloseCause::InitializeFailed);
        self.shared
            .hooks
            .closed(session, CloseCause::InitializeFailed);
    }

    fn get(&self, id: &SessionId) -> StoreCall<Result<Option<SessionContext>, StoreError>> {
        if let Err(err) = self.shared.check_open() {
            return StoreCall::Ready(Err(err));
        }
        if let Some(session) = self.shared.near_hit(id) {
            return StoreCall::Ready(Ok(Some(session)));
        }
        let shared = Arc::clone(&self.shared);
        StoreCall::pending(shared.get(id.clone()))
    }

    fn remove(&self, id: &SessionId, cause: CloseCause) -> StoreCall<Result<bool, StoreError>> {
        // In a task, like commit: the close hook fires even if the request is dropped.
        let shared = Arc::clone(&self.shared);
        let failed = self.shared.unavailable("remove task failed");
        let task = self.shared.runtime.spawn(shared.remove(id.clone(), cause));
        StoreCall::pending(async move { task.await.unwrap_or(Err(failed)) })
    }

    fn touch(&self, id: &SessionId) {
        self.shared.touch(id);
    }

    fn note_rejected(&self, reason: RejectReason) {
        self.shared.counters.rejected(reason);
    }

    fn stats(&self) -> SessionStats {
        self.shared.stats()
    }

    fn shutdown(&self) -> StoreCall<()> {
        self.shared.shutdown();
        StoreCall::Ready(())
    }
}

/// Discards a reservation whose `reserve` call was dropped before it answered.
struct DiscardOnDrop {
    shared: Option<Arc<Shared>>,
    id: SessionId,
}

impl DiscardOnDrop {
    fn disarm(&mut self) {
        self.shared = None;
    }
}

impl Drop for DiscardOnDrop {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            shared.spawn_discard(self.id.clone());
        }
    }
}

/// Configures a [`RedisSessionStore`].
#[must_use]
pub struct RedisSessionStoreBuilder {
    url: String,
    config: Config,
    hooks: SessionHooks,
}

impl RedisSessionStoreBuilder {
    /// The namespace of the store's keys and channel (default
    /// `mcp-tower-guard`): keys are `{prefix}:…`, the channel `{prefix}:closed`.
    /// Replicas sharing sessions use the same prefix; different prefixes keep
    /// independent tables in one Redis. No `{` or `}`.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.prefix = prefix.into();
        self
    }

    /// Closes a session after this long without requests on any replica
    /// (default 60 min). A session with a request in flight, or a retained
    /// context, on some replica is kept alive by that replica.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// Closes a session this long after creation, busy or not (default 24 h).
    pub fn max_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.max_lifetime = lifetime;
        self
    }

    /// At most this many sessions over all replicas, counting `initialize`
    /// requests in progress (default 10 000).
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.config.max_sessions = max;
        self
    }

    /// At most this many sessions per principal over all replicas (default:
    /// no per-principal limit). Anonymous sessions count only against
    /// `max_sessions`.
    pub fn max_sessions_per_principal(mut self, max: usize) -> Self {
        self.config.max_per_principal = Some(max);
        self
    }

    /// The `Retry-After` sent with 429 (default 30 s).
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.config.retry_after = after;
        self
    }

    /// The `Retry-After` sent with 503 while Redis does not answer (default 1 s).
    pub fn unavailable_retry_after(mut self, after: Duration) -> Self {
        self.config.unavailable_retry_after = after;
        self
    }

    /// The longest wait for any Redis call (default 500 ms). A call that takes
    /// longer fails, and the request gets 503 with `Retry-After`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// How long a reserved slot is held for an `initialize` still running
    /// (default 60 s). Normally the slot is committed or released at once; this
    /// bounds what a crashed replica leaves behind.
    pub fn reservation_ttl(mut self, ttl: Duration) -> Self {
        self.config.reservation_ttl = ttl;
        self
    }

    /// Turns on the near cache: a lookup of a session Redis confirmed live less
    /// than `ttl` ago on this replica is answered without a round trip
    /// (default: off). A close on another replica is seen here after the
    /// notification arrives (normally milliseconds) and never later than `ttl`.
    pub fn near_cache(mut self, ttl: Duration) -> Self {
        self.config.near_cache_ttl = Some(ttl);
        self
    }

    /// Most ids in the near cache (default 100 000).
    pub fn near_cache_capacity(mut self, capacity: u64) -> Self {
        self.config.near_cache_capacity = capacity;
        self
    }

    /// How often the maintenance task sweeps expired sessions (announcing
    /// them to every replica) and refreshes idle timers (default 1 s; never
    /// more than a quarter of the idle timeout).
    pub fn maintenance_interval(mut self, every: Duration) -> Self {
        self.config.maintenance_interval = every;
        self
    }

    /// Runs `hook` on this replica after it created a session. Same rules as
    /// [`MokaSessionStoreBuilder::on_closed`](crate::session::MokaSessionStoreBuilder::on_closed).
    pub fn on_created<F>(mut self, hook: F) -> Self
    where
        F: Fn(&SessionContext) + Send + Sync + 'static,
    {
        self.hooks.on_created = Some(Arc::new(hook));
        self
    }

    /// Runs `hook` once per replica when a session ends, wherever it ended:
    /// every replica's hook sees every close (with the context this replica
    /// holds, or one rebuilt from the notification: id, principal, creation
    /// time). Quick, non-blocking, no store calls; panics are caught.
    pub fn on_closed<F>(mut self, hook: F) -> Self
    where
        F: Fn(&SessionContext, CloseCause) + Send + Sync + 'static,
    {
        self.hooks.on_closed = Some(Arc::new(hook));
        self
    }

    /// Validates the settings, connects (waiting at most 5 s), loads the
    /// scripts, subscribes to close notifications and starts the maintenance
    /// task. Must run inside a tokio runtime; the store's tasks run on it.
    pub async fn build(self) -> Result<RedisSessionStore, RedisStoreError> {
        let Self {
            url,
            mut config,
            hooks,
        } = self;
        validate(&config)?;
        config.idle_timeout = config.idle_timeout.min(MAX_DURATION);
        config.max_lifetime = config.max_lifetime.min(MAX_DURATION);

        let client = Client::open(url.as_str())
            .map_err(|err| RedisStoreError::InvalidUrl(describe(&err)))?;
        // One plain connection first: a refused or unreachable Redis fails
        // fast here, where the connection manager would retry with backoff.
        let probe = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(CONNECT_TIMEOUT));
        let mut probe = client
            .get_multiplexed_async_connection_with_config(&probe)
            .await
            .map_err(|err| RedisStoreError::Connect(describe(&err)))?;
        ::redis::cmd("PING")
            .query_async::<Value>(&mut probe)
            .await
            .map_err(|err| RedisStoreError::Connect(describe(&err)))?;
        drop(probe);
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout.max(Duration::from_millis(100))))
            .set_response_timeout(Some(config.timeout))
            .set_max_delay(Duration::from_secs(2));
        let mut conn = tokio::time::timeout(
            CONNECT_TIMEOUT,
            ConnectionManager::new_with_config(client.clone(), manager),
        )
        .await
        .map_err(|_| RedisStoreError::Connect("timed out".to_owned()))?
        .map_err(|err| RedisStoreError::Connect(describe(&err)))?;
        let scripts = Scripts::new();
        for script in scripts.all() {
            tokio::time::timeout(CONNECT_TIMEOUT, script.load_async(&mut conn))
                .await
                .map_err(|_| RedisStoreError::Connect("loading scripts timed out".to_owned()))?
                .map_err(|err| {
                    RedisStoreError::Connect(format!("loading scripts: {}", describe(&err)))
                })?;
        }

        let near = config
            .near_cache_ttl
            .map(|ttl| NearCache::new(ttl, config.near_cache_capacity));
        let keys = Keys::new(&config.prefix);
        let channel = keys.channel.clone();
        let timeout = config.timeout;
        let tick = config.tick();
        let shared = Arc::new(Shared {
            conn,
            keys,
            scripts,
            config,
            hooks,
            counters: Counters::default(),
            live: AtomicU64::new(0),
            pending: AtomicU64::new(0),
            local: Mutex::new(HashMap::new()),
            near,
            near_hits: AtomicU64::new(0),
            recently_closed: Cache::builder()
                .max_capacity(RECENTLY_CLOSED_CAPACITY)
                .time_to_live(RECENTLY_CLOSED_TTL)
                .build(),
            refresh_queue: Mutex::new(HashSet::new()),
            subscribed: AtomicBool::new(false),
            needs_check: AtomicBool::new(false),
            healthy: AtomicBool::new(true),
            shut_down: AtomicBool::new(false),
            runtime: Handle::current(),
            tasks: Mutex::new(Vec::new()),
        });

        let (ready_tx, mut ready) = watch::channel(false);
        let subscriber = tokio::spawn(notify::subscriber(
            Arc::downgrade(&shared),
            client,
            channel,
            timeout,
            ready_tx,
        ));
        let maintenance = tokio::spawn(notify::maintenance(Arc::downgrade(&shared), tick));
        lock(&shared.tasks).extend([subscriber.abort_handle(), maintenance.abort_handle()]);
        let subscribed = tokio::time::timeout(CONNECT_TIMEOUT, ready.wait_for(|ok| *ok)).await;
        if !matches!(subscribed, Ok(Ok(_))) {
            // Dropping `shared` aborts the tasks.
            return Err(RedisStoreError::Connect(
                "cannot subscribe to close notifications".to_owned(),
            ));
        }
        tracing::debug!(
            target: TARGET,
            prefix = %shared.config.prefix,
            near_cache = ?shared.near.as_ref().map(NearCache::ttl),
            "redis session store ready"
        );
        Ok(RedisSessionStore { shared })
    }
}

fn validate(c: &Config) -> Result<(), ConfigError> {
    let invalid = |setting: &'static str, reason: &str| ConfigError::InvalidSetting {
        setting,
        reason: reason.to_owned(),
    };
    if c.prefix.is_empty() || c.prefix.contains(['{', '}']) {
        return Err(invalid("key_prefix", "must be non-empty, without { or }"));
    }
    validate_limits(
        c.idle_timeout,
        c.max_lifetime,
        c.max_sessions,
        c.max_per_principal,
    )?;
    let positive = "must be greater than zero";
    if c.timeout.is_zero() {
        return Err(invalid("timeout", positive));
    }
    if c.reservation_ttl.is_zero() {
        return Err(invalid("reservation_ttl", positive));
    }
    if c.near_cache_ttl.is_some_and(|t| t.is_zero()) {
        return Err(invalid("near_cache", positive));
    }
    if c.near_cache_capacity == 0 {
        return Err(invalid("near_cache_capacity", positive));
    }
    if c.maintenance_interval.is_zero() {
        return Err(invalid("maintenance_interval", positive));
    }
    Ok(())
}

impl fmt::Debug for RedisSessionStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the URL: it may carry a password.
        f.debug_struct("RedisSessionStoreBuilder")
            .field("config", &self.config)
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn concurrent_closes_of_one_id_fire_once() {
        // Regression for F8: the local close and the pub/sub echo race.
        let cache: Cache<SessionId, ()> = Cache::builder()
            .max_capacity(RECENTLY_CLOSED_CAPACITY)
            .build();
        let ids: Vec<SessionId> = (0..2_000).map(|_| SessionId::new_random()).collect();
        let fired = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for id in &ids {
                        if super::first_close(&cache, id) {
                            fired.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(fired.into_inner(), ids.len());
    }
    use super::*;

    #[test]
    fn keys_share_one_hash_tag() {
        let keys = Keys::new("app");
        assert_eq!(keys.live, "{app}:live");
        assert_eq!(keys.channel, "{app}:closed");
        assert_eq!(keys.prefix, "{app}:");
    }

    #[test]
    fn slack_is_a_tenth_of_idle_at_most_a_second() {
        let mut c = Config::default();
        assert_eq!(c.slack(), Duration::from_secs(1));
        c.idle_timeout = Duration::from_secs(2);
        assert_eq!(c.slack(), Duration::from_millis(200));
    }

    #[test]
    fn tick_stays_under_the_idle_timeout() {
        let mut c = Config::default();
        assert_eq!(c.tick(), Duration::from_secs(1));
        c.idle_timeout = Duration::from_secs(1);
        assert_eq!(c.tick(), Duration::from_millis(250));
        c.idle_timeout = Duration::from_millis(1);
        assert_eq!(c.tick(), MIN_TICK);
    }

    #[test]
    fn settings_are_validated() {
        let ok = Config::default();
        assert!(validate(&ok).is_ok());
        for bad in [
            Config {
                prefix: "a{b".into(),
                ..Config::default()
            },
            Config {
                timeout: Duration::ZERO,
                ..Config::default()
            },
            Config {
                near_cache_ttl: Some(Duration::ZERO),
                ..Config::default()
            },
            Config {
                max_per_principal: Some(0),
                ..Config::default()
            },
        ] {
            assert!(validate(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn restores_a_context_from_stored_fields() {
        let id = SessionId::new_random();
        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let fields = [
            b("c"),
            b("1700000000000"),
            b("seen"),
            b("1700000005000"),
            b("p"),
            b("user:a"),
            b("v"),
            b("2025-06-18"),
            b("ua"),
            b("curl/8"),
            b("a"),
            b("127.0.0.1:9"),
            b("zz"),
        ];
        let s = restore(&id, &fields);
        assert_eq!(s.id(), &id);
        assert_eq!(
            s.created_at(),
            UNIX_EPOCH + Duration::from_millis(1_700_000_000_000)
        );
        assert_eq!(
            s.last_seen(),
            UNIX_EPOCH + Duration::from_millis(1_700_000_005_000)
        );
        assert_eq!(s.principal(), Some(&Principal::new("user:a")));
        assert_eq!(s.protocol_version(), Some(ProtocolVersion::V2025_06_18));
        assert_eq!(s.client().user_agent(), Some("curl/8"));
        assert_eq!(s.client().origin(), None);
        assert_eq!(s.client().peer_addr(), Some("127.0.0.1:9".parse().unwrap()));
    }
}
