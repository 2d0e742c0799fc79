//! `McpTelemetryLayer` through `McpGuard`: spans exported by the real
//! OpenTelemetry SDK through `tracing-opentelemetry` (an in-memory
//! exporter), metrics rendered by the real Prometheus recorder. Each test
//! installs its subscriber and recorder for its own thread only (tokio's
//! current-thread runtime), so tests do not see each other.

#![cfg(feature = "telemetry")]

mod demo;

/// Metrics: operations, rejections, sessions, store calls, bounded labels.
mod prometheus_metrics;
/// Spans: semantic conventions, trace context, rejections, task ids.
mod spans;

use std::net::SocketAddr;

use axum::body::Body;
use http::{HeaderValue, Request, StatusCode};
use http_body_util::BodyExt;
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
