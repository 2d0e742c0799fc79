//! What every session store shares: its limits, its retry hints and its
//! hooks, validated in one place, and the builder setters that set them, so a
//! setter means the same thing on [`MokaSessionStoreBuilder`] and
//! `RedisSessionStoreBuilder`.
//!
//! [`MokaSessionStoreBuilder`]: crate::session::MokaSessionStoreBuilder

use std::time::Duration;

use crate::session::store::hooks::SessionHooks;
use crate::session::store::{LimitScope, StoreError};
use crate::ConfigError;

/// Longest idle timeout or lifetime a store keeps (longer ones are cut to it,
/// so deadline arithmetic cannot overflow; moka refuses durations over 1000
/// years): 100 years.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// A session that was never stored closed as
/// [`CloseCause::InitializeFailed`](crate::session::CloseCause): counted, and
/// the close hook told (a store's `abandon`).
pub(crate) fn closed_unstored(
    core: &StoreCore,
    counters: &crate::session::store::stats::Counters,
    session: &crate::session::SessionContext,
) {
    let cause = crate::session::CloseCause::InitializeFailed;
    counters.closed(cause);
    core.hooks.closed(session, cause);
}

/// The start of a built-in store's `Debug`: its name, its counts and its
/// settings, never the sessions (moka's own `Debug` prints every id). The
/// caller adds what is its own and finishes.
pub(crate) fn debug_store<'a, 'b>(
    f: &'a mut std::fmt::Formatter<'b>,
    name: &str,
    stats: &crate::session::SessionStats,
    core: &StoreCore,
) -> std::fmt::DebugStruct<'a, 'b> {
    let mut debug = f.debug_struct(name);
    debug
        .field("active", &stats.active)
        .field("reserved", &stats.reserved)
        .field("core", core);
    debug
}

/// [`StoreStats`](crate::session::StoreStats) of a built-in store, read from
/// its `shared.counters` and named `$name` in metrics; and its
/// [`SessionStore::subscribe_closed`](crate::session::SessionStore::subscribe_closed),
/// which adds to its hooks. Both stores keep them in the same fields.
macro_rules! builtin_store_stats {
    ($store:ty, $name:literal) => {
        impl $crate::session::StoreStats for $store {
            fn note_rejected(&self, reason: $crate::session::RejectReason) {
                self.shared.counters.rejected(reason);
            }

            fn note_other_version(&self) {
                self.shared.counters.other_version();
            }

            fn backend_name(&self) -> &'static str {
                $name
            }

            fn stats(&self) -> $crate::session::SessionStats {
                self.shared.stats()
            }
        }
    };
}
pub(crate) use builtin_store_stats;

/// The settings both store builders embed (as the field `core`).
#[derive(Clone, Debug)]
pub(crate) struct StoreCore {
    pub(crate) idle_timeout: Duration,
    pub(crate) max_lifetime: Duration,
    pub(crate) max_sessions: usize,
    pub(crate) max_per_principal: Option<usize>,
    /// `Retry-After` of a 429 (a limit was reached).
    pub(crate) retry_after: Duration,
    /// `Retry-After` of a 503 (the store cannot answer, or is shut down).
    pub(crate) unavailable_retry_after: Duration,
    pub(crate) hooks: SessionHooks,
}

impl Default for StoreCore {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(60 * 60),
            max_lifetime: Duration::from_secs(24 * 60 * 60),
            max_sessions: 10_000,
            max_per_principal: None,
            retry_after: Duration::from_secs(30),
            unavailable_retry_after: Duration::from_secs(1),
            hooks: SessionHooks::default(),
        }
    }
}

impl StoreCore {
    /// Checks every setting (each must be greater than zero) and cuts the
    /// durations to [`MAX_DURATION`], so deadline arithmetic cannot overflow.
    /// Stores check their own extra settings after this.
    pub(crate) fn validated(mut self) -> Result<Self, ConfigError> {
        // The retry hints may be zero: `Retry-After` is sent as at least 1 s.
        let checks: [(&'static str, bool); 4] = [
            ("idle_timeout", self.idle_timeout.is_zero()),
            ("max_lifetime", self.max_lifetime.is_zero()),
            ("max_sessions", self.max_sessions == 0),
            (
                "max_sessions_per_principal",
                self.max_per_principal == Some(0),
            ),
        ];
        if let Some((setting, _)) = checks.into_iter().find(|(_, zero)| *zero) {
            return Err(not_positive(setting));
        }
        self.idle_timeout = self.idle_timeout.min(MAX_DURATION);
        self.max_lifetime = self.max_lifetime.min(MAX_DURATION);
        Ok(self)
    }

    /// The 429 of a reached limit.
    pub(crate) fn limit_reached(&self, scope: LimitScope) -> StoreError {
        StoreError::LimitReached {
            scope,
            retry_after: self.retry_after,
        }
    }

    /// The 503 of a store that cannot answer.
    pub(crate) fn unavailable(&self, reason: impl Into<String>) -> StoreError {
        StoreError::Unavailable {
            reason: reason.into(),
            retry_after: self.unavailable_retry_after,
        }
    }
}

pub(crate) use crate::error::not_positive;

/// The setters of the [`StoreCore`] settings, for a builder whose field `core`
/// holds them: one text, one meaning, for every store.
macro_rules! store_core_setters {
    () => {
        /// Closes a session after this long without requests (default 60 min).
        /// A session with a request in flight, an open stream (see
        /// [`McpSessionLayer::streams_keep_alive`](crate::McpSessionLayer::streams_keep_alive))
        /// or a retained [`SessionContext`](crate::SessionContext) is never
        /// idle. With several replicas, a request on any of them counts.
        pub fn idle_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.core.idle_timeout = timeout;
            self
        }

        /// Closes a session this long after creation, busy or not (default 24 h).
        pub fn max_lifetime(mut self, lifetime: std::time::Duration) -> Self {
            self.core.max_lifetime = lifetime;
            self
        }

        /// At most this many sessions (over all replicas), counting
        /// `initialize` requests in progress (default 10 000). One more gets
        /// 429 with [`retry_after`](Self::retry_after).
        pub fn max_sessions(mut self, max: usize) -> Self {
            self.core.max_sessions = max;
            self
        }

        /// At most this many sessions per principal (over all replicas; default:
        /// no per-principal limit). Applies to requests with a principal;
        /// anonymous sessions count only against `max_sessions`.
        pub fn max_sessions_per_principal(mut self, max: usize) -> Self {
            self.core.max_per_principal = Some(max);
            self
        }

        /// The `Retry-After` of a 429, sent when a session limit is reached
        /// (default 30 s).
        pub fn retry_after(mut self, after: std::time::Duration) -> Self {
            self.core.retry_after = after;
            self
        }

        /// The `Retry-After` of a 503, sent while the store cannot answer or
        /// after it was shut down (default 1 s).
        pub fn unavailable_retry_after(mut self, after: std::time::Duration) -> Self {
            self.core.unavailable_retry_after = after;
            self
        }

        /// Runs `hook` after a session is created (its `initialize` was answered
        /// with a JSON-RPC result). See [`on_closed`](Self::on_closed) for the
        /// rules hooks follow.
        pub fn on_created<F>(mut self, hook: F) -> Self
        where
            F: Fn(&crate::SessionContext) + Send + Sync + 'static,
        {
            self.core.hooks.on_created = Some(std::sync::Arc::new(hook));
            self
        }

        /// Runs `hook` exactly once when a session ends, with the cause (with
        /// several replicas: once on each, wherever the session ended, with the
        /// context this replica holds or one rebuilt from the notification).
        ///
        /// It runs inline on the path that closes the session (a DELETE, a
        /// request finding it expired, the maintenance task, `shutdown`): keep
        /// it quick, do not block (send to a channel for async work), and do not
        /// call the store's session operations from it. A panic is caught and
        /// logged.
        pub fn on_closed<F>(mut self, hook: F) -> Self
        where
            F: Fn(&crate::SessionContext, crate::session::CloseCause) + Send + Sync + 'static,
        {
            self.core.hooks.on_closed = Some(std::sync::Arc::new(hook));
            self
        }
    };
}
pub(crate) use store_core_setters;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_zero_setting_is_named() {
        type Set = fn(&mut StoreCore);
        let cases: [(&str, Set); 4] = [
            ("idle_timeout", |c| c.idle_timeout = Duration::ZERO),
            ("max_lifetime", |c| c.max_lifetime = Duration::ZERO),
            ("max_sessions", |c| c.max_sessions = 0),
            ("max_sessions_per_principal", |c| {
                c.max_per_principal = Some(0)
            }),
        ];
        for (name, set) in cases {
            let mut core = StoreCore::default();
            set(&mut core);
            match core.validated() {
                Err(ConfigError::InvalidSetting { setting, .. }) => assert_eq!(setting, name),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn durations_are_cut_to_the_maximum() {
        let core = StoreCore {
            idle_timeout: Duration::MAX,
            max_lifetime: Duration::MAX,
            ..StoreCore::default()
        }
        .validated()
        .unwrap();
        assert_eq!(
            (core.idle_timeout, core.max_lifetime),
            (MAX_DURATION, MAX_DURATION)
        );
    }
}
