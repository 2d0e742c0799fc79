//! governor's GCRA state in a bounded, sharded map, on tokio's clock.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

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

/// Keys are already keyed hashes: the map uses them as they are.
#[derive(Default)]
pub(crate) struct KeyIsHash(u64);

impl Hasher for KeyIsHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed; fold anything else in anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Cells = HashMap<u64, u64, BuildHasherDefault<KeyIsHash>>;

const SHARDS: usize = 16;

/// One rule's keys: each key's theoretical arrival time (TAT), in 16
/// shards behind their own lock. A key whose TAT has passed is at a full
/// burst, exactly like a key never seen, so it can be forgotten at no cost.
/// At the cap a shard first drops those; if that frees less than an eighth
/// of it, it drops the keys nearest to a full burst down to seven eighths
/// (they start over with a full burst: the least they gain), so a flood of
/// new keys costs amortized O(1), no request is ever refused for lack of
/// room, and a throttled key outlives every fuller one.
#[derive(Clone)]
pub(crate) struct KeyStore {
    shards: Arc<[Mutex<Cells>]>,
    per_shard: usize,
    clock: TokioClock,
}

impl KeyStore {
    pub(crate) fn new(max_keys: u64, clock: TokioClock) -> Self {
        let per_shard = usize::try_from(max_keys.div_ceil(SHARDS as u64))
            .unwrap_or(usize::MAX)
            .max(8);
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Cells::default())).collect(),
            per_shard,
            clock,
        }
    }

    /// Keys held now.
    pub(crate) fn len(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.len() as u64))
            .sum()
    }

    fn make_room(&self, cells: &mut Cells) {
        let now = self.clock.now().as_u64();
        cells.retain(|_, tat| *tat > now);
        let floor = self.per_shard - self.per_shard / 8;
        if cells.len() > floor {
            // The keys nearest to refilled go first (the smallest theoretical
            // arrival time): a throttled key is never dropped before a fuller
            // one, so minting keys cannot reset one's own throttled bucket
            // (issue 26, finding 4). One linear selection per 1/8 of the
            // shard's room: amortized O(1) per new key.
            let excess = cells.len() - floor;
            let mut by_tat: Vec<(u64, u64)> = cells.iter().map(|(k, t)| (*t, *k)).collect();
            by_tat.select_nth_unstable(excess - 1);
            for (_, key) in &by_tat[..excess] {
                cells.remove(key);
            }
        }
    }
}

impl StateStore for KeyStore {
    type Key = u64;

    fn measure_and_replace<T, F, E>(&self, key: &u64, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        // The top bits pick the shard; the map hashes the whole key.
        let shard = &self.shards[(*key >> 60) as usize % SHARDS];
        let mut cells = match shard.lock() {
            Ok(cells) => cells,
            // A panic elsewhere while holding the lock leaves plain integers behind.
            Err(poisoned) => poisoned.into_inner(),
        };
        let previous = cells.get(key).map(|tat| Nanos::from(*tat));
        let (outcome, next) = f(previous)?;
        if previous.is_none() && cells.len() >= self.per_shard {
            self.make_room(&mut cells);
        }
        cells.insert(*key, next.as_u64());
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_holds_and_never_refuses() {
        let store = KeyStore::new(1_000, TokioClock::new());
        for key in 0..100_000u64 {
            let r: Result<(), ()> = store
                .measure_and_replace(&key.wrapping_mul(0x9e37_79b9_7f4a_7c15), |_| {
                    Ok(((), Nanos::from(u64::MAX / 2)))
                });
            assert!(r.is_ok());
        }
        assert!(store.len() <= 1_008, "{}", store.len());
    }

    /// Issue 26, finding 4: eviction at the key cap could reset a throttled
    /// key (arbitrary keys went once the refilled ones were gone). Keys are
    /// now dropped nearest-to-refilled first: a flood of fresh keys never
    /// drops the one throttled far into the future.
    #[test]
    fn finding_4_a_throttled_key_outlives_a_flood_of_fuller_keys() {
        let store = KeyStore::new(128, TokioClock::new());
        let now = store.clock.now().as_u64();
        let throttled = 7u64 << 60; // lands in shard 7
        let far = now.saturating_add(3_600_000_000_000);
        let r: Result<(), ()> =
            store.measure_and_replace(&throttled, |_| Ok(((), Nanos::from(far))));
        assert!(r.is_ok());
        // Fresh keys in the same shard, each a little in the future (just used).
        for i in 1..10_000u64 {
            let key = throttled | i;
            let r: Result<(), ()> =
                store.measure_and_replace(&key, |_| Ok(((), Nanos::from(now + 1_000 + i))));
            assert!(r.is_ok());
        }
        let seen: Result<Option<u64>, ()> = store.measure_and_replace(&throttled, |previous| {
            Ok((previous.map(|p| p.as_u64()), Nanos::from(far)))
        });
        assert_eq!(seen, Ok(Some(far)), "the throttled key kept its state");
    }
}
