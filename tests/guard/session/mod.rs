//! The session layer (moka store).

/// Idle and lifetime expiry, streams keeping sessions alive.
mod expiry;
/// McpSessionLayer: create, use, delete, bind, hooks.
mod lifecycle;
/// Limits under concurrency, failed initializes.
mod limits;
