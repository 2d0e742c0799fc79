//! `SessionOwner::Server` with the Redis store: two replicas, each an rmcp
//! server keeping its own sessions behind its own guard, share one session
//! record in a real `redis-server`. The replica whose server holds a
//! session is recorded with it; another replica answers 421 naming it, and
//! only the holder's server is told when the guard closes the session.

use std::time::Duration;

use http::StatusCode;
use mcp_tower_guard::session::redis::RedisSessionStore;

use crate::interop::server_sessions::{
    bounded, eventually, ping, raw_session, send, Guarded, Setup,
};
use crate::support::redis_server::RedisServer;

async fn replica(redis: &RedisServer, name: &str, idle: Duration) -> Guarded<RedisSessionStore> {
    let store = RedisSessionStore::builder(redis.url())
        .replica_id(name)
        .idle_timeout(idle)
        .maintenance_interval(Duration::from_millis(100))
        .build()
        .await
        .expect("store connects");
    Guarded::start(Setup::new(store)).await
}

#[tokio::test]
async fn another_replica_answers_421_naming_the_holder_and_only_the_holder_closes() {
    bounded(async {
        let Some(redis) = RedisServer::start() else {
            return;
        };
        let idle = Duration::from_millis(800);
        let a = replica(&redis, "replica-a", idle).await;
        let b = replica(&redis, "replica-b", idle).await;
        let id = raw_session(&a.url, &[]).await;
        assert_eq!(a.store.stats().created, 1);

        // At B: the record is shared, but only A's server has the session.
        let reply = send(ping(&b.url, &id, &[])).await;
        assert_eq!(reply.status, StatusCode::MISDIRECTED_REQUEST);
        assert_eq!(reply.headers["mcp-session-replica"], "replica-a");
        assert!(reply.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("another replica"));
        assert!(b.reached.ids().is_empty(), "B's server never saw it");
        assert_eq!(b.store.stats().rejected.other_replica, 1);
        // At A: served.
        assert_eq!(send(ping(&a.url, &id, &[])).await.status, StatusCode::OK);

        // Idle expiry: A's server gets the DELETE; B's server gets nothing.
        eventually("the session idles out", || async {
            a.store.stats().active == 0 || b.store.stats().active == 0
        })
        .await;
        eventually("A's server is told", || async {
            a.server_sessions().await == 0
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(b.reached.ids().is_empty(), "{:?}", b.reached.ids());
        // And the id is the guard's 404 everywhere.
        for replica in [&a.url, &b.url] {
            assert_eq!(
                send(ping(replica, &id, &[])).await.status,
                StatusCode::NOT_FOUND
            );
        }
    })
    .await;
}
