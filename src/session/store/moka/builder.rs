//! [`MokaSessionStoreBuilder`]: the settings, and `build`, which assembles
//! the cache and starts the maintenance task.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use moka::policy::EvictionPolicy;
use moka::sync::SegmentedCache as Cache;

use crate::session::store::common::{not_positive, store_core_setters, StoreCore};
use crate::session::store::stats::Counters;
use crate::ConfigError;

use super::engine::{maintain, Counts, Entry, LimitPolicy, SessionExpiry, Shared, StoreConfig};
use super::MokaSessionStore;
use crate::session::TARGET;

impl MokaSessionStore {
    /// A store with the defaults: idle 60 min, lifetime 24 h, at most 10 000
    /// sessions, refuse at the limit, maintenance every second.
    pub fn new() -> Self {
        assemble(StoreCore::default(), StoreConfig::default())
    }

    /// A builder to configure the store.
    pub fn builder() -> MokaSessionStoreBuilder {
        MokaSessionStoreBuilder::default()
    }
}

impl Default for MokaSessionStore {
    fn default() -> Self {
        Self::new()
    }
}

/// Configures a [`MokaSessionStore`].
#[derive(Debug, Default)]
#[must_use]
pub struct MokaSessionStoreBuilder {
    core: StoreCore,
    config: StoreConfig,
}

impl MokaSessionStoreBuilder {
    store_core_setters!();

    /// What to do at a limit (default [`LimitPolicy::Reject`]).
    pub fn on_limit(mut self, policy: LimitPolicy) -> Self {
        self.config.on_limit = policy;
        self
    }

    /// How often the maintenance task runs moka's pending work, so expirations
    /// are reported without traffic (default 1 s).
    pub fn maintenance_interval(mut self, every: Duration) -> Self {
        self.config.maintenance_interval = Some(every);
        self
    }

    /// Spawns no maintenance task: expirations are then reported when the store
    /// is next used, or when you call [`MokaSessionStore::run_pending_tasks`].
    pub fn no_maintenance_task(mut self) -> Self {
        self.config.maintenance_interval = None;
        self
    }

    /// Validates the settings and builds the store. Inside a tokio runtime this
    /// also spawns the maintenance task.
    pub fn build(self) -> Result<MokaSessionStore, ConfigError> {
        let Self { core, config } = self;
        let core = core.validated()?;
        if config.maintenance_interval.is_some_and(|d| d.is_zero()) {
            return Err(not_positive("maintenance_interval"));
        }
        Ok(assemble(core, config))
    }
}

/// Sessions per moka table at the store's limit. A cache read may run its
/// table's maintenance inline (moka 0.12 has no switch to keep it off reads),
/// so when many sessions expire at once, the request that runs it removes the
/// expired entries of one table: at most about this many (about 10-30 ms of
/// work at 1 M sessions, measured in BENCHMARKS.md).
const SESSIONS_PER_SEGMENT: usize = 32_768;

/// The most tables: each costs about 32 KiB even when empty.
const MAX_SEGMENTS: usize = 64;

/// How many moka tables a store of at most `max_sessions` uses: one up to
/// [`SESSIONS_PER_SEGMENT`] (the default limit of 10 000 needs one, 34 KiB
/// when empty), then a power of two, so the empty store grows only with the
/// limit (1 M sessions: 32 tables, about 1 MiB).
fn segments_for(max_sessions: usize) -> usize {
    (max_sessions / SESSIONS_PER_SEGMENT)
        .clamp(1, MAX_SEGMENTS)
        .next_power_of_two()
}

fn assemble(core: StoreCore, config: StoreConfig) -> MokaSessionStore {
    // Only a store with a maintenance task leaves retiming to it.
    let runtime = tokio::runtime::Handle::try_current();
    let maintained = config.maintenance_interval.is_some() && runtime.is_ok();
    let shared = Arc::new_cyclic(|weak: &Weak<Shared>| {
        let listener_ref = weak.clone();
        let cache = Cache::builder(segments_for(core.max_sessions))
            .eviction_policy(EvictionPolicy::lru())
            .expire_after(SessionExpiry {
                idle_timeout: core.idle_timeout,
                max_lifetime: core.max_lifetime,
            })
            .eviction_listener(move |_id, entry: Entry, cause| {
                if let Some(shared) = listener_ref.upgrade() {
                    shared.on_removed(&entry, cause);
                }
            })
            .build();
        Shared {
            cache,
            core,
            config,
            counts: Mutex::new(Counts::default()),
            counters: Counters::default(),
            shut_down: AtomicBool::new(false),
            idle_queue: Mutex::new(Vec::new()),
            maintained: AtomicBool::new(maintained),
        }
    });
    if let Some(every) = shared.config.maintenance_interval {
        match runtime {
            Ok(runtime) => {
                runtime.spawn(maintain(Arc::downgrade(&shared), every));
            }
            Err(_) => tracing::debug!(
                target: TARGET,
                "session store built outside a tokio runtime: no maintenance task; \
                 expirations are reported when the store is next used"
            ),
        }
    }
    MokaSessionStore { shared }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The empty store stays small at the default limit, and the share a
    /// mass expiry can hand one request stays bounded as the limit grows.
    #[test]
    fn segments_follow_the_session_limit() {
        for (max, segments) in [
            (1, 1),
            (10_000, 1),
            (65_535, 1),
            (65_536, 2),
            (100_000, 4),
            (1_000_000, 32),
            (2_000_000, 64),
            (usize::MAX, MAX_SEGMENTS),
        ] {
            assert_eq!(segments_for(max), segments, "max_sessions {max}");
        }
    }
}
