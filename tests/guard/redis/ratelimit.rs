//! `RedisRateLimits` against a real `redis-server`: two replicas share one
//! quota exactly, and Redis stopped, paused and restarted gets bounded
//! checks, fail-open or fail-closed, and recovery without a restart.

#![cfg(feature = "ratelimit")]

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use mcp_tower_guard::ratelimit::{Quota, RedisDecision, RedisRateLimits};

use crate::support::redis_server::RedisServer;

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_quota_exactly() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = RedisRateLimits::connect(&server.url())
        .await
        .expect("replica a");
    let b = RedisRateLimits::connect(&server.url())
        .await
        .expect("replica b");
    let mut allowed = 0;
    // 40 checks alternating between the replicas against 10 a minute.
    for i in 0..40 {
        let replica = if i % 2 == 0 { &a } else { &b };
        match replica.check("per-user", 7, quota(10), 1).await {
            RedisDecision::Allowed => allowed += 1,
            RedisDecision::Limited(wait) => assert!(wait <= Duration::from_secs(6), "{wait:?}"),
            other => panic!("Redis is up: {other:?}"),
        }
    }
    assert_eq!(allowed, 10);
    // Another key, and another rule with the same key, are untouched.
    assert_eq!(
        a.check("per-user", 8, quota(10), 1).await,
        RedisDecision::Allowed
    );
    assert_eq!(
        b.check("per-tool", 7, quota(10), 1).await,
        RedisDecision::Allowed
    );
    // Several cells at once: a batch of 10 fits a fresh key, then nothing.
    assert_eq!(
        a.check("batch", 1, quota(10), 10).await,
        RedisDecision::Allowed
    );
    assert!(matches!(
        b.check("batch", 1, quota(10), 1).await,
        RedisDecision::Limited(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_fails_open_or_closed_within_the_timeout_and_recovers() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let timeout = Duration::from_millis(200);
    let open = RedisRateLimits::connect(&server.url())
        .await
        .unwrap()
        .timeout(timeout);
    let closed = RedisRateLimits::connect(&server.url())
        .await
        .unwrap()
        .timeout(timeout)
        .fail_closed(true);
    assert_eq!(
        open.check("r", 1, quota(1), 1).await,
        RedisDecision::Allowed
    );
    assert!(matches!(
        open.check("r", 1, quota(1), 1).await,
        RedisDecision::Limited(_)
    ));

    // Paused (slow): each check ends within the timeout.
    server.pause();
    for limits in [&open, &closed] {
        let started = Instant::now();
        let decision = limits.check("r", 2, quota(1), 1).await;
        assert!(started.elapsed() < timeout * 4, "{:?}", started.elapsed());
        let expected = if std::ptr::eq(limits, &closed) {
            RedisDecision::Unavailable
        } else {
            RedisDecision::Allowed
        };
        assert_eq!(decision, expected);
    }
    server.resume();

    // Stopped, then restarted (empty): served again without reconnecting by hand.
    server.stop();
    assert_eq!(
        open.check("r", 3, quota(1), 1).await,
        RedisDecision::Allowed
    );
    assert_eq!(
        closed.check("r", 3, quota(1), 1).await,
        RedisDecision::Unavailable
    );
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if closed.check("r", 4, quota(100), 1).await == RedisDecision::Allowed {
            break;
        }
        assert!(Instant::now() < deadline, "Redis checks did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The layer with `shared(..)`: two replica stacks on one Redis answer 429
/// once the shared quota is used, whichever replica gets the request; with
/// Redis stopped, a fail-closed stack answers 503 and a fail-open one passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_layers_share_quotas_through_redis() {
    use axum::body::Body;
    use http::{Request, StatusCode};
    use mcp_tower_guard::ratelimit::{KeyPart, McpRateLimitLayer, RateLimitRule};
    use mcp_tower_guard::{McpHeadersLayer, PeerAddr};
    use tower::{Layer, ServiceExt};

    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let replica = |limits: RedisRateLimits| {
        let layer = McpRateLimitLayer::new([RateLimitRule::new(
            "per-peer",
            quota(3),
            [KeyPart::ClientAddr],
        )
        .unwrap()])
        .unwrap()
        .shared(limits);
        McpHeadersLayer::new().layer(layer.layer(axum::Router::new().fallback(axum::routing::any(
            || async { axum::Json(serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": {}})) },
        ))))
    };
    let call = || {
        let body = serde_json::json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
            "name": "echo", "arguments": {},
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}}}});
        let mut req = Request::post("/mcp")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "echo")
            .body(Body::from(body.to_string()))
            .unwrap();
        req.extensions_mut()
            .insert(PeerAddr("192.0.2.1:5000".parse().unwrap()));
        req
    };
    let a = replica(RedisRateLimits::connect(&server.url()).await.unwrap());
    let b = replica(
        RedisRateLimits::connect(&server.url())
            .await
            .unwrap()
            .fail_closed(true),
    );
    let mut statuses = Vec::new();
    for i in 0..6 {
        let svc = if i % 2 == 0 { a.clone() } else { b.clone() };
        statuses.push(svc.oneshot(call()).await.unwrap().status());
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(ok, 3, "{statuses:?}");
    assert!(
        statuses[3..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );

    server.stop();
    assert_eq!(
        a.clone().oneshot(call()).await.unwrap().status(),
        StatusCode::OK,
        "fail open"
    );
    let closed = b.clone().oneshot(call()).await.unwrap();
    assert_eq!(
        closed.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "fail closed"
    );
    assert!(closed.headers().contains_key("retry-after"));
}

/// Issue 26, finding 1: Redis-shared limits were not shared between
/// processes (each hashed its keys with its own random key, so N replicas
/// allowed N times the quota, and a restart reset every quota). Two real
/// demo processes on one `redis-server`, six alternating calls on a 3/m
/// rule: exactly three pass.
#[tokio::test]
async fn finding_1_two_processes_share_one_quota() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    // The demo binary `cargo test --all-features` built beside this one.
    let demo = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("examples/streamable_http")))
        .filter(|path| path.exists());
    let Some(demo) = demo else {
        panic!(
            "examples/streamable_http is not built: run the tests with `cargo test --all-features`"
        );
    };
    let start = |demo: &std::path::Path| {
        let mut child = tokio::process::Command::new(demo)
            .args([
                "--bind",
                "127.0.0.1:0",
                "--redis",
                &redis.url(),
                "--rate-limit",
            ])
            .arg("add=3/m,by=method,method=tools/call,name=add")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the demo starts");
        let stdout = child.stdout.take().expect("stdout");
        (child, stdout)
    };
    let url_of = |stdout| async move {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("listening on ") {
                return url.to_owned();
            }
        }
        panic!("the demo printed no address");
    };
    let (_a, out_a) = start(&demo);
    let (_b, out_b) = start(&demo);
    let urls = tokio::time::timeout(Duration::from_secs(30), async {
        [url_of(out_a).await, url_of(out_b).await]
    })
    .await
    .expect("both demos listen");
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let mut passed = 0;
    for i in 0..6 {
        let url = &urls[i % 2];
        let body = serde_json::json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": "add", "arguments": {"a": 1, "b": 2}, "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {}}}});
        let req = http::Request::post(url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "add")
            .body(http_body_util::Full::new(bytes::Bytes::from(
                body.to_string(),
            )))
            .unwrap();
        let status = tokio::time::timeout(Duration::from_secs(10), client.request(req))
            .await
            .expect("answered in time")
            .expect("sent")
            .status();
        match status {
            http::StatusCode::OK => passed += 1,
            http::StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("call {i}: {other}"),
        }
    }
    assert_eq!(passed, 3, "one quota over both processes");
}
