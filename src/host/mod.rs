//! Placeholder, replaced by the host layer.

/// Placeholder.
#[derive(Debug)]
pub struct HostCheckLayer;
