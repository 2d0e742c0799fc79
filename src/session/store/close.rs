//! Why a session ended: [`CloseCause`], which the close hook, the store's
//! close listeners and the statistics all name.

use std::fmt;

/// Why a session ended; passed to the close hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseCause {
    /// The client sent DELETE.
    Deleted,
    /// No request for longer than the idle timeout.
    IdleExpired,
    /// Older than the absolute maximum lifetime.
    LifetimeExpired,
    /// Removed to make room for a new session (`LimitPolicy::EvictIdleLru`).
    Evicted,
    /// The store was shut down.
    Shutdown,
    /// Never opened: its `initialize` reached the handler but was not answered
    /// with a JSON-RPC `result` (an error, an empty or cut-off answer, a
    /// dropped response). The created hook never fired for it; the closed hook
    /// does, so state a handler made for the id can be freed.
    InitializeFailed,
    /// The inner MCP server ended the session itself (with
    /// [`SessionOwner::Server`](crate::session::SessionOwner::Server)): it answered
    /// 404 for a session the guard still held, for example after its own
    /// keep-alive timed out.
    ServerClosed,
}

impl CloseCause {
    /// Every cause, in a fixed order ([`index`](Self::index) is the position).
    pub(crate) const ALL: [CloseCause; 7] = [
        Self::Deleted,
        Self::IdleExpired,
        Self::LifetimeExpired,
        Self::Evicted,
        Self::Shutdown,
        Self::InitializeFailed,
        Self::ServerClosed,
    ];

    /// The position in [`ALL`](Self::ALL): the one conversion to a number
    /// (counters, the moka store's claim byte).
    pub(crate) const fn index(self) -> usize {
        match self {
            Self::Deleted => 0,
            Self::IdleExpired => 1,
            Self::LifetimeExpired => 2,
            Self::Evicted => 3,
            Self::Shutdown => 4,
            Self::InitializeFailed => 5,
            Self::ServerClosed => 6,
        }
    }

    /// The cause at `index`, if any.
    pub(crate) fn from_index(index: usize) -> Option<Self> {
        Self::ALL.get(index).copied()
    }

    /// The cause named [`as_str`](Self::as_str) returns (the Redis scripts
    /// publish these names).
    #[cfg(any(test, feature = "redis"))]
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// A stable snake_case name, for logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Deleted => "deleted",
            Self::IdleExpired => "idle_expired",
            Self::LifetimeExpired => "lifetime_expired",
            Self::Evicted => "evicted",
            Self::Shutdown => "shutdown",
            Self::InitializeFailed => "initialize_failed",
            Self::ServerClosed => "server_closed",
        }
    }
}

impl fmt::Display for CloseCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
