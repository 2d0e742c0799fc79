//! GCRA counts on the paused clock: exact at three times the rate, the 429
//! and its fields, overlapping rules, task ids as names.

use super::*;

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
