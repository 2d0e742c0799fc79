//! A request's mark on its session: busy while it runs, and the store told
//! when the last one ends, so the idle timer starts from then.

use std::sync::Arc;

use super::context::{IdleNotify, SessionContext};
use super::store::SessionStore;

/// The store, as what hears that a session went idle. The session layer
/// keeps one; each request's mark holds it weakly, one pointer wide.
pub(crate) struct StoreIdle(pub(crate) Arc<dyn SessionStore>);

impl IdleNotify for StoreIdle {
    fn idle(&self, id: &super::id::SessionId) {
        self.0.touch(id);
    }
}

/// `session` marked busy until the returned context and all its clones are
/// dropped.
pub(crate) fn begin(
    session: &SessionContext,
    store: &Arc<dyn SessionStore>,
    idle: &Arc<dyn IdleNotify>,
) -> SessionContext {
    let live = session.begin_activity(Arc::downgrade(idle));
    // Let the store recompute the entry's deadline now that it is busy.
    store.request_started(session.id());
    live
}
