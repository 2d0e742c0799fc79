//! `McpRateLimitLayer`: exact GCRA counts on tokio's paused clock,
//! overlapping rules, the 429 answer, requests refused earlier not
//! counted, and a bounded key table under a million distinct keys.

#![cfg(feature = "ratelimit")]

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use mcp_tower_guard::ratelimit::{KeyPart, McpRateLimitLayer, Quota, RateLimitRule};
use mcp_tower_guard::{
    HostCheckLayer, McpHeadersLayer, McpSessionLayer, MokaSessionStore, PeerAddr,
};
use serde_json::{json, Value};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

fn n(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

fn inner() -> axum::Router {
    axum::Router::new().fallback(axum::routing::any(|| async {
        axum::Json(json!({"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-11-25"}}))
    }))
}

/// A 2026-07-28 `tools/call` of `tool` from `peer`.
fn call(tool: &str, peer: SocketAddr) -> Request<Body> {
    let mut req = crate::support::modern_tools_call(tool, json!({}));
    req.extensions_mut().insert(PeerAddr(peer));
    req
}

fn peer(i: u32) -> SocketAddr {
    SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 40000))
}

async fn status<S, B>(svc: &mut S, req: Request<Body>) -> StatusCode
where
    S: Service<Request<Body>, Response = http::Response<B>>,
    S::Error: std::fmt::Debug,
{
    svc.ready().await.unwrap().call(req).await.unwrap().status()
}

/// At three times the rate for two seconds, exactly the burst plus the
/// rate's share passes (GCRA on tokio's paused clock, so the count is exact).
#[tokio::test(start_paused = true)]
async fn gcra_is_exact_at_three_times_the_rate() {
    let limits = McpRateLimitLayer::new([RateLimitRule::new(
        "per-peer",
        Quota::per_second(n(10)),
        [KeyPart::ClientAddr],
    )
    .unwrap()])
    .unwrap();
    let mut svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new())
        .layer(limits)
        .service(inner());
    let mut passed = 0;
    // 60 requests, one every 1/30 s: three times 10/s, for 2 s.
    for _ in 0..60 {
        if status(&mut svc, call("echo", peer(1))).await == StatusCode::OK {
            passed += 1;
        }
        tokio::time::advance(Duration::from_micros(33_334)).await;
    }
    // The burst of 10, then one per 100 ms over the 1.967 s from the first
    // request to the sixtieth: 10 + 19.
    assert_eq!(passed, 10 + 19, "passed {passed}");
    // Another key is untouched.
    assert_eq!(
        status(&mut svc, call("echo", peer(2))).await,
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn the_429_carries_retry_after_ratelimit_fields_and_the_rule() {
    let limits = McpRateLimitLayer::new([RateLimitRule::new(
        "deploy",
        Quota::per_minute(n(1)),
        [KeyPart::ClientAddr],
    )
    .unwrap()
    .method("tools/call")
    .name("deploy")])
    .unwrap();
    let svc = McpHeadersLayer::new().layer(limits.layer(inner()));
    assert_eq!(
        svc.clone()
            .oneshot(call("deploy", peer(1)))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Another tool is not under the rule.
    assert_eq!(
        svc.clone()
            .oneshot(call("echo", peer(1)))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let res = svc.clone().oneshot(call("deploy", peer(1))).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["retry-after"], "60");
    assert_eq!(res.headers()["ratelimit-policy"], r#""deploy";q=1;w=60"#);
    assert_eq!(res.headers()["ratelimit"], r#""deploy";r=0;t=60"#);
    let body: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["id"], 9);
    assert_eq!(body["error"]["data"]["rule"], "deploy");
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(
        svc.oneshot(call("deploy", peer(1))).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn overlapping_rules_each_count_and_the_first_to_refuse_answers() {
    let limits = McpRateLimitLayer::new([
        RateLimitRule::new("per-peer", Quota::per_minute(n(3)), [KeyPart::ClientAddr]).unwrap(),
        RateLimitRule::new("deploy", Quota::per_minute(n(1)), [KeyPart::ClientAddr])
            .unwrap()
            .name("deploy"),
    ])
    .unwrap();
    let svc = McpHeadersLayer::new().layer(limits.layer(inner()));
    let rule_of = |res: axum::response::Response| async move {
        let body: Value =
            serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
        body["error"]["data"]["rule"].as_str().map(str::to_owned)
    };
    assert_eq!(
        svc.clone()
            .oneshot(call("deploy", peer(1)))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let second = svc.clone().oneshot(call("deploy", peer(1))).await.unwrap();
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    // per-peer counted it (2 of 3) before deploy refused it.
    assert_eq!(rule_of(second).await.as_deref(), Some("deploy"));
    assert_eq!(
        svc.clone()
            .oneshot(call("echo", peer(1)))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let fourth = svc.clone().oneshot(call("echo", peer(1))).await.unwrap();
    assert_eq!(fourth.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(rule_of(fourth).await.as_deref(), Some("per-peer"));
}

/// A 2026-07-28 `tasks/get` of `task` from `peer`, `Mcp-Name` mirroring it.
fn task_get(task: &str, peer: SocketAddr) -> Request<Body> {
    let body = json!({"jsonrpc": "2.0", "id": 9, "method": "tasks/get",
        "params": {"taskId": task, "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}}});
    let mut req = Request::post("/mcp")
        .header("host", "localhost")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tasks/get")
        .header("mcp-name", task)
        .body(Body::from(body.to_string()))
        .unwrap();
    req.extensions_mut().insert(PeerAddr(peer));
    req
}

/// SEP-2663 makes a task the named target of `tasks/get`, as a tool is of
/// `tools/call`: a rule's `name` filter and its `name` key part read the
/// task id.
#[tokio::test(start_paused = true)]
async fn task_ids_are_names_for_filters_and_keys() {
    let limits = McpRateLimitLayer::new([
        RateLimitRule::new("one-task", Quota::per_minute(n(1)), [KeyPart::ClientAddr])
            .unwrap()
            .name("task-a"),
        RateLimitRule::new("per-task", Quota::per_minute(n(2)), [KeyPart::Name])
            .unwrap()
            .method("tasks/get"),
    ])
    .unwrap();
    let mut svc = McpHeadersLayer::new().layer(limits.layer(inner()));
    assert_eq!(
        status(&mut svc, task_get("task-a", peer(1))).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, task_get("task-a", peer(1))).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the name filter matched the task id"
    );
    // Another task has its own per-task bucket, and the name filter skips it.
    assert_eq!(
        status(&mut svc, task_get("task-b", peer(2))).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, task_get("task-b", peer(3))).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, task_get("task-b", peer(4))).await,
        StatusCode::TOO_MANY_REQUESTS,
        "keyed by the task id, whoever asks"
    );
}

/// Placed last, the layer sees only what every earlier layer accepted: a
/// flood with a forged Host or an unknown session uses up nothing.
#[tokio::test(start_paused = true)]
async fn requests_refused_by_earlier_layers_are_not_counted() {
    let limits = McpRateLimitLayer::new([RateLimitRule::new(
        "per-peer",
        Quota::per_minute(n(2)),
        [KeyPart::ClientAddr],
    )
    .unwrap()
    .count_notifications(true)])
    .unwrap();
    let mut svc = ServiceBuilder::new()
        .layer(HostCheckLayer::localhost())
        .layer(McpHeadersLayer::new())
        .layer(McpSessionLayer::new(MokaSessionStore::new()))
        .layer(limits)
        .service(inner());
    for _ in 0..100 {
        let mut forged = call("echo", peer(1));
        forged
            .headers_mut()
            .insert("host", "evil.example".parse().unwrap());
        assert_eq!(status(&mut svc, forged).await, StatusCode::FORBIDDEN);
        let mut unknown = call("echo", peer(1));
        *unknown.headers_mut() = http::HeaderMap::new();
        let legacy = Request::post("/mcp")
            .header("host", "localhost")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-session-id", "never-issued")
            .header("mcp-protocol-version", "2025-11-25")
            .body(Body::from(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#))
            .unwrap();
        let mut legacy = legacy;
        legacy.extensions_mut().insert(PeerAddr(peer(1)));
        assert_eq!(status(&mut svc, legacy).await, StatusCode::NOT_FOUND);
    }
    assert_eq!(
        status(&mut svc, call("echo", peer(1))).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, call("echo", peer(1))).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, call("echo", peer(1))).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// A million distinct keys (100 times the cap) keep the table at its cap;
/// the cap forgets keys, it never refuses a newcomer.
#[tokio::test]
async fn a_million_distinct_keys_stay_within_the_cap() {
    let limits = McpRateLimitLayer::with_max_keys(
        [RateLimitRule::new("per-peer", Quota::per_minute(n(1)), [KeyPart::ClientAddr]).unwrap()],
        10_000,
    )
    .unwrap();
    let mut svc = limits
        .clone()
        .layer(tower::service_fn(|_req: Request<Body>| async {
            Ok::<_, std::convert::Infallible>(axum::response::Response::new(Body::empty()))
        }));
    for i in 0..1_000_000u32 {
        let mut req = Request::get("/mcp").body(Body::empty()).unwrap();
        req.extensions_mut().insert(PeerAddr(peer(i)));
        let res = svc.ready().await.unwrap().call(req).await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "key {i} is new: never refused"
        );
    }
    let (_, keys) = limits.key_counts().remove(0);
    assert!(
        keys <= 10_000 + 1_000,
        "{keys} keys held for a cap of 10,000"
    );
}

/// The demo with `--rate-limit`, flooded over real TCP from 127.0.0.1 by
/// 50 concurrent requests: exactly the quota passes, the rest get 429.
#[tokio::test]
async fn demo_rate_limit_flag_holds_under_a_tcp_flood() {
    use bytes::Bytes;
    use http_body_util::Full;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let cli = crate::cli::parse([
        "--bind",
        "127.0.0.1:0",
        "--rate-limit",
        "per-addr=5/m,by=addr,method=tools/call",
    ])
    .expect("valid flags");
    let crate::cli::Command::Serve(config) = cli else {
        panic!("expected serve")
    };
    let (router, store) = crate::app::app(&config).expect("demo starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(crate::app::serve(listener, router, async move {
        let _ = stopped.await;
        store.shutdown();
    }));
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let url = format!("http://{addr}/mcp");
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "echo", "arguments": {"text": "hi"},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {}}}})
    .to_string();
    let requests = (0..50).map(|_| {
        let req = Request::post(&url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "echo")
            .body(Full::new(Bytes::from(body.clone())))
            .unwrap();
        let client = client.clone();
        async move { client.request(req).await.map(|r| r.status()) }
    });
    let statuses = tokio::time::timeout(
        Duration::from_secs(30),
        futures_util::future::join_all(requests),
    )
    .await
    .expect("the flood is answered in time");
    let ok = statuses
        .iter()
        .filter(|s| matches!(s, Ok(StatusCode::OK)))
        .count();
    let limited = statuses
        .iter()
        .filter(|s| matches!(s, Ok(StatusCode::TOO_MANY_REQUESTS)))
        .count();
    assert_eq!((ok, limited), (5, 45), "{statuses:?}");
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
}

/// Behind a named proxy the client is the address it appended to
/// `X-Forwarded-For`; from any other peer the header is ignored, so a client
/// cannot dodge its quota by forging one.
#[tokio::test(start_paused = true)]
async fn client_address_behind_a_trusted_proxy_and_forged_forwarded_for() {
    let proxy = peer(100);
    let limits = McpRateLimitLayer::new([RateLimitRule::new(
        "per-client",
        Quota::per_minute(n(1)),
        [KeyPart::ClientAddr],
    )
    .unwrap()])
    .unwrap()
    .trust_forwarded_for([proxy.ip()]);
    let mut svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new())
        .layer(limits)
        .service(inner());
    let via = |from: SocketAddr, xff: &str| {
        let mut req = call("echo", from);
        req.headers_mut()
            .insert("x-forwarded-for", xff.parse().unwrap());
        req
    };
    // Two clients behind the proxy: one quota each.
    assert_eq!(
        status(&mut svc, via(proxy, "203.0.113.1")).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, via(proxy, "198.51.100.7, 203.0.113.2")).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, via(proxy, "203.0.113.1")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A direct client forging the header is its own address, whatever it says.
    assert_eq!(
        status(&mut svc, via(peer(1), "203.0.113.9")).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, via(peer(1), "203.0.113.10")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// `McpGuard::rate_limits` puts the limits innermost: a forged Host is
/// refused by the guard before it could count, and the quota holds.
#[tokio::test(start_paused = true)]
async fn mcp_guard_applies_rate_limits_innermost() {
    let limits = McpRateLimitLayer::new([RateLimitRule::new(
        "per-peer",
        Quota::per_minute(n(2)),
        [KeyPart::ClientAddr],
    )
    .unwrap()])
    .unwrap();
    let guard = mcp_tower_guard::McpGuard::local("127.0.0.1:8000".parse().unwrap())
        .unwrap()
        .rate_limits(limits);
    let mut svc = guard.into_service(inner());
    for _ in 0..10 {
        let mut forged = call("echo", peer(1));
        forged
            .headers_mut()
            .insert("host", "evil.example".parse().unwrap());
        assert_eq!(status(&mut svc, forged).await, StatusCode::FORBIDDEN);
    }
    assert_eq!(
        status(&mut svc, call("echo", peer(1))).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, call("echo", peer(1))).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, call("echo", peer(1))).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// A legacy (2025-03-26, batches allowed) POST of `body` from `peer`.
fn legacy_post(body: Value, peer: SocketAddr) -> Request<Body> {
    let mut req = Request::post("/mcp")
        .header("host", "localhost")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-03-26")
        .body(Body::from(body.to_string()))
        .unwrap();
    req.extensions_mut().insert(PeerAddr(peer));
    req
}

fn add_call(id: u32) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "add", "arguments": {"a": 1, "b": 2}}})
}

/// Issue 26, finding 2: batches opened a second bucket. A batch's key had
/// method `POST` and no name, so `[add, add]` after two single `add` calls
/// on a 2/m rule passed. Each message of a batch is now keyed exactly as
/// the same message alone; a batch larger than the burst can never pass and
/// says so (no `Retry-After` it could never meet).
#[tokio::test(start_paused = true)]
async fn finding_2_a_batch_is_keyed_as_its_single_requests() {
    let rule = RateLimitRule::parse("add=2/m,by=method+name,method=tools/call,name=add").unwrap();
    let limits = McpRateLimitLayer::new([rule]).unwrap();
    let mut svc = McpHeadersLayer::new().layer(limits.layer(inner()));
    for id in 1..=2 {
        assert_eq!(
            status(&mut svc, legacy_post(add_call(id), peer(1))).await,
            StatusCode::OK
        );
    }
    let batch = json!([add_call(3), add_call(4)]);
    assert_eq!(
        status(&mut svc, legacy_post(batch, peer(1))).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the batch's calls count in the same bucket"
    );
    // A batch with other methods only is not charged under the rule.
    let other = json!([{"jsonrpc": "2.0", "id": 5, "method": "ping"},
        {"jsonrpc": "2.0", "id": 6, "method": "tools/list"}]);
    assert_eq!(
        status(&mut svc, legacy_post(other, peer(1))).await,
        StatusCode::OK
    );

    // Three calls on a burst of two: never, whatever the wait.
    let fresh = McpRateLimitLayer::new([RateLimitRule::parse(
        "add=2/m,by=method+name,method=tools/call,name=add",
    )
    .unwrap()])
    .unwrap();
    let svc = McpHeadersLayer::new().layer(fresh.layer(inner()));
    let batch = json!([add_call(1), add_call(2), add_call(3)]);
    let res = svc.oneshot(legacy_post(batch, peer(2))).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("retry-after").is_none(), "no wait helps");
    let body: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["error"]["data"]["cells"], 3, "{body}");
    assert_eq!(body["error"]["data"]["burst"], 2, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("smaller batches"));
}

/// Issue 26, finding 3: IPv6 and proxies. `by=addr` keyed each full IPv6
/// address, so a routed /64 gave unlimited fresh quotas; a dual-stack
/// `::ffff:a.b.c.d` peer missed the trusted-proxy check; an `ip:port` in
/// `X-Forwarded-For` fell back to the proxy's address.
#[tokio::test(start_paused = true)]
async fn finding_3_ipv6_prefixes_mapped_proxies_and_ports_in_forwarded_for() {
    let rule = || {
        RateLimitRule::new("per-client", Quota::per_minute(n(1)), [KeyPart::ClientAddr]).unwrap()
    };
    let v6 = |addr: &str| SocketAddr::new(addr.parse().unwrap(), 40000);
    let limits = McpRateLimitLayer::new([rule()]).unwrap();
    let mut svc = McpHeadersLayer::new().layer(limits.layer(inner()));
    assert_eq!(
        status(&mut svc, call("echo", v6("2001:db8:1:2::1"))).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, call("echo", v6("2001:db8:1:2:ffff::9"))).await,
        StatusCode::TOO_MANY_REQUESTS,
        "one /64, one client"
    );
    assert_eq!(
        status(&mut svc, call("echo", v6("2001:db8:1:3::1"))).await,
        StatusCode::OK,
        "another /64"
    );
    // A /128 policy keys each address.
    let per_address = McpRateLimitLayer::new([rule()])
        .unwrap()
        .ipv6_prefix(128)
        .unwrap();
    let mut svc = McpHeadersLayer::new().layer(per_address.layer(inner()));
    assert_eq!(
        status(&mut svc, call("echo", v6("2001:db8::1"))).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, call("echo", v6("2001:db8::2"))).await,
        StatusCode::OK
    );
    assert!(McpRateLimitLayer::new([rule()])
        .unwrap()
        .ipv6_prefix(0)
        .is_err());
    assert!(McpRateLimitLayer::new([rule()])
        .unwrap()
        .ipv6_prefix(129)
        .is_err());

    // The trusted proxy 10.0.0.1, seen by a dual-stack socket as ::ffff:10.0.0.1,
    // forwarding two clients, one written with a port.
    let proxied = McpRateLimitLayer::new([rule()])
        .unwrap()
        .trust_forwarded_for(["10.0.0.1".parse().unwrap()]);
    let mut svc = McpHeadersLayer::new().layer(proxied.layer(inner()));
    let via_proxy = |forwarded: &str| {
        let mut req = call("echo", v6("::ffff:10.0.0.1"));
        req.headers_mut()
            .insert("x-forwarded-for", forwarded.parse().unwrap());
        req
    };
    assert_eq!(
        status(&mut svc, via_proxy("203.0.113.7")).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&mut svc, via_proxy("203.0.113.7:5678")).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the same client, with a port"
    );
    assert_eq!(
        status(&mut svc, via_proxy("198.51.100.2:443")).await,
        StatusCode::OK,
        "another client, not the proxy"
    );
    assert_eq!(
        status(&mut svc, via_proxy("[2001:db8::5]:443")).await,
        StatusCode::OK
    );
}

/// Issue 26, finding 13: log amplification. Every refused token logged a
/// warn and every 429 an info; a flood could fill the disk. Now each kind
/// logs a few lines a second, the next one saying how many were suppressed
/// (the metrics still count every refusal).
#[tokio::test(flavor = "current_thread")]
async fn finding_13_floods_of_refusals_log_a_few_lines_a_second() {
    let (logs, _guard) = crate::support::guards::capture_logs();
    let limits = McpRateLimitLayer::new([RateLimitRule::new(
        "tight",
        Quota::per_minute(n(1)),
        [KeyPart::ClientAddr],
    )
    .unwrap()])
    .unwrap();
    let svc = mcp_tower_guard::HostCheckLayer::localhost()
        .layer(McpHeadersLayer::new().layer(limits.layer(inner())));
    let mut limited = 0;
    let mut forged = 0;
    for _ in 0..300 {
        if svc
            .clone()
            .oneshot(call("echo", peer(9)))
            .await
            .unwrap()
            .status()
            == StatusCode::TOO_MANY_REQUESTS
        {
            limited += 1;
        }
        let mut req = call("echo", peer(10));
        req.headers_mut()
            .insert("host", "evil.example".parse().unwrap());
        if svc.clone().oneshot(req).await.unwrap().status() == StatusCode::FORBIDDEN {
            forged += 1;
        }
    }
    assert_eq!((limited, forged), (299, 300));
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let rate_lines = text.matches("rate limited").count();
    let host_lines = text
        .lines()
        .filter(|l| l.contains("host_not_allowed"))
        .count();
    // At most two seconds' worth each, however slow the machine.
    assert!(
        (1..=20).contains(&rate_lines),
        "{rate_lines} rate-limit lines"
    );
    assert!(
        (1..=20).contains(&host_lines),
        "{host_lines} forged-Host lines"
    );
}

/// Issue 26, finding 5: `by=principal` without an auth layer is one global
/// bucket (every request has no principal). The demo refuses it at start,
/// naming the fix, and its `--help` no longer offers it first.
#[test]
fn finding_5_the_demo_refuses_by_principal_without_auth() {
    let parse = |rule: &str| {
        let args = ["--bind", "127.0.0.1:0", "--rate-limit", rule];
        match crate::cli::parse(args).expect("valid flags") {
            crate::cli::Command::Serve(config) => config,
            crate::cli::Command::Help => panic!("not help"),
        }
    };
    let err = crate::app::app(&parse("per-user=1/s,by=principal"))
        .map(|_| ())
        .expect_err("refused");
    assert!(err.to_string().contains("--auth-issuer"), "{err}");
    assert!(crate::app::app(&parse("per-user=1/s,by=principal+addr")).is_ok());
    assert!(crate::app::app(&parse("per-client=1/s,by=addr")).is_ok());
    let help = crate::cli::USAGE;
    let by_addr = help
        .find("per-client=100/s,by=addr")
        .expect("an address example");
    let by_principal = help
        .find("deploy=1/m,by=principal")
        .expect("a principal example");
    assert!(by_addr < by_principal, "the address example comes first");
    assert!(help.contains("by=principal needs --auth-issuer"), "{help}");
}
