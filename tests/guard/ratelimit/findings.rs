//! Review findings: batches keyed as their requests, IPv6 prefixes and
//! forwarded-for forms, rate-limited logs of refusals, the demo's principal
//! rules without auth.

use super::*;

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
