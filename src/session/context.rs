//! What a handler learns about its session: [`SessionContext`].

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use http::Extensions;
use tokio::time::Instant;

use super::client_info::ClientInfo;
use super::id::SessionId;
use super::principal::Principal;
use crate::protocol::ProtocolVersion;

/// The session a legacy-era request belongs to, found in the request extensions.
/// Cloning is cheap (two `Arc`s).
///
/// The context a request carries also marks the session as busy: while it (or any
/// clone of it) is alive, the session does not expire for idleness (its absolute
/// lifetime still applies). A handler that keeps a stream open should keep a
/// clone of the context in that stream; when the last clone is dropped, the idle
/// timer restarts from that moment.
///
/// ```
/// use mcp_tower_guard::session::SessionContext;
///
/// #[derive(Clone)]
/// struct Counter(u32);
///
/// fn handle(ctx: &SessionContext) -> u32 {
///     let n = ctx.state::<Counter>().map_or(0, |c| c.0) + 1;
///     ctx.insert_state(Counter(n));
///     n
/// }
/// # let _ = handle;
/// ```
#[derive(Clone)]
pub struct SessionContext {
    inner: Arc<SessionInner>,
    /// Held for its `Drop`: this request's activity mark.
    _activity: Option<Arc<Activity>>,
}

struct SessionInner {
    id: SessionId,
    principal: Option<Principal>,
    /// Creation time, in nanoseconds after the Unix epoch: 8 bytes where a
    /// `SystemTime` takes 16 (an earlier time counts as the epoch).
    created_unix_nanos: u64,
    created_instant: Instant,
    client: ClientInfo,
    /// Last activity, in nanoseconds after `created_instant` on tokio's clock:
    /// one atomic per session, where a lock and two clocks took 40 bytes.
    seen: AtomicU64,
    /// The negotiated version (`ProtocolVersion::to_bits`, 0 for none): read
    /// on every request, so an atomic rather than a lock.
    version: AtomicU32,
    /// Requests (and streams) running on the session.
    active: AtomicU32,
    /// The in-memory store's close claim: 0 while open, else the code of the
    /// cause that claimed it. Kept here so the store's entry is the context
    /// itself, not a second allocation.
    store_claim: AtomicU8,
    /// The session has closed: nothing more is stored (state never outlives
    /// its session). Written and read for that rule under the `state` lock,
    /// so it is exact; a flag here, not in the lock, sits in padding and
    /// saves 8 bytes a session.
    closed: AtomicBool,
    /// Per-session values. A mutex rather than a read-write lock: held only
    /// to clone or swap a value, and 8 bytes smaller in every session.
    state: Mutex<Extensions>,
    /// The replica whose inner server holds the session (`SessionOwner::Server`
    /// with a shared store).
    replica: OnceLock<Arc<str>>,
}

/// What hears that a session's last running request ended: the store, which
/// restarts the idle timer then (`activity.rs` ties it to the store).
pub(crate) trait IdleNotify: Send + Sync {
    fn idle(&self, id: &SessionId);
}

/// Marks a session busy for as long as it lives (one per request, shared by
/// the clones of that request's context).
struct Activity {
    session: Arc<SessionInner>,
    notify: Weak<dyn IdleNotify>,
}

impl Drop for Activity {
    fn drop(&mut self) {
        if self.session.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.session.touch_seen();
            if let Some(notify) = self.notify.upgrade() {
                notify.idle(&self.session.id);
            }
        }
    }
}

/// When a session began (on both clocks), and its last activity.
struct Born {
    at: SystemTime,
    instant: Instant,
    seen: Instant,
}

impl SessionInner {
    fn new(
        id: SessionId,
        principal: Option<Principal>,
        client: ClientInfo,
        version: Option<ProtocolVersion>,
        born: Born,
    ) -> Self {
        Self {
            id,
            principal,
            created_unix_nanos: unix_nanos(born.at),
            created_instant: born.instant,
            client,
            seen: AtomicU64::new(nanos_between(born.instant, born.seen)),
            version: AtomicU32::new(version.map_or(0, ProtocolVersion::to_bits)),
            active: AtomicU32::new(0),
            store_claim: AtomicU8::new(0),
            closed: AtomicBool::new(false),
            state: Mutex::new(Extensions::new()),
            replica: OnceLock::new(),
        }
    }

    fn touch_seen(&self) {
        self.seen.store(
            nanos_between(self.created_instant, Instant::now()),
            Ordering::Release,
        );
    }

    /// Time from creation to the last activity.
    fn seen_after(&self) -> Duration {
        Duration::from_nanos(self.seen.load(Ordering::Acquire))
    }
}

impl SessionContext {
    /// A new session, not yet stored.
    pub(crate) fn new(
        id: SessionId,
        principal: Option<Principal>,
        client: ClientInfo,
        version: Option<ProtocolVersion>,
    ) -> Self {
        let now = Instant::now();
        let born = Born {
            at: SystemTime::now(),
            instant: now,
            seen: now,
        };
        Self::from_inner(SessionInner::new(id, principal, client, version, born))
    }

    fn from_inner(inner: SessionInner) -> Self {
        Self {
            inner: Arc::new(inner),
            _activity: None,
        }
    }

    /// The same new session under another id: the one the inner server
    /// chose for it ([`SessionOwner::Server`](super::SessionOwner::Server)).
    /// Only for a session not stored yet.
    pub(crate) fn rekeyed(&self, id: SessionId) -> Self {
        Self::new(
            id,
            self.inner.principal.clone(),
            self.inner.client.clone(),
            self.protocol_version(),
        )
    }

    /// Rebuilds a session that a store keeps outside this process (a shared
    /// store such as Redis, a database) from its stored fields.
    ///
    /// The context starts with no request in flight and no per-session state:
    /// [`state`](Self::state) values and the in-flight count live in the process
    /// that holds the context, never in the store. `last_seen` is the last
    /// activity the store recorded; the idle timer of the store is what counts.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use mcp_tower_guard::protocol::ProtocolVersion;
    /// use mcp_tower_guard::session::{ClientInfo, Principal, SessionContext, SessionId};
    ///
    /// let created = SystemTime::now() - Duration::from_secs(60);
    /// let ctx = SessionContext::restore(
    ///     SessionId::new_random(),
    ///     Some(Principal::new("user:alice")),
    ///     ClientInfo::new(None, None, None),
    ///     Some(ProtocolVersion::V2025_06_18),
    ///     created,
    ///     created + Duration::from_secs(30),
    /// );
    /// assert_eq!(ctx.created_at(), created);
    /// assert_eq!(ctx.in_flight(), 0);
    /// assert_eq!(ctx.principal().map(Principal::as_str), Some("user:alice"));
    /// ```
    pub fn restore(
        id: SessionId,
        principal: Option<Principal>,
        client: ClientInfo,
        version: Option<ProtocolVersion>,
        created_at: SystemTime,
        last_seen: SystemTime,
    ) -> Self {
        let now_at = SystemTime::now();
        let now = Instant::now();
        // The same ages on tokio's clock (a time in the future counts as now).
        let ago = |t: SystemTime| {
            let age = now_at.duration_since(t).unwrap_or_default();
            now.checked_sub(age).unwrap_or(now)
        };
        let born = Born {
            at: created_at,
            instant: ago(created_at),
            seen: ago(last_seen),
        };
        Self::from_inner(SessionInner::new(id, principal, client, version, born))
    }

    /// The replica whose inner server holds this session, when the inner
    /// server owns the sessions
    /// ([`SessionOwner::Server`](super::SessionOwner::Server)) and the store is
    /// shared by several replicas (the Redis store's
    /// `replica_id`); `None` otherwise.
    pub fn replica(&self) -> Option<&str> {
        self.inner.replica.get().map(|r| &**r)
    }

    /// Records the replica that holds the session (once; later calls keep
    /// the first).
    pub(crate) fn set_replica(&self, replica: Arc<str>) {
        let _ = self.inner.replica.set(replica);
    }

    /// The session id (also in the `Mcp-Session-Id` header). Do not log it; use
    /// [`SessionId::tag`].
    pub fn id(&self) -> &SessionId {
        &self.inner.id
    }

    /// When the session was created (its `initialize` request arrived).
    pub fn created_at(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(self.inner.created_unix_nanos)
    }

    /// When the session last started or finished serving a request.
    pub fn last_seen(&self) -> SystemTime {
        let created = self.created_at();
        created
            .checked_add(self.inner.seen_after())
            .unwrap_or(created)
    }

    /// The client as seen on the `initialize` request.
    pub fn client(&self) -> &ClientInfo {
        &self.inner.client
    }

    /// The protocol version: the `protocolVersion` the client asked for in
    /// `initialize` when it is a known legacy revision, then the
    /// `MCP-Protocol-Version` header of the latest request that sent a legacy one.
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        ProtocolVersion::from_bits(self.inner.version.load(Ordering::Acquire))
    }

    /// The principal that created the session, if a resolver is configured.
    pub fn principal(&self) -> Option<&Principal> {
        self.inner.principal.as_ref()
    }

    /// How many requests (and retained contexts) are using the session now.
    pub fn in_flight(&self) -> usize {
        usize::try_from(self.inner.active.load(Ordering::Acquire)).unwrap_or(usize::MAX)
    }

    /// Stores a per-session value of type `T`, returning the previous one.
    ///
    /// Once the session has closed, nothing is stored (and `None` is
    /// returned): a handler still running when its session is deleted cannot
    /// bring state back. The store drops all state right after the close hook.
    pub fn insert_state<T: Clone + Send + Sync + 'static>(&self, value: T) -> Option<T> {
        let mut state = self.lock_state();
        if self.inner.closed.load(Ordering::Acquire) {
            return None;
        }
        state.insert(value)
    }

    /// The per-session value of type `T`, created with `init` if there is
    /// none yet. `None` once the session has closed: per-session state is only
    /// ever created for a session the store still holds, under the same lock
    /// its close takes, so no race can bring it back after the close.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use mcp_tower_guard::session::SessionContext;
    ///
    /// #[derive(Clone, Default)]
    /// struct Calls(Arc<AtomicU32>);
    ///
    /// fn handle(ctx: &SessionContext) -> Option<u32> {
    ///     let calls = ctx.state_or_insert_with(Calls::default)?;
    ///     Some(calls.0.fetch_add(1, Ordering::Relaxed) + 1)
    /// }
    /// # let _ = handle;
    /// ```
    pub fn state_or_insert_with<T: Clone + Send + Sync + 'static>(
        &self,
        init: impl FnOnce() -> T,
    ) -> Option<T> {
        if let Some(value) = self.state::<T>() {
            return Some(value);
        }
        let mut state = self.lock_state();
        if self.inner.closed.load(Ordering::Acquire) {
            return None;
        }
        if let Some(value) = state.get::<T>() {
            return Some(value.clone());
        }
        let value = init();
        state.insert(value.clone());
        Some(value)
    }

    /// A clone of the per-session value of type `T`.
    pub fn state<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.lock_state().get::<T>().cloned()
    }

    /// Removes the per-session value of type `T`.
    pub fn remove_state<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.lock_state().remove::<T>()
    }

    /// True once the session has closed (deleted, expired, evicted, shut
    /// down, or its `initialize` failed).
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Marks the session closed: from now on no state is stored. Called by
    /// the stores before the close hook runs.
    pub(crate) fn mark_closed(&self) {
        // Under the lock: an insert that holds it has finished, and one that
        // waits for it sees the flag.
        let _state = self.lock_state();
        self.inner.closed.store(true, Ordering::Release);
    }

    /// Drops all per-session state (after the close hook ran), outside the lock.
    pub(crate) fn clear_state(&self) {
        let values = std::mem::take(&mut *self.lock_state());
        drop(values);
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, Extensions> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A handle to the same session that does not keep it busy: use it to
    /// remember a session (in a registry, a log) without holding off its idle
    /// timeout. Stores keep detached contexts.
    pub fn detached(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            _activity: None,
        }
    }

    /// The same session marked busy until the returned context and all its
    /// clones are dropped; then `notify` hears it went idle.
    pub(crate) fn begin_activity(&self, notify: Weak<dyn IdleNotify>) -> Self {
        self.inner.active.fetch_add(1, Ordering::AcqRel);
        self.inner.touch_seen();
        let activity = Arc::new(Activity {
            session: Arc::clone(&self.inner),
            notify,
        });
        Self {
            inner: Arc::clone(&self.inner),
            _activity: Some(activity),
        }
    }

    pub(crate) fn set_protocol_version(&self, version: ProtocolVersion) {
        self.inner
            .version
            .store(version.to_bits(), Ordering::Release);
    }

    /// Creation time on the tokio clock (follows a paused test clock).
    pub(crate) fn created_instant(&self) -> Instant {
        self.inner.created_instant
    }

    /// Time since creation and since the last activity at `now` (one clock
    /// subtraction: the last activity is kept as an offset from creation).
    pub(crate) fn age_and_idle(&self, now: Instant) -> (Duration, Duration) {
        let age = now.saturating_duration_since(self.inner.created_instant);
        (age, age.saturating_sub(self.inner.seen_after()))
    }

    /// Last activity on the tokio clock.
    pub(crate) fn last_seen_instant(&self) -> Instant {
        let created = self.inner.created_instant;
        created
            .checked_add(self.inner.seen_after())
            .unwrap_or(created)
    }

    /// Last activity as a std instant (moka's clock). Under a paused tokio clock
    /// this may lie in the future, which only makes moka's deadline later.
    pub(crate) fn last_seen_std(&self) -> std::time::Instant {
        self.last_seen_instant().into_std()
    }

    /// Claims the close of a session the in-memory store holds: exactly one
    /// caller wins, with a nonzero `code` naming its cause.
    pub(crate) fn claim_close(&self, code: u8) -> bool {
        self.inner
            .store_claim
            .compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The code of the cause that claimed the close; 0 while open.
    pub(crate) fn close_claim(&self) -> u8 {
        self.inner.store_claim.load(Ordering::Acquire)
    }
}

/// `at` in nanoseconds after the Unix epoch (0 before it; `u64` lasts
/// until the year 2554).
fn unix_nanos(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Nanoseconds from `from` to `to` (0 when `to` is earlier), saturating at
/// about 584 years.
fn nanos_between(from: Instant, to: Instant) -> u64 {
    u64::try_from(to.saturating_duration_since(from).as_nanos()).unwrap_or(u64::MAX)
}

impl fmt::Debug for SessionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionContext")
            .field("id", &self.inner.id)
            .field(
                "principal",
                &self.inner.principal.as_ref().map(Principal::tag),
            )
            .field("created_at", &self.created_at())
            .field("protocol_version", &self.protocol_version())
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    /// Every idle session holds one of these: with the `Arc` header it is a
    /// 184-byte allocation, the largest that fits glibc's 192-byte chunk.
    /// A field more moves every session to the next chunk size (BENCHMARKS.md,
    /// memory per idle session).
    #[test]
    fn a_session_fits_its_allocation_budget() {
        assert!(std::mem::size_of::<super::SessionInner>() <= 168);
        assert!(std::mem::size_of::<super::SessionContext>() <= 16);
    }
}
