//! `SessionOwner::Server` (`McpGuard::server_sessions`): rmcp keeps its own
//! sessions (`LocalSessionManager`), and the guard governs them. Real TCP on
//! 127.0.0.1, rmcp's server and client, and the server's own session table
//! counted to see that the guard's decisions reach it.
// Sampling is deprecated by SEP-2577 (2026-07-28), but it is how a
// 2025-11-25 server asks a model, and what this mode must keep working.
#![allow(deprecated)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mcp_tower_guard::session::{
    CloseCause, McpSessionLayer, MokaSessionStore, Principal, SessionOwner, SessionStore,
};
use mcp_tower_guard::McpGuard;
use rmcp::model::{
    CallToolRequestParams, ClientConfig, CreateMessageRequestParams, CreateMessageResult,
    ElicitRequestParams, ElicitResult, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{
    StreamableHttpClientTransport, StreamableHttpServerConfig, StreamableHttpService,
};
use rmcp::{
    tool, tool_handler, tool_router, ClientHandler, ErrorData, Peer, RoleClient, RoleServer,
    ServerHandler, ServiceExt,
};
use serde_json::{json, Value};

const TEST_TIMEOUT: Duration = Duration::from_secs(40);
const LEGACY: &str = "2025-11-25";

// ------------------------------------------------------------------ server

/// An rmcp server whose tools ask the client back: sampling and elicitation
/// need the server's own session to route the client's answer.
#[derive(Clone)]
struct Asker;

#[tool_router]
impl Asker {
    #[tool(description = "Says hello.")]
    fn hello(&self) -> String {
        "hello".to_owned()
    }

    #[tool(description = "Asks the client's model (sampling).")]
    async fn ask_model(&self, peer: Peer<RoleServer>) -> Result<String, ErrorData> {
        let params: CreateMessageRequestParams = serde_json::from_value(json!({
            "messages": [{"role": "user", "content": {"type": "text", "text": "6 x 7?"}}],
            "maxTokens": 10
        }))
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let answer = peer
            .create_message(params)
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let v = serde_json::to_value(answer).unwrap_or_default();
        Ok(format!(
            "model said {}",
            v["content"]["text"].as_str().unwrap_or("?")
        ))
    }

    #[tool(description = "Asks the user (elicitation).")]
    async fn ask_user(&self, peer: Peer<RoleServer>) -> Result<String, ErrorData> {
        let params: ElicitRequestParams = serde_json::from_value(json!({
            "mode": "form",
            "message": "Your name?",
            "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}
        }))
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let answer = peer
            .create_elicitation(params)
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let v = serde_json::to_value(answer).unwrap_or_default();
        Ok(format!(
            "user is {}",
            v["content"]["name"].as_str().unwrap_or("?")
        ))
    }
}

#[tool_handler]
impl ServerHandler for Asker {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// What reached rmcp: the `Mcp-Session-Id` of each request (or `-`).
#[derive(Clone, Default)]
pub(crate) struct Reached(Arc<Mutex<Vec<String>>>);

impl Reached {
    pub(crate) fn ids(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

pub(crate) struct Setup<St> {
    pub(crate) store: St,
    /// rmcp's keep-alive (its own idle timeout); long unless a test needs it.
    pub(crate) keep_alive: Duration,
    /// Bind sessions to the `x-user` header.
    pub(crate) by_user: bool,
}

impl<St> Setup<St> {
    pub(crate) fn new(store: St) -> Self {
        Self {
            store,
            keep_alive: Duration::from_secs(300),
            by_user: false,
        }
    }
}

pub(crate) struct Guarded<St> {
    pub(crate) url: String,
    pub(crate) addr: SocketAddr,
    pub(crate) store: St,
    /// rmcp's own session table.
    pub(crate) sessions: Arc<LocalSessionManager>,
    pub(crate) reached: Reached,
}

impl<St: SessionStore + Clone> Guarded<St> {
    pub(crate) async fn start(setup: Setup<St>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut manager = LocalSessionManager::default();
        manager.session_config.keep_alive = Some(setup.keep_alive);
        let sessions = Arc::new(manager);
        let rmcp = StreamableHttpService::new(
            || Ok(Asker),
            Arc::clone(&sessions),
            StreamableHttpServerConfig::default().disable_allowed_hosts(),
        );
        let reached = Reached::default();
        let seen = reached.clone();
        let counted = tower::ServiceBuilder::new()
            .map_request(move |req: Request<Body>| {
                let id = req
                    .headers()
                    .get("mcp-session-id")
                    .map_or("-".to_owned(), |v| {
                        String::from_utf8_lossy(v.as_bytes()).into_owned()
                    });
                seen.0.lock().unwrap().push(id);
                req
            })
            .service(rmcp);
        let mut layer = McpSessionLayer::new(setup.store.clone()).owner(SessionOwner::Server);
        if setup.by_user {
            layer = layer.principal(|parts: &http::request::Parts| {
                parts
                    .headers
                    .get("x-user")
                    .and_then(|v| v.to_str().ok())
                    .map(Principal::new)
            });
        }
        let guard = McpGuard::local(addr).unwrap().session_layer(layer);
        let app = axum::Router::new().route_service("/mcp", guard.into_service(counted));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: format!("http://{addr}/mcp"),
            addr,
            store: setup.store,
            sessions,
            reached,
        }
    }

    pub(crate) async fn server_sessions(&self) -> usize {
        self.sessions.sessions.read().await.len()
    }
}

// ------------------------------------------------------------------ clients

/// An rmcp client that answers sampling and elicitation.
#[derive(Clone)]
struct Answering;

impl ClientHandler for Answering {
    fn get_info(&self) -> ClientConfig {
        serde_json::from_value(json!({
            "protocolVersion": LEGACY,
            "capabilities": {"sampling": {}, "elicitation": {"form": {}}},
            "clientInfo": {"name": "answering", "version": "1"}
        }))
        .expect("client info")
    }

    async fn create_message(
        &self,
        _params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        serde_json::from_value(json!({
            "role": "assistant", "model": "test",
            "content": {"type": "text", "text": "42"}
        }))
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))
    }

    async fn create_elicitation(
        &self,
        _request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        serde_json::from_value(json!({"action": "accept", "content": {"name": "Ada"}}))
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))
    }
}

async fn rmcp_client(url: &str) -> RunningService<RoleClient, Answering> {
    Answering
        .serve(StreamableHttpClientTransport::from_uri(url.to_owned()))
        .await
        .expect("rmcp client initializes")
}

fn text_of(result: &rmcp::model::CallToolResult) -> String {
    let v = serde_json::to_value(result).expect("serializable");
    v["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

type Http = Client<HttpConnector, Full<Bytes>>;

fn http() -> Http {
    Client::builder(TokioExecutor::new()).build_http()
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        // A JSON body, or the data of the first SSE event.
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            let text = String::from_utf8_lossy(&self.body);
            text.lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .find_map(|d| serde_json::from_str(d.trim()).ok())
                .unwrap_or(Value::Null)
        })
    }
}

pub(crate) async fn send(req: Request<Full<Bytes>>) -> Reply {
    let res = http().request(req).await.expect("sent");
    let (parts, body) = res.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.expect("body").to_bytes(),
    }
}

pub(crate) fn post(url: &str, body: Value, extra: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut req = Request::post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

pub(crate) fn initialize_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": LEGACY, "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}})
}

/// A raw `initialize` (plus `notifications/initialized`): the server's id.
pub(crate) async fn raw_session(url: &str, extra: &[(&str, &str)]) -> String {
    let reply = send(post(url, initialize_body(), extra)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let id = reply.headers["mcp-session-id"].to_str().unwrap().to_owned();
    let mut headers = vec![
        ("mcp-session-id", id.as_str()),
        ("mcp-protocol-version", LEGACY),
    ];
    headers.extend_from_slice(extra);
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(
        send(post(url, note, &headers)).await.status,
        StatusCode::ACCEPTED
    );
    id
}

pub(crate) fn ping(url: &str, id: &str, extra: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut headers = vec![("mcp-session-id", id), ("mcp-protocol-version", LEGACY)];
    headers.extend_from_slice(extra);
    post(
        url,
        json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}),
        &headers,
    )
}

pub(crate) fn delete(url: &str, id: &str) -> Request<Full<Bytes>> {
    Request::delete(url)
        .header("mcp-session-id", id)
        .header("mcp-protocol-version", LEGACY)
        .body(Full::default())
        .unwrap()
}

pub(crate) async fn bounded<F: Future<Output = ()>>(body: F) {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("test timed out");
}

/// Waits (bounded) for an async condition.
pub(crate) async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

// ------------------------------------------------------------------ tests

/// The guard never invents an id: the client holds the server's, the store
/// holds the same, and sampling and elicitation (server-to-client requests,
/// answered on later POSTs of the same session) round-trip through it.
#[tokio::test]
async fn sampling_and_elicitation_round_trip_through_the_guard() {
    bounded(async {
        let server = Guarded::start(Setup::new(MokaSessionStore::new())).await;
        let client = rmcp_client(&server.url).await;
        assert_eq!(server.server_sessions().await, 1);
        assert_eq!(server.store.stats().active, 1);
        let result = client
            .call_tool(CallToolRequestParams::new("ask_model"))
            .await
            .expect("sampling through the guard");
        assert_eq!(text_of(&result), "model said 42");
        let result = client
            .call_tool(CallToolRequestParams::new("ask_user"))
            .await
            .expect("elicitation through the guard");
        assert_eq!(text_of(&result), "user is Ada");
        // Every id that reached rmcp is the one rmcp minted (none of ours).
        let minted: Vec<String> = server
            .sessions
            .sessions
            .read()
            .await
            .keys()
            .map(|k| k.to_string())
            .collect();
        assert_eq!(minted.len(), 1);
        assert!(
            server
                .reached
                .ids()
                .iter()
                .all(|id| id == "-" || *id == minted[0]),
            "{:?}",
            server.reached.ids()
        );
        client.cancel().await.expect("client closes");
        eventually("the client's DELETE closes both tables", || async {
            server.server_sessions().await == 0 && server.store.stats().active == 0
        })
        .await;
        assert_eq!(server.store.stats().deleted, 1);
    })
    .await;
}

/// The N+1th `initialize` gets the guard's 429 before rmcp sees it; a failed
/// `initialize` (rmcp answers a JSON-RPC error) gives its slot back.
#[tokio::test]
async fn the_limit_holds_and_a_failed_initialize_frees_its_slot() {
    bounded(async {
        let store = MokaSessionStore::builder().max_sessions(2).build().unwrap();
        let server = Guarded::start(Setup::new(store)).await;
        let broken = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": 7}});
        let reply = send(post(&server.url, broken, &[])).await;
        assert!(reply.json().get("error").is_some() || !reply.status.is_success(), "{:?}", reply.body);
        let stats = server.store.stats();
        assert_eq!((stats.active, stats.reserved, stats.initialize_failed), (0, 0, 1), "{stats:?}");

        let a = raw_session(&server.url, &[]).await;
        let _b = raw_session(&server.url, &[]).await;
        let before = server.reached.ids().len();
        let third = send(post(&server.url, initialize_body(), &[])).await;
        assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(third.headers.contains_key("retry-after"));
        assert_eq!(server.reached.ids().len(), before, "rmcp never saw it");
        assert_eq!(server.server_sessions().await, 2);
        // A client's DELETE reaches rmcp and frees the slot.
        let reply = send(delete(&server.url, &a)).await;
        assert!(reply.status.is_success(), "{}", reply.status);
        raw_session(&server.url, &[]).await;
    })
    .await;
}

/// Idle and absolute expiry are the guard's, and reach the server: it gets
/// a DELETE for the session, so its own table empties; the next request with
/// that id is the guard's 404 and never reaches the server.
#[tokio::test]
async fn the_guards_expiry_closes_the_session_on_the_server() {
    bounded(async {
        for (idle, lifetime, cause) in [
            (
                Duration::from_millis(300),
                Duration::from_secs(60),
                CloseCause::IdleExpired,
            ),
            (
                Duration::from_secs(60),
                Duration::from_millis(400),
                CloseCause::LifetimeExpired,
            ),
        ] {
            let store = MokaSessionStore::builder()
                .idle_timeout(idle)
                .max_lifetime(lifetime)
                .build()
                .unwrap();
            let server = Guarded::start(Setup::new(store)).await;
            let id = raw_session(&server.url, &[]).await;
            assert_eq!(server.server_sessions().await, 1);
            eventually("the store expires it", || async {
                server.store.run_pending_tasks();
                server.store.stats().active == 0
            })
            .await;
            eventually("the server is told", || async {
                server.server_sessions().await == 0
            })
            .await;
            let stats = server.store.stats();
            let counted = match cause {
                CloseCause::IdleExpired => stats.idle_expired,
                _ => stats.lifetime_expired,
            };
            assert_eq!(counted, 1, "{cause:?}: {stats:?}");
            let before = server.reached.ids().len();
            let reply = send(ping(&server.url, &id, &[])).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND);
            assert_eq!(reply.json()["error"]["code"], -32001, "the guard's own 404");
            assert_eq!(
                server.reached.ids().len(),
                before,
                "never reached the server"
            );
        }
    })
    .await;
}

/// A client's DELETE goes to the server (204 or 202 from it), closes the
/// record, and a second DELETE is the guard's 404.
#[tokio::test]
async fn a_client_delete_reaches_the_server_and_a_second_gets_404() {
    bounded(async {
        let server = Guarded::start(Setup::new(MokaSessionStore::new())).await;
        let id = raw_session(&server.url, &[]).await;
        let reply = send(delete(&server.url, &id)).await;
        assert!(reply.status.is_success(), "{}", reply.status);
        assert_eq!(server.server_sessions().await, 0);
        assert_eq!(server.store.stats().deleted, 1);
        let before = server.reached.ids().len();
        let again = send(delete(&server.url, &id)).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
        assert_eq!(server.reached.ids().len(), before);
    })
    .await;
}

/// A session is bound to the user who made it: another user's request,
/// and a DELETE, get the guard's 404 and never reach the server.
#[tokio::test]
async fn another_principal_cannot_use_or_delete_the_session() {
    bounded(async {
        let mut setup = Setup::new(MokaSessionStore::new());
        setup.by_user = true;
        let server = Guarded::start(setup).await;
        let id = raw_session(&server.url, &[("x-user", "alice")]).await;
        let before = server.reached.ids().len();
        let reply = send(ping(&server.url, &id, &[("x-user", "mallory")])).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        let mut del = delete(&server.url, &id);
        del.headers_mut()
            .insert("x-user", "mallory".parse().unwrap());
        assert_eq!(send(del).await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            server.reached.ids().len(),
            before,
            "mallory reached nothing"
        );
        assert_eq!(server.server_sessions().await, 1);
        let reply = send(ping(&server.url, &id, &[("x-user", "alice")])).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(server.store.stats().rejected.foreign_principal, 2);
    })
    .await;
}

/// Unknown and malformed ids get the guard's 404 and 400; the server sees
/// none of them.
#[tokio::test]
async fn unknown_and_malformed_ids_never_reach_the_server() {
    bounded(async {
        let server = Guarded::start(Setup::new(MokaSessionStore::new())).await;
        for (id, status) in [
            (
                "0b0e9d9e-9d4c-4a4e-9a0a-000000000000",
                StatusCode::NOT_FOUND,
            ),
            ("not visible \u{7f}", StatusCode::BAD_REQUEST),
            ("", StatusCode::BAD_REQUEST),
        ] {
            let mut req = ping(&server.url, "placeholder", &[]);
            match http::HeaderValue::from_bytes(id.as_bytes()) {
                Ok(value) => {
                    req.headers_mut().insert("mcp-session-id", value);
                }
                Err(_) => continue,
            }
            assert_eq!(send(req).await.status, status, "{id:?}");
        }
        let get = Request::get(&server.url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", "0b0e9d9e-9d4c-4a4e-9a0a-000000000000")
            .body(Full::default())
            .unwrap();
        assert_eq!(send(get).await.status, StatusCode::NOT_FOUND);
        assert!(
            server.reached.ids().is_empty(),
            "{:?}",
            server.reached.ids()
        );
    })
    .await;
}

/// When the server ends a session itself (its keep-alive), its 404 closes
/// the guard's record as `ServerClosed`; the next request is the guard's.
#[tokio::test]
async fn a_server_side_close_is_noticed() {
    bounded(async {
        let mut setup = Setup::new(MokaSessionStore::new());
        setup.keep_alive = Duration::from_millis(300);
        let server = Guarded::start(setup).await;
        let id = raw_session(&server.url, &[]).await;
        eventually("rmcp's keep-alive ends it", || async {
            server.server_sessions().await == 0
        })
        .await;
        let reply = send(ping(&server.url, &id, &[])).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "the server's own 404");
        eventually("the record closes", || async {
            server.store.stats().active == 0
        })
        .await;
        assert_eq!(server.store.stats().server_closed, 1);
        let before = server.reached.ids().len();
        assert_eq!(
            send(ping(&server.url, &id, &[])).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(server.reached.ids().len(), before, "now the guard answers");
        let _ = server.addr;
    })
    .await;
}

/// An inner server that mints no id, or an unusable one, in this mode:
/// nothing is recorded and the slot is given back; a missing id is named
/// once at warn, an invalid one (not 1 to 256 visible ASCII characters, or
/// two of them) turns the answer into 502.
#[tokio::test(flavor = "current_thread")]
async fn an_inner_server_without_usable_ids_is_named_and_records_nothing() {
    let (logs, _guard) = crate::support::guards::capture_logs();
    let answer = |session: Option<&'static [&'static str]>| {
        tower::service_fn(move |_req: Request<Body>| async move {
            let mut res = http::Response::new(Body::from(
                r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{}}}"#,
            ));
            res.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_static("application/json"),
            );
            for id in session.unwrap_or_default() {
                res.headers_mut()
                    .append("mcp-session-id", http::HeaderValue::from_static(id));
            }
            Ok::<_, std::convert::Infallible>(res)
        })
    };
    let initialize = || {
        Request::post("/mcp")
            .header("host", "127.0.0.1:8000")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(Body::from(initialize_body().to_string()))
            .unwrap()
    };
    let guard = |store: &MokaSessionStore| {
        McpGuard::local("127.0.0.1:8000".parse().unwrap())
            .unwrap()
            .server_sessions(store.clone())
    };
    use tower::ServiceExt as _;
    // No id: the answer passes, nothing is recorded, one warn for two.
    let store = MokaSessionStore::new();
    let svc = guard(&store).into_service(answer(None));
    for _ in 0..2 {
        let res = svc.clone().oneshot(initialize()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let stats = store.stats();
    assert_eq!(
        (stats.active, stats.reserved, stats.initialize_failed),
        (0, 0, 2),
        "{stats:?}"
    );
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.matches("set no Mcp-Session-Id").count(), 1, "{text}");
    // Two ids, or one that is not visible ASCII: 502, nothing recorded.
    for ids in [&["a", "b"][..], &["has space"][..]] {
        let store = MokaSessionStore::new();
        let svc = guard(&store).into_service(answer(Some(ids)));
        let res = svc.oneshot(initialize()).await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_GATEWAY, "{ids:?}");
        let stats = store.stats();
        assert_eq!((stats.active, stats.reserved), (0, 0), "{ids:?}");
    }
}
