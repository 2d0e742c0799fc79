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

/// Header lines of a raw request: name, value bytes (any bytes hyper reads).
type Headers<'a> = Vec<(&'a str, &'a [u8])>;

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
        // The request's own id where the body was read (tests/guard/headers/modern_edge.rs pins which).
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

/// Writes `count` copies of `req` back to back on one connection (HTTP/1.1
/// pipelining) while reading the answers; returns them in order.
async fn pipeline(addr: SocketAddr, req: Vec<u8>, count: usize) -> Vec<Resp> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        let batch: Vec<u8> = req.repeat(100);
        let mut left = count;
        while left > 0 {
            let n = left.min(100);
            wr.write_all(&batch[..req.len() * n]).await.unwrap();
            left -= n;
        }
        wr
    });
    let mut buf = Vec::new();
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(
            read_response(&mut rd, &mut buf)
                .await
                .expect("pipelined response"),
        );
    }
    drop(writer.await.unwrap());
    out
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

// ============================================================ floods

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initialize_flood_holds_the_cap_exactly() {
    const MAX: usize = 50;
    const CONNECTIONS: usize = 4;
    const PER_CONNECTION: usize = 5_000;
    timeout(Duration::from_secs(120), async {
        let app = serve(Config {
            max_sessions: MAX,
            ..Config::default()
        })
        .await;
        let addr = app.addr;

        // A well-behaved client with a session made before the flood.
        let mine = initialize(addr, None).await;
        let ping = ping_with(mine.as_bytes(), None);
        let mut conn = Conn::open(addr).await;
        assert_eq!(conn.send(&ping).await.status, 200);

        let flooding = Arc::new(std::sync::atomic::AtomicBool::new(true));
        // The well-behaved client keeps pinging on its own connection during the flood.
        let pinger = {
            let flooding = Arc::clone(&flooding);
            let ping = ping.clone();
            tokio::spawn(async move {
                let mut served = 0usize;
                while flooding.load(Ordering::SeqCst) {
                    let res = conn.send(&ping).await;
                    assert_eq!(res.status, 200, "existing session refused during the flood");
                    served += 1;
                    tokio::task::yield_now().await;
                }
                (served, conn)
            })
        };
        // The store never holds more than MAX slots, reservations included.
        let sampler = {
            let flooding = Arc::clone(&flooding);
            let store = app.store.clone();
            tokio::spawn(async move {
                let mut samples = 0usize;
                while flooding.load(Ordering::SeqCst) {
                    let s = store.stats();
                    assert!(s.active <= MAX as u64, "{s:?}");
                    assert!(s.active + s.reserved <= MAX as u64, "{s:?}");
                    samples += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                samples
            })
        };

        let floods: Vec<_> = (0..CONNECTIONS)
            .map(|_| tokio::spawn(pipeline(addr, legacy_post(INIT, &[]), PER_CONNECTION)))
            .collect();
        let mut ok_ids = std::collections::HashSet::new();
        let (mut ok, mut limited) = (0usize, 0usize);
        let mut checked_body = false;
        for f in floods {
            for res in f.await.unwrap() {
                match res.status {
                    200 => {
                        ok += 1;
                        let id = res
                            .header("mcp-session-id")
                            .expect("id on a created session");
                        assert!(SessionId::parse(id).is_ok());
                        assert!(ok_ids.insert(id.to_vec()), "id minted twice");
                    }
                    429 => {
                        limited += 1;
                        assert!(
                            res.header("retry-after").is_some(),
                            "429 without Retry-After"
                        );
                        assert!(res.header("mcp-session-id").is_none());
                        if !checked_body {
                            assert_eq!(res.error_code(), -32000);
                            checked_body = true;
                        }
                    }
                    other => panic!(
                        "flood answered {other}: {:?}",
                        String::from_utf8_lossy(&res.body)
                    ),
                }
            }
        }
        flooding.store(false, Ordering::SeqCst);
        let (served, mut conn) = pinger.await.unwrap();
        let samples = sampler.await.unwrap();

        let total = CONNECTIONS * PER_CONNECTION;
        assert_eq!(ok, MAX - 1, "exactly the free slots were handed out");
        assert_eq!(limited, total - (MAX - 1));
        let stats = app.store.stats();
        assert_eq!(stats.active, MAX as u64, "{stats:?}");
        assert_eq!(stats.created, MAX as u64, "{stats:?}");
        assert_eq!(stats.reserved, 0, "leaked reservations: {stats:?}");
        assert_eq!(
            stats.rejected.global_limit,
            (total - (MAX - 1)) as u64,
            "{stats:?}"
        );
        assert!(
            served >= 1 && samples >= 1,
            "served {served}, samples {samples}"
        );

        // After the flood: the existing session is still served, a freed slot
        // can be taken once, and the cap still holds.
        assert_eq!(conn.send(&ping).await.status, 200);
        let victim = ok_ids.iter().next().unwrap().clone();
        let delete = request(
            "DELETE",
            "/mcp",
            &[("host", b"localhost"), ("mcp-session-id", &victim)],
            b"",
        );
        assert_eq!(conn.send(&delete).await.status, 204);
        assert_eq!(conn.send(&legacy_post(INIT, &[])).await.status, 200);
        assert_eq!(conn.send(&legacy_post(INIT, &[])).await.status, 429);
        let stats = app.store.stats();
        assert_eq!((stats.active, stats.reserved), (MAX as u64, 0), "{stats:?}");
        eventually(
            || app.live.get() == 0,
            "request bodies are dropped with their requests",
        )
        .await;
    })
    .await
    .expect("flood test timed out");
}

// ======================================================= slow bodies

/// Headers of a POST whose body is `len` bytes long (but not sent yet).
fn post_head(len: usize) -> Vec<u8> {
    format!(
        "POST /mcp HTTP/1.1\r\nhost: localhost\r\naccept: application/json, text/event-stream\r\n\
         content-type: application/json\r\ncontent-length: {len}\r\n\r\n"
    )
    .into_bytes()
}

/// Reads until EOF (bounded by the caller's timeout): the server closed the connection.
async fn assert_closed(stream: &mut TcpStream, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 1024];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_trickled_body_gets_408_and_is_freed() {
    timeout(Duration::from_secs(60), async {
        let app = serve(Config {
            read_timeout: Duration::from_millis(500),
            ..Config::default()
        })
        .await;
        let body = PING.as_bytes();
        let stream = TcpStream::connect(app.addr).await.unwrap();
        let (mut rd, mut wr) = stream.into_split();
        wr.write_all(&post_head(body.len())).await.unwrap();
        // One byte every 100 ms: each gap is well under the 500 ms timeout,
        // the whole body would take 4 s. Stops when the server hangs up.
        let trickle = tokio::spawn(async move {
            for b in body.iter().take(body.len() - 1) {
                if wr.write_all(&[*b]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let mut buf = Vec::new();
        let res = read_response(&mut rd, &mut buf).await.expect("a response");
        assert_eq!(res.status, 408, "{:?}", String::from_utf8_lossy(&res.body));
        assert_eq!(res.error_code(), -32000);
        // The server drops the connection (the rest of the body is never read).
        let mut rest = Vec::new();
        let mut chunk = [0u8; 1024];
        while let Ok(n) = rd.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            rest.extend_from_slice(&chunk[..n]);
        }
        assert!(rest.is_empty(), "more bytes after the 408: {rest:?}");
        trickle.abort();
        eventually(|| app.live.get() == 0, "the slow body is dropped").await;
        // Nothing was created and the server still serves.
        assert_eq!(app.store.stats().created, 0);
        let id = initialize(app.addr, None).await;
        assert_eq!(
            exchange(app.addr, &ping_with(id.as_bytes(), None))
                .await
                .status,
            200
        );
    })
    .await
    .expect("slow body test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_finished_bodies_get_408() {
    timeout(Duration::from_secs(60), async {
        let app = serve(Config {
            read_timeout: Duration::from_millis(500),
            ..Config::default()
        })
        .await;
        // Content-Length announces 1000 bytes, 10 arrive.
        let mut a = TcpStream::connect(app.addr).await.unwrap();
        a.write_all(&post_head(1000)).await.unwrap();
        a.write_all(&INIT.as_bytes()[..10]).await.unwrap();
        // Chunked, one chunk, never the last chunk.
        let mut b = TcpStream::connect(app.addr).await.unwrap();
        b.write_all(
            b"POST /mcp HTTP/1.1\r\nhost: localhost\r\naccept: application/json, text/event-stream\r\n\
              content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\na\r\n{\"jsonrpc\"\r\n",
        )
        .await
        .unwrap();
        // Headers announce a body, no byte of it ever comes.
        let mut c = TcpStream::connect(app.addr).await.unwrap();
        c.write_all(&post_head(50)).await.unwrap();
        for stream in [&mut a, &mut b, &mut c] {
            let mut buf = Vec::new();
            let res = read_response(stream, &mut buf).await.expect("a response");
            assert_eq!(res.status, 408, "{:?}", String::from_utf8_lossy(&res.body));
            assert_eq!(res.error_code(), -32000);
            assert_closed(stream, &mut buf).await;
            assert!(buf.is_empty());
        }
        eventually(|| app.live.get() == 0, "unfinished bodies are dropped").await;
        let stats = app.store.stats();
        assert_eq!((stats.created, stats.reserved), (0, 0));
    })
    .await
    .expect("unfinished body test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_slow_bodies_do_not_starve_other_clients() {
    const SLOW: usize = 200;
    timeout(Duration::from_secs(90), async {
        let app = serve(Config {
            // Long enough that the well-behaved client finishes while the slow
            // ones are still being read; the test checks that order, not time.
            read_timeout: Duration::from_secs(5),
            ..Config::default()
        })
        .await;
        let mut slow = Vec::with_capacity(SLOW);
        for _ in 0..SLOW {
            let mut s = TcpStream::connect(app.addr).await.unwrap();
            s.write_all(&post_head(1000)).await.unwrap();
            s.write_all(b"{\"jsonrpc\":").await.unwrap();
            slow.push(s);
        }
        eventually(|| app.live.get() == SLOW, "all slow bodies are being read").await;

        // A well-behaved client: initialize, ping, delete, all served.
        let id = initialize(app.addr, None).await;
        let mut conn = Conn::open(app.addr).await;
        assert_eq!(conn.send(&ping_with(id.as_bytes(), None)).await.status, 200);
        let delete = request(
            "DELETE",
            "/mcp",
            &[("host", b"localhost"), ("mcp-session-id", id.as_bytes())],
            b"",
        );
        assert_eq!(conn.send(&delete).await.status, 204);
        // ...while no slow request has been answered yet.
        let mut pending = 0;
        for s in &slow {
            let mut probe = [0u8; 1];
            match s.try_read(&mut probe) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => pending += 1,
                other => {
                    panic!("a slow request was answered before the good client finished: {other:?}")
                }
            }
        }
        assert_eq!(pending, SLOW);

        // Then every slow request ends in 408 and its body is dropped.
        for s in &mut slow {
            let mut buf = Vec::new();
            let res = read_response(s, &mut buf).await.expect("a response");
            assert_eq!(res.status, 408);
            assert_eq!(res.error_code(), -32000);
        }
        eventually(|| app.live.get() == 0, "all slow bodies are dropped").await;
        let stats = app.store.stats();
        assert_eq!((stats.active, stats.reserved), (0, 0), "{stats:?}");
        // And the server still serves.
        let id = initialize(app.addr, None).await;
        assert_eq!(
            exchange(app.addr, &ping_with(id.as_bytes(), None))
                .await
                .status,
            200
        );
    })
    .await
    .expect("many slow bodies test timed out");
}

// ===================================================== header abuse

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_get_clear_4xx() {
    timeout(Duration::from_secs(60), async {
        let app = serve(Config::default()).await;
        let addr = app.addr;
        let id = initialize(addr, None).await;

        // A 100 KB Host: read by hyper, refused by the host layer (400).
        let long_host = vec![b'a'; 100 * 1024];
        let res = exchange(
            addr,
            &request(
                "POST",
                "/mcp",
                &[
                    ("host", &long_host),
                    ("accept", ACCEPT_BOTH),
                    ("content-type", b"application/json"),
                ],
                INIT.as_bytes(),
            ),
        )
        .await;
        assert_eq!(res.status, 400);
        assert_eq!(res.error_code(), -32000);
        // A long but valid-looking name: 300 bytes of labels.
        let name = vec!["a".repeat(60); 5].join(".");
        let res = exchange(
            addr,
            &request(
                "POST",
                "/mcp",
                &[("host", name.as_bytes())],
                INIT.as_bytes(),
            ),
        )
        .await;
        assert_eq!(res.status, 400);

        // A 10 KB session id: 400, the store is never asked.
        let long_id = vec![b'x'; 10 * 1024];
        let res = exchange(addr, &ping_with(&long_id, None)).await;
        assert_eq!(res.status, 400);
        assert_eq!(res.error_code(), -32000);

        // A 1 MiB header block and 200 header lines: hyper's own limits (431),
        // before any layer runs; the server keeps serving. (Hyper stops
        // reading at its limit, so the 1 MiB write may end in a reset that
        // eats the answer: any answer that does arrive must be a 4xx.)
        let huge = vec![b'h'; 1024 * 1024];
        let mut s = TcpStream::connect(addr).await.unwrap();
        let _ = s
            .write_all(&request(
                "POST",
                "/mcp",
                &[("host", b"localhost"), ("x-junk", &huge)],
                b"",
            ))
            .await;
        let mut buf = Vec::new();
        if let Some(res) = read_response(&mut s, &mut buf).await {
            assert!(
                (400..500).contains(&res.status),
                "huge header block: {}",
                res.status
            );
        }
        let many: Vec<(String, Vec<u8>)> = (0..200)
            .map(|i| (format!("x-h{i}"), b"v".to_vec()))
            .collect();
        let mut headers: Vec<(&str, &[u8])> = vec![("host", b"localhost")];
        headers.extend(many.iter().map(|(n, v)| (n.as_str(), v.as_slice())));
        // 200 header lines: a small request, so the answer is never lost to
        // a reset: hyper's 431.
        let res = exchange(addr, &request("GET", "/mcp", &headers, b"")).await;
        assert_eq!(res.status, 431, "200 headers");

        // A body over the limit announced up front: 413 before it is read.
        let res = exchange(
            addr,
            &request(
                "POST",
                "/mcp",
                &[
                    ("host", b"localhost"),
                    ("accept", ACCEPT_BOTH),
                    ("content-type", b"application/json"),
                    ("content-length", b"999999999"),
                ],
                b"",
            ),
        )
        .await;
        assert_eq!(res.status, 413);

        assert_eq!(
            exchange(addr, &ping_with(id.as_bytes(), None)).await.status,
            200
        );
        let stats = app.store.stats();
        assert_eq!((stats.active, stats.reserved), (1, 0), "{stats:?}");
    })
    .await
    .expect("oversized header test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_security_headers_are_refused() {
    timeout(Duration::from_secs(60), async {
        let app = serve(Config::default()).await;
        let addr = app.addr;
        let id = initialize(addr, None).await;
        let id = id.as_bytes();
        let base: [(&str, &[u8]); 3] = [
            ("accept", ACCEPT_BOTH),
            ("content-type", b"application/json"),
            ("mcp-protocol-version", b"2025-06-18"),
        ];
        let cases: Vec<(&str, Headers<'_>, u16)> = vec![
            (
                "two Host, both allowed",
                vec![
                    ("host", b"localhost"),
                    ("host", b"localhost"),
                    ("mcp-session-id", id),
                ],
                400,
            ),
            (
                "two Host, one foreign",
                vec![
                    ("host", b"localhost"),
                    ("host", b"evil.example"),
                    ("mcp-session-id", id),
                ],
                400,
            ),
            (
                "two Origin, both allowed",
                vec![
                    ("host", b"localhost"),
                    ("origin", b"http://localhost"),
                    ("origin", b"http://localhost"),
                    ("mcp-session-id", id),
                ],
                403,
            ),
            (
                "two Origin, one foreign",
                vec![
                    ("host", b"localhost"),
                    ("origin", b"http://localhost"),
                    ("origin", b"http://evil.example"),
                    ("mcp-session-id", id),
                ],
                403,
            ),
            (
                "two MCP-Protocol-Version",
                vec![
                    ("host", b"localhost"),
                    ("mcp-protocol-version", b"2025-06-18"),
                    ("mcp-session-id", id),
                ],
                400,
            ),
            (
                "two Mcp-Session-Id, equal",
                vec![
                    ("host", b"localhost"),
                    ("mcp-session-id", id),
                    ("mcp-session-id", id),
                ],
                400,
            ),
            (
                "two Mcp-Session-Id, one foreign",
                vec![
                    ("host", b"localhost"),
                    ("mcp-session-id", id),
                    ("mcp-session-id", b"other"),
                ],
                400,
            ),
        ];
        for (what, extra, want) in cases {
            let mut headers: Vec<(&str, &[u8])> = base.to_vec();
            headers.extend(extra);
            let res = exchange(addr, &request("POST", "/mcp", &headers, PING.as_bytes())).await;
            assert_eq!(
                res.status,
                want,
                "{what}: {:?}",
                String::from_utf8_lossy(&res.body)
            );
            assert_eq!(res.error_code(), -32000, "{what}");
        }
        // Absolute-form target naming a foreign host, with an allowed Host header.
        let res = exchange(
            addr,
            &request(
                "POST",
                "http://evil.example/mcp",
                &[
                    ("host", b"localhost"),
                    ("accept", ACCEPT_BOTH),
                    ("content-type", b"application/json"),
                ],
                INIT.as_bytes(),
            ),
        )
        .await;
        assert_eq!(res.status, 403);
        // No Host at all (HTTP/1.1 requires one; hyper lets it through, the layer does not).
        let res = exchange(
            addr,
            &request(
                "POST",
                "/mcp",
                &[
                    ("accept", ACCEPT_BOTH),
                    ("content-type", b"application/json"),
                ],
                INIT.as_bytes(),
            ),
        )
        .await;
        assert_eq!(res.status, 400);
        // The session is untouched and nothing was created.
        assert_eq!(exchange(addr, &ping_with(id, None)).await.status, 200);
        let stats = app.store.stats();
        assert_eq!(
            (stats.created, stats.active, stats.reserved),
            (1, 1, 0),
            "{stats:?}"
        );
    })
    .await
    .expect("duplicated header test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_utf8_header_bytes_get_clear_4xx() {
    timeout(Duration::from_secs(60), async {
        let app = serve(Config::default()).await;
        let addr = app.addr;
        let id = initialize(addr, None).await;
        let id = id.as_bytes();
        let modern_call = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
        // (what, headers, body, status, JSON-RPC code)
        let cases: Vec<(&str, Headers<'_>, &str, u16, i64)> = vec![
            ("Host", vec![("host", b"l\xf6calhost"), ("accept", ACCEPT_BOTH), ("content-type", b"application/json")], INIT, 400, -32000),
            ("Host UTF-8", vec![("host", "lоcalhost".as_bytes()), ("accept", ACCEPT_BOTH), ("content-type", b"application/json")], INIT, 400, -32000),
            ("Origin", vec![("host", b"localhost"), ("origin", b"http://\xfflocalhost"), ("accept", ACCEPT_BOTH), ("content-type", b"application/json")], INIT, 403, -32000),
            ("Accept", vec![("host", b"localhost"), ("accept", b"application/json, text/\xe9vent-stream"), ("content-type", b"application/json")], INIT, 406, -32000),
            ("Content-Type", vec![("host", b"localhost"), ("accept", ACCEPT_BOTH), ("content-type", b"application/json\xff")], INIT, 415, -32000),
            ("MCP-Protocol-Version", vec![("host", b"localhost"), ("accept", ACCEPT_BOTH), ("content-type", b"application/json"), ("mcp-protocol-version", b"2025-06-1\xb8"), ("mcp-session-id", id)], PING, 400, -32000),
            ("Mcp-Session-Id", vec![("host", b"localhost"), ("accept", ACCEPT_BOTH), ("content-type", b"application/json"), ("mcp-session-id", b"\xff\xfe\xfd")], PING, 400, -32000),
            ("Mcp-Name", vec![("host", b"localhost"), ("accept", ACCEPT_BOTH), ("content-type", b"application/json"), ("mcp-protocol-version", b"2026-07-28"), ("mcp-method", b"tools/call"), ("mcp-name", b"ech\xf6")], modern_call, 400, -32020),
            ("Mcp-Method", vec![("host", b"localhost"), ("accept", ACCEPT_BOTH), ("content-type", b"application/json"), ("mcp-protocol-version", b"2026-07-28"), ("mcp-method", b"tools/c\xe4ll"), ("mcp-name", b"echo")], modern_call, 400, -32020),
        ];
        for (what, headers, body, status, code) in cases {
            let res = exchange(addr, &request("POST", "/mcp", &headers, body.as_bytes())).await;
            assert_eq!(res.status, status, "{what}: {:?}", String::from_utf8_lossy(&res.body));
            assert_eq!(res.error_code(), code, "{what}");
            assert!(res.header("mcp-session-id").is_none(), "{what}");
        }
        // The well-formed modern call passes, and the legacy session still works.
        let ok: Vec<(&str, &[u8])> = vec![("host", b"localhost"), ("accept", ACCEPT_BOTH), ("content-type", b"application/json"), ("mcp-protocol-version", b"2026-07-28"), ("mcp-method", b"tools/call"), ("mcp-name", b"echo")];
        assert_eq!(exchange(addr, &request("POST", "/mcp", &ok, modern_call.as_bytes())).await.status, 200);
        assert_eq!(exchange(addr, &ping_with(id, None)).await.status, 200);
        let stats = app.store.stats();
        assert_eq!((stats.created, stats.reserved), (1, 0), "{stats:?}");
    })
    .await
    .expect("non-UTF-8 header test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_authority_without_host() {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    timeout(Duration::from_secs(60), async {
        let app = serve(Config::default()).await;
        let port = app.addr.port();
        let io = TokioIo::new(TcpStream::connect(app.addr).await.unwrap());
        let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .unwrap();
        tokio::spawn(conn);
        let send = |uri: String, host: Option<&'static str>, body: &'static str| {
            let mut b = http::Request::post(uri)
                .header("accept", "application/json, text/event-stream")
                .header("content-type", "application/json");
            if let Some(h) = host {
                b = b.header("host", h);
            }
            b.body(http_body_util::Full::new(Bytes::from_static(
                body.as_bytes(),
            )))
            .unwrap()
        };
        async fn answer(
            res: http::Response<hyper::body::Incoming>,
        ) -> (StatusCode, Option<HeaderValue>, Bytes) {
            let status = res.status();
            let id = res.headers().get("mcp-session-id").cloned();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            (status, id, body)
        }
        let code =
            |body: &Bytes| serde_json::from_slice::<Value>(body).unwrap()["error"]["code"].as_i64();

        // :authority localhost, no Host header: checked and allowed.
        let (status, id, _) = answer(
            sender
                .send_request(send(format!("http://localhost:{port}/mcp"), None, INIT))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let id = id.expect("session id over HTTP/2");
        // :authority of a rebinding attacker, no Host header: 403.
        let (status, _, body) = answer(
            sender
                .send_request(send("http://evil.example/mcp".into(), None, INIT))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(code(&body), Some(-32000));
        // :authority allowed, a foreign Host header next to it: 403.
        let (status, _, _) = answer(
            sender
                .send_request(send(
                    format!("http://localhost:{port}/mcp"),
                    Some("evil.example"),
                    INIT,
                ))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // :authority [::1] and 127.0.0.1: allowed; IPv4-mapped loopback: 403.
        for (authority, want) in [
            ("[::1]", StatusCode::OK),
            ("127.0.0.1", StatusCode::OK),
            ("[::ffff:127.0.0.1]", StatusCode::FORBIDDEN),
        ] {
            let (status, _, _) = answer(
                sender
                    .send_request(send(format!("http://{authority}:{port}/mcp"), None, INIT))
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(status, want, "{authority}");
        }
        // The session works over HTTP/2 too.
        let ping = http::Request::post(format!("http://localhost:{port}/mcp"))
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-session-id", id.clone())
            .body(http_body_util::Full::new(Bytes::from_static(
                PING.as_bytes(),
            )))
            .unwrap();
        let (status, echoed, _) = answer(sender.send_request(ping).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(echoed.as_ref(), Some(&id));
        let stats = app.store.stats();
        assert_eq!((stats.created, stats.reserved), (3, 0), "{stats:?}");
    })
    .await
    .expect("HTTP/2 test timed out");
}

// ================================================= session enumeration

/// A random visible-ASCII id, 1 to 64 bytes, from a small xorshift generator
/// (deterministic per seed, so a failure names its input).
fn random_id(state: &mut u64) -> Vec<u8> {
    let mut next = || {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    };
    if next() % 2 == 0 {
        // UUID-shaped, like the real ones.
        let hex = |n: u64, len: usize| format!("{:0width$x}", n, width = 16)[..len].to_owned();
        format!(
            "{}-{}-4{}-{}-{}",
            hex(next(), 8),
            hex(next(), 4),
            hex(next(), 3),
            hex(next(), 4),
            hex(next(), 12)
        )
        .into_bytes()
    } else {
        let len = (next() % 64 + 1) as usize;
        (0..len).map(|_| (next() % 94) as u8 + 0x21).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_enumeration_is_blind() {
    const GUESSES: usize = 2_000;
    timeout(Duration::from_secs(90), async {
        let app = serve(Config::default()).await;
        let addr = app.addr;
        let alice: &[u8] = b"Bearer alice-token";
        let bob: &[u8] = b"Bearer bob-token";
        let alices = initialize(addr, Some(alice)).await;
        let bobs = initialize(addr, Some(bob)).await;
        let doomed = initialize(addr, Some(alice)).await;
        let delete = |id: &[u8], auth: &[u8]| {
            request(
                "DELETE",
                "/mcp",
                &[
                    ("host", b"localhost"),
                    ("mcp-session-id", id),
                    ("authorization", auth),
                ],
                b"",
            )
        };
        assert_eq!(
            exchange(addr, &delete(doomed.as_bytes(), alice))
                .await
                .status,
            204
        );

        // Random ids, pipelined as Bob: none hits.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut guesses = Vec::new();
        for _ in 0..GUESSES {
            let id = random_id(&mut seed);
            assert_ne!(id, alices.as_bytes());
            assert_ne!(id, bobs.as_bytes());
            guesses.extend(ping_with(&id, Some(bob)));
        }
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut rd, mut wr) = stream.into_split();
        let writer = tokio::spawn(async move {
            wr.write_all(&guesses).await.unwrap();
            wr
        });
        let mut buf = Vec::new();
        let mut first: Option<Vec<u8>> = None;
        for i in 0..GUESSES {
            let res = read_response(&mut rd, &mut buf).await.expect("a response");
            assert_eq!(
                res.status,
                404,
                "guess {i} hit: {:?}",
                String::from_utf8_lossy(&res.body)
            );
            assert_eq!(res.error_code(), -32001);
            // Every miss looks the same.
            let bytes = res.without_date();
            match &first {
                None => first = Some(bytes),
                Some(f) => assert_eq!(&bytes, f, "guess {i} answered differently"),
            }
        }
        drop(writer.await.unwrap());
        let stats = app.store.stats();
        assert_eq!(stats.rejected.not_found, GUESSES as u64, "{stats:?}");
        assert_eq!((stats.active, stats.created), (2, 3), "{stats:?}");

        // Unknown, foreign and deleted: byte-identical answers, for POST, GET and DELETE.
        let unknown = b"00000000-0000-4000-8000-000000000000";
        for method in ["POST", "GET", "DELETE"] {
            let req = |id: &[u8], auth: Option<&[u8]>| {
                let mut headers: Vec<(&str, &[u8])> = vec![
                    ("host", b"localhost"),
                    ("mcp-session-id", id),
                    ("mcp-protocol-version", b"2025-06-18"),
                ];
                if let Some(auth) = auth {
                    headers.push(("authorization", auth));
                }
                match method {
                    "POST" => {
                        headers.push(("accept", ACCEPT_BOTH));
                        headers.push(("content-type", b"application/json"));
                        request(method, "/mcp", &headers, PING.as_bytes())
                    }
                    "GET" => {
                        headers.push(("accept", b"text/event-stream"));
                        request(method, "/mcp", &headers, b"")
                    }
                    _ => request(method, "/mcp", &headers, b""),
                }
            };
            let answers = [
                ("unknown", exchange(addr, &req(unknown, Some(bob))).await),
                (
                    "foreign",
                    exchange(addr, &req(alices.as_bytes(), Some(bob))).await,
                ),
                (
                    "deleted",
                    exchange(addr, &req(doomed.as_bytes(), Some(alice))).await,
                ),
                (
                    "foreign, anonymous",
                    exchange(addr, &req(bobs.as_bytes(), None)).await,
                ),
                (
                    "foreign, other credential",
                    exchange(addr, &req(bobs.as_bytes(), Some(b""))).await,
                ),
            ];
            let reference = answers[0].1.without_date();
            assert_eq!(answers[0].1.status, 404, "{method}");
            assert_eq!(answers[0].1.error_code(), -32001, "{method}");
            for (what, res) in &answers[1..] {
                assert_eq!(
                    res.without_date(),
                    reference,
                    "{method} {what}: {:?} vs {:?}",
                    String::from_utf8_lossy(&res.without_date()),
                    String::from_utf8_lossy(&reference)
                );
            }
        }
        // Bob's attempts did not touch Alice's session: she is still served,
        // and her session was not deleted by Bob's DELETE.
        assert_eq!(
            exchange(addr, &ping_with(alices.as_bytes(), Some(alice)))
                .await
                .status,
            200
        );
        assert_eq!(
            exchange(addr, &ping_with(bobs.as_bytes(), Some(bob)))
                .await
                .status,
            200
        );
        let stats = app.store.stats();
        assert_eq!((stats.active, stats.deleted), (2, 1), "{stats:?}");
        assert_eq!(stats.rejected.foreign_principal, 9, "{stats:?}");
    })
    .await
    .expect("enumeration test timed out");
}

// ============================================== advisories as regressions

/// rmcp CVE-2026-63128: a POST that is not `initialize` and carries no
/// session id must take no session slot (the advisory's server reserved
/// one before it looked at the method). Any number of them leave the table
/// empty, and the full cap is still there for real `initialize`s.
#[tokio::test]
async fn advisory_rmcp_non_initialize_posts_without_a_session_take_no_slot() {
    timeout(Duration::from_secs(60), async {
        let app = serve(Config {
            max_sessions: 2,
            ..Config::default()
        })
        .await;
        let bodies = [
            PING,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":4,"result":{}}"#,
            r#"[{"jsonrpc":"2.0","id":5,"method":"ping"},{"jsonrpc":"2.0","id":6,"method":"ping"}]"#,
            // Not initialize for any check: the key is case-sensitive.
            r#"{"jsonrpc":"2.0","id":7,"Method":"initialize","method":"ping"}"#,
        ];
        let mut conn = Conn::open(app.addr).await;
        for round in 0..50 {
            for body in bodies {
                let res = conn.send(&legacy_post(body, &[])).await;
                assert_eq!(res.status, 400, "round {round}: {body}");
                assert_eq!(res.error_code(), -32000, "{body}: missing session id");
            }
        }
        let stats = app.store.stats();
        assert_eq!(
            (stats.active, stats.reserved, stats.created),
            (0, 0, 0),
            "{stats:?}"
        );
        assert_eq!(stats.rejected.missing_id, 50 * bodies.len() as u64);
        // The whole cap is free: two sessions, then 429.
        initialize(app.addr, None).await;
        initialize(app.addr, None).await;
        let third = exchange(app.addr, &legacy_post(INIT, &[])).await;
        assert_eq!(third.status, 429);
    })
    .await
    .expect("bounded");
}

/// The headers layer alone, in front of a handler that answers with the
/// exact body it received.
async fn serve_echoing_bodies() -> SocketAddr {
    async fn echo_body(req: Request) -> Response {
        let bytes = req.into_body().collect().await.unwrap().to_bytes();
        let seen = String::from_utf8_lossy(&bytes).into_owned();
        axum::Json(serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": {"seen": seen}}))
            .into_response()
    }
    let layers = ServiceBuilder::new()
        .layer(HostCheckLayer::localhost())
        .layer(OriginGuardLayer::localhost())
        .layer(McpHeadersLayer::new());
    let app = Router::new().route("/mcp", any(echo_body)).layer(layers);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A 2026-07-28 POST of `body` with `Mcp-Method` and `Mcp-Name`.
fn modern_post(body: &str, method: &[u8], name: Option<&[u8]>) -> Vec<u8> {
    let mut headers: Vec<(&str, &[u8])> = vec![
        ("host", b"localhost"),
        ("accept", ACCEPT_BOTH),
        ("content-type", b"application/json"),
        ("mcp-protocol-version", b"2026-07-28"),
        ("mcp-method", method),
    ];
    if let Some(name) = name {
        headers.push(("mcp-name", name));
    }
    request("POST", "/mcp", &headers, body.as_bytes())
}

/// Go SDK CVE-2026-27896: its JSON decoder matched keys case-insensitively
/// (and with Unicode folding), so `"Method"` or `"paramſ"` (long s) could
/// stand in for `method`/`params` in one parser and not in another. Here
/// keys match exactly: a look-alike key is no `method`, `params` or `_meta`
/// for any check, and the inner service gets the very bytes the guard
/// judged, so it cannot read a different message.
#[tokio::test]
async fn advisory_go_sdk_json_keys_match_case_sensitively() {
    timeout(Duration::from_secs(60), async {
        let addr = serve_echoing_bodies().await;
        const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
        // `paramſ` names another tool: the guard judged `params.name` (echo).
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{{}},{META}}},"paramſ":{{"name":"deploy"}},"Params":{{"name":"deploy"}}}}"#
        );
        let res = exchange(addr, &modern_post(&body, b"tools/call", Some(b"deploy"))).await;
        assert_eq!((res.status, res.error_code()), (400, -32020));
        let res = exchange(addr, &modern_post(&body, b"tools/call", Some(b"echo"))).await;
        assert_eq!(res.status, 200, "{:?}", String::from_utf8_lossy(&res.body));
        assert_eq!(res.json()["result"]["seen"], body.as_str(), "the same bytes");

        // `Method` is not `method`: the header is compared with the real one.
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"Method":"tools/call","method":"tools/list","params":{{{META}}}}}"#
        );
        let res = exchange(addr, &modern_post(&body, b"tools/call", None)).await;
        assert_eq!((res.status, res.error_code()), (400, -32020));
        let res = exchange(addr, &modern_post(&body, b"tools/list", None)).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.json()["result"]["seen"], body.as_str());

        // Only look-alikes: no method at all (-32600), no `_meta` (-32602).
        let body = format!(r#"{{"jsonrpc":"2.0","id":1,"METHOD":"tools/list","params":{{{META}}}}}"#);
        let res = exchange(addr, &modern_post(&body, b"tools/list", None)).await;
        assert_eq!((res.status, res.error_code()), (400, -32600));
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{{{}}}}}"#,
            META.replace("_meta", "_META")
        );
        let res = exchange(addr, &modern_post(&body, b"tools/list", None)).await;
        assert_eq!((res.status, res.error_code()), (400, -32602));
    })
    .await
    .expect("bounded");
}
