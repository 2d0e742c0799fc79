//! Per-request cost of each layer, and of all four, around a trivial inner service.
//!
//! ```text
//! cargo bench --bench overhead                      # full run
//! cargo bench --bench overhead -- --quick           # shorter
//! cargo bench --bench overhead -- --test            # run each once (CI)
//! ```
//!
//! Every benchmark builds its request inside the timed loop (the same way for
//! `bare` and the layered services), sends it with `ready().call()` on a
//! current-thread tokio runtime, and drops the response. The difference to
//! `bare` (POST) or `bare_get` (GET) is the layer's cost. See BENCHMARKS.md.
//!
//! Instruction counts (repeatable on a shared machine): with
//! `OVERHEAD_CASE=<name> OVERHEAD_ITERS=<n>` the binary skips criterion and
//! runs that one case `n` times, for `valgrind --tool=callgrind`; see
//! `benches/support/callgrind.sh`.

#[path = "support/mod.rs"]
mod support;

use std::fmt::Debug;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::Criterion;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use mcp_tower_guard::protocol::{Era, ProtocolVersion, RequestProtocol, VersionSource};
use mcp_tower_guard::session::{MokaSessionStore, SessionId, SessionStore, StoreCall};
use mcp_tower_guard::{HostCheckLayer, McpHeadersLayer, McpSessionLayer, OriginGuardLayer};
use tokio::runtime::Runtime;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

type Req = Request<Full<Bytes>>;
type Res = Response<Full<Bytes>>;

/// One benchmark: runs its request `iters` times and returns the time taken.
type Case<'a> = (&'static str, Box<dyn FnMut(u64) -> Duration + 'a>);

/// Sends one request and checks the answer (outside the timed loop).
fn check<S>(rt: &Runtime, svc: &S, req: Req, name: &str) -> Res
where
    S: Service<Req, Response = Res> + Clone,
    S::Error: Debug,
{
    let res = rt.block_on(async { svc.clone().oneshot(req).await.expect("infallible") });
    assert_eq!(res.status(), StatusCode::OK, "{name}: {:?}", res.headers());
    res
}

/// A case sending a fresh request from `make` to `svc` per iteration, with
/// `ready().call()` on the current-thread runtime `rt`.
fn case<'a, S>(
    rt: &'a Runtime,
    name: &'static str,
    svc: S,
    make: impl Fn() -> Req + Copy + 'a,
) -> Case<'a>
where
    S: Service<Req, Response = Res> + Clone + 'a,
    S::Error: Debug,
{
    check(rt, &svc, make(), name);
    let run = move |iters: u64| {
        let mut svc = svc.clone();
        rt.block_on(async move {
            let start = Instant::now();
            for _ in 0..iters {
                let svc = svc.ready().await.expect("infallible");
                let res = svc.call(make()).await.expect("infallible");
                black_box(res);
            }
            start.elapsed()
        })
    };
    (name, Box::new(run))
}

/// Creates one session through `layer` and returns its id.
fn open_session(rt: &Runtime, layer: &McpSessionLayer) -> HeaderValue {
    let svc = layer.layer(support::inner());
    let res = check(
        rt,
        &svc,
        support::post(&support::initialize(), None),
        "init",
    );
    res.headers()["mcp-session-id"].clone()
}

/// Every case, in report order. The session cases share one session in `store`.
fn cases<'a>(rt: &'a Runtime, store: &MokaSessionStore) -> Vec<Case<'a>> {
    let sessions = McpSessionLayer::new(store.clone());
    let id = open_session(rt, &sessions);
    // Leaked so the request makers are `Copy` closures over `'static` data.
    let body_1k: &'static Bytes = Box::leak(Box::new(support::tools_call_1k()));
    let ping: &'static Bytes = Box::leak(Box::new(support::ping()));
    let id: &'static HeaderValue = Box::leak(Box::new(id));
    let post_1k = move || support::post(body_1k, None);
    let post_1k_session = move || support::post(body_1k, Some(id));
    let ping_session = move || support::post(ping, Some(id));
    let get = || support::get(None);
    let get_session = move || support::get(Some(id));
    let route: &'static Bytes = Box::leak(Box::new(support::modern_route_call()));
    let modern_call = move || support::modern_post(route, false);
    let modern_call_params = move || support::modern_post(route, true);
    let with_rules = McpHeadersLayer::new().tool_rules(
        mcp_tower_guard::headers::ToolRules::from_tools_list(&support::route_tool())
            .expect("valid tool"),
    );

    let full = ServiceBuilder::new()
        .layer(HostCheckLayer::localhost())
        .layer(OriginGuardLayer::localhost())
        .layer(McpHeadersLayer::new())
        .layer(sessions.clone())
        .service(support::inner());
    vec![
        case(rt, "bare", support::inner(), post_1k),
        case(rt, "bare_get", support::inner(), get),
        case(
            rt,
            "host",
            HostCheckLayer::localhost().layer(support::inner()),
            post_1k,
        ),
        case(
            rt,
            "origin",
            OriginGuardLayer::localhost().layer(support::inner()),
            post_1k,
        ),
        case(
            rt,
            "headers_get",
            McpHeadersLayer::new().layer(support::inner()),
            get,
        ),
        case(
            rt,
            "headers_post_1k",
            McpHeadersLayer::new().layer(support::inner()),
            post_1k,
        ),
        // 2026-07-28 tools/call, about 1 KiB: a tool with no mirrored parameters ...
        case(
            rt,
            "headers_modern_call",
            McpHeadersLayer::new().layer(support::inner()),
            modern_call,
        ),
        // ... and the same call of a tool with three, checked against the arguments.
        case(
            rt,
            "headers_modern_call_3_params",
            with_rules.layer(support::inner()),
            modern_call_params,
        ),
        // The session layer alone on a GET: id check, store lookup, activity, echo.
        case(
            rt,
            "session_hit",
            sessions.layer(support::inner()),
            get_session,
        ),
        // Alone on a POST it also reads and parses the (small) body to learn the era.
        case(
            rt,
            "session_hit_post",
            sessions.layer(support::inner()),
            ping_session,
        ),
        case(rt, "full_stack_post_1k", full, post_1k_session),
        // The least a session layer on moka does for `session_hit`'s request,
        // written out by hand with no flow, no rules and no bookkeeping.
        case(
            rt,
            "floor_session_path",
            LeastSession {
                inner: support::inner(),
                store: store.clone(),
            },
            get_session,
        ),
        // Floors: what the parts the layers cannot do without cost alone.
        floor("floor_moka_get", {
            let cache = bare_moka();
            let key = SessionId::parse(id.as_bytes()).expect("valid id");
            cache.insert(key.clone(), 1);
            move || {
                black_box(cache.get(&key));
            }
        }),
        floor("floor_store_get", {
            let store = store.clone();
            let key = SessionId::parse(id.as_bytes()).expect("valid id");
            move || {
                black_box(store.get(&key));
            }
        }),
        floor("floor_id_parse", move || {
            black_box(SessionId::parse(black_box(id.as_bytes())).ok());
        }),
        floor("floor_echo", move || {
            let mut res = Res::new(Full::default());
            res.headers_mut().insert("mcp-session-id", id.clone());
            black_box(res);
        }),
        floor("floor_parse_1k", move || {
            black_box(serde_json::from_slice::<serde::de::IgnoredAny>(black_box(body_1k)).ok());
        }),
        // The same with every string decoded, as the envelope parse must (F2).
        floor("floor_decode_1k", move || {
            black_box(serde_json::from_slice::<DecodeAll>(black_box(body_1k)).ok());
        }),
    ]
}

const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");

/// The least work any session layer on a moka store must do for a GET of a
/// live session, for the `floor_session_path` case: find the one
/// `Mcp-Session-Id`, parse it, look it up, read and parse
/// `MCP-Protocol-Version`, hand the session and the protocol to the handler in
/// the extensions, call it, and echo the id on the answer. Everything the
/// session layer adds to this is behaviour: the order check, the method and
/// alias rules, the negotiated-version comparison, the busy mark that keeps a
/// session with a request in flight from expiring, and the idle retime.
#[derive(Clone)]
struct LeastSession {
    inner: support::Inner,
    store: MokaSessionStore,
}

impl Service<Req> for LeastSession {
    type Response = Res;
    type Error = std::convert::Infallible;
    type Future = EchoId<<support::Inner as Service<Req>>::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Req) -> Self::Future {
        let mut sent = req.headers().get_all(&SESSION_ID).iter();
        let (Some(sent), None) = (sent.next(), sent.next()) else {
            unreachable!("the bench sends one id")
        };
        let sent = sent.clone();
        let id = SessionId::parse(sent.as_bytes()).expect("a valid id");
        let StoreCall::Ready(Ok(Some(session))) = self.store.get(&id) else {
            unreachable!("the session is live")
        };
        let version = req
            .headers()
            .get(&PROTOCOL_VERSION)
            .and_then(|v| ProtocolVersion::parse_bytes(v.as_bytes()))
            .expect("a known version");
        req.extensions_mut().insert(session);
        req.extensions_mut().insert(RequestProtocol::new(
            version,
            Era::Legacy,
            VersionSource::Header,
        ));
        EchoId {
            future: self.inner.call(req),
            id: Some(sent),
        }
    }
}

pin_project_lite::pin_project! {
    /// `LeastSession`'s future: the inner answer with the id echoed.
    struct EchoId<F> {
        #[pin]
        future: F,
        id: Option<HeaderValue>,
    }
}

impl<F, E> std::future::Future for EchoId<F>
where
    F: std::future::Future<Output = Result<Res, E>>,
{
    type Output = Result<Res, E>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = self.project();
        let mut res = std::task::ready!(this.future.poll(cx))?;
        if let Some(id) = this.id.take() {
            res.headers_mut().insert(SESSION_ID, id);
        }
        std::task::Poll::Ready(Ok(res))
    }
}

/// Any JSON value, every string and key decoded (escapes, UTF-8,
/// surrogates), nothing kept: the least the envelope parse must do.
struct DecodeAll;

impl<'de> serde::Deserialize<'de> for DecodeAll {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DecodeAll)
    }
}

impl<'de> serde::de::Visitor<'de> for DecodeAll {
    type Value = DecodeAll;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<DecodeAll>()?.is_some() {}
        Ok(self)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        while map.next_key::<std::borrow::Cow<'de, str>>()?.is_some() {
            map.next_value::<DecodeAll>()?;
        }
        Ok(self)
    }
}

/// A floor: `step` alone, `iters` times.
fn floor<'a>(name: &'static str, mut step: impl FnMut() + 'a) -> Case<'a> {
    let run = move |iters: u64| {
        let start = Instant::now();
        for _ in 0..iters {
            step();
        }
        start.elapsed()
    };
    (name, Box::new(run))
}

/// A bare moka cache configured as the session store configures its own
/// (LRU, per-entry expiry, an eviction listener).
fn bare_moka() -> moka::sync::Cache<SessionId, u64> {
    struct Idle;
    impl moka::policy::Expiry<SessionId, u64> for Idle {
        fn expire_after_create(&self, _: &SessionId, _: &u64, _: Instant) -> Option<Duration> {
            Some(Duration::from_secs(3600))
        }
        fn expire_after_read(
            &self,
            _: &SessionId,
            _: &u64,
            _: Instant,
            _: Option<Duration>,
            _: Instant,
        ) -> Option<Duration> {
            Some(Duration::from_secs(3600))
        }
    }
    moka::sync::Cache::builder()
        .eviction_policy(moka::policy::EvictionPolicy::lru())
        .expire_after(Idle)
        .eviction_listener(|_, _, _| {})
        .build()
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn store(rt: &Runtime) -> MokaSessionStore {
    // Built inside the runtime, as a server builds it: the maintenance task is
    // spawned (it runs only between samples, when the runtime is idle).
    rt.block_on(async {
        MokaSessionStore::builder()
            .max_sessions(100_000)
            .build()
            .expect("store")
    })
}

fn overhead(c: &mut Criterion) {
    let rt = runtime();
    let store = store(&rt);
    let mut g = c.benchmark_group("overhead");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (name, mut run) in cases(&rt, &store) {
        g.bench_function(name, |b| b.iter_custom(&mut run));
    }
    g.finish();
    assert_eq!(store.stats().active, 1, "the bench session stayed open");
}

/// `OVERHEAD_CASE=<name> OVERHEAD_ITERS=<n>`: run one case `n` times, no criterion.
fn count_mode(name: &str, iters: u64) {
    let rt = runtime();
    let store = store(&rt);
    let mut found = false;
    for (case, mut run) in cases(&rt, &store) {
        if case == name {
            found = true;
            let took = run(iters);
            eprintln!(
                "{case}: {iters} iterations, {:.0} ns each",
                took.as_nanos() as f64 / iters.max(1) as f64
            );
        }
    }
    assert!(found, "no case named {name:?}");
}

fn main() {
    if let (Ok(name), Ok(iters)) = (
        std::env::var("OVERHEAD_CASE"),
        std::env::var("OVERHEAD_ITERS"),
    ) {
        count_mode(&name, iters.parse().expect("OVERHEAD_ITERS: a number"));
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    overhead(&mut c);
    c.final_summary();
}
