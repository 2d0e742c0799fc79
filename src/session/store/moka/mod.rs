//! The in-memory store: [`MokaSessionStore`], moka caches (segmented) with
//! per-entry expiry, exact limits and close hooks.

mod builder;
mod engine;

pub use builder::MokaSessionStoreBuilder;
pub use engine::LimitPolicy;

use std::fmt;
use std::sync::Arc;

use crate::session::context::SessionContext;
use crate::session::id::SessionId;
use crate::session::principal::Principal;
use crate::session::store::close::CloseCause;
use crate::session::store::common::{closed_unstored, debug_store};
use crate::session::store::stats::SessionStats;
use crate::session::store::{Reservation, SessionStore, StoreCall, StoreError};

use engine::Shared;

/// The in-memory session store: moka's `SegmentedCache` with per-entry
/// expiry. Cloning is an `Arc` clone; clones share one table, so build it once and pass
/// clones to every [`McpSessionLayer`](crate::session::McpSessionLayer).
///
/// - **Expiry.** A session expires after `idle_timeout` without requests (60 min
///   by default) or `max_lifetime` after creation (24 h), whichever is first.
///   While a request is in flight or a handler retains the session's context,
///   only the lifetime applies. moka frees expired entries; a light task
///   (spawned by `build` when called inside a tokio runtime) runs moka's pending
///   work every `maintenance_interval` (1 s) so close hooks fire without
///   traffic, and restarts the idle timing of the sessions whose last request
///   ended since (one cache read per session there, not one per request). It
///   holds only a weak reference and ends when the store is dropped.
///   Times are also kept on tokio's clock and checked on every lookup, so expiry
///   follows a paused test clock. A lookup may run moka's pending work itself
///   (moka has no switch to keep it off reads). The sessions are spread over
///   one moka table per 32 768 of `max_sessions` (a power of two, at most
///   64), so when many sessions expire at once, such a lookup removes one
///   table's share. An empty store takes about 34 KiB per table.
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

impl MokaSessionStore {
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
        self.shared.run_pending();
    }
}

impl fmt::Debug for MokaSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_store(f, "MokaSessionStore", &self.stats(), &self.shared.core)
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
        closed_unstored(&self.shared.core, &self.shared.counters, session);
    }

    fn get(&self, id: &SessionId) -> StoreCall<Result<Option<SessionContext>, StoreError>> {
        StoreCall::Ready(Ok(self.shared.get(id)))
    }

    fn remove(&self, id: &SessionId, cause: CloseCause) -> StoreCall<Result<bool, StoreError>> {
        StoreCall::Ready(Ok(self.shared.remove(id, cause)))
    }

    fn touch(&self, id: &SessionId) {
        // A read makes moka recompute the entry's deadline (see `SessionExpiry`),
        // now or from the maintenance task.
        self.shared.went_idle(id);
    }

    fn request_started(&self, _id: &SessionId) {
        // The lookup's read already timed the entry as busy (`LookupRead`).
    }

    fn lookup_refused(&self, id: &SessionId) {
        // Undo the lookup's busy timing: the idle timer runs on from the
        // session's last accepted request.
        self.touch(id);
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

crate::session::store::common::builtin_store_stats!(MokaSessionStore, "moka");
