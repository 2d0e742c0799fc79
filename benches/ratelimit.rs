//! The cost of `McpRateLimitLayer` per request: the four layers with and
//! without it (one rule keyed on the client address, and three overlapping
//! rules, and one rule counted in a local `redis-server` with the `redis`
//! feature), on a legacy session request with a 1 KiB `tools/call`.
//!
//! ```text
//! cargo bench --features ratelimit --bench ratelimit
//! cargo bench --features ratelimit --bench ratelimit -- --test   # each case once (CI)
//! RATELIMIT_CASE=<name> RATELIMIT_ITERS=<n> valgrind --tool=callgrind target/release/deps/ratelimit-* --bench
//! ```

#[cfg(feature = "redis")]
#[path = "../tests/guard/support/redis_server.rs"]
mod redis_server;
#[path = "support/mod.rs"]
mod support;

use std::num::NonZeroU32;
use std::time::Duration;

use bytes::Bytes;
use criterion::Criterion;
use http::{HeaderValue, StatusCode};
use mcp_tower_guard::ratelimit::{KeyPart, McpRateLimitLayer, Quota, RateLimitRule};
use mcp_tower_guard::session::MokaSessionStore;
use mcp_tower_guard::{HostCheckLayer, McpHeadersLayer, McpSessionLayer, OriginGuardLayer};
use tower::{ServiceBuilder, ServiceExt};

use support::with_peer;

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let body: &'static Bytes = Box::leak(Box::new(support::tools_call_1k()));
    let huge = NonZeroU32::new(u32::MAX).unwrap();
    let rule = |name: &str, parts: Vec<KeyPart>| {
        RateLimitRule::new(name, Quota::per_second(huge), parts).expect("rule")
    };
    #[allow(unused_mut)] // only the redis feature adds a case
    let mut variants: Vec<(&str, Option<McpRateLimitLayer>)> = vec![
        ("full_stack_post_1k", None),
        (
            "full_stack_ratelimit_1_rule",
            Some(McpRateLimitLayer::new([rule("per-addr", vec![KeyPart::ClientAddr])]).unwrap()),
        ),
        (
            "full_stack_ratelimit_3_rules",
            Some(
                McpRateLimitLayer::new([
                    rule("per-addr", vec![KeyPart::ClientAddr]),
                    rule("per-session", vec![KeyPart::Session]),
                    rule("per-method", vec![KeyPart::ClientAddr, KeyPart::Method]),
                ])
                .unwrap(),
            ),
        ),
    ];
    // The same rule with its counts in a local redis-server: the round trip
    // a shared limit costs (skipped without `redis-server`).
    #[cfg(feature = "redis")]
    let _redis = redis_server::RedisServer::start().inspect(|server| {
        let shared = rt
            .block_on(mcp_tower_guard::ratelimit::RedisRateLimits::connect(
                &server.url(),
            ))
            .expect("redis");
        variants.push((
            "full_stack_ratelimit_1_rule_redis",
            Some(
                McpRateLimitLayer::new([rule("per-addr", vec![KeyPart::ClientAddr])])
                    .unwrap()
                    .shared(shared),
            ),
        ));
    });
    let mut g = c.benchmark_group("ratelimit");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (name, limits) in variants {
        let store = rt.block_on(async { MokaSessionStore::new() });
        let stack = ServiceBuilder::new()
            .layer(HostCheckLayer::localhost())
            .layer(OriginGuardLayer::localhost())
            .layer(McpHeadersLayer::new())
            .layer(McpSessionLayer::new(store))
            .option_layer(limits)
            .service(support::inner());
        let init = with_peer(support::post(&support::initialize(), None));
        let res = rt.block_on(stack.clone().oneshot(init)).unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let id: &'static HeaderValue = Box::leak(Box::new(res.headers()["mcp-session-id"].clone()));
        let make = move || with_peer(support::post(body, Some(id)));
        assert_eq!(
            rt.block_on(stack.clone().oneshot(make())).unwrap().status(),
            StatusCode::OK
        );
        support::timed_case(&mut g, &rt, "RATELIMIT", name, stack, make);
    }
    g.finish();
    c.final_summary();
}
