//! Closing sessions: the guard's expiry and a client's DELETE reach the
//! server; a close on the server's side is noticed.

use super::*;

/// Idle and absolute expiry are the guard's, and reach the server: it gets
/// a DELETE for the session, so its own table empties; the next request with
/// that id is the guard's 404 and never reaches the server.
#[tokio::test]
async fn the_guards_expiry_closes_the_session_on_the_server() {
    bounded(async {
        for (idle, lifetime, cause) in [
            (
                Duration::from_millis(300),
                Duration::from_secs(60),
                CloseCause::IdleExpired,
            ),
            (
                Duration::from_secs(60),
                Duration::from_millis(400),
                CloseCause::LifetimeExpired,
            ),
        ] {
            let store = MokaSessionStore::builder()
                .idle_timeout(idle)
                .max_lifetime(lifetime)
                .build()
                .unwrap();
            let server = Guarded::start(Setup::new(store)).await;
            let id = raw_session(&server.url, &[]).await;
            assert_eq!(server.server_sessions().await, 1);
            eventually("the store expires it", || async {
                server.store.run_pending_tasks();
                server.store.stats().active == 0
            })
            .await;
            eventually("the server is told", || async {
                server.server_sessions().await == 0
            })
            .await;
            let stats = server.store.stats();
            let counted = match cause {
                CloseCause::IdleExpired => stats.idle_expired,
                _ => stats.lifetime_expired,
            };
            assert_eq!(counted, 1, "{cause:?}: {stats:?}");
            let before = server.reached.ids().len();
            let reply = send(ping(&server.url, &id, &[])).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND);
            assert_eq!(reply.json()["error"]["code"], -32001, "the guard's own 404");
            assert_eq!(
                server.reached.ids().len(),
                before,
                "never reached the server"
            );
        }
    })
    .await;
}

/// A client's DELETE goes to the server (204 or 202 from it), closes the
/// record, and a second DELETE is the guard's 404.
#[tokio::test]
async fn a_client_delete_reaches_the_server_and_a_second_gets_404() {
    bounded(async {
        let server = Guarded::start(Setup::new(MokaSessionStore::new())).await;
        let id = raw_session(&server.url, &[]).await;
        let reply = send(delete(&server.url, &id)).await;
        assert!(reply.status.is_success(), "{}", reply.status);
        assert_eq!(server.server_sessions().await, 0);
        assert_eq!(server.store.stats().deleted, 1);
        let before = server.reached.ids().len();
        let again = send(delete(&server.url, &id)).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
        assert_eq!(server.reached.ids().len(), before);
    })
    .await;
}

/// When the server ends a session itself (its keep-alive), its 404 closes
/// the guard's record as `ServerClosed`; the next request is the guard's.
#[tokio::test]
async fn a_server_side_close_is_noticed() {
    bounded(async {
        let mut setup = Setup::new(MokaSessionStore::new());
        setup.keep_alive = Duration::from_millis(300);
        let server = Guarded::start(setup).await;
        let id = raw_session(&server.url, &[]).await;
        eventually("rmcp's keep-alive ends it", || async {
            server.server_sessions().await == 0
        })
        .await;
        let reply = send(ping(&server.url, &id, &[])).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "the server's own 404");
        eventually("the record closes", || async {
            server.store.stats().active == 0
        })
        .await;
        assert_eq!(server.store.stats().server_closed, 1);
        let before = server.reached.ids().len();
        assert_eq!(
            send(ping(&server.url, &id, &[])).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(server.reached.ids().len(), before, "now the guard answers");
        let _ = server.addr;
    })
    .await;
}
