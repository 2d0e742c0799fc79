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
//!
//! Its parts, in `benches/http_load/`: `servers.rs` (building and starting
//! the targets), `client.rs` (the load client and its measurements) and
//! `memory.rs` (memory per session).

#[path = "../examples/streamable_http/app.rs"]
mod app;
#[path = "support/demo_handler.rs"]
mod demo_handler;
#[allow(dead_code)]
#[path = "../examples/rmcp_server.rs"]
mod rmcp_server;

#[path = "http_load/client.rs"]
mod client;
#[path = "http_load/memory.rs"]
mod memory;
#[path = "http_load/servers.rs"]
mod servers;

use client::{connect, load};
use memory::memory_per_session;
use servers::start;

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
    /// The same handler with the four layers around the whole router, outside
    /// axum (no route boxed again by `Router::layer` or `route_layer`).
    GuardedOuter,
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
    const ALL: [Target; 7] = [
        Target::Unguarded,
        Target::Guarded,
        Target::GuardedOuter,
        Target::Demo,
        Target::RmcpDefault,
        Target::RmcpGuarded,
        Target::RmcpGoverned,
    ];

    fn name(self) -> &'static str {
        match self {
            Target::Unguarded => "unguarded",
            Target::Guarded => "guarded",
            Target::GuardedOuter => "guarded_outer",
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
            Target::GuardedOuter => "demo handler + 4 layers outside axum",
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
