//! Origin allowlist.

/// OriginGuardLayer alone.
mod layer;
