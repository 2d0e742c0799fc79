//! The store's engine: the state replicas keep, and each operation as a
//! script call with its timeout, health tracking and close hooks.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use ::redis::aio::ConnectionManager;
use ::redis::{Script, ScriptInvocation, Value};
use moka::sync::Cache;
use tokio::runtime::Handle;
use tokio::task::AbortHandle;

use crate::session::id::SessionId;
use crate::session::principal::Principal;
use crate::session::store::close::CloseCause;
use crate::session::store::common::StoreCore;
use crate::session::store::redis::codec::CloseMessage;
use crate::session::store::redis::codec::{describe, millis, principal_arg, restore, Keys};
use crate::session::store::redis::config::{slack, Config};
use crate::session::store::redis::near_cache::NearCache;
use crate::session::store::redis::scripts::{as_string, as_u64, Reply, Scripts};
use crate::session::store::stats::{Counters, SessionStats};
use crate::session::store::{LimitScope, Reservation, StoreError};
use crate::session::TARGET;
use crate::session::{client_info::ClientInfo, context::SessionContext};

/// How long a closed session's cause is kept in Redis (`{P}:t:<id>`), for
/// replicas that missed the notification.
const TOMBSTONE_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a replica remembers it already ran the close hook for an id.
pub(super) const RECENTLY_CLOSED_TTL: Duration = Duration::from_secs(120);
pub(super) const RECENTLY_CLOSED_CAPACITY: u64 = 100_000;

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

/// A failed Redis call.
struct Failure {
    reason: String,
    /// The script may have run (timeout, connection lost after sending).
    ambiguous: bool,
}

/// The shared state of a store and its clones.
pub(super) struct Shared {
    pub(super) conn: ConnectionManager,
    pub(super) keys: Keys,
    pub(super) scripts: Scripts,
    pub(super) core: StoreCore,
    pub(super) config: Config,
    pub(super) counters: Counters,
    /// Global `ZCARD`s from the latest script reply.
    pub(super) live: AtomicU64,
    pub(super) pending: AtomicU64,
    /// This replica's contexts, so requests on one session share in-flight
    /// count and per-session state.
    pub(super) local: Mutex<HashMap<SessionId, SessionContext>>,
    pub(super) near: Option<NearCache>,
    pub(super) near_hits: AtomicU64,
    pub(super) recently_closed: Cache<SessionId, ()>,
    /// Sessions whose last request ended: their idle timer restarts at the next tick.
    pub(super) refresh_queue: Mutex<HashSet<SessionId>>,
    pub(super) subscribed: AtomicBool,
    /// Set on (re)subscription until the held sessions were checked.
    pub(super) needs_check: AtomicBool,
    pub(super) healthy: AtomicBool,
    pub(super) shut_down: AtomicBool,
    pub(super) runtime: Handle,
    pub(super) tasks: Mutex<Vec<AbortHandle>>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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

    pub(super) fn unavailable(&self, reason: impl Into<String>) -> StoreError {
        self.core.unavailable(reason)
    }

    pub(super) fn check_open(&self) -> Result<(), StoreError> {
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

    pub(super) async fn reserve(
        self: Arc<Self>,
        id: SessionId,
        principal: Option<Principal>,
    ) -> Result<Reservation, StoreError> {
        self.check_open()?;
        let max_pp = self.core.max_per_principal.unwrap_or(0) as u64;
        let mut inv = self.invocation(&self.scripts.reserve);
        inv.arg(id.as_str())
            .arg(principal_arg(principal.as_ref()))
            .arg(self.core.max_sessions as u64)
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
        let limit = |scope| self.core.limit_reached(scope);
        match reply.status.as_str() {
            "ok" => Ok(Reservation::new(id, principal)),
            "in_use" => Err(StoreError::IdInUse),
            "limit_principal" => Err(limit(LimitScope::Principal)),
            "limit_global" => Err(limit(LimitScope::Global)),
            other => Err(self.unavailable(format!("unexpected reserve status {other:?}"))),
        }
    }

    pub(super) async fn commit(
        self: Arc<Self>,
        reservation: Reservation,
        session: SessionContext,
    ) -> Result<(), StoreError> {
        // The session's id is the reservation's, or the one an inner server
        // chose (SessionOwner::Server): the script moves the slot to it.
        let reserved = reservation.id().clone();
        let id = session.id().clone();
        if let Err(err) = self.check_open() {
            self.spawn_discard(reserved);
            return Err(err);
        }
        let epoch = self.near.as_ref().map(NearCache::epoch);
        let mut inv = self.invocation(&self.scripts.commit);
        inv.arg(reserved.as_str())
            .arg(id.as_str())
            .arg(millis(self.core.idle_timeout))
            .arg(millis(self.core.max_lifetime));
        if let Some(version) = session.protocol_version() {
            inv.arg("v").arg(version.to_string());
        }
        let client = session.client();
        if let Some(ua) = client.user_agent_bytes() {
            inv.arg("ua").arg(ua);
        }
        if let Some(origin) = client.origin_bytes() {
            inv.arg("o").arg(origin);
        }
        if let Some(replica) = session.replica() {
            inv.arg("r").arg(replica);
        }
        if let Some(peer) = client.peer_addr() {
            inv.arg("a").arg(peer.to_string());
        }
        let reply = match self.run("commit", &inv).await {
            Ok(reply) => reply,
            Err(failure) => {
                // Never leave behind a session whose id nobody was given. (An
                // id an inner server chose is left to expire: discarding it
                // could end another session that holds the same id.)
                self.spawn_discard(reserved);
                return Err(self.failure(failure));
            }
        };
        if reply.status == "in_use" {
            return Err(StoreError::IdInUse);
        }
        if reply.status != "ok" {
            return Err(self.unavailable(
                "the reservation lapsed before the session was committed \
                 (initialize took longer than reservation_ttl)",
            ));
        }
        self.counters.created.fetch_add(1, Ordering::Relaxed);
        lock(&self.local).insert(id.clone(), session.detached());
        if let (Some(near), Some(epoch)) = (&self.near, epoch) {
            let remaining = self.core.idle_timeout.min(self.core.max_lifetime);
            near.insert(&id, epoch, remaining);
        }
        tracing::debug!(
            target: TARGET,
            session = %id.tag(),
            principal = session.principal().map(|p| p.tag().to_string()),
            "session created"
        );
        self.core.hooks.created(&session);
        Ok(())
    }

    /// A near-cache hit: the local context, no round trip.
    pub(super) fn near_hit(&self, id: &SessionId) -> Option<SessionContext> {
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

    pub(super) async fn get(
        self: Arc<Self>,
        id: SessionId,
    ) -> Result<Option<SessionContext>, StoreError> {
        self.check_open()?;
        let epoch = self.near.as_ref().map(NearCache::epoch);
        let mut inv = self.invocation(&self.scripts.get);
        inv.arg(id.as_str())
            .arg(millis(self.core.idle_timeout))
            .arg(millis(slack(self.core.idle_timeout)));
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

    pub(super) async fn remove(
        self: Arc<Self>,
        id: SessionId,
        cause: CloseCause,
    ) -> Result<bool, StoreError> {
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
    pub(super) fn spawn_discard(self: &Arc<Self>, id: SessionId) {
        let shared = Arc::clone(self);
        self.runtime.spawn(async move {
            let mut inv = shared.invocation(&shared.scripts.discard);
            inv.arg(id.as_str());
            // On failure the reservation lapses after `reservation_ttl`.
            let _ = shared.run("discard", &inv).await;
        });
    }

    pub(super) fn touch(&self, id: &SessionId) {
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
        self.core.hooks.closed(&session, cause);
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
            inv.arg(millis(self.core.idle_timeout))
                .arg(millis(slack(self.core.idle_timeout)));
            for id in chunk {
                inv.arg(id.as_str());
            }
            if self.run("refresh", &inv).await.is_err() {
                break;
            }
        }

        let idle = self.core.idle_timeout;
        lock(&self.local)
            .retain(|_, s| s.in_flight() > 0 || s.last_seen_instant().elapsed() < idle);
    }

    pub(super) fn shutdown(&self) {
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
                self.core.hooks.closed(&session, CloseCause::Shutdown);
            }
        }
    }

    pub(super) fn stats(&self) -> SessionStats {
        let mut stats = self.counters.snapshot(self.pending.load(Ordering::Relaxed));
        stats.active = self.live.load(Ordering::Relaxed);
        stats
    }
}

#[cfg(test)]
mod tests;
