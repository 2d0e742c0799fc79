//! The host allowlist and the pure decision made for each request.

use std::fmt;
use std::net::IpAddr;

use http::{header, Extensions, HeaderMap, Uri};

use super::forwarded::{forwarded_last_host, last_list_value};
use crate::authority::{parse_authority, parse_host_pattern, Authority, HostMatch, PortSpec};
use crate::header_names::{FORWARDED, X_FORWARDED_HOST};
use crate::PeerAddr;
use crate::{ConfigError, Rejection, RejectionKind};

/// One allowlist entry.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct HostEntry {
    host: HostMatch,
    port: PortSpec,
}

impl HostEntry {
    pub(crate) fn parse(entry: &str) -> Result<Self, ConfigError> {
        let trimmed = entry.trim();
        if trimmed.contains("://") {
            return Err(invalid(
                entry,
                "a host entry has no scheme; origins belong to OriginGuardLayer",
            ));
        }
        let (host, port) = parse_host_pattern(trimmed).map_err(|reason| invalid(entry, reason))?;
        Ok(Self { host, port })
    }

    fn matches(&self, authority: &Authority<'_>) -> bool {
        self.host.matches(&authority.host)
            && match self.port {
                PortSpec::Unspecified | PortSpec::Any => true,
                PortSpec::Exact(port) => authority.port == Some(port),
            }
    }
}

impl fmt::Display for HostEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            PortSpec::Unspecified => write!(f, "{}", self.host),
            PortSpec::Any => write!(f, "{}:*", self.host),
            PortSpec::Exact(port) => write!(f, "{}:{port}", self.host),
        }
    }
}

impl fmt::Debug for HostEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn invalid(entry: &str, reason: &str) -> ConfigError {
    ConfigError::InvalidHost {
        entry: entry.to_owned(),
        reason: reason.to_owned(),
    }
}

/// The default loopback entries, any port.
pub(crate) const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// The Host rules of a [`HostCheckLayer`](super::HostCheckLayer): shared and
/// immutable, built by the layer. Named only as a parameter of
/// [`Gate`](crate::gate::Gate).
#[derive(Clone, Debug)]
pub struct HostConfig {
    entries: Vec<HostEntry>,
    /// Canonical addresses (`::ffff:a.b.c.d` folded to IPv4) of trusted proxies.
    trusted_proxies: Vec<IpAddr>,
    pub(crate) report_only: bool,
    pub(crate) order_warned: crate::order::WarnOnce,
}

impl HostConfig {
    pub(crate) fn loopback() -> Self {
        let entries = LOOPBACK
            .iter()
            .filter_map(|e| HostEntry::parse(e).ok())
            .collect();
        Self {
            entries,
            trusted_proxies: Vec::new(),
            report_only: false,
            order_warned: crate::order::WarnOnce::default(),
        }
    }

    pub(crate) fn from_entries<I, H>(hosts: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = H>,
        H: AsRef<str>,
    {
        let mut config = Self {
            entries: Vec::new(),
            trusted_proxies: Vec::new(),
            report_only: false,
            order_warned: crate::order::WarnOnce::default(),
        };
        for host in hosts {
            config.push(host.as_ref())?;
        }
        if config.entries.is_empty() {
            return Err(ConfigError::InvalidSetting {
                setting: "allowed hosts",
                reason: "the host allowlist is empty, which would refuse every request; \
                         use HostCheckLayer::localhost() or name the hosts"
                    .to_owned(),
            });
        }
        Ok(config)
    }

    pub(crate) fn push(&mut self, host: &str) -> Result<(), ConfigError> {
        let entry = HostEntry::parse(host)?;
        if !self.entries.contains(&entry) {
            self.entries.push(entry);
        }
        Ok(())
    }

    pub(crate) fn trust_proxies(&mut self, proxies: impl IntoIterator<Item = IpAddr>) {
        for ip in proxies {
            let ip = ip.to_canonical();
            if !self.trusted_proxies.contains(&ip) {
                self.trusted_proxies.push(ip);
            }
        }
    }

    /// The pure decision: `Ok` lets the request through.
    ///
    /// 1. If the peer is a trusted proxy, the host of the last `Forwarded`
    ///    element, else the last `X-Forwarded-Host` value, is checked instead.
    /// 2. More than one `Host` header is malformed.
    /// 3. The request-target authority (HTTP/2 `:authority`, HTTP/1.1
    ///    absolute-form) is checked, and so is the `Host` header when present;
    ///    neither may be malformed or off the list.
    /// 4. With neither, the host is missing.
    pub(crate) fn check(
        &self,
        uri: &Uri,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Result<(), Rejection> {
        if self.is_trusted_peer(extensions) {
            if headers.contains_key(FORWARDED) {
                let lines = headers.get_all(FORWARDED).iter().map(|v| v.as_bytes());
                match forwarded_last_host(lines) {
                    Ok(Some(host)) => return self.allow(host.as_bytes(), "Forwarded host"),
                    Ok(None) => {}
                    Err(reason) => return Err(malformed("Forwarded header", reason)),
                }
            }
            let lines = headers
                .get_all(X_FORWARDED_HOST)
                .iter()
                .map(|v| v.as_bytes());
            match last_list_value(lines) {
                Ok(Some(host)) => return self.allow(host, "X-Forwarded-Host"),
                Ok(None) => {}
                Err(reason) => return Err(malformed("X-Forwarded-Host", reason)),
            }
        }

        let mut host_headers = headers.get_all(header::HOST).iter();
        let host_header = host_headers.next();
        if host_headers.next().is_some() {
            return Err(Rejection::new(
                RejectionKind::MalformedHost,
                "more than one Host header",
            ));
        }
        let authority = uri.authority();
        if authority.is_none() && host_header.is_none() {
            return Err(Rejection::new(
                RejectionKind::MissingHost,
                "missing Host header",
            ));
        }
        if let Some(authority) = authority {
            self.allow(authority.as_str().as_bytes(), "request-target authority")?;
        }
        if let Some(host) = host_header {
            self.allow(host.as_bytes(), "Host header")?;
        }
        Ok(())
    }

    fn is_trusted_peer(&self, extensions: &Extensions) -> bool {
        !self.trusted_proxies.is_empty()
            && extensions
                .get::<PeerAddr>()
                .is_some_and(|peer| self.trusted_proxies.contains(&peer.0.ip().to_canonical()))
    }

    fn allow(&self, value: &[u8], source: &'static str) -> Result<(), Rejection> {
        let authority = parse_authority(value).map_err(|reason| malformed(source, reason))?;
        if self.entries.iter().any(|entry| entry.matches(&authority)) {
            Ok(())
        } else {
            Err(Rejection::new(
                RejectionKind::HostNotAllowed,
                format!("host not allowed: {authority} ({source})"),
            ))
        }
    }
}

fn malformed(source: &str, reason: &str) -> Rejection {
    Rejection::new(
        RejectionKind::MalformedHost,
        format!("invalid {source}: {reason}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderValue, Request, StatusCode};

    fn run(config: &HostConfig, req: &Request<()>) -> StatusCode {
        match config.check(req.uri(), req.headers(), req.extensions()) {
            Ok(()) => StatusCode::OK,
            Err(r) => r.status(),
        }
    }

    fn req(uri: &str, hosts: &[&[u8]]) -> Request<()> {
        let mut req = Request::builder().uri(uri).body(()).unwrap();
        for h in hosts {
            req.headers_mut()
                .append(header::HOST, HeaderValue::from_bytes(h).unwrap());
        }
        req
    }

    #[test]
    fn missing_host_is_400() {
        let c = HostConfig::loopback();
        let r = c
            .check(
                &Uri::from_static("/mcp"),
                &HeaderMap::new(),
                &Extensions::new(),
            )
            .unwrap_err();
        assert_eq!(r.kind(), RejectionKind::MissingHost);
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn duplicate_host_is_400_even_if_both_allowed() {
        let c = HostConfig::loopback();
        let r = req("/mcp", &[b"localhost", b"localhost"]);
        assert_eq!(run(&c, &r), StatusCode::BAD_REQUEST);
        let r = req("/mcp", &[b"localhost", b"evil.com"]);
        assert_eq!(run(&c, &r), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn authority_is_used_and_host_header_must_agree() {
        let c = HostConfig::loopback();
        // HTTP/2 style: authority only.
        assert_eq!(
            run(&c, &req("http://localhost:3000/mcp", &[])),
            StatusCode::OK
        );
        assert_eq!(
            run(&c, &req("http://evil.com/mcp", &[])),
            StatusCode::FORBIDDEN
        );
        // Absolute-form with a different Host: the authority decides, the
        // Host header must not smuggle a foreign name either.
        assert_eq!(
            run(&c, &req("http://evil.com/mcp", &[b"localhost"])),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            run(&c, &req("http://localhost/mcp", &[b"evil.com"])),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            run(&c, &req("http://localhost/mcp", &[b"[::1]:1"])),
            StatusCode::OK
        );
        assert_eq!(
            run(&c, &req("http://localhost/mcp", &[b"local host"])),
            StatusCode::BAD_REQUEST
        );
        // userinfo in the request target
        assert_eq!(
            run(&c, &req("http://evil.com@localhost/mcp", &[])),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn empty_list_is_an_error() {
        let err = HostConfig::from_entries(Vec::<String>::new()).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidSetting { .. }));
    }

    #[test]
    fn invalid_entry_names_the_entry() {
        let err = HostConfig::from_entries(["localhost", "evil.com@localhost"]).unwrap_err();
        match err {
            ConfigError::InvalidHost { entry, reason } => {
                assert_eq!(entry, "evil.com@localhost");
                assert!(reason.contains("userinfo"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = HostConfig::from_entries(["http://localhost"]).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidHost { .. }));
    }

    /// The reason a single entry is refused.
    fn refusal(entry: &str) -> String {
        match HostConfig::from_entries([entry]) {
            Err(ConfigError::InvalidHost { reason, .. }) => reason,
            other => panic!("{entry}: {other:?}"),
        }
    }

    #[test]
    fn a_wildcard_must_leave_two_labels() {
        for entry in ["*.com", "*.localhost", "*.internal:8000", "*.com."] {
            assert!(refusal(entry).contains("at least two labels"), "{entry}");
        }
        for entry in ["*.example.com", "*.internal.example:*", "*.co.uk"] {
            assert!(HostConfig::from_entries([entry]).is_ok(), "{entry}");
        }
    }

    #[test]
    fn a_cidr_entry_says_cidr_is_not_supported() {
        for entry in ["10.0.0.0/8", "192.168.1.0/24", "fd00::/8", "[fd00::]/8"] {
            assert!(refusal(entry).contains("CIDR"), "{entry}");
        }
        // Other slashes are still paths.
        assert!(refusal("localhost/mcp").contains("path"));
    }

    /// Extra request headers: (name, value).
    type Headers<'a> = &'a [(&'a str, &'a [u8])];

    fn proxied(config: &HostConfig, peer: &str, headers: Headers<'_>) -> StatusCode {
        let mut r = req("/mcp", &[b"backend:8080"]);
        for (name, value) in headers {
            r.headers_mut().append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        if !peer.is_empty() {
            r.extensions_mut().insert(PeerAddr(peer.parse().unwrap()));
        }
        run(config, &r)
    }

    #[test]
    fn forwarded_host_only_from_trusted_peers() {
        let mut c = HostConfig::from_entries(["mcp.example.com"]).unwrap();
        // Not enabled: forwarding headers are ignored, `backend:8080` is checked.
        assert_eq!(
            proxied(
                &c,
                "10.0.0.1:5000",
                &[("x-forwarded-host", b"mcp.example.com")]
            ),
            StatusCode::FORBIDDEN
        );
        c.trust_proxies(["10.0.0.1".parse().unwrap()]);
        let rows: &[(&str, Headers<'_>, StatusCode)] = &[
            (
                "10.0.0.1:5000",
                &[("x-forwarded-host", b"mcp.example.com")],
                StatusCode::OK,
            ),
            (
                "[::ffff:10.0.0.1]:5000",
                &[("x-forwarded-host", b"mcp.example.com")],
                StatusCode::OK,
            ),
            (
                "10.0.0.1:5000",
                &[("x-forwarded-host", b"evil.com, mcp.example.com")],
                StatusCode::OK,
            ),
            (
                "10.0.0.1:5000",
                &[("x-forwarded-host", b"mcp.example.com, evil.com")],
                StatusCode::FORBIDDEN,
            ),
            (
                "10.0.0.1:5000",
                &[
                    ("x-forwarded-host", b"mcp.example.com"),
                    ("x-forwarded-host", b"evil.com"),
                ],
                StatusCode::FORBIDDEN,
            ),
            (
                "10.0.0.1:5000",
                &[("x-forwarded-host", b"evil.com@mcp.example.com")],
                StatusCode::BAD_REQUEST,
            ),
            (
                "10.0.0.1:5000",
                &[("x-forwarded-host", b"")],
                StatusCode::BAD_REQUEST,
            ),
            (
                "10.0.0.1:5000",
                &[("forwarded", b"for=1.2.3.4;host=mcp.example.com")],
                StatusCode::OK,
            ),
            (
                "10.0.0.1:5000",
                &[("forwarded", b"host=\"mcp.example.com:443\"")],
                StatusCode::OK,
            ),
            (
                "10.0.0.1:5000",
                &[("forwarded", b"host=mcp.example.com, host=evil.com")],
                StatusCode::FORBIDDEN,
            ),
            (
                "10.0.0.1:5000",
                &[("forwarded", b"host=\"unterminated")],
                StatusCode::BAD_REQUEST,
            ),
            // Forwarded wins over X-Forwarded-Host
            (
                "10.0.0.1:5000",
                &[
                    ("forwarded", b"host=evil.com"),
                    ("x-forwarded-host", b"mcp.example.com"),
                ],
                StatusCode::FORBIDDEN,
            ),
            // last Forwarded element has no host: fall back to X-Forwarded-Host, then Host
            (
                "10.0.0.1:5000",
                &[
                    ("forwarded", b"for=1.2.3.4"),
                    ("x-forwarded-host", b"mcp.example.com"),
                ],
                StatusCode::OK,
            ),
            (
                "10.0.0.1:5000",
                &[("forwarded", b"for=1.2.3.4")],
                StatusCode::FORBIDDEN,
            ),
            // untrusted peer or no peer: headers ignored, Host `backend:8080` refused
            (
                "10.0.0.2:5000",
                &[("x-forwarded-host", b"mcp.example.com")],
                StatusCode::FORBIDDEN,
            ),
            (
                "10.0.0.2:5000",
                &[("forwarded", b"host=mcp.example.com")],
                StatusCode::FORBIDDEN,
            ),
            (
                "",
                &[("x-forwarded-host", b"mcp.example.com")],
                StatusCode::FORBIDDEN,
            ),
        ];
        for (peer, headers, want) in rows {
            assert_eq!(proxied(&c, peer, headers), *want, "peer {peer} {headers:?}");
        }
    }
}
