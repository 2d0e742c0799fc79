//! Spans: the MCP semantic conventions, parents from `_meta` and
//! `traceparent`, rejections, the span's end, hashed session ids, task ids.

use super::*;

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| match &kv.value {
            Value::String(s) => s.as_str().to_owned(),
            other => other.as_str().into_owned(),
        })
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
