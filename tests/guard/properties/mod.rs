//! Property tests and fuzz replays.

/// The fuzz corpora and regressions, replayed.
mod fuzz_regressions;
/// The Mcp-Name encoding and the envelope.
mod headers;
/// Parsers through the public surface.
mod parsers;
/// Mcp-Param-* rules.
mod tool_headers;
