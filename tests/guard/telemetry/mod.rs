//! `McpTelemetryLayer` through `McpGuard`: spans exported by the real
//! OpenTelemetry SDK through `tracing-opentelemetry` (an in-memory
//! exporter), metrics rendered by the real Prometheus recorder. Each test
//! installs its subscriber and recorder for its own thread only (tokio's
//! current-thread runtime), so tests do not see each other.

#![cfg(feature = "telemetry")]

mod demo;

use std::net::SocketAddr;

use axum::body::Body;
use http::{HeaderValue, Request, StatusCode};
use http_body_util::BodyExt;
use mcp_tower_guard::ratelimit::{KeyPart, McpRateLimitLayer, Quota, RateLimitRule};
use mcp_tower_guard::telemetry::{McpTelemetryLayer, DURATION_BUCKETS};
use mcp_tower_guard::{McpGuard, PeerAddr};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};
use opentelemetry::trace::{SpanId, SpanKind, TraceId, TracerProvider as _};
use opentelemetry::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::{json, Value as Json};
use tower::{Service, ServiceExt};
use tracing_subscriber::layer::SubscriberExt;

pub(crate) const META_PARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
pub(crate) const HEADER_PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Spans of this thread, exported when they end.
struct Traces {
    exporter: InMemorySpanExporter,
    _provider: SdkTracerProvider,
    _guard: tracing::subscriber::DefaultGuard,
}

fn traces() -> Traces {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let guard = tracing::subscriber::set_default(subscriber);
    // Other tests' thread-local subscribers share the callsite interest
    // cache: count this one in now.
    tracing::callsite::rebuild_interest_cache();
    Traces {
        exporter,
        _provider: provider,
        _guard: guard,
    }
}

impl Traces {
    fn spans(&self) -> Vec<SpanData> {
        self.exporter
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .filter(|s| s.instrumentation_scope.name() == "test")
            .collect()
    }

    fn only(&self) -> SpanData {
        let mut spans = self.spans();
        assert_eq!(spans.len(), 1, "{spans:#?}");
        spans.remove(0)
    }
}

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| match &kv.value {
            Value::String(s) => s.as_str().to_owned(),
            other => other.as_str().into_owned(),
        })
}

fn inner() -> axum::Router {
    axum::Router::new().fallback(axum::routing::any(|| async {
        axum::Json(json!({"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-11-25"}}))
    }))
}

fn peer() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

/// A 2026-07-28 `tools/call` of `tool` from `peer()`, with `meta` merged into `_meta`.
fn modern_call(tool: &str, meta: Json) -> Request<Body> {
    let mut req = crate::support::modern_tools_call(tool, meta);
    req.extensions_mut().insert(PeerAddr(peer()));
    req
}

fn legacy(method: &str, session: Option<&HeaderValue>) -> Request<Body> {
    let params = if method == "initialize" {
        json!({"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "t", "version": "1"}})
    } else {
        json!({})
    };
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut req = Request::post("/mcp")
        .header("host", "localhost")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    if let Some(id) = session {
        req = req
            .header("mcp-session-id", id.clone())
            .header("mcp-protocol-version", "2025-11-25");
    }
    let mut req = req.body(Body::from(body.to_string())).unwrap();
    req.extensions_mut().insert(PeerAddr(peer()));
    req
}

async fn send<S, B>(svc: &mut S, req: Request<Body>) -> http::Response<B>
where
    S: Service<Request<Body>, Response = http::Response<B>>,
    S::Error: std::fmt::Debug,
{
    svc.ready().await.unwrap().call(req).await.unwrap()
}

/// Sends `req` and reads the whole answer, so its span ends.
async fn exchange<S, B>(svc: &mut S, req: Request<Body>) -> StatusCode
where
    S: Service<Request<Body>, Response = http::Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let response = send(svc, req).await;
    let status = response.status();
    response.into_body().collect().await.unwrap();
    status
}

fn guard() -> McpGuard {
    McpGuard::local("127.0.0.1:8000".parse().unwrap()).unwrap()
}

/// Semantic conventions: span name `{mcp.method.name} {target}`, kind
/// SERVER, the MCP attributes; SEP-414: the `_meta` trace context is the
/// parent and the HTTP header's becomes a link.
#[tokio::test]
async fn semconv_span_for_a_tool_call_takes_its_parent_from_meta_and_links_the_header() {
    let traces = traces();
    // A first-seen name is learned from its answer; a known one names the
    // span from the first request.
    let mut svc = guard()
        .telemetry(McpTelemetryLayer::new().known_targets(["echo"]))
        .into_service(inner());
    let mut req = modern_call(
        "echo",
        json!({"traceparent": META_PARENT, "tracestate": "k=v"}),
    );
    req.headers_mut()
        .insert("traceparent", HEADER_PARENT.parse().unwrap());
    assert_eq!(exchange(&mut svc, req).await, StatusCode::OK);

    let span = traces.only();
    assert_eq!(span.name, "tools/call echo");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(
        span.span_context.trace_id(),
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap()
    );
    assert_eq!(
        span.parent_span_id,
        SpanId::from_hex("b7ad6b7169203331").unwrap()
    );
    assert_eq!(span.span_context.trace_state().get("k"), Some("v"));
    let links: Vec<_> = span
        .links
        .iter()
        .map(|l| l.span_context.span_id())
        .collect();
    assert_eq!(links, [SpanId::from_hex("00f067aa0ba902b7").unwrap()]);
    for (key, value) in [
        ("mcp.method.name", "tools/call"),
        ("gen_ai.tool.name", "echo"),
        ("gen_ai.operation.name", "execute_tool"),
        ("jsonrpc.request.id", "9"),
        ("mcp.protocol.version", "2026-07-28"),
        ("network.protocol.name", "http"),
        ("network.protocol.version", "1.1"),
        ("network.transport", "tcp"),
        ("client.address", "127.0.0.1"),
        ("client.port", "40000"),
        ("http.response.status_code", "200"),
    ] {
        assert_eq!(attr(&span, key).as_deref(), Some(value), "{key}");
    }
    assert_eq!(attr(&span, "error.type"), None);
    assert_eq!(attr(&span, "mcp.session.id"), None, "opt-in only");
}

/// W3C Trace Context over HTTP: without `_meta` context the header's is
/// the parent; an invalid one is ignored (a new trace starts).
#[tokio::test]
async fn w3c_traceparent_header_is_the_parent_without_meta_context() {
    let traces = traces();
    let mut svc = guard().into_service(inner());
    let mut req = modern_call("echo", json!({}));
    req.headers_mut()
        .insert("traceparent", HEADER_PARENT.parse().unwrap());
    exchange(&mut svc, req).await;
    let mut req = modern_call("echo", json!({"traceparent": "00-zz-bad-01"}));
    req.headers_mut()
        .insert("traceparent", "00-0AF7-invalid-01".parse().unwrap());
    exchange(&mut svc, req).await;

    let spans = traces.spans();
    assert_eq!(spans.len(), 2);
    assert_eq!(
        spans[0].span_context.trace_id(),
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap()
    );
    assert_eq!(
        spans[0].parent_span_id,
        SpanId::from_hex("00f067aa0ba902b7").unwrap()
    );
    assert!(spans[0].links.is_empty());
    assert_eq!(spans[1].parent_span_id, SpanId::INVALID, "a root span");
}

/// A refusal is measured: `error.type` is the rejection kind, and the span
/// is named after the HTTP method when no JSON-RPC method was read.
#[tokio::test]
async fn a_refused_request_gets_a_span_with_its_rejection_kind() {
    let traces = traces();
    let mut svc = guard().into_service(inner());
    let mut req = modern_call("echo", json!({"traceparent": META_PARENT}));
    req.headers_mut()
        .insert("host", "evil.example".parse().unwrap());
    req.headers_mut()
        .insert("traceparent", HEADER_PARENT.parse().unwrap());
    assert_eq!(exchange(&mut svc, req).await, StatusCode::FORBIDDEN);

    let span = traces.only();
    assert_eq!(span.name, "POST");
    assert_eq!(
        attr(&span, "error.type").as_deref(),
        Some("host_not_allowed")
    );
    assert_eq!(
        attr(&span, "http.response.status_code").as_deref(),
        Some("403")
    );
    assert_eq!(
        attr(&span, "rpc.response.status_code").as_deref(),
        Some("-32000")
    );
    // The body was never read, so the header's context is the parent.
    assert_eq!(
        span.parent_span_id,
        SpanId::from_hex("00f067aa0ba902b7").unwrap()
    );
    // A client's mistake is not a server error.
    assert_eq!(span.status, opentelemetry::trace::Status::Unset);
}

/// The span ends with the response body, not with its head: a streamed
/// answer is measured to its end.
#[tokio::test]
async fn the_span_stays_open_until_the_response_body_ends() {
    let traces = traces();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(1);
    let rx = std::sync::Arc::new(std::sync::Mutex::new(Some(rx)));
    let streaming = axum::Router::new().fallback(axum::routing::any(move || {
        let rx = rx.lock().unwrap().take();
        async move {
            let rx = rx.expect("one request");
            http::Response::builder()
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(
                    tokio_stream::wrappers::ReceiverStream::new(rx),
                ))
                .unwrap()
        }
    }));
    let mut svc = guard()
        .telemetry(McpTelemetryLayer::new().known_targets(["slow"]))
        .into_service(streaming);
    let response = send(&mut svc, modern_call("slow", json!({}))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    tx.send(Ok(bytes::Bytes::from_static(b"data: {}\n\n")))
        .await
        .unwrap();
    let frame = body.frame().await.unwrap().unwrap();
    assert!(frame.is_data());
    assert!(traces.spans().is_empty(), "ended before its body");
    drop(tx);
    assert!(body.frame().await.is_none());
    assert_eq!(traces.only().name, "tools/call slow");
}

/// `mcp.session.id` only when opted in, as the keyed hash the logs use.
#[tokio::test]
async fn the_session_id_is_recorded_hashed_when_opted_in() {
    let traces = traces();
    let mut svc = guard()
        .telemetry(McpTelemetryLayer::new().record_session_id(true))
        .into_service(inner());
    let response = send(&mut svc, legacy("initialize", None)).await;
    let id = response.headers()["mcp-session-id"].clone();
    response.into_body().collect().await.unwrap();
    exchange(&mut svc, legacy("tools/list", Some(&id))).await;

    let spans = traces.spans();
    assert_eq!(spans.len(), 2);
    let tags: Vec<_> = spans.iter().map(|s| attr(s, "mcp.session.id")).collect();
    assert!(tags[0].as_ref().is_some_and(|t| t.len() == 8), "{tags:?}");
    assert_eq!(tags[0], tags[1], "one session, one tag");
    assert_ne!(tags[0].as_deref(), id.to_str().ok(), "never the id itself");
    assert_eq!(spans[0].name, "initialize");
    assert_eq!(
        attr(&spans[1], "mcp.protocol.version").as_deref(),
        Some("2025-11-25")
    );
}

fn prometheus() -> PrometheusRecorder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Prefix("mcp.server".into()), DURATION_BUCKETS)
        .unwrap()
        .set_buckets_for_metric(
            Matcher::Full("mcp_tower_guard.session_store.duration".into()),
            &[0.001, 0.1],
        )
        .unwrap()
        .build_recorder()
}

/// The line of `metric` that carries every one of `labels`.
fn line<'a>(rendered: &'a str, metric: &str, labels: &[(&str, &str)]) -> Option<&'a str> {
    rendered.lines().find(|l| {
        l.starts_with(metric)
            && l[metric.len()..].starts_with(['{', ' '])
            && labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
    })
}

fn value(line: Option<&str>) -> f64 {
    line.and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1.0)
}

/// Metrics through the `metrics` facade, rendered by the Prometheus
/// recorder: the semantic conventions' histogram, requests by era and
/// method, rejections by kind and status, the session lifecycle and store
/// latency, and rate-limit outcomes.
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

/// Placed inside the headers layer, the telemetry layer would miss every
/// refusal before it: named once, at warn, with the right order.
#[tokio::test]
async fn telemetry_inside_the_headers_layer_is_named_once() {
    let (logs, _guard) = crate::support::guards::capture_logs();
    tracing::callsite::rebuild_interest_cache();
    let wrong = tower::ServiceBuilder::new()
        .layer(mcp_tower_guard::McpHeadersLayer::new())
        .layer(McpTelemetryLayer::new())
        .service(inner());
    for _ in 0..3 {
        assert_eq!(
            exchange(&mut wrong.clone(), modern_call("echo", json!({}))).await,
            StatusCode::OK
        );
    }
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        text.matches("ran before McpTelemetryLayer").count(),
        1,
        "{text}"
    );
    assert!(text.contains("Telemetry (when used), Host"), "{text}");
}

/// Semantic conventions: a JSON-RPC error in the answer sets
/// `rpc.response.status_code`, and `error.type` (with span status ERROR and
/// the error's message) unless the code is the caller's (-32602 and
/// friends); a tool result with `isError: true` is `tool_error`. JSON and
/// SSE answers alike.
#[tokio::test]
async fn semconv_error_type_comes_from_the_json_rpc_answer() {
    let traces = traces();
    let recorder = prometheus();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let answering = |answer: Json| {
        axum::Router::new().fallback(axum::routing::any(move || {
            let answer = answer.clone();
            async move { axum::Json(answer) }
        }))
    };
    let cases = [
        (
            "boom",
            json!({"jsonrpc":"2.0","id":9,"error":{"code":-32603,"message":"boom"}}),
        ),
        (
            "nosuch",
            json!({"jsonrpc":"2.0","id":9,"error":{"code":-32602,"message":"Unknown tool"}}),
        ),
        (
            "failing",
            json!({"jsonrpc":"2.0","id":9,"result":{"content":[],"isError":true}}),
        ),
        (
            "fine",
            json!({"jsonrpc":"2.0","id":9,"result":{"content":[],"isError":false}}),
        ),
    ];
    for (tool, answer) in &cases {
        let mut svc = guard().stateless().into_service(answering(answer.clone()));
        assert_eq!(
            exchange(&mut svc, modern_call(tool, json!({}))).await,
            StatusCode::OK
        );
    }
    // The same error, streamed: a progress notification, then the response event.
    let streaming = axum::Router::new().fallback(axum::routing::any(|| async {
        (
            [(http::header::CONTENT_TYPE, "text/event-stream")],
            "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\n\
             event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":9,\"error\":{\"code\":-32603,\"message\":\"streamed boom\"}}\n\n",
        )
    }));
    let mut svc = guard().stateless().into_service(streaming);
    assert_eq!(
        exchange(&mut svc, modern_call("sseboom", json!({}))).await,
        StatusCode::OK
    );
    let spans = traces.spans();
    let by_tool = |tool: &str| {
        spans
            .iter()
            .find(|s| attr(s, "gen_ai.tool.name").as_deref() == Some(tool))
            .unwrap_or_else(|| panic!("no span for {tool}: {spans:#?}"))
    };
    let boom = by_tool("boom");
    assert_eq!(attr(boom, "error.type").as_deref(), Some("-32603"));
    assert_eq!(
        attr(boom, "rpc.response.status_code").as_deref(),
        Some("-32603")
    );
    assert_eq!(boom.status, opentelemetry::trace::Status::error("boom"));
    let nosuch = by_tool("nosuch");
    assert_eq!(attr(nosuch, "error.type"), None, "the caller's mistake");
    assert_eq!(
        attr(nosuch, "rpc.response.status_code").as_deref(),
        Some("-32602")
    );
    assert_eq!(nosuch.status, opentelemetry::trace::Status::Unset);
    assert_eq!(
        attr(by_tool("failing"), "error.type").as_deref(),
        Some("tool_error")
    );
    assert_eq!(attr(by_tool("fine"), "error.type"), None);
    let streamed = by_tool("sseboom");
    assert_eq!(attr(streamed, "error.type").as_deref(), Some("-32603"));
    assert_eq!(
        streamed.status,
        opentelemetry::trace::Status::error("streamed boom")
    );

    let out = handle.render();
    let count = |tool: &str, error: &str| {
        value(line(
            &out,
            "mcp_server_operation_duration_count",
            &[("gen_ai_tool_name", tool), ("error_type", error)],
        ))
    };
    assert_eq!(count("boom", "-32603"), 1.0, "{out}");
    assert_eq!(count("failing", "tool_error"), 1.0, "{out}");
    assert!(
        line(
            &out,
            "mcp_server_operation_duration_count",
            &[
                ("gen_ai_tool_name", "nosuch"),
                ("rpc_response_status_code", "-32602")
            ]
        )
        .is_some_and(|l| !l.contains("error_type")),
        "{out}"
    );
}

/// SEP-2663: a task is the target of `tasks/get`, `tasks/update` and
/// `tasks/cancel`. Its id goes on the span as `mcp.task.id`; task ids are
/// unbounded, so they never name the span or become a metric label.
#[tokio::test]
async fn task_ids_go_on_the_span_and_never_into_names_or_labels() {
    let traces = traces();
    let recorder = prometheus();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let mut svc = guard().stateless().into_service(inner());
    let task = "786512e2-9e0d-44bd-8f29-789f320fe840";
    for method in ["tasks/get", "tasks/update", "tasks/cancel"] {
        let body = json!({"jsonrpc": "2.0", "id": 9, "method": method,
            "params": {"taskId": task, "inputResponses": {}, "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {}}}});
        let mut req = Request::post("/mcp")
            .header("host", "localhost")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method)
            .header("mcp-name", task)
            .body(Body::from(body.to_string()))
            .unwrap();
        req.extensions_mut().insert(PeerAddr(peer()));
        assert_eq!(exchange(&mut svc, req).await, StatusCode::OK, "{method}");
    }
    let spans = traces.spans();
    assert_eq!(spans.len(), 3);
    for (span, method) in spans
        .iter()
        .zip(["tasks/get", "tasks/update", "tasks/cancel"])
    {
        assert_eq!(span.name, method, "the span is named by its method alone");
        assert_eq!(attr(span, "mcp.method.name").as_deref(), Some(method));
        assert_eq!(attr(span, "mcp.task.id").as_deref(), Some(task));
    }
    let out = handle.render();
    assert!(!out.contains(task), "{out}");
    for method in ["tasks/get", "tasks/update", "tasks/cancel"] {
        assert_eq!(
            value(line(
                &out,
                "mcp_server_operation_duration_count",
                &[("mcp_method_name", method)],
            )),
            1.0,
            "{out}"
        );
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
