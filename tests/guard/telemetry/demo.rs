//! The demo's exporters: `--metrics-addr` scraped over TCP, and
//! `--otlp-endpoint` against a real OTLP/gRPC receiver on 127.0.0.1 (a tonic
//! server on the OpenTelemetry proto types) started here.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span as ProtoSpan;
use serde_json::json;
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;

use super::{HEADER_PARENT, META_PARENT};

fn serve_config(extra: &[&str]) -> crate::app::DemoConfig {
    let mut args = vec!["--bind", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    match crate::cli::parse(args).expect("valid flags") {
        crate::cli::Command::Serve(config) => *config,
        crate::cli::Command::Help => panic!("expected serve"),
    }
}

fn tools_call(url: &str, host: Option<&str>) -> Request<Full<Bytes>> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "echo", "arguments": {"text": "hi"},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {},
                  "traceparent": META_PARENT}}});
    let mut req = Request::post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "echo")
        .header("traceparent", HEADER_PARENT);
    if let Some(host) = host {
        req = req.header("host", host);
    }
    req.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

/// `--metrics-addr`: Prometheus text over TCP, with the operations, the
/// requests and the rejections of traffic that went over TCP too.
#[tokio::test]
async fn demo_metrics_addr_serves_prometheus_text_over_tcp() {
    let config = serve_config(&["--metrics-addr", "127.0.0.1:0"]);
    // The demo installs it globally; here it is this thread's, and the
    // current-thread runtime runs the servers on this thread too.
    let recorder = crate::demo_telemetry::prometheus_recorder().unwrap();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);

    let (router, store) = crate::app::app(&config).expect("demo starts");
    let listener = tokio::net::TcpListener::bind(config.bind).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::app::serve(listener, router, async move {
        let _ = stopped.await;
        store.shutdown();
    }));
    let metrics_listener = tokio::net::TcpListener::bind(config.metrics_addr.unwrap())
        .await
        .unwrap();
    let metrics_addr = metrics_listener.local_addr().unwrap();
    let exporter = tokio::spawn(crate::demo_telemetry::serve_metrics(
        metrics_listener,
        handle,
    ));

    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let url = format!("http://{addr}/mcp");
    let ok = client.request(tools_call(&url, None)).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    ok.into_body().collect().await.unwrap();
    let forged = client
        .request(tools_call(&url, Some("evil.example")))
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    forged.into_body().collect().await.unwrap();

    let scrape = Request::get(format!("http://{metrics_addr}/metrics"))
        .body(Full::default())
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(scrape))
        .await
        .expect("scraped in time")
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(
        text.contains("# TYPE mcp_server_operation_duration histogram"),
        "{text}"
    );
    let bucket = text
        .lines()
        .find(|l| {
            l.starts_with("mcp_server_operation_duration_bucket") && l.contains(r#"le="0.05""#)
        })
        .unwrap_or_default();
    for label in [
        r#"mcp_method_name="tools/call""#,
        r#"gen_ai_tool_name="echo""#,
        r#"mcp_protocol_version="2026-07-28""#,
        r#"network_transport="tcp""#,
    ] {
        assert!(bucket.contains(label), "{label} in {bucket:?}\n{text}");
    }
    assert!(
        text.contains(
            r#"mcp_tower_guard_rejections{layer="host",kind="host_not_allowed",status="403"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"mcp_tower_guard_requests{mcp_era="modern",http_request_method="POST",mcp_method_name="tools/call"} 1"#),
        "{text}"
    );

    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    exporter.abort();
}

/// An OTLP/gRPC trace receiver: keeps every span it is sent.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<ProtoSpan>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans = request
            .into_inner()
            .resource_spans
            .into_iter()
            .filter(|r| {
                r.resource.as_ref().is_some_and(|res| {
                    res.attributes.iter().any(|kv| {
                        kv.key == "service.name"
                            && matches!(&kv.value.as_ref().and_then(|v| v.value.clone()),
                                Some(AnyValue::StringValue(s)) if s == crate::demo_telemetry::SERVICE_NAME)
                    })
                })
            })
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans);
        self.0.lock().unwrap().extend(spans);
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn string_attr(span: &ProtoSpan, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(s) => Some(s.clone()),
            AnyValue::IntValue(i) => Some(i.to_string()),
            _ => None,
        })
}

/// `--otlp-endpoint`: the demo's spans reach a real OTLP/gRPC receiver over
/// TCP, named and attributed by the semantic conventions, with the `_meta`
/// context as parent and the header's as a link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_otlp_endpoint_exports_semconv_spans_to_a_grpc_receiver() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_addr = listener.local_addr().unwrap();
    let grpc = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let endpoint = format!("http://{receiver_addr}");
    let config = serve_config(&["--otlp-endpoint", &endpoint]);
    let provider = crate::demo_telemetry::otlp_provider(config.otlp_endpoint.as_deref().unwrap())
        .expect("exporter builds");
    let (router, store) = crate::app::app(&config).expect("demo starts");
    {
        // This thread's subscriber: the request is served on this thread.
        let subscriber =
            tracing_subscriber::registry().with(crate::demo_telemetry::otel_layer(&provider));
        let _guard = tracing::subscriber::set_default(subscriber);
        tracing::callsite::rebuild_interest_cache();
        let req = tools_call("/mcp", Some("localhost")).map(axum::body::Body::new);
        let response = router.clone().oneshot(req).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.into_body().collect().await.unwrap();
    }
    let flush = provider.clone();
    tokio::task::spawn_blocking(move || flush.force_flush())
        .await
        .unwrap()
        .expect("spans flushed to the receiver");

    let span = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let found = receiver
                .0
                .lock()
                .unwrap()
                .iter()
                .find(|s| s.name == "tools/call echo")
                .cloned();
            if let Some(span) = found {
                return span;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the span reached the receiver");
    assert_eq!(span.kind, 2, "SPAN_KIND_SERVER");
    assert_eq!(hex(&span.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(hex(&span.parent_span_id), "b7ad6b7169203331");
    assert_eq!(span.links.len(), 1);
    assert_eq!(hex(&span.links[0].span_id), "00f067aa0ba902b7");
    for (key, value) in [
        ("mcp.method.name", "tools/call"),
        ("gen_ai.tool.name", "echo"),
        ("gen_ai.operation.name", "execute_tool"),
        ("jsonrpc.request.id", "1"),
        ("mcp.protocol.version", "2026-07-28"),
        ("http.response.status_code", "200"),
    ] {
        assert_eq!(string_attr(&span, key).as_deref(), Some(value), "{key}");
    }

    store.shutdown();
    let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    grpc.abort();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
