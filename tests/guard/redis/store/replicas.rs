//! Two replicas share sessions through Redis: created on one, used and
//! deleted on the other, the near cache, one replica's shutdown; and the
//! store's calls timed under their backend name.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_on_a_used_on_b_deleted_on_b_is_gone_on_a() {
    let server = redis_or_skip!();
    bounded(async {
        let a = replica(&server, |b| b).await;
        let b = replica(&server, |b| b).await;

        let res = a.send(initialize()).await;
        assert_eq!(res.status(), StatusCode::OK);
        let id = session_id(&res);
        assert_eq!(a.created(), [id.to_str().unwrap()]);
        assert!(
            b.created().is_empty(),
            "created hook runs where it was created"
        );
        assert_eq!(a.store.stats().active, 1);

        // B serves it: same id, protocol version and client as stored by A.
        let res = b.send(ping(&id)).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["mcp-session-id"], id);
        let ctx = b.seen.last().expect("B's handler got the session");
        assert_eq!(ctx.id().as_str(), id.to_str().unwrap());
        assert_eq!(
            ctx.protocol_version().map(|v| v.to_string()).as_deref(),
            Some("2025-06-18")
        );
        assert_eq!(ctx.principal(), None);

        // DELETE on B: 204, B's hook at once, then A answers 404 (no near cache).
        assert_eq!(b.send(delete(&id)).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(b.closes_of(&id), [CloseCause::Deleted]);
        assert_eq!(a.send(ping(&id)).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(b.send(ping(&id)).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(b.send(delete(&id)).await.status(), StatusCode::NOT_FOUND);

        // A runs its hook exactly once, though it learns twice (its own 404
        // lookup and the notification). Messages on the channel are ordered:
        // once A has seen a later close, it has seen this one's message too.
        let res = a.send(initialize()).await;
        let later = session_id(&res);
        assert_eq!(
            b.send(delete(&later)).await.status(),
            StatusCode::NO_CONTENT
        );
        eventually("A saw the later close", || async {
            a.closes_of(&later) == [CloseCause::Deleted]
        })
        .await;
        assert_eq!(a.closes_of(&id), [CloseCause::Deleted]);
        assert_eq!(b.closes_of(&id), [CloseCause::Deleted]);

        // Per-replica counters: B performed both deletes, A created both.
        assert_eq!(b.store.stats().deleted, 2);
        assert_eq!(a.store.stats().deleted, 0);
        assert_eq!(a.store.stats().created, 2);
        assert_eq!(b.store.stats().active, 0);
        assert_eq!(server.integer(&["ZCARD", "{mcp-tower-guard}:live"]), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_cache_hit_skips_redis_and_a_delete_elsewhere_invalidates_it() {
    let server = redis_or_skip!();
    bounded(async {
        // A long TTL, so only the close notification can explain a prompt 404.
        let a = replica(&server, |b| b.near_cache(Duration::from_secs(30))).await;
        let b = replica(&server, |b| b).await;
        assert!(a.store.notifications_connected());

        let id = session_id(&a.send(initialize()).await);
        assert_eq!(a.send(ping(&id)).await.status(), StatusCode::OK);
        assert_eq!(a.send(ping(&id)).await.status(), StatusCode::OK);
        assert!(
            a.store.near_cache_hits() >= 2,
            "lookups on A hit the near cache"
        );

        assert_eq!(b.send(delete(&id)).await.status(), StatusCode::NO_CONTENT);
        eventually("A answers 404 after B's delete", || async {
            a.send(ping(&id)).await.status() == StatusCode::NOT_FOUND
        })
        .await;
        eventually("A's close hook ran", || async {
            a.closes_of(&id) == [CloseCause::Deleted]
        })
        .await;

        // A delete on the near-cached replica itself is immediate there and on B.
        let id = session_id(&a.send(initialize()).await);
        assert_eq!(b.send(ping(&id)).await.status(), StatusCode::OK);
        assert_eq!(a.send(delete(&id)).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(a.send(ping(&id)).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(b.send(ping(&id)).await.status(), StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_of_one_replica_leaves_the_sessions_to_the_others() {
    let server = redis_or_skip!();
    bounded(async {
        let a = replica(&server, |b| b).await;
        let b = replica(&server, |b| b).await;
        let id = session_id(&a.send(initialize()).await);
        a.store.shutdown();
        assert_eq!(a.closes_of(&id), [CloseCause::Shutdown]);
        assert_503(&a.send(ping(&id)).await);
        assert_eq!(b.send(ping(&id)).await.status(), StatusCode::OK);
        assert!(b.closes_of(&id).is_empty());
    })
    .await;
}

/// With `telemetry`, each Redis call is timed under `store="redis"`, the
/// same histogram the moka store fills.
#[cfg(feature = "telemetry")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_calls_are_timed_under_their_backend_name() {
    let server = redis_or_skip!();
    bounded(async {
        // The test body runs on this thread, and so do the store's calls.
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let _local = metrics::set_default_local_recorder(&recorder);
        let a = replica(&server, |b| b).await;
        let res = a.send(initialize()).await;
        assert_eq!(res.status(), StatusCode::OK);
        let id = session_id(&res);
        assert_eq!(a.send(ping(&id)).await.status(), StatusCode::OK);
        assert_eq!(a.send(delete(&id)).await.status(), StatusCode::NO_CONTENT);

        let out = handle.render();
        for operation in ["reserve", "commit", "get", "remove"] {
            let count = format!(
                "mcp_tower_guard_session_store_duration_count{{store=\"redis\",operation=\"{operation}\",outcome=\"ok\"}}"
            );
            assert!(out.contains(&count), "{count}\n{out}");
        }
    })
    .await;
}
