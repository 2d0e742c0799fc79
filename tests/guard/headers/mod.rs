//! The headers layer.

/// One body read and one parse for the whole stack.
mod envelope_parsed_once;
/// McpHeadersLayer: both eras, Accept, Content-Type, limits.
mod layer;
/// The 2026-07-28 rules, named after the spec.
mod modern_edge;
