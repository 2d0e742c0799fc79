//! Counters: [`SessionStats`].

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::session::store::close::CloseCause;

/// A snapshot of a store's counters. Totals count since the store was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionStats {
    /// Sessions live now.
    pub active: u64,
    /// Slots held by `initialize` requests still in progress.
    pub reserved: u64,
    /// Sessions created.
    pub created: u64,
    /// Sessions ended by DELETE.
    pub deleted: u64,
    /// Sessions ended by the idle timeout.
    pub idle_expired: u64,
    /// Sessions ended by the absolute lifetime.
    pub lifetime_expired: u64,
    /// Sessions evicted to make room (`LimitPolicy::EvictIdleLru`).
    pub evicted: u64,
    /// Sessions closed by `shutdown`.
    pub shutdown: u64,
    /// Sessions the inner server ended itself (it answered 404 for them), with
    /// [`SessionOwner::Server`](crate::session::SessionOwner::Server).
    pub server_closed: u64,
    /// `initialize` requests that reached the handler but were not answered
    /// with a JSON-RPC `result`: no session was created, the slot was given back.
    pub initialize_failed: u64,
    /// Requests served although their `MCP-Protocol-Version` named another
    /// supported revision than their session negotiated (judged under the
    /// negotiated one).
    pub other_version_served: u64,
    /// Requests the session layer refused, by reason.
    pub rejected: RejectedStats,
}

impl SessionStats {
    /// Sessions ended by either timeout.
    pub fn expired(&self) -> u64 {
        self.idle_expired + self.lifetime_expired
    }
}

/// Requests the session layer refused, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RejectedStats {
    /// Legacy request other than `initialize` without a session id (400).
    pub missing_id: u64,
    /// Malformed or repeated session id header (400).
    pub malformed_id: u64,
    /// Unknown, expired or deleted session (404).
    pub not_found: u64,
    /// Live session of another principal (404, counted apart).
    pub foreign_principal: u64,
    /// `initialize` carrying the id of a live session (400).
    pub already_initialized: u64,
    /// DELETE while deletion is disabled (405).
    pub delete_disabled: u64,
    /// Global session limit (429).
    pub global_limit: u64,
    /// Per-principal session limit (429).
    pub principal_limit: u64,
    /// Store errors (503).
    pub store_unavailable: u64,
    /// An unsupported version header on a session, or a batch the version the
    /// session negotiated forbids (400).
    pub negotiated_version: u64,
    /// A session whose inner server runs on another replica (421).
    pub other_replica: u64,
}

impl RejectedStats {
    /// All rejections.
    pub fn total(&self) -> u64 {
        self.missing_id
            + self.malformed_id
            + self.not_found
            + self.foreign_principal
            + self.already_initialized
            + self.delete_disabled
            + self.global_limit
            + self.principal_limit
            + self.store_unavailable
            + self.negotiated_version
            + self.other_replica
    }
}

/// Why the session layer refused a request (for [`RejectedStats`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// See [`RejectedStats::missing_id`].
    MissingId,
    /// See [`RejectedStats::malformed_id`].
    MalformedId,
    /// See [`RejectedStats::not_found`].
    NotFound,
    /// See [`RejectedStats::foreign_principal`].
    ForeignPrincipal,
    /// See [`RejectedStats::already_initialized`].
    AlreadyInitialized,
    /// See [`RejectedStats::delete_disabled`].
    DeleteDisabled,
    /// See [`RejectedStats::global_limit`].
    GlobalLimit,
    /// See [`RejectedStats::principal_limit`].
    PrincipalLimit,
    /// See [`RejectedStats::store_unavailable`].
    StoreUnavailable,
    /// See [`RejectedStats::negotiated_version`].
    NegotiatedVersion,
    /// See [`RejectedStats::other_replica`].
    OtherReplica,
}

impl RejectReason {
    /// A stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MissingId => "missing_id",
            Self::MalformedId => "malformed_id",
            Self::NotFound => "not_found",
            Self::ForeignPrincipal => "foreign_principal",
            Self::AlreadyInitialized => "already_initialized",
            Self::DeleteDisabled => "delete_disabled",
            Self::GlobalLimit => "global_limit",
            Self::PrincipalLimit => "principal_limit",
            Self::StoreUnavailable => "store_unavailable",
            Self::NegotiatedVersion => "negotiated_version",
            Self::OtherReplica => "other_replica",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Atomic counters behind [`SessionStats`], for store implementations in this crate.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) active: AtomicU64,
    pub(crate) created: AtomicU64,
    closed: [AtomicU64; CloseCause::ALL.len()],
    rejected: [AtomicU64; 11],
    other_version: AtomicU64,
}

fn reject_index(reason: RejectReason) -> usize {
    match reason {
        RejectReason::MissingId => 0,
        RejectReason::MalformedId => 1,
        RejectReason::NotFound => 2,
        RejectReason::ForeignPrincipal => 3,
        RejectReason::AlreadyInitialized => 4,
        RejectReason::DeleteDisabled => 5,
        RejectReason::GlobalLimit => 6,
        RejectReason::PrincipalLimit => 7,
        RejectReason::StoreUnavailable => 8,
        RejectReason::NegotiatedVersion => 9,
        RejectReason::OtherReplica => 10,
    }
}

impl Counters {
    pub(crate) fn closed(&self, cause: CloseCause) {
        self.closed[cause.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn other_version(&self) {
        self.other_version.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn rejected(&self, reason: RejectReason) {
        self.rejected[reject_index(reason)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, reserved: u64) -> SessionStats {
        let c = |cause: CloseCause| self.closed[cause.index()].load(Ordering::Relaxed);
        let r = |reason| self.rejected[reject_index(reason)].load(Ordering::Relaxed);
        SessionStats {
            active: self.active.load(Ordering::Relaxed),
            reserved,
            created: self.created.load(Ordering::Relaxed),
            deleted: c(CloseCause::Deleted),
            idle_expired: c(CloseCause::IdleExpired),
            lifetime_expired: c(CloseCause::LifetimeExpired),
            evicted: c(CloseCause::Evicted),
            shutdown: c(CloseCause::Shutdown),
            initialize_failed: c(CloseCause::InitializeFailed),
            server_closed: c(CloseCause::ServerClosed),
            other_version_served: self.other_version.load(Ordering::Relaxed),
            rejected: RejectedStats {
                missing_id: r(RejectReason::MissingId),
                malformed_id: r(RejectReason::MalformedId),
                not_found: r(RejectReason::NotFound),
                foreign_principal: r(RejectReason::ForeignPrincipal),
                already_initialized: r(RejectReason::AlreadyInitialized),
                delete_disabled: r(RejectReason::DeleteDisabled),
                global_limit: r(RejectReason::GlobalLimit),
                principal_limit: r(RejectReason::PrincipalLimit),
                store_unavailable: r(RejectReason::StoreUnavailable),
                negotiated_version: r(RejectReason::NegotiatedVersion),
                other_replica: r(RejectReason::OtherReplica),
            },
        }
    }
}
