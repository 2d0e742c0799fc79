//! Session store calls, timed: a [`SessionStore`] that forwards every call
//! to the store the session layer was given and reports how long it took
//! through [`crate::observe`] (feature `telemetry`; without it the store is
//! used as it is).

use std::sync::Arc;

use tokio::time::Instant;

use crate::observe;
use crate::session::{
    CloseCause, Principal, RejectReason, Reservation, SessionContext, SessionId, SessionStats,
    SessionStore, StoreCall, StoreError, StoreStats,
};

/// The session layer's store, timed. Crate-internal: the layer wraps the
/// store it is given, so every backend is measured the same way.
pub(crate) struct MeteredStore(Arc<dyn SessionStore>);

impl MeteredStore {
    pub(crate) fn wrap(store: Arc<dyn SessionStore>) -> Arc<dyn SessionStore> {
        if observe::ENABLED {
            Arc::new(Self(store))
        } else {
            store
        }
    }

    /// Runs `call`, timing it when a recorder is installed: a ready answer
    /// now, a pending one when its future resolves.
    fn timed<T, F>(&self, operation: &'static str, ok: fn(&T) -> bool, call: F) -> StoreCall<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn SessionStore) -> StoreCall<T>,
    {
        if !observe::recording() {
            return call(&*self.0);
        }
        let store = self.0.backend_name();
        let start = Instant::now();
        match call(&*self.0) {
            StoreCall::Ready(value) => {
                observe::store_call(store, operation, ok(&value), start.elapsed());
                StoreCall::Ready(value)
            }
            StoreCall::Pending(future) => StoreCall::pending(async move {
                let value = future.await;
                observe::store_call(store, operation, ok(&value), start.elapsed());
                value
            }),
        }
    }
}

fn is_ok<T>(result: &Result<T, StoreError>) -> bool {
    result.is_ok()
}

impl SessionStore for MeteredStore {
    fn reserve(
        &self,
        id: &SessionId,
        principal: Option<&Principal>,
    ) -> StoreCall<Result<Reservation, StoreError>> {
        self.timed("reserve", is_ok, |s| s.reserve(id, principal))
    }

    fn commit(
        &self,
        reservation: Reservation,
        session: SessionContext,
    ) -> StoreCall<Result<(), StoreError>> {
        self.timed("commit", is_ok, |s| s.commit(reservation, session))
    }

    fn release(&self, reservation: Reservation) {
        self.0.release(reservation);
    }

    fn abandon(&self, reservation: Reservation, session: &SessionContext) {
        self.0.abandon(reservation, session);
    }

    fn get(&self, id: &SessionId) -> StoreCall<Result<Option<SessionContext>, StoreError>> {
        self.timed("get", is_ok, |s| s.get(id))
    }

    fn remove(&self, id: &SessionId, cause: CloseCause) -> StoreCall<Result<bool, StoreError>> {
        self.timed("remove", is_ok, |s| s.remove(id, cause))
    }

    fn request_started(&self, id: &SessionId) {
        self.0.request_started(id);
    }

    fn lookup_refused(&self, id: &SessionId) {
        self.0.lookup_refused(id);
    }

    fn touch(&self, id: &SessionId) {
        self.0.touch(id);
    }

    fn subscribe_closed(&self, listener: crate::session::CloseListener) -> bool {
        self.0.subscribe_closed(listener)
    }

    fn replica_id(&self) -> Option<std::sync::Arc<str>> {
        self.0.replica_id()
    }

    fn shutdown(&self) -> StoreCall<()> {
        self.timed("shutdown", |_| true, |s| s.shutdown())
    }
}

impl StoreStats for MeteredStore {
    fn note_rejected(&self, reason: RejectReason) {
        self.0.note_rejected(reason);
    }

    fn note_other_version(&self) {
        self.0.note_other_version();
    }

    fn stats(&self) -> SessionStats {
        self.0.stats()
    }

    fn backend_name(&self) -> &'static str {
        self.0.backend_name()
    }
}
