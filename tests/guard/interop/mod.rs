//! Real stacks: axum, hyper, tonic, rmcp.

/// The four layers with axum, hyper and tonic.
mod composition;
/// The demo server driven by the rmcp client.
mod demo_rmcp_client;
/// Host and Origin the ways users stack them.
mod guards;
/// McpGuard, the one-call preset.
mod preset;
/// Rmcp StreamableHttpService behind the layers.
mod rmcp_server;
/// rmcp keeping its own sessions, governed by the guard (`SessionOwner::Server`).
pub(crate) mod server_sessions;
