//! Adversarial clients over real TCP on 127.0.0.1 against an axum app with
//! all four layers (Host → Origin → Headers → Session), built inline.
//!
//! Every test is bounded: a hard `tokio::time::timeout` around the whole test,
//! fixed loop counts, and no assertion on how long anything took. Sizes do not
//! depend on `--release`.
//!
//! - `initialize_flood_*`: 20 000 pipelined `initialize` requests on 4
//!   keep-alive connections against a cap of 50: the cap holds exactly, no
//!   reservation leaks, and an existing session is served during and after.
//! - `slow_*`, `never_finished_*`, `many_slow_bodies_*`: bodies trickled or
//!   never finished end in 408 with a JSON-RPC body; the request's body is
//!   dropped (a drop-counting wrapper around every request body returns to
//!   zero) and the connection is closed; 200 at once do not stop a
//!   well-behaved client.
//! - `oversized_*`, `duplicated_*`, `non_utf8_*`, `http2_*`: clear 4xx, no
//!   panic, the server keeps serving.
//! - `session_enumeration_*`: random ids never hit, and the answers for an
//!   unknown, a foreign (another principal's) and a deleted session are
//!   byte-for-byte identical (status, headers minus `Date`, body).
//! - `advisory_*`: the inputs of rmcp CVE-2026-63128 (non-initialize POSTs
//!   without a session take no slot) and Go SDK CVE-2026-27896 (JSON keys
//!   match case-sensitively; the inner service gets the bytes judged).

/// Advisories as regressions.
mod advisories;
/// Initialize floods against the session cap.
mod floods;
/// Oversized, duplicated and non-UTF-8 headers, HTTP/2 authority.
mod header_abuse;
/// Session enumeration is blind.
mod session_enumeration;
/// Slow and never-finished bodies.
mod slow_bodies;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body::Frame;
use http_body_util::BodyExt;
use mcp_tower_guard::envelope::Envelope;
use mcp_tower_guard::session::{MokaSessionStore, Principal, SessionId};
use mcp_tower_guard::{HostCheckLayer, McpHeadersLayer, McpSessionLayer, OriginGuardLayer};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tower::ServiceBuilder;

// =============================================================== the app

/// Request bodies alive in the server right now (created by the outermost
/// middleware, dropped when the layers or the handler are done with them).
#[derive(Clone, Default)]
struct Live(Arc<AtomicUsize>);

impl Live {
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A request body that counts itself in [`Live`] until dropped.
struct Tracked {
    inner: Body,
    live: Live,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

async fn track_bodies(State(live): State<Live>, req: Request, next: Next) -> Response {
    live.0.fetch_add(1, Ordering::SeqCst);
    let req = req.map(|inner| Body::new(Tracked { inner, live }));
    next.run(req).await
}

/// The MCP service behind the layers: answers every request with a JSON-RPC
/// result (202 for notifications and responses), never looks at a header.
async fn handler(req: Request) -> Response {
    let envelope = req.extensions().get::<Envelope>().cloned();
    let _ = req.into_body().collect().await;
    match envelope {
        Some(env) if env.only_notifications_or_responses() => StatusCode::ACCEPTED.into_response(),
        Some(env) => {
            // The answer names the request's id, as the session layer's commit rule needs.
            let id = env.single().and_then(|m| m.id().cloned());
            let body = serde_json::json!({"jsonrpc": "2.0", "id": id, "result": {}});
            (
                [(http::header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        // GET: an (empty) SSE stream.
        None => ([(http::header::CONTENT_TYPE, "text/event-stream")], "").into_response(),
    }
}

struct App {
    addr: SocketAddr,
    store: MokaSessionStore,
    live: Live,
}

struct Config {
    max_sessions: usize,
    read_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_sessions: 1000,
            read_timeout: Duration::from_secs(10),
        }
    }
}

async fn serve(config: Config) -> App {
    let store = MokaSessionStore::builder()
        .max_sessions(config.max_sessions)
        .build()
        .unwrap();
    let live = Live::default();
    let layers = ServiceBuilder::new()
        .layer(HostCheckLayer::localhost())
        .layer(OriginGuardLayer::localhost())
        .layer(
            McpHeadersLayer::new()
                .max_body_bytes(64 * 1024)
                .unwrap()
                .body_read_timeout(Some(config.read_timeout))
                .unwrap(),
        )
        .layer(McpSessionLayer::new(store.clone()).principal(Principal::authorization_hash()));
    let app = Router::new()
        .route("/mcp", any(handler))
        .layer(layers)
        .layer(middleware::from_fn_with_state(live.clone(), track_bodies));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    App { addr, store, live }
}

// ======================================================= raw HTTP/1.1 client

const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"adversary","version":"1"}}}"#;
const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
const ACCEPT_BOTH: &[u8] = b"application/json, text/event-stream";

/// One HTTP/1.1 request, byte for byte. `Content-Length` is added for a body.
fn request(method: &str, target: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    let has_length = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length"));
    if !has_length && (!body.is_empty() || method == "POST") {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// A legacy POST with the headers a well-behaved client sends.
fn legacy_post(body: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut headers: Vec<(&str, &[u8])> = vec![
        ("host", b"localhost"),
        ("accept", ACCEPT_BOTH),
        ("content-type", b"application/json"),
    ];
    headers.extend_from_slice(extra);
    request("POST", "/mcp", &headers, body.as_bytes())
}

#[derive(Debug, Clone)]
struct Resp {
    status: u16,
    head: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The JSON-RPC error code of a rejection (asserting the body's shape).
    fn error_code(&self) -> i64 {
        let v = self.json();
        assert_eq!(v["jsonrpc"], "2.0", "{v}");
        // The request's own id where the body was read (tests/guard/headers/modern_edge/ pins which).
        assert!(
            v["id"].is_null() || v["id"].is_number() || v["id"].is_string(),
            "{v}"
        );
        assert!(v["error"]["message"].is_string(), "{v}");
        v["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("no error code: {v}"))
    }

    /// The whole response without its `Date` line, for byte comparisons.
    fn without_date(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for line in self.head.split(|&b| b == b'\n') {
            if line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"date:") {
                continue;
            }
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        out.extend_from_slice(&self.body);
        out
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one response from `stream`, keeping surplus bytes in `buf`. `None`
/// at a clean EOF before any byte of a response.
async fn read_response<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> Option<Resp> {
    async fn fill<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }
    let end = loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            break end;
        }
        if !fill(stream, buf).await {
            assert!(
                buf.is_empty(),
                "connection closed mid-response: {:?}",
                String::from_utf8_lossy(buf)
            );
            return None;
        }
    };
    let head: Vec<u8> = buf.drain(..end + 4).collect();
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').unwrap();
        headers.push((
            name.trim().to_ascii_lowercase(),
            value.trim().as_bytes().to_vec(),
        ));
    }
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let body = if let Some(len) = get("content-length") {
        let len: usize = std::str::from_utf8(&len).unwrap().parse().unwrap();
        while buf.len() < len {
            assert!(fill(stream, buf).await, "EOF in body");
        }
        buf.drain(..len).collect()
    } else if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case(b"chunked")) {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = find(buf, b"\r\n") {
                    break i;
                }
                assert!(fill(stream, buf).await, "EOF in chunk size");
            };
            let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
            let size =
                usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
            buf.drain(..line_end + 2);
            while buf.len() < size + 2 {
                assert!(fill(stream, buf).await, "EOF in chunk");
            }
            body.extend(buf.drain(..size));
            buf.drain(..2);
            if size == 0 {
                break body;
            }
        }
    } else {
        Vec::new()
    };
    Some(Resp {
        status,
        head,
        headers,
        body,
    })
}

/// Sends one request on a fresh connection and reads one response.
async fn exchange(addr: SocketAddr, req: &[u8]) -> Resp {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(req).await.unwrap();
    let mut buf = Vec::new();
    read_response(&mut stream, &mut buf)
        .await
        .expect("a response")
}

/// A keep-alive connection used for several requests in turn.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Self {
        Self {
            stream: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, req: &[u8]) -> Resp {
        self.stream.write_all(req).await.unwrap();
        read_response(&mut self.stream, &mut self.buf)
            .await
            .expect("a response")
    }
}

async fn initialize(addr: SocketAddr, auth: Option<&[u8]>) -> HeaderValue {
    let extra: Vec<(&str, &[u8])> = auth.map(|a| vec![("authorization", a)]).unwrap_or_default();
    let res = exchange(addr, &legacy_post(INIT, &extra)).await;
    assert_eq!(res.status, 200, "{:?}", String::from_utf8_lossy(&res.body));
    HeaderValue::from_bytes(res.header("mcp-session-id").expect("session id")).unwrap()
}

fn ping_with(id: &[u8], auth: Option<&[u8]>) -> Vec<u8> {
    let mut extra: Vec<(&str, &[u8])> = vec![
        ("mcp-session-id", id),
        ("mcp-protocol-version", b"2025-06-18"),
    ];
    if let Some(a) = auth {
        extra.push(("authorization", a));
    }
    legacy_post(PING, &extra)
}

/// Waits (bounded) until `cond` holds; the caller's hard timeout bounds it in time.
async fn eventually(mut cond: impl FnMut() -> bool, what: &str) {
    for _ in 0..2000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}
