//! A request's mark on its session: busy while it runs, and the store told
//! when the last one ends, so the idle timer starts from then.

use std::sync::{Arc, Weak};

use super::context::SessionContext;
use super::store::SessionStore;

/// Held by every clone of one request's [`SessionContext`].
struct Activity {
    session: SessionContext,
    store: Weak<dyn SessionStore>,
}

impl Drop for Activity {
    fn drop(&mut self) {
        if self.session.end_activity() {
            if let Some(store) = self.store.upgrade() {
                store.touch(self.session.id());
            }
        }
    }
}

/// `session` marked busy until the returned context and all its clones are
/// dropped.
pub(crate) fn begin(session: &SessionContext, store: &Arc<dyn SessionStore>) -> SessionContext {
    let activity = Arc::new(Activity {
        session: session.detached(),
        store: Arc::downgrade(store),
    });
    let live = session.with_activity(activity);
    // Let the store recompute the entry's deadline now that it is busy.
    store.request_started(session.id());
    live
}
