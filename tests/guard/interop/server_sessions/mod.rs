//! `SessionOwner::Server` (`McpGuard::server_sessions`): rmcp keeps its own
//! sessions (`LocalSessionManager`), and the guard governs them. Real TCP on
//! 127.0.0.1, rmcp's server and client, and the server's own session table
//! counted to see that the guard's decisions reach it.
// Sampling is deprecated by SEP-2577 (2026-07-28), but it is how a
// 2025-11-25 server asks a model, and what this mode must keep working.
#![allow(deprecated)]

/// Expiry, DELETE and server-side closes.
mod closing;
/// Foreign, unknown and malformed ids; servers without usable ids.
mod refused_ids;
/// Server-to-client round trips and the session limit.
mod round_trips_and_limits;

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
