//! Soak test: churns sessions through all four layers for a given time and
//! prints resident memory (`VmRSS` of `/proc/self/status`) and the store's
//! counters as it goes. Not part of CI; run it through `scripts/soak.sh`.
//!
//! ```text
//! cargo run --release --example soak -- --seconds 600
//! cargo run --release --example soak -- --seconds 60 --clients 16 --idle-ms 200 --interval 5
//! ```
//!
//! One process holds the server (the demo app of `examples/streamable_http`:
//! all four layers, a `MokaSessionStore` with short timeouts, per-session
//! outboxes and GET streams) and the clients (hyper, on keep-alive connections
//! to 127.0.0.1). Each client loops: `initialize` (one in eight malformed,
//! which the handler answers with a JSON-RPC error: no session may come of
//! it), often a GET stream read in its own task, a few pings and `echo` calls
//! (which report to the stream), then one of: DELETE the session while a slow
//! `echo` is in flight, abandon it to the idle timeout (closing its stream),
//! or keep using it until the absolute lifetime ends it (404, then a new
//! `initialize`). Between sessions it sends requests the layers refuse
//! (foreign Host, foreign Origin, malformed and unknown session ids, a
//! 2026-07-28 request with a mismatching `Mcp-Name`).
//!
//! Memory is flat when, after the warm-up, `VmRSS` stops growing while
//! sessions keep being created and closed: the summary line compares the
//! first post-warm-up sample with the last one and the maximum. The demo's
//! outbox and stream counts and tokio's live task count are printed too; at
//! the end all three must be back to where they started.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

#[path = "streamable_http/app.rs"]
mod app;

use app::DemoConfig;

const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"soak","version":"1"}}}"#;
const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
/// An `initialize` without `params.protocolVersion`: the demo answers it with
/// a JSON-RPC error in a 200, and the session layer must create nothing.
const BAD_INIT: &str =
    r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"capabilities":{}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
const MODERN: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;

struct Args {
    seconds: u64,
    clients: usize,
    idle_ms: u64,
    lifetime_ms: u64,
    max_sessions: usize,
    interval: u64,
}

impl Args {
    fn parse() -> Self {
        let mut args = Self {
            seconds: 60,
            clients: 8,
            idle_ms: 300,
            lifetime_ms: 2_000,
            max_sessions: 2_000,
            interval: 10,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let mut value = || -> u64 {
                it.next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage(&format!("{flag} needs a number")))
            };
            match flag.as_str() {
                "--seconds" => args.seconds = value(),
                "--clients" => args.clients = value() as usize,
                "--idle-ms" => args.idle_ms = value(),
                "--lifetime-ms" => args.lifetime_ms = value(),
                "--max-sessions" => args.max_sessions = value() as usize,
                "--interval" => args.interval = value().max(1),
                "-h" | "--help" => usage(""),
                other => usage(&format!("unknown argument {other}")),
            }
        }
        args
    }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("soak: {problem}");
    }
    eprintln!(
        "usage: soak [--seconds N] [--clients N] [--idle-ms N] [--lifetime-ms N] [--max-sessions N] [--interval SECONDS]"
    );
    std::process::exit(2);
}

/// Resident memory of this process in KiB, from `/proc/self/status`.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    /// Malformed initializes sent (each must count in `initialize_failed`).
    failed_inits: AtomicU64,
    by_status: [AtomicU64; 6], // 2xx, 400, 403, 404, 413/429, other
}

impl Counts {
    fn note(&self, status: StatusCode) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let i = match status.as_u16() {
            200..=299 => 0,
            400 => 1,
            403 => 2,
            404 => 3,
            413 | 429 => 4,
            _ => 5,
        };
        self.by_status[i].fetch_add(1, Ordering::Relaxed);
    }
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

struct Ctx {
    client: HttpClient,
    url: String,
    counts: Counts,
    /// Readers of GET streams, joined at the end: each must end with its session.
    streams: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Ctx {
    async fn send(
        &self,
        headers: &[(&str, &[u8])],
        method: http::Method,
        body: &str,
    ) -> (StatusCode, Option<HeaderValue>) {
        match self.try_send(headers, method, body).await {
            Ok(answer) => answer,
            Err(e) => panic!("the server did not answer: {e}"),
        }
    }

    async fn try_send(
        &self,
        headers: &[(&str, &[u8])],
        method: http::Method,
        body: &str,
    ) -> Result<(StatusCode, Option<HeaderValue>), hyper_util::client::legacy::Error> {
        self.try_send_with(&self.client, headers, method, body)
            .await
    }

    async fn try_send_with(
        &self,
        client: &HttpClient,
        headers: &[(&str, &[u8])],
        method: http::Method,
        body: &str,
    ) -> Result<(StatusCode, Option<HeaderValue>), hyper_util::client::legacy::Error> {
        let mut b = http::Request::builder().method(method).uri(&self.url);
        for (n, v) in headers {
            b = b.header(*n, HeaderValue::from_bytes(v).expect("header"));
        }
        let req = b
            .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
            .expect("request");
        let res = client.request(req).await?;
        let status = res.status();
        let id = res.headers().get("mcp-session-id").cloned();
        let _ = res.into_body().collect().await;
        self.counts.note(status);
        Ok((status, id))
    }

    async fn post(&self, extra: &[(&str, &[u8])], body: &str) -> (StatusCode, Option<HeaderValue>) {
        let mut headers: Vec<(&str, &[u8])> = vec![
            ("accept", b"application/json, text/event-stream"),
            ("content-type", b"application/json"),
        ];
        headers.extend_from_slice(extra);
        self.send(&headers, http::Method::POST, body).await
    }
}

/// A small xorshift generator: the soak needs variety, not quality.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// An `echo` call, `delay_ms` slow.
fn echo(delay_ms: u64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"soak","delayMs":{delay_ms}}}}}}}"#
    )
}

/// Opens the session's GET stream and reads it in a task until it ends (the
/// session closed) or `stop` fires. The task's handle ends with the stream.
async fn open_stream(
    ctx: &Arc<Ctx>,
    id: &HeaderValue,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> Option<tokio::task::JoinHandle<()>> {
    let req = http::Request::get(&ctx.url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", id.clone())
        .header("mcp-protocol-version", "2025-06-18")
        .body(Full::default())
        .expect("request");
    let res = ctx.client.request(req).await.ok()?;
    ctx.counts.note(res.status());
    if !res.status().is_success() {
        return None;
    }
    let mut body = res.into_body();
    Some(tokio::spawn(async move {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                frame = body.frame() => match frame {
                    Some(Ok(_)) => {}
                    _ => return,
                },
                _ = &mut stop => return,
            }
        }
    }))
}

async fn client_loop(ctx: Arc<Ctx>, seed: u64, deadline: Instant, idle: Duration) {
    let mut rng = seed | 1;
    let session = |id: &HeaderValue| {
        vec![
            ("mcp-session-id", id.as_bytes().to_vec()),
            ("mcp-protocol-version", b"2025-06-18".to_vec()),
        ]
    };
    let post_on = |id: HeaderValue, body: String| {
        let ctx = Arc::clone(&ctx);
        async move {
            let h = session(&id);
            let headers: Vec<(&str, &[u8])> = h.iter().map(|(n, v)| (*n, v.as_slice())).collect();
            ctx.post(&headers, &body).await.0
        }
    };
    while Instant::now() < deadline {
        if next(&mut rng) % 8 == 0 {
            // A failed initialize: answered, but nothing may be created.
            let (status, id) = ctx.post(&[], BAD_INIT).await;
            assert!(
                id.is_none(),
                "a failed initialize got a session id ({status})"
            );
            ctx.counts.failed_inits.fetch_add(1, Ordering::Relaxed);
        }
        let (status, id) = ctx.post(&[], INIT).await;
        let Some(id) = id.filter(|_| status.is_success()) else {
            // At the limit (429): wait for expiries.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        post_on(id.clone(), INITIALIZED.to_owned()).await;
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let stream = if next(&mut rng) % 2 == 0 {
            open_stream(&ctx, &id, stopped).await
        } else {
            None
        };
        for _ in 0..(next(&mut rng) % 4) {
            post_on(id.clone(), PING.to_owned()).await;
            post_on(id.clone(), echo(0)).await;
        }
        match next(&mut rng) % 3 {
            // DELETE while a slow tool call is in flight.
            0 => {
                let call = tokio::spawn(post_on(id.clone(), echo(next(&mut rng) % 20)));
                tokio::time::sleep(Duration::from_millis(next(&mut rng) % 20)).await;
                ctx.send(
                    &[("mcp-session-id", id.as_bytes())],
                    http::Method::DELETE,
                    "",
                )
                .await;
                let _ = call.await;
            }
            // Abandon it: close its stream, and the idle timeout ends it.
            1 => {
                let _ = stop.send(());
            }
            // Keep using it (stream open) until the lifetime ends it (bounded).
            _ => {
                for _ in 0..200 {
                    if post_on(id.clone(), PING.to_owned()).await == StatusCode::NOT_FOUND
                        || Instant::now() >= deadline
                    {
                        break;
                    }
                    tokio::time::sleep(idle / 3).await;
                }
            }
        }
        if let Some(stream) = stream {
            ctx.streams
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(stream);
        }
        // Requests the layers refuse, with nothing created for them.
        let bad_id = format!(
            "{:032x}",
            u128::from(next(&mut rng)) << 64 | u128::from(next(&mut rng))
        );
        match next(&mut rng) % 5 {
            0 => {
                ctx.send(&[("host", b"evil.example")], http::Method::POST, INIT)
                    .await;
            }
            1 => {
                ctx.post(&[("origin", b"http://evil.example")], INIT).await;
            }
            2 => {
                ctx.post(&[("mcp-session-id", b"has space")], PING).await;
            }
            3 => {
                ctx.post(&[("mcp-session-id", bad_id.as_bytes())], PING)
                    .await;
            }
            _ => {
                ctx.post(
                    &[
                        ("mcp-protocol-version", b"2026-07-28"),
                        ("mcp-method", b"tools/call"),
                        ("mcp-name", b"other"),
                    ],
                    MODERN,
                )
                .await;
            }
        }
    }
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args = Args::parse();
    let idle = Duration::from_millis(args.idle_ms);
    let config = DemoConfig {
        idle_timeout: idle,
        max_lifetime: Some(Duration::from_millis(args.lifetime_ms)),
        max_sessions: args.max_sessions,
        heartbeat: Duration::from_millis(100),
        ..DemoConfig::for_tests()
    };
    let live = config.live.clone();
    let (router, store) = app::app(&config)?;
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let addr = listener.local_addr()?;
    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let tasks_at_start = alive_tasks();
    let server = tokio::spawn(app::serve(listener, router, async move {
        let _ = server_stopped.await;
    }));

    let ctx = Arc::new(Ctx {
        client: Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(args.clients * 2)
            .build_http(),
        url: format!("http://localhost:{}/mcp", addr.port()),
        counts: Counts::default(),
        streams: std::sync::Mutex::new(Vec::new()),
    });
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.seconds);
    println!(
        "soak: {}s, {} clients, idle {} ms, lifetime {} ms, max {} sessions, pid {}",
        args.seconds,
        args.clients,
        args.idle_ms,
        args.lifetime_ms,
        args.max_sessions,
        std::process::id()
    );
    println!(
        "{:>7} {:>9} {:>7} {:>8} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>6} {:>10} {:>8}",
        "t_s",
        "rss_kib",
        "active",
        "reserved",
        "created",
        "expired",
        "deleted",
        "failinit",
        "outboxes",
        "streams",
        "tasks",
        "requests",
        "refused"
    );
    let clients: Vec<_> = (0..args.clients)
        .map(|i| {
            tokio::spawn(client_loop(
                Arc::clone(&ctx),
                0x9e37_79b9_7f4a_7c15 ^ ((i as u64 + 1) * 0x1000_0001),
                deadline,
                idle,
            ))
        })
        .collect();

    let mut samples: Vec<(u64, u64)> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(args.interval));
    tick.tick().await;
    loop {
        tick.tick().await;
        let t = start.elapsed().as_secs();
        let rss = rss_kib().unwrap_or(0);
        let s = store.stats();
        let c = &ctx.counts;
        let refused: u64 = c.by_status[1..]
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .sum();
        // Stream readers that ended are joined here, so the list stays short.
        ctx.streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|h| !h.is_finished());
        println!(
            "{:>7} {:>9} {:>7} {:>8} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>6} {:>10} {:>8}",
            t,
            rss,
            s.active,
            s.reserved,
            s.created,
            s.expired(),
            s.deleted,
            s.initialize_failed,
            live.outboxes(),
            live.streams(),
            alive_tasks(),
            c.requests.load(Ordering::Relaxed),
            refused
        );
        samples.push((t, rss));
        if Instant::now() >= deadline {
            break;
        }
    }
    for c in clients {
        c.await?;
    }
    // Let the last sessions expire (their streams end with them), then report.
    tokio::time::sleep(Duration::from_millis(args.lifetime_ms + args.idle_ms + 500)).await;
    store.run_pending_tasks();
    let readers: Vec<_> =
        std::mem::take(&mut *ctx.streams.lock().unwrap_or_else(|e| e.into_inner()));
    for reader in readers {
        if tokio::time::timeout(Duration::from_secs(10), reader)
            .await
            .is_err()
        {
            println!("soak: a GET stream outlived its session");
        }
    }
    let s = store.stats();
    let c = &ctx.counts;
    let by: Vec<u64> = c
        .by_status
        .iter()
        .map(|a| a.load(Ordering::Relaxed))
        .collect();
    let requests = c.requests.load(Ordering::Relaxed);
    let failed_sent = c.failed_inits.load(Ordering::Relaxed);
    drop(ctx);
    // The client's pooled connections close, and their server tasks end.
    let mut tasks_left = alive_tasks();
    for _ in 0..50 {
        if tasks_left <= tasks_at_start + 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        tasks_left = alive_tasks();
    }
    println!(
        "final: created {} deleted {} idle_expired {} lifetime_expired {} initialize_failed {} (sent {}) active {} reserved {}",
        s.created, s.deleted, s.idle_expired, s.lifetime_expired, s.initialize_failed, failed_sent, s.active, s.reserved
    );
    println!(
        "left over: outboxes {} streams {} tasks {} (at start {}, plus the server's accept loop)",
        live.outboxes(),
        live.streams(),
        tasks_left,
        tasks_at_start
    );
    println!(
        "responses: {} total; 2xx {} 400 {} 403 {} 404 {} 413/429 {} other {}",
        requests, by[0], by[1], by[2], by[3], by[4], by[5]
    );
    // Warm-up: the first fifth of the run (at least one sample).
    let warm = (samples.len() / 5)
        .max(1)
        .min(samples.len().saturating_sub(1));
    if let (Some(first), Some(last)) = (samples.get(warm), samples.last()) {
        let max = samples[warm..].iter().map(|s| s.1).max().unwrap_or(0);
        let growth = last.1 as f64 / first.1.max(1) as f64 - 1.0;
        println!(
            "rss after warm-up: {} KiB at {}s, last {} KiB at {}s, max {} KiB, change {:+.1}%",
            first.1,
            first.0,
            last.1,
            last.0,
            max,
            growth * 100.0
        );
    }
    let _ = stop_server.send(());
    let _ = tokio::time::timeout(Duration::from_secs(15), server).await;
    let leaked = s.active != 0
        || s.reserved != 0
        || by[5] != 0
        || s.initialize_failed < failed_sent
        || live.outboxes() != 0
        || live.streams() != 0
        || tasks_left > tasks_at_start + 1;
    if leaked {
        println!("soak: FAILED (sessions, reservations, outboxes, streams or tasks left, or unexpected statuses)");
        std::process::exit(1);
    }
    Ok(())
}
