//! The demo's exporters (feature `telemetry`): Prometheus text at
//! `--metrics-addr`, and spans over OTLP/gRPC to `--otlp-endpoint`.
//!
//! The guard records through the `metrics` facade and opens `tracing`
//! spans; this file only picks where they go, as an application would.

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use mcp_tower_guard::telemetry::{DURATION_BUCKETS, STORE_DURATION};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tokio::net::TcpListener;

/// The service name spans are exported under.
pub const SERVICE_NAME: &str = "mcp-tower-guard-demo";

/// A Prometheus recorder with the semantic conventions' buckets for the
/// MCP duration histograms (and millisecond ones for store calls).
pub fn prometheus_recorder() -> Result<PrometheusRecorder, Box<dyn std::error::Error + Send + Sync>>
{
    Ok(PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Prefix("mcp.server".into()), DURATION_BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full(STORE_DURATION.into()),
            &[0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 1.0],
        )?
        .build_recorder())
}

/// Serves `GET /metrics` (Prometheus text format 0.0.4) on `listener` until
/// the process ends, and keeps the recorder's histograms trimmed.
pub async fn serve_metrics(listener: TcpListener, handle: PrometheusHandle) -> std::io::Result<()> {
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let text = handle.render();
            async move { ([("content-type", "text/plain; version=0.0.4")], text) }
        }),
    );
    axum::serve(listener, app).await
}

/// A tracer provider that batches spans to the OTLP/gRPC receiver at
/// `endpoint` (call within a tokio runtime: the gRPC client lives on it).
pub fn otlp_provider(
    endpoint: &str,
) -> Result<SdkTracerProvider, Box<dyn std::error::Error + Send + Sync>> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(Duration::from_secs(3))
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(SERVICE_NAME).build())
        .build())
}

/// The `tracing` layer that turns the guard's spans into OpenTelemetry ones.
pub fn otel_layer<S>(
    provider: &SdkTracerProvider,
) -> tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer(SERVICE_NAME))
}
