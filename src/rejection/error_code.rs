//! JSON-RPC error codes the layers answer with.

/// Invalid JSON (JSON-RPC 2.0).
pub const PARSE_ERROR: i32 = -32700;
/// Not a valid JSON-RPC request (JSON-RPC 2.0).
pub const INVALID_REQUEST: i32 = -32600;
/// The method does not exist or is not available (JSON-RPC 2.0).
pub const METHOD_NOT_FOUND: i32 = -32601;
/// Invalid method parameters (JSON-RPC 2.0).
pub const INVALID_PARAMS: i32 = -32602;
/// Generic server-side rejection (implementation-defined range, TypeScript SDK convention).
pub const SERVER_ERROR: i32 = -32000;
/// Session not found (implementation-defined range, TypeScript and C# SDK convention).
pub const SESSION_NOT_FOUND: i32 = -32001;
/// `HeaderMismatch` (MCP 2026-07-28).
pub const HEADER_MISMATCH: i32 = -32020;
/// `MissingRequiredClientCapabilityError` (MCP 2026-07-28).
pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i32 = -32021;
/// `UnsupportedProtocolVersionError` (MCP 2026-07-28).
pub const UNSUPPORTED_PROTOCOL_VERSION: i32 = -32022;
