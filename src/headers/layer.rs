//! The [`McpHeadersLayer`] builder.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use tower_layer::Layer;

use super::check::HeadersConfig;
use super::McpHeaders;
use crate::envelope::BodyLimits;
use crate::protocol::SupportedVersions;
use crate::rejection::JsonRpcRejection;
use crate::ConfigError;

/// Applies [`McpHeaders`] to a service: `MCP-Protocol-Version` for both eras,
/// `Mcp-Method` / `Mcp-Name` for 2026-07-28, `Accept`, `Content-Type`, the
/// allowed methods and the POST body limits.
///
/// Cloning is cheap (the settings sit behind an `Arc`). See the
/// [module docs](crate::headers) for the rules and an example.
#[derive(Clone, Debug)]
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

    /// Sets the POST body size and read-time limits.
    ///
    /// # Errors
    ///
    /// A zero `max_bytes` or a zero `read_timeout`.
    pub fn body_limits(mut self, limits: BodyLimits) -> Result<Self, ConfigError> {
        if limits.max_bytes == 0 {
            return Err(ConfigError::InvalidSetting {
                setting: "max_body_bytes",
                reason: "the body limit must be at least one byte".to_owned(),
            });
        }
        if limits.read_timeout == Some(Duration::ZERO) {
            return Err(ConfigError::InvalidSetting {
                setting: "body_read_timeout",
                reason: "the read timeout must be longer than zero (use None to disable it)"
                    .to_owned(),
            });
        }
        self.config().limits = limits;
        Ok(self)
    }

    /// The largest POST body accepted (default 4 MiB); larger gets 413.
    ///
    /// # Errors
    ///
    /// Zero.
    pub fn max_body_bytes(self, max_bytes: usize) -> Result<Self, ConfigError> {
        let limits = BodyLimits {
            max_bytes,
            ..self.config.limits
        };
        self.body_limits(limits)
    }

    /// The time allowed to receive a whole POST body (default 30 s; `None`
    /// disables it); slower gets 408. Needs a tokio runtime with the time driver.
    ///
    /// # Errors
    ///
    /// A zero duration.
    pub fn body_read_timeout(self, timeout: Option<Duration>) -> Result<Self, ConfigError> {
        let limits = BodyLimits {
            read_timeout: timeout,
            ..self.config.limits
        };
        self.body_limits(limits)
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
