//! End to end over real TCP on 127.0.0.1: the demo's MCP handler with and
//! without the four layers, the demo itself, and rmcp's `StreamableHttpService`
//! in its default session mode, all under the same keep-alive client load.
//!
//! ```text
//! cargo bench --bench http_load                       # 5 s per run, 2 rounds
//! LOAD_SECS=10 LOAD_CONNS=64 cargo bench --bench http_load
//! cargo bench --bench http_load -- --test             # a short smoke run (CI)
//! ```
//!
//! Every connection sends `initialize` once, then `notifications/initialized`,
//! then legacy-era `tools/call` POSTs (`add`) with its `Mcp-Session-Id` and
//! `MCP-Protocol-Version`, one at a time, until the run ends. Servers run on
//! their own tokio runtime (`LOAD_SERVER_THREADS`, default 1), the client on
//! another (`LOAD_CLIENT_THREADS`, default 1). Targets run one after the other,
//! interleaved over `LOAD_ROUNDS` rounds so machine noise hits them alike.
//!
//! Settings (environment): `LOAD_SECS` (5), `LOAD_WARMUP_SECS` (1),
//! `LOAD_CONNS` (32), `LOAD_ROUNDS` (2), `LOAD_SERVER_THREADS` (1),
//! `LOAD_CLIENT_THREADS` (1), `LOAD_MEM_SESSIONS` (5000; 0 skips the memory
//! part), `LOAD_TARGETS` (comma-separated names; default all),
//! `LOAD_NO_USER_AGENT` (set: requests carry no `User-Agent`), `LOAD_REQUESTS`
//! (a fixed number of calls per connection instead of a duration, for
//! `benches/support/callgrind_http.sh`).
//!
//! The last line printed is the guarded/unguarded throughput ratio.

#[path = "../examples/streamable_http/app.rs"]
mod app;
#[path = "support/demo_handler.rs"]
mod demo_handler;
#[allow(dead_code)]
#[path = "../examples/rmcp_server.rs"]
mod rmcp_server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use bytes::Bytes;
use http::{header, HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use mcp_tower_guard::session::MokaSessionStore;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Settings {
    secs: f64,
    warmup: f64,
    conns: usize,
    rounds: usize,
    server_threads: usize,
    client_threads: usize,
    mem_sessions: usize,
    targets: Option<Vec<String>>,
    /// A fixed number of calls per connection instead of a duration (for callgrind).
    requests: Option<u64>,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a valid value")),
        Err(_) => default,
    }
}

impl Settings {
    fn from_env() -> Self {
        // `cargo bench -- --test` / `--quick`: a short smoke run unless the env says otherwise.
        let quick = std::env::args().any(|a| a == "--test" || a == "--quick");
        let (secs, warmup, conns, rounds, mem) = if quick {
            (0.5, 0.2, 4, 1, 200)
        } else {
            (5.0, 1.0, 32, 2, 5000)
        };
        Self {
            secs: env_or("LOAD_SECS", secs),
            warmup: env_or("LOAD_WARMUP_SECS", warmup),
            conns: env_or("LOAD_CONNS", conns),
            rounds: env_or("LOAD_ROUNDS", rounds),
            server_threads: env_or("LOAD_SERVER_THREADS", 1),
            client_threads: env_or("LOAD_CLIENT_THREADS", 1),
            mem_sessions: env_or("LOAD_MEM_SESSIONS", mem),
            targets: std::env::var("LOAD_TARGETS")
                .ok()
                .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect()),
            requests: std::env::var("LOAD_REQUESTS")
                .ok()
                .map(|v| v.parse().expect("LOAD_REQUESTS: a number")),
        }
    }

    fn wants(&self, name: &str) -> bool {
        self.targets
            .as_ref()
            .is_none_or(|t| t.iter().any(|n| n == name))
    }
}

// ---------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------

/// The servers under load. Every one is served by the demo's `app::serve`
/// (hyper-util auto HTTP/1.1 + h2c, TCP_NODELAY, keep-alive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// The demo handler alone.
    Unguarded,
    /// The same handler behind the four layers, wired as the demo wires them.
    Guarded,
    /// The demo itself (`examples/streamable_http/app.rs`, `app::app`).
    Demo,
    /// rmcp's `StreamableHttpService` with its defaults: `LocalSessionManager`,
    /// legacy session mode, SSE responses, rmcp's own Host check.
    RmcpDefault,
    /// `examples/rmcp_server.rs`: rmcp stateless behind the four layers.
    RmcpGuarded,
    /// rmcp with the same defaults as `RmcpDefault` (its own sessions),
    /// behind `McpGuard::server_sessions`: the guard governs rmcp's sessions.
    RmcpGoverned,
}

impl Target {
    const ALL: [Target; 6] = [
        Target::Unguarded,
        Target::Guarded,
        Target::Demo,
        Target::RmcpDefault,
        Target::RmcpGuarded,
        Target::RmcpGoverned,
    ];

    fn name(self) -> &'static str {
        match self {
            Target::Unguarded => "unguarded",
            Target::Guarded => "guarded",
            Target::Demo => "demo",
            Target::RmcpDefault => "rmcp_default",
            Target::RmcpGuarded => "rmcp_guarded",
            Target::RmcpGoverned => "rmcp_governed",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Target::Unguarded => "demo handler, no layers",
            Target::Guarded => "demo handler + 4 layers",
            Target::Demo => "demo (examples/streamable_http)",
            Target::RmcpDefault => "rmcp default (LocalSessionManager)",
            Target::RmcpGuarded => "rmcp stateless + 4 layers",
            Target::RmcpGoverned => "rmcp default + McpGuard server_sessions",
        }
    }
}

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    /// Cancels rmcp's sessions (its `cancellation_token`).
    rmcp_cancel: Option<Box<dyn FnOnce()>>,
    store: Option<MokaSessionStore>,
}

fn build(target: Target, max_sessions: usize) -> (Router, Server) {
    let blank = |store, cancel: Option<Box<dyn FnOnce()>>| Server {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        stop: None,
        rmcp_cancel: cancel,
        store,
    };
    let store = || {
        MokaSessionStore::builder()
            .max_sessions(max_sessions)
            .build()
            .expect("store")
    };
    match target {
        Target::Unguarded => (demo_handler::router(None), blank(None, None)),
        Target::Guarded => {
            let store = store();
            (
                demo_handler::router(Some(store.clone())),
                blank(Some(store), None),
            )
        }
        Target::Demo => {
            let config = app::DemoConfig {
                max_sessions,
                ..app::DemoConfig::for_tests()
            };
            let (router, store) = app::app(&config).expect("demo app");
            (router, blank(Some(store), None))
        }
        Target::RmcpDefault => {
            let (service, cancel) = rmcp_default();
            (
                Router::new().route_service("/mcp", service),
                blank(None, Some(cancel)),
            )
        }
        Target::RmcpGoverned => {
            // The very configuration of RmcpDefault, behind the whole guard.
            let (service, cancel) = rmcp_default();
            let store = store();
            let guard = mcp_tower_guard::McpGuard::local(SocketAddr::from(([127, 0, 0, 1], 0)))
                .expect("loopback")
                .server_sessions(store.clone());
            (
                Router::new().route_service("/mcp", guard.into_service(service)),
                blank(Some(store), Some(cancel)),
            )
        }
        Target::RmcpGuarded => {
            let bind = SocketAddr::from(([127, 0, 0, 1], 0));
            let (router, store, config) =
                rmcp_server::rmcp_app(bind, Duration::from_secs(30 * 60)).expect("rmcp app");
            let cancel = config.cancellation_token;
            (
                router,
                blank(Some(store), Some(Box::new(move || cancel.cancel()))),
            )
        }
    }
}

/// rmcp's `StreamableHttpService` with its defaults (`LocalSessionManager`,
/// legacy session mode, SSE answers), and what cancels its sessions.
fn rmcp_default() -> (
    StreamableHttpService<rmcp_server::DemoTools, LocalSessionManager>,
    Box<dyn FnOnce()>,
) {
    let config = StreamableHttpServerConfig::default();
    let cancel = config.cancellation_token.clone();
    let service = StreamableHttpService::new(
        || Ok(rmcp_server::DemoTools),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    (service, Box::new(move || cancel.cancel()))
}

/// Starts `target` on 127.0.0.1, port 0, on the server runtime.
fn start(rt: &Runtime, target: Target, max_sessions: usize) -> Server {
    let _guard = rt.enter();
    let (router, mut server) = build(target, max_sessions);
    let listener = rt
        .block_on(TcpListener::bind(("127.0.0.1", 0)))
        .expect("bind");
    server.addr = listener.local_addr().expect("local addr");
    let (tx, rx) = oneshot::channel::<()>();
    server.stop = Some(tx);
    rt.spawn(async move {
        let shutdown = async move {
            let _ = rx.await;
        };
        if let Err(err) = app::serve(listener, router, shutdown).await {
            eprintln!("server error: {err}");
        }
    });
    server
}

impl Server {
    fn stop(mut self) {
        if let Some(store) = &self.store {
            store.shutdown();
        }
        if let Some(cancel) = self.rmcp_cancel.take() {
            cancel();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

// ---------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------

const LEGACY: &str = "2025-11-25";
const MCP_SESSION_ID: http::HeaderName = http::HeaderName::from_static("mcp-session-id");
const MCP_PROTOCOL_VERSION: http::HeaderName =
    http::HeaderName::from_static("mcp-protocol-version");

fn initialize_body() -> Bytes {
    Bytes::from_static(
        br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"http_load","version":"1.0"}}}"#,
    )
}

fn initialized_body() -> Bytes {
    Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
}

fn call_body(id: u64) -> Bytes {
    Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"add","arguments":{{"a":{id},"b":1}}}}}}"#
    ))
}

fn post(
    host: &HeaderValue,
    body: Bytes,
    session: Option<&HeaderValue>,
    version: Option<&HeaderValue>,
) -> Request<Full<Bytes>> {
    let mut req = Request::new(Full::new(body));
    *req.method_mut() = http::Method::POST;
    *req.uri_mut() = http::Uri::from_static("/mcp");
    let h = req.headers_mut();
    h.insert(header::HOST, host.clone());
    static USER_AGENT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *USER_AGENT.get_or_init(|| std::env::var_os("LOAD_NO_USER_AGENT").is_none()) {
        h.insert(
            header::USER_AGENT,
            HeaderValue::from_static("http_load/1.0"),
        );
    }
    h.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(id) = session {
        h.insert(MCP_SESSION_ID, id.clone());
    }
    if let Some(v) = version {
        h.insert(MCP_PROTOCOL_VERSION, v.clone());
    }
    req
}

type Sender = http1::SendRequest<Full<Bytes>>;

/// One request; the status and the whole body (JSON or an SSE stream that ends).
async fn send(
    sender: &mut Sender,
    req: Request<Full<Bytes>>,
) -> Result<(StatusCode, http::HeaderMap, Bytes), String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((parts.status, parts.headers, bytes))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The `protocolVersion` of an initialize result, in a JSON or SSE body.
fn negotiated(body: &[u8]) -> Option<String> {
    let key = br#""protocolVersion":""#;
    let at = body.windows(key.len()).position(|w| w == key)? + key.len();
    let end = body[at..].iter().position(|&b| b == b'"')? + at;
    String::from_utf8(body[at..end].to_vec()).ok()
}

/// A connection with an initialized session.
struct Conn {
    sender: Sender,
    host: HeaderValue,
    session: Option<HeaderValue>,
    version: HeaderValue,
}

async fn connect(addr: SocketAddr) -> Result<Conn, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, conn) = http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let host = HeaderValue::from_str(&addr.to_string()).expect("host");
    let mut conn = Conn {
        sender,
        host,
        session: None,
        version: HeaderValue::from_static(LEGACY),
    };
    conn.initialize().await?;
    Ok(conn)
}

impl Conn {
    /// `initialize` + `notifications/initialized`: a new session on this connection.
    async fn initialize(&mut self) -> Result<(), String> {
        let req = post(&self.host, initialize_body(), None, None);
        let (status, headers, body) = send(&mut self.sender, req).await?;
        if status != StatusCode::OK {
            return Err(format!(
                "initialize: {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        // The unguarded handler has no session layer: no id, and none is needed.
        self.session = headers.get("mcp-session-id").cloned();
        let version = negotiated(&body).ok_or("initialize: no protocolVersion")?;
        self.version = HeaderValue::from_str(&version).map_err(|e| e.to_string())?;
        let req = post(
            &self.host,
            initialized_body(),
            self.session.as_ref(),
            Some(&self.version),
        );
        let (status, _, body) = send(&mut self.sender, req).await?;
        if status != StatusCode::ACCEPTED {
            return Err(format!(
                "notifications/initialized: {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        Ok(())
    }

    /// One `tools/call`; `Ok(false)` for a wrong answer.
    async fn call(&mut self, id: u64) -> Result<bool, String> {
        let req = post(
            &self.host,
            call_body(id),
            self.session.as_ref(),
            Some(&self.version),
        );
        let (status, _, body) = send(&mut self.sender, req).await?;
        let ok = status == StatusCode::OK && contains(&body, b"\"result\"");
        if !ok {
            eprintln!(
                "unexpected answer: {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        Ok(ok)
    }
}

/// CPU time (user + system) of this process's threads named `name`, from
/// `/proc/self/task/*/stat` (clock ticks of 10 ms).
fn thread_cpu(name: &str) -> Duration {
    const TICK: Duration = Duration::from_millis(10);
    let mut ticks = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid ... utime stime ...": fields after the comm.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            if &stat[open + 1..close] != name {
                continue;
            }
            let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
            // utime and stime are fields 14 and 15 of stat(5); the comm is field 2.
            let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
            ticks += field(14).unwrap_or(0) + field(15).unwrap_or(0);
        }
    }
    TICK * ticks as u32
}

/// What one run of one target measured.
#[derive(Default)]
struct RunStats {
    requests: u64,
    errors: u64,
    elapsed: Duration,
    latencies_ns: Vec<u64>,
    /// Server threads' CPU time over the measured window.
    server_cpu: Duration,
}

impl RunStats {
    fn merge(&mut self, other: RunStats) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.latencies_ns.extend(other.latencies_ns);
        self.server_cpu += other.server_cpu;
    }

    /// Server CPU time per request, in µs.
    fn cpu_us(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }

    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile_us(&mut self, p: f64) -> f64 {
        if self.latencies_ns.is_empty() {
            return f64::NAN;
        }
        self.latencies_ns.sort_unstable();
        let rank = ((p / 100.0) * self.latencies_ns.len() as f64).ceil() as usize;
        self.latencies_ns[rank.clamp(1, self.latencies_ns.len()) - 1] as f64 / 1000.0
    }
}

/// `conns` connections, each with its own session, calling until the run ends.
async fn load(addr: SocketAddr, s: &Settings) -> RunStats {
    let start = Instant::now();
    let record_from = start + Duration::from_secs_f64(s.warmup);
    let end = record_from + Duration::from_secs_f64(s.secs);
    let limit = s.requests;
    let mut tasks = Vec::new();
    for c in 0..s.conns {
        tasks.push(tokio::spawn(async move {
            let mut stats = RunStats::default();
            let mut conn = match connect(addr).await {
                Ok(conn) => conn,
                Err(err) => {
                    eprintln!("connection {c}: {err}");
                    stats.errors += 1;
                    return stats;
                }
            };
            let mut id = 1u64;
            loop {
                let t0 = Instant::now();
                let done = match limit {
                    Some(limit) => id > limit,
                    None => t0 >= end,
                };
                if done {
                    break;
                }
                let ok = conn.call(id).await;
                id += 1;
                if t0 < record_from && limit.is_none() {
                    continue;
                }
                stats.latencies_ns.push(t0.elapsed().as_nanos() as u64);
                match ok {
                    Ok(true) => stats.requests += 1,
                    Ok(false) => stats.errors += 1,
                    Err(err) => {
                        eprintln!("connection {c}: {err}");
                        stats.errors += 1;
                        break;
                    }
                }
            }
            stats
        }));
    }
    // Server CPU over the measured window (the clients start recording at `record_from`).
    if limit.is_none() {
        tokio::time::sleep_until(record_from.into()).await;
    }
    let cpu_start = thread_cpu("server");
    if limit.is_none() {
        tokio::time::sleep_until(end.into()).await;
    }
    let mut total = RunStats::default();
    for task in tasks {
        total.merge(task.await.expect("client task"));
    }
    let server_cpu = thread_cpu("server").saturating_sub(cpu_start);
    total.elapsed = match limit {
        Some(_) => start.elapsed(),
        None => end.saturating_duration_since(record_from),
    };
    total.server_cpu = server_cpu;
    total
}

// ---------------------------------------------------------------------------
// Memory per session
// ---------------------------------------------------------------------------

/// Resident set size of this process, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Gives freed heap pages back to the OS (glibc), so RSS deltas count live memory.
fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: glibc's malloc_trim has no preconditions.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// `n` sessions opened (initialize + initialized) over 8 connections, then dropped
/// from the client side (the server keeps the sessions).
async fn open_sessions(addr: SocketAddr, n: usize) -> Result<(), String> {
    const CONNS: usize = 8;
    let mut tasks = Vec::new();
    for c in 0..CONNS {
        let count = n / CONNS + usize::from(c < n % CONNS);
        tasks.push(tokio::spawn(async move {
            let mut conn = connect(addr).await?;
            for _ in 1..count {
                conn.initialize().await?;
            }
            Ok::<_, String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// Bytes of RSS per session after `n` initializes against `target` (a fresh server).
fn memory_per_session(
    server_rt: &Runtime,
    client_rt: &Runtime,
    target: Target,
    n: usize,
) -> (f64, Server) {
    let server = start(server_rt, target, n + 1_000);
    let addr = server.addr;
    client_rt
        .block_on(open_sessions(addr, 64))
        .expect("warm-up sessions");
    std::thread::sleep(Duration::from_millis(200));
    trim();
    let before = rss();
    client_rt
        .block_on(open_sessions(addr, n))
        .expect("sessions");
    std::thread::sleep(Duration::from_millis(300));
    trim();
    let after = rss();
    if let Some(store) = &server.store {
        let active = store.stats().active;
        assert!(
            active as usize >= n,
            "{}: {active} sessions open",
            target.name()
        );
    }
    (after.saturating_sub(before) as f64 / n as f64, server)
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

fn runtime(threads: usize, name: &str) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name(name)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The client's runtime: with one thread, a current-thread runtime driven by
/// `block_on` on the main thread (so only the server runs tokio worker threads,
/// which `benches/support/callgrind_http.sh` counts).
fn client_runtime(threads: usize) -> Runtime {
    if threads > 1 {
        return runtime(threads, "client");
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn main() {
    let s = Settings::from_env();
    let server_rt = runtime(s.server_threads, "server");
    let client_rt = client_runtime(s.client_threads);
    let targets: Vec<Target> = Target::ALL
        .into_iter()
        .filter(|t| s.wants(t.name()))
        .collect();

    println!(
        "http_load: {} connections, {} s per run after {} s warm-up, {} round(s); server {} thread(s), client {} thread(s); legacy tools/call \"add\" over HTTP/1.1 keep-alive",
        s.conns, s.secs, s.warmup, s.rounds, s.server_threads, s.client_threads
    );

    let max_sessions = s.conns * s.rounds + 1_000;
    let servers: Vec<(Target, Server)> = targets
        .iter()
        .map(|&t| (t, start(&server_rt, t, max_sessions)))
        .collect();

    let mut results: Vec<(Target, RunStats)> =
        targets.iter().map(|&t| (t, RunStats::default())).collect();
    for round in 0..s.rounds {
        // Alternate the order so drift (other load, thermal) does not favour one target.
        let order: Vec<usize> = if round % 2 == 0 {
            (0..servers.len()).collect()
        } else {
            (0..servers.len()).rev().collect()
        };
        for i in order {
            let (target, server) = &servers[i];
            let stats = client_rt.block_on(load(server.addr, &s));
            println!(
                "  round {} {:<14} {:>9.0} req/s  {:>6.1} µs server CPU/req  ({} errors)",
                round + 1,
                target.name(),
                stats.rps(),
                stats.cpu_us(),
                stats.errors
            );
            results[i].1.merge(stats);
        }
    }

    println!();
    println!(
        "{:<14} {:<36} {:>10} {:>9} {:>9} {:>12} {:>7}",
        "target", "", "req/s", "p50 µs", "p99 µs", "CPU µs/req", "errors"
    );
    let mut summary = Vec::new();
    for (target, stats) in &mut results {
        let (p50, p99) = (stats.percentile_us(50.0), stats.percentile_us(99.0));
        println!(
            "{:<14} {:<36} {:>10.0} {:>9.1} {:>9.1} {:>12.1} {:>7}",
            target.name(),
            target.label(),
            stats.rps(),
            p50,
            p99,
            stats.cpu_us(),
            stats.errors
        );
        summary.push((*target, stats.rps(), p99, stats.cpu_us()));
    }
    let find = |t: Target| summary.iter().find(|(x, ..)| *x == t).copied();

    if s.mem_sessions > 0 {
        println!();
        println!(
            "memory per session: VmRSS delta over {} initializes (after malloc_trim), fresh server each",
            s.mem_sessions
        );
        let mut kept = Vec::new();
        for target in [Target::Demo, Target::RmcpDefault] {
            if !s.wants(target.name()) {
                continue;
            }
            // Servers stay up until the end, so one's freed memory is not another's.
            let (bytes, server) =
                memory_per_session(&server_rt, &client_rt, target, s.mem_sessions);
            println!(
                "  {:<14} {:>9.0} bytes/session ({:.1} KiB)",
                target.name(),
                bytes,
                bytes / 1024.0
            );
            kept.push(server);
        }
        for server in kept {
            server.stop();
        }
    }

    for (_, server) in servers {
        server.stop();
    }
    std::thread::sleep(Duration::from_millis(100));

    println!();
    if let (Some((_, demo, demo_p99, _)), Some((_, rmcp, rmcp_p99, _))) =
        (find(Target::Demo), find(Target::RmcpDefault))
    {
        println!(
            "demo vs rmcp default: {demo:.0} vs {rmcp:.0} req/s ({:.2}x), p99 {demo_p99:.1} vs {rmcp_p99:.1} µs",
            demo / rmcp
        );
    }
    if let (Some((_, governed, gov_p99, gov_cpu)), Some((_, bare, bare_p99, bare_cpu))) =
        (find(Target::RmcpGoverned), find(Target::RmcpDefault))
    {
        println!(
            "rmcp governed/bare throughput ratio: {:.3} ({governed:.0} / {bare:.0} req/s; p99 {gov_p99:.1} vs {bare_p99:.1} µs; server CPU per request {gov_cpu:.1} vs {bare_cpu:.1} µs)",
            governed / bare
        );
    }
    match (find(Target::Guarded), find(Target::Unguarded)) {
        (Some((_, guarded, _, g_cpu)), Some((_, unguarded, _, u_cpu))) => println!(
            "guarded/unguarded throughput ratio: {:.3} ({guarded:.0} / {unguarded:.0} req/s; server CPU per request {g_cpu:.1} vs {u_cpu:.1} µs, ratio {:.3})",
            guarded / unguarded,
            u_cpu / g_cpu
        ),
        _ => println!("guarded/unguarded throughput ratio: n/a (LOAD_TARGETS left one out)"),
    }
    // A run with failed requests (or none at all) is not a measurement: fail, for CI.
    if let Some((target, stats)) = results
        .iter()
        .find(|(_, stats)| stats.errors > 0 || stats.requests == 0)
    {
        eprintln!(
            "http_load: {} had {} errors and {} successful requests",
            target.name(),
            stats.errors,
            stats.requests
        );
        std::process::exit(1);
    }
}
