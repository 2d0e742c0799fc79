//! Lifecycle hooks: code you run when a session is created or closed.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, PoisonError, RwLock};

use crate::session::context::SessionContext;
use crate::session::store::close::CloseCause;

type CreatedHook = Arc<dyn Fn(&SessionContext) + Send + Sync>;
type ClosedHook = Arc<dyn Fn(&SessionContext, CloseCause) + Send + Sync>;

/// The hooks registered on a store builder.
///
/// Hooks run inline: the created hook on the request that commits the session,
/// the closed hook on whatever thread removes it (a DELETE, a request that finds
/// it expired, the maintenance task, `shutdown`). They must be quick and must not
/// block; to do async work, send to a channel. They must not call back into the
/// store's session operations (`get`, `remove`, ...): the closed hook runs inside
/// the cache's eviction listener. A panicking hook is caught and logged; the
/// store keeps working.
#[derive(Clone, Default)]
pub(crate) struct SessionHooks {
    pub(crate) on_created: Option<CreatedHook>,
    pub(crate) on_closed: Option<ClosedHook>,
    /// Added after the store is built ([`SessionStore::subscribe_closed`](crate::session::SessionStore::subscribe_closed)),
    /// shared by every clone of the hooks.
    listeners: Arc<RwLock<Vec<ClosedHook>>>,
}

impl SessionHooks {
    /// Adds a listener run on every close after the `on_closed` hook.
    pub(crate) fn subscribe(&self, listener: ClosedHook) {
        self.listeners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(listener);
    }

    pub(crate) fn created(&self, session: &SessionContext) {
        crate::observe::session_opened();
        if let Some(hook) = &self.on_created {
            if catch_unwind(AssertUnwindSafe(|| hook(session))).is_err() {
                tracing::error!(
                    target: crate::session::TARGET,
                    session = %session.id().tag(),
                    "on_created hook panicked"
                );
            }
        }
    }

    /// Every close goes through here: the session is marked closed first (no
    /// handler can store state for it any more), the hook runs (it can still
    /// read the state), then the state is dropped.
    pub(crate) fn closed(&self, session: &SessionContext, cause: CloseCause) {
        if cause != CloseCause::InitializeFailed {
            // A failed initialize was never opened: it is not a session that
            // ended, and the active count never had it.
            crate::observe::session_closed(
                cause.as_str(),
                || session.created_instant().elapsed(),
                session.protocol_version().map(|v| v.label()),
            );
        }
        session.mark_closed();
        self.fire_closed(session, cause);
        session.clear_state();
    }

    fn fire_closed(&self, session: &SessionContext, cause: CloseCause) {
        let listeners = self
            .listeners
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        for hook in self.on_closed.iter().chain(listeners.iter()) {
            if catch_unwind(AssertUnwindSafe(|| hook(session, cause))).is_err() {
                tracing::error!(
                    target: crate::session::TARGET,
                    session = %session.id().tag(),
                    cause = cause.as_str(),
                    "on_closed hook panicked"
                );
            }
        }
    }
}

impl fmt::Debug for SessionHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |set: bool| if set { "<fn>" } else { "None" };
        f.debug_struct("SessionHooks")
            .field("on_created", &show(self.on_created.is_some()))
            .field("on_closed", &show(self.on_closed.is_some()))
            .finish()
    }
}
