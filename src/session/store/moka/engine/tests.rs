//! Unit tests of `engine.rs`.

use super::*;
use crate::session::client_info::ClientInfo;

fn entry() -> Entry {
    let session = SessionContext::new(SessionId::new_random(), None, ClientInfo::default(), None);
    Entry { session }
}

#[test]
fn deadline_is_idle_from_last_activity_capped_by_lifetime() {
    let expiry = SessionExpiry {
        idle_timeout: Duration::from_secs(60),
        max_lifetime: Duration::from_secs(600),
    };
    let e = entry();
    let now = std::time::Instant::now();
    let d = expiry.deadline(&e, now);
    assert!(d <= Duration::from_secs(60) && d > Duration::from_secs(59));
    // A read 10 s after the last activity does not restart the idle timer.
    let d = expiry.deadline(&e, now + Duration::from_secs(10));
    assert!(d <= Duration::from_secs(50) && d > Duration::from_secs(49));
    // Near the end of the lifetime, the lifetime wins.
    let d = expiry.deadline(&e, e.created_std() + Duration::from_secs(590));
    assert!(d <= Duration::from_secs(10));
    assert_eq!(
        expiry.deadline(&e, e.created_std() + Duration::from_secs(700)),
        Duration::ZERO
    );
}

#[test]
fn claim_is_won_once() {
    let e = entry();
    assert_eq!(e.cause(), None);
    assert!(e.claim(CloseCause::Evicted));
    assert!(!e.claim(CloseCause::Deleted));
    assert_eq!(e.cause(), Some(CloseCause::Evicted));
    for cause in CloseCause::ALL {
        assert_eq!(cause_from_code(cause_code(cause)), Some(cause));
    }
}

/// A context this store (or another moka store) closed is refused, with its
/// slot given back: stored again, its claim would hide it and keep its slot.
#[test]
fn a_closed_context_is_not_stored_again() {
    let store = crate::session::MokaSessionStore::builder()
        .max_sessions(1)
        .no_maintenance_task()
        .build()
        .unwrap();
    let session = SessionContext::new(SessionId::new_random(), None, ClientInfo::default(), None);
    let commit = |session: &SessionContext| {
        use crate::session::SessionStore;
        let reservation = match store.reserve(session.id(), None) {
            crate::session::StoreCall::Ready(r) => r.unwrap(),
            crate::session::StoreCall::Pending(_) => unreachable!("moka answers at once"),
        };
        match store.commit(reservation, session.clone()) {
            crate::session::StoreCall::Ready(r) => r,
            crate::session::StoreCall::Pending(_) => unreachable!("moka answers at once"),
        }
    };
    commit(&session).unwrap();
    assert!(store.shared.remove(session.id(), CloseCause::Deleted));
    assert!(matches!(
        commit(&session),
        Err(crate::session::StoreError::Unavailable { .. })
    ));
    // The slot came back: the one-session limit takes a new session.
    let other = SessionContext::new(SessionId::new_random(), None, ClientInfo::default(), None);
    commit(&other).unwrap();
    assert_eq!(store.stats().active, 1);
}

/// The maintenance task ends with its runtime: from then on the end of a
/// request retimes its session itself, and nothing stays queued.
#[test]
fn a_store_whose_maintenance_ended_retimes_at_once() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = runtime.block_on(async {
        crate::session::MokaSessionStore::builder()
            .maintenance_interval(Duration::from_secs(3600))
            .build()
            .unwrap()
    });
    assert!(store.shared.maintained.load(Ordering::Acquire));
    let id = SessionId::new_random();
    store.shared.went_idle(&id);
    assert_eq!(store.shared.lock_idle().len(), 1, "queued for the task");
    drop(runtime);
    assert!(!store.shared.maintained.load(Ordering::Acquire));
    assert!(store.shared.lock_idle().is_empty(), "the queue was retimed");
    store.shared.went_idle(&id);
    assert!(store.shared.lock_idle().is_empty(), "retimed at once");
}
