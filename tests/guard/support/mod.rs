//! Helpers shared by the test modules (each module uses some of them).
#![allow(dead_code)]

#[cfg(feature = "auth")]
pub(crate) mod auth_server;
pub(crate) mod guards;
pub(crate) mod inner;
#[cfg(feature = "auth")]
pub(crate) mod keys;
#[cfg(feature = "redis")]
pub(crate) mod redis_server;
pub(crate) mod session;
pub(crate) mod sse;

/// A 2026-07-28 `tools/call` of `tool` as an axum request, its headers
/// mirroring the body, with `extra_meta` merged into `params._meta`.
pub(crate) fn modern_tools_call(
    tool: &str,
    extra_meta: serde_json::Value,
) -> http::Request<axum::body::Body> {
    let mut meta = serde_json::json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}});
    if let (Some(meta), Some(extra)) = (meta.as_object_mut(), extra_meta.as_object()) {
        meta.extend(extra.clone());
    }
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": tool, "arguments": {}, "_meta": meta}});
    http::Request::post("/mcp")
        .header("host", "localhost")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .body(axum::body::Body::from(body.to_string()))
        .unwrap()
}
