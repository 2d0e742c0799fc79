//! Session expiry: idle timeout vs absolute lifetime on a paused tokio clock,
//! in-flight work keeping a session alive, and close hooks firing with no traffic.

use crate::support::session as support;

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

/// The lookup of a request times the session as busy in moka; when its last
/// request ends, the maintenance task (not the request) retimes it from that
/// request. Without that retime, moka would hold the session until its
/// lifetime (24 h here): the close hook must fire at the idle timeout.
#[tokio::test]
async fn a_session_whose_requests_ended_expires_at_its_idle_timeout() {
    let closed = Closed::default();
    let store = MokaSessionStore::builder()
        .idle_timeout(Duration::from_millis(300))
        .maintenance_interval(Duration::from_millis(50))
        .on_closed(closed.hook())
        .build()
        .unwrap();
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    let id = session_id(&send(&svc, initialize()).await);
    for _ in 0..3 {
        assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::OK);
    }
    drop(svc);

    assert!(wait_for_closes(&closed, 1).await, "close hook never fired");
    assert_eq!(closed.cause_of(&id), Some(CloseCause::IdleExpired));
    assert_eq!(store.stats().active, 0);
}

/// Without the maintenance task the end of a request retimes the session at
/// once, and `run_pending_tasks` reports the expiry.
#[tokio::test]
async fn without_the_maintenance_task_an_ended_request_retimes_at_once() {
    let closed = Closed::default();
    let store = MokaSessionStore::builder()
        .idle_timeout(Duration::from_millis(200))
        .no_maintenance_task()
        .on_closed(closed.hook())
        .build()
        .unwrap();
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    let id = session_id(&send(&svc, initialize()).await);
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::OK);
    drop(svc);

    for _ in 0..100 {
        store.run_pending_tasks();
        if !closed.all().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(closed.cause_of(&id), Some(CloseCause::IdleExpired));
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

mod streams {
    //! `streams_keep_alive`: an open SSE answer keeps its session busy.
    use super::*;
    use bytes::Bytes;
    use http::{Request, Response};
    use http_body_util::combinators::BoxBody;
    use http_body_util::{BodyExt, StreamBody};
    use std::convert::Infallible;
    use tokio::sync::mpsc;
    use tokio_stream::wrappers::ReceiverStream;
    use tokio_stream::StreamExt;
    use tower::{Layer, ServiceExt};

    type Res = Response<BoxBody<Bytes, Infallible>>;

    /// GET answers with an SSE stream fed by `tx`; POST with a JSON result.
    async fn handler(
        streams: mpsc::UnboundedSender<mpsc::Sender<Bytes>>,
        req: Request<B>,
    ) -> Result<Res, Infallible> {
        if req.method() == http::Method::GET {
            let (tx, rx) = mpsc::channel::<Bytes>(4);
            let _ = streams.send(tx);
            let body = StreamBody::new(
                ReceiverStream::new(rx).map(|b| Ok::<_, Infallible>(http_body::Frame::data(b))),
            );
            let res = Response::builder()
                .header("content-type", "text/event-stream")
                .body(BodyExt::boxed(body))
                .unwrap();
            return Ok(res);
        }
        let body = req.into_body().collect().await.unwrap().to_bytes();
        let text = answer(&body, None, None);
        let res = Response::builder()
            .header("content-type", "application/json")
            .body(BodyExt::boxed(http_body_util::Full::new(Bytes::from(text))))
            .unwrap();
        Ok(res)
    }

    fn get(id: &HeaderValue) -> Request<B> {
        Request::get("/mcp")
            .header("mcp-session-id", id.clone())
            .body(B::default())
            .unwrap()
    }

    async fn run(keep_alive: bool) -> (MokaSessionStore, Closed) {
        let closed = Closed::default();
        let store = store(&closed, 24 * 60 * MIN);
        let (streams, mut opened) = mpsc::unbounded_channel();
        let svc = McpSessionLayer::new(store.clone())
            .streams_keep_alive(keep_alive)
            .layer(tower::service_fn(move |req| handler(streams.clone(), req)));
        let init = svc.clone().oneshot(initialize()).await.unwrap();
        let id = init.headers()["mcp-session-id"].clone();
        let stream = svc.clone().oneshot(get(&id)).await.unwrap();
        assert_eq!(stream.status(), StatusCode::OK);
        let feed = opened.recv().await.unwrap();
        let mut body = stream.into_body();

        // Three idle timeouts with only heartbeats on the stream.
        for _ in 0..9 {
            tokio::time::sleep(20 * MIN).await;
            if feed
                .send(Bytes::from_static(b"event: heartbeat\ndata: {}\n\n"))
                .await
                .is_err()
            {
                break;
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), body.frame()).await;
        }
        store.run_pending_tasks();
        let alive = svc.clone().oneshot(ping(&id)).await.unwrap().status() == StatusCode::OK;
        assert_eq!(alive, keep_alive, "keep_alive={keep_alive}");
        if keep_alive {
            // Closed by the client: idle from now.
            drop(body);
            tokio::time::sleep(59 * MIN).await;
            assert_eq!(
                svc.clone().oneshot(ping(&id)).await.unwrap().status(),
                StatusCode::OK
            );
            tokio::time::sleep(61 * MIN).await;
            assert_eq!(
                svc.clone().oneshot(ping(&id)).await.unwrap().status(),
                StatusCode::NOT_FOUND
            );
        }
        (store, closed)
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_stream_keeps_its_session_alive_until_it_closes() {
        let (store, closed) = run(true).await;
        assert_eq!(store.stats().idle_expired, 1);
        assert_eq!(closed.all().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn without_streams_keep_alive_only_requests_count() {
        let (store, _closed) = run(false).await;
        assert_eq!(store.stats().idle_expired, 1);
    }
}

/// The moka store times a looked-up session as busy from its lookup (one
/// read instead of two); a lookup refused afterwards must hand the session
/// back to its idle timer, or it would live until its lifetime. One refused
/// request, then silence: the maintenance task still closes it.
#[tokio::test]
async fn a_refused_lookup_leaves_the_idle_timer_running() {
    let closed = Closed::default();
    let store = MokaSessionStore::builder()
        .idle_timeout(Duration::from_millis(300))
        .maintenance_interval(Duration::from_millis(50))
        .on_closed(closed.hook())
        .build()
        .unwrap();
    let svc = service(
        McpSessionLayer::new(store.clone()).principal(by_user),
        &Seen::default(),
    );
    let id = session_id(&send(&svc, initialize_as("alice")).await);
    let refused = send(&svc, ping_as(&id, "mallory")).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    // A repeated `initialize` on the session is refused after its lookup too.
    let mut again = initialize_as("alice");
    again.headers_mut().insert("mcp-session-id", id.clone());
    assert_eq!(send(&svc, again).await.status(), StatusCode::BAD_REQUEST);
    drop(svc);

    assert!(wait_for_closes(&closed, 1).await, "close hook never fired");
    assert_eq!(closed.cause_of(&id), Some(CloseCause::IdleExpired));
}

/// The principal the tests' requests name in `x-user`.
fn by_user(parts: &Parts) -> Option<Principal> {
    parts
        .headers
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .map(Principal::new)
}
