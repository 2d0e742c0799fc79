//! Log budgets: a flood of refused requests must not become a flood of log
//! lines (issue 26, finding 13). Each budget lets [`PER_SECOND`] events
//! through per second and counts the rest; the first event of the next
//! second carries how many were suppressed. Budgets are per thread (so a
//! runtime with N workers logs at most N times as much). The counts a
//! dashboard needs live in the metrics (feature `telemetry`), which see
//! every request.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// Events a budget lets through per second.
pub(crate) const PER_SECOND: u32 = 10;

/// One budget. Approximate under races (a few events more or less per
/// second), never blocking.
#[derive(Debug)]
pub(crate) struct LogBudget {
    second: AtomicU64,
    used: AtomicU32,
    suppressed: AtomicU64,
}

impl LogBudget {
    pub(crate) const fn new() -> Self {
        Self {
            second: AtomicU64::new(0),
            used: AtomicU32::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(suppressed)` when this event may be logged, with the number of
    /// events suppressed since the last one logged; `None` to drop it.
    pub(crate) fn allow(&self) -> Option<u64> {
        let now = start().elapsed().as_secs() + 1;
        let second = self.second.load(Ordering::Relaxed);
        if second != now
            && self
                .second
                .compare_exchange(second, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.used.store(0, Ordering::Relaxed);
        }
        if self.used.fetch_add(1, Ordering::Relaxed) < PER_SECOND {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// How many budgets a thread keeps: one per rejection kind (indexed by the
/// kind's number), and [`RATE_LIMITED`].
const BUDGETS: usize = 64;

/// The budget of the rate-limit layer's 429 events.
#[cfg(feature = "ratelimit")]
pub(crate) const RATE_LIMITED: usize = BUDGETS - 1;

thread_local! {
    // Per thread: no contention between runtime workers (each logs a few
    // lines a second), and independent budgets for independent runtimes.
    static THREAD_BUDGETS: [LogBudget; BUDGETS] = const { [const { LogBudget::new() }; BUDGETS] };
}

/// [`LogBudget::allow`] on this thread's budget `index` (taken modulo the
/// number of budgets).
pub(crate) fn allow(index: usize) -> Option<u64> {
    THREAD_BUDGETS.with(|budgets| budgets[index % BUDGETS].allow())
}

fn start() -> &'static Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_cut_and_counted() {
        let budget = LogBudget::new();
        let logged: Vec<u64> = (0..1_000).filter_map(|_| budget.allow()).collect();
        // Within one second (or at most two, on a slow machine).
        assert!(logged.len() <= 2 * PER_SECOND as usize, "{}", logged.len());
        assert!(logged.len() >= PER_SECOND as usize);
        assert_eq!(logged[0], 0);
    }
}
