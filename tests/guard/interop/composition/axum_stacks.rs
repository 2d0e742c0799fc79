//! axum: `Router::layer`, `route_layer` and a method router.

use super::*;

async fn mcp_handler(req: axum::extract::Request) -> axum::response::Response {
    let body = describe(req.extensions());
    axum::response::IntoResponse::into_response(axum::Json(body))
}

// ---------------------------------------------------------------------------
// axum
// ---------------------------------------------------------------------------

#[tokio::test]
async fn axum_router_layer_guards_every_path() {
    bounded(async {
        let app = Router::new()
            .route("/mcp", post(mcp_handler).get(mcp_handler))
            .layer(
                ServiceBuilder::new()
                    .layer(HostCheckLayer::localhost())
                    .layer(OriginGuardLayer::localhost())
                    .layer(McpHeadersLayer::new())
                    .layer(McpSessionLayer::new(store())),
            );

        // Refused before routing: even an unknown path.
        let req: Request<Body> = mcp_request("/elsewhere", "evil.example", &ping(), None);
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            res.extensions().get::<Rejection>().map(Rejection::kind),
            Some(RejectionKind::HostNotAllowed)
        );

        let req: Request<Body> = mcp_request("/mcp", "localhost:3000", &initialize(), None);
        let (status, headers, body) = body_json(app.clone().oneshot(req).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["result"]["era"], "Legacy");
        let sid = session_id(&headers);

        let req: Request<Body> = mcp_request("/mcp", "localhost:3000", &ping(), Some(&sid));
        let (status, _, body) = body_json(app.clone().oneshot(req).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body["result"]["session"].is_string(), "{body}");
    })
    .await;
}

#[tokio::test]
async fn axum_route_layer_keeps_other_routes_plain() {
    bounded(async {
        let sessions = McpSessionLayer::new(store());
        let mcp = Router::new()
            .route("/mcp", post(mcp_handler).get(mcp_handler))
            .route_layer(
                ServiceBuilder::new()
                    .layer(McpHeadersLayer::new())
                    .layer(sessions),
            );
        let app = Router::new()
            .route("/health", get(|| async { "ok" }))
            .merge(mcp)
            .layer(
                ServiceBuilder::new()
                    .layer(HostCheckLayer::localhost())
                    .layer(OriginGuardLayer::localhost()),
            );

        let get = |path: &str, host: &str| {
            Request::get(path)
                .header("host", host)
                .body(Body::empty())
                .unwrap()
        };
        // Plain routes need no MCP headers, but still a good Host.
        let res = app
            .clone()
            .oneshot(get("/health", "127.0.0.1:1"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let res = app
            .clone()
            .oneshot(get("/health", "evil.example"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        // Unmatched paths are not MCP requests: 404, not a session error.
        let res = app
            .clone()
            .oneshot(get("/nope", "localhost"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);

        // The MCP route is fully guarded.
        let req = Request::get("/mcp")
            .header("host", "localhost")
            .header("accept", "text/event-stream")
            .body(Body::empty())
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::BAD_REQUEST,
            "GET without a session"
        );
        let req: Request<Body> = mcp_request("/mcp", "localhost", &initialize(), None);
        let (status, headers, _) = body_json(app.clone().oneshot(req).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers.contains_key("mcp-session-id"));
    })
    .await;
}

#[tokio::test]
async fn axum_method_router_layer() {
    bounded(async {
        let layers = ServiceBuilder::new()
            .layer(HostCheckLayer::localhost())
            .layer(McpHeadersLayer::new())
            .layer(McpSessionLayer::new(store()));
        let app = Router::new().route("/mcp", post(mcp_handler).layer(layers));
        let req: Request<Body> = mcp_request("/mcp", "localhost", &initialize(), None);
        let (status, headers, _) = body_json(app.clone().oneshot(req).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers.contains_key("mcp-session-id"));
        let req: Request<Body> = mcp_request("/mcp", "localhost", &ping(), Some("unknown"));
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    })
    .await;
}
