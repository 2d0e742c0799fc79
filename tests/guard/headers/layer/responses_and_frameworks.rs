//! Response headers (SSE, nosniff), an envelope already parsed, and the
//! layer in axum, around rmcp-shaped services, as a tower service.

use super::*;

// -------------------------------------------------------------- response headers

#[tokio::test]
async fn sse_responses_get_x_accel_buffering_and_no_cache() {
    // "servers SHOULD include the X-Accel-Buffering: no header in the HTTP response"
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new().server_header(HeaderValue::from_static("mcp-guard")))
        .service_fn(|req: Request<Full<Bytes>>| async move {
            let mut res = Response::new(Full::<Bytes>::default());
            res.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("text/event-stream"),
            );
            if req.uri().path() == "/custom" {
                res.headers_mut()
                    .insert("cache-control", HeaderValue::from_static("no-store"));
                res.headers_mut()
                    .insert("x-accel-buffering", HeaderValue::from_static("yes"));
                res.headers_mut()
                    .insert("server", HeaderValue::from_static("inner"));
                res.headers_mut().insert(
                    "mcp-protocol-version",
                    HeaderValue::from_static("2025-06-18"),
                );
            }
            Ok::<_, Infallible>(res)
        });
    let req = |path: &str| {
        Request::get(path)
            .header("accept", "text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(Full::default())
            .unwrap()
    };
    let res = svc.clone().oneshot(req("/mcp")).await.unwrap();
    let h = res.headers();
    assert_eq!(h["x-accel-buffering"], "no");
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["server"], "mcp-guard");
    assert_eq!(h["mcp-protocol-version"], "2025-11-25");
    // Never overwrite what the inner service set.
    let res = svc.oneshot(req("/custom")).await.unwrap();
    let h = res.headers();
    assert_eq!(h["x-accel-buffering"], "yes");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["server"], "inner");
    assert_eq!(h["mcp-protocol-version"], "2025-06-18");
}

#[tokio::test]
async fn json_responses_get_no_sse_headers_and_rejections_carry_server_and_nosniff() {
    let layer = McpHeadersLayer::new().server_header(HeaderValue::from_static("mcp-guard"));
    let out = send_with(layer.clone(), legacy_post(Some("2025-11-25"), PING)).await;
    out.passed();
    assert!(out.headers.get("x-accel-buffering").is_none());
    assert!(out.headers.get("cache-control").is_none());
    assert_eq!(out.headers["server"], "mcp-guard");
    let out = send_with(layer, legacy_post(Some("bogus"), PING)).await;
    out.rejected(StatusCode::BAD_REQUEST, -32000);
    assert_eq!(out.headers["server"], "mcp-guard");
    assert!(out.headers.get("mcp-protocol-version").is_none());
}

// The envelope is parsed at most once per request: tests/guard/headers/envelope_parsed_once.rs
// (its own binary, so its global tracing subscriber sees every event).

#[tokio::test]
async fn envelope_already_in_extensions_is_used_and_body_left_alone() {
    // "whichever layer needs it first parses it": a stored Envelope wins, the body is not read.
    let mut req = post()
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", "tools/list")
        .body(axum::body::Body::new(Untouchable))
        .unwrap();
    let envelope =
        Envelope::parse(modern_body("tools/list", json!({}), Some(MODERN)).as_bytes()).unwrap();
    req.extensions_mut().insert(envelope);
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new())
        .service_fn(|req: Request<axum::body::Body>| async move {
            let p = req.extensions().get::<RequestProtocol>().copied();
            let mut res = Response::new(axum::body::Body::empty());
            if let Some(p) = p {
                res.extensions_mut().insert(p);
            }
            Ok::<_, Infallible>(res)
        });
    let out = outcome(svc.oneshot(req).await.unwrap()).await;
    assert_eq!(out.passed(), modern_protocol());
}

// ------------------------------------------------------------ framework fit

#[tokio::test]
async fn works_in_axum_router_layer() {
    use axum::extract::Extension;
    use axum::routing::post as axum_post;

    async fn handler(Extension(p): Extension<RequestProtocol>, body: Bytes) -> String {
        format!(
            "{} {:?} {} {}",
            p.version(),
            p.era(),
            p.assumed(),
            body.len()
        )
    }
    let app = axum::Router::new()
        .route("/mcp", axum_post(handler).get(handler).delete(handler))
        .layer(McpHeadersLayer::new());

    let body = tool_call("echo");
    let req = post()
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", "tools/call")
        .header("mcp-name", "echo")
        .body(axum::body::Body::from(body.clone()))
        .unwrap();
    let out = outcome(app.clone().oneshot(req).await.unwrap()).await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.body, format!("2026-07-28 Modern false {}", body.len()));
    assert_eq!(out.headers["mcp-protocol-version"], MODERN);

    let req = post()
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", "tools/call")
        .header("mcp-name", "rm_rf")
        .body(axum::body::Body::from(body))
        .unwrap();
    let mut out = outcome(app.clone().oneshot(req).await.unwrap()).await;
    out.request_id = json!(7);
    out.rejected(StatusCode::BAD_REQUEST, -32020);

    // The layer wraps the whole method router, so it answers PUT itself.
    let req = Request::put("/mcp")
        .body(axum::body::Body::empty())
        .unwrap();
    let out = outcome(app.oneshot(req).await.unwrap()).await;
    assert_eq!(out.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(out.headers["allow"], "GET, POST, DELETE");
}

#[tokio::test]
async fn works_around_an_rmcp_shaped_service() {
    // rmcp's StreamableHttpService answers Response<BoxBody<Bytes, Infallible>>.
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new())
        .service_fn(|req: Request<axum::body::Body>| async move {
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let res: Response<BoxBody<Bytes, Infallible>> = Response::new(Full::new(body).boxed());
            Ok::<_, Infallible>(res)
        });
    let ok = post()
        .header("mcp-protocol-version", "2025-11-25")
        .body(axum::body::Body::from(PING))
        .unwrap();
    let out = outcome(svc.clone().oneshot(ok).await.unwrap()).await;
    assert_eq!(
        (out.status, out.body.as_ref()),
        (StatusCode::OK, PING.as_bytes())
    );
    let bad = post()
        .header("mcp-protocol-version", "1.0")
        .body(axum::body::Body::from(PING))
        .unwrap();
    let out = outcome(svc.oneshot(bad).await.unwrap()).await;
    assert_eq!(out.status, StatusCode::BAD_REQUEST);
    assert_eq!(out.json()["error"]["code"], -32000);
}

#[tokio::test]
async fn custom_rejection_builder_and_service_accessors() {
    let layer = McpHeadersLayer::new().with_rejection(StatusOnly::default());
    let mut svc: McpHeaders<_, StatusOnly> = tower::Layer::layer(&layer, tower::service_fn(echo));
    let _: &_ = svc.get_ref();
    let _: &mut _ = svc.get_mut();
    let res = svc
        .ready()
        .await
        .unwrap()
        .call(legacy_post(Some("nope"), PING))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get("content-type").is_none());
    assert_eq!(res.extensions().get::<Rejection>().unwrap().code(), -32000);
}

#[test]
fn layer_and_service_are_send_sync_clone_static() {
    fn assert_all<T: Send + Sync + Clone + 'static>(_: &T) {}
    let layer = McpHeadersLayer::new();
    assert_all(&layer);
    let svc = tower::Layer::layer(&layer, tower::service_fn(echo));
    assert_all(&svc);
    fn future_is_send<S: Service<Request<Full<Bytes>>>>(_: &S)
    where
        S::Future: Send + 'static,
    {
    }
    future_is_send(&svc);
}

#[tokio::test]
async fn poll_ready_is_forwarded_and_inner_clone_is_ready() {
    // With a ConcurrencyLimit inside, the service taken into the POST future is the
    // one poll_ready prepared; a second request after the first completes still works.
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new())
        .concurrency_limit(1)
        .service_fn(echo);
    let mut svc = svc;
    for _ in 0..3 {
        let res = svc
            .ready()
            .await
            .unwrap()
            .call(legacy_post(None, PING))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
}
