//! Metrics through the Prometheus recorder: what is counted, bounded labels,
//! nothing without a recorder, and the dashboard's queries.

use super::*;
#[cfg(feature = "ratelimit")]
use mcp_tower_guard::ratelimit::{KeyPart, McpRateLimitLayer, Quota, RateLimitRule};

/// Metrics through the `metrics` facade, rendered by the Prometheus
/// recorder: the semantic conventions' histogram, requests by era and
/// method, rejections by kind and status, the session lifecycle and store
/// latency, and rate-limit outcomes (so it needs the `ratelimit` feature
/// too; the other telemetry tests build with `telemetry` alone).
#[cfg(feature = "ratelimit")]
#[tokio::test]
async fn metrics_cover_operations_rejections_sessions_store_and_rate_limits() {
    let recorder = prometheus();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let limits = McpRateLimitLayer::new([RateLimitRule::new(
        "per-peer",
        Quota::per_minute(std::num::NonZeroU32::new(2).unwrap()),
        [KeyPart::ClientAddr],
    )
    .unwrap()])
    .unwrap();
    let mut svc = guard().rate_limits(limits).into_service(inner());

    let response = send(&mut svc, legacy("initialize", None)).await;
    let id = response.headers()["mcp-session-id"].clone();
    response.into_body().collect().await.unwrap();
    assert_eq!(
        exchange(&mut svc, modern_call("echo", json!({}))).await,
        StatusCode::OK
    );
    assert_eq!(
        exchange(&mut svc, modern_call("echo", json!({}))).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let mut forged = modern_call("echo", json!({}));
    forged
        .headers_mut()
        .insert("host", "evil.example".parse().unwrap());
    assert_eq!(exchange(&mut svc, forged).await, StatusCode::FORBIDDEN);
    let mut delete = legacy("ping", Some(&id));
    *delete.method_mut() = http::Method::DELETE;
    *delete.body_mut() = Body::empty();
    assert!(exchange(&mut svc, delete).await.is_success());

    let out = handle.render();
    let duration = "mcp_server_operation_duration_count";
    let call = [
        ("mcp_method_name", "tools/call"),
        ("gen_ai_tool_name", "echo"),
        ("gen_ai_operation_name", "execute_tool"),
        ("mcp_protocol_version", "2026-07-28"),
        ("network_protocol_version", "1.1"),
        ("network_transport", "tcp"),
    ];
    let ok = out
        .lines()
        .filter(|l| line(l, duration, &call).is_some())
        .find(|l| !l.contains("error_type"));
    assert_eq!(value(ok), 1.0, "{out}");
    assert_eq!(
        value(line(
            &out,
            duration,
            &[call[0], ("error_type", "rate_limited")]
        )),
        1.0,
        "{out}"
    );
    assert!(
        line(
            &out,
            "mcp_server_operation_duration_bucket",
            &[("le", "0.01")]
        )
        .is_some(),
        "{out}"
    );
    assert_eq!(
        value(line(&out, duration, &[("mcp_method_name", "initialize")])),
        1.0,
        "{out}"
    );

    let requests = "mcp_tower_guard_requests";
    assert_eq!(
        value(line(
            &out,
            requests,
            &[("mcp_era", "modern"), ("mcp_method_name", "tools/call")]
        )),
        2.0,
        "{out}"
    );
    assert_eq!(
        value(line(
            &out,
            requests,
            &[("mcp_era", "legacy"), ("mcp_method_name", "initialize")]
        )),
        1.0,
        "{out}"
    );
    assert_eq!(
        value(line(
            &out,
            requests,
            &[("mcp_era", "legacy"), ("http_request_method", "DELETE")]
        )),
        1.0,
        "{out}"
    );

    let rejections = "mcp_tower_guard_rejections";
    assert_eq!(
        value(line(
            &out,
            rejections,
            &[
                ("layer", "host"),
                ("kind", "host_not_allowed"),
                ("status", "403")
            ]
        )),
        1.0,
        "{out}"
    );
    assert_eq!(
        value(line(
            &out,
            rejections,
            &[("kind", "rate_limited"), ("status", "429")]
        )),
        1.0,
        "{out}"
    );

    assert_eq!(
        value(line(&out, "mcp_tower_guard_sessions_opened", &[])),
        1.0,
        "{out}"
    );
    assert_eq!(
        value(line(
            &out,
            "mcp_tower_guard_sessions_closed",
            &[("cause", "deleted")]
        )),
        1.0,
        "{out}"
    );
    assert_eq!(
        value(line(&out, "mcp_tower_guard_sessions_active", &[])),
        0.0,
        "{out}"
    );
    assert_eq!(
        value(line(
            &out,
            "mcp_server_session_duration_count",
            &[("mcp_protocol_version", "2025-11-25")]
        )),
        1.0,
        "{out}"
    );
    for op in ["reserve", "commit", "remove"] {
        let l = line(
            &out,
            "mcp_tower_guard_session_store_duration_count",
            &[("store", "moka"), ("operation", op), ("outcome", "ok")],
        );
        assert_eq!(value(l), 1.0, "{op}: {out}");
    }

    // The initialize and the first call pass the rule; the second does not.
    let decisions = "mcp_tower_guard_rate_limit_decisions";
    assert_eq!(
        value(line(
            &out,
            decisions,
            &[("rule", "per-peer"), ("outcome", "allowed")]
        )),
        2.0,
        "{out}"
    );
    assert_eq!(
        value(line(
            &out,
            decisions,
            &[("rule", "per-peer"), ("outcome", "limited")]
        )),
        1.0,
        "{out}"
    );
    // Neither session ids nor principals become labels.
    assert!(!out.contains(id.to_str().unwrap()));
}

/// Label cardinality is bounded: unknown methods and tool names past the
/// cap (or outside the known set) are `_OTHER`.
#[tokio::test]
async fn tool_names_and_methods_outside_the_bounds_are_other() {
    let recorder = prometheus();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let mut svc = guard()
        .telemetry(McpTelemetryLayer::new().target_cap(2))
        .into_service(inner());
    for tool in ["a", "b", "c", "d", "a"] {
        exchange(&mut svc, modern_call(tool, json!({}))).await;
    }
    let mut known = guard()
        .telemetry(McpTelemetryLayer::new().known_targets(["deploy"]))
        .into_service(inner());
    exchange(&mut known, modern_call("deploy", json!({}))).await;
    exchange(&mut known, modern_call("attacker-made-this-up", json!({}))).await;

    let out = handle.render();
    let count = |tool| {
        value(line(
            &out,
            "mcp_server_operation_duration_count",
            &[("gen_ai_tool_name", tool)],
        ))
    };
    assert_eq!(
        (count("a"), count("b"), count("deploy")),
        (2.0, 1.0, 1.0),
        "{out}"
    );
    assert_eq!(count("_OTHER"), 3.0, "{out}");
    assert!(!out.contains("attacker-made-this-up") && !out.contains("gen_ai_tool_name=\"c\""));
}

/// With no subscriber and no recorder nothing is measured (no clock, no
/// slot, no allocation: the body says so); with a recorder, the same guard
/// measures.
#[tokio::test]
async fn nothing_is_measured_without_a_subscriber_or_recorder() {
    // Another test of this binary installs a global subscriber: this
    // thread's default is "none" whatever it did.
    let _none = tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default());
    let mut svc = guard().into_service(inner());
    let response = send(&mut svc, modern_call("echo", json!({}))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = format!("{:?}", response.body());
    assert!(body.contains("measured: false"), "{body}");

    let recorder = prometheus();
    let _local = metrics::set_default_local_recorder(&recorder);
    let response = send(&mut svc, modern_call("echo", json!({}))).await;
    assert!(format!("{:?}", response.body()).contains("measured: true"));
}

/// `examples/grafana_dashboard.json` and README's query table say the same
/// thing, and every metric they query is one the crate records.
#[test]
fn the_dashboard_and_readme_queries_name_only_recorded_metrics() {
    use mcp_tower_guard::telemetry as t;
    let dashboard: Json =
        serde_json::from_str(include_str!("../../../examples/grafana_dashboard.json")).unwrap();
    let readme = include_str!("../../../README.md");
    let recorded: Vec<String> = [
        t::OPERATION_DURATION,
        t::SESSION_DURATION,
        t::REQUESTS,
        t::REJECTIONS,
        t::SESSIONS_ACTIVE,
        t::SESSIONS_OPENED,
        t::SESSIONS_CLOSED,
        t::STORE_DURATION,
        t::RATE_LIMIT_DECISIONS,
        t::AUTH_DECISIONS,
    ]
    .iter()
    .map(|name| name.replace('.', "_"))
    .collect();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 10);
    for panel in panels {
        let expr = panel["targets"][0]["expr"].as_str().unwrap();
        assert!(readme.contains(&format!("`{expr}`")), "README lacks {expr}");
        for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with("mcp_server_") || word.starts_with("mcp_tower_guard_") {
                let base = word
                    .strip_suffix("_bucket")
                    .or_else(|| word.strip_suffix("_count"))
                    .or_else(|| word.strip_suffix("_sum"))
                    .unwrap_or(word);
                assert!(recorded.iter().any(|r| r == base), "{word} is not recorded");
            }
        }
    }
}

/// Issue 26, finding 12: labels from handler error codes are bounded. Any
/// JSON-RPC error code a handler answers used to become a label value; now
/// only the specification's codes do, and the rest are `_OTHER` (the span
/// still carries the real code).
#[tokio::test]
async fn finding_12_error_code_labels_are_bounded_to_the_specs_codes() {
    let recorder = prometheus();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    for code in [12345, -1, -31999, 7, -32603] {
        let answer = json!({"jsonrpc":"2.0","id":9,"error":{"code":code,"message":"x"}});
        let app = axum::Router::new().fallback(axum::routing::any(move || {
            let answer = answer.clone();
            async move { axum::Json(answer) }
        }));
        let mut svc = guard().stateless().into_service(app);
        assert_eq!(
            exchange(&mut svc, modern_call("coded", json!({}))).await,
            StatusCode::OK
        );
    }
    let out = handle.render();
    for made_up in ["12345", "\"-1\"", "-31999", "\"7\""] {
        assert!(!out.contains(made_up), "{made_up} became a label: {out}");
    }
    let other = value(line(
        &out,
        "mcp_server_operation_duration_count",
        &[("gen_ai_tool_name", "coded"), ("error_type", "_OTHER")],
    ));
    assert_eq!(other, 4.0, "{out}");
    let known = value(line(
        &out,
        "mcp_server_operation_duration_count",
        &[("gen_ai_tool_name", "coded"), ("error_type", "-32603")],
    ));
    assert_eq!(known, 1.0, "{out}");
}

/// Issue 26, finding 11: tool-name labels could be squatted before
/// authentication. Names in requests a layer refused after reading the body
/// (here, 64 made-up tools in legacy calls without a session: the session
/// layer's 400, as an auth layer's 401 would be) no longer fill the
/// first-seen set; the real tool, answered by the server, is learned, and
/// its later spans are named after it.
#[tokio::test]
async fn finding_11_refused_requests_do_not_squat_tool_name_labels() {
    let traces = traces();
    let recorder = prometheus();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let mut svc = guard().into_service(inner());
    for i in 0..64 {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": format!("squat{i}"), "arguments": {}}});
        let req = Request::post("/mcp")
            .header("host", "localhost")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        assert_eq!(exchange(&mut svc, req).await, StatusCode::BAD_REQUEST);
    }
    // tracing caches each callsite's interest when the callsite is first
    // hit, in any thread: a test running beside this one, with no subscriber
    // of its own, can store "never" for the request span after `traces()`
    // counted this thread's subscriber in. Every callsite is registered by
    // now, so one more rebuild makes the cache final for this test.
    tracing::callsite::rebuild_interest_cache();
    for _ in 0..2 {
        assert_eq!(
            exchange(&mut svc, modern_call("real_tool", json!({}))).await,
            StatusCode::OK
        );
    }
    let out = handle.render();
    assert!(!out.contains("squat"), "{out}");
    let real = value(line(
        &out,
        "mcp_server_operation_duration_count",
        &[("gen_ai_tool_name", "real_tool")],
    ));
    assert_eq!(real, 2.0, "{out}");
    let spans = traces.spans();
    assert_eq!(
        spans.last().map(|s| s.name.to_string()).as_deref(),
        Some("tools/call real_tool")
    );
}
