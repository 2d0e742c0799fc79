//! tonic's `Server::builder().layer(..)` over real TCP, with Host and Origin
//! and with all four layers.

use super::*;

// ---------------------------------------------------------------------------
// tonic
// ---------------------------------------------------------------------------

/// A gRPC service written by hand (no codegen): answers every call with an
/// empty message and `grpc-status: 0`, and reports what it saw in a header.
#[derive(Clone)]
struct GrpcProbe;

impl tonic::server::NamedService for GrpcProbe {
    const NAME: &'static str = "demo.Probe";
}

impl Service<Request<tonic::body::Body>> for GrpcProbe {
    type Response = Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<tonic::body::Body>) -> Self::Future {
        let era = req
            .extensions()
            .get::<RequestProtocol>()
            .map_or("none", |p| {
                if p.era() == Era::Legacy {
                    "legacy"
                } else {
                    "modern"
                }
            });
        // An MCP request gets a JSON answer; tonic's body type cannot be read
        // by the session layer, so it commits on the 2xx status (and warns once).
        let mcp = req
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let res = Response::builder()
            .header(
                "content-type",
                if mcp {
                    "application/json"
                } else {
                    "application/grpc"
                },
            )
            .header("grpc-status", "0")
            .header("x-probe-era", era)
            .body(tonic::body::Body::empty())
            .expect("valid response");
        Box::pin(async move { Ok(res) })
    }
}

async fn serve_tonic<L>(builder: tonic::transport::Server<L>, probe: GrpcProbe) -> SocketAddr
where
    L: tower::Layer<tonic::service::Routes> + Clone + Send + 'static,
    L::Service: Service<Request<tonic::body::Body>, Response = Response<tonic::body::Body>>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as Service<Request<tonic::body::Body>>>::Future: Send + 'static,
    <L::Service as Service<Request<tonic::body::Body>>>::Error:
        Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    let incoming =
        tonic::transport::server::TcpIncoming::bind("127.0.0.1:0".parse().unwrap()).expect("bind");
    let addr = incoming.local_addr().expect("addr");
    let mut builder = builder;
    let router = builder.add_service(probe);
    tokio::spawn(async move {
        let _ = router.serve_with_incoming(incoming).await;
    });
    addr
}

fn grpc_request(addr: SocketAddr, host: &str) -> Request<Full<Bytes>> {
    Request::post(format!("http://{addr}/demo.Probe/Call"))
        .header("host", host)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        // An empty gRPC message: no compression flag, zero length.
        .body(Full::new(Bytes::from_static(&[0, 0, 0, 0, 0])))
        .unwrap()
}

#[tokio::test]
async fn tonic_server_builder_with_host_and_origin_layers() {
    bounded(async {
        let builder = tonic::transport::Server::builder().layer(
            ServiceBuilder::new()
                .layer(HostCheckLayer::localhost())
                .layer(OriginGuardLayer::localhost()),
        );
        let addr = serve_tonic(builder, GrpcProbe).await;
        let client = http2();

        let res = client
            .request(grpc_request(addr, &format!("localhost:{}", addr.port())))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["grpc-status"], "0");

        let res = client
            .request(grpc_request(addr, "evil.example"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);

        let mut req = grpc_request(addr, "localhost");
        req.headers_mut()
            .insert("origin", "https://evil.example".parse().unwrap());
        assert_eq!(
            client.request(req).await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
    })
    .await;
}

#[tokio::test]
async fn tonic_server_builder_with_all_four_layers() {
    bounded(async {
        // tonic's body is not replayable: convert to axum's Body around the
        // headers and session layers, and back for tonic's router.
        let builder = tonic::transport::Server::builder().layer(
            ServiceBuilder::new()
                .layer(HostCheckLayer::localhost())
                .layer(OriginGuardLayer::localhost())
                .map_request(|req: Request<tonic::body::Body>| req.map(Body::new))
                .layer(McpHeadersLayer::new())
                .layer(McpSessionLayer::new(store()))
                .map_request(|req: Request<Body>| req.map(tonic::body::Body::new)),
        );
        let addr = serve_tonic(builder, GrpcProbe).await;
        let client = http2();
        let url = format!("http://{addr}/demo.Probe/Call");

        // An MCP initialize reaches the probe through all four layers and gets a session.
        let req = mcp_request(&url, "localhost", &initialize(), None);
        let res = client.request(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["x-probe-era"], "legacy");
        assert!(res.headers().contains_key("mcp-session-id"));

        // A gRPC call is not an MCP request: the headers layer refuses it (no
        // MCP `Accept`: 406), which is why a real deployment puts only Host and
        // Origin in front of gRPC services.
        let res = client
            .request(grpc_request(addr, "localhost"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_ACCEPTABLE);
    })
    .await;
}
