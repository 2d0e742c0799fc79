//! The demo server (`examples/streamable_http.rs`) driven by real clients over
//! real TCP on 127.0.0.1: rmcp's Streamable HTTP client (legacy sessions and the
//! 2026-07-28 stateless mode) and raw HTTP/1.1 and HTTP/2 requests.
//!
//! Every test is bounded by [`TEST_TIMEOUT`].
//!
//! The demo's `echo` tool logs through `notifications/message`, which the
//! 2026-07-28 revision deprecates (SEP-2577) but legacy sessions still use;
//! hence the `deprecated` allowance.
#![allow(deprecated)]

/// The demo's CLI flags and bind checks.
mod cli_config;
/// Forged Host, foreign Origin, malformed initializes, the session limit.
mod edge_security;
/// 2026-07-28 (stateless): tasks, rmcp's discover mode, raw requests.
mod modern_stateless;
/// Raw HTTP, legacy era: GET streams, shutdown, errors, HTTP/2.
mod raw_legacy;
/// rmcp's client, legacy era (sessions).
mod rmcp_legacy;

use crate::app;
use crate::cli;

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use app::DemoConfig;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mcp_tower_guard::session::{MokaSessionStore, SessionId};
use rmcp::model::{
    CallToolRequestParams, ClientConfig, LoggingMessageNotificationParam, ProtocolVersion,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, NotificationContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

const TEST_TIMEOUT: Duration = Duration::from_secs(30);
const LEGACY: &str = "2025-11-25";
const MODERN: &str = "2026-07-28";

// ---------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------

struct Demo {
    url: String,
    addr: SocketAddr,
    store: MokaSessionStore,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Demo {
    async fn start(config: DemoConfig) -> Self {
        let (router, store) = app::app(&config).expect("valid demo config");
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown_store = store.clone();
        let task = tokio::spawn(app::serve(listener, router, async move {
            let _ = stopped.await;
            app::shutdown_store(&shutdown_store);
        }));
        Self {
            url: format!("http://{addr}/mcp"),
            addr,
            store,
            stop: Some(stop),
            task,
        }
    }

    /// Ctrl-C, as the binary does it: close every session, then drain.
    async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(15), &mut self.task)
            .await
            .expect("server drains in time")
            .expect("server task")
            .expect("server io");
    }
}

/// Runs a test body under [`TEST_TIMEOUT`].
async fn bounded<F: Future<Output = ()>>(body: F) {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("test timed out");
}

// ---------------------------------------------------------------------------
// rmcp client side
// ---------------------------------------------------------------------------

/// An rmcp client handler that reports the server's log notifications.
#[derive(Clone)]
struct Recorder {
    logs: mpsc::UnboundedSender<LoggingMessageNotificationParam>,
}

impl ClientHandler for Recorder {
    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.logs.send(params);
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::default()
    }
}

fn call(name: &'static str, args: Value) -> CallToolRequestParams {
    let params = CallToolRequestParams::new(name);
    match args {
        Value::Object(map) => params.with_arguments(map),
        _ => params,
    }
}

fn text_of(result: &rmcp::model::CallToolResult) -> String {
    let v = serde_json::to_value(result).expect("serializable result");
    v["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

// ---------------------------------------------------------------------------
// Raw HTTP side
// ---------------------------------------------------------------------------

type Http = Client<HttpConnector, Full<Bytes>>;

fn http1() -> Http {
    Client::builder(TokioExecutor::new()).build_http()
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    fn session_id(&self) -> Option<String> {
        self.headers
            .get("mcp-session-id")
            .map(|v| v.to_str().expect("ascii").to_owned())
    }
}

async fn send(client: &Http, req: Request<Full<Bytes>>) -> Reply {
    let res = client.request(req).await.expect("request sent");
    let (parts, body) = res.into_parts();
    let body = body.collect().await.expect("body read").to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// A POST as an MCP client sends it, plus `extra` headers.
fn post(url: &str, body: Value, extra: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut req = Request::post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.body(Full::new(Bytes::from(body.to_string())))
        .expect("valid request")
}

fn initialize_body(version: &str) -> Value {
    json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion": version, "capabilities": {},
        "clientInfo": {"name": "raw-test", "version": "1.0"}}})
}

/// Initializes a session over raw HTTP and returns its id.
async fn raw_session(client: &Http, url: &str) -> String {
    let reply = send(client, post(url, initialize_body(LEGACY), &[])).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let sid = reply.session_id().expect("Mcp-Session-Id on initialize");
    let reply = send(
        client,
        post(
            url,
            json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
            &[("mcp-session-id", &sid), ("mcp-protocol-version", LEGACY)],
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert!(reply.body.is_empty());
    sid
}

fn legacy_call(id: u64, name: &str, args: Value) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":name,"arguments":args}})
}

/// An SSE response body, read event by event.
struct SseReader {
    body: hyper::body::Incoming,
    buf: String,
}

/// One SSE event: its `event:` name (None for a plain message) and its data.
#[derive(Debug)]
struct SseEvent {
    name: Option<String>,
    data: String,
}

impl SseReader {
    /// The next event, or `None` when the stream ends.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let raw: String = self.buf.drain(..end + 2).collect();
                let mut event = SseEvent {
                    name: None,
                    data: String::new(),
                };
                let mut any = false;
                for line in raw.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event.name = Some(v.trim().to_owned());
                        any = true;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        event.data.push_str(v.trim_start());
                        any = true;
                    }
                }
                if any {
                    return Some(event);
                }
                continue;
            }
            let frame = self.body.frame().await?.expect("stream frame");
            if let Ok(data) = frame.into_data() {
                self.buf.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }
}

async fn open_stream(client: &Http, url: &str, sid: &str) -> (StatusCode, HeaderMap, SseReader) {
    let req = Request::get(url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", sid)
        .header("mcp-protocol-version", LEGACY)
        .body(Full::default())
        .expect("valid request");
    let res = client.request(req).await.expect("GET sent");
    let (parts, body) = res.into_parts();
    (
        parts.status,
        parts.headers,
        SseReader {
            body,
            buf: String::new(),
        },
    )
}
