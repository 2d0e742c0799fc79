//! The four layers compose with the usual ways of building a server:
//! `axum::Router::layer` and `route_layer`, a plain hyper service built with
//! `service_fn` (axum `Body` and `BoxBody` request bodies), and tonic's
//! `Server::builder().layer(..)`. The hyper and tonic servers run over real TCP
//! on 127.0.0.1.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use mcp_tower_guard::protocol::{Era, RequestProtocol};
use mcp_tower_guard::session::{MokaSessionStore, SessionContext};
use mcp_tower_guard::{
    HostCheckLayer, McpHeadersLayer, McpSessionLayer, OriginGuardLayer, Rejection, RejectionKind,
};
use serde_json::{json, Value};
use tower::{Service, ServiceBuilder, ServiceExt};

const LEGACY: &str = "2025-11-25";

async fn bounded<F: Future<Output = ()>>(body: F) {
    tokio::time::timeout(Duration::from_secs(30), body)
        .await
        .expect("test timed out");
}

fn store() -> MokaSessionStore {
    MokaSessionStore::builder()
        .max_sessions(100)
        .build()
        .expect("valid store")
}

/// What an MCP handler behind the layers reports: the era and whether it got a session.
fn describe(extensions: &http::Extensions) -> Value {
    let era = extensions
        .get::<RequestProtocol>()
        .map(|p| format!("{:?}", p.era()));
    let session = extensions
        .get::<SessionContext>()
        .map(|s| s.id().tag().to_string());
    json!({"jsonrpc": "2.0", "id": 1, "result": {"era": era, "session": session}})
}

async fn mcp_handler(req: axum::extract::Request) -> axum::response::Response {
    let body = describe(req.extensions());
    axum::response::IntoResponse::into_response(axum::Json(body))
}

fn initialize() -> Value {
    json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
}

fn ping() -> Value {
    json!({"jsonrpc":"2.0","id":2,"method":"ping"})
}

fn mcp_request<B: From<Bytes>>(
    uri: &str,
    host: &str,
    body: &Value,
    session: Option<&str>,
) -> Request<B> {
    let mut req = Request::post(uri)
        .header("host", host)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    if let Some(sid) = session {
        req = req
            .header("mcp-session-id", sid)
            .header("mcp-protocol-version", LEGACY);
    }
    req.body(B::from(Bytes::from(body.to_string())))
        .expect("valid request")
}

async fn body_json<B>(res: Response<B>) -> (StatusCode, HeaderMap, Value)
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("JSON body")
    };
    (parts.status, parts.headers, value)
}

fn session_id(headers: &HeaderMap) -> String {
    headers["mcp-session-id"]
        .to_str()
        .expect("ascii id")
        .to_owned()
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

type Http = Client<HttpConnector, Full<Bytes>>;

fn http1() -> Http {
    Client::builder(TokioExecutor::new()).build_http()
}

fn http2() -> Http {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
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

/// Issue 17: layers stacked the wrong way round (here axum's
/// `Router::layer` read as "outermost first", which puts the session layer
/// outside the Host check) are named once per layer on the first request, at
/// warn, with the right order; a well-ordered stack says nothing.
#[tokio::test(flavor = "current_thread")]
async fn misordered_layers_are_named_once_with_the_right_order() {
    use mcp_tower_guard::{HostCheckLayer, McpHeadersLayer, McpSessionLayer, OriginGuardLayer};

    let initialize = || {
        http::Request::post("/mcp")
            .header("host", "localhost")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(
                r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
            ))
            .unwrap()
    };
    let handler = || async {
        (
            [("content-type", "application/json")],
            r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18"}}"#,
        )
    };

    let (logs, _guard) = crate::support::guards::capture_logs();
    let store = mcp_tower_guard::MokaSessionStore::new();
    let wrong = axum::Router::new()
        .route("/mcp", axum::routing::post(handler))
        .layer(HostCheckLayer::localhost())
        .layer(OriginGuardLayer::localhost())
        .layer(McpHeadersLayer::new())
        .layer(McpSessionLayer::new(store));
    for _ in 0..3 {
        let res = wrong.clone().oneshot(initialize()).await.unwrap();
        assert_eq!(res.status(), http::StatusCode::OK);
    }
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    for layer in ["HostCheckLayer", "OriginGuardLayer", "McpHeadersLayer"] {
        assert_eq!(
            text.matches(&format!("ran before {layer}")).count(),
            1,
            "{layer}: {text}"
        );
    }
    assert!(text.contains("WARN"), "{text}");
    assert!(text.contains("outermost first"), "{text}");

    let (logs, _guard) = crate::support::guards::capture_logs();
    let right = axum::Router::new()
        .route("/mcp", axum::routing::post(handler))
        .layer(
            tower::ServiceBuilder::new()
                .layer(HostCheckLayer::localhost())
                .layer(OriginGuardLayer::localhost())
                .layer(McpHeadersLayer::new())
                .layer(McpSessionLayer::new(
                    mcp_tower_guard::MokaSessionStore::new(),
                )),
        );
    let res = right.oneshot(initialize()).await.unwrap();
    assert_eq!(res.status(), http::StatusCode::OK);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(!text.contains("ran before"), "{text}");
}

/// Issue 17: a session layer behind a headers layer that serves only
/// 2026-07-28 (which has no sessions) is named on its first request, once, at
/// warn (`McpGuard` names it when built: `interop::preset`); behind a headers
/// layer that also serves legacy revisions it says nothing.
#[tokio::test(flavor = "current_thread")]
async fn session_layer_behind_a_modern_only_headers_layer_is_named_once() {
    let modern = || {
        http::Request::post("/mcp")
            .header("host", "localhost")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/list")
            .body(axum::body::Body::from(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
            ))
            .unwrap()
    };
    let handler = || async {
        (
            [("content-type", "application/json")],
            r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
        )
    };
    let stack = |headers: McpHeadersLayer| {
        axum::Router::new().route(
            "/mcp",
            axum::routing::post(handler).layer(
                tower::ServiceBuilder::new()
                    .layer(headers)
                    .layer(McpSessionLayer::new(store())),
            ),
        )
    };

    let (logs, _guard) = crate::support::guards::capture_logs();
    let modern_only = stack(
        McpHeadersLayer::new()
            .supported_versions(["2026-07-28"])
            .unwrap(),
    );
    for _ in 0..3 {
        let res = modern_only.clone().oneshot(modern()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers().get("mcp-session-id").is_none());
    }
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.matches("serves only 2026-07-28").count(), 1, "{text}");
    assert!(text.contains("WARN"), "{text}");
    assert!(text.contains("supported_versions"), "{text}");

    let (logs, _guard) = crate::support::guards::capture_logs();
    let both_eras = stack(McpHeadersLayer::new());
    let res = both_eras.oneshot(modern()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(!text.contains("serves only 2026-07-28"), "{text}");
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
