//! [`McpRateLimitLayer`] and its service.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use governor::clock::Clock;
use http::{HeaderName, HeaderValue, Request, Response};
use serde_json::json;
use tower_layer::Layer;
use tower_service::Service;

use super::future::ResponseFuture;
use super::rule::{nonzero, Armed, Clients, KeyHash, RateLimitRule};
use super::TARGET;
use crate::error::{not_positive, ConfigError};
use crate::future::Staged;
use crate::rejection::{
    reject, JsonRpcRejection, Rejection, RejectionKind, RejectionResponse, RequestHead,
};

/// The most keys each rule keeps unless configured otherwise.
pub const DEFAULT_MAX_KEYS: u64 = 100_000;

struct RateLimitConfig {
    rules: Vec<Armed>,
}

impl fmt::Debug for RateLimitConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.rules.iter().map(|a| &a.rule))
            .finish()
    }
}

/// MCP-aware rate limits: several rules, each a GCRA quota (governor) per
/// key made of validated request facts. See the [module docs](crate::ratelimit).
#[derive(Clone)]
#[must_use]
pub struct McpRateLimitLayer<R = JsonRpcRejection> {
    config: Arc<RateLimitConfig>,
    clients: Clients,
    shared: Shared,
    rejection: R,
}

/// Where the counts live: in this process, or in Redis for every replica.
#[cfg(feature = "redis")]
type Shared = Option<Arc<super::redis::RedisRateLimits>>;
#[cfg(not(feature = "redis"))]
type Shared = Local;

/// In this process only (built without `redis`).
#[cfg(not(feature = "redis"))]
#[derive(Clone, Debug, Default)]
pub(crate) struct Local;

impl McpRateLimitLayer {
    /// A layer enforcing every rule, each keeping at most
    /// [`DEFAULT_MAX_KEYS`] keys.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidSetting`] when there are no rules, or two share a name.
    pub fn new(rules: impl IntoIterator<Item = RateLimitRule>) -> Result<Self, ConfigError> {
        Self::with_max_keys(rules, DEFAULT_MAX_KEYS)
    }

    /// As [`new`](Self::new), keeping at most `max_keys` keys per rule. At
    /// the cap, keys whose burst has refilled go first, then arbitrary ones
    /// (they start over with a full burst); no request is refused for lack
    /// of room.
    ///
    /// # Errors
    ///
    /// As for [`new`](Self::new), and for a zero `max_keys`.
    pub fn with_max_keys(
        rules: impl IntoIterator<Item = RateLimitRule>,
        max_keys: u64,
    ) -> Result<Self, ConfigError> {
        if max_keys == 0 {
            return Err(not_positive("max_keys"));
        }
        let rules: Vec<RateLimitRule> = rules.into_iter().collect();
        if rules.is_empty() {
            return Err(ConfigError::InvalidSetting {
                setting: "rules",
                reason: "at least one rule is needed".to_owned(),
            });
        }
        for (i, rule) in rules.iter().enumerate() {
            if rules[..i].iter().any(|r| r.name == rule.name) {
                return Err(ConfigError::InvalidSetting {
                    setting: "rules",
                    reason: format!("two rules are named {:?}", &*rule.name),
                });
            }
        }
        Ok(Self {
            config: Arc::new(RateLimitConfig {
                rules: rules.into_iter().map(|r| Armed::new(r, max_keys)).collect(),
            }),
            clients: Clients::default(),
            shared: Shared::default(),
            rejection: JsonRpcRejection,
        })
    }
}

impl<R> McpRateLimitLayer<R> {
    /// Keeps the counts in Redis, so every replica using the same server
    /// shares each quota exactly (feature `redis`). See
    /// [`RedisRateLimits`](super::RedisRateLimits) for timeouts and
    /// fail-open or fail-closed.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn shared(mut self, redis: super::redis::RedisRateLimits) -> Self {
        self.shared = Some(Arc::new(redis));
        self
    }

    /// Reads the client address of requests from these proxies from
    /// `X-Forwarded-For` (its last value, which the proxy appended); from any
    /// other peer, the header is ignored. The same rule as
    /// `HostCheckLayer::trust_forwarded_host`: make the proxy append the
    /// client's address.
    pub fn trust_forwarded_for(mut self, proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        // `::ffff:a.b.c.d` is `a.b.c.d`, as the Host layer reads it.
        self.clients.proxies = self
            .clients
            .proxies
            .iter()
            .copied()
            .chain(proxies.into_iter().map(|ip| ip.to_canonical()))
            .collect();
        self
    }

    /// How many leading bits of an IPv6 client address key `ClientAddr`
    /// (default 64): a host that holds a routed /64 (the usual delegation)
    /// would otherwise get a fresh quota per address. 128 keys each
    /// address; any length from 1 to 128.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidSetting`] for 0 or more than 128.
    pub fn ipv6_prefix(mut self, bits: u8) -> Result<Self, ConfigError> {
        if !(1..=128).contains(&bits) {
            return Err(ConfigError::InvalidSetting {
                setting: "ipv6_prefix",
                reason: format!("{bits}: a prefix length from 1 to 128"),
            });
        }
        self.clients.v6_prefix = bits;
        Ok(self)
    }

    /// Keys each rule holds now (for tests and metrics).
    pub fn key_counts(&self) -> Vec<(String, u64)> {
        self.config
            .rules
            .iter()
            .map(|a| (a.rule.rule_name().to_owned(), a.store.len()))
            .collect()
    }

    /// Uses `rejection` to build refusal responses.
    pub fn with_rejection<R2: Clone>(self, rejection: R2) -> McpRateLimitLayer<R2> {
        McpRateLimitLayer {
            config: self.config,
            clients: self.clients,
            shared: self.shared,
            rejection,
        }
    }

    /// Wraps `inner`.
    pub fn into_service<S>(self, inner: S) -> McpRateLimit<S, R> {
        McpRateLimit {
            inner,
            config: self.config,
            clients: self.clients,
            shared: self.shared,
            rejection: self.rejection,
        }
    }
}

impl<R> fmt::Debug for McpRateLimitLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpRateLimitLayer")
            .field("rules", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S, R: Clone> Layer<S> for McpRateLimitLayer<R> {
    type Service = McpRateLimit<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        McpRateLimit {
            inner,
            config: Arc::clone(&self.config),
            clients: self.clients.clone(),
            shared: self.shared.clone(),
            rejection: self.rejection.clone(),
        }
    }
}

/// The service of [`McpRateLimitLayer`].
#[derive(Clone)]
pub struct McpRateLimit<S, R = JsonRpcRejection> {
    inner: S,
    config: Arc<RateLimitConfig>,
    clients: Clients,
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    shared: Shared,
    rejection: R,
}

impl<S, R> McpRateLimit<S, R> {
    define_inner_service_accessors!();
}

impl<S: fmt::Debug, R> fmt::Debug for McpRateLimit<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpRateLimit")
            .field("inner", &self.inner)
            .field("rules", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S, R, ReqB, ResB> Service<Request<ReqB>> for McpRateLimit<S, R>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
    R: RejectionResponse<ResB>,
    ResB: Default + 'static,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqB, R, ResB>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let (parts, body) = req.into_parts();
        #[cfg(feature = "redis")]
        if let Some(redis) = &self.shared {
            let checks = redis_checks(redis.clone(), &self.config, &parts, &self.clients);
            let service = crate::future::take_ready(&mut self.inner);
            return ResponseFuture::checking(
                checks,
                service,
                Request::from_parts(parts, body),
                self.rejection.clone(),
            );
        }
        for (index, armed) in self.config.rules.iter().enumerate() {
            for (key, cells) in armed
                .rule
                .charges(index, &parts, &self.clients, KeyHash::Process)
            {
                let Some(cells) = nonzero(cells) else {
                    continue;
                };
                let rejection = match armed.limiter.check_key_n(&key, cells) {
                    Ok(Ok(_)) => {
                        crate::observe::rate_limit(armed.rule.rule_name(), "allowed");
                        continue;
                    }
                    Ok(Err(not_until)) => {
                        let wait = not_until.wait_time_from(armed.clock.now());
                        log_limited(armed.rule.rule_name(), key, wait);
                        limited(&armed.rule, wait)
                    }
                    // More cells than the burst: no wait lets it pass.
                    Err(_) => beyond_burst(&armed.rule, cells.get()),
                };
                crate::observe::rate_limit(armed.rule.rule_name(), "limited");
                let head = RequestHead::of_parts(&parts);
                return Staged::ready(reject("ratelimit", head, rejection, &self.rejection)).into();
            }
        }
        Staged::inner(self.inner.call(Request::from_parts(parts, body))).into()
    }
}

/// The Redis checks of one request, in rule order: the keys are computed now,
/// from the request, and checked one by one; the first refusal ends them.
#[cfg(feature = "redis")]
fn redis_checks(
    redis: Arc<super::redis::RedisRateLimits>,
    config: &RateLimitConfig,
    parts: &http::request::Parts,
    clients: &Clients,
) -> super::future::Checks {
    let checks: Vec<(RateLimitRule, u64, u32)> = config
        .rules
        .iter()
        .enumerate()
        .flat_map(|(index, armed)| {
            armed
                .rule
                .charges(index, parts, clients, KeyHash::Stable)
                .into_iter()
                .map(|(key, cells)| (armed.rule.clone(), key, cells))
        })
        .collect();
    Box::pin(async move {
        for (rule, key, cells) in checks {
            if cells > rule.quota.burst_size().get() {
                return Err(beyond_burst(&rule, cells));
            }
            match redis.check(rule.rule_name(), key, rule.quota, cells).await {
                super::redis::RedisDecision::Allowed => {}
                super::redis::RedisDecision::Limited(wait) => {
                    log_limited(rule.rule_name(), key, wait);
                    return Err(limited(&rule, wait));
                }
                super::redis::RedisDecision::Unavailable => {
                    return Err(Rejection::new(
                        RejectionKind::RateLimitUnavailable,
                        "Service Unavailable: rate limits cannot be checked now",
                    )
                    .with_retry_after(Duration::from_secs(1)));
                }
            }
        }
        Ok(())
    })
}

/// 429 with `Retry-After`, `RateLimit-Policy: "<rule>";q=<burst>;w=<seconds>`
/// and `RateLimit: "<rule>";r=0;t=<seconds>` (IETF RateLimit header
/// fields), and `error.data` naming the rule.
/// Refusals are logged a few a second (issue 26, finding 13: a flood of
/// 429s would otherwise fill the disk); the metrics count every one.
const LIMITED_LOGS: usize = crate::log_budget::RATE_LIMITED;

fn log_limited(rule: &str, key: u64, wait: Duration) {
    if let Some(suppressed) = crate::log_budget::allow(LIMITED_LOGS) {
        tracing::info!(
            target: TARGET,
            rule,
            key = %format_args!("{:08x}", key as u32),
            wait_ms = wait.as_millis() as u64,
            suppressed,
            "rate limited"
        );
    }
}

/// A request (a batch) that needs more cells than the rule's burst: no wait
/// would let it pass, so there is no `Retry-After` to give. 429, saying so,
/// with the sizes, so the client sends smaller batches.
fn beyond_burst(rule: &RateLimitRule, cells: u32) -> Rejection {
    let burst = rule.quota.burst_size().get();
    if let Some(suppressed) = crate::log_budget::allow(LIMITED_LOGS) {
        tracing::info!(
            target: TARGET,
            rule = rule.rule_name(),
            cells,
            burst,
            suppressed,
            "rate limited: the batch is larger than the burst"
        );
    }
    Rejection::new(
        RejectionKind::RateLimited,
        format!(
            "Too Many Requests: this batch needs {cells} calls of rate limit {}, which allows at most {burst} at once; send smaller batches",
            rule.rule_name()
        ),
    )
    .with_data(json!({
        "rule": rule.rule_name(),
        "cells": cells,
        "burst": burst,
    }))
}

fn limited(rule: &RateLimitRule, wait: Duration) -> Rejection {
    let quota = rule.quota;
    let window = quota.burst_size_replenished_in().as_secs().max(1);
    let reset = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let policy = format!(
        "\"{}\";q={};w={window}",
        rule.rule_name(),
        quota.burst_size()
    );
    let state = format!("\"{}\";r=0;t={reset}", rule.rule_name());
    let header =
        |v: String| HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("\"limit\""));
    Rejection::new(
        RejectionKind::RateLimited,
        format!("Too Many Requests: rate limit {} reached", rule.rule_name()),
    )
    .with_retry_after(wait.max(Duration::from_millis(1)))
    .with_header(HeaderName::from_static("ratelimit-policy"), header(policy))
    .with_header(HeaderName::from_static("ratelimit"), header(state))
    .with_data(json!({
        "rule": rule.rule_name(),
        "retryAfterMs": wait.as_millis() as u64,
    }))
}
