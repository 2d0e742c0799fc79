//! Store backends: an async store, a store that is down, a failed commit.

use super::*;

/// A store that answers every operation later, to drive the future's
/// `Waiting` and `Committing` states.
struct Deferred(MokaSessionStore);

fn later<T: Send + 'static>(call: StoreCall<T>) -> StoreCall<T> {
    StoreCall::pending(async move {
        tokio::task::yield_now().await;
        call.resolve().await
    })
}

impl SessionStore for Deferred {
    fn reserve(
        &self,
        id: &SessionId,
        principal: Option<&Principal>,
    ) -> StoreCall<Result<Reservation, StoreError>> {
        later(self.0.reserve(id, principal))
    }
    fn commit(
        &self,
        reservation: Reservation,
        session: SessionContext,
    ) -> StoreCall<Result<(), StoreError>> {
        later(self.0.commit(reservation, session))
    }
    fn release(&self, reservation: Reservation) {
        self.0.release(reservation)
    }
    fn get(&self, id: &SessionId) -> StoreCall<Result<Option<SessionContext>, StoreError>> {
        later(SessionStore::get(&self.0, id))
    }
    fn remove(&self, id: &SessionId, cause: CloseCause) -> StoreCall<Result<bool, StoreError>> {
        later(self.0.remove(id, cause))
    }
    fn touch(&self, id: &SessionId) {
        self.0.touch(id)
    }
    fn shutdown(&self) -> StoreCall<()> {
        SessionStore::shutdown(&self.0)
    }
}

impl StoreStats for Deferred {
    fn stats(&self) -> SessionStats {
        self.0.stats()
    }
}

#[tokio::test]
async fn async_store_backend_drives_the_same_lifecycle() {
    let store = MokaSessionStore::new();
    let shared: Arc<dyn SessionStore> = Arc::new(Deferred(store.clone()));
    let svc = service(McpSessionLayer::new(shared), &Seen::default());
    let id = session_id(&send(&svc, initialize()).await);
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::OK);
    assert_eq!(
        send(&svc, delete(&id)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::NOT_FOUND);
    let stats = store.stats();
    assert_eq!((stats.created, stats.deleted, stats.active), (1, 1, 0));
}

/// A backend that is down.
struct Down;

impl SessionStore for Down {
    fn reserve(
        &self,
        _: &SessionId,
        _: Option<&Principal>,
    ) -> StoreCall<Result<Reservation, StoreError>> {
        StoreCall::pending(async { Err(down()) })
    }
    fn commit(&self, _: Reservation, _: SessionContext) -> StoreCall<Result<(), StoreError>> {
        StoreCall::Ready(Err(down()))
    }
    fn release(&self, _: Reservation) {}
    fn get(&self, _: &SessionId) -> StoreCall<Result<Option<SessionContext>, StoreError>> {
        StoreCall::Ready(Err(down()))
    }
    fn remove(&self, _: &SessionId, _: CloseCause) -> StoreCall<Result<bool, StoreError>> {
        StoreCall::Ready(Err(down()))
    }
    fn shutdown(&self) -> StoreCall<()> {
        StoreCall::Ready(())
    }
}

impl StoreStats for Down {
    fn stats(&self) -> SessionStats {
        SessionStats::default()
    }
}

fn down() -> StoreError {
    StoreError::Unavailable {
        reason: "backend down".to_owned(),
        retry_after: Duration::from_secs(3),
    }
}

#[tokio::test]
async fn store_errors_are_503_with_retry_after() {
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(Down), &seen);
    let res = send(&svc, initialize()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "3");
    let res = send(&svc, ping(&HeaderValue::from_static("abc"))).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(seen.calls(), 0);
}

/// Reserves fine but cannot store: the handler ran, yet no id is handed out.
struct CommitFails(MokaSessionStore);

impl SessionStore for CommitFails {
    fn reserve(
        &self,
        id: &SessionId,
        principal: Option<&Principal>,
    ) -> StoreCall<Result<Reservation, StoreError>> {
        self.0.reserve(id, principal)
    }
    fn commit(&self, r: Reservation, _: SessionContext) -> StoreCall<Result<(), StoreError>> {
        self.0.release(r);
        StoreCall::pending(async { Err(down()) })
    }
    fn release(&self, r: Reservation) {
        self.0.release(r)
    }
    fn get(&self, id: &SessionId) -> StoreCall<Result<Option<SessionContext>, StoreError>> {
        SessionStore::get(&self.0, id)
    }
    fn remove(&self, id: &SessionId, cause: CloseCause) -> StoreCall<Result<bool, StoreError>> {
        self.0.remove(id, cause)
    }
    fn shutdown(&self) -> StoreCall<()> {
        SessionStore::shutdown(&self.0)
    }
}

impl StoreStats for CommitFails {
    fn stats(&self) -> SessionStats {
        self.0.stats()
    }
}

#[tokio::test]
async fn failed_commit_hands_out_no_id() {
    let store = MokaSessionStore::new();
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(CommitFails(store.clone())), &seen);
    let res = send(&svc, initialize()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(!res.headers().contains_key("mcp-session-id"));
    assert_eq!(seen.calls(), 1);
    let stats = store.stats();
    assert_eq!((stats.active, stats.reserved), (0, 0));
}
