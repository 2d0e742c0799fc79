//! Placeholder, replaced by the headers layer.

/// Placeholder.
#[derive(Debug)]
pub struct McpHeadersLayer;
