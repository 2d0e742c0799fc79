//! The optional in-process near cache: "Redis said this session was live less
//! than `ttl` ago", so a lookup can skip the round trip.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::sync::Cache;

use crate::session::id::SessionId;

/// Ids Redis recently confirmed live, each with the local instant until which
/// the confirmation may be trusted.
///
/// Entries are dropped by the close notifications (any replica's DELETE or
/// expiry) and by their TTL, whichever comes first. An epoch counter closes
/// the race between a lookup in flight and an invalidation: a lookup that
/// started before any invalidation completed does not insert its answer.
pub(super) struct NearCache {
    entries: Cache<SessionId, Instant>,
    ttl: Duration,
    epoch: AtomicU64,
}

impl NearCache {
    pub(super) fn new(ttl: Duration, capacity: u64) -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            ttl,
            epoch: AtomicU64::new(0),
        }
    }

    /// Whether `id` was confirmed live recently enough.
    pub(super) fn fresh(&self, id: &SessionId) -> bool {
        self.entries
            .get(id)
            .is_some_and(|until| Instant::now() < until)
    }

    /// The invalidation epoch; read it before asking Redis.
    pub(super) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Records that Redis confirmed `id` live, with `remaining` before its
    /// deadline, unless an invalidation happened since `seen_epoch`.
    pub(super) fn insert(&self, id: &SessionId, seen_epoch: u64, remaining: Duration) {
        if self.epoch() != seen_epoch {
            return;
        }
        let until = Instant::now() + self.ttl.min(remaining);
        self.entries.insert(id.clone(), until);
        // An invalidation between the check and the insert: undo.
        if self.epoch() != seen_epoch {
            self.entries.invalidate(id);
        }
    }

    pub(super) fn invalidate(&self, id: &SessionId) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate(id);
    }

    pub(super) fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate_all();
    }

    pub(super) fn ttl(&self) -> Duration {
        self.ttl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_after_invalidation_is_refused() {
        let near = NearCache::new(Duration::from_secs(60), 100);
        let id = SessionId::new_random();
        let epoch = near.epoch();
        near.insert(&id, epoch, Duration::from_secs(60));
        assert!(near.fresh(&id));
        near.invalidate(&id);
        assert!(!near.fresh(&id));
        // A lookup that started before the invalidation must not resurrect it.
        near.insert(&id, epoch, Duration::from_secs(60));
        assert!(!near.fresh(&id));
        near.insert(&id, near.epoch(), Duration::from_secs(60));
        assert!(near.fresh(&id));
        near.clear();
        assert!(!near.fresh(&id));
    }

    #[test]
    fn entry_never_outlives_the_session_deadline() {
        let near = NearCache::new(Duration::from_secs(60), 100);
        let id = SessionId::new_random();
        near.insert(&id, near.epoch(), Duration::ZERO);
        assert!(!near.fresh(&id));
    }
}
