//! `examples/rmcp_server.rs`: rmcp's `StreamableHttpService` (stateless) behind
//! the four layers, with the session layer owning sessions, driven by rmcp's
//! client and by raw HTTP over real TCP on 127.0.0.1.

use crate::rmcp_example as example;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mcp_tower_guard::session::{MokaSessionStore, SessionId};
use rmcp::model::{CallToolRequestParams, CallToolResult, ProtocolVersion};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};
use tokio::sync::oneshot;

const TEST_TIMEOUT: Duration = Duration::from_secs(30);
const LEGACY: &str = "2025-11-25";

struct Server {
    url: String,
    store: MokaSessionStore,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(idle_timeout: Duration) -> Self {
        let bind = SocketAddr::from(([127, 0, 0, 1], 0));
        let (router, store, rmcp_config) =
            example::rmcp_app(bind, idle_timeout).expect("loopback config");
        let listener = tokio::net::TcpListener::bind(bind).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown_store = store.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                    shutdown_store.shutdown();
                    rmcp_config.cancellation_token.cancel();
                })
                .await
                .expect("serve");
        });
        Self {
            url: format!("http://{addr}/mcp"),
            store,
            stop: Some(stop),
            task,
        }
    }

    async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(15), &mut self.task)
            .await
            .expect("drained in time")
            .expect("server task");
    }
}

async fn bounded<F: Future<Output = ()>>(body: F) {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("test timed out");
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn client(url: &str) -> RunningService<RoleClient, ()> {
    ().serve(StreamableHttpClientTransport::from_uri(url.to_owned()))
        .await
        .expect("rmcp client initializes")
}

/// An rmcp client speaking 2026-07-28 (`server/discover`, no `initialize`).
async fn modern_client(url: &str) -> RunningService<RoleClient, ()> {
    ().serve_with_lifecycle(
        StreamableHttpClientTransport::from_uri(url.to_owned()),
        ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        },
    )
    .await
    .expect("discover")
}

fn call(name: &'static str, args: Value) -> CallToolRequestParams {
    let params = CallToolRequestParams::new(name);
    match args {
        Value::Object(map) => params.with_arguments(map),
        _ => params,
    }
}

fn text_of(result: &CallToolResult) -> String {
    let v = serde_json::to_value(result).expect("serializable");
    v["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

type Http = Client<HttpConnector, Full<Bytes>>;

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

async fn send(http: &Http, req: Request<Full<Bytes>>) -> Reply {
    let res = http.request(req).await.expect("sent");
    let (parts, body) = res.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.expect("body").to_bytes(),
    }
}

fn post(url: &str, body: Value, extra: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut req = Request::post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

#[tokio::test]
async fn rmcp_client_against_rmcp_server_with_our_sessions() {
    bounded(async {
        let server = Server::start(Duration::from_secs(600)).await;
        let client = client(&server.url).await;
        let info = serde_json::to_value(&*client.peer_info().unwrap()).unwrap();
        assert_eq!(info["serverInfo"]["name"], "mcp-tower-guard-rmcp-demo");
        assert_eq!(info["protocolVersion"], LEGACY);
        // The session is ours: minted by McpSessionLayer, stored in our store.
        assert_eq!(server.store.stats().created, 1);

        let mut names: Vec<String> = client
            .list_all_tools()
            .await
            .expect("tools/list")
            .iter()
            .map(|t| t.name.to_string())
            .collect();
        names.sort();
        assert_eq!(names, ["add", "echo", "route", "session_info"]);

        let r = client
            .call_tool(call("echo", json!({"text": "through the layers"})))
            .await
            .expect("echo");
        assert_eq!(text_of(&r), "through the layers");
        let r = client
            .call_tool(call("add", json!({"a": 0.5, "b": 2})))
            .await
            .expect("add");
        assert_eq!(text_of(&r), "2.5");

        // rmcp's tool reads the SessionContext our layer put in the request.
        let r = client
            .call_tool(call("session_info", json!({})))
            .await
            .expect("session_info");
        let session: Value = serde_json::from_str(&text_of(&r)).expect("JSON session info");
        assert_eq!(session["tag"].as_str().map(str::len), Some(8));
        assert_eq!(session["protocolVersion"], LEGACY);

        // rmcp's stateless service answers the GET stream with 405; its client copes.
        // Closing the client sends DELETE, which our layer answers.
        client.cancel().await.expect("client stops");
        eventually("DELETE ended the session", || {
            let s = server.store.stats();
            s.deleted == 1 && s.active == 0
        })
        .await;
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn raw_http_session_lifecycle_is_owned_by_the_layer() {
    bounded(async {
        let server = Server::start(Duration::from_secs(600)).await;
        let http: Http = Client::builder(TokioExecutor::new()).build_http();

        let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion": LEGACY, "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"}}});
        let reply = send(&http, post(&server.url, init.clone(), &[])).await;
        assert_eq!(reply.status, StatusCode::OK);
        let sid = reply.headers["mcp-session-id"].to_str().unwrap().to_owned();
        assert!(SessionId::parse(sid.as_bytes()).is_ok());
        let h = [
            ("mcp-session-id", sid.as_str()),
            ("mcp-protocol-version", LEGACY),
        ];

        let reply = send(
            &http,
            post(
                &server.url,
                json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
                &h,
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);

        let call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call",
            "params":{"name":"add","arguments":{"a":1,"b":2}}});
        let reply = send(&http, post(&server.url, call.clone(), &h)).await;
        assert_eq!(reply.status, StatusCode::OK);
        let v: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(v["result"]["content"][0]["text"], "3");

        // GET with a valid session: rmcp (stateless) has no standalone stream.
        let get = Request::get(&server.url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &sid)
            .header("mcp-protocol-version", LEGACY)
            .body(Full::default())
            .unwrap();
        assert_eq!(
            send(&http, get).await.status,
            StatusCode::METHOD_NOT_ALLOWED
        );

        // An id our store never issued: 404 from the layer (rmcp stateless would serve it).
        let forged = [
            ("mcp-session-id", "made-up-session"),
            ("mcp-protocol-version", LEGACY),
        ];
        let reply = send(&http, post(&server.url, call.clone(), &forged)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);

        // DELETE: 204 from the layer, then 404.
        let delete = Request::delete(&server.url)
            .header("mcp-session-id", &sid)
            .header("mcp-protocol-version", LEGACY)
            .body(Full::default())
            .unwrap();
        assert_eq!(send(&http, delete).await.status, StatusCode::NO_CONTENT);
        let reply = send(&http, post(&server.url, call, &h)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);

        // Host check in front of rmcp.
        let mut evil = post(&server.url, init, &[]);
        evil.headers_mut()
            .insert("host", "evil.example".parse().unwrap());
        assert_eq!(send(&http, evil).await.status, StatusCode::FORBIDDEN);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn expired_session_makes_the_rmcp_client_reinitialize() {
    bounded(async {
        let server = Server::start(Duration::from_millis(300)).await;
        let client = client(&server.url).await;
        let r = client
            .call_tool(call("add", json!({"a": 1, "b": 1})))
            .await
            .expect("add");
        assert_eq!(text_of(&r), "2");
        let created_before = server.store.stats().created;
        tokio::time::sleep(Duration::from_millis(700)).await;
        let r = client
            .call_tool(call("add", json!({"a": 2, "b": 2})))
            .await
            .expect("add after the session expired");
        assert_eq!(text_of(&r), "4");
        let stats = server.store.stats();
        assert_eq!(stats.created, created_before + 1, "one re-initialization");
        assert!(
            stats.rejected.not_found >= 1,
            "the old id got 404: {stats:?}"
        );
        // The store reports the expiry when its maintenance task runs (every
        // second); by then the new session may have idled out too.
        eventually("the old session was reported idle-expired", || {
            server.store.stats().idle_expired >= 1
        })
        .await;
        client.cancel().await.expect("client stops");
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn rmcp_client_2026_07_28_passes_the_layers_statelessly() {
    bounded(async {
        let server = Server::start(Duration::from_secs(600)).await;
        let client = modern_client(&server.url).await;
        let r = client
            .call_tool(call("echo", json!({"text": "stateless"})))
            .await
            .expect("echo");
        assert_eq!(text_of(&r), "stateless");
        let r = client
            .call_tool(call("session_info", json!({})))
            .await
            .expect("session_info");
        assert!(text_of(&r).starts_with("no session"));
        assert_eq!(server.store.stats().created, 0);
        client.cancel().await.expect("client stops");
        server.shutdown().await;
    })
    .await;
}

/// A 2026-07-28 POST of `method` with `params` and every required `_meta` field.
fn modern_post(
    url: &str,
    id: u64,
    method: &str,
    mut params: Value,
    extra: &[(&str, &str)],
) -> Request<Full<Bytes>> {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    let mut headers = vec![
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", method),
    ];
    headers.extend_from_slice(extra);
    post(
        url,
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        &headers,
    )
}

#[test]
fn tool_rules_from_rmcp_tool_definitions() {
    // rmcp's `Tool` serializes to the definition tools/list sends: no second copy.
    let tools = example::DemoTools::tool_router().list_all();
    let rules = mcp_tower_guard::headers::ToolRules::from_tools(&tools).expect("valid annotations");
    let params = rules.params("route").expect("route is listed");
    assert_eq!(params.len(), 1);
    assert_eq!(params[0].header_name(), "mcp-param-region");
    assert_eq!(params[0].path(), ["region"]);
    assert_eq!(rules.params("echo").map(<[_]>::len), Some(0));
}

#[tokio::test]
async fn learn_tools_checks_mcp_param_headers_from_rmcps_own_tools_list() {
    bounded(async {
        let server = Server::start(Duration::from_secs(600)).await;
        // rmcp's client mirrors `region` into Mcp-Param-Region; the call passes both checks.
        let client = modern_client(&server.url).await;
        let tools = client.list_all_tools().await.expect("tools/list");
        assert!(tools.iter().any(|t| t.name == "route"));
        let r = client
            .call_tool(call("route", json!({"region": "eu-west1", "query": "q"})))
            .await
            .expect("route with its header");
        assert_eq!(text_of(&r), "q runs in eu-west1");
        client.cancel().await.expect("client stops");

        // The layer learned the schema from that tools/list answer: a forged header is
        // refused at the edge, with the request's id, before rmcp sees it.
        let http: Http = Client::builder(TokioExecutor::new()).build_http();
        let call_params = json!({"name": "route", "arguments": {"region": "eu-west1", "query": "q"}});
        let reply = send(
            &http,
            modern_post(
                &server.url,
                41,
                "tools/call",
                call_params.clone(),
                &[("mcp-name", "route"), ("mcp-param-region", "us-east1")],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        let v: Value = serde_json::from_slice(&reply.body).expect("json");
        assert_eq!(v["id"], 41, "{v}");
        assert_eq!(v["error"]["code"], -32020, "{v}");
        assert_eq!(
            v["error"]["message"],
            "Header mismatch: Mcp-Param-Region header value 'us-east1' does not match body value 'eu-west1'"
        );
        // The matching header passes to rmcp.
        let reply = send(
            &http,
            modern_post(
                &server.url,
                42,
                "tools/call",
                call_params,
                &[("mcp-name", "route"), ("mcp-param-region", "eu-west1")],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        server.shutdown().await;
    })
    .await;
}

/// Issue 17: rmcp with its *default* configuration (its own sessions) behind
/// `McpGuard` — the newcomer's mistake. `initialize` still answers 200 with
/// the guard's id, the next request gets rmcp's own 404, and the session
/// layer names the cause once, at warn, with the rmcp setting to change.
#[tokio::test(flavor = "current_thread")]
async fn rmcp_default_config_under_the_guard_is_named_once_with_the_setting() {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};

    bounded(async {
        let (logs, _guard) = crate::support::guards::capture_logs();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let rmcp = StreamableHttpService::new(
            || Ok(example::DemoTools),
            std::sync::Arc::new(LocalSessionManager::default()),
            StreamableHttpServerConfig::default().disable_allowed_hosts(),
        );
        let guard = mcp_tower_guard::McpGuard::local(addr).unwrap();
        let app = axum::Router::new().route_service("/mcp", guard.into_service(rmcp));
        let task = tokio::spawn(async move { axum::serve(listener, app).await });
        let url = format!("http://{addr}/mcp");
        let http: Http = Client::builder(TokioExecutor::new()).build_http();

        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": LEGACY, "capabilities": {},
            "clientInfo": {"name": "newcomer", "version": "1"}}});
        let reply = send(&http, post(&url, init, &[])).await;
        assert_eq!(reply.status, StatusCode::OK);
        let sid = reply.headers["mcp-session-id"].to_str().unwrap().to_owned();
        let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
        for _ in 0..2 {
            let extra = [
                ("mcp-session-id", sid.as_str()),
                ("mcp-protocol-version", LEGACY),
            ];
            let reply = send(&http, post(&url, list.clone(), &extra)).await;
            assert_eq!(
                reply.status,
                StatusCode::NOT_FOUND,
                "rmcp does not know the guard's id"
            );
        }
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text.matches("sets its own Mcp-Session-Id").count(),
            1,
            "{text}"
        );
        assert!(text.contains("with_legacy_session_mode(false)"), "{text}");
        assert!(text.contains("McpGuard::server_sessions"), "{text}");
        task.abort();
    })
    .await;
}
