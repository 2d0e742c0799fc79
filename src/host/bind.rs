//! The "bind to localhost" rule, checked before binding: [`LocalBind`].

use std::net::{IpAddr, SocketAddr};

use crate::{ConfigError, HostCheckLayer};

/// Check a listen address before binding, and get the matching [`HostCheckLayer`].
///
/// The MCP specification says a local server SHOULD bind only to localhost
/// (`127.0.0.1`), not to all interfaces (`0.0.0.0`). [`LocalBind`] turns that
/// into an error you cannot miss: a loopback address is fine and yields the
/// loopback host allowlist; anything else is a [`ConfigError::UnsafeBind`]
/// unless the caller opts in with [`LocalBind::allow_non_loopback`], and for
/// `0.0.0.0` / `::` also names the hosts clients will use.
///
/// ```
/// use std::net::SocketAddr;
/// use mcp_tower_guard::LocalBind;
/// use mcp_tower_guard::ConfigError;
///
/// // A local server: fine, loopback hosts on any port.
/// let addr: SocketAddr = "127.0.0.1:8000".parse().unwrap();
/// let hosts = LocalBind::new(addr).host_check()?;
/// # let _ = hosts;
///
/// // Every interface, by accident: refused.
/// let all: SocketAddr = "0.0.0.0:8000".parse().unwrap();
/// assert!(matches!(LocalBind::new(all).host_check(), Err(ConfigError::UnsafeBind { .. })));
///
/// // On purpose, with the names clients use.
/// let hosts = LocalBind::new(all)
///     .allow_non_loopback(true)
///     .allow_hosts(["mcp.example.com"])
///     .host_check()?;
/// # let _ = hosts;
/// # Ok::<(), ConfigError>(())
/// ```
///
/// Then bind to [`LocalBind::addr`] and add the returned layer, for example
/// `tokio::net::TcpListener::bind(bind.addr())` and
/// `Router::new()...layer(hosts)`.
#[derive(Clone, Debug)]
#[must_use]
pub struct LocalBind {
    addr: SocketAddr,
    hosts: Vec<String>,
    allow_non_loopback: bool,
}

impl LocalBind {
    /// Starts a check of `addr`. Non-loopback addresses are refused until
    /// [`allow_non_loopback(true)`](LocalBind::allow_non_loopback).
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            hosts: Vec::new(),
            allow_non_loopback: false,
        }
    }

    /// Adds a host allowlist entry (syntax as in [`HostCheckLayer::new`]);
    /// it is validated by [`host_check`](LocalBind::host_check).
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.hosts.push(host.into());
        self
    }

    /// Adds several host allowlist entries.
    pub fn allow_hosts<I, H>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = H>,
        H: Into<String>,
    {
        self.hosts.extend(hosts.into_iter().map(Into::into));
        self
    }

    /// Permits a non-loopback address. For `0.0.0.0` / `::` the hosts must
    /// also be named with [`allow_hosts`](LocalBind::allow_hosts).
    pub fn allow_non_loopback(mut self, allow: bool) -> Self {
        self.allow_non_loopback = allow;
        self
    }

    /// The address to bind to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Checks the address and returns the host allowlist that goes with it:
    ///
    /// | address | opt-in | result |
    /// |---|---|---|
    /// | loopback (`127.0.0.0/8`, `::1`, `::ffff:127.x.y.z`) | not needed | `localhost`, `127.0.0.1`, `[::1]` (any port) + named hosts |
    /// | `0.0.0.0`, `::` | required, and at least one named host | loopback entries + named hosts |
    /// | any other address | required | the address itself + named hosts |
    ///
    /// # Errors
    ///
    /// [`ConfigError::UnsafeBind`] when the table says no, and
    /// [`ConfigError::InvalidHost`] for an entry that does not parse.
    pub fn host_check(&self) -> Result<HostCheckLayer, ConfigError> {
        let ip = self.addr.ip().to_canonical();
        if ip.is_loopback() {
            return HostCheckLayer::localhost().allow_hosts(&self.hosts);
        }
        if !self.allow_non_loopback {
            return Err(self.unsafe_bind(
                "not a loopback address; a local MCP server should bind 127.0.0.1 or [::1] \
                 (to serve on other interfaces, opt in with LocalBind::allow_non_loopback(true) \
                 and name the hosts with allow_hosts; McpGuard::new takes the resulting layer)",
            ));
        }
        if ip.is_unspecified() {
            if self.hosts.is_empty() {
                return Err(self.unsafe_bind(
                    "listens on every interface; name the hosts clients use \
                     (allow_hosts) so DNS-rebinding requests can be refused",
                ));
            }
            return HostCheckLayer::localhost().allow_hosts(&self.hosts);
        }
        let literal = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        HostCheckLayer::new([literal])?.allow_hosts(&self.hosts)
    }

    fn unsafe_bind(&self, reason: &str) -> ConfigError {
        ConfigError::UnsafeBind {
            addr: self.addr,
            reason: reason.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{Request, StatusCode};
    use tower::{Layer, ServiceExt};

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// Status of a request with `host` through the layer.
    async fn status(layer: &HostCheckLayer, host: &str) -> StatusCode {
        let svc = layer.layer(tower::service_fn(|_req: Request<()>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
        }));
        let req = Request::builder()
            .uri("/mcp")
            .header("host", host)
            .body(())
            .unwrap();
        svc.oneshot(req).await.unwrap().status()
    }

    #[tokio::test]
    async fn loopback_addresses_get_the_loopback_list() {
        for a in [
            "127.0.0.1:8000",
            "127.0.0.2:0",
            "[::1]:8000",
            "[::ffff:127.0.0.1]:1",
        ] {
            let layer = LocalBind::new(addr(a)).host_check().unwrap();
            assert_eq!(
                status(&layer, "localhost:8000").await,
                StatusCode::OK,
                "{a}"
            );
            assert_eq!(status(&layer, "[::1]:1").await, StatusCode::OK, "{a}");
            assert_eq!(
                status(&layer, "evil.example").await,
                StatusCode::FORBIDDEN,
                "{a}"
            );
        }
        let layer = LocalBind::new(addr("127.0.0.1:1"))
            .host_check()
            .unwrap()
            .allow_host("mcp.local")
            .unwrap();
        assert_eq!(status(&layer, "mcp.local").await, StatusCode::OK);
    }

    #[test]
    fn non_loopback_needs_opt_in() {
        for a in [
            "0.0.0.0:8000",
            "[::]:8000",
            "192.168.1.10:8000",
            "[2001:db8::1]:1",
        ] {
            let err = LocalBind::new(addr(a))
                .allow_hosts(["mcp.example.com"])
                .host_check()
                .unwrap_err();
            assert!(matches!(err, ConfigError::UnsafeBind { .. }), "{a}: {err}");
            assert!(LocalBind::new(addr(a)).host_check().is_err(), "{a}");
        }
    }

    #[test]
    fn unspecified_needs_named_hosts() {
        for a in ["0.0.0.0:8000", "[::]:8000", "[::ffff:0.0.0.0]:8000"] {
            let err = LocalBind::new(addr(a))
                .allow_non_loopback(true)
                .host_check()
                .unwrap_err();
            assert!(matches!(err, ConfigError::UnsafeBind { addr: got, .. } if got == addr(a)));
        }
    }

    #[tokio::test]
    async fn unspecified_with_hosts_allows_them_and_loopback() {
        let layer = LocalBind::new(addr("0.0.0.0:8000"))
            .allow_non_loopback(true)
            .allow_host("mcp.example.com")
            .host_check()
            .unwrap();
        assert_eq!(status(&layer, "mcp.example.com").await, StatusCode::OK);
        assert_eq!(status(&layer, "localhost:8000").await, StatusCode::OK);
        assert_eq!(status(&layer, "evil.example").await, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn specific_address_allows_itself() {
        let layer = LocalBind::new(addr("192.168.1.10:8000"))
            .allow_non_loopback(true)
            .host_check()
            .unwrap();
        assert_eq!(status(&layer, "192.168.1.10:8000").await, StatusCode::OK);
        assert_eq!(status(&layer, "localhost").await, StatusCode::FORBIDDEN);
        let layer = LocalBind::new(addr("[2001:db8::1]:8000"))
            .allow_non_loopback(true)
            .host_check()
            .unwrap();
        assert_eq!(status(&layer, "[2001:db8::1]:8000").await, StatusCode::OK);
    }

    #[test]
    fn bad_entries_are_reported() {
        let err = LocalBind::new(addr("127.0.0.1:1"))
            .allow_host("evil.com@localhost")
            .host_check()
            .unwrap_err();
        assert!(matches!(err, ConfigError::InvalidHost { .. }));
        assert_eq!(
            LocalBind::new(addr("127.0.0.1:1")).addr(),
            addr("127.0.0.1:1")
        );
    }
}
