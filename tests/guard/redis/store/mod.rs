//! `RedisSessionStore`: two replicas (two full `McpSessionLayer` stacks, two
//! stores) sharing one real `redis-server` started on a free port.
//!
//! Skipped (with a message) only when `redis-server` is not installed; set
//! `MCP_TOWER_GUARD_REQUIRE_REDIS=1` to make that a failure.
#![cfg(feature = "redis")]

use crate::support::redis_server;
use crate::support::session as support;
use crate::support::sse;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::request::Parts;
use http::{HeaderValue, Request, Response, StatusCode};
use mcp_tower_guard::session::redis::{RedisSessionStore, RedisSessionStoreBuilder};
use mcp_tower_guard::session::{CloseCause, McpSessionLayer, Principal};
use mcp_tower_guard::{Rejection, RejectionKind};
use redis_server::RedisServer;
use support::*;
use tower::util::BoxCloneSyncService;

const TEST_TIMEOUT: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(10);

type Svc = BoxCloneSyncService<Request<B>, Response<B>, Infallible>;

macro_rules! redis_or_skip {
    () => {
        match RedisServer::start() {
            Some(server) => server,
            None => return,
        }
    };
}

/// One server replica: its store, its layer stack, what its hooks saw.
struct Replica {
    store: RedisSessionStore,
    svc: Svc,
    seen: Seen,
    closed: Closed,
    created: Arc<Mutex<Vec<String>>>,
}

fn by_user(parts: &Parts) -> Option<Principal> {
    parts
        .headers
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .map(Principal::new)
}

async fn replica(
    server: &RedisServer,
    configure: impl FnOnce(RedisSessionStoreBuilder) -> RedisSessionStoreBuilder,
) -> Replica {
    let closed = Closed::default();
    let created = Arc::new(Mutex::new(Vec::new()));
    let log = created.clone();
    let builder = RedisSessionStore::builder(server.url())
        .on_created(move |s| log.lock().unwrap().push(s.id().as_str().to_owned()))
        .on_closed(closed.hook());
    let store = configure(builder).build().await.expect("store connects");
    let seen = Seen::default();
    let layer = McpSessionLayer::new(store.clone()).principal(by_user);
    let svc = BoxCloneSyncService::new(service(layer, &seen));
    Replica {
        store,
        svc,
        seen,
        closed,
        created,
    }
}

impl Replica {
    async fn send(&self, req: Request<B>) -> Response<B> {
        send(&self.svc, req).await
    }

    fn created(&self) -> Vec<String> {
        self.created.lock().unwrap().clone()
    }

    fn closes_of(&self, id: &HeaderValue) -> Vec<CloseCause> {
        let id = id.to_str().unwrap();
        self.closed
            .all()
            .into_iter()
            .filter(|(closed, _)| closed == id)
            .map(|(_, cause)| cause)
            .collect()
    }
}

/// Polls `check` until it holds; panics after `WAIT`.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(TEST_TIMEOUT, test)
        .await
        .expect("test finished in time");
}

fn assert_503(res: &Response<B>) {
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "1");
    assert!(!res.headers().contains_key("mcp-session-id"));
    assert_eq!(
        res.extensions().get::<Rejection>().unwrap().kind(),
        RejectionKind::StoreUnavailable
    );
}

/// Idle and lifetime expiry across replicas.
mod expiry;
/// Global and per-user limits, failed initializes.
mod limits;
/// Redis down or frozen.
mod outages;
/// Sessions shared across replicas, the near cache, shutdown, store metrics.
mod replicas;
