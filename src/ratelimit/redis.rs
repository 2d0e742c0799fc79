//! GCRA in Redis, for limits that several replicas share exactly: one Lua
//! script per check, atomic on the server, on the server's clock (`TIME`),
//! so replicas with drifting clocks still agree.
//! [`McpRateLimitLayer::shared`](super::McpRateLimitLayer::shared) uses it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Script, Value};
use governor::Quota;

use super::TARGET;

/// One check: the key's theoretical arrival time (microseconds on Redis'
/// clock) moves by `cells` emission intervals if the result stays within the
/// burst; otherwise nothing changes and the wait is returned. The key
/// expires when its burst has refilled (its state then equals a new key's).
const GCRA: &str = r"
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000000 + tonumber(now_t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cells = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval * cells
local wait = new_tat - now - interval * burst
if wait > 0 then return {0, wait} end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, 0}
";

/// Why [`RedisRateLimits::connect`] failed. The `redis` crate's own error
/// is kept out of the API: its text is carried instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedisLimitsError {
    /// The URL is not a Redis URL.
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    /// Redis could not be reached in time.
    #[error("cannot use Redis: {0}")]
    Connect(String),
}

/// What a check decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedisDecision {
    /// Within the quota (or Redis failed and the backend fails open).
    Allowed,
    /// Over the quota: try again after this long.
    Limited(Duration),
    /// Redis failed and the backend fails closed.
    Unavailable,
}

/// Rate-limit state in Redis, shared by every replica that uses the same
/// server and prefix (feature `ratelimit` with `redis`).
///
/// Redis slow or down: each check is bounded by `timeout`; then the
/// backend **fails open** by default (the request passes), because an
/// outage of the limiter should not become an outage of the server, and a
/// limit is a fairness tool, not an authorization. `fail_closed(true)` makes
/// such a request [`Unavailable`](RedisDecision::Unavailable) (the layer
/// answers 503). Either way one `warn` event marks the outage and one `info`
/// its end, not one per request.
pub struct RedisRateLimits {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    fail_closed: bool,
    script: Script,
    down: AtomicBool,
}

impl std::fmt::Debug for RedisRateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimits")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("fail_closed", &self.fail_closed)
            .finish_non_exhaustive()
    }
}

impl RedisRateLimits {
    /// Connects to `url` (`redis://host:port`), with 250 ms per check.
    ///
    /// # Errors
    ///
    /// [`RedisLimitsError::InvalidUrl`] for a URL that is not a Redis URL,
    /// [`RedisLimitsError::Connect`] when Redis does not answer within 5 s.
    pub async fn connect(url: &str) -> Result<Self, RedisLimitsError> {
        let timeout = Duration::from_millis(250);
        let client =
            ::redis::Client::open(url).map_err(|e| RedisLimitsError::InvalidUrl(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout.max(Duration::from_millis(100))))
            .set_response_timeout(Some(timeout))
            .set_max_delay(Duration::from_secs(2));
        let conn = tokio::time::timeout(
            Duration::from_secs(5),
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| RedisLimitsError::Connect("connecting to Redis timed out".to_owned()))?
        .map_err(|e| RedisLimitsError::Connect(e.to_string()))?;
        Ok(Self {
            conn,
            prefix: "{mcp-tower-guard}:rl".to_owned(),
            timeout,
            fail_closed: false,
            script: Script::new(GCRA),
            down: AtomicBool::new(false),
        })
    }

    /// The time limit of one check (default 250 ms).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether a check Redis cannot answer refuses the request (default
    /// `false`: it passes; see the type's docs).
    pub fn fail_closed(mut self, closed: bool) -> Self {
        self.fail_closed = closed;
        self
    }

    /// The key prefix (default `{mcp-tower-guard}:rl`).
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_owned();
        self
    }

    /// Takes `cells` from `key` under `rule`'s `quota`.
    pub async fn check(&self, rule: &str, key: u64, quota: Quota, cells: u32) -> RedisDecision {
        let decision = self.decide(rule, key, quota, cells).await;
        crate::observe::rate_limit(
            rule,
            match decision {
                RedisDecision::Allowed if self.down.load(Ordering::Relaxed) => "failed_open",
                RedisDecision::Allowed => "allowed",
                RedisDecision::Limited(_) => "limited",
                RedisDecision::Unavailable => "unavailable",
            },
        );
        decision
    }

    async fn decide(&self, rule: &str, key: u64, quota: Quota, cells: u32) -> RedisDecision {
        let interval = quota.replenish_interval().as_micros().max(1) as u64;
        let redis_key = format!("{}:{rule}:{key:016x}", self.prefix);
        let mut conn = self.conn.clone();
        let mut invocation = self.script.key(redis_key);
        invocation
            .arg(interval)
            .arg(quota.burst_size().get())
            .arg(cells.max(1));
        let outcome =
            tokio::time::timeout(self.timeout, invocation.invoke_async::<Value>(&mut conn)).await;
        let reply = match outcome {
            Ok(Ok(reply)) => reply,
            Ok(Err(err)) => return self.failed(&err.to_string()),
            Err(_) => return self.failed("timed out"),
        };
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!(target: TARGET, "Redis answers rate-limit checks again");
        }
        match reply {
            Value::Array(items) => match (items.first(), items.get(1)) {
                (Some(Value::Int(1)), _) => RedisDecision::Allowed,
                (Some(Value::Int(0)), Some(Value::Int(wait))) => {
                    RedisDecision::Limited(Duration::from_micros((*wait).max(1) as u64))
                }
                _ => self.failed("unexpected reply"),
            },
            _ => self.failed("unexpected reply"),
        }
    }

    fn failed(&self, why: &str) -> RedisDecision {
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: TARGET,
                reason = why,
                fail_closed = self.fail_closed,
                "Redis does not answer rate-limit checks; requests {} until it does",
                if self.fail_closed { "are refused (503)" } else { "pass unlimited" }
            );
        }
        if self.fail_closed {
            RedisDecision::Unavailable
        } else {
            RedisDecision::Allowed
        }
    }
}
