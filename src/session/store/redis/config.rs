//! The Redis store's own settings, their derived timings, and its build
//! error: what the builder sets and the engine reads.

use std::time::Duration;

use crate::ConfigError;

/// Largest refresh slack (see `Config::slack`).
const MAX_SLACK: Duration = Duration::from_secs(1);
/// Shortest maintenance tick.
const MIN_TICK: Duration = Duration::from_millis(10);

/// Why [`RedisSessionStoreBuilder::build`](super::RedisSessionStoreBuilder::build) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// A setting is out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The URL is not a Redis URL.
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    /// Redis could not be reached, or refused the scripts or the subscription.
    #[error("cannot use Redis: {0}")]
    Connect(String),
}

/// The settings only this store has (the shared ones are in [`StoreCore`]).
#[derive(Clone, Debug)]
pub(super) struct Config {
    pub(super) prefix: String,
    pub(super) timeout: Duration,
    pub(super) reservation_ttl: Duration,
    pub(super) near_cache_ttl: Option<Duration>,
    pub(super) near_cache_capacity: u64,
    pub(super) maintenance_interval: Duration,
    /// This replica's name (`replica_id`).
    pub(super) replica: std::sync::Arc<str>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            prefix: "mcp-tower-guard".to_owned(),
            timeout: Duration::from_millis(500),
            reservation_ttl: Duration::from_secs(60),
            near_cache_ttl: None,
            near_cache_capacity: 100_000,
            maintenance_interval: Duration::from_secs(1),
            replica: random_replica_id().into(),
        }
    }
}

/// How far past the idle timeout a refresh may set the deadline, so a busy
/// session is written at most once per slack: a tenth of the idle timeout,
/// at most 1 s. A session expires between `idle_timeout` and
/// `idle_timeout + slack` after its last use.
pub(super) fn slack(idle_timeout: Duration) -> Duration {
    (idle_timeout / 10).min(MAX_SLACK)
}

/// The maintenance tick: the configured interval, but at most a quarter of
/// the idle timeout so busy sessions are refreshed well before they lapse.
pub(super) fn tick(maintenance_interval: Duration, idle_timeout: Duration) -> Duration {
    maintenance_interval.min(idle_timeout / 4).max(MIN_TICK)
}

/// A random replica name: 64 bits from the standard library's OS-seeded
/// hasher keys.
fn random_replica_id() -> String {
    use std::hash::BuildHasher;
    let n = std::collections::hash_map::RandomState::new().hash_one(std::process::id());
    format!("{n:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::store::common::StoreCore;

    #[test]
    fn slack_is_a_tenth_of_idle_at_most_a_second() {
        assert_eq!(
            slack(StoreCore::default().idle_timeout),
            Duration::from_secs(1)
        );
        assert_eq!(slack(Duration::from_secs(2)), Duration::from_millis(200));
    }

    #[test]
    fn tick_stays_under_the_idle_timeout() {
        let every = Config::default().maintenance_interval;
        let idle = StoreCore::default().idle_timeout;
        assert_eq!(tick(every, idle), Duration::from_secs(1));
        assert_eq!(
            tick(every, Duration::from_secs(1)),
            Duration::from_millis(250)
        );
        assert_eq!(tick(every, Duration::from_millis(1)), MIN_TICK);
    }
}
