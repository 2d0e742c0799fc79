//! The cost of `McpTelemetryLayer` per request: the four layers without it,
//! then with it and nothing listening (no subscriber, no recorder), then
//! with spans (tracing-opentelemetry into the OpenTelemetry SDK, exporting
//! to a no-op exporter), with metrics (the Prometheus recorder), and with
//! both, on a legacy session request with a 1 KiB `tools/call`; and the
//! layer alone over the inner service (`bare`, `bare_telemetry_off`). Each
//! iteration drops the response, which ends the span and records the
//! histogram.
//!
//! ```text
//! cargo bench --features telemetry --bench telemetry
//! cargo bench --features telemetry --bench telemetry -- --test   # each case once (CI)
//! TELEMETRY_CASE=<name> TELEMETRY_ITERS=<n> valgrind --tool=callgrind target/release/deps/telemetry-* --bench
//! ```

#[path = "support/mod.rs"]
mod support;

use std::time::Duration;

use bytes::Bytes;
use criterion::Criterion;
use http::{HeaderValue, Request, StatusCode};
use http_body_util::Full;
use mcp_tower_guard::session::MokaSessionStore;
use mcp_tower_guard::telemetry::McpTelemetryLayer;
use mcp_tower_guard::{HostCheckLayer, McpHeadersLayer, McpSessionLayer, OriginGuardLayer};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};
use tracing_subscriber::layer::SubscriberExt;

use support::with_peer;

/// What listens while a case runs.
#[derive(Clone, Copy, PartialEq)]
enum Listening {
    Nothing,
    Spans,
    Metrics,
    Both,
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let body: &'static Bytes = Box::leak(Box::new(support::tools_call_1k()));
    let cases = [
        ("full_stack_post_1k", None),
        ("full_stack_telemetry_off", Some(Listening::Nothing)),
        ("full_stack_telemetry_spans", Some(Listening::Spans)),
        ("full_stack_telemetry_metrics", Some(Listening::Metrics)),
        ("full_stack_telemetry_both", Some(Listening::Both)),
    ];
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(opentelemetry_sdk::testing::trace::NoopSpanExporter::new())
        .build();
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let mut g = c.benchmark_group("telemetry");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    // The layer alone over the inner service: its own cost, without the
    // stack's noise around it. First, in a process that has never had a
    // subscriber or a recorder.
    run(&mut g, &rt, "bare", body, support::inner());
    run(
        &mut g,
        &rt,
        "bare_telemetry_off",
        body,
        McpTelemetryLayer::new().layer(support::inner()),
    );
    for (name, listening) in cases {
        let spans = matches!(listening, Some(Listening::Spans | Listening::Both));
        let _subscriber = spans.then(|| {
            let subscriber = tracing_subscriber::registry()
                .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
            let guard = tracing::subscriber::set_default(subscriber);
            tracing::callsite::rebuild_interest_cache();
            guard
        });
        let metrics = matches!(listening, Some(Listening::Metrics | Listening::Both));
        let _recorder = metrics.then(|| metrics::set_default_local_recorder(&recorder));
        let store = rt.block_on(async { MokaSessionStore::new() });
        let stack = ServiceBuilder::new()
            .layer(HostCheckLayer::localhost())
            .layer(OriginGuardLayer::localhost())
            .layer(McpHeadersLayer::new())
            .layer(McpSessionLayer::new(store))
            .service(support::inner());
        match listening {
            None => run(&mut g, &rt, name, body, stack),
            Some(_) => run(
                &mut g,
                &rt,
                name,
                body,
                McpTelemetryLayer::new().layer(stack),
            ),
        }
    }
    g.finish();
    c.final_summary();
}

/// Measures one stack (or runs it `TELEMETRY_ITERS` times for callgrind).
fn run<S, B>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &tokio::runtime::Runtime,
    name: &str,
    body: &'static Bytes,
    stack: S,
) where
    S: Service<Request<Full<Bytes>>, Response = http::Response<B>> + Clone,
    S::Error: std::fmt::Debug,
{
    let init = with_peer(support::post(&support::initialize(), None));
    let res = rt.block_on(stack.clone().oneshot(init)).unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The bare cases have no session layer, so no id.
    let id: Option<&'static HeaderValue> = res
        .headers()
        .get("mcp-session-id")
        .map(|id| &*Box::leak(Box::new(id.clone())));
    let make = move || with_peer(support::post(body, id));
    assert_eq!(
        rt.block_on(stack.clone().oneshot(make())).unwrap().status(),
        StatusCode::OK
    );
    support::timed_case(g, rt, "TELEMETRY", name, stack, make);
}
