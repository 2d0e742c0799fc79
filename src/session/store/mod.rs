//! The storage behind the session layer: the [`SessionStore`] trait.
//!
//! The layer only talks to this trait, so another backend (Redis, a database) can
//! be added without touching the layer. Every operation returns a [`StoreCall`]:
//! an in-memory store answers [`StoreCall::Ready`] and the layer's response
//! future never allocates; an async backend answers [`StoreCall::Pending`] with a
//! boxed future. A backend that cannot answer returns
//! [`StoreError::Unavailable`] (bounding its own wait), which the layer sends as
//! 503 with `Retry-After`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::session::context::SessionContext;
use crate::session::id::SessionId;
use crate::session::principal::Principal;
use close::CloseCause;
use stats::{RejectReason, SessionStats};

pub(crate) mod close;
pub(crate) mod common;
pub(crate) mod hooks;
pub(crate) mod metered;
pub(crate) mod moka;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
pub(crate) mod stats;

/// The answer of a store operation: now, or later.
pub enum StoreCall<T> {
    /// The result is available now (in-memory stores).
    Ready(T),
    /// The result comes from this future (async backends).
    Pending(Pin<Box<dyn Future<Output = T> + Send + 'static>>),
}

impl<T> StoreCall<T> {
    /// Wraps an async operation.
    pub fn pending(future: impl Future<Output = T> + Send + 'static) -> Self {
        Self::Pending(Box::pin(future))
    }

    /// Waits for the result.
    pub async fn resolve(self) -> T {
        match self {
            Self::Ready(value) => value,
            Self::Pending(future) => future.await,
        }
    }
}

impl<T> fmt::Debug for StoreCall<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ready(_) => f.write_str("StoreCall::Ready(..)"),
            Self::Pending(_) => f.write_str("StoreCall::Pending(..)"),
        }
    }
}

/// Why a store refused or failed an operation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The session limit is reached (answered 429 with `Retry-After`).
    #[error("session limit reached ({scope})")]
    LimitReached {
        /// Which limit.
        scope: LimitScope,
        /// The `Retry-After` to send.
        retry_after: Duration,
    },
    /// The generated id is already taken; the layer retries once with a new UUID.
    #[error("session id already in use")]
    IdInUse,
    /// The backend did not answer, or the store is shut down (503 with `Retry-After`).
    #[error("session store unavailable: {reason}")]
    Unavailable {
        /// For logs (never an id or a secret).
        reason: String,
        /// The `Retry-After` to send.
        retry_after: Duration,
    },
}

/// Which session limit refused a new session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitScope {
    /// The total number of sessions.
    Global,
    /// The number of sessions of one principal.
    Principal,
}

impl fmt::Display for LimitScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Global => "global",
            Self::Principal => "per principal",
        })
    }
}

/// A slot held for a session being created: counted against the limits from
/// [`SessionStore::reserve`] until [`SessionStore::commit`] or
/// [`SessionStore::release`].
pub struct Reservation {
    id: SessionId,
    principal: Option<Principal>,
}

impl Reservation {
    /// A reservation for `id` owned by `principal` (for store implementations).
    pub fn new(id: SessionId, principal: Option<Principal>) -> Self {
        Self { id, principal }
    }

    /// The id the session will have.
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// The principal the slot is counted against.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("id", &self.id)
            .field("principal", &self.principal.as_ref().map(Principal::tag))
            .finish()
    }
}

/// A function run on every close of a session ([`SessionStore::subscribe_closed`]).
pub type CloseListener = std::sync::Arc<dyn Fn(&SessionContext, CloseCause) + Send + Sync>;

/// Storage for legacy-era sessions. Object safe; the layer holds an
/// `Arc<dyn SessionStore>`.
///
/// Contract:
/// - `reserve` counts a slot against the limits atomically (global and per
///   principal) and never exceeds them under concurrency.
/// - `commit` stores the session under `session.id()` and fires the created
///   hook; the slot becomes the session's. The id is the reservation's, except
///   when the inner server mints the ids ([`SessionOwner::Server`](crate::session::SessionOwner::Server)):
///   the slot was then reserved under an id nobody sees, before the server
///   chose its own. An id already held is [`StoreError::IdInUse`]. On error
///   the store releases the slot itself.
/// - `release` gives back an uncommitted slot. It must not block.
/// - `abandon` gives back the slot of an `initialize` the handler saw fail, and
///   fires the closed hook with [`CloseCause::InitializeFailed`] on this
///   replica only. It must not block.
/// - `get` returns `None` for unknown, expired and closed sessions and refreshes
///   the idle timer of a live one.
/// - `remove` closes a session with `cause` and returns whether it was live.
/// - Close hooks must fire exactly once per committed session, and once per
///   abandoned `initialize`.
pub trait SessionStore: StoreStats {
    /// Reserves a slot for a new session with `id`, created by `principal`.
    fn reserve(
        &self,
        id: &SessionId,
        principal: Option<&Principal>,
    ) -> StoreCall<Result<Reservation, StoreError>>;

    /// Stores the session for a reservation after a successful `initialize`.
    /// `session` carries no activity mark.
    fn commit(
        &self,
        reservation: Reservation,
        session: SessionContext,
    ) -> StoreCall<Result<(), StoreError>>;

    /// Gives back an uncommitted reservation.
    fn release(&self, reservation: Reservation);

    /// Gives back the reservation of an `initialize` whose handler ran but did
    /// not succeed. The handler saw `session`, so a store fires the closed hook
    /// with [`CloseCause::InitializeFailed`] and counts it in
    /// [`SessionStats::initialize_failed`]. The default only calls `release`.
    fn abandon(&self, reservation: Reservation, session: &SessionContext) {
        let _ = session;
        self.release(reservation);
    }

    /// Looks a session up and refreshes its idle timer.
    fn get(&self, id: &SessionId) -> StoreCall<Result<Option<SessionContext>, StoreError>>;

    /// Ends a session. `Ok(true)` when it was live.
    fn remove(&self, id: &SessionId, cause: CloseCause) -> StoreCall<Result<bool, StoreError>>;

    /// A request on `id` passed its lookup and begins: its session is busy
    /// from now. The default calls [`touch`](Self::touch). A store whose
    /// lookup already counts as the start (the moka store) does nothing.
    fn request_started(&self, id: &SessionId) {
        self.touch(id);
    }

    /// A request on `id` was refused after its lookup (another principal, a
    /// repeated `initialize`, another protocol version): nothing begins. The
    /// default does nothing; the moka store undoes the busy mark its lookup set.
    fn lookup_refused(&self, id: &SessionId) {
        let _ = id;
    }

    /// Tells the store the session's in-flight count changed, so it can restart
    /// the idle timer from now. Must not block. The default does nothing.
    fn touch(&self, id: &SessionId) {
        let _ = id;
    }

    /// This process's name among the replicas that share the store, when it
    /// is shared (the Redis store: `replica_id`). With
    /// [`SessionOwner::Server`](crate::session::SessionOwner::Server) each session is
    /// recorded with the replica whose inner server holds it, and a request
    /// reaching another replica gets 421. `None` (the default): one process.
    fn replica_id(&self) -> Option<std::sync::Arc<str>> {
        None
    }

    /// Adds `listener` to the functions run on every close of a session, after
    /// the store's own closed hook (the same rules: quick, never blocking, no
    /// calls back into the store). `false` when the store cannot (the
    /// default): then the session layer cannot tell an inner server that owns
    /// its sessions ([`SessionOwner::Server`](crate::session::SessionOwner::Server))
    /// that one closed, and says so once at warn.
    fn subscribe_closed(&self, listener: CloseListener) -> bool {
        let _ = listener;
        false
    }

    /// Closes every session with [`CloseCause::Shutdown`] and refuses new ones.
    fn shutdown(&self) -> StoreCall<()>;
}

/// The side of a store that is watched rather than used: its counters and
/// its name. Every [`SessionStore`] is one too, so a single
/// [`stats`](Self::stats) shows the store's own counts (active, reserved,
/// closed by cause) beside the refusals the session layer reports to it.
pub trait StoreStats: Send + Sync + 'static {
    /// A snapshot of the counters.
    fn stats(&self) -> SessionStats;

    /// Counts a rejected request (for [`SessionStats::rejected`]). The default does nothing.
    fn note_rejected(&self, reason: RejectReason) {
        let _ = reason;
    }

    /// Counts a request served although its `MCP-Protocol-Version` named
    /// another supported revision than its session negotiated (for
    /// [`SessionStats::other_version_served`]). The default does nothing.
    fn note_other_version(&self) {}

    /// The store's name in metrics (the `store` label of
    /// `mcp_tower_guard.session_store.duration`, feature `telemetry`):
    /// `moka`, `redis`, or `custom` by default.
    fn backend_name(&self) -> &'static str {
        "custom"
    }
}

/// What [`McpSessionLayer::new`](crate::session::McpSessionLayer::new) accepts: any
/// [`SessionStore`] value, or an `Arc<dyn SessionStore>` you already share.
pub trait IntoSessionStore {
    /// Converts into the shared handle the layer keeps.
    fn into_session_store(self) -> Arc<dyn SessionStore>;
}

impl<T: SessionStore> IntoSessionStore for T {
    fn into_session_store(self) -> Arc<dyn SessionStore> {
        Arc::new(self)
    }
}

impl IntoSessionStore for Arc<dyn SessionStore> {
    fn into_session_store(self) -> Arc<dyn SessionStore> {
        self
    }
}

#[cfg(test)]
mod tests {
    use crate::session::CloseCause;

    #[test]
    fn close_cause_conversions_round_trip() {
        for (i, cause) in CloseCause::ALL.into_iter().enumerate() {
            assert_eq!(cause.index(), i);
            assert_eq!(CloseCause::from_index(i), Some(cause));
            assert_eq!(CloseCause::from_name(cause.as_str()), Some(cause));
        }
        assert_eq!(CloseCause::from_index(CloseCause::ALL.len()), None);
        assert_eq!(CloseCause::from_name("closed"), None);
    }
}
