//! The POST body: JSON-RPC shape (-32700, -32600) and the size and time
//! limits of its read (413, 408).

use super::*;

// ------------------------------------------------------------ JSON-RPC body shape

#[tokio::test]
async fn jsonrpc_2_0_invalid_json_is_400_32700() {
    for body in [
        "{",
        "not json",
        "",
        r#"{"jsonrpc":"2.0","id":1,"method":"ping""#,
    ] {
        let out = send(legacy_post(None, body)).await;
        out.rejected(StatusCode::BAD_REQUEST, -32700);
    }
    let out = send(modern_post(
        Some(MODERN),
        Some("tools/call"),
        Some(b"x"),
        "{".into(),
    ))
    .await;
    out.rejected(StatusCode::BAD_REQUEST, -32700);
}

#[tokio::test]
async fn jsonrpc_2_0_not_a_message_is_400_32600() {
    for body in [
        "[]",
        "42",
        r#"{"id":1,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":1}"#,
    ] {
        send(legacy_post(None, body))
            .await
            .rejected(StatusCode::BAD_REQUEST, -32600);
    }
}

// ------------------------------------------------------------ POST body limits

/// A body that never delivers a byte.
struct Stalled;

impl http_body::Body for Stalled {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        Poll::Pending
    }
}

async fn axum_echo(
    req: Request<axum::body::Body>,
) -> Result<Response<axum::body::Body>, Infallible> {
    let protocol = req.extensions().get::<RequestProtocol>().copied();
    let body = if req.method() == Method::POST {
        req.into_body().collect().await.unwrap().to_bytes()
    } else {
        Bytes::new()
    };
    let mut res = Response::new(axum::body::Body::from(body));
    if let Some(p) = protocol {
        res.extensions_mut().insert(p);
    }
    Ok(res)
}

async fn send_axum_body(layer: McpHeadersLayer, req: Request<axum::body::Body>) -> Outcome {
    let svc = ServiceBuilder::new().layer(layer).service_fn(axum_echo);
    outcome(svc.oneshot(req).await.unwrap()).await
}

#[tokio::test]
async fn content_length_over_limit_is_413_before_reading() {
    let req = post()
        .header("content-length", (4 * 1024 * 1024 + 1).to_string())
        .body(axum::body::Body::new(Untouchable))
        .unwrap();
    send_axum_body(McpHeadersLayer::new(), req)
        .await
        .rejected(StatusCode::PAYLOAD_TOO_LARGE, -32000);
}

#[tokio::test]
async fn body_over_limit_is_413() {
    let layer = McpHeadersLayer::new().max_body_bytes(64).unwrap();
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(100)
    );
    // No Content-Length: the limit is enforced while reading.
    let out = send_with(layer.clone(), legacy_post(None, &big)).await;
    out.rejected(StatusCode::PAYLOAD_TOO_LARGE, -32000);
    // Just under the limit passes.
    send_with(layer, legacy_post(None, PING)).await.passed();
}

#[tokio::test(start_paused = true)]
async fn slow_body_is_408() {
    let layer = McpHeadersLayer::new()
        .body_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let req = post().body(axum::body::Body::new(Stalled)).unwrap();
    let out = send_axum_body(layer, req).await;
    out.rejected(StatusCode::REQUEST_TIMEOUT, -32000);
    assert_eq!(out.rejection.unwrap().kind(), RejectionKind::BodyTimeout);
}

#[tokio::test]
async fn get_and_delete_never_touch_the_body() {
    for method in [Method::GET, Method::DELETE] {
        let req = Request::builder()
            .method(method)
            .uri("/mcp")
            .header("accept", "text/event-stream")
            .header("content-length", "999999999")
            .body(axum::body::Body::new(Untouchable))
            .unwrap();
        send_axum_body(McpHeadersLayer::new(), req).await.passed();
    }
}

#[test]
fn body_limit_builders_validate() {
    assert!(McpHeadersLayer::new().max_body_bytes(0).is_err());
    assert!(McpHeadersLayer::new()
        .body_read_timeout(Some(std::time::Duration::ZERO))
        .is_err());
    let layer = McpHeadersLayer::new()
        .max_body_bytes(10)
        .unwrap()
        .body_read_timeout(None)
        .unwrap();
    assert_eq!(
        (layer.limits().max_bytes(), layer.limits().read_timeout()),
        (10, None)
    );
    assert_eq!(McpHeadersLayer::new().limits().max_bytes(), 4 * 1024 * 1024);
}
