//! The session store on its own: `MokaSessionStore` through the `SessionStore`
//! trait (group `session`), next to the design the seed prompt describes
//! (group `naive_store`: `RwLock<HashMap<String, Session>>` plus a periodic
//! tokio sweep task), so the moka choice is measured rather than assumed.
//!
//! ```text
//! cargo bench --bench sessions
//! cargo bench --bench sessions -- --test            # run each once (CI)
//! ```
//!
//! `SessionContext` has no public constructor, so the contexts committed in
//! `session/create` are real ones: each comes from an `initialize` driven
//! through `McpSessionLayer` into a scratch store (untimed), then removed there
//! and committed to the measured store. Id generation is timed on its own
//! (`session/new_id`) and is excluded from both `create` benchmarks.

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, Barrier, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use http::Request;
use http_body_util::Full;
use mcp_tower_guard::session::{
    CloseCause, McpSessionLayer, MokaSessionStore, SessionContext, SessionId, SessionStore,
    StoreCall,
};
use tower::{service_fn, ServiceBuilder, ServiceExt};

/// Sessions in the store during lookups (the store's default `max_sessions`).
const POPULATION: usize = 10_000;
/// Threads in `lookup_contended` (the bench machine has 2 cores).
const THREADS: [usize; 2] = [2, 4];

/// The answer of an in-memory store.
fn now<T>(call: StoreCall<T>) -> T {
    match call {
        StoreCall::Ready(value) => value,
        StoreCall::Pending(_) => panic!("MokaSessionStore answers synchronously"),
    }
}

// ---------------------------------------------------------------------------
// Real session contexts, made by the session layer
// ---------------------------------------------------------------------------

/// Makes real `SessionContext`s: `initialize` through the session layer on a
/// handler that keeps the context, then removes the session from the scratch
/// store so only the context remains.
struct Harvester {
    rt: tokio::runtime::Runtime,
    scratch: MokaSessionStore,
    layer: McpSessionLayer,
    got: Arc<Mutex<Vec<SessionContext>>>,
    pool: Vec<SessionContext>,
}

impl Harvester {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let scratch = MokaSessionStore::builder()
            .max_sessions(1_000)
            .no_maintenance_task()
            .build()
            .expect("store");
        Self {
            rt,
            layer: McpSessionLayer::new(scratch.clone()),
            scratch,
            got: Arc::default(),
            pool: Vec::new(),
        }
    }

    /// At least `n` distinct contexts (each with its own id).
    fn contexts(&mut self, n: usize) -> &[SessionContext] {
        while self.pool.len() < n {
            let got = Arc::clone(&self.got);
            let svc = ServiceBuilder::new()
                .layer(self.layer.clone())
                .service(service_fn(move |req: Request<Full<Bytes>>| {
                    let ctx = req.extensions().get::<SessionContext>().cloned();
                    got.lock().unwrap().extend(ctx.map(|c| c.detached()));
                    // A result for the initialize's id: only that commits the session.
                    async { Ok::<_, std::convert::Infallible>(support::reply()) }
                }));
            let body = support::initialize();
            self.rt.block_on(async {
                let res = svc.oneshot(support::post(&body, None)).await.unwrap();
                assert!(res.status().is_success());
            });
            let ctx = self.got.lock().unwrap().pop().expect("context");
            assert!(now(self.scratch.remove(ctx.id(), CloseCause::Deleted)).unwrap());
            // The same session as a fresh context: the one the scratch store
            // closed cannot be stored again.
            self.pool.push(SessionContext::restore(
                ctx.id().clone(),
                ctx.principal().cloned(),
                ctx.client().clone(),
                ctx.protocol_version(),
                ctx.created_at(),
                ctx.last_seen(),
            ));
        }
        &self.pool[..n]
    }
}

fn moka_store(max: usize) -> MokaSessionStore {
    // Built outside a runtime: no maintenance task (moka's inline housekeeping still runs).
    MokaSessionStore::builder()
        .max_sessions(max)
        .no_maintenance_task()
        .build()
        .expect("store")
}

fn commit(store: &MokaSessionStore, ctx: &SessionContext) {
    let reservation = now(store.reserve(ctx.id(), None)).expect("reserve");
    now(store.commit(reservation, ctx.clone())).expect("commit");
}

// ---------------------------------------------------------------------------
// The seed's design: RwLock<HashMap<String, Session>> and a sweep task
// ---------------------------------------------------------------------------

/// Fields the seed stores but a lookup never reads are part of what it costs.
#[allow(dead_code)]
mod naive {
    use super::*;

    /// The seed's `ClientInfo`.
    #[derive(Clone, Debug)]
    pub struct ClientInfo {
        pub user_agent: Option<String>,
        pub origin: Option<String>,
        pub ip_address: Option<String>,
    }

    /// The seed's `Session` (`SystemTime` for chrono's `DateTime<Utc>`).
    #[derive(Clone, Debug)]
    pub struct Session {
        pub session_id: uuid::Uuid,
        pub created_at: SystemTime,
        pub last_accessed: SystemTime,
        pub ttl: Duration,
        pub client_info: Option<ClientInfo>,
    }

    impl Session {
        pub fn new(session_id: uuid::Uuid, ttl: Duration) -> Self {
            let now = SystemTime::now();
            Self {
                session_id,
                created_at: now,
                last_accessed: now,
                ttl,
                client_info: Some(ClientInfo {
                    user_agent: Some("bench-client/1.0".to_owned()),
                    origin: None,
                    ip_address: Some("127.0.0.1:50000".to_owned()),
                }),
            }
        }

        pub fn is_expired(&self) -> bool {
            self.last_accessed.elapsed().unwrap_or_default() > self.ttl
        }

        pub fn refresh(&mut self) {
            self.last_accessed = SystemTime::now();
        }
    }

    /// The seed's `SessionManager`.
    #[derive(Clone)]
    pub struct SessionManager {
        sessions: Arc<RwLock<HashMap<String, Session>>>,
        max_sessions: usize,
    }

    impl SessionManager {
        pub fn new(max_sessions: usize) -> Self {
            Self {
                sessions: Arc::default(),
                max_sessions,
            }
        }

        /// `create_session` with the id made beforehand (timed separately).
        pub fn insert(&self, id: String, session: Session) -> Result<(), &'static str> {
            let mut sessions = self.sessions.write().unwrap();
            if sessions.len() >= self.max_sessions {
                return Err("Maximum sessions reached");
            }
            sessions.insert(id, session);
            Ok(())
        }

        /// `get_session` "with expiry checking": a clone, as the seed returns `Session`.
        pub fn get_session(&self, id: &str) -> Option<Session> {
            let sessions = self.sessions.read().unwrap();
            sessions.get(id).filter(|s| !s.is_expired()).cloned()
        }

        /// `update_last_accessed` "for activity tracking".
        pub fn update_last_accessed(&self, id: &str) -> bool {
            let mut sessions = self.sessions.write().unwrap();
            match sessions.get_mut(id) {
                Some(s) => {
                    s.refresh();
                    true
                }
                None => false,
            }
        }

        /// What the transport does per request: look up, then refresh.
        pub fn lookup(&self, id: &str) -> Option<Session> {
            let session = self.get_session(id)?;
            self.update_last_accessed(id);
            Some(session)
        }

        /// `cleanup_expired_sessions`: one `retain` under the write lock.
        pub fn cleanup_expired_sessions(&self) -> usize {
            let mut sessions = self.sessions.write().unwrap();
            let before = sessions.len();
            sessions.retain(|_, s| !s.is_expired());
            before - sessions.len()
        }

        /// `start_cleanup_task`: a tokio task sweeping on an interval.
        pub fn start_cleanup_task(&self, every: Duration) -> tokio::task::JoinHandle<()> {
            let manager = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tick.tick().await;
                    manager.cleanup_expired_sessions();
                }
            })
        }

        /// `delete_session` (DELETE).
        pub fn delete_session(&self, id: &str) -> bool {
            self.sessions.write().unwrap().remove(id).is_some()
        }

        pub fn len(&self) -> usize {
            self.sessions.read().unwrap().len()
        }
    }
}

/// A populated naive store and its ids.
fn naive_store(n: usize, ttl: Duration) -> (naive::SessionManager, Vec<String>) {
    let store = naive::SessionManager::new(usize::MAX);
    let ids: Vec<String> = (0..n)
        .map(|_| {
            let id = uuid::Uuid::new_v4();
            store
                .insert(id.to_string(), naive::Session::new(id, ttl))
                .unwrap();
            id.to_string()
        })
        .collect();
    (store, ids)
}

// ---------------------------------------------------------------------------
// Benchmarks
// ---------------------------------------------------------------------------

/// Runs `op(i)` `iters` times on each of `threads` threads started together;
/// the wall time until all are done (so per-thread time per operation).
fn contended(threads: usize, iters: u64, op: impl Fn(usize) + Sync) -> Duration {
    let barrier = Barrier::new(threads + 1);
    thread::scope(|s| {
        for t in 0..threads {
            let (barrier, op) = (&barrier, &op);
            s.spawn(move || {
                barrier.wait();
                let base = t * 7919;
                for i in 0..iters as usize {
                    op(base + i);
                }
            });
        }
        barrier.wait();
        let start = Instant::now();
        // The scope joins every thread before returning.
        start
    })
    .elapsed()
}

fn session(c: &mut Criterion) {
    let mut harvester = Harvester::new();
    let mut g = c.benchmark_group("session");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    g.bench_function("new_id", |b| b.iter(SessionId::new_random));

    // Reserve + commit into a fresh store per sample, with contexts made beforehand.
    g.bench_function("create", |b| {
        b.iter_custom(|iters| {
            let contexts = harvester.contexts(iters as usize);
            let store = moka_store(usize::MAX);
            let start = Instant::now();
            for ctx in contexts {
                let reservation = now(store.reserve(ctx.id(), None)).expect("reserve");
                now(store.commit(reservation, ctx.clone())).expect("commit");
            }
            let elapsed = start.elapsed();
            assert_eq!(store.stats().active, iters);
            elapsed
        })
    });

    let store = moka_store(POPULATION + 2_048);
    let contexts = harvester.contexts(POPULATION).to_vec();
    for ctx in &contexts {
        commit(&store, ctx);
    }
    let ids: Vec<SessionId> = contexts.iter().map(|c| c.id().clone()).collect();
    let unknown: Vec<SessionId> = (0..1024).map(|_| SessionId::new_random()).collect();

    let mut i = 0usize;
    g.bench_function("lookup_hit", |b| {
        b.iter(|| {
            i = (i + 1) % ids.len();
            let found = now(store.get(&ids[i])).expect("get");
            black_box(found.expect("live session"))
        })
    });
    g.bench_function("lookup_miss", |b| {
        b.iter(|| {
            i = (i + 1) % unknown.len();
            black_box(now(store.get(&unknown[i])).expect("get").is_none())
        })
    });
    for threads in THREADS {
        g.bench_function(format!("lookup_contended_{threads}t"), |b| {
            b.iter_custom(|iters| {
                contended(threads, iters, |i| {
                    let found = now(store.get(&ids[i % ids.len()])).expect("get");
                    black_box(found.expect("live session"));
                })
            })
        });
    }
    // Lookups while another thread keeps creating and deleting sessions.
    g.bench_function("lookup_with_churn", |b| {
        let spare = harvester.contexts(POPULATION + 1024)[POPULATION..].to_vec();
        b.iter_custom(|iters| {
            let stop = std::sync::atomic::AtomicBool::new(false);
            thread::scope(|s| {
                s.spawn(|| {
                    let mut k = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let ctx = &spare[k % spare.len()];
                        commit(&store, ctx);
                        now(store.remove(ctx.id(), CloseCause::Deleted)).unwrap();
                        k += 1;
                    }
                });
                let start = Instant::now();
                for n in 0..iters as usize {
                    let found = now(store.get(&ids[n % ids.len()])).expect("get");
                    black_box(found.expect("live session"));
                }
                let elapsed = start.elapsed();
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                elapsed
            })
        })
    });
    g.finish();
    assert_eq!(store.stats().active, POPULATION as u64);
}

fn naive_store_benches(c: &mut Criterion) {
    let ttl = Duration::from_secs(3600);
    let mut g = c.benchmark_group("naive_store");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    g.bench_function("new_id", |b| {
        b.iter(|| {
            let id = uuid::Uuid::new_v4();
            (id, id.to_string())
        })
    });

    // Insert into a fresh map per batch, with ids and sessions made beforehand.
    g.bench_function("create", |b| {
        b.iter_custom(|iters| {
            let store = naive::SessionManager::new(usize::MAX);
            let made: Vec<(String, naive::Session)> = (0..iters)
                .map(|_| {
                    let id = uuid::Uuid::new_v4();
                    (id.to_string(), naive::Session::new(id, ttl))
                })
                .collect();
            let start = Instant::now();
            for (id, session) in made {
                store.insert(id, session).expect("insert");
            }
            let elapsed = start.elapsed();
            assert_eq!(store.len(), iters as usize);
            elapsed
        })
    });

    let (store, ids) = naive_store(POPULATION, ttl);
    let unknown: Vec<String> = (0..1024)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    let mut i = 0usize;
    g.bench_function("lookup_hit", |b| {
        b.iter(|| {
            i = (i + 1) % ids.len();
            black_box(store.lookup(&ids[i]).expect("live session"))
        })
    });
    g.bench_function("lookup_miss", |b| {
        b.iter(|| {
            i = (i + 1) % unknown.len();
            black_box(store.lookup(&unknown[i]).is_none())
        })
    });
    for threads in THREADS {
        g.bench_function(format!("lookup_contended_{threads}t"), |b| {
            b.iter_custom(|iters| {
                contended(threads, iters, |i| {
                    black_box(store.lookup(&ids[i % ids.len()]).expect("live session"));
                })
            })
        });
    }
    g.bench_function("lookup_with_churn", |b| {
        b.iter_custom(|iters| {
            let stop = std::sync::atomic::AtomicBool::new(false);
            thread::scope(|s| {
                s.spawn(|| {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let id = uuid::Uuid::new_v4();
                        let key = id.to_string();
                        store
                            .insert(key.clone(), naive::Session::new(id, ttl))
                            .unwrap();
                        store.delete_session(&key);
                    }
                });
                let start = Instant::now();
                for n in 0..iters as usize {
                    black_box(store.lookup(&ids[n % ids.len()]).expect("live session"));
                }
                let elapsed = start.elapsed();
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                elapsed
            })
        })
    });
    // The sweep: one `retain` over 100,000 expired sessions, all under the write
    // lock (every lookup waits for it). The cleanup task runs exactly this.
    g.sample_size(10);
    g.bench_function("sweep_100k_expired", |b| {
        b.iter_batched(
            || naive_store(100_000, Duration::ZERO).0,
            |store| {
                let removed = store.cleanup_expired_sessions();
                assert_eq!(removed, 100_000);
                store
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    // The sweep task itself runs (and does remove expired sessions).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (store, _) = naive_store(1_000, Duration::ZERO);
        let task = store.start_cleanup_task(Duration::from_millis(10));
        tokio::time::sleep(Duration::from_millis(50)).await;
        task.abort();
        assert_eq!(store.len(), 0);
    });
}

criterion_group!(benches, session, naive_store_benches);
criterion_main!(benches);
