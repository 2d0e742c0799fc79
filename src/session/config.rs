//! The session layer's settings, shared by every service it makes.

use std::fmt;
use std::sync::Arc;

use super::id::IdGenerator;
use super::owner::{ServerSessions, SessionOwner};
use super::principal::ResolvePrincipal;
use super::store::SessionStore;

/// Settings shared by every service the layer makes.
#[derive(Clone)]
pub(crate) struct SessionConfig {
    pub(crate) store: Arc<dyn SessionStore>,
    /// The store, told when a session's last request ends.
    pub(crate) idle: Arc<dyn super::context::IdleNotify>,
    pub(crate) principal: Option<Arc<dyn ResolvePrincipal>>,
    pub(crate) allow_delete: bool,
    pub(crate) legacy_alias: bool,
    pub(crate) ids: Arc<dyn IdGenerator>,
    pub(crate) streams_keep_alive: bool,
    /// Who mints and keeps the sessions.
    pub(crate) owner: SessionOwner,
    /// With [`SessionOwner::Server`]: the endpoint, the close listener, warnings.
    pub(crate) server: Arc<ServerSessions>,
    /// Set once this layer has warned that its inner service mints session ids.
    pub(crate) warned_inner_sessions: crate::order::WarnOnce,
    /// Set once this layer has warned that it sits behind a 2026-07-28-only
    /// headers layer.
    pub(crate) warned_modern_only: crate::order::WarnOnce,
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("store", &"<dyn SessionStore>")
            .field("principal", &self.principal.as_ref().map(|_| "<fn>"))
            .field("allow_delete", &self.allow_delete)
            .field("legacy_alias", &self.legacy_alias)
            .field("ids", &"<dyn IdGenerator>")
            .field("streams_keep_alive", &self.streams_keep_alive)
            .field("owner", &self.owner)
            .finish()
    }
}
