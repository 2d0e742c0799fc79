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

/// Polls `check` until it holds (or panics with `what` after 5 s).
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

async fn rmcp_client(
    url: &str,
) -> (
    RunningService<RoleClient, Recorder>,
    mpsc::UnboundedReceiver<LoggingMessageNotificationParam>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let transport = StreamableHttpClientTransport::from_uri(url.to_owned());
    let client = Recorder { logs: tx }
        .serve(transport)
        .await
        .expect("rmcp client initializes");
    (client, rx)
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

fn http2() -> Http {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
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

fn modern_call(id: u64, method: &str, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw-test", "version": "1.0"},
    });
    json!({"jsonrpc":"2.0","id":id,"method":method,"params":params})
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

// ---------------------------------------------------------------------------
// Tests: rmcp client, legacy era (sessions)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn rmcp_client_initializes_lists_calls_gets_notified_and_deletes() {
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let (client, mut logs) = rmcp_client(&demo.url).await;

        let info = client.peer_info().expect("server info after initialize");
        let info = serde_json::to_value(&*info).expect("serializable");
        assert_eq!(info["serverInfo"]["name"], app::SERVER_NAME);
        assert_eq!(
            info["protocolVersion"], LEGACY,
            "rmcp's client asks for {LEGACY}"
        );
        assert_eq!(demo.store.stats().active, 1);
        assert_eq!(demo.store.stats().created, 1);

        let tools = client.list_all_tools().await.expect("tools/list");
        let names: BTreeSet<String> = tools.iter().map(|t| t.name.to_string()).collect();
        assert_eq!(
            names,
            ["add", "echo", "route_query", "session_info"]
                .map(String::from)
                .into()
        );

        // echo: the result, and a log notification on the session's GET stream.
        let result = client
            .call_tool(call("echo", json!({"text": "hello over GET"})))
            .await
            .expect("echo");
        assert_eq!(text_of(&result), "hello over GET");
        assert_eq!(result.is_error, Some(false));
        let log = tokio::time::timeout(Duration::from_secs(10), logs.recv())
            .await
            .expect("notification arrives on the GET stream")
            .expect("recorder alive");
        assert_eq!(log.data, json!({"echoed": "hello over GET"}));
        assert_eq!(log.logger.as_deref(), Some("echo"));

        let result = client
            .call_tool(call("add", json!({"a": 2, "b": 40})))
            .await
            .expect("add");
        assert_eq!(text_of(&result), "42");
        assert_eq!(result.structured_content, Some(json!({"sum": 42})));

        let result = client
            .call_tool(call("session_info", json!({})))
            .await
            .expect("session_info");
        let info = result.structured_content.expect("structured session info");
        assert_eq!(info["protocolVersion"], LEGACY);
        assert_eq!(info["tag"].as_str().map(str::len), Some(8));
        assert!(info["createdAt"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert!(info["client"]["peerAddr"]
            .as_str()
            .is_some_and(|p| p.starts_with("127.0.0.1:")));

        // A tool failure is a result with isError, not a protocol error.
        let result = client
            .call_tool(call("add", json!({"a": "two", "b": 1})))
            .await
            .expect("add with bad arguments still answers");
        assert_eq!(result.is_error, Some(true));
        // An unknown tool is a protocol error: -32602.
        let err = client
            .call_tool(call("nope", json!({})))
            .await
            .expect_err("unknown tool");
        assert!(format!("{err:?}").contains("-32602"), "{err:?}");

        // Dropping the client (cancel) sends DELETE: the layer ends the session.
        client.cancel().await.expect("client stops");
        eventually("the DELETE reached the store", || {
            let stats = demo.store.stats();
            stats.deleted == 1 && stats.active == 0
        })
        .await;
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn idle_session_expires_and_rmcp_client_reinitializes() {
    bounded(async {
        // Only requests count as activity here (`--streams-keep-alive false`).
        let config = DemoConfig {
            idle_timeout: Duration::from_millis(300),
            streams_keep_alive: false,
            ..DemoConfig::for_tests()
        };
        let demo = Demo::start(config).await;
        let (client, _logs) = rmcp_client(&demo.url).await;
        let first = client
            .call_tool(call("session_info", json!({})))
            .await
            .expect("session_info")
            .structured_content
            .expect("info");

        // The GET stream stays open, but only requests count as activity: the
        // session idles out and its close ends the stream.
        tokio::time::sleep(Duration::from_millis(900)).await;
        eventually("the idle session was closed", || {
            let stats = demo.store.stats();
            stats.idle_expired >= 1 && stats.active == 0
        })
        .await;
        let created_before = demo.store.stats().created;

        // The next call gets 404 for the old id; rmcp's client re-initializes and retries.
        let second = client
            .call_tool(call("session_info", json!({})))
            .await
            .expect("call after expiry succeeds on a new session")
            .structured_content
            .expect("info");
        assert_ne!(first["tag"], second["tag"], "a new session");
        let stats = demo.store.stats();
        assert_eq!(stats.created, created_before + 1, "one re-initialization");
        assert!(
            stats.rejected.not_found >= 1,
            "the old id got 404: {stats:?}"
        );

        client.cancel().await.expect("client stops");
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn an_open_get_stream_keeps_its_session_alive() {
    // Issue 12: "streams keep their session alive while they are open"
    // (`streams_keep_alive`, the default): idle time counts from the stream's close.
    bounded(async {
        let config = DemoConfig {
            idle_timeout: Duration::from_millis(300),
            heartbeat: Duration::from_millis(100),
            ..DemoConfig::for_tests()
        };
        let live = config.live.clone();
        let demo = Demo::start(config).await;
        let (client, _logs) = rmcp_client(&demo.url).await;
        let first = client
            .call_tool(call("session_info", json!({})))
            .await
            .expect("session_info")
            .structured_content
            .expect("info");
        eventually("the rmcp client opened its GET stream", || {
            live.streams() == 1
        })
        .await;

        // Three idle timeouts with only heartbeats on the stream: still alive.
        tokio::time::sleep(Duration::from_millis(900)).await;
        let stats = demo.store.stats();
        assert_eq!((stats.idle_expired, stats.active), (0, 1), "{stats:?}");
        let second = client
            .call_tool(call("session_info", json!({})))
            .await
            .expect("session_info")
            .structured_content
            .expect("info");
        assert_eq!(first["tag"], second["tag"], "the same session");

        // Once the client goes away (its stream closes), the idle timer runs.
        client.cancel().await.expect("client stops");
        eventually("no stream left", || live.streams() == 0).await;
        eventually("the session idled out after its stream closed", || {
            let stats = demo.store.stats();
            stats.active == 0 && (stats.idle_expired + stats.deleted) >= 1
        })
        .await;
        assert_eq!(live.outboxes(), 0, "its outbox went with it");
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_deletes_racing_tool_calls_and_streams_leave_nothing_behind() {
    // Issue 12: "no per-session state after close, anywhere in the demo". Each
    // session has an open GET stream and a slow `echo` in flight (it reports to
    // the stream when it finishes) when its DELETE lands, at a varying offset.
    bounded(async {
        let config = DemoConfig::for_tests();
        let live = config.live.clone();
        let demo = Demo::start(config).await;
        let tasks_before = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        let client = http1();
        let url = demo.url.clone();
        let one = |n: u64| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let sid = raw_session(&client, &url).await;
                let (status, _, mut stream) = open_stream(&client, &url, &sid).await;
                assert_eq!(status, StatusCode::OK);
                let connected = stream.next().await.expect("connected event");
                assert_eq!(connected.name.as_deref(), Some("connected"));
                // Offsets from a fixed sequence: the DELETE lands before, during
                // or after the tool's work.
                let delay = n * 7 % 23;
                let pause = n * 13 % 29;
                let call = {
                    let (client, url, sid) = (client.clone(), url.clone(), sid.clone());
                    tokio::spawn(async move {
                        let body = legacy_call(2, "echo", json!({"text": "hi", "delayMs": delay}));
                        let headers = [
                            ("mcp-session-id", sid.as_str()),
                            ("mcp-protocol-version", LEGACY),
                        ];
                        send(&client, post(&url, body, &headers)).await.status
                    })
                };
                tokio::time::sleep(Duration::from_millis(pause)).await;
                let delete = Request::delete(&url)
                    .header("mcp-session-id", &sid)
                    .header("mcp-protocol-version", LEGACY)
                    .body(Full::default())
                    .expect("valid request");
                assert_eq!(send(&client, delete).await.status, StatusCode::NO_CONTENT);
                // Still running after its session closed, when this finds it unfinished.
                let outlived = !call.is_finished();
                let status = call.await.expect("call task");
                assert!(
                    status == StatusCode::OK || status == StatusCode::NOT_FOUND,
                    "echo answered {status}"
                );
                // The close ends the stream (after what was queued).
                let ended = tokio::time::timeout(Duration::from_secs(10), async {
                    while stream.next().await.is_some() {}
                })
                .await;
                assert!(ended.is_ok(), "the GET stream ended with its session");
                outlived && status == StatusCode::OK
            }
        };
        let (mut n, mut outlived) = (0u64, 0);
        while n < 1_000 {
            let batch: Vec<_> = (n..n + 50).map(|i| tokio::spawn(one(i))).collect();
            for task in batch {
                outlived += usize::from(task.await.expect("session task"));
            }
            n += 50;
        }
        // The race the old demo lost: tool calls that report to a deleted session.
        assert!(outlived > 0, "no tool call outlived its session's DELETE");
        let stats = demo.store.stats();
        assert_eq!(
            (stats.created, stats.deleted, stats.active),
            (1_000, 1_000, 0)
        );
        drop(client);
        eventually("no outbox, stream or task left", || {
            live.outboxes() == 0
                && live.streams() == 0
                && tokio::runtime::Handle::current()
                    .metrics()
                    .num_alive_tasks()
                    <= tasks_before
        })
        .await;
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn idle_expiry_gives_404_to_a_raw_client_and_a_fresh_client_succeeds() {
    bounded(async {
        let config = DemoConfig {
            idle_timeout: Duration::from_millis(500),
            ..DemoConfig::for_tests()
        };
        let demo = Demo::start(config).await;
        let http = http1();
        let sid = raw_session(&http, &demo.url).await;
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let reply = send(
            &http,
            post(
                &demo.url,
                legacy_call(2, "add", json!({"a": 1, "b": 1})),
                &[("mcp-session-id", &sid), ("mcp-protocol-version", LEGACY)],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.json()["error"]["code"], -32001);

        let (client, _logs) = rmcp_client(&demo.url).await;
        let result = client
            .call_tool(call("add", json!({"a": 1, "b": 1})))
            .await
            .expect("fresh client");
        assert_eq!(text_of(&result), "2");
        client.cancel().await.expect("client stops");
        demo.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------
// Tests: rmcp client, 2026-07-28 (stateless)
// ---------------------------------------------------------------------------

/// DNS rebinding reaches no route of the demo: the Host check covers every
/// path (an unknown one gets 403, not 404), while the MCP rules stay on
/// `/mcp` (an unknown path with a good Host is a plain 404).
#[tokio::test]
async fn a_forged_host_gets_403_on_every_route_not_only_mcp() {
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let client = http1();
        let base = demo.url.trim_end_matches("/mcp").to_owned();
        for (method, path) in [
            (Method::GET, "/not-mcp"),
            (Method::GET, "/"),
            (Method::POST, "/not-mcp"),
            (Method::GET, "/.well-known/oauth-protected-resource/mcp"),
            (Method::POST, "/mcp"),
        ] {
            let forged = Request::builder()
                .method(method.clone())
                .uri(format!("{base}{path}"))
                .header("host", "evil.example")
                .body(Full::new(Bytes::new()))
                .unwrap();
            let reply = send(&client, forged).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {path}");
            let message = reply.json()["error"]["message"].clone();
            assert!(
                message
                    .as_str()
                    .is_some_and(|m| m.starts_with("host not allowed")),
                "{method} {path}: {message}"
            );
            let good = Request::builder()
                .method(method.clone())
                .uri(format!("{base}{path}"))
                .body(Full::new(Bytes::new()))
                .unwrap();
            let reply = send(&client, good).await;
            if path != "/mcp" {
                assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
            }
        }
        demo.shutdown().await;
    })
    .await;
}

/// The demo serves the tasks extension (SEP-2663) so the suite's
/// `tasks-request-headers` can run: `slow_compute` answers with a task
/// handle; `tasks/get` with `Mcp-Name` equal to the task id finds it, and any
/// other `Mcp-Name` is refused at the edge (400, -32020) before the handler.
#[tokio::test]
async fn demo_tasks_are_routed_by_mcp_name_over_tcp() {
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let client = http1();
        let modern = |method: &str, name: &str, params: Value, caps: Value| {
            let mut body = modern_call(9, method, params);
            body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = caps;
            post(
                &demo.url,
                body,
                &[
                    ("mcp-protocol-version", MODERN),
                    ("mcp-method", method),
                    ("mcp-name", name),
                ],
            )
        };
        let tasks = json!({"extensions": {"io.modelcontextprotocol/tasks": {}}});
        let start = json!({"name": "slow_compute", "arguments": {"seconds": 60, "label": "t"}});

        // Without the extension in its capabilities, no task handle: -32021.
        let reply = send(
            &client,
            modern("tools/call", "slow_compute", start.clone(), json!({})),
        )
        .await;
        assert_eq!(reply.json()["error"]["code"], -32021, "{}", reply.json());

        let reply = send(
            &client,
            modern("tools/call", "slow_compute", start, tasks.clone()),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        let created = reply.json()["result"].clone();
        assert_eq!(created["resultType"], "task", "{created}");
        assert_eq!(created["status"], "working");
        let stamp = created["createdAt"].as_str().expect("createdAt");
        assert!(
            stamp.len() == 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "RFC 3339 UTC: {stamp}"
        );
        let id = created["taskId"].as_str().expect("taskId").to_owned();

        let reply = send(
            &client,
            modern("tasks/get", &id, json!({"taskId": id}), tasks.clone()),
        )
        .await;
        let got = reply.json()["result"].clone();
        assert_eq!(
            (got["taskId"].as_str(), got["status"].as_str()),
            (Some(&*id), Some("working"))
        );
        assert_eq!(got["resultType"], "complete", "{got}");

        // SEP-2663: Mcp-Name MUST equal params.taskId; the edge refuses a mismatch.
        let reply = send(
            &client,
            modern(
                "tasks/get",
                "another-task",
                json!({"taskId": id}),
                tasks.clone(),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.json()["error"]["code"], -32020);
        assert_eq!(reply.json()["id"], 9, "the request's id");

        let reply = send(
            &client,
            modern("tasks/cancel", &id, json!({"taskId": id}), tasks.clone()),
        )
        .await;
        assert_eq!(reply.json()["result"]["resultType"], "complete");
        let reply = send(
            &client,
            modern("tasks/get", &id, json!({"taskId": id}), tasks.clone()),
        )
        .await;
        assert_eq!(reply.json()["result"]["status"], "cancelled");

        // An unknown task is the handler's -32602.
        let reply = send(
            &client,
            modern("tasks/get", "nope", json!({"taskId": "nope"}), tasks),
        )
        .await;
        assert_eq!(reply.json()["error"]["code"], -32602);
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn rmcp_client_in_discover_mode_is_served_statelessly() {
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let (tx, _rx) = mpsc::unbounded_channel();
        let transport = StreamableHttpClientTransport::from_uri(demo.url.clone());
        let client = Recorder { logs: tx }
            .serve_with_lifecycle(
                transport,
                ClientLifecycleMode::Discover {
                    preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                },
            )
            .await
            .expect("server/discover succeeds");
        let info = serde_json::to_value(&*client.peer_info().expect("peer info")).expect("json");
        assert_eq!(info["protocolVersion"], MODERN, "{info}");

        let tools = client.list_all_tools().await.expect("tools/list");
        let names: BTreeSet<String> = tools.iter().map(|t| t.name.to_string()).collect();
        assert_eq!(
            names,
            [
                "add",
                "echo",
                "greet",
                "route_query",
                "session_info",
                "slow_compute",
                "test_logging_tool",
                "test_missing_capability",
                "test_streaming_elicitation"
            ]
            .map(String::from)
            .into()
        );
        let result = client
            .call_tool(call("add", json!({"a": 20, "b": 22})))
            .await
            .expect("add");
        assert_eq!(text_of(&result), "42");

        // rmcp mirrors x-mcp-header parameters into Mcp-Param-* headers, and the
        // headers layer checks them against the body (SEP-2243): the call goes through.
        let result = client
            .call_tool(call(
                "route_query",
                json!({"region": "Hello, 世界", "shard": 7, "dry_run": true,
                       "target": {"zone": "b"}, "query": "SELECT 1"}),
            ))
            .await
            .expect("route_query with mirrored headers");
        assert_eq!(
            result.structured_content.expect("structured")["region"],
            "Hello, 世界"
        );

        // A tool that needs a capability this client did not declare: -32021.
        let err = client
            .call_tool(call("test_missing_capability", json!({})))
            .await
            .expect_err("sampling not declared");
        assert!(
            format!("{err:?}").contains("-32021") || format!("{err:?}").contains("32021"),
            "{err:?}"
        );
        let result = client
            .call_tool(call("session_info", json!({})))
            .await
            .expect("session_info");
        assert_eq!(result.is_error, Some(true), "no session in 2026-07-28");

        assert_eq!(demo.store.stats().created, 0, "no session was created");
        client.cancel().await.expect("client stops");
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn raw_2026_07_28_request_is_stateless() {
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let http = http1();
        let modern = [
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "tools/call"),
            ("mcp-name", "add"),
        ];
        let reply = send(
            &http,
            post(
                &demo.url,
                modern_call(
                    7,
                    "tools/call",
                    json!({"name": "add", "arguments": {"a": 1.5, "b": 2}}),
                ),
                &modern,
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert!(
            reply.session_id().is_none(),
            "no Mcp-Session-Id in 2026-07-28"
        );
        assert_eq!(reply.headers["mcp-protocol-version"], MODERN);
        let body = reply.json();
        assert_eq!(body["id"], 7);
        assert_eq!(body["result"]["resultType"], "complete");
        assert_eq!(body["result"]["structuredContent"]["sum"], 3.5);
        assert_eq!(
            body["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
            app::SERVER_NAME
        );

        // A session id sent anyway is ignored, not checked.
        let mut with_sid = modern.to_vec();
        with_sid.push(("mcp-session-id", "not-a-session"));
        let reply = send(
            &http,
            post(
                &demo.url,
                modern_call(
                    8,
                    "tools/call",
                    json!({"name": "add", "arguments": {"a": 1, "b": 2}}),
                ),
                &with_sid,
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.session_id().is_none());

        // server/discover lists both eras.
        let reply = send(
            &http,
            post(
                &demo.url,
                modern_call(9, "server/discover", json!({})),
                &[
                    ("mcp-protocol-version", MODERN),
                    ("mcp-method", "server/discover"),
                ],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        let versions = reply.json()["result"]["supportedVersions"].clone();
        assert!(versions.as_array().unwrap().contains(&json!(MODERN)));
        assert!(versions.as_array().unwrap().contains(&json!(LEGACY)));

        // Unknown method: 404 with -32601 in 2026-07-28.
        let reply = send(
            &http,
            post(
                &demo.url,
                modern_call(10, "nope/nope", json!({})),
                &[
                    ("mcp-protocol-version", MODERN),
                    ("mcp-method", "nope/nope"),
                ],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.json()["error"]["code"], -32601);

        // GET and DELETE do not exist in 2026-07-28.
        for method in [Method::GET, Method::DELETE] {
            let req = Request::builder()
                .method(method.clone())
                .uri(&demo.url)
                .header("accept", "text/event-stream")
                .header("mcp-protocol-version", MODERN)
                .body(Full::default())
                .unwrap();
            let reply = send(&http, req).await;
            assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        }
        assert_eq!(demo.store.stats().created, 0);
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn raw_2026_07_28_edge_rules_over_tcp() {
    // The 2026-07-28 rules of tests/guard/headers/modern_edge.rs, on the wire against the demo.
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let http = http1();
        let route = |id: u64, args: Value| {
            modern_call(
                id,
                "tools/call",
                json!({"name": "route_query", "arguments": args}),
            )
        };
        let base = [
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "tools/call"),
            ("mcp-name", "route_query"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut h = base.to_vec();
            h.extend_from_slice(extra);
            h
        };

        // "Server MUST validate header matches body": string, integer (numerically),
        // boolean and a nested property, one with the Base64 sentinel.
        let args = json!({"region": "Hello, 世界", "shard": 7, "dry_run": true,
                          "target": {"zone": "b"}, "query": "q"});
        let headers = with(&[
            ("mcp-param-region", "=?base64?SGVsbG8sIOS4lueVjA==?="),
            ("mcp-param-shard", "7.0"),
            ("mcp-param-dryrun", "true"),
            ("mcp-param-zone", "b"),
        ]);
        let reply = send(&http, post(&demo.url, route(20, args.clone()), &headers)).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert_eq!(
            reply.json()["result"]["structuredContent"]["region"],
            "Hello, 世界"
        );

        // Missing, different, badly encoded: 400 -32020 with the request's id.
        for (id, extra) in [
            (
                21,
                vec![
                    ("mcp-param-shard", "7"),
                    ("mcp-param-dryrun", "true"),
                    ("mcp-param-zone", "b"),
                ],
            ),
            (
                22,
                vec![
                    ("mcp-param-region", "=?base64?SGVsbG8?="),
                    ("mcp-param-shard", "7"),
                    ("mcp-param-dryrun", "true"),
                    ("mcp-param-zone", "b"),
                ],
            ),
            (
                23,
                vec![
                    ("mcp-param-region", "=?base64?SGVsbG8sIOS4lueVjA==?="),
                    ("mcp-param-shard", "8"),
                    ("mcp-param-dryrun", "true"),
                    ("mcp-param-zone", "b"),
                ],
            ),
        ] {
            let reply = send(
                &http,
                post(&demo.url, route(id, args.clone()), &with(&extra)),
            )
            .await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{id}");
            let v = reply.json();
            assert_eq!(
                (v["id"].clone(), v["error"]["code"].clone()),
                (json!(id), json!(-32020)),
                "{v}"
            );
        }

        // A required client capability the request does not declare: 400 -32021.
        let reply = send(
            &http,
            post(
                &demo.url,
                modern_call(
                    30,
                    "tools/call",
                    json!({"name": "test_missing_capability", "arguments": {}}),
                ),
                &[
                    ("mcp-protocol-version", MODERN),
                    ("mcp-method", "tools/call"),
                    ("mcp-name", "test_missing_capability"),
                ],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        let v = reply.json();
        assert_eq!(v["error"]["code"], -32021, "{v}");
        assert_eq!(
            v["error"]["data"]["requiredCapabilities"],
            json!({"sampling": {}})
        );
        assert_eq!(v["id"], 30);

        // Removed methods: 404 -32601; missing _meta: 400 -32602; unknown version: -32022.
        let reply = send(
            &http,
            post(
                &demo.url,
                modern_call(31, "ping", json!({})),
                &[("mcp-protocol-version", MODERN), ("mcp-method", "ping")],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(
            (
                reply.json()["id"].clone(),
                reply.json()["error"]["code"].clone()
            ),
            (json!(31), json!(-32601))
        );
        let reply = send(
            &http,
            post(
                &demo.url,
                json!({"jsonrpc": "2.0", "id": "no-meta", "method": "tools/list", "params": {}}),
                &[
                    ("mcp-protocol-version", MODERN),
                    ("mcp-method", "tools/list"),
                ],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            (
                reply.json()["id"].clone(),
                reply.json()["error"]["code"].clone()
            ),
            (json!("no-meta"), json!(-32602))
        );
        let mut v999 = modern_call(32, "server/discover", json!({}));
        v999["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("v999.0.0");
        let reply = send(
            &http,
            post(
                &demo.url,
                v999,
                &[
                    ("mcp-protocol-version", "v999.0.0"),
                    ("mcp-method", "server/discover"),
                ],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        let v = reply.json();
        assert_eq!(v["error"]["code"], -32022, "{v}");
        assert_eq!(v["error"]["data"]["requested"], "v999.0.0");
        assert_eq!(v["id"], 32);

        // Session-era leftovers never come back on a modern answer.
        let reply = send(
            &http,
            post(
                &demo.url,
                modern_call(33, "tools/list", json!({})),
                &[
                    ("mcp-protocol-version", MODERN),
                    ("mcp-method", "tools/list"),
                    ("mcp-session-id", "stale"),
                    ("last-event-id", "7"),
                ],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.session_id().is_none());
        assert_eq!(demo.store.stats().created, 0);
        demo.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------
// Tests: raw HTTP, legacy era, GET stream and security
// ---------------------------------------------------------------------------

#[tokio::test]
async fn get_stream_sends_connected_notifications_heartbeats_and_ends_with_the_session() {
    bounded(async {
        let config = DemoConfig {
            heartbeat: Duration::from_millis(200),
            ..DemoConfig::for_tests()
        };
        let demo = Demo::start(config).await;
        let http = http1();
        let sid = raw_session(&http, &demo.url).await;
        let tag = SessionId::parse(sid.as_bytes()).unwrap().tag().to_string();

        let (status, headers, mut sse) = open_stream(&http, &demo.url, &sid).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        assert_eq!(headers["x-accel-buffering"], "no");

        let first = sse.next().await.expect("connected event");
        assert_eq!(first.name.as_deref(), Some("connected"));
        let connected: Value = serde_json::from_str(&first.data).unwrap();
        assert_eq!(connected["session"], tag.as_str());
        assert_eq!(connected["protocolVersion"], LEGACY);

        // A second GET while this one is open: 409.
        let (status, _, _) = open_stream(&http1(), &demo.url, &sid).await;
        assert_eq!(status, StatusCode::CONFLICT);

        let reply = send(
            &http,
            post(
                &demo.url,
                legacy_call(2, "echo", json!({"text": "ping me"})),
                &[("mcp-session-id", &sid), ("mcp-protocol-version", LEGACY)],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json()["result"]["content"][0]["text"], "ping me");

        let mut saw_message = false;
        let mut saw_heartbeat = false;
        while !(saw_message && saw_heartbeat) {
            let event = sse.next().await.expect("more events");
            match event.name.as_deref() {
                None => {
                    let msg: Value = serde_json::from_str(&event.data).unwrap();
                    assert_eq!(msg["method"], "notifications/message");
                    assert_eq!(msg["params"]["data"]["echoed"], "ping me");
                    assert!(msg.get("id").is_none(), "no responses on the GET stream");
                    saw_message = true;
                }
                Some("heartbeat") => {
                    let hb: Value = serde_json::from_str(&event.data).unwrap();
                    assert!(hb["timestamp"].is_string());
                    saw_heartbeat = true;
                }
                other => panic!("unexpected event {other:?}"),
            }
        }

        // DELETE ends the session; the stream ends with it.
        let req = Request::delete(&demo.url)
            .header("mcp-session-id", &sid)
            .header("mcp-protocol-version", LEGACY)
            .body(Full::default())
            .unwrap();
        let reply = send(&http, req).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        while let Some(event) = sse.next().await {
            assert_eq!(event.name.as_deref(), Some("heartbeat"), "{event:?}");
        }
        assert_eq!(demo.store.stats().deleted, 1);

        // The id is dead now: 404, which tells a client to initialize again.
        let reply = send(
            &http,
            post(
                &demo.url,
                json!({"jsonrpc":"2.0","id":3,"method":"ping"}),
                &[("mcp-session-id", &sid), ("mcp-protocol-version", LEGACY)],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn shutdown_closes_sessions_and_streams() {
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let http = http1();
        let sid = raw_session(&http, &demo.url).await;
        let (status, _, mut sse) = open_stream(&http, &demo.url, &sid).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(sse.next().await.unwrap().name.as_deref(), Some("connected"));
        let store = demo.store.clone();
        demo.shutdown().await;
        assert!(sse.next().await.is_none(), "the stream ended");
        let stats = store.stats();
        assert_eq!((stats.shutdown, stats.active), (1, 0), "{stats:?}");
    })
    .await;
}

#[tokio::test]
async fn legacy_jsonrpc_errors_and_notifications() {
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let http = http1();
        let sid = raw_session(&http, &demo.url).await;
        let h = [("mcp-session-id", sid.as_str()), ("mcp-protocol-version", LEGACY)];

        let reply = send(&http, post(&demo.url, json!({"jsonrpc":"2.0","id":5,"method":"nope"}), &h)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json()["error"]["code"], -32601);
        assert_eq!(reply.json()["id"], 5);

        let bad = json!({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"arguments":{}}});
        let reply = send(&http, post(&demo.url, bad, &h)).await;
        assert_eq!(reply.json()["error"]["code"], -32602);

        let reply = send(&http, post(&demo.url, json!({"jsonrpc":"2.0","id":7,"method":"ping"}), &h)).await;
        assert_eq!(reply.json()["result"], json!({}));

        // A response from the client (to a request we never sent): 202, no body.
        let reply = send(&http, post(&demo.url, json!({"jsonrpc":"2.0","id":"s1","result":{}}), &h)).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        assert!(reply.body.is_empty());

        // Without a session id: 400 (only initialize may come without one).
        let reply = send(
            &http,
            post(&demo.url, json!({"jsonrpc":"2.0","id":8,"method":"ping"}), &[]),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);

        // initialize negotiates: an unknown (future) legacy version gets our latest.
        let reply = send(&http, post(&demo.url, initialize_body("2025-09-09"), &[])).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json()["result"]["protocolVersion"], LEGACY);
        let reply = send(&http, post(&demo.url, initialize_body("2025-03-26"), &[])).await;
        assert_eq!(reply.json()["result"]["protocolVersion"], "2025-03-26");

        // A 2025-03-26 batch: one reply per request, none for the notification.
        let sid_0326 = reply.session_id().unwrap();
        let batch = json!([
            {"jsonrpc":"2.0","id":"a","method":"ping"},
            {"jsonrpc":"2.0","method":"notifications/initialized"},
            {"jsonrpc":"2.0","id":"b","method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}
        ]);
        let reply = send(
            &http,
            post(
                &demo.url,
                batch,
                &[("mcp-session-id", &sid_0326), ("mcp-protocol-version", "2025-03-26")],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        let replies = reply.json();
        assert_eq!(replies.as_array().map(Vec::len), Some(2));
        assert_eq!(replies[1]["result"]["structuredContent"]["sum"], 3);
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn forged_host_and_foreign_origin_are_refused() {
    bounded(async {
        let config = DemoConfig {
            allowed_origins: vec!["https://app.example.com".into()],
            ..DemoConfig::for_tests()
        };
        let demo = Demo::start(config).await;
        let http = http1();

        let mut req = post(&demo.url, initialize_body(LEGACY), &[]);
        req.headers_mut()
            .insert("host", "evil.example:8000".parse().unwrap());
        let reply = send(&http, req).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(reply.json()["error"]["code"], -32000);
        assert!(reply.session_id().is_none());

        let reply = send(
            &http,
            post(
                &demo.url,
                initialize_body(LEGACY),
                &[("origin", "https://evil.example")],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);

        for origin in ["https://app.example.com", "http://localhost:5173"] {
            let reply = send(
                &http,
                post(&demo.url, initialize_body(LEGACY), &[("origin", origin)]),
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{origin}");
        }
        // Only the two accepted initializes created sessions.
        assert_eq!(demo.store.stats().created, 2);
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn malformed_initializes_do_not_fill_the_session_table() {
    // Issue 12, as reported: with `--max-sessions 3`, three initializes without
    // `params.protocolVersion` (answered -32602 in a 200) used to take every
    // slot for the idle timeout. Now none of them opens a session.
    bounded(async {
        let config = DemoConfig {
            max_sessions: 3,
            ..DemoConfig::for_tests()
        };
        let demo = Demo::start(config).await;
        let http = http1();
        let malformed =
            json!({"jsonrpc":"2.0","id":9,"method":"initialize","params":{"capabilities":{}}});
        for _ in 0..10 {
            let reply = send(&http, post(&demo.url, malformed.clone(), &[])).await;
            assert_eq!(reply.status, StatusCode::OK);
            assert_eq!(reply.json()["error"]["code"], -32602);
            assert_eq!(reply.json()["id"], 9);
            assert_eq!(
                reply.session_id(),
                None,
                "no session for a failed initialize"
            );
        }
        let stats = demo.store.stats();
        assert_eq!(
            (stats.active, stats.reserved, stats.initialize_failed),
            (0, 0, 10)
        );
        // Every slot is free for real clients.
        for _ in 0..3 {
            raw_session(&http, &demo.url).await;
        }
        let reply = send(&http, post(&demo.url, initialize_body(LEGACY), &[])).await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn session_limit_answers_429() {
    bounded(async {
        let config = DemoConfig {
            max_sessions: 1,
            ..DemoConfig::for_tests()
        };
        let demo = Demo::start(config).await;
        let http = http1();
        let _sid = raw_session(&http, &demo.url).await;
        let reply = send(&http, post(&demo.url, initialize_body(LEGACY), &[])).await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(reply.headers.contains_key("retry-after"));
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn http2_prior_knowledge_and_http1_on_one_port() {
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let h2 = http2();
        let reply = send(&h2, post(&demo.url, initialize_body(LEGACY), &[])).await;
        assert_eq!(reply.status, StatusCode::OK);
        let sid = reply.session_id().expect("session over h2");
        let reply = send(
            &h2,
            post(
                &demo.url,
                legacy_call(2, "echo", json!({"text": "h2"})),
                &[("mcp-session-id", &sid), ("mcp-protocol-version", LEGACY)],
            ),
        )
        .await;
        assert_eq!(reply.json()["result"]["content"][0]["text"], "h2");

        // The same session over HTTP/1.1.
        let reply = send(
            &http1(),
            post(
                &demo.url,
                legacy_call(3, "echo", json!({"text": "h1"})),
                &[("mcp-session-id", &sid), ("mcp-protocol-version", LEGACY)],
            ),
        )
        .await;
        assert_eq!(reply.json()["result"]["content"][0]["text"], "h1");
        assert_eq!(demo.addr.ip().to_string(), "127.0.0.1");
        demo.shutdown().await;
    })
    .await;
}

#[test]
fn non_loopback_bind_needs_allow_host() {
    let config = DemoConfig {
        bind: "0.0.0.0:8000".parse().unwrap(),
        ..DemoConfig::default()
    };
    let err = app::app(&config).map(|_| ()).expect_err("refused");
    assert!(
        matches!(err, mcp_tower_guard::ConfigError::UnsafeBind { .. }),
        "{err}"
    );
    // The store's maintenance task needs a runtime; build the accepted case inside one.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let config = DemoConfig {
            allowed_hosts: vec!["mcp.example.com".into()],
            ..config
        };
        assert!(app::app(&config).is_ok());
    });
}

#[test]
fn cli_flags() {
    let cli::Command::Serve(c) = cli::parse([
        "--bind",
        "127.0.0.1:9000",
        "--idle-timeout",
        "2s",
        "--max-lifetime=1h30m",
        "--max-sessions",
        "7",
        "--allow-origin",
        "https://a.example",
        "--allow-host",
        "mcp.example.com",
        "--heartbeat",
        "500ms",
    ])
    .expect("valid flags") else {
        panic!("expected serve")
    };
    assert_eq!(c.bind, "127.0.0.1:9000".parse::<SocketAddr>().unwrap());
    assert_eq!(c.idle_timeout, Duration::from_secs(2));
    assert_eq!(c.max_lifetime, Some(Duration::from_secs(5400)));
    assert_eq!(c.max_sessions, 7);
    assert_eq!(c.allowed_origins, ["https://a.example"]);
    assert_eq!(c.allowed_hosts, ["mcp.example.com"]);
    assert_eq!(c.heartbeat, Duration::from_millis(500));
    assert!(matches!(cli::parse(["-h"]), Ok(cli::Command::Help)));
    for bad in [
        &["--idle-timeout", "5"][..],
        &["--idle-timeout", "0s"],
        &["--max-sessions", "0"],
        &["--bind", "localhost"],
        &["--bogus"],
        &["--heartbeat"],
    ] {
        assert!(cli::parse(bad.iter().copied()).is_err(), "{bad:?}");
    }
    assert_eq!(cli::parse_duration("1h"), Some(Duration::from_secs(3600)));
}
