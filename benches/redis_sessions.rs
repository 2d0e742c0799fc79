//! Session lookup and creation with `RedisSessionStore`, with and without the
//! near cache, next to `MokaSessionStore`, against a local `redis-server`
//! started on a free port (loopback TCP, so the Redis numbers are one round
//! trip on this machine plus the script).
//!
//! ```text
//! cargo bench --features redis --bench redis_sessions
//! cargo bench --features redis --bench redis_sessions -- --test   # run each once
//! ```
//!
//! - `lookup/*`: `SessionStore::get` of a live session (1 000 in the store),
//!   round robin over the ids.
//! - `create/*`: `reserve` + `commit` of a new session (the id is made
//!   outside the timing; the session is removed again, untimed).
//! - `lookup_x64/*`: 64 lookups in flight at once (one multiplexed
//!   connection), reported as lookups per second.
//! - `layer_ping/*`: a legacy `ping` with a session id through
//!   `McpSessionLayer` over a handler that answers `{}`.
//!
//! Needs `redis-server` on the `PATH`; without it the bench prints why and exits.

#[cfg(feature = "redis")]
#[path = "../tests/guard/support/redis_server.rs"]
mod redis_server;

#[cfg(feature = "redis")]
mod bench {
    use std::convert::Infallible;
    use std::hint::black_box;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant, SystemTime};

    use bytes::Bytes;
    use criterion::{Criterion, Throughput};
    use http::{HeaderValue, Request, Response, StatusCode};
    use http_body_util::Full;
    use mcp_tower_guard::protocol::ProtocolVersion;
    use mcp_tower_guard::session::redis::RedisSessionStore;
    use mcp_tower_guard::session::{
        ClientInfo, CloseCause, McpSessionLayer, MokaSessionStore, SessionContext, SessionId,
        SessionStore,
    };
    use tower::{Layer, Service, ServiceExt};

    use super::redis_server::RedisServer;

    /// Live sessions in each store during lookups.
    const POPULATION: usize = 1_000;

    fn context(id: SessionId) -> SessionContext {
        let now = SystemTime::now();
        let client = ClientInfo::new(
            Some(HeaderValue::from_static("bench/1")),
            None,
            Some(([127, 0, 0, 1], 40_000).into()),
        );
        SessionContext::restore(
            id,
            None,
            client,
            Some(ProtocolVersion::V2025_06_18),
            now,
            now,
        )
    }

    async fn create(store: &dyn SessionStore, id: &SessionId) {
        let reservation = store.reserve(id, None).resolve().await.expect("reserve");
        store
            .commit(reservation, context(id.clone()))
            .resolve()
            .await
            .expect("commit");
    }

    struct Subject {
        name: &'static str,
        store: Arc<dyn SessionStore>,
        ids: Vec<SessionId>,
    }

    async fn subjects(server: &RedisServer) -> Vec<Subject> {
        let moka: Arc<dyn SessionStore> = Arc::new(
            MokaSessionStore::builder()
                .max_sessions(100_000)
                .build()
                .expect("moka store"),
        );
        let redis = |prefix: &'static str, near: Option<Duration>| {
            let mut builder = RedisSessionStore::builder(server.url())
                .key_prefix(prefix)
                .max_sessions(100_000);
            if let Some(ttl) = near {
                builder = builder.near_cache(ttl);
            }
            builder
        };
        let plain: Arc<dyn SessionStore> =
            Arc::new(redis("bench", None).build().await.expect("redis store"));
        let near: Arc<dyn SessionStore> = Arc::new(
            redis("bench-near", Some(Duration::from_secs(1)))
                .build()
                .await
                .expect("redis store"),
        );
        let mut out = Vec::new();
        for (name, store) in [("moka", moka), ("redis", plain), ("redis+near_1s", near)] {
            let mut ids = Vec::with_capacity(POPULATION);
            for _ in 0..POPULATION {
                let id = SessionId::new_random();
                create(&*store, &id).await;
                ids.push(id);
            }
            out.push(Subject { name, store, ids });
        }
        out
    }

    fn ping(id: &SessionId) -> Request<Full<Bytes>> {
        Request::post("/mcp")
            .header("mcp-session-id", id.as_str())
            .header("mcp-protocol-version", "2025-06-18")
            .body(Full::new(Bytes::from_static(
                br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            )))
            .expect("request")
    }

    pub fn main() {
        let Some(server) = RedisServer::start() else {
            return;
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let subjects = rt.block_on(subjects(&server));
        let mut c = Criterion::default()
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .configure_from_args();

        let mut group = c.benchmark_group("redis_sessions/lookup");
        for s in &subjects {
            let next = AtomicUsize::new(0);
            group.bench_function(s.name, |b| {
                b.to_async(&rt).iter(|| {
                    let i = next.fetch_add(1, Ordering::Relaxed) % s.ids.len();
                    let call = s.store.get(&s.ids[i]);
                    async move {
                        let found = call.resolve().await.expect("get");
                        black_box(found.expect("live session"));
                    }
                });
            });
        }
        group.finish();

        let mut group = c.benchmark_group("redis_sessions/lookup_x64");
        group.throughput(Throughput::Elements(64));
        for s in &subjects {
            let next = AtomicUsize::new(0);
            group.bench_function(s.name, |b| {
                b.to_async(&rt).iter(|| {
                    let calls: Vec<_> = (0..64)
                        .map(|_| {
                            let i = next.fetch_add(1, Ordering::Relaxed) % s.ids.len();
                            s.store.get(&s.ids[i]).resolve()
                        })
                        .collect();
                    async move {
                        for found in futures_util::future::join_all(calls).await {
                            black_box(found.expect("get").expect("live session"));
                        }
                    }
                });
            });
        }
        group.finish();

        let mut group = c.benchmark_group("redis_sessions/create");
        for s in &subjects {
            group.bench_function(s.name, |b| {
                b.to_async(&rt).iter_custom(|iters| {
                    let store = Arc::clone(&s.store);
                    async move {
                        let mut spent = Duration::ZERO;
                        for _ in 0..iters {
                            let id = SessionId::new_random();
                            let start = Instant::now();
                            create(&*store, &id).await;
                            spent += start.elapsed();
                            store
                                .remove(&id, CloseCause::Deleted)
                                .resolve()
                                .await
                                .expect("remove");
                        }
                        spent
                    }
                });
            });
        }
        group.finish();

        let mut group = c.benchmark_group("redis_sessions/layer_ping");
        for s in &subjects {
            let svc = McpSessionLayer::new(Arc::clone(&s.store)).layer(tower::service_fn(
                |_req: Request<Full<Bytes>>| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
                },
            ));
            let next = AtomicUsize::new(0);
            group.bench_function(s.name, |b| {
                b.to_async(&rt).iter(|| {
                    let i = next.fetch_add(1, Ordering::Relaxed) % s.ids.len();
                    let req = ping(&s.ids[i]);
                    let mut svc = svc.clone();
                    async move {
                        let res = svc.ready().await.expect("ready").call(req).await;
                        let res = res.expect("infallible");
                        assert_eq!(res.status(), StatusCode::OK);
                        black_box(res);
                    }
                });
            });
        }
        group.finish();

        c.final_summary();
        drop(subjects);
        drop(server);
    }
}

#[cfg(feature = "redis")]
fn main() {
    bench::main();
}

#[cfg(not(feature = "redis"))]
fn main() {
    eprintln!("redis_sessions: build with --features redis");
}
