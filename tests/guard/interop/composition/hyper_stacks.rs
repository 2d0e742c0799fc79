//! hyper over real TCP: `service_fn` with axum and boxed bodies, and
//! `McpGuard` around a bare hyper service.

use super::*;

// ---------------------------------------------------------------------------
// hyper
// ---------------------------------------------------------------------------

/// Serves `service` (a `Service<Request<Incoming>>`) on 127.0.0.1:0 with
/// hyper-util's auto builder (HTTP/1.1 and h2c); returns the address.
async fn serve_hyper<S, B>(service: S) -> SocketAddr
where
    S: Service<Request<hyper::body::Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let _ = tcp.set_nodelay(true);
            let svc = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    addr
}

fn http1() -> Http {
    Client::builder(TokioExecutor::new()).build_http()
}

#[tokio::test]
async fn hyper_service_fn_with_axum_body() {
    bounded(async {
        let service = ServiceBuilder::new()
            .layer(HostCheckLayer::localhost())
            .layer(OriginGuardLayer::localhost())
            // The headers and session layers re-create the body they read, so
            // they need a replayable body type: map hyper's `Incoming` first.
            .map_request(|req: Request<hyper::body::Incoming>| req.map(Body::new))
            .layer(McpHeadersLayer::new())
            .layer(McpSessionLayer::new(store()))
            .service_fn(|req: Request<Body>| async move {
                let body = describe(req.extensions());
                let mut res = Response::new(Full::new(Bytes::from(body.to_string())));
                res.headers_mut()
                    .insert("content-type", "application/json".parse().unwrap());
                Ok::<_, Infallible>(res)
            });
        let addr = serve_hyper(service).await;
        let url = format!("http://{addr}/mcp");

        for client in [http1(), http2()] {
            let req = mcp_request(
                &url,
                &format!("127.0.0.1:{}", addr.port()),
                &initialize(),
                None,
            );
            let (status, headers, body) = body_json(client.request(req).await.unwrap()).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body["result"]["era"], "Legacy");
            let sid = session_id(&headers);
            let req = mcp_request(&url, "localhost", &ping(), Some(&sid));
            let (status, _, body) = body_json(client.request(req).await.unwrap()).await;
            assert_eq!(status, StatusCode::OK);
            assert!(body["result"]["session"].is_string());

            let req = mcp_request(&url, "evil.example", &ping(), Some(&sid));
            let (status, _, body) = body_json(client.request(req).await.unwrap()).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
            assert_eq!(
                body["error"]["code"], -32000,
                "JSON-RPC body into Full<Bytes>"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn hyper_service_fn_with_box_bodies() {
    bounded(async {
        // rmcp's shapes: a boxed request body and `BoxBody<Bytes, Infallible>` responses.
        type ResBody = BoxBody<Bytes, Infallible>;
        let service = ServiceBuilder::new()
            .map_request(|req: Request<hyper::body::Incoming>| req.map(BodyExt::boxed))
            .layer(HostCheckLayer::localhost())
            .layer(OriginGuardLayer::localhost())
            .layer(McpHeadersLayer::new())
            .layer(McpSessionLayer::new(store()))
            .service_fn(|req: Request<BoxBody<Bytes, hyper::Error>>| async move {
                let body = describe(req.extensions());
                let mut res: Response<ResBody> =
                    Response::new(Full::new(Bytes::from(body.to_string())).boxed());
                res.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                Ok::<_, Infallible>(res)
            });
        let addr = serve_hyper(service).await;
        let url = format!("http://{addr}/mcp");
        let client = http1();

        let req = mcp_request(&url, "localhost", &initialize(), None);
        let (status, headers, _) = body_json(client.request(req).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        let sid = session_id(&headers);

        let req = mcp_request(&url, "localhost", &ping(), Some("never-issued"));
        let (status, _, body) = body_json(client.request(req).await.unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], -32001, "JSON-RPC body into BoxBody");

        let req = Request::delete(&url)
            .header("host", "localhost")
            .header("mcp-session-id", &sid)
            .body(Full::default())
            .unwrap();
        let res = client.request(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);

        let req = mcp_request(&url, "localhost", &ping(), Some(&sid));
        let res = client.request(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    })
    .await;
}

/// Issue 17: the preset around a bare hyper service (hyper's `Incoming`
/// mapped to a boxed body first, as for the hand-composed stack), over TCP.
#[tokio::test]
async fn mcp_guard_around_a_bare_hyper_service() {
    bounded(async {
        type ResBody = BoxBody<Bytes, Infallible>;
        let inner = tower::service_fn(|req: Request<BoxBody<Bytes, hyper::Error>>| async move {
            let body = describe(req.extensions());
            let mut res: Response<ResBody> =
                Response::new(Full::new(Bytes::from(body.to_string())).boxed());
            res.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            Ok::<_, Infallible>(res)
        });
        let guard = mcp_tower_guard::McpGuard::local("127.0.0.1:0".parse().unwrap()).unwrap();
        let service = ServiceBuilder::new()
            .map_request(|req: Request<hyper::body::Incoming>| req.map(BodyExt::boxed))
            .service(guard.into_service(inner));
        let addr = serve_hyper(service).await;
        let url = format!("http://{addr}/mcp");
        let client = http1();

        let req = mcp_request(&url, "localhost", &initialize(), None);
        let (status, headers, _) = body_json(client.request(req).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        let sid = session_id(&headers);
        let req = mcp_request(&url, "localhost", &ping(), Some(&sid));
        let (status, _, body) = body_json(client.request(req).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["result"]["era"], "Legacy", "{body}");
        assert!(body["result"]["session"].is_string(), "{body}");
        let req = mcp_request(&url, "evil.example", &initialize(), None);
        let (status, _, _) = body_json(client.request(req).await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    })
    .await;
}
