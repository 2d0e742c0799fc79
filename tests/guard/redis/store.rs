//! `RedisSessionStore`: two replicas (two full `McpSessionLayer` stacks, two
//! stores) sharing one real `redis-server` started on a free port.
//!
//! Skipped (with a message) only when `redis-server` is not installed; set
//! `MCP_TOWER_GUARD_REQUIRE_REDIS=1` to make that a failure.
#![cfg(feature = "redis")]

use crate::support::redis_server;
use crate::support::session as support;
use crate::support::sse;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::request::Parts;
use http::{HeaderValue, Request, Response, StatusCode};
use mcp_tower_guard::session::redis::{RedisSessionStore, RedisSessionStoreBuilder};
use mcp_tower_guard::session::{CloseCause, McpSessionLayer, Principal};
use mcp_tower_guard::{Rejection, RejectionKind};
use redis_server::RedisServer;
use support::*;
use tower::util::BoxCloneSyncService;

const TEST_TIMEOUT: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(10);

type Svc = BoxCloneSyncService<Request<B>, Response<B>, Infallible>;

macro_rules! redis_or_skip {
    () => {
        match RedisServer::start() {
            Some(server) => server,
            None => return,
        }
    };
}

/// One server replica: its store, its layer stack, what its hooks saw.
struct Replica {
    store: RedisSessionStore,
    svc: Svc,
    seen: Seen,
    closed: Closed,
    created: Arc<Mutex<Vec<String>>>,
}

fn by_user(parts: &Parts) -> Option<Principal> {
    parts
        .headers
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .map(Principal::new)
}

async fn replica(
    server: &RedisServer,
    configure: impl FnOnce(RedisSessionStoreBuilder) -> RedisSessionStoreBuilder,
) -> Replica {
    let closed = Closed::default();
    let created = Arc::new(Mutex::new(Vec::new()));
    let log = created.clone();
    let builder = RedisSessionStore::builder(server.url())
        .on_created(move |s| log.lock().unwrap().push(s.id().as_str().to_owned()))
        .on_closed(closed.hook());
    let store = configure(builder).build().await.expect("store connects");
    let seen = Seen::default();
    let layer = McpSessionLayer::new(store.clone()).principal(by_user);
    let svc = BoxCloneSyncService::new(service(layer, &seen));
    Replica {
        store,
        svc,
        seen,
        closed,
        created,
    }
}

impl Replica {
    async fn send(&self, req: Request<B>) -> Response<B> {
        send(&self.svc, req).await
    }

    fn created(&self) -> Vec<String> {
        self.created.lock().unwrap().clone()
    }

    fn closes_of(&self, id: &HeaderValue) -> Vec<CloseCause> {
        let id = id.to_str().unwrap();
        self.closed
            .all()
            .into_iter()
            .filter(|(closed, _)| closed == id)
            .map(|(_, cause)| cause)
            .collect()
    }
}

/// Polls `check` until it holds; panics after `WAIT`.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(TEST_TIMEOUT, test)
        .await
        .expect("test finished in time");
}

fn assert_503(res: &Response<B>) {
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "1");
    assert!(!res.headers().contains_key("mcp-session-id"));
    assert_eq!(
        res.extensions().get::<Rejection>().unwrap().kind(),
        RejectionKind::StoreUnavailable
    );
}

fn slow(mut req: Request<B>, ms: u64) -> Request<B> {
    req.headers_mut()
        .insert("x-test-sleep-ms", HeaderValue::from(ms));
    req
}

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
