//! Session limits: exact under concurrency, global and per principal, with
//! refusal (429 + Retry-After) or eviction of the least recently used idle session.

use crate::support::session as support;
use crate::support::sse;

use std::collections::HashMap;
use std::time::Duration;

use http::request::Parts;
use http::{HeaderValue, StatusCode};
use mcp_tower_guard::session::{
    CloseCause, LimitPolicy, McpSessionLayer, MokaSessionStore, Principal,
};
use mcp_tower_guard::{Rejection, RejectionKind};
use support::*;

fn by_user(parts: &Parts) -> Option<Principal> {
    parts
        .headers
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .map(Principal::new)
}

fn slow(mut req: http::Request<B>, ms: u64) -> http::Request<B> {
    req.headers_mut()
        .insert("x-test-sleep-ms", HeaderValue::from(ms));
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousand_concurrent_initializes_leave_exactly_max_sessions() {
    let store = MokaSessionStore::builder()
        .max_sessions(100)
        .retry_after(Duration::from_secs(5))
        .build()
        .unwrap();
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());

    let tasks: Vec<_> = (0..1_000)
        .map(|_| {
            let svc = svc.clone();
            tokio::spawn(async move { send(&svc, slow(initialize(), 2)).await })
        })
        .collect();
    let (mut ok, mut refused) = (0, 0);
    for task in tasks {
        let res = task.await.unwrap();
        match res.status() {
            StatusCode::OK => {
                assert!(res.headers().contains_key("mcp-session-id"));
                ok += 1;
            }
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(res.headers()["retry-after"], "5");
                assert!(!res.headers().contains_key("mcp-session-id"));
                assert_eq!(
                    res.extensions().get::<Rejection>().unwrap().kind(),
                    RejectionKind::TooManySessions
                );
                refused += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((ok, refused), (100, 900));
    let stats = store.stats();
    assert_eq!(stats.active, 100);
    assert_eq!(stats.created, 100);
    assert_eq!(stats.reserved, 0);
    assert_eq!(stats.rejected.global_limit, 900);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn per_principal_limit_holds_under_concurrency() {
    let store = MokaSessionStore::builder()
        .max_sessions(1_000)
        .max_sessions_per_principal(5)
        .build()
        .unwrap();
    let svc = service(
        McpSessionLayer::new(store.clone()).principal(by_user),
        &Seen::default(),
    );
    let tasks: Vec<_> = (0..500)
        .map(|i| {
            let svc = svc.clone();
            let user = format!("user{}", i % 10);
            tokio::spawn(async move {
                let res = send(&svc, slow(initialize_as(&user), 2)).await;
                (user, res.status())
            })
        })
        .collect();
    let mut per_user: HashMap<String, usize> = HashMap::new();
    for task in tasks {
        let (user, status) = task.await.unwrap();
        match status {
            StatusCode::OK => *per_user.entry(user).or_default() += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(per_user.len(), 10);
    assert!(per_user.values().all(|&n| n == 5), "{per_user:?}");
    let stats = store.stats();
    assert_eq!(stats.active, 50);
    assert_eq!(stats.rejected.principal_limit, 450);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn global_and_per_principal_limits_hold_together() {
    let store = MokaSessionStore::builder()
        .max_sessions(30)
        .max_sessions_per_principal(5)
        .build()
        .unwrap();
    let svc = service(
        McpSessionLayer::new(store.clone()).principal(by_user),
        &Seen::default(),
    );
    let tasks: Vec<_> = (0..400)
        .map(|i| {
            let svc = svc.clone();
            let user = format!("user{}", i % 10);
            tokio::spawn(async move {
                (
                    user.clone(),
                    send(&svc, initialize_as(&user)).await.status(),
                )
            })
        })
        .collect();
    let mut per_user: HashMap<String, usize> = HashMap::new();
    for task in tasks {
        let (user, status) = task.await.unwrap();
        if status == StatusCode::OK {
            *per_user.entry(user).or_default() += 1;
        }
    }
    assert_eq!(per_user.values().sum::<usize>(), 30);
    assert!(per_user.values().all(|&n| n <= 5), "{per_user:?}");
    assert_eq!(store.stats().active, 30);
}

#[tokio::test(start_paused = true)]
async fn evict_idle_lru_closes_the_least_recently_used_session() {
    let closed = Closed::default();
    let store = MokaSessionStore::builder()
        .max_sessions(3)
        .on_limit(LimitPolicy::EvictIdleLru)
        .on_closed(closed.hook())
        .maintenance_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(session_id(&send(&svc, initialize()).await));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Use the oldest, so the second becomes the least recently used.
    assert_eq!(send(&svc, ping(&ids[0])).await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_secs(1)).await;

    let res = send(&svc, initialize()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(closed.all().len(), 1);
    assert_eq!(closed.cause_of(&ids[1]), Some(CloseCause::Evicted));
    assert_eq!(
        send(&svc, ping(&ids[1])).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(send(&svc, ping(&ids[0])).await.status(), StatusCode::OK);
    assert_eq!(send(&svc, ping(&ids[2])).await.status(), StatusCode::OK);
    let stats = store.stats();
    assert_eq!((stats.active, stats.evicted), (3, 1));
}

#[tokio::test(start_paused = true)]
async fn evict_idle_lru_never_evicts_a_busy_session() {
    let closed = Closed::default();
    let store = MokaSessionStore::builder()
        .max_sessions(1)
        .on_limit(LimitPolicy::EvictIdleLru)
        .on_closed(closed.hook())
        .maintenance_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    let id = session_id(&send(&svc, initialize()).await);

    // A ten-minute request keeps the only session busy.
    let long = tokio::spawn({
        let svc = svc.clone();
        let id = id.clone();
        async move { send(&svc, slow(ping(&id), 600_000)).await.status() }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let res = send(&svc, initialize()).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    assert!(closed.all().is_empty());

    assert_eq!(long.await.unwrap(), StatusCode::OK);
    // Idle now: it makes room.
    assert_eq!(send(&svc, initialize()).await.status(), StatusCode::OK);
    assert_eq!(closed.cause_of(&id), Some(CloseCause::Evicted));
}

#[tokio::test(start_paused = true)]
async fn per_principal_eviction_only_takes_the_principals_own_sessions() {
    let closed = Closed::default();
    // A limit of 1 M spreads the sessions over 32 moka tables: the least
    // recently used is found across all of them.
    let store = MokaSessionStore::builder()
        .max_sessions(1_000_000)
        .max_sessions_per_principal(2)
        .on_limit(LimitPolicy::EvictIdleLru)
        .on_closed(closed.hook())
        .maintenance_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let svc = service(
        McpSessionLayer::new(store.clone()).principal(by_user),
        &Seen::default(),
    );
    // Bob's session is the oldest of all.
    let bob = session_id(&send(&svc, initialize_as("bob")).await);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let alice1 = session_id(&send(&svc, initialize_as("alice")).await);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let alice2 = session_id(&send(&svc, initialize_as("alice")).await);
    tokio::time::sleep(Duration::from_secs(1)).await;

    assert_eq!(
        send(&svc, initialize_as("alice")).await.status(),
        StatusCode::OK
    );
    assert_eq!(closed.cause_of(&alice1), Some(CloseCause::Evicted));
    assert_eq!(closed.all().len(), 1);
    assert_eq!(
        send(&svc, ping_as(&bob, "bob")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        send(&svc, ping_as(&alice2, "alice")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn a_dropped_initialize_gives_its_slot_back() {
    let store = MokaSessionStore::builder()
        .max_sessions(1)
        .maintenance_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    // The client goes away while the handler works.
    let abandoned = tokio::time::timeout(
        Duration::from_secs(1),
        send(&svc, slow(initialize(), 60_000)),
    )
    .await;
    assert!(abandoned.is_err());
    let stats = store.stats();
    assert_eq!((stats.active, stats.reserved, stats.created), (0, 0, 0));
    assert_eq!(send(&svc, initialize()).await.status(), StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn reserved_slots_count_against_the_limit() {
    let store = MokaSessionStore::builder()
        .max_sessions(1)
        .maintenance_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    let first = tokio::spawn({
        let svc = svc.clone();
        async move { send(&svc, slow(initialize(), 10_000)).await.status() }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(store.stats().reserved, 1);
    assert_eq!(
        send(&svc, initialize()).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(first.await.unwrap(), StatusCode::OK);
    let stats = store.stats();
    assert_eq!((stats.active, stats.reserved), (1, 0));
}

/// Real time: moka expires the session; the refused `initialize` first runs the
/// pending maintenance, which frees the expired session's slot.
#[tokio::test]
async fn expired_sessions_free_their_slots_before_a_refusal() {
    let closed = Closed::default();
    let store = MokaSessionStore::builder()
        .max_sessions(1)
        .idle_timeout(Duration::from_millis(200))
        .no_maintenance_task()
        .on_closed(closed.hook())
        .build()
        .unwrap();
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    let first = session_id(&send(&svc, initialize()).await);

    let mut status = StatusCode::TOO_MANY_REQUESTS;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = send(&svc, initialize()).await.status();
        if status == StatusCode::OK {
            break;
        }
    }
    assert_eq!(
        status,
        StatusCode::OK,
        "the expired session's slot was never freed"
    );
    assert_eq!(closed.cause_of(&first), Some(CloseCause::IdleExpired));
    assert_eq!(store.stats().active, 1);
}

#[test]
fn invalid_limits_are_config_errors() {
    use mcp_tower_guard::ConfigError;
    for builder in [
        MokaSessionStore::builder().max_sessions(0),
        MokaSessionStore::builder().max_sessions_per_principal(0),
        MokaSessionStore::builder().idle_timeout(Duration::ZERO),
        MokaSessionStore::builder().max_lifetime(Duration::ZERO),
        MokaSessionStore::builder().maintenance_interval(Duration::ZERO),
    ] {
        assert!(matches!(
            builder.build(),
            Err(ConfigError::InvalidSetting { .. })
        ));
    }
}

#[tokio::test]
async fn failed_initializes_leave_every_slot_free() {
    // Issue: "a session is committed only when its initialize succeeded: the
    // answer to that request's id is a JSON-RPC result" (finding F7).
    let closed = Closed::default();
    let store = MokaSessionStore::builder()
        .max_sessions(3)
        .on_closed(closed.hook())
        .build()
        .unwrap();
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    let mut failed = 0;
    for _round in 0..5 {
        for (name, req) in failing_initializes() {
            let res = send(&svc, req).await;
            assert!(
                !res.headers().contains_key("mcp-session-id"),
                "{name}: a failed initialize gets no session id"
            );
            failed += 1;
        }
    }
    let stats = store.stats();
    assert_eq!((stats.active, stats.reserved, stats.created), (0, 0, 0));
    assert_eq!(stats.initialize_failed, failed);
    let causes = closed.all();
    assert_eq!(causes.len() as u64, failed);
    assert!(causes
        .iter()
        .all(|(_, cause)| *cause == CloseCause::InitializeFailed));

    // Every slot is still free: three sessions fit, the fourth is refused.
    for _ in 0..3 {
        let res = send(&svc, initialize()).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers().contains_key("mcp-session-id"));
    }
    let res = send(&svc, initialize()).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(store.stats().created, 3);
}

#[tokio::test]
async fn a_successful_sse_initialize_in_memory_commits() {
    // The same rule for an SSE answer in a body already in memory (Full).
    let store = MokaSessionStore::builder().max_sessions(1).build().unwrap();
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(store.clone()), &seen);
    let mut req = initialize();
    req.headers_mut()
        .insert("x-test-sse", HeaderValue::from_static("1"));
    let res = send(&svc, req).await;
    let id = session_id(&res);
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::OK);
    assert_eq!(store.stats().active, 1);
}

mod streamed {
    //! Over real TCP, with answers that stream (axum `Body::from_stream`).
    use super::*;

    use super::sse;

    const WAIT: Duration = Duration::from_secs(5);

    async fn eventually(what: &str, check: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !check() {
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_sse_initialize_commits_when_its_result_event_passes() {
        tokio::time::timeout(Duration::from_secs(30), async {
            let store = MokaSessionStore::builder().max_sessions(1).build().unwrap();
            let addr = sse::serve(McpSessionLayer::new(store.clone())).await;
            let client = sse::client();

            let res = sse::initialize(&client, addr, "notify,split,hang").await;
            assert_eq!(res.status(), StatusCode::OK);
            // The id leaves with the head; the session does not exist yet.
            let id = res.headers()["mcp-session-id"].clone();
            let mut body = res.into_body();
            assert!(sse::read_until(&mut body, "notifications/message").await);
            assert_eq!((store.stats().active, store.stats().reserved), (0, 1));
            assert_eq!(sse::ping(&client, addr, &id).await, StatusCode::NOT_FOUND);

            // Once the whole result event (with its blank line) is read, the session exists.
            assert!(sse::read_until(&mut body, "}}}\n\n").await);
            assert_eq!((store.stats().active, store.stats().reserved), (1, 0));
            assert_eq!(sse::ping(&client, addr, &id).await, StatusCode::OK);
            drop(body);
            assert_eq!(store.stats().initialize_failed, 0);
        })
        .await
        .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failed_sse_initializes_free_their_slot() {
        tokio::time::timeout(Duration::from_secs(60), async {
            let closed = Closed::default();
            let store = MokaSessionStore::builder()
                .max_sessions(1)
                .on_closed(closed.hook())
                .build()
                .unwrap();
            let addr = sse::serve(McpSessionLayer::new(store.clone())).await;
            let client = sse::client();
            let mut failed = 0;
            for _round in 0..3 {
                // Decided while the stream is still open: an error, another id then end.
                for script in ["notify,error,hang", "other,notify"] {
                    let res = sse::initialize(&client, addr, script).await;
                    let mut body = res.into_body();
                    failed += 1;
                    sse::drain_or_wait(&mut body, || store.stats().initialize_failed == failed)
                        .await;
                    assert_eq!(store.stats().initialize_failed, failed, "{script}");
                    assert_eq!(store.stats().reserved, 0, "{script}: slot free");
                }
                // Ended, failed or cut off without an answer.
                for script in ["notify", "fail", "notify,cut"] {
                    let res = sse::initialize(&client, addr, script).await;
                    let id = res.headers()["mcp-session-id"].clone();
                    sse::drain(&mut res.into_body()).await;
                    failed += 1;
                    eventually(script, || store.stats().initialize_failed == failed).await;
                    assert_eq!(store.stats().reserved, 0, "{script}: slot free");
                    assert_eq!(sse::ping(&client, addr, &id).await, StatusCode::NOT_FOUND);
                }
                // The client goes away mid-stream.
                let res = sse::initialize(&client, addr, "notify,hang").await;
                let mut body = res.into_body();
                assert!(sse::read_until(&mut body, "notifications/message").await);
                drop(body);
                failed += 1;
                eventually("dropped stream", || {
                    store.stats().initialize_failed == failed
                })
                .await;
            }
            let stats = store.stats();
            assert_eq!((stats.active, stats.reserved, stats.created), (0, 0, 0));
            assert!(closed
                .all()
                .iter()
                .all(|(_, c)| *c == CloseCause::InitializeFailed));
            assert_eq!(closed.all().len() as u64, failed);

            // The one slot is free.
            let res = sse::initialize(&client, addr, "result").await;
            let id = res.headers()["mcp-session-id"].clone();
            sse::drain(&mut res.into_body()).await;
            assert_eq!(sse::ping(&client, addr, &id).await, StatusCode::OK);
        })
        .await
        .unwrap();
    }
}
