//! [`RedisSessionStore`]: the session table in Redis, shared by replicas.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::session::context::SessionContext;
use crate::session::id::SessionId;
use crate::session::principal::Principal;
use crate::session::store::close::CloseCause;
use crate::session::store::common::{closed_unstored, debug_store};
use crate::session::store::redis::config::RedisStoreError;
use crate::session::store::redis::engine::Shared;
use crate::session::store::stats::SessionStats;
use crate::session::store::{Reservation, SessionStore, StoreCall, StoreError};

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
    pub(super) shared: Arc<Shared>,
}

impl RedisSessionStore {
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
        debug_store(f, "RedisSessionStore", &self.stats(), &self.shared.core)
            .field("prefix", &self.shared.config.prefix)
            .field("notifications_connected", &self.notifications_connected())
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
        closed_unstored(&self.shared.core, &self.shared.counters, session);
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

    fn replica_id(&self) -> Option<std::sync::Arc<str>> {
        Some(std::sync::Arc::clone(&self.shared.config.replica))
    }

    fn subscribe_closed(&self, listener: crate::session::CloseListener) -> bool {
        self.shared.core.hooks.subscribe(listener);
        true
    }

    fn shutdown(&self) -> StoreCall<()> {
        self.shared.shutdown();
        StoreCall::Ready(())
    }
}

crate::session::store::common::builtin_store_stats!(RedisSessionStore, "redis");

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
