//! Session limits across replicas: the global and per-user limits, binding,
//! and failed initializes giving their slots back.

use super::*;

fn slow(mut req: Request<B>, ms: u64) -> Request<B> {
    req.headers_mut()
        .insert("x-test-sleep-ms", HeaderValue::from(ms));
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_initializes_on_two_replicas_leave_exactly_the_limit() {
    let server = redis_or_skip!();
    bounded(async {
        let limit =
            |b: RedisSessionStoreBuilder| b.max_sessions(20).retry_after(Duration::from_secs(5));
        let a = replica(&server, limit).await;
        let b = replica(&server, limit).await;

        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let svc = if i % 2 == 0 {
                    a.svc.clone()
                } else {
                    b.svc.clone()
                };
                tokio::spawn(async move { send(&svc, slow(initialize(), 20)).await })
            })
            .collect();
        let mut by_status: HashMap<StatusCode, usize> = HashMap::new();
        let mut ids = Vec::new();
        for task in tasks {
            let res = task.await.unwrap();
            *by_status.entry(res.status()).or_default() += 1;
            match res.status() {
                StatusCode::OK => ids.push(session_id(&res)),
                StatusCode::TOO_MANY_REQUESTS => {
                    assert_eq!(res.headers()["retry-after"], "5");
                    assert!(!res.headers().contains_key("mcp-session-id"));
                }
                other => panic!("unexpected status {other}"),
            }
        }
        assert_eq!(by_status.get(&StatusCode::OK), Some(&20), "{by_status:?}");
        assert_eq!(
            by_status.get(&StatusCode::TOO_MANY_REQUESTS),
            Some(&180),
            "{by_status:?}"
        );
        assert_eq!(a.created().len() + b.created().len(), 20);
        assert_eq!(server.integer(&["ZCARD", "{mcp-tower-guard}:live"]), 20);
        assert_eq!(server.integer(&["ZCARD", "{mcp-tower-guard}:pending"]), 0);
        let rejected =
            a.store.stats().rejected.global_limit + b.store.stats().rejected.global_limit;
        assert_eq!(rejected, 180);

        // Full on both; a DELETE on B frees a slot for A.
        assert_eq!(
            a.send(initialize()).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            b.send(delete(&ids[0])).await.status(),
            StatusCode::NO_CONTENT
        );
        assert_eq!(a.send(initialize()).await.status(), StatusCode::OK);
        assert_eq!(
            b.send(initialize()).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn per_user_limit_and_binding_hold_across_replicas() {
    let server = redis_or_skip!();
    bounded(async {
        let limit = |b: RedisSessionStoreBuilder| b.max_sessions(100).max_sessions_per_principal(3);
        let a = replica(&server, limit).await;
        let b = replica(&server, limit).await;

        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let svc = if i % 2 == 0 {
                    a.svc.clone()
                } else {
                    b.svc.clone()
                };
                tokio::spawn(async move { send(&svc, slow(initialize_as("alice"), 20)).await })
            })
            .collect();
        let mut alice = Vec::new();
        let mut refused = 0;
        for task in tasks {
            let res = task.await.unwrap();
            match res.status() {
                StatusCode::OK => alice.push(session_id(&res)),
                StatusCode::TOO_MANY_REQUESTS => refused += 1,
                other => panic!("unexpected status {other}"),
            }
        }
        assert_eq!((alice.len(), refused), (3, 7));
        let principal_refusals =
            a.store.stats().rejected.principal_limit + b.store.stats().rejected.principal_limit;
        assert_eq!(principal_refusals, 7);

        // Bob is not limited by Alice's sessions, and cannot use hers anywhere.
        let res = b.send(initialize_as("bob")).await;
        assert_eq!(res.status(), StatusCode::OK);
        let bob = session_id(&res);
        for replica in [&a, &b] {
            assert_eq!(
                replica.send(ping_as(&alice[0], "bob")).await.status(),
                StatusCode::NOT_FOUND
            );
            assert_eq!(
                replica.send(ping(&alice[0])).await.status(),
                StatusCode::NOT_FOUND,
                "anonymous"
            );
            assert_eq!(
                replica.send(ping_as(&alice[0], "alice")).await.status(),
                StatusCode::OK
            );
            assert_eq!(
                replica.send(ping_as(&bob, "bob")).await.status(),
                StatusCode::OK
            );
        }
        assert_eq!(
            b.seen.last().unwrap().principal(),
            Some(&Principal::new("bob"))
        );

        // Alice ends one session on A; she may open one on B.
        let mut del = delete(&alice[1]);
        del.headers_mut()
            .insert("x-user", HeaderValue::from_static("alice"));
        assert_eq!(a.send(del).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            b.send(initialize_as("alice")).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            a.send(initialize_as("alice")).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_initialize_gives_its_slot_back_on_every_replica() {
    let server = redis_or_skip!();
    bounded(async {
        let one = |b: RedisSessionStoreBuilder| b.max_sessions(1);
        let a = replica(&server, one).await;
        let b = replica(&server, one).await;
        let mut failing = initialize();
        failing
            .headers_mut()
            .insert("x-test-status", HeaderValue::from_static("500"));
        assert_eq!(
            a.send(failing).await.status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        // The release runs in the background.
        eventually("the slot is free for B", || async {
            match b.send(initialize()).await.status() {
                StatusCode::OK => true,
                StatusCode::TOO_MANY_REQUESTS => false,
                other => panic!("unexpected status {other}"),
            }
        })
        .await;
        assert!(a.created().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_initializes_leave_every_slot_free_in_redis() {
    // The commit rule (finding F7) with the Redis store: replicas share the
    // limit, so a slot a failed initialize held must be given back in Redis.
    let server = redis_or_skip!();
    bounded(async {
        // A generous timeout: on a loaded machine a reserve script can take a
        // while, and a timed-out one is a 503 that never reaches the handler.
        let two = |b: RedisSessionStoreBuilder| b.max_sessions(2).timeout(Duration::from_secs(2));
        let a = replica(&server, two).await;
        let b = replica(&server, two).await;
        let mut failed = 0;
        for (name, req) in failing_initializes() {
            let res = a.send(req).await;
            assert!(!res.headers().contains_key("mcp-session-id"), "{name}");
            // Only an initialize the handler answered is an InitializeFailed.
            if res.status() != StatusCode::SERVICE_UNAVAILABLE {
                failed += 1;
            }
        }
        let stats = a.store.stats();
        assert_eq!((stats.active, stats.created), (0, 0));
        // Redis' own count of reservations drops to zero, and every failure is
        // counted (discards, and the count with them, run in the background:
        // under load some land after the answers).
        let counted = tokio::time::timeout(WAIT, async {
            loop {
                a.store.run_pending_tasks().await;
                let stats = a.store.stats();
                if stats.reserved == 0 && stats.initialize_failed == failed {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(
            counted.is_ok(),
            "not every failure counted: {:?}, closes {:?}",
            a.store.stats(),
            a.closed.all()
        );
        assert!(a
            .closed
            .all()
            .iter()
            .all(|(_, c)| *c == CloseCause::InitializeFailed));
        assert!(
            b.closed.all().is_empty(),
            "only the replica that saw the id"
        );
        assert!(a.created().is_empty());

        // Streamed answers (the commit runs inside the body, on Redis' clock).
        let streamed = RedisSessionStore::builder(server.url())
            .max_sessions(2)
            .build()
            .await
            .expect("store connects");
        let addr = sse::serve(McpSessionLayer::new(streamed.clone())).await;
        let client = sse::client();
        for (n, script) in ["notify,error,hang", "notify", "fail", "notify,cut"]
            .into_iter()
            .enumerate()
        {
            let res = sse::initialize(&client, addr, script).await;
            let mut body = res.into_body();
            let done = n as u64 + 1;
            sse::drain_or_wait(&mut body, || streamed.stats().initialize_failed == done).await;
        }
        assert_eq!(streamed.stats().initialize_failed, 4);
        let res = sse::initialize(&client, addr, "notify,split,hang").await;
        let id = res.headers()["mcp-session-id"].clone();
        let mut body = res.into_body();
        assert!(sse::read_until(&mut body, "}}}\n\n").await);
        assert_eq!(sse::ping(&client, addr, &id).await, StatusCode::OK);
        drop(body);

        // Both slots were free in Redis: the streamed session and one more fit
        // (discards run in the background, so allow them a moment).
        eventually("one more session fits", || async {
            match b.send(initialize()).await.status() {
                StatusCode::OK => true,
                StatusCode::TOO_MANY_REQUESTS => false,
                other => panic!("unexpected status {other}"),
            }
        })
        .await;
        assert_eq!(
            b.send(initialize()).await.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "the limit holds: two sessions, no slot leaked either way"
        );
    })
    .await;
}
