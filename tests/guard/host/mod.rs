//! Host allowlist.

/// Forged Host headers over real TCP.
mod forged_tcp;
/// HostCheckLayer alone.
mod layer;
