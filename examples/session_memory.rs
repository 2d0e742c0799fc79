//! Memory per idle session and the time the store takes to expire them.
//!
//! ```text
//! cargo run --release --example session_memory -- --sessions 1000000
//! cargo run --release --example session_memory -- --sessions 100000
//! cargo run --release --example session_memory -- --sessions 100000 --hyper-buffers
//! ```
//!
//! `SessionContext` has no public constructor, so sessions are made the way a
//! server makes them: an `initialize` POST through [`McpSessionLayer`] (on a
//! trivial inner service, driven with `tower::ServiceExt` on a current-thread
//! runtime), which reserves, builds the context and commits it to a
//! [`MokaSessionStore`]. Each request carries `User-Agent` and `Origin`, which
//! the session keeps as its `ClientInfo`.
//!
//! What is measured:
//!
//! 1. **Bytes per idle session**: the growth of `VmRSS` (from
//!    `/proc/self/status`, after `malloc_trim(0)`, so freed heap pages are not
//!    counted) from before the first `initialize` to after the last, divided
//!    by N. It includes everything the process keeps per session: the moka entry
//!    and its bookkeeping, the `SessionContext`, the id, the client info.
//! 2. **Expiry**: the store is built with an idle timeout a little longer
//!    than creating N sessions takes (calibrated on a first batch) and without
//!    the maintenance task. Once the last session's idle deadline has passed,
//!    `run_pending_tasks()` is called in a loop until `stats().active == 0`.
//!    Reported: the time spent inside those calls (the expiry *work*: finding,
//!    removing and reporting every session, close hook included), and the wall
//!    time from the last deadline until the store was empty (the expiry
//!    *latency*, which includes moka's timer-wheel granularity of about 1 s).
//! 3. **Shutdown**: the same N sessions again, closed by `shutdown()`.
//! 4. **moka alone**: N entries keyed by a `SessionId` with a one-byte value,
//!    in a `moka::sync::Cache` configured like the store's (LRU policy,
//!    per-entry expiry, an eviction listener): the part of (1) that is moka's
//!    bookkeeping and the id, not the session itself. The same entries are
//!    then expired (a deadline of 2 s, or 20 µs per entry if longer;
//!    `run_pending_tasks()` in a loop once it has passed): the part of (2)
//!    that is moka's own removal work, the floor of any moka-backed store.
//!
//! With `--hyper-buffers`, each request's header values are slices of an 8 KiB
//! buffer, as hyper's HTTP/1 parser makes them (slices of its read buffer), to
//! show what a session keeps alive when it clones such a value.

use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use mcp_tower_guard::session::{McpSessionLayer, MokaSessionStore, SessionId};
use tower::{Layer, Service, ServiceExt};

const USAGE: &str = "\
usage: session_memory [--sessions N] [--hyper-buffers]

  --sessions N       sessions to create (default 100000)
  --hyper-buffers    header values share an 8 KiB buffer per request, as hyper's";

const INITIALIZE: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"session_memory","version":"1.0"}}}"#;
const USER_AGENT: &str = "session-memory-client/1.0 (rmcp 3.9)";
const ORIGIN: &str = "http://localhost:6274";
const PING: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
/// hyper's initial HTTP/1 read buffer.
const HYPER_READ_BUFFER: usize = 8192;

struct Args {
    sessions: usize,
    hyper_buffers: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        sessions: 100_000,
        hyper_buffers: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--sessions" => {
                let v = it.next().ok_or("--sessions needs a value")?;
                args.sessions = v
                    .replace('_', "")
                    .parse()
                    .map_err(|_| format!("--sessions {v:?}: expected a number"))?;
            }
            "--hyper-buffers" => args.hyper_buffers = true,
            "-h" | "--help" => return Err(String::new()),
            // `cargo bench`/`cargo test` style flags are ignored.
            other if other.starts_with("--") => {}
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    if args.sessions == 0 {
        return Err("--sessions must be at least 1".to_owned());
    }
    Ok(args)
}

/// Resident set size of this process, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Gives freed heap pages back to the OS (glibc), so RSS counts live memory only.
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

/// `User-Agent` and `Origin` values: slices of one fresh 8 KiB buffer per
/// request (as hyper's HTTP/1 parser makes them), or static values.
fn client_headers(hyper_buffers: bool) -> (HeaderValue, HeaderValue) {
    if !hyper_buffers {
        return (
            HeaderValue::from_static(USER_AGENT),
            HeaderValue::from_static(ORIGIN),
        );
    }
    let mut buf = vec![b' '; HYPER_READ_BUFFER];
    let (ua, origin) = (USER_AGENT.as_bytes(), ORIGIN.as_bytes());
    buf[..ua.len()].copy_from_slice(ua);
    buf[ua.len()..ua.len() + origin.len()].copy_from_slice(origin);
    let buf = Bytes::from(buf);
    let slice = |from: usize, len: usize| {
        HeaderValue::from_maybe_shared(buf.slice(from..from + len)).expect("visible ASCII")
    };
    (slice(0, ua.len()), slice(ua.len(), origin.len()))
}

fn initialize(hyper_buffers: bool) -> Request<Full<Bytes>> {
    let mut req = Request::new(Full::new(Bytes::from_static(INITIALIZE)));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = http::Uri::from_static("/mcp");
    let (user_agent, origin) = client_headers(hyper_buffers);
    let h = req.headers_mut();
    h.insert(header::HOST, HeaderValue::from_static("localhost:8000"));
    h.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::USER_AGENT, user_agent);
    h.insert(header::ORIGIN, origin);
    req
}

type Svc = mcp_tower_guard::session::McpSession<
    tower::util::ServiceFn<
        fn(Request<Full<Bytes>>) -> std::future::Ready<Result<Response<Full<Bytes>>, Infallible>>,
    >,
    mcp_tower_guard::JsonRpcRejection,
>;

fn service(store: &MokaSessionStore) -> Svc {
    fn ok(
        _req: Request<Full<Bytes>>,
    ) -> std::future::Ready<Result<Response<Full<Bytes>>, Infallible>> {
        // A JSON-RPC result for the request's id, as JSON: what commits a session.
        let mut res = Response::new(Full::new(Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
        )));
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        std::future::ready(Ok(res))
    }
    McpSessionLayer::new(store.clone()).layer(tower::service_fn(ok as fn(_) -> _))
}

/// `n` sessions through the layer; the time it took.
fn create(rt: &tokio::runtime::Runtime, svc: &mut Svc, n: usize, hyper_buffers: bool) -> Duration {
    let start = Instant::now();
    rt.block_on(async {
        for _ in 0..n {
            let res = svc
                .ready()
                .await
                .expect("infallible")
                .call(initialize(hyper_buffers))
                .await
                .expect("infallible");
            assert_eq!(res.status(), StatusCode::OK, "initialize refused");
        }
    });
    start.elapsed()
}

fn store(idle: Duration, max: usize, closed: &Arc<AtomicU64>) -> MokaSessionStore {
    let closed = Arc::clone(closed);
    MokaSessionStore::builder()
        .idle_timeout(idle)
        .max_sessions(max)
        .no_maintenance_task()
        .on_closed(move |_session, _cause| {
            closed.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .expect("store")
}

/// Bytes per entry of a bare moka cache configured like the store's, and the
/// work of expiring those entries.
fn moka_alone(n: usize) -> (f64, Duration) {
    use moka::policy::{EvictionPolicy, Expiry};

    /// Long enough that no entry expires while the cache fills, even on a
    /// slow or busy machine (at 20 µs an insert), then every one does.
    struct Idle(Duration);
    impl Expiry<SessionId, Arc<u8>> for Idle {
        fn expire_after_create(&self, _: &SessionId, _: &Arc<u8>, _: Instant) -> Option<Duration> {
            Some(self.0)
        }
        fn expire_after_read(
            &self,
            _: &SessionId,
            _: &Arc<u8>,
            _: Instant,
            _: Option<Duration>,
            _: Instant,
        ) -> Option<Duration> {
            Some(self.0)
        }
    }
    let deadline = Duration::from_secs(2).max(Duration::from_micros(20) * n as u32);

    trim();
    let before = rss();
    let cache = moka::sync::Cache::builder()
        .eviction_policy(EvictionPolicy::lru())
        .expire_after(Idle(deadline))
        .eviction_listener(|_, _, _| {})
        .build();
    for _ in 0..n {
        cache.insert(SessionId::new_random(), Arc::new(0u8));
    }
    cache.run_pending_tasks();
    trim();
    let after = rss();
    assert_eq!(cache.entry_count(), n as u64);
    let per = after.saturating_sub(before) as f64 / n as f64;
    // Every deadline has passed (plus moka's timer-wheel granularity).
    std::thread::sleep(deadline + Duration::from_millis(1500));
    let mut work = Duration::ZERO;
    for _ in 0..10_000 {
        if cache.entry_count() == 0 {
            break;
        }
        let t = Instant::now();
        cache.run_pending_tasks();
        work += t.elapsed();
    }
    drop(cache);
    trim();
    (per, work)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Sessions kept busy while the others expire (section 2).
const HOT: usize = 200;
const QUIET: u8 = 0;
const EXPIRING: u8 = 1;
const DONE: u8 = 2;

/// `n` more sessions; their ids.
fn create_hot(rt: &tokio::runtime::Runtime, svc: &mut Svc, n: usize) -> Vec<HeaderValue> {
    rt.block_on(async {
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            let res = svc
                .ready()
                .await
                .expect("infallible")
                .call(initialize(false))
                .await
                .expect("infallible");
            ids.push(res.headers()["mcp-session-id"].clone());
        }
        ids
    })
}

/// Pings the `hot` sessions round robin until `phase` is `DONE`; the latency
/// of each request in µs, quiet and during expiry.
fn ping_loop(mut svc: Svc, hot: Vec<HeaderValue>, phase: &AtomicU8) -> (Vec<f64>, Vec<f64>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (mut quiet, mut busy) = (Vec::new(), Vec::new());
    let mut sent = 0u64;
    rt.block_on(async {
        for id in hot.iter().cycle() {
            let now = phase.load(Ordering::Acquire);
            if now == DONE {
                break;
            }
            let mut req = Request::new(Full::new(Bytes::from_static(PING)));
            *req.method_mut() = Method::POST;
            *req.uri_mut() = http::Uri::from_static("/mcp");
            req.headers_mut().insert("mcp-session-id", id.clone());
            let t = Instant::now();
            let res = svc
                .ready()
                .await
                .expect("infallible")
                .call(req)
                .await
                .expect("infallible");
            let took = t.elapsed().as_secs_f64() * 1e6;
            assert_eq!(res.status(), StatusCode::OK, "a busy session was lost");
            if now == QUIET {
                quiet.push(took)
            } else {
                busy.push(took)
            }
            // Yield the core now and then: the machine may have two.
            sent += 1;
            if sent % 64 == 0 {
                std::thread::yield_now();
            }
        }
    });
    (quiet, busy)
}

/// The 99th percentile of `samples` (0 when empty).
fn p99(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)]
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(err) => {
            if !err.is_empty() {
                eprintln!("error: {err}");
            }
            eprintln!("{USAGE}");
            return if err.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let n = args.sessions;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let closed = Arc::new(AtomicU64::new(0));

    // Calibrate: how long does one initialize take? (A throwaway store.)
    let calibration = (n / 20).clamp(1_000, 20_000).min(n);
    let per_session = {
        let s = store(Duration::from_secs(3600), calibration, &closed);
        let mut svc = service(&s);
        create(&rt, &mut svc, calibration, args.hyper_buffers) / calibration as u32
    };
    // Long enough that no session idles out while the others are being made.
    let idle = (per_session * n as u32) * 2 + Duration::from_secs(2);
    closed.store(0, Ordering::Relaxed);

    println!(
        "session_memory: {n} sessions through McpSessionLayer + MokaSessionStore ({})",
        if args.hyper_buffers {
            "header values sharing an 8 KiB buffer per request, as hyper's"
        } else {
            "header values in their own small allocations"
        }
    );

    // 1. Memory.
    let s = store(idle, n + HOT, &closed);
    let mut svc = service(&s);
    trim();
    let before = rss();
    let took = create(&rt, &mut svc, n, args.hyper_buffers);
    let created_at = Instant::now();
    trim();
    let after = rss();
    assert_eq!(s.stats().active, n as u64);
    let per = after.saturating_sub(before) as f64 / n as f64;
    println!(
        "created:  {n} sessions in {:.2} s ({:.2} µs each through the layer)",
        took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / n as f64
    );
    println!(
        "memory:   VmRSS {:.1} MiB -> {:.1} MiB: {per:.0} bytes per idle session",
        mib(before),
        mib(after)
    );

    // 2. Expiry: wait until the last deadline has passed, then run moka's pending work.
    //    Meanwhile another thread keeps HOT sessions busy with requests through
    //    the layer and times each one: quiet (before the deadline) and while the
    //    others expire.
    let hot = create_hot(&rt, &mut svc, HOT);
    let phase = Arc::new(AtomicU8::new(QUIET));
    let pinger = {
        let (svc, phase) = (svc.clone(), Arc::clone(&phase));
        std::thread::spawn(move || ping_loop(svc, hot, &phase))
    };
    println!(
        "expiry:   idle timeout {:.2} s; waiting for the last deadline",
        idle.as_secs_f64()
    );
    let deadline = created_at + idle;
    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
    phase.store(EXPIRING, Ordering::Release);
    let mut work = Duration::ZERO;
    let mut calls = 0u32;
    while s.stats().active > HOT as u64 {
        let t = Instant::now();
        s.run_pending_tasks();
        work += t.elapsed();
        calls += 1;
        if s.stats().active > HOT as u64 {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            deadline.elapsed() < Duration::from_secs(120),
            "sessions did not expire"
        );
    }
    let latency = deadline.elapsed();
    phase.store(DONE, Ordering::Release);
    let (quiet, busy) = pinger.join().expect("ping thread");
    let expired = s.stats().expired();
    assert_eq!(closed.load(Ordering::Relaxed), n as u64);
    println!(
        "expiry:   {expired} sessions expired: {:.1} ms of work in {calls} run_pending_tasks calls \
         ({:.0} ns per session); store empty {:.0} ms after the last deadline",
        work.as_secs_f64() * 1e3,
        work.as_nanos() as f64 / n as f64,
        latency.as_secs_f64() * 1e3
    );
    println!(
        "lookups:  {HOT} busy sessions, requests through the layer on another thread: \
         p99 {:.1} µs quiet ({} requests), {:.1} µs while the others expire ({} requests): {:.2}x",
        p99(&quiet),
        quiet.len(),
        p99(&busy),
        busy.len(),
        p99(&busy) / p99(&quiet).max(f64::MIN_POSITIVE)
    );
    drop(svc);
    drop(s);

    // 3. Shutdown: explicit close of every session.
    closed.store(0, Ordering::Relaxed);
    let s = store(Duration::from_secs(3600), n, &closed);
    let mut svc = service(&s);
    create(&rt, &mut svc, n, args.hyper_buffers);
    let t = Instant::now();
    s.shutdown();
    let took = t.elapsed();
    assert_eq!(s.stats().active, 0);
    assert_eq!(closed.load(Ordering::Relaxed), n as u64);
    println!(
        "shutdown: {n} sessions closed in {:.1} ms ({:.0} ns per session)",
        took.as_secs_f64() * 1e3,
        took.as_nanos() as f64 / n as f64
    );
    drop(svc);
    drop(s);

    // 4. What moka and the id take on their own.
    let (alone, moka_expiry) = moka_alone(n);
    println!(
        "moka:     {alone:.0} bytes per entry for a bare moka cache (same policy, expiry and \
         listener; SessionId key, 1-byte value): the session itself is the other {:.0}",
        per - alone
    );
    println!(
        "moka:     expiring those {n} entries: {:.1} ms of work ({:.0} ns per entry): \
         moka's own floor for (2)",
        moka_expiry.as_secs_f64() * 1e3,
        moka_expiry.as_nanos() as f64 / n as f64
    );
    ExitCode::SUCCESS
}
