//! Session expiry: idle timeout vs absolute lifetime on a paused tokio clock,
//! in-flight work keeping a session alive, and close hooks firing with no traffic.

#[path = "support/session.rs"]
mod support;

use std::time::Duration;

use http::request::Parts;
use http::{HeaderValue, StatusCode};
use mcp_tower_guard::session::{CloseCause, McpSessionLayer, MokaSessionStore, Principal};
use support::*;

const MIN: Duration = Duration::from_secs(60);

fn store(closed: &Closed, lifetime: Duration) -> MokaSessionStore {
    MokaSessionStore::builder()
        .idle_timeout(60 * MIN)
        .max_lifetime(lifetime)
        .maintenance_interval(10 * MIN)
        .on_closed(closed.hook())
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn session_used_every_30_min_survives_idle_timeout_but_dies_at_max_lifetime() {
    let closed = Closed::default();
    let store = store(&closed, 180 * MIN);
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    let id = session_id(&send(&svc, initialize()).await);

    // t = 30, 60, ..., 150 min: each request is within the idle timeout of the last.
    for _ in 0..5 {
        tokio::time::sleep(30 * MIN).await;
        assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::OK);
    }
    // t = 180 min: the absolute lifetime is over, however active the session is.
    tokio::time::sleep(30 * MIN).await;
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        closed.all(),
        vec![(id.to_str().unwrap().to_owned(), CloseCause::LifetimeExpired)]
    );
    let stats = store.stats();
    assert_eq!(
        (stats.active, stats.lifetime_expired, stats.idle_expired),
        (0, 1, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn idle_session_dies_at_the_idle_timeout() {
    let closed = Closed::default();
    let store = store(&closed, 24 * 60 * MIN);
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    let checked_early = session_id(&send(&svc, initialize()).await);
    let untouched = session_id(&send(&svc, initialize()).await);

    tokio::time::sleep(59 * MIN).await;
    assert_eq!(
        send(&svc, ping(&checked_early)).await.status(),
        StatusCode::OK
    );

    tokio::time::sleep(MIN).await;
    // 60 min without a request.
    assert_eq!(
        send(&svc, ping(&untouched)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(closed.cause_of(&untouched), Some(CloseCause::IdleExpired));
    // Used one minute ago: alive.
    assert_eq!(
        send(&svc, ping(&checked_early)).await.status(),
        StatusCode::OK
    );
    assert_eq!(closed.all().len(), 1);
    assert_eq!(store.stats().idle_expired, 1);
}

#[tokio::test(start_paused = true)]
async fn long_request_keeps_its_session_alive_past_the_idle_timeout() {
    let closed = Closed::default();
    let store = store(&closed, 24 * 60 * MIN);
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    let id = session_id(&send(&svc, initialize()).await);

    // A 90-minute request.
    let mut long = ping(&id);
    long.headers_mut()
        .insert("x-test-sleep-ms", HeaderValue::from(90 * 60 * 1000u64));
    let long = tokio::spawn({
        let svc = svc.clone();
        async move { send(&svc, long).await.status() }
    });
    tokio::time::sleep(89 * MIN).await;
    assert!(closed.all().is_empty());
    assert_eq!(long.await.unwrap(), StatusCode::OK);

    // The idle timer restarted when the request finished (t = 90 min).
    tokio::time::sleep(59 * MIN).await;
    assert!(store.stats().active == 1 && closed.all().is_empty());
    tokio::time::sleep(2 * MIN).await;
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(closed.cause_of(&id), Some(CloseCause::IdleExpired));
}

#[tokio::test(start_paused = true)]
async fn retained_context_keeps_its_session_alive_like_an_open_stream() {
    let closed = Closed::default();
    let store = store(&closed, 24 * 60 * MIN);
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    let id = session_id(&send(&svc, initialize()).await);

    // The handler answers at once but keeps the context for three hours (an SSE stream).
    let mut get = http::Request::get("/mcp")
        .header("mcp-session-id", id.clone())
        .body(B::default())
        .unwrap();
    get.headers_mut()
        .insert("x-test-hold-ms", HeaderValue::from(180 * 60 * 1000u64));
    assert_eq!(send(&svc, get).await.status(), StatusCode::OK);

    // t = 121 min: two hours without a request, yet the stream holds the session.
    tokio::time::sleep(121 * MIN).await;
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::OK);
    // t = 182 min: 61 min after that request, but the stream ended at 180.
    tokio::time::sleep(61 * MIN).await;
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::OK);
    assert!(closed.all().is_empty());

    tokio::time::sleep(61 * MIN).await;
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(closed.cause_of(&id), Some(CloseCause::IdleExpired));
}

#[tokio::test(start_paused = true)]
async fn maintenance_task_ends_when_the_store_is_dropped() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let store = MokaSessionStore::builder()
        .maintenance_interval(Duration::from_secs(1))
        .build()
        .unwrap();
    assert_eq!(metrics.num_alive_tasks(), before + 1);
    drop(store);
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if metrics.num_alive_tasks() == before {
            break;
        }
    }
    assert_eq!(metrics.num_alive_tasks(), before);
}

/// Waits (real time, at most 5 s) until `closed` has `n` entries.
async fn wait_for_closes(closed: &Closed, n: usize) -> bool {
    for _ in 0..100 {
        if closed.all().len() >= n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    closed.all().len() >= n
}

#[tokio::test]
async fn close_hook_fires_with_no_traffic_at_all() {
    let closed = Closed::default();
    let store = MokaSessionStore::builder()
        .idle_timeout(Duration::from_millis(200))
        .maintenance_interval(Duration::from_millis(50))
        .on_closed(closed.hook())
        .build()
        .unwrap();
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    let id = session_id(&send(&svc, initialize()).await);
    drop(svc);

    assert!(wait_for_closes(&closed, 1).await, "close hook never fired");
    assert_eq!(
        closed.all(),
        vec![(id.to_str().unwrap().to_owned(), CloseCause::IdleExpired)]
    );
    let stats = store.stats();
    assert_eq!((stats.active, stats.idle_expired), (0, 1));
}

#[tokio::test]
async fn lifetime_expiry_without_traffic_reports_its_cause() {
    let closed = Closed::default();
    let store = MokaSessionStore::builder()
        .idle_timeout(Duration::from_secs(60))
        .max_lifetime(Duration::from_millis(300))
        .maintenance_interval(Duration::from_millis(50))
        .on_closed(closed.hook())
        .build()
        .unwrap();
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    let id = session_id(&send(&svc, initialize()).await);

    assert!(wait_for_closes(&closed, 1).await, "close hook never fired");
    assert_eq!(closed.cause_of(&id), Some(CloseCause::LifetimeExpired));
    assert_eq!(store.stats().lifetime_expired, 1);
}

#[tokio::test]
async fn sbp_another_principals_requests_do_not_keep_a_session_alive() {
    let closed = Closed::default();
    let store = MokaSessionStore::builder()
        .idle_timeout(Duration::from_millis(300))
        .maintenance_interval(Duration::from_millis(50))
        .on_closed(closed.hook())
        .build()
        .unwrap();
    let by_user = |parts: &Parts| {
        parts
            .headers
            .get("x-user")
            .and_then(|v| v.to_str().ok())
            .map(Principal::new)
    };
    let svc = service(
        McpSessionLayer::new(store.clone()).principal(by_user),
        &Seen::default(),
    );
    let id = session_id(&send(&svc, initialize_as("alice")).await);

    // Mallory keeps presenting the id; the owner is silent.
    for _ in 0..100 {
        assert_eq!(
            send(&svc, ping_as(&id, "mallory")).await.status(),
            StatusCode::NOT_FOUND
        );
        if !closed.all().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(closed.cause_of(&id), Some(CloseCause::IdleExpired));
    assert_eq!(
        send(&svc, ping_as(&id, "alice")).await.status(),
        StatusCode::NOT_FOUND
    );
}
