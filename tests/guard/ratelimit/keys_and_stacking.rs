//! Keys and the stack around the layer: requests refused earlier are not
//! counted, a bounded key table, the demo under a TCP flood, trusted
//! proxies, and `McpGuard` placing the layer innermost.

use super::*;

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
