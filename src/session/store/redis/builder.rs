//! [`RedisSessionStoreBuilder`]: the settings, their validation, and
//! `build`, which connects, loads the scripts and starts the tasks.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{AsyncConnectionConfig, Client, Value};
use moka::sync::Cache;
use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::session::store::common::{not_positive, store_core_setters, StoreCore};
use crate::session::store::redis::codec::{describe, Keys};
use crate::session::store::redis::config::{tick, Config, RedisStoreError};
use crate::session::store::redis::engine::{
    lock, Shared, RECENTLY_CLOSED_CAPACITY, RECENTLY_CLOSED_TTL,
};
use crate::session::store::redis::near_cache::NearCache;
use crate::session::store::redis::scripts::Scripts;
use crate::session::store::redis::store::RedisSessionStore;
use crate::session::store::redis::tasks;
use crate::session::store::stats::Counters;
use crate::session::TARGET;
use crate::ConfigError;

impl RedisSessionStore {
    /// A builder for a store on the Redis at `url` (`redis://[user:password@]host[:port][/db]`,
    /// or `rediss://` when the `redis` crate's TLS features are enabled).
    pub fn builder(url: impl Into<String>) -> RedisSessionStoreBuilder {
        RedisSessionStoreBuilder {
            url: url.into(),
            core: StoreCore::default(),
            config: Config::default(),
        }
    }
}

/// How long `build` waits for the first connection and subscription.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Configures a [`RedisSessionStore`].
#[must_use]
pub struct RedisSessionStoreBuilder {
    pub(super) url: String,
    pub(super) core: StoreCore,
    pub(super) config: Config,
}

impl RedisSessionStoreBuilder {
    /// The namespace of the store's keys and channel (default
    /// `mcp-tower-guard`): keys are `{prefix}:…`, the channel `{prefix}:closed`.
    /// Replicas sharing sessions use the same prefix; different prefixes keep
    /// independent tables in one Redis. No `{` or `}`.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.prefix = prefix.into();
        self
    }

    store_core_setters!();

    /// The longest wait for any Redis call (default 500 ms). A call that takes
    /// longer fails, and the request gets 503 with `Retry-After`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// How long a reserved slot is held for an `initialize` still running
    /// (default 60 s). Normally the slot is committed or released at once; this
    /// bounds what a crashed replica leaves behind.
    pub fn reservation_ttl(mut self, ttl: Duration) -> Self {
        self.config.reservation_ttl = ttl;
        self
    }

    /// Turns on the near cache: a lookup of a session Redis confirmed live less
    /// than `ttl` ago on this replica is answered without a round trip
    /// (default: off). A close on another replica is seen here after the
    /// notification arrives (normally milliseconds) and never later than `ttl`.
    pub fn near_cache(mut self, ttl: Duration) -> Self {
        self.config.near_cache_ttl = Some(ttl);
        self
    }

    /// Most ids in the near cache (default 100 000).
    pub fn near_cache_capacity(mut self, capacity: u64) -> Self {
        self.config.near_cache_capacity = capacity;
        self
    }

    /// This replica's name among those sharing the store (default: 16 random
    /// hex digits, new each start). With
    /// [`SessionOwner::Server`](crate::session::SessionOwner::Server) a
    /// session is recorded with the replica whose inner server holds it, and
    /// a request that reaches another replica gets 421 Misdirected Request
    /// with `Mcp-Session-Replica: <name>`, for a load balancer to route on (or
    /// route sessions stickily). Name replicas the way your load balancer
    /// knows them. 1 to 64 characters of `A-Z a-z 0-9 - _ .`.
    pub fn replica_id(mut self, name: impl Into<String>) -> Self {
        self.config.replica = name.into().into();
        self
    }

    /// How often the maintenance task sweeps expired sessions (announcing
    /// them to every replica) and refreshes idle timers (default 1 s; never
    /// more than a quarter of the idle timeout).
    pub fn maintenance_interval(mut self, every: Duration) -> Self {
        self.config.maintenance_interval = every;
        self
    }

    /// Validates the settings, connects (waiting at most 5 s), loads the
    /// scripts, subscribes to close notifications and starts the maintenance
    /// task. Must run inside a tokio runtime; the store's tasks run on it.
    pub async fn build(self) -> Result<RedisSessionStore, RedisStoreError> {
        let Self { url, core, config } = self;
        let core = core.validated()?;
        validate(&config)?;

        let client = Client::open(url.as_str())
            .map_err(|err| RedisStoreError::InvalidUrl(describe(&err)))?;
        // One plain connection first: a refused or unreachable Redis fails
        // fast here, where the connection manager would retry with backoff.
        let probe = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(CONNECT_TIMEOUT));
        let mut probe = client
            .get_multiplexed_async_connection_with_config(&probe)
            .await
            .map_err(|err| RedisStoreError::Connect(describe(&err)))?;
        ::redis::cmd("PING")
            .query_async::<Value>(&mut probe)
            .await
            .map_err(|err| RedisStoreError::Connect(describe(&err)))?;
        drop(probe);
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout.max(Duration::from_millis(100))))
            .set_response_timeout(Some(config.timeout))
            .set_max_delay(Duration::from_secs(2));
        let mut conn = tokio::time::timeout(
            CONNECT_TIMEOUT,
            ConnectionManager::new_with_config(client.clone(), manager),
        )
        .await
        .map_err(|_| RedisStoreError::Connect("timed out".to_owned()))?
        .map_err(|err| RedisStoreError::Connect(describe(&err)))?;
        let scripts = Scripts::new();
        for script in scripts.all() {
            tokio::time::timeout(CONNECT_TIMEOUT, script.load_async(&mut conn))
                .await
                .map_err(|_| RedisStoreError::Connect("loading scripts timed out".to_owned()))?
                .map_err(|err| {
                    RedisStoreError::Connect(format!("loading scripts: {}", describe(&err)))
                })?;
        }

        let near = config
            .near_cache_ttl
            .map(|ttl| NearCache::new(ttl, config.near_cache_capacity));
        let keys = Keys::new(&config.prefix);
        let channel = keys.channel.clone();
        let timeout = config.timeout;
        let tick = tick(config.maintenance_interval, core.idle_timeout);
        let shared = Arc::new(Shared {
            conn,
            keys,
            scripts,
            core,
            config,
            counters: Counters::default(),
            live: AtomicU64::new(0),
            pending: AtomicU64::new(0),
            local: Mutex::new(HashMap::new()),
            near,
            near_hits: AtomicU64::new(0),
            recently_closed: Cache::builder()
                .max_capacity(RECENTLY_CLOSED_CAPACITY)
                .time_to_live(RECENTLY_CLOSED_TTL)
                .build(),
            refresh_queue: Mutex::new(HashSet::new()),
            subscribed: AtomicBool::new(false),
            needs_check: AtomicBool::new(false),
            healthy: AtomicBool::new(true),
            shut_down: AtomicBool::new(false),
            runtime: Handle::current(),
            tasks: Mutex::new(Vec::new()),
        });

        let (ready_tx, mut ready) = watch::channel(false);
        let subscriber = tokio::spawn(tasks::subscriber(
            Arc::downgrade(&shared),
            client,
            channel,
            timeout,
            ready_tx,
        ));
        let maintenance = tokio::spawn(tasks::maintenance(Arc::downgrade(&shared), tick));
        lock(&shared.tasks).extend([subscriber.abort_handle(), maintenance.abort_handle()]);
        let subscribed = tokio::time::timeout(CONNECT_TIMEOUT, ready.wait_for(|ok| *ok)).await;
        if !matches!(subscribed, Ok(Ok(_))) {
            // Dropping `shared` aborts the tasks.
            return Err(RedisStoreError::Connect(
                "cannot subscribe to close notifications".to_owned(),
            ));
        }
        tracing::debug!(
            target: TARGET,
            prefix = %shared.config.prefix,
            near_cache = ?shared.near.as_ref().map(NearCache::ttl),
            "redis session store ready"
        );
        Ok(RedisSessionStore { shared })
    }
}

fn validate(c: &Config) -> Result<(), ConfigError> {
    if c.prefix.is_empty() || c.prefix.contains(['{', '}']) {
        return Err(ConfigError::InvalidSetting {
            setting: "key_prefix",
            reason: "must be non-empty, without { or }".to_owned(),
        });
    }
    let name_ok = (1..=64).contains(&c.replica.len())
        && c.replica
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !name_ok {
        return Err(ConfigError::InvalidSetting {
            setting: "replica_id",
            reason: "must be 1 to 64 characters of A-Z a-z 0-9 - _ .".to_owned(),
        });
    }
    let zero: [(&'static str, bool); 5] = [
        ("timeout", c.timeout.is_zero()),
        ("reservation_ttl", c.reservation_ttl.is_zero()),
        ("near_cache", c.near_cache_ttl.is_some_and(|t| t.is_zero())),
        ("near_cache_capacity", c.near_cache_capacity == 0),
        ("maintenance_interval", c.maintenance_interval.is_zero()),
    ];
    match zero.into_iter().find(|(_, zero)| *zero) {
        Some((setting, _)) => Err(not_positive(setting)),
        None => Ok(()),
    }
}

impl fmt::Debug for RedisSessionStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the URL: it may carry a password.
        f.debug_struct("RedisSessionStoreBuilder")
            .field("core", &self.core)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_validated() {
        let ok = Config::default();
        assert!(validate(&ok).is_ok());
        let core = StoreCore {
            max_per_principal: Some(0),
            ..StoreCore::default()
        };
        assert!(core.validated().is_err());
        for bad in [
            Config {
                prefix: "a{b".into(),
                ..Config::default()
            },
            Config {
                timeout: Duration::ZERO,
                ..Config::default()
            },
            Config {
                near_cache_ttl: Some(Duration::ZERO),
                ..Config::default()
            },
        ] {
            assert!(validate(&bad).is_err(), "{bad:?}");
        }
    }
}
