//! Header names used by MCP's Streamable HTTP transport, in one place.
//!
//! `http` header names are case-insensitive and stored lower-case; the spec's
//! spellings (`Mcp-Session-Id`, `MCP-Session-Id`) all match these constants.

use http::HeaderName;

/// `Mcp-Session-Id`: the legacy-era session id (2025-03-26 to 2025-11-25).
pub const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// `X-Session-Id`: an older alias some clients still send (opt-in, see the session layer).
pub const X_SESSION_ID: HeaderName = HeaderName::from_static("x-session-id");
/// `Mcp-Session-Replica`: on a 421, the replica whose MCP server holds the
/// session (`SessionOwner::Server` with a shared store).
pub const MCP_SESSION_REPLICA: HeaderName = HeaderName::from_static("mcp-session-replica");
/// `MCP-Protocol-Version`: the protocol revision a request speaks.
pub const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// `Mcp-Method`: the JSON-RPC method of a 2026-07-28 request (SEP-2243).
pub const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
/// `Mcp-Name`: the tool, prompt or resource a 2026-07-28 request names (SEP-2243).
pub const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");
/// `Last-Event-ID`: SSE resumption (legacy era only).
pub const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
/// `X-Accel-Buffering`: tells nginx-style proxies not to buffer an SSE stream.
pub(crate) const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");
/// `X-Forwarded-Host`: only read when a trusted proxy is configured.
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
/// `Forwarded` (RFC 7239): only read when a trusted proxy is configured.
pub const FORWARDED: HeaderName = HeaderName::from_static("forwarded");
