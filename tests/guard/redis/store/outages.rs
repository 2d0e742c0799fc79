//! Redis down or frozen: 503 within the timeout, nothing left behind, and
//! recovery without a restart.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_gives_503_then_the_service_recovers_by_itself() {
    let mut server = redis_or_skip!();
    bounded(async {
        let fast = |b: RedisSessionStoreBuilder| b.timeout(Duration::from_millis(300));
        let a = replica(&server, fast).await;
        let b = replica(&server, fast).await;
        let old = session_id(&a.send(initialize()).await);
        assert_eq!(b.send(ping(&old)).await.status(), StatusCode::OK);

        server.stop();
        for _ in 0..3 {
            assert_503(&a.send(ping(&old)).await);
            assert_503(&b.send(ping(&old)).await);
            assert_503(&a.send(initialize()).await);
            assert_503(&b.send(delete(&old)).await);
        }
        assert_eq!(a.store.stats().rejected.store_unavailable, 6);
        assert_eq!(b.store.stats().rejected.store_unavailable, 6);
        // Down for longer than the connection manager's reconnect attempts
        // (about 5 s): every answer is still a 503, and recovery must not
        // depend on those attempts.
        let down_until = tokio::time::Instant::now() + Duration::from_secs(7);
        while tokio::time::Instant::now() < down_until {
            assert_503(&a.send(ping(&old)).await);
            assert_503(&b.send(initialize()).await);
            tokio::time::sleep(Duration::from_millis(250)).await;
        }

        // Same port, empty data: nothing restarted on our side.
        server.restart();
        let deadline = tokio::time::Instant::now() + WAIT;
        let fresh = loop {
            let res = a.send(initialize()).await;
            match res.status() {
                StatusCode::OK => break session_id(&res),
                StatusCode::SERVICE_UNAVAILABLE => assert_503(&res),
                other => panic!("unexpected status {other}"),
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for A to create sessions again"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        eventually("B serves it", || async {
            match b.send(ping(&fresh)).await.status() {
                StatusCode::OK => true,
                StatusCode::SERVICE_UNAVAILABLE => false,
                other => panic!("unexpected status {other}"),
            }
        })
        .await;
        // The old session died with Redis's data: 404, and both replicas
        // closed it once they were subscribed again.
        assert_eq!(a.send(ping(&old)).await.status(), StatusCode::NOT_FOUND);
        eventually("both replicas closed the lost session", || async {
            a.closes_of(&old) == [CloseCause::Evicted] && b.closes_of(&old) == [CloseCause::Evicted]
        })
        .await;
        // Notifications flow again: a delete on B reaches A's hook.
        eventually("both replicas subscribed again", || async {
            a.store.notifications_connected() && b.store.notifications_connected()
        })
        .await;
        assert_eq!(
            b.send(delete(&fresh)).await.status(),
            StatusCode::NO_CONTENT
        );
        eventually("A saw B's delete", || async {
            a.closes_of(&fresh) == [CloseCause::Deleted]
        })
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_frozen_gives_503_within_the_timeout_and_leaves_nothing_behind() {
    let server = redis_or_skip!();
    bounded(async {
        let fast = |b: RedisSessionStoreBuilder| b.timeout(Duration::from_millis(300));
        let a = replica(&server, fast).await;
        let b = replica(&server, fast).await;
        let id = session_id(&a.send(initialize()).await);

        // SIGSTOP: connections stay open, nothing answers.
        server.pause();
        assert_503(&b.send(ping(&id)).await);
        for _ in 0..5 {
            // Never a session id for a session Redis may not hold.
            assert_503(&a.send(initialize()).await);
        }
        // A client that gives up while its reservation is on the way.
        let dropped = tokio::time::timeout(Duration::from_millis(50), b.send(initialize())).await;
        assert!(dropped.is_err(), "Redis is frozen: no answer within 50 ms");
        server.resume();

        eventually("A serves again", || async {
            a.send(ping(&id)).await.status() == StatusCode::OK
        })
        .await;
        // The reservations sent before the timeouts were discarded: only the
        // first session is left, nothing pending, no extra session created.
        eventually("nothing left behind", || async {
            server.integer(&["ZCARD", "{mcp-tower-guard}:pending"]) == 0
                && server.integer(&["ZCARD", "{mcp-tower-guard}:live"]) == 1
        })
        .await;
        assert_eq!(a.created().len(), 1);
        assert_eq!(b.send(ping(&id)).await.status(), StatusCode::OK);
    })
    .await;
}
