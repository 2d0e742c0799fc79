//! Soak test: churns sessions through all four layers for a given time and
//! prints resident memory (`VmRSS` of `/proc/self/status`) and the store's
//! counters as it goes. Not part of CI; run it through `scripts/soak.sh`.
//!
//! ```text
//! cargo run --release --example soak -- --seconds 600
//! cargo run --release --example soak -- --seconds 60 --clients 16 --idle-ms 200 --interval 5
//! ```
//!
//! One process holds the server (axum, Host → Origin → Headers → Session
//! over a `MokaSessionStore` with short timeouts) and the clients (hyper, on
//! keep-alive connections to 127.0.0.1). Each client loops: `initialize`, a
//! few pings, then one of: DELETE the session, abandon it to the idle
//! timeout, or keep pinging it until the absolute lifetime ends it (404, then
//! a new `initialize`). Between sessions it sends requests the layers refuse
//! (foreign Host, foreign Origin, malformed and unknown session ids, a
//! 2026-07-28 request with a mismatching `Mcp-Name`, an oversized body).
//!
//! Memory is flat when, after the warm-up, `VmRSS` stops growing while
//! sessions keep being created and closed: the summary line compares the
//! first post-warm-up sample with the last one and the maximum.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mcp_tower_guard::envelope::Envelope;
use mcp_tower_guard::session::MokaSessionStore;
use mcp_tower_guard::{HostCheckLayer, McpHeadersLayer, McpSessionLayer, OriginGuardLayer};
use tower::ServiceBuilder;

const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"soak","version":"1"}}}"#;
const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
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

async fn handler(req: Request) -> Response {
    let envelope = req.extensions().get::<Envelope>().cloned();
    let _ = req.into_body().collect().await;
    match envelope {
        Some(env) if env.only_notifications_or_responses() => StatusCode::ACCEPTED.into_response(),
        _ => (
            [(http::header::CONTENT_TYPE, "application/json")],
            r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
        )
            .into_response(),
    }
}

#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    /// Oversized requests whose connection was closed before the 413 was read.
    closed: AtomicU64,
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
    /// A client without a connection pool, for the oversized requests: the
    /// server closes a connection whose body it refused unread (413), and a
    /// pooled connection closed that way would fail the next request on it.
    one_shot: HttpClient,
    url: String,
    counts: Counts,
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

async fn client_loop(ctx: Arc<Ctx>, seed: u64, deadline: Instant, idle: Duration) {
    let mut rng = seed | 1;
    while Instant::now() < deadline {
        let (status, id) = ctx.post(&[], INIT).await;
        let Some(id) = id.filter(|_| status.is_success()) else {
            // At the limit (429): wait for expiries.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let ping = |id: HeaderValue| {
            let ctx = Arc::clone(&ctx);
            async move {
                ctx.post(
                    &[
                        ("mcp-session-id", id.as_bytes()),
                        ("mcp-protocol-version", b"2025-06-18"),
                    ],
                    PING,
                )
                .await
                .0
            }
        };
        for _ in 0..(next(&mut rng) % 5) {
            ping(id.clone()).await;
        }
        match next(&mut rng) % 3 {
            // DELETE.
            0 => {
                ctx.send(
                    &[("mcp-session-id", id.as_bytes())],
                    http::Method::DELETE,
                    "",
                )
                .await;
            }
            // Abandon it: the idle timeout ends it.
            1 => {}
            // Keep using it until the lifetime ends it (bounded).
            _ => {
                for _ in 0..200 {
                    if ping(id.clone()).await == StatusCode::NOT_FOUND || Instant::now() >= deadline
                    {
                        break;
                    }
                    tokio::time::sleep(idle / 3).await;
                }
            }
        }
        // Requests the layers refuse, with nothing created for them.
        let bad_id = format!(
            "{:032x}",
            u128::from(next(&mut rng)) << 64 | u128::from(next(&mut rng))
        );
        let oversized = "x".repeat(70 * 1024);
        match next(&mut rng) % 6 {
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
            4 => {
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
            _ => {
                // 413 is sent as soon as Content-Length is read; the server
                // then closes the connection without reading the body, so
                // the client may see the reset instead of the answer.
                let headers: [(&str, &[u8]); 2] = [
                    ("accept", b"application/json, text/event-stream"),
                    ("content-type", b"application/json"),
                ];
                if ctx
                    .try_send_with(&ctx.one_shot, &headers, http::Method::POST, &oversized)
                    .await
                    .is_err()
                {
                    ctx.counts.closed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let idle = Duration::from_millis(args.idle_ms);
    let store = MokaSessionStore::builder()
        .idle_timeout(idle)
        .max_lifetime(Duration::from_millis(args.lifetime_ms))
        .max_sessions(args.max_sessions)
        .maintenance_interval(Duration::from_millis(100))
        .build()?;
    let layers = ServiceBuilder::new()
        .layer(HostCheckLayer::localhost())
        .layer(OriginGuardLayer::localhost())
        .layer(McpHeadersLayer::new().max_body_bytes(64 * 1024)?)
        .layer(McpSessionLayer::new(store.clone()));
    let app = Router::new().route("/mcp", any(handler)).layer(layers);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("soak: server stopped: {e}");
        }
    });

    let ctx = Arc::new(Ctx {
        client: Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(args.clients)
            .build_http(),
        one_shot: Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http(),
        url: format!("http://localhost:{}/mcp", addr.port()),
        counts: Counts::default(),
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
        "{:>7} {:>9} {:>7} {:>8} {:>9} {:>9} {:>8} {:>10} {:>8}",
        "t_s",
        "rss_kib",
        "active",
        "reserved",
        "created",
        "expired",
        "deleted",
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
        println!(
            "{:>7} {:>9} {:>7} {:>8} {:>9} {:>9} {:>8} {:>10} {:>8}",
            t,
            rss,
            s.active,
            s.reserved,
            s.created,
            s.expired(),
            s.deleted,
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
    // Let the last sessions expire, then report.
    tokio::time::sleep(Duration::from_millis(args.lifetime_ms + 500)).await;
    store.run_pending_tasks();
    let s = store.stats();
    let c = &ctx.counts;
    let by: Vec<u64> = c
        .by_status
        .iter()
        .map(|a| a.load(Ordering::Relaxed))
        .collect();
    println!(
        "final: created {} deleted {} idle_expired {} lifetime_expired {} active {} reserved {}",
        s.created, s.deleted, s.idle_expired, s.lifetime_expired, s.active, s.reserved
    );
    println!(
        "responses: {} total (+{} oversized closed before the 413 was read); 2xx {} 400 {} 403 {} 404 {} 413/429 {} other {}",
        c.requests.load(Ordering::Relaxed),
        c.closed.load(Ordering::Relaxed),
        by[0],
        by[1],
        by[2],
        by[3],
        by[4],
        by[5]
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
    let leaked = s.active != 0 || s.reserved != 0 || by[5] != 0;
    if leaked {
        println!("soak: FAILED (sessions or reservations left, or unexpected statuses)");
        std::process::exit(1);
    }
    Ok::<(), Box<dyn std::error::Error>>(())
}
