//! The [`McpHeadersLayer`] builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use tower_layer::Layer;

use super::config::HeadersConfig;
use super::tools::{ToolRules, ToolTable};
use super::McpHeaders;
use crate::protocol::SupportedVersions;
use crate::read::BodyLimits;
use crate::rejection::JsonRpcRejection;
use crate::ConfigError;

/// Applies [`McpHeaders`] to a service: `MCP-Protocol-Version` for both eras,
/// `Mcp-Method` / `Mcp-Name` for 2026-07-28, `Accept`, `Content-Type`, the
/// allowed methods and the POST body limits.
///
/// Cloning is cheap (the settings sit behind an `Arc`). See the
/// [module docs](crate::headers) for the rules and an example.
#[derive(Clone)]
#[must_use]
pub struct McpHeadersLayer<R = JsonRpcRejection> {
    config: Arc<HeadersConfig>,
    rejection: R,
}

impl McpHeadersLayer {
    /// The default settings: every known protocol version, 4 MiB / 30 s body
    /// limits, `Accept` and `Content-Type` checked, no `Server` header, and
    /// JSON-RPC rejection bodies.
    pub fn new() -> Self {
        Self {
            config: Arc::new(HeadersConfig::default()),
            rejection: JsonRpcRejection,
        }
    }
}

impl Default for McpHeadersLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<R> McpHeadersLayer<R> {
    fn config(&mut self) -> &mut HeadersConfig {
        Arc::make_mut(&mut self.config)
    }

    /// Accepts only these protocol revisions (`YYYY-MM-DD`).
    ///
    /// With no legacy revision (2025-11-25 or earlier) in the list, GET and
    /// DELETE get 405 and a POST without `MCP-Protocol-Version` gets 400 -32020.
    /// With no modern revision, a 2026-07-28 request gets 400 -32022.
    ///
    /// # Errors
    ///
    /// An empty list or an entry that is not a `YYYY-MM-DD` revision.
    ///
    /// ```
    /// use mcp_tower_guard::McpHeadersLayer;
    ///
    /// let layer = McpHeadersLayer::new().supported_versions(["2025-11-25", "2026-07-28"]).unwrap();
    /// assert_eq!(layer.versions().as_slice().len(), 2);
    /// assert!(McpHeadersLayer::new().supported_versions(["latest"]).is_err());
    /// ```
    pub fn supported_versions<I, S>(self, versions: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Ok(self.supported(SupportedVersions::new(versions)?))
    }

    /// Accepts only the revisions of `versions` (already validated).
    pub fn supported(mut self, versions: SupportedVersions) -> Self {
        self.config().supported = versions;
        self
    }

    /// The accepted protocol revisions.
    pub fn versions(&self) -> &SupportedVersions {
        &self.config.supported
    }

    /// Sets the POST body size and read-time limits (a [`BodyLimits`] is
    /// valid by construction).
    pub fn body_limits(mut self, limits: BodyLimits) -> Self {
        self.config().limits = limits;
        self
    }

    /// The largest POST body accepted (default 4 MiB); larger gets 413.
    ///
    /// # Errors
    ///
    /// Zero.
    pub fn max_body_bytes(self, max_bytes: usize) -> Result<Self, ConfigError> {
        let limits = BodyLimits::new(max_bytes, self.config.limits.read_timeout())?;
        Ok(self.body_limits(limits))
    }

    /// The time allowed to receive a whole POST body (default 30 s; `None`
    /// disables it), counted from the first time the read has to wait for
    /// it; slower gets 408. Needs a tokio runtime with the time driver.
    ///
    /// # Errors
    ///
    /// A zero duration.
    pub fn body_read_timeout(self, timeout: Option<Duration>) -> Result<Self, ConfigError> {
        let limits = BodyLimits::new(self.config.limits.max_bytes(), timeout)?;
        Ok(self.body_limits(limits))
    }

    /// The POST body limits in force.
    pub fn limits(&self) -> BodyLimits {
        self.config.limits
    }

    /// Whether to answer 406 when `Accept` does not cover `application/json`
    /// and `text/event-stream` (POST) or `text/event-stream` (GET). On by
    /// default; a missing `Accept` counts as not covering them.
    pub fn check_accept(mut self, check: bool) -> Self {
        self.config().check_accept = check;
        self
    }

    /// Whether to answer 415 when a POST's `Content-Type` is not
    /// `application/json`. On by default.
    pub fn check_content_type(mut self, check: bool) -> Self {
        self.config().check_content_type = check;
        self
    }

    /// Adds this `Server` header to responses that have none.
    pub fn server_header(mut self, value: HeaderValue) -> Self {
        self.config().server = Some(value);
        self
    }

    /// Checks modern `tools/call` requests against `rules`: each parameter a
    /// tool mirrors into a header (`x-mcp-header`) and the client
    /// capabilities it requires. Build `rules` from the server's own tool
    /// definitions with [`ToolRules::from_tools_list`] or [`ToolRules::from_tools`].
    ///
    /// On a 2026-07-28 `tools/call` of a tool in the table:
    /// - an argument present and not `null` at an annotated path requires its
    ///   `Mcp-Param-{Name}` header, and a header requires the argument;
    /// - the header is decoded from `=?base64?…?=` first, then compared:
    ///   strings exactly, booleans as `true`/`false`, integers numerically;
    /// - a missing header, a different value or invalid characters get
    ///   400 -32020 (`HeaderMismatch`) with the request's id;
    /// - a missing required capability gets 400 -32021 with
    ///   `data.requiredCapabilities`.
    ///
    /// `Mcp-Param-*` headers of tools the table does not know are forwarded
    /// untouched ("Intermediate servers that do not recognize an
    /// `Mcp-Param-{Name}` header MUST forward it").
    ///
    /// ```
    /// use mcp_tower_guard::headers::ToolRules;
    /// use mcp_tower_guard::McpHeadersLayer;
    /// use serde_json::json;
    ///
    /// # fn main() -> Result<(), mcp_tower_guard::ConfigError> {
    /// let rules = ToolRules::from_tools_list(&json!([{ "name": "execute_sql",
    ///     "inputSchema": { "type": "object", "properties": {
    ///         "region": { "type": "string", "x-mcp-header": "Region" } } } }]))?;
    /// let layer = McpHeadersLayer::new().tool_rules(rules);
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn tool_rules(mut self, rules: ToolRules) -> Self {
        let learn = self.config.tools.learns();
        self.config().tools = std::sync::Arc::new(ToolTable::new(rules, learn));
        self
    }

    /// Learns the `x-mcp-header` parameters of tools from the inner service's
    /// own `tools/list` results, so a server needs no second copy of its
    /// schemas. Off by default.
    ///
    /// Each `application/json` answer to a `tools/list` request (of either era)
    /// is read within the body limit, and every tool it lists replaces its
    /// entry; a tool whose annotations break a constraint is left out with a
    /// warning. Rules given with [`tool_rules`](Self::tool_rules) win over
    /// learned ones. What it means in practice:
    ///
    /// - **Before the first `tools/list`** the table is empty and calls are
    ///   not checked. Clients list tools before calling them, and a client that
    ///   gets -32020 "SHOULD call tools/list ... then retry", which refreshes
    ///   the table.
    /// - **Several replicas** learn separately: each knows the tools of the
    ///   `tools/list` answers it served itself. Where every replica must check
    ///   from the first request, give the table with [`tool_rules`](Self::tool_rules).
    /// - **`notifications/tools/list_changed`**: the next `tools/list` through
    ///   the layer updates the entries. A tool the server dropped keeps its
    ///   last entry, which only matters if the server brings it back changed.
    /// - **SSE answers** to `tools/list` are passed through unread.
    pub fn learn_tools(mut self, learn: bool) -> Self {
        let rules = self.config.tools.configured().clone();
        self.config().tools = std::sync::Arc::new(ToolTable::new(rules, learn));
        self
    }

    /// The most `Mcp-*` request headers accepted (default 64); more get 431.
    ///
    /// # Errors
    ///
    /// Zero.
    pub fn max_mcp_headers(mut self, count: usize) -> Result<Self, ConfigError> {
        if count == 0 {
            return Err(ConfigError::InvalidSetting {
                setting: "max_mcp_headers",
                reason: "at least one Mcp-* header must be allowed (MCP-Protocol-Version)"
                    .to_owned(),
            });
        }
        self.config().max_mcp_headers = count;
        Ok(self)
    }

    /// The most bytes (names and values) of all `Mcp-*` request headers
    /// together (default 16 KiB); more get 431.
    ///
    /// # Errors
    ///
    /// Fewer than 64 bytes, which would refuse a plain 2026-07-28 request.
    pub fn max_mcp_header_bytes(mut self, bytes: usize) -> Result<Self, ConfigError> {
        if bytes < 64 {
            return Err(ConfigError::InvalidSetting {
                setting: "max_mcp_header_bytes",
                reason: "must be at least 64 bytes".to_owned(),
            });
        }
        self.config().max_mcp_header_bytes = bytes;
        Ok(self)
    }

    /// For inner services written by hand: gives a 2026-07-28 JSON answer
    /// that is a JSON-RPC error the HTTP status the revision assigns it
    /// (-32601 → 404; -32602, -32020, -32021, -32022 → 400). Off by default;
    /// SDK servers such as rmcp set the status themselves.
    ///
    /// Only `application/json` answers with status 200 are read, within the
    /// body limit; SSE streams pass through untouched.
    pub fn map_error_status(mut self, map: bool) -> Self {
        self.config().map_error_status = map;
        self
    }

    /// Replaces the rejection response builder (see [`crate::RejectionResponse`]).
    pub fn with_rejection<R2: Clone>(self, rejection: R2) -> McpHeadersLayer<R2> {
        McpHeadersLayer {
            config: self.config,
            rejection,
        }
    }

    /// Wraps `inner` directly.
    pub fn into_service<S>(self, inner: S) -> McpHeaders<S, R> {
        McpHeaders::from_parts(inner, self.config, self.rejection)
    }
}

impl<S, R: Clone> Layer<S> for McpHeadersLayer<R> {
    type Service = McpHeaders<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        McpHeaders::from_parts(inner, self.config.clone(), self.rejection.clone())
    }
}

impl<R> fmt::Debug for McpHeadersLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::rejection::debug_guard::<R>(f, "McpHeadersLayer", None, &self.config)
    }
}
