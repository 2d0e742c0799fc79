//! governor's GCRA state kept in a bounded moka cache, on tokio's clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use governor::clock::Clock;
use governor::nanos::Nanos;
use governor::state::StateStore;

/// tokio's clock, as nanoseconds since the limiter started: paused and
/// advanced in tests like every other timer of the crate.
#[derive(Clone, Debug)]
pub(crate) struct TokioClock {
    start: tokio::time::Instant,
}

impl TokioClock {
    pub(crate) fn new() -> Self {
        Self {
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(self.start.elapsed())
    }
}

/// "No state yet" in a cell (a theoretical arrival time of exactly
/// `u64::MAX` nanoseconds is 584 years away).
const EMPTY: u64 = u64::MAX;

/// One rule's keys. Idle keys leave after `idle` (by then their state is
/// the same as a fresh one, so nothing is lost), and at most `max_keys` are
/// kept: at the cap the cache forgets the least used ones, which then start
/// over with a full burst. No key is ever refused for lack of room.
#[derive(Clone)]
pub(crate) struct KeyStore {
    cells: moka::sync::Cache<u64, Arc<AtomicU64>>,
}

impl KeyStore {
    pub(crate) fn new(max_keys: u64, idle: Duration) -> Self {
        Self {
            cells: moka::sync::Cache::builder()
                .max_capacity(max_keys)
                .time_to_idle(idle.max(Duration::from_secs(1)))
                .build(),
        }
    }

    /// Keys held now (approximate while evictions are pending).
    pub(crate) fn len(&self) -> u64 {
        self.cells.run_pending_tasks();
        self.cells.entry_count()
    }
}

impl StateStore for KeyStore {
    type Key = u64;

    fn measure_and_replace<T, F, E>(&self, key: &u64, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let cell = self
            .cells
            .get_with(*key, || Arc::new(AtomicU64::new(EMPTY)));
        // The compare-and-swap loop governor's own stores use: retry when
        // another request updated the cell in between.
        let mut current = cell.load(Ordering::Acquire);
        loop {
            let previous = (current != EMPTY).then(|| Nanos::from(current));
            let (outcome, next) = f(previous)?;
            match cell.compare_exchange_weak(
                current,
                next.as_u64(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(outcome),
                Err(actual) => current = actual,
            }
        }
    }
}
