//! The settings of one [`McpHeadersLayer`](super::McpHeadersLayer); the
//! decisions made with them are in `check.rs`.

use std::sync::Arc;

use http::HeaderValue;

use super::tools::ToolTable;
use crate::protocol::SupportedVersions;
use crate::read::BodyLimits;

/// The settings of one [`McpHeadersLayer`](super::McpHeadersLayer), shared by
/// all its services through an `Arc`.
#[derive(Clone, Debug)]
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
