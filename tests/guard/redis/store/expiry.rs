//! Idle timeout refreshed by use on any replica, lifetimes never extended,
//! busy sessions kept alive.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timeout_is_refreshed_by_use_on_any_replica_then_expires_everywhere() {
    let server = redis_or_skip!();
    bounded(async {
        let idle = |b: RedisSessionStoreBuilder| b.idle_timeout(Duration::from_secs(1));
        let a = replica(&server, idle).await;
        let b = replica(&server, idle).await;

        let id = session_id(&a.send(initialize()).await);
        // 2.4 s of use, alternating replicas, longer than the idle timeout.
        for i in 0..8 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let replica = if i % 2 == 0 { &b } else { &a };
            assert_eq!(
                replica.send(ping(&id)).await.status(),
                StatusCode::OK,
                "ping {i}"
            );
        }
        // Then idle: both replicas see the expiry (sweep + notification).
        eventually("both replicas ran the close hook", || async {
            a.closes_of(&id) == [CloseCause::IdleExpired]
                && b.closes_of(&id) == [CloseCause::IdleExpired]
        })
        .await;
        assert_eq!(a.send(ping(&id)).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(b.send(ping(&id)).await.status(), StatusCode::NOT_FOUND);
        let expired = a.store.stats().idle_expired + b.store.stats().idle_expired;
        assert_eq!(expired, 1, "one replica's sweep closed it");
        let key = format!("{{mcp-tower-guard}}:s:{}", id.to_str().unwrap());
        assert_eq!(server.integer(&["EXISTS", &key]), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifetime_is_never_extended_by_use() {
    let server = redis_or_skip!();
    bounded(async {
        let short = |b: RedisSessionStoreBuilder| {
            b.idle_timeout(Duration::from_secs(30))
                .max_lifetime(Duration::from_secs(1))
        };
        let a = replica(&server, short).await;
        let b = replica(&server, short).await;
        let id = session_id(&a.send(initialize()).await);
        eventually("the session ends though it is in use", || async {
            b.send(ping(&id)).await.status() == StatusCode::NOT_FOUND
        })
        .await;
        eventually("both hooks say lifetime", || async {
            a.closes_of(&id) == [CloseCause::LifetimeExpired]
                && b.closes_of(&id) == [CloseCause::LifetimeExpired]
        })
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_held_busy_on_one_replica_does_not_idle_out() {
    let server = redis_or_skip!();
    bounded(async {
        let idle = |b: RedisSessionStoreBuilder| b.idle_timeout(Duration::from_secs(1));
        let a = replica(&server, idle).await;
        let b = replica(&server, idle).await;
        let id = session_id(&a.send(initialize()).await);

        // A's handler keeps the context for 3 s (as an SSE stream would).
        let mut hold = ping(&id);
        hold.headers_mut()
            .insert("x-test-hold-ms", HeaderValue::from_static("3000"));
        assert_eq!(a.send(hold).await.status(), StatusCode::OK);
        tokio::time::sleep(Duration::from_secs(2)).await;
        // No request for 2 s (twice the idle timeout), but A holds it.
        assert_eq!(b.send(ping(&id)).await.status(), StatusCode::OK);
        assert!(a.closes_of(&id).is_empty());
        // Released: it idles out.
        eventually("idle expiry after the hold", || async {
            b.closes_of(&id) == [CloseCause::IdleExpired]
        })
        .await;
    })
    .await;
}
