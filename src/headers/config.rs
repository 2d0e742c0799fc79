//! The settings of one [`McpHeadersLayer`](super::McpHeadersLayer); the
//! decisions made with them are in `check.rs`.

use std::fmt;
use std::sync::Arc;

use http::HeaderValue;

use super::tools::ToolTable;
use crate::protocol::SupportedVersions;
use crate::read::BodyLimits;

/// The settings of one [`McpHeadersLayer`](super::McpHeadersLayer), shared by
/// all its services through an `Arc`.
#[derive(Clone)]
pub(crate) struct HeadersConfig {
    pub(crate) supported: SupportedVersions,
    pub(crate) limits: BodyLimits,
    pub(crate) check_accept: bool,
    pub(crate) check_content_type: bool,
    pub(crate) server: Option<HeaderValue>,
    pub(crate) tools: Arc<ToolTable>,
    pub(crate) max_mcp_headers: usize,
    pub(crate) max_mcp_header_bytes: usize,
    pub(crate) map_error_status: bool,
    pub(crate) order_warned: crate::order::WarnOnce,
}

/// Default cap on the number of `Mcp-*` request headers.
pub(crate) const DEFAULT_MAX_MCP_HEADERS: usize = 64;
/// Default cap on the bytes (names and values) of all `Mcp-*` request headers.
pub(crate) const DEFAULT_MAX_MCP_HEADER_BYTES: usize = 16 * 1024;

impl Default for HeadersConfig {
    fn default() -> Self {
        Self {
            supported: SupportedVersions::default(),
            limits: BodyLimits::default(),
            check_accept: true,
            check_content_type: true,
            server: None,
            tools: Arc::default(),
            max_mcp_headers: DEFAULT_MAX_MCP_HEADERS,
            max_mcp_header_bytes: DEFAULT_MAX_MCP_HEADER_BYTES,
            map_error_status: false,
            order_warned: crate::order::WarnOnce::default(),
        }
    }
}

impl fmt::Debug for HeadersConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeadersConfig")
            .field("supported", &self.supported)
            .field("limits", &self.limits)
            .field("check_accept", &self.check_accept)
            .field("check_content_type", &self.check_content_type)
            .field("server", &self.server)
            .field("tools", &self.tools)
            .field("max_mcp_headers", &self.max_mcp_headers)
            .field("max_mcp_header_bytes", &self.max_mcp_header_bytes)
            .field("map_error_status", &self.map_error_status)
            .finish()
    }
}
