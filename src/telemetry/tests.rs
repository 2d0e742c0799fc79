//! Tests of the telemetry layer in a stack: what it takes from the layers
//! inside it.

/// Answers are parsed once for every layer that reads them: behind the
/// headers layer, which reads a 2026-07-28 answer for its status
/// (`map_error_status`), the telemetry layer takes what it found instead
/// of parsing it again.
#[tokio::test(flavor = "current_thread")]
async fn an_answer_the_headers_layer_read_is_not_parsed_again() {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use tower::{ServiceBuilder, ServiceExt};

    let answers = [
        (
            r#"{"jsonrpc":"2.0","id":9,"error":{"code":-32603,"message":"boom"}}"#,
            true,
        ),
        (
            r#"{"jsonrpc":"2.0","id":9,"result":{"content":[],"isError":true}}"#,
            true,
        ),
        (r#"{"jsonrpc":"2.0","id":9,"result":{"content":[]}}"#, false),
    ];
    // Spans on, so the telemetry layer measures (and would read) the answer.
    let _spans = tracing::subscriber::set_default(tracing_subscriber::registry());
    for (answer, is_error) in answers {
        let svc = ServiceBuilder::new()
            .layer(crate::telemetry::McpTelemetryLayer::new())
            .layer(crate::headers::McpHeadersLayer::new().map_error_status(true))
            .service_fn(move |_req: http::Request<Full<Bytes>>| async move {
                // A body type the headers layer can rebuild after reading it.
                let mut res = http::Response::new(axum::body::Body::from(answer));
                res.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                Ok::<_, std::convert::Infallible>(res)
            });
        let body = r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"t","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
        let req = http::Request::post("/mcp")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "t")
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap();
        crate::answer::PARSES.with(|n| n.set(0));
        let res = svc.oneshot(req).await.unwrap();
        assert_eq!(
            res.status(),
            http::StatusCode::OK,
            "{:?}",
            res.extensions().get::<crate::Rejection>()
        );
        let read = res
            .extensions()
            .get::<crate::observe::AnswerRead>()
            .cloned();
        let _ = res.into_body().collect().await.unwrap();
        assert_eq!(
            crate::answer::PARSES.with(std::cell::Cell::get),
            1,
            "parsed once: {answer}"
        );
        let read = read.expect("the headers layer handed on what it read");
        assert_eq!(
            read.error.is_some() || read.tool_error,
            is_error,
            "{answer}"
        );
    }
}

/// The same for the `initialize` answer the session layer reads for its
/// commit rule.
#[tokio::test(flavor = "current_thread")]
async fn an_initialize_answer_the_session_layer_read_is_not_parsed_again() {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use tower::{ServiceBuilder, ServiceExt};

    let _spans = tracing::subscriber::set_default(tracing_subscriber::registry());
    let store = crate::session::MokaSessionStore::builder()
        .no_maintenance_task()
        .build()
        .unwrap();
    let svc = ServiceBuilder::new()
        .layer(crate::telemetry::McpTelemetryLayer::new())
        .layer(crate::session::McpSessionLayer::new(store.clone()))
        .service_fn(|_req: http::Request<Full<Bytes>>| async {
            let answer = r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"t","version":"1"}}}"#;
            let mut res = http::Response::new(axum::body::Body::from(answer));
            res.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            Ok::<_, std::convert::Infallible>(res)
        });
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#;
    let req = http::Request::post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    crate::answer::PARSES.with(|n| n.set(0));
    let res = svc.oneshot(req).await.unwrap();
    assert!(res.headers().contains_key("mcp-session-id"), "committed");
    assert!(res
        .extensions()
        .get::<crate::observe::AnswerRead>()
        .is_some());
    let _ = res.into_body().collect().await.unwrap();
    assert_eq!(
        crate::answer::PARSES.with(std::cell::Cell::get),
        1,
        "parsed once"
    );
    assert_eq!(store.stats().active, 1);
}
