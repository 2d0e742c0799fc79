use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use tower_layer::Layer;

use super::config::HostConfig;
use super::HostCheck;
use crate::{ConfigError, JsonRpcRejection};

/// Refuses requests whose `Host` (or HTTP/2 `:authority`) is not on an
/// allowlist: the DNS-rebinding defence for a local MCP server.
///
/// Missing host: 400 ([`MissingHost`](crate::RejectionKind::MissingHost)).
/// Two `Host` headers or an unparseable value: 400
/// ([`MalformedHost`](crate::RejectionKind::MalformedHost)). A well-formed host
/// that is not listed: 403 ([`HostNotAllowed`](crate::RejectionKind::HostNotAllowed)).
/// Every method is checked, `GET`, `DELETE` and `OPTIONS` included.
///
/// Cloning the layer, and calling [`Layer::layer`], only clones an [`Arc`].
///
/// See the [module docs](crate::host) for entry syntax, matching rules and an
/// example.
#[derive(Clone)]
#[must_use]
pub struct HostCheckLayer<R = JsonRpcRejection> {
    pub(super) config: Arc<HostConfig>,
    pub(super) rejection: R,
}

impl HostCheckLayer {
    /// The loopback allowlist: `localhost`, `127.0.0.1` and `[::1]`, any port.
    ///
    /// This is the right layer for a server bound to a loopback address.
    pub fn localhost() -> Self {
        Self {
            config: Arc::new(HostConfig::loopback()),
            rejection: JsonRpcRejection,
        }
    }

    /// An allowlist of the given entries (see the [module docs](crate::host#allowlist-entries)
    /// for the syntax).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidHost`] naming the first invalid entry, or
    /// [`ConfigError::InvalidSetting`] if the list is empty: an empty list would
    /// refuse everything, and nothing here silently turns the check off.
    ///
    /// ```
    /// use mcp_tower_guard::HostCheckLayer;
    ///
    /// let layer = HostCheckLayer::new(["mcp.example.com:8443", "*.internal.example"])?;
    /// # let _ = layer;
    /// assert!(HostCheckLayer::new(Vec::<String>::new()).is_err());
    /// assert!(HostCheckLayer::new(["http://localhost"]).is_err());
    /// # Ok::<(), mcp_tower_guard::ConfigError>(())
    /// ```
    pub fn new<I, H>(hosts: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = H>,
        H: AsRef<str>,
    {
        Ok(Self {
            config: Arc::new(HostConfig::from_entries(hosts)?),
            rejection: JsonRpcRejection,
        })
    }
}

impl Default for HostCheckLayer {
    /// Same as [`HostCheckLayer::localhost`].
    fn default() -> Self {
        Self::localhost()
    }
}

impl<R> HostCheckLayer<R> {
    /// Adds one entry to the allowlist.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidHost`] if the entry does not parse.
    pub fn allow_host(mut self, host: impl AsRef<str>) -> Result<Self, ConfigError> {
        Arc::make_mut(&mut self.config).push(host.as_ref())?;
        Ok(self)
    }

    /// Adds several entries to the allowlist.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidHost`] naming the first entry that does not parse.
    pub fn allow_hosts<I, H>(mut self, hosts: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = H>,
        H: AsRef<str>,
    {
        let config = Arc::make_mut(&mut self.config);
        for host in hosts {
            config.push(host.as_ref())?;
        }
        Ok(self)
    }

    /// Honours `Forwarded: host=` and `X-Forwarded-Host` when, and only when,
    /// the request's [`PeerAddr`](super::PeerAddr) is one of `proxies`.
    ///
    /// From a trusted proxy, the `host` of the **last** `Forwarded` element is
    /// checked instead of `Host`; if that element has none, the **last**
    /// `X-Forwarded-Host` value (the one the closest proxy appended) is; if
    /// neither is present, `Host` is checked as usual. A malformed forwarding
    /// header is a 400. From any other peer, and when no [`PeerAddr`](super::PeerAddr)
    /// is in the request extensions, the forwarding headers are ignored: any
    /// client can send them. IPv4-mapped IPv6 peers (`::ffff:10.0.0.1`) match
    /// the IPv4 entry. Calling this more than once adds to the set; an empty
    /// set trusts nobody.
    pub fn trust_forwarded_host(mut self, proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        Arc::make_mut(&mut self.config).trust_proxies(proxies);
        self
    }

    /// Report-only mode: a request that would be refused is logged with
    /// `tracing::warn!` (target `mcp_tower_guard::rejection`, field
    /// `report_only = true`) and passed on. For rolling out an allowlist
    /// behind a proxy whose `Host` handling is not known yet; never for
    /// production: it turns the DNS-rebinding defence off.
    pub fn report_only(mut self, report_only: bool) -> Self {
        Arc::make_mut(&mut self.config).report_only = report_only;
        self
    }

    /// Whether [`report_only`](HostCheckLayer::report_only) is on.
    pub fn is_report_only(&self) -> bool {
        self.config.report_only
    }

    /// Wraps `inner`: the same as [`Layer::layer`], without importing the trait.
    pub fn into_service<S>(self, inner: S) -> HostCheck<S, R> {
        HostCheck::new(inner, self.config, self.rejection)
    }

    /// Replaces the response builder used for rejections (see
    /// [`RejectionResponse`](crate::RejectionResponse)).
    pub fn with_rejection<R2: Clone>(self, rejection: R2) -> HostCheckLayer<R2> {
        HostCheckLayer {
            config: self.config,
            rejection,
        }
    }
}

impl<R> fmt::Debug for HostCheckLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::rejection::debug_guard::<R>(f, "HostCheckLayer", None, &self.config)
    }
}

impl<S, R: Clone> Layer<S> for HostCheckLayer<R> {
    type Service = HostCheck<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        HostCheck::new(inner, Arc::clone(&self.config), self.rejection.clone())
    }
}
