//! The store's engine: the moka cache, its expiry policy, the exact slot
//! counts behind the limits, and the maintenance task.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use moka::notification::RemovalCause;
use moka::policy::Expiry;
use moka::sync::SegmentedCache as Cache;

use crate::session::context::SessionContext;
use crate::session::id::SessionId;
use crate::session::principal::Principal;
use crate::session::store::close::CloseCause;
use crate::session::store::common::StoreCore;
use crate::session::store::stats::{Counters, SessionStats};
use crate::session::store::{LimitScope, Reservation, StoreError};

use crate::session::TARGET;

/// How many times `reserve` retries after freeing slots before answering 429.
pub(super) const RESERVE_ATTEMPTS: usize = 8;

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

pub(super) struct Shared {
    pub(super) cache: Cache<SessionId, Entry>,
    pub(super) core: StoreCore,
    pub(super) config: StoreConfig,
    pub(super) counts: Mutex<Counts>,
    pub(super) counters: Counters,
    pub(super) shut_down: AtomicBool,
    /// Sessions whose last request ended since the maintenance task last ran
    /// (see [`Shared::went_idle`]).
    pub(super) idle_queue: Mutex<Vec<SessionId>>,
    /// Whether the maintenance task runs (and so empties `idle_queue`).
    pub(super) maintained: AtomicBool,
}

/// How many ended requests wait for the maintenance task at most; past this
/// the store retimes at once, so a stalled task cannot grow the queue.
pub(super) const IDLE_QUEUE_CAP: usize = 1 << 16;

/// The settings only this store has (the shared ones are in [`StoreCore`]).
#[derive(Clone, Debug)]
pub(super) struct StoreConfig {
    pub(super) on_limit: LimitPolicy,
    pub(super) maintenance_interval: Option<Duration>,
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
pub(super) struct Counts {
    /// Committed sessions plus reservations.
    pub(super) slots: usize,
    /// The same, per principal (only when a per-principal limit is set).
    pub(super) per_principal: HashMap<Principal, usize>,
}

/// A stored session: the (detached) context itself, whose close claim the
/// store keeps in it (see `cause_code`), so an entry is no allocation of its
/// own.
#[derive(Clone)]
pub(super) struct Entry {
    pub(super) session: SessionContext,
}

/// The claim byte of an entry: 0 while open, else 1 + the cause's index.
pub(super) fn cause_code(cause: CloseCause) -> u8 {
    // Six causes: the sum always fits.
    u8::try_from(cause.index() + 1).unwrap_or(u8::MAX)
}

pub(super) fn cause_from_code(code: u8) -> Option<CloseCause> {
    CloseCause::from_index(usize::from(code).checked_sub(1)?)
}

impl Entry {
    pub(super) fn cause(&self) -> Option<CloseCause> {
        cause_from_code(self.session.close_claim())
    }

    /// Marks the entry closing with `cause`. Exactly one caller wins; the winner
    /// gives back the session's slot.
    pub(super) fn claim(&self, cause: CloseCause) -> bool {
        self.session.claim_close(cause_code(cause))
    }

    /// Creation on moka's clock (std).
    pub(super) fn created_std(&self) -> std::time::Instant {
        self.session.created_instant().into_std()
    }
}

/// moka per-entry expiry: idle timeout (unless busy) capped by the remaining lifetime.
///
/// Idle time counts from the session's last accepted request, not from the
/// read: a lookup that ends in a rejection (another principal's request, a
/// repeated `initialize`) does not extend the session.
pub(super) struct SessionExpiry {
    pub(super) idle_timeout: Duration,
    pub(super) max_lifetime: Duration,
}

thread_local! {
    /// Set while this thread runs a request's lookup (`Shared::get`): the read
    /// counts as the start of the request, so the entry is timed as busy by that
    /// one read, and `request_started` needs no second one.
    static LOOKUP: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread's moka reads as lookups until dropped.
pub(super) struct LookupRead;

impl LookupRead {
    pub(super) fn begin() -> Self {
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
    pub(super) fn deadline(&self, entry: &Entry, now: std::time::Instant) -> Duration {
        let age = now.saturating_duration_since(entry.created_std());
        let remaining = self.max_lifetime.saturating_sub(age);
        if entry.session.in_flight() > 0 || LOOKUP.with(Cell::get) {
            return remaining;
        }
        let idle_for = now.saturating_duration_since(entry.session.last_seen_std());
        remaining.min(self.idle_timeout.saturating_sub(idle_for))
    }
}

impl Expiry<SessionId, Entry> for SessionExpiry {
    fn expire_after_create(
        &self,
        _id: &SessionId,
        entry: &Entry,
        created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(self.deadline(entry, created_at))
    }

    fn expire_after_read(
        &self,
        _id: &SessionId,
        entry: &Entry,
        read_at: std::time::Instant,
        _duration_until_expiry: Option<Duration>,
        _last_modified_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(self.deadline(entry, read_at))
    }
}

impl Shared {
    pub(super) fn lock_counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one slot, or says which limit refuses it.
    pub(super) fn try_take_slot(&self, principal: Option<&Principal>) -> Result<(), LimitScope> {
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
    pub(super) fn give_back_slot(&self, principal: Option<&Principal>) {
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
    pub(super) fn release_session(&self, entry: &Entry) {
        self.counters.active.fetch_sub(1, Ordering::AcqRel);
        self.give_back_slot(entry.session.principal());
    }

    /// Closes `entry` with `cause` if nobody else is closing it. The eviction
    /// listener then reports it (synchronously, from `invalidate`).
    pub(super) fn close(&self, id: &SessionId, entry: &Entry, cause: CloseCause) -> bool {
        if !entry.claim(cause) {
            return false;
        }
        self.release_session(entry);
        self.cache.invalidate(id);
        true
    }

    /// The eviction listener: runs once per removed entry. Must not panic, block
    /// or touch the cache.
    pub(super) fn on_removed(&self, entry: &Entry, removal: RemovalCause) {
        let cause = match entry.cause() {
            Some(cause) => cause,
            None => {
                let derived = match removal {
                    RemovalCause::Expired => {
                        if entry.session.created_instant().elapsed() >= self.core.max_lifetime {
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
    pub(super) fn evict_one(&self, scope: LimitScope, principal: Option<&Principal>) -> bool {
        let mut victim: Option<(Arc<SessionId>, Entry)> = None;
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

    pub(super) fn reserve(
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
                self.run_pending();
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

    pub(super) fn commit(
        &self,
        reservation: Reservation,
        session: SessionContext,
    ) -> Result<(), StoreError> {
        if self.shut_down.load(Ordering::Acquire) {
            self.give_back_slot(reservation.principal());
            return Err(self.unavailable("store is shut down"));
        }
        // A context a moka store has closed carries its close claim: stored
        // again it could never be found, nor give its slot back.
        if session.close_claim() != 0 {
            self.give_back_slot(reservation.principal());
            return Err(self.unavailable("the session context was already closed"));
        }
        let entry = Entry {
            session: session.detached(),
        };
        // Counted before it becomes visible, so a concurrent close never underflows.
        self.counters.active.fetch_add(1, Ordering::AcqRel);
        // Under the session's id: the reservation's, or the one the inner
        // server chose (SessionOwner::Server).
        let stored = self
            .cache
            .entry(session.id().clone())
            .or_insert_with(|| entry.clone());
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

    pub(super) fn get(&self, id: &SessionId) -> Option<SessionContext> {
        let entry = {
            let _lookup = LookupRead::begin();
            self.cache.get(id)?
        };
        if entry.cause().is_some() {
            return None;
        }
        // moka's clock is real time; this check follows tokio's (possibly paused) clock.
        let session = &entry.session;
        let (age, idle) = session.age_and_idle(tokio::time::Instant::now());
        if age >= self.core.max_lifetime {
            self.close(id, &entry, CloseCause::LifetimeExpired);
            return None;
        }
        if session.in_flight() == 0 && idle >= self.core.idle_timeout {
            self.close(id, &entry, CloseCause::IdleExpired);
            return None;
        }
        Some(session.detached())
    }

    /// The last request on `id` ended: moka must time the entry from its last
    /// request again (the lookup timed it as busy). That takes a cache read.
    /// While the maintenance task runs, the read is left to it (at most one
    /// `maintenance_interval` later, which moves no deadline: the expiry is
    /// computed from the session's last request, not from the read), so the
    /// end of a request costs a push instead of a second moka read.
    pub(super) fn went_idle(&self, id: &SessionId) {
        if self.maintained.load(Ordering::Acquire) {
            let mut queue = self.lock_idle();
            // A session's requests in a row are queued once.
            if queue.last() == Some(id) {
                return;
            }
            if queue.len() < IDLE_QUEUE_CAP {
                queue.push(id.clone());
                drop(queue);
                // The task ended while this was queued: retime it here.
                if !self.maintained.load(Ordering::Acquire) {
                    retime(&self.cache, self.take_idle());
                }
                return;
            }
        }
        let _ = self.cache.get(id);
    }

    /// Takes the sessions waiting to be retimed (see [`went_idle`](Self::went_idle)).
    pub(super) fn take_idle(&self) -> Vec<SessionId> {
        std::mem::take(&mut *self.lock_idle())
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<SessionId>> {
        self.idle_queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Retimes the sessions that went idle, then runs moka's pending work
    /// (expirations, close hooks).
    pub(super) fn run_pending(&self) {
        retime(&self.cache, self.take_idle());
        self.cache.run_pending_tasks();
    }

    pub(super) fn remove(&self, id: &SessionId, cause: CloseCause) -> bool {
        match self.cache.get(id) {
            Some(entry) => self.close(id, &entry, cause),
            None => false,
        }
    }

    pub(super) fn shutdown(&self) {
        self.shut_down.store(true, Ordering::Release);
        for (id, entry) in self.cache.iter() {
            self.close(&id, &entry, CloseCause::Shutdown);
        }
        // Anything committed concurrently: removed as `Explicit` while shut down.
        self.cache.invalidate_all();
        self.cache.run_pending_tasks();
    }

    pub(super) fn unavailable(&self, reason: &str) -> StoreError {
        self.core.unavailable(reason)
    }

    pub(super) fn stats(&self) -> SessionStats {
        let slots = self.lock_counts().slots as u64;
        let mut stats = self.counters.snapshot(0);
        stats.reserved = slots.saturating_sub(stats.active);
        stats
    }
}

/// Ends the maintenance of a store when dropped: what is queued is retimed,
/// and requests retime at once again.
struct Unmaintained(Weak<Shared>);

impl Drop for Unmaintained {
    fn drop(&mut self) {
        if let Some(shared) = self.0.upgrade() {
            shared.maintained.store(false, Ordering::Release);
            retime(&shared.cache, shared.take_idle());
        }
    }
}

/// Reads each session once (a session with many ended requests is in the
/// list many times), so moka recomputes its deadline from its last request.
fn retime(cache: &Cache<SessionId, Entry>, mut idle: Vec<SessionId>) {
    idle.sort_unstable();
    idle.dedup();
    for id in &idle {
        let _ = cache.get(id);
    }
}

/// Runs moka's pending work on an interval until the store is dropped or shut down.
pub(super) fn maintain(store: Weak<Shared>, every: Duration) -> impl Future<Output = ()> {
    // However the task ends (the store dropped or shut down, or its runtime
    // gone, even before its first poll), requests retime their sessions
    // themselves from then on: the guard lives in the future from its start.
    let guard = Unmaintained(store);
    async move {
        let store = &guard.0;
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
            let idle = shared.take_idle();
            drop(shared);
            // Expiring a large table in one pass can take a while (about 0.5 s
            // for 100k sessions): run it on the blocking pool, not on a
            // runtime worker.
            if tokio::task::spawn_blocking(move || {
                retime(&cache, idle);
                cache.run_pending_tasks();
            })
            .await
            .is_err()
            {
                tracing::error!(target: crate::session::TARGET, "session maintenance pass panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests;
