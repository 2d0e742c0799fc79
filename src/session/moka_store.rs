//! The in-memory store: [`MokaSessionStore`], a `moka::sync::Cache` with
//! per-entry expiry, exact limits and close hooks.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use moka::notification::RemovalCause;
use moka::policy::{EvictionPolicy, Expiry};
use moka::sync::Cache;

use super::close::CloseCause;
use super::context::SessionContext;
use super::id::SessionId;
use super::principal::Principal;
use super::stats::{Counters, RejectReason, SessionStats};
use super::store::{LimitScope, Reservation, SessionStore, StoreCall, StoreError};
use super::store_core::{not_positive, store_core_setters, StoreCore};
use crate::ConfigError;

use super::TARGET;

/// How many times `reserve` retries after freeing slots before answering 429.
const RESERVE_ATTEMPTS: usize = 8;

/// What the store does when a new session would exceed a limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitPolicy {
    /// Refuse the new session: 429 with `Retry-After`. The default.
    #[default]
    Reject,
    /// Close the least recently used *idle* session (no request in flight, no
    /// retained context) within the limit's scope: for the per-principal limit,
    /// one of that principal's own sessions, so one client cannot evict others'.
    /// When every session is busy, refuse with 429. The evicted client gets 404
    /// on its next request and re-initializes. Finding the victim scans the
    /// table once (only at the limit).
    EvictIdleLru,
}

/// The in-memory session store: a `moka::sync::Cache` with per-entry expiry.
/// Cloning is an `Arc` clone; clones share one table, so build it once and pass
/// clones to every [`McpSessionLayer`](super::McpSessionLayer).
///
/// - **Expiry.** A session expires after `idle_timeout` without requests (60 min
///   by default) or `max_lifetime` after creation (24 h), whichever is first.
///   While a request is in flight or a handler retains the session's context,
///   only the lifetime applies. moka frees expired entries; a light task
///   (spawned by `build` when called inside a tokio runtime) runs moka's pending
///   work every `maintenance_interval` (1 s) so close hooks fire without
///   traffic. It holds only a weak reference and ends when the store is dropped.
///   Times are also kept on tokio's clock and checked on every lookup, so expiry
///   follows a paused test clock.
/// - **Limits.** `max_sessions` (10 000) and `max_sessions_per_principal` (off)
///   are counted by the store itself, including `initialize` requests in
///   progress, and hold exactly under concurrency. Before refusing, pending
///   expirations are processed once.
/// - **Hooks** run inline, must be quick and must not call back into the store
///   (see [`on_closed`](MokaSessionStoreBuilder::on_closed)). Panics are caught.
/// - **Shutdown.** [`shutdown`](Self::shutdown) closes every session with
///   [`CloseCause::Shutdown`] and refuses new ones (503). Dropping the store
///   fires no hooks.
///
/// ```
/// use std::time::Duration;
/// use mcp_tower_guard::session::{CloseCause, LimitPolicy, MokaSessionStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), mcp_tower_guard::ConfigError> {
/// let store = MokaSessionStore::builder()
///     .idle_timeout(Duration::from_secs(30 * 60))
///     .max_lifetime(Duration::from_secs(8 * 60 * 60))
///     .max_sessions(1_000)
///     .max_sessions_per_principal(10)
///     .on_limit(LimitPolicy::EvictIdleLru)
///     .on_closed(|session, cause| {
///         tracing::info!(session = %session.id().tag(), %cause, "session closed");
///     })
///     .build()?;
/// assert_eq!(store.stats().active, 0);
/// store.shutdown();
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MokaSessionStore {
    shared: Arc<Shared>,
}

struct Shared {
    cache: Cache<SessionId, Arc<Entry>>,
    core: StoreCore,
    config: StoreConfig,
    counts: Mutex<Counts>,
    counters: Counters,
    shut_down: AtomicBool,
}

/// The settings only this store has (the shared ones are in [`StoreCore`]).
#[derive(Clone, Debug)]
struct StoreConfig {
    on_limit: LimitPolicy,
    maintenance_interval: Option<Duration>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            on_limit: LimitPolicy::Reject,
            maintenance_interval: Some(Duration::from_secs(1)),
        }
    }
}

#[derive(Default)]
struct Counts {
    /// Committed sessions plus reservations.
    slots: usize,
    /// The same, per principal (only when a per-principal limit is set).
    per_principal: HashMap<Principal, usize>,
}

/// A stored session and the store's bookkeeping for it.
struct Entry {
    session: SessionContext,
    /// Commit time on moka's clock (std), for deriving the expiry cause.
    created_std: std::time::Instant,
    /// 0 while open; else the `CloseCause` that claimed it (see `cause_code`).
    cause: AtomicU8,
}

/// The claim byte of an entry: 0 while open, else 1 + the cause's index.
fn cause_code(cause: CloseCause) -> u8 {
    // Six causes: the sum always fits.
    u8::try_from(cause.index() + 1).unwrap_or(u8::MAX)
}

fn cause_from_code(code: u8) -> Option<CloseCause> {
    CloseCause::from_index(usize::from(code).checked_sub(1)?)
}

impl Entry {
    fn cause(&self) -> Option<CloseCause> {
        cause_from_code(self.cause.load(Ordering::Acquire))
    }

    /// Marks the entry closing with `cause`. Exactly one caller wins; the winner
    /// gives back the session's slot.
    fn claim(&self, cause: CloseCause) -> bool {
        self.cause
            .compare_exchange(0, cause_code(cause), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// moka per-entry expiry: idle timeout (unless busy) capped by the remaining lifetime.
///
/// Idle time counts from the session's last accepted request, not from the
/// read: a lookup that ends in a rejection (another principal's request, a
/// repeated `initialize`) does not extend the session.
struct SessionExpiry {
    idle_timeout: Duration,
    max_lifetime: Duration,
}

thread_local! {
    /// Set while this thread runs a request's lookup (`Shared::get`): the read
    /// counts as the start of the request, so the entry is timed as busy by that
    /// one read, and `request_started` needs no second one.
    static LOOKUP: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread's moka reads as lookups until dropped.
struct LookupRead;

impl LookupRead {
    fn begin() -> Self {
        LOOKUP.with(|l| l.set(true));
        Self
    }
}

impl Drop for LookupRead {
    fn drop(&mut self) {
        LOOKUP.with(|l| l.set(false));
    }
}

impl SessionExpiry {
    fn deadline(&self, entry: &Entry, now: std::time::Instant) -> Duration {
        let age = now.saturating_duration_since(entry.created_std);
        let remaining = self.max_lifetime.saturating_sub(age);
        if entry.session.in_flight() > 0 || LOOKUP.with(Cell::get) {
            return remaining;
        }
        let idle_for = now.saturating_duration_since(entry.session.last_seen_std());
        remaining.min(self.idle_timeout.saturating_sub(idle_for))
    }
}

impl Expiry<SessionId, Arc<Entry>> for SessionExpiry {
    fn expire_after_create(
        &self,
        _id: &SessionId,
        entry: &Arc<Entry>,
        created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(self.deadline(entry, created_at))
    }

    fn expire_after_read(
        &self,
        _id: &SessionId,
        entry: &Arc<Entry>,
        read_at: std::time::Instant,
        _duration_until_expiry: Option<Duration>,
        _last_modified_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(self.deadline(entry, read_at))
    }
}

impl Shared {
    fn lock_counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one slot, or says which limit refuses it.
    fn try_take_slot(&self, principal: Option<&Principal>) -> Result<(), LimitScope> {
        let mut counts = self.lock_counts();
        let per_principal = match (self.core.max_per_principal, principal) {
            (Some(max), Some(p)) => {
                if counts.per_principal.get(p).copied().unwrap_or(0) >= max {
                    return Err(LimitScope::Principal);
                }
                Some(p)
            }
            _ => None,
        };
        if counts.slots >= self.core.max_sessions {
            return Err(LimitScope::Global);
        }
        counts.slots += 1;
        if let Some(p) = per_principal {
            *counts.per_principal.entry(p.clone()).or_insert(0) += 1;
        }
        Ok(())
    }

    /// Gives back one slot.
    fn give_back_slot(&self, principal: Option<&Principal>) {
        let mut counts = self.lock_counts();
        counts.slots = counts.slots.saturating_sub(1);
        if let (Some(_), Some(p)) = (self.core.max_per_principal, principal) {
            if let Some(n) = counts.per_principal.get_mut(p) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    counts.per_principal.remove(p);
                }
            }
        }
    }

    /// Gives back a committed session's slot.
    fn release_session(&self, entry: &Entry) {
        self.counters.active.fetch_sub(1, Ordering::AcqRel);
        self.give_back_slot(entry.session.principal());
    }

    /// Closes `entry` with `cause` if nobody else is closing it. The eviction
    /// listener then reports it (synchronously, from `invalidate`).
    fn close(&self, id: &SessionId, entry: &Entry, cause: CloseCause) -> bool {
        if !entry.claim(cause) {
            return false;
        }
        self.release_session(entry);
        self.cache.invalidate(id);
        true
    }

    /// The eviction listener: runs once per removed entry. Must not panic, block
    /// or touch the cache.
    fn on_removed(&self, entry: &Entry, removal: RemovalCause) {
        let cause = match entry.cause() {
            Some(cause) => cause,
            None => {
                let derived = match removal {
                    RemovalCause::Expired => {
                        if entry.created_std.elapsed() >= self.core.max_lifetime {
                            CloseCause::LifetimeExpired
                        } else {
                            CloseCause::IdleExpired
                        }
                    }
                    RemovalCause::Explicit if self.shut_down.load(Ordering::Acquire) => {
                        CloseCause::Shutdown
                    }
                    RemovalCause::Explicit => CloseCause::Deleted,
                    RemovalCause::Replaced | RemovalCause::Size => CloseCause::Evicted,
                };
                if entry.claim(derived) {
                    self.release_session(entry);
                }
                entry.cause().unwrap_or(derived)
            }
        };
        self.counters.closed(cause);
        let session = entry.session.id().tag();
        let principal = entry.session.principal().map(|p| p.tag().to_string());
        match cause {
            CloseCause::Evicted => tracing::info!(
                target: TARGET, %session, principal, cause = cause.as_str(), "session evicted"
            ),
            CloseCause::Deleted => tracing::debug!(
                target: TARGET, %session, principal, cause = cause.as_str(), "session deleted"
            ),
            CloseCause::IdleExpired | CloseCause::LifetimeExpired => tracing::debug!(
                target: TARGET, %session, principal, cause = cause.as_str(), "session expired"
            ),
            // Shutdown, and causes a stored session never gets.
            _ => tracing::debug!(
                target: TARGET, %session, principal, cause = cause.as_str(), "session closed"
            ),
        }
        self.core.hooks.closed(&entry.session, cause);
    }

    /// Closes the least recently used idle session in `scope`. True when a slot
    /// was (or is being) freed.
    fn evict_one(&self, scope: LimitScope, principal: Option<&Principal>) -> bool {
        let mut victim: Option<(Arc<SessionId>, Arc<Entry>)> = None;
        for (id, entry) in self.cache.iter() {
            if entry.cause().is_some() || entry.session.in_flight() > 0 {
                continue;
            }
            if scope == LimitScope::Principal && entry.session.principal() != principal {
                continue;
            }
            let older = victim.as_ref().is_none_or(|(_, v)| {
                entry.session.last_seen_instant() < v.session.last_seen_instant()
            });
            if older {
                victim = Some((id, entry));
            }
        }
        match victim {
            Some((id, entry)) => {
                // Losing the claim means another caller is closing it: a slot frees either way.
                self.close(&id, &entry, CloseCause::Evicted);
                true
            }
            None => false,
        }
    }

    fn reserve(
        &self,
        id: &SessionId,
        principal: Option<&Principal>,
    ) -> Result<Reservation, StoreError> {
        if self.shut_down.load(Ordering::Acquire) {
            return Err(self.unavailable("store is shut down"));
        }
        if self.cache.contains_key(id) {
            return Err(StoreError::IdInUse);
        }
        let mut scope = LimitScope::Global;
        for attempt in 0..RESERVE_ATTEMPTS {
            match self.try_take_slot(principal) {
                Ok(()) => return Ok(Reservation::new(id.clone(), principal.cloned())),
                Err(refused) => scope = refused,
            }
            if attempt == 0 {
                // Sessions moka already expired may still hold slots until their
                // removal is processed.
                self.cache.run_pending_tasks();
                continue;
            }
            if self.config.on_limit == LimitPolicy::EvictIdleLru && self.evict_one(scope, principal)
            {
                continue;
            }
            break;
        }
        Err(self.core.limit_reached(scope))
    }

    fn commit(&self, reservation: Reservation, session: SessionContext) -> Result<(), StoreError> {
        if self.shut_down.load(Ordering::Acquire) {
            self.give_back_slot(reservation.principal());
            return Err(self.unavailable("store is shut down"));
        }
        let entry = Arc::new(Entry {
            session: session.clone(),
            created_std: std::time::Instant::now(),
            cause: AtomicU8::new(0),
        });
        // Counted before it becomes visible, so a concurrent close never underflows.
        self.counters.active.fetch_add(1, Ordering::AcqRel);
        // Under the session's id: the reservation's, or the one the inner
        // server chose (SessionOwner::Server).
        let stored = self
            .cache
            .entry(session.id().clone())
            .or_insert_with(|| Arc::clone(&entry));
        if !stored.is_fresh() {
            self.counters.active.fetch_sub(1, Ordering::AcqRel);
            self.give_back_slot(reservation.principal());
            return Err(StoreError::IdInUse);
        }
        self.counters.created.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            target: TARGET,
            session = %session.id().tag(),
            principal = session.principal().map(|p| p.tag().to_string()),
            "session created"
        );
        self.core.hooks.created(&session);
        Ok(())
    }

    fn get(&self, id: &SessionId) -> Option<SessionContext> {
        let entry = {
            let _lookup = LookupRead::begin();
            self.cache.get(id)?
        };
        if entry.cause().is_some() {
            return None;
        }
        // moka's clock is real time; this check follows tokio's (possibly paused) clock.
        let now = tokio::time::Instant::now();
        let session = &entry.session;
        if now.saturating_duration_since(session.created_instant()) >= self.core.max_lifetime {
            self.close(id, &entry, CloseCause::LifetimeExpired);
            return None;
        }
        if session.in_flight() == 0
            && now.saturating_duration_since(session.last_seen_instant()) >= self.core.idle_timeout
        {
            self.close(id, &entry, CloseCause::IdleExpired);
            return None;
        }
        Some(session.detached())
    }

    fn remove(&self, id: &SessionId, cause: CloseCause) -> bool {
        match self.cache.get(id) {
            Some(entry) => self.close(id, &entry, cause),
            None => false,
        }
    }

    fn shutdown(&self) {
        self.shut_down.store(true, Ordering::Release);
        for (id, entry) in self.cache.iter() {
            self.close(&id, &entry, CloseCause::Shutdown);
        }
        // Anything committed concurrently: removed as `Explicit` while shut down.
        self.cache.invalidate_all();
        self.cache.run_pending_tasks();
    }

    fn unavailable(&self, reason: &str) -> StoreError {
        self.core.unavailable(reason)
    }

    fn stats(&self) -> SessionStats {
        let slots = self.lock_counts().slots as u64;
        let mut stats = self.counters.snapshot(0);
        stats.reserved = slots.saturating_sub(stats.active);
        stats
    }
}

impl MokaSessionStore {
    /// A store with the defaults: idle 60 min, lifetime 24 h, at most 10 000
    /// sessions, refuse at the limit, maintenance every second.
    pub fn new() -> Self {
        assemble(StoreCore::default(), StoreConfig::default())
    }

    /// A builder to configure the store.
    pub fn builder() -> MokaSessionStoreBuilder {
        MokaSessionStoreBuilder::default()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> SessionStats {
        self.shared.stats()
    }

    /// Closes every session with [`CloseCause::Shutdown`] (firing the close hook
    /// for each) and refuses new sessions from now on.
    pub fn shutdown(&self) {
        self.shared.shutdown();
    }

    /// Runs moka's pending maintenance now (expirations, close hooks). The
    /// maintenance task does this on an interval.
    pub fn run_pending_tasks(&self) {
        self.shared.cache.run_pending_tasks();
    }
}

impl Default for MokaSessionStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MokaSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never moka's Debug: it prints every entry, ids included.
        let stats = self.stats();
        f.debug_struct("MokaSessionStore")
            .field("active", &stats.active)
            .field("reserved", &stats.reserved)
            .field("core", &self.shared.core)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl SessionStore for MokaSessionStore {
    fn reserve(
        &self,
        id: &SessionId,
        principal: Option<&Principal>,
    ) -> StoreCall<Result<Reservation, StoreError>> {
        StoreCall::Ready(self.shared.reserve(id, principal))
    }

    fn commit(
        &self,
        reservation: Reservation,
        session: SessionContext,
    ) -> StoreCall<Result<(), StoreError>> {
        StoreCall::Ready(self.shared.commit(reservation, session))
    }

    fn release(&self, reservation: Reservation) {
        self.shared.give_back_slot(reservation.principal());
    }

    fn abandon(&self, reservation: Reservation, session: &SessionContext) {
        self.shared.give_back_slot(reservation.principal());
        self.shared.counters.closed(CloseCause::InitializeFailed);
        self.shared
            .core
            .hooks
            .closed(session, CloseCause::InitializeFailed);
    }

    fn get(&self, id: &SessionId) -> StoreCall<Result<Option<SessionContext>, StoreError>> {
        StoreCall::Ready(Ok(self.shared.get(id)))
    }

    fn remove(&self, id: &SessionId, cause: CloseCause) -> StoreCall<Result<bool, StoreError>> {
        StoreCall::Ready(Ok(self.shared.remove(id, cause)))
    }

    fn touch(&self, id: &SessionId) {
        // A read makes moka recompute the entry's deadline (see `SessionExpiry`).
        let _ = self.shared.cache.get(id);
    }

    fn request_started(&self, _id: &SessionId) {
        // The lookup's read already timed the entry as busy (`LookupRead`).
    }

    fn lookup_refused(&self, id: &SessionId) {
        // Undo the lookup's busy timing: the idle timer runs on from the
        // session's last accepted request.
        self.touch(id);
    }

    fn note_rejected(&self, reason: RejectReason) {
        self.shared.counters.rejected(reason);
    }

    fn note_other_version(&self) {
        self.shared.counters.other_version();
    }

    fn subscribe_closed(&self, listener: crate::session::CloseListener) -> bool {
        self.shared.core.hooks.subscribe(listener);
        true
    }

    fn backend_name(&self) -> &'static str {
        "moka"
    }

    fn stats(&self) -> SessionStats {
        self.shared.stats()
    }

    fn shutdown(&self) -> StoreCall<()> {
        self.shared.shutdown();
        StoreCall::Ready(())
    }
}

/// Configures a [`MokaSessionStore`].
#[derive(Default)]
#[must_use]
pub struct MokaSessionStoreBuilder {
    core: StoreCore,
    config: StoreConfig,
}

impl MokaSessionStoreBuilder {
    store_core_setters!();

    /// What to do at a limit (default [`LimitPolicy::Reject`]).
    pub fn on_limit(mut self, policy: LimitPolicy) -> Self {
        self.config.on_limit = policy;
        self
    }

    /// How often the maintenance task runs moka's pending work, so expirations
    /// are reported without traffic (default 1 s).
    pub fn maintenance_interval(mut self, every: Duration) -> Self {
        self.config.maintenance_interval = Some(every);
        self
    }

    /// Spawns no maintenance task: expirations are then reported when the store
    /// is next used, or when you call [`MokaSessionStore::run_pending_tasks`].
    pub fn no_maintenance_task(mut self) -> Self {
        self.config.maintenance_interval = None;
        self
    }

    /// Validates the settings and builds the store. Inside a tokio runtime this
    /// also spawns the maintenance task.
    pub fn build(self) -> Result<MokaSessionStore, ConfigError> {
        let Self { core, config } = self;
        let core = core.validated()?;
        if config.maintenance_interval.is_some_and(|d| d.is_zero()) {
            return Err(not_positive("maintenance_interval"));
        }
        Ok(assemble(core, config))
    }
}

fn assemble(core: StoreCore, config: StoreConfig) -> MokaSessionStore {
    let shared = Arc::new_cyclic(|weak: &Weak<Shared>| {
        let listener_ref = weak.clone();
        let cache = Cache::builder()
            .eviction_policy(EvictionPolicy::lru())
            .expire_after(SessionExpiry {
                idle_timeout: core.idle_timeout,
                max_lifetime: core.max_lifetime,
            })
            .eviction_listener(move |_id, entry: Arc<Entry>, cause| {
                if let Some(shared) = listener_ref.upgrade() {
                    shared.on_removed(&entry, cause);
                }
            })
            .build();
        Shared {
            cache,
            core,
            config,
            counts: Mutex::new(Counts::default()),
            counters: Counters::default(),
            shut_down: AtomicBool::new(false),
        }
    });
    if let Some(every) = shared.config.maintenance_interval {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(maintain(Arc::downgrade(&shared), every));
            }
            Err(_) => tracing::debug!(
                target: TARGET,
                "session store built outside a tokio runtime: no maintenance task; \
                 expirations are reported when the store is next used"
            ),
        }
    }
    MokaSessionStore { shared }
}

impl fmt::Debug for MokaSessionStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MokaSessionStoreBuilder")
            .field("core", &self.core)
            .field("config", &self.config)
            .finish()
    }
}

/// Runs moka's pending work on an interval until the store is dropped or shut down.
async fn maintain(store: Weak<Shared>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(shared) = store.upgrade() else {
            break;
        };
        if shared.shut_down.load(Ordering::Acquire) {
            break;
        }
        let cache = shared.cache.clone();
        drop(shared);
        // Expiring a large table in one pass can take a while (about 0.5 s for
        // 100k sessions): run it on the blocking pool, not on a runtime worker.
        if tokio::task::spawn_blocking(move || cache.run_pending_tasks())
            .await
            .is_err()
        {
            tracing::error!(target: super::TARGET, "session maintenance pass panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::context::ClientInfo;

    fn entry() -> Entry {
        let session =
            SessionContext::new(SessionId::new_random(), None, ClientInfo::default(), None);
        Entry {
            session,
            created_std: std::time::Instant::now(),
            cause: AtomicU8::new(0),
        }
    }

    #[test]
    fn deadline_is_idle_from_last_activity_capped_by_lifetime() {
        let expiry = SessionExpiry {
            idle_timeout: Duration::from_secs(60),
            max_lifetime: Duration::from_secs(600),
        };
        let e = entry();
        let now = std::time::Instant::now();
        let d = expiry.deadline(&e, now);
        assert!(d <= Duration::from_secs(60) && d > Duration::from_secs(59));
        // A read 10 s after the last activity does not restart the idle timer.
        let d = expiry.deadline(&e, now + Duration::from_secs(10));
        assert!(d <= Duration::from_secs(50) && d > Duration::from_secs(49));
        // Near the end of the lifetime, the lifetime wins.
        let d = expiry.deadline(&e, e.created_std + Duration::from_secs(590));
        assert!(d <= Duration::from_secs(10));
        assert_eq!(
            expiry.deadline(&e, e.created_std + Duration::from_secs(700)),
            Duration::ZERO
        );
    }

    #[test]
    fn claim_is_won_once() {
        let e = entry();
        assert_eq!(e.cause(), None);
        assert!(e.claim(CloseCause::Evicted));
        assert!(!e.claim(CloseCause::Deleted));
        assert_eq!(e.cause(), Some(CloseCause::Evicted));
        for cause in [
            CloseCause::Deleted,
            CloseCause::IdleExpired,
            CloseCause::LifetimeExpired,
            CloseCause::Evicted,
            CloseCause::Shutdown,
        ] {
            assert_eq!(cause_from_code(cause_code(cause)), Some(cause));
        }
    }
}
