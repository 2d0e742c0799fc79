//! Placeholder, replaced by the session layer.

/// Placeholder.
#[derive(Debug)]
pub struct McpSessionLayer;
