//! Unit tests of `engine.rs`.

use super::*;

#[test]
fn concurrent_closes_of_one_id_fire_once() {
    // Regression for F8: the local close and the pub/sub echo race.
    let cache: Cache<SessionId, ()> = Cache::builder()
        .max_capacity(RECENTLY_CLOSED_CAPACITY)
        .build();
    let ids: Vec<SessionId> = (0..2_000).map(|_| SessionId::new_random()).collect();
    let fired = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for id in &ids {
                    if crate::session::store::redis::engine::first_close(&cache, id) {
                        fired.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(fired.into_inner(), ids.len());
}
