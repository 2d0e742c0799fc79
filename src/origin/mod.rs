//! Placeholder, replaced by the origin layer.

/// Placeholder.
#[derive(Debug)]
pub struct OriginGuardLayer;
