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

/// moka tables the sessions are spread over, each with its own maintenance.
/// A cache read may run that maintenance inline (moka 0.12 has no switch to
/// keep it off reads): when many sessions expire at once, the request that
/// runs it removes the expired entries of one table, not of all.
const SEGMENTS: usize = 8;

fn assemble(core: StoreCore, config: StoreConfig) -> MokaSessionStore {
    // Only a store with a maintenance task leaves retiming to it.
    let runtime = tokio::runtime::Handle::try_current();
    let maintained = config.maintenance_interval.is_some() && runtime.is_ok();
    let shared = Arc::new_cyclic(|weak: &Weak<Shared>| {
        let listener_ref = weak.clone();
        let cache = Cache::builder(SEGMENTS)
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
