//! The authority grammar shared by the Host and Origin checks: pure parsing
//! and matching of `host[:port]` values and allowlist entries. No I/O, no
//! allocation on the request path. (`Forwarded` parsing lives in
//! `host/forwarded.rs`.)
//!
//! The grammar accepted for a request's host is deliberately narrower than
//! RFC 3986 `authority`, because anything a browser cannot send is either an
//! attack or a broken client:
//!
//! ```text
//! host-port = host [ ":" port ]
//! host      = "[" IPv6address "]" / dotted-quad / name
//! name      = label *( "." label ) [ "." ]      ; label = 1*63( ALPHA / DIGIT / "-" / "_" )
//! port      = 1*5DIGIT                          ; 0..=65535
//! ```
//!
//! A `dotted-quad` is exactly four decimal octets without leading zeros
//! (`127.0.0.1`). Every other numeric spelling (`127.1`, `0x7f.0.0.1`,
//! `2130706433`, `127.000.0.1`) is a *name*, so it never matches an IP entry.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Longest name accepted, without the trailing dot (RFC 1035 presentation form).
const MAX_NAME_LEN: usize = 253;
/// Longest label accepted (RFC 1035).
const MAX_LABEL_LEN: usize = 63;

/// A parsed host as it appears in a request. Names keep their original case and
/// lose one trailing dot; comparisons are ASCII case-insensitive.
#[derive(Clone, Copy, Debug)]
pub(crate) enum HostRef<'a> {
    /// A registered name (`localhost`, `mcp.example.com`).
    Name(&'a str),
    /// A dotted-quad IPv4 literal.
    V4(Ipv4Addr),
    /// A bracketed IPv6 literal, compared as an address (`[0:0::1]` == `[::1]`).
    V6(Ipv6Addr),
}

impl fmt::Display for HostRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostRef::Name(name) => {
                for c in name.chars() {
                    fmt::Write::write_char(f, c.to_ascii_lowercase())?;
                }
                Ok(())
            }
            HostRef::V4(ip) => write!(f, "{ip}"),
            HostRef::V6(ip) => write!(f, "[{ip}]"),
        }
    }
}

/// A request host with its optional port.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Authority<'a> {
    pub(crate) host: HostRef<'a>,
    pub(crate) port: Option<u16>,
}

impl fmt::Display for Authority<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => write!(f, "{}", self.host),
        }
    }
}

/// An owned, normalised host used in allowlist entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HostName {
    /// A lower-case name without a trailing dot.
    Name(Box<str>),
    /// A dotted-quad IPv4 literal.
    V4(Ipv4Addr),
    /// An IPv6 literal.
    V6(Ipv6Addr),
}

impl From<HostRef<'_>> for HostName {
    fn from(host: HostRef<'_>) -> Self {
        match host {
            HostRef::Name(name) => HostName::Name(name.to_ascii_lowercase().into_boxed_str()),
            HostRef::V4(ip) => HostName::V4(ip),
            HostRef::V6(ip) => HostName::V6(ip),
        }
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostName::Name(name) => f.write_str(name),
            HostName::V4(ip) => write!(f, "{ip}"),
            HostName::V6(ip) => write!(f, "[{ip}]"),
        }
    }
}

/// The host half of an allowlist entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HostMatch {
    /// Exactly this host.
    Exact(HostName),
    /// Any name strictly below this lower-case suffix (`*.example.com`), never the apex.
    Subdomains(Box<str>),
}

impl HostMatch {
    /// True if `host` is matched by this entry.
    pub(crate) fn matches(&self, host: &HostRef<'_>) -> bool {
        match (self, host) {
            (HostMatch::Exact(HostName::Name(want)), HostRef::Name(got)) => {
                want.eq_ignore_ascii_case(got)
            }
            (HostMatch::Exact(HostName::V4(want)), HostRef::V4(got)) => want == got,
            (HostMatch::Exact(HostName::V6(want)), HostRef::V6(got)) => want == got,
            (HostMatch::Subdomains(suffix), HostRef::Name(got)) => {
                let got = got.as_bytes();
                let suffix = suffix.as_bytes();
                // `got` must be `<at least one byte>.<suffix>`.
                match got.len().checked_sub(suffix.len() + 1) {
                    Some(dot) if dot > 0 => {
                        got.get(dot) == Some(&b'.')
                            && got
                                .get(dot + 1..)
                                .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }
}

impl fmt::Display for HostMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostMatch::Exact(host) => write!(f, "{host}"),
            HostMatch::Subdomains(suffix) => write!(f, "*.{suffix}"),
        }
    }
}

/// The port half of an allowlist entry, as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PortSpec {
    /// No port written (`localhost`). The host layer reads this as any port,
    /// the origin layer as the scheme's default port.
    Unspecified,
    /// `:*`, any port.
    Any,
    /// `:8443`, that port only.
    Exact(u16),
}

/// Checks the whole value in one pass: visible ASCII only (a byte outside it
/// is the error, wherever it is), then no character that turns an authority
/// into something else (the first one found is the error).
fn authority_text(input: &[u8]) -> Result<&str, &'static str> {
    if input.is_empty() {
        return Err("empty value");
    }
    let mut url_part = None;
    for &b in input {
        match b {
            b'@' => url_part = url_part.or(Some("userinfo ('@') is not allowed")),
            b'/' | b'\\' => url_part = url_part.or(Some("a path is not allowed")),
            b'?' => url_part = url_part.or(Some("a query is not allowed")),
            b'#' => url_part = url_part.or(Some("a fragment is not allowed")),
            b',' => url_part = url_part.or(Some("a list of hosts is not allowed")),
            0x21..=0x7e => {}
            0x80.. => return Err("non-ASCII byte"),
            _ => return Err("whitespace or control character"),
        }
    }
    if let Some(reason) = url_part {
        return Err(reason);
    }
    std::str::from_utf8(input).map_err(|_| "non-ASCII byte")
}

/// Splits `host[:port]` / `[v6][:port]` into the host text, whether it was
/// bracketed, and the raw port text (without the colon).
fn split_host_port(s: &str) -> Result<(&str, bool, Option<&str>), &'static str> {
    if let Some(inner) = s.strip_prefix('[') {
        let end = inner.find(']').ok_or("unclosed '[' in IPv6 literal")?;
        let (host, rest) = inner.split_at(end);
        // `rest` starts with the ']'.
        let rest = rest.get(1..).unwrap_or("");
        if rest.is_empty() {
            return Ok((host, true, None));
        }
        return match rest.strip_prefix(':') {
            Some(port) => Ok((host, true, Some(port))),
            None => Err("unexpected characters after ']'"),
        };
    }
    if s.contains(['[', ']']) {
        return Err("misplaced '[' or ']'");
    }
    match s.split_once(':') {
        None => Ok((s, false, None)),
        Some((host, port)) => {
            if port.contains(':') {
                Err("an IPv6 address must be in brackets")
            } else {
                Ok((host, false, Some(port)))
            }
        }
    }
}

/// Parses the digits of a port. Empty, signs, junk and values above 65535 fail.
fn parse_port(port: &str) -> Result<u16, &'static str> {
    if port.is_empty() {
        return Err("empty port");
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err("port is not a number");
    }
    if port.len() > 5 {
        return Err("port out of range");
    }
    port.parse::<u16>().map_err(|_| "port out of range")
}

/// `a.b.c.d`, four decimal octets, no leading zeros.
fn dotted_quad(name: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = name.split('.');
    for slot in &mut octets {
        let part = parts.next()?;
        let valid = !part.is_empty()
            && part.len() <= 3
            && part.bytes().all(|b| b.is_ascii_digit())
            && (part.len() == 1 || !part.starts_with('0'));
        if !valid {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    match parts.next() {
        None => Some(Ipv4Addr::from(octets)),
        Some(_) => None,
    }
}

/// Parses an unbracketed host: a name or a dotted quad. One trailing dot is dropped.
fn parse_name(host: &str) -> Result<HostRef<'_>, &'static str> {
    if host.is_empty() {
        return Err("empty host");
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() {
        return Err("empty host");
    }
    if name.len() > MAX_NAME_LEN {
        return Err("host name too long");
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("empty label in host name");
        }
        if label.len() > MAX_LABEL_LEN {
            return Err("label too long in host name");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("invalid character in host name");
        }
    }
    Ok(match dotted_quad(name) {
        Some(ip) => HostRef::V4(ip),
        None => HostRef::Name(name),
    })
}

/// Parses the inside of `[...]`.
fn parse_v6(host: &str) -> Result<HostRef<'_>, &'static str> {
    if host.contains('%') {
        return Err("IPv6 zone identifiers are not allowed");
    }
    host.parse::<Ipv6Addr>()
        .map(HostRef::V6)
        .map_err(|_| "invalid IPv6 address")
}

fn parse_host(host: &str, bracketed: bool) -> Result<HostRef<'_>, &'static str> {
    if bracketed {
        parse_v6(host)
    } else {
        parse_name(host)
    }
}

/// `10.0.0.0/8`, `fd00::/8`: an address, a slash, a prefix length.
fn is_cidr(entry: &str) -> bool {
    let Some((addr, bits)) = entry.trim().split_once('/') else {
        return false;
    };
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    !bits.is_empty()
        && bits.len() <= 3
        && bits.bytes().all(|b| b.is_ascii_digit())
        && addr.parse::<std::net::IpAddr>().is_ok()
}

/// Parses a request host (`Host` header, URI authority, forwarded host).
pub(crate) fn parse_authority(input: &[u8]) -> Result<Authority<'_>, &'static str> {
    let s = authority_text(input)?;
    let (host, bracketed, port) = split_host_port(s)?;
    let host = parse_host(host, bracketed)?;
    let port = port.map(parse_port).transpose()?;
    Ok(Authority { host, port })
}

/// Parses the `host[:port|:*]` part of an allowlist entry (host or origin).
/// The caller has already removed any scheme.
pub(crate) fn parse_host_pattern(entry: &str) -> Result<(HostMatch, PortSpec), &'static str> {
    if is_cidr(entry) {
        return Err("CIDR ranges are not supported: list each host name or address");
    }
    let s = authority_text(entry.as_bytes())?;
    let (host, bracketed, port) = split_host_port(s)?;
    let port = match port {
        None => PortSpec::Unspecified,
        Some("*") => PortSpec::Any,
        Some(port) => PortSpec::Exact(parse_port(port)?),
    };
    let host =
        if let Some(suffix) = host.strip_prefix("*.").filter(|_| !bracketed) {
            if suffix.contains('*') {
                return Err("'*' is only allowed as the whole first label ('*.example.com')");
            }
            match parse_name(suffix)? {
                // `*.com` would allow every site under a top-level domain. The
                // public suffix list is not consulted (it changes, and needs a
                // dependency): a single-label suffix is refused, which catches
                // `*.com` and `*.localhost` but not `*.co.uk`.
                HostRef::Name(name) if !name.contains('.') => return Err(
                    "a '*.' wildcard must leave at least two labels ('*.example.com', not '*.com')",
                ),
                HostRef::Name(name) => {
                    HostMatch::Subdomains(name.to_ascii_lowercase().into_boxed_str())
                }
                HostRef::V4(_) | HostRef::V6(_) => {
                    return Err("a '*.' wildcard needs a domain name, not an IP address")
                }
            }
        } else if host.contains('*') {
            return Err("'*' is only allowed as the whole first label ('*.example.com')");
        } else {
            HostMatch::Exact(parse_host(host, bracketed)?.into())
        };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a request host should do against the default loopback list.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Expect {
        /// Parses and is on the list (200).
        Pass,
        /// Parses, not on the list (403 `HostNotAllowed`).
        Forbidden403,
        /// Does not parse (400 `MalformedHost`).
        Malformed400,
    }
    use Expect::*;

    fn loopback() -> Vec<(HostMatch, PortSpec)> {
        ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .map(|e| parse_host_pattern(e).unwrap())
            .collect()
    }

    fn decide(list: &[(HostMatch, PortSpec)], input: &[u8]) -> Expect {
        match parse_authority(input) {
            Err(_) => Malformed400,
            Ok(a) => {
                let ok = list.iter().any(|(h, p)| {
                    h.matches(&a.host)
                        && match p {
                            PortSpec::Unspecified | PortSpec::Any => true,
                            PortSpec::Exact(want) => a.port == Some(*want),
                        }
                });
                if ok {
                    Pass
                } else {
                    Forbidden403
                }
            }
        }
    }

    /// sdk-security-survey section 4 + 6 and peer-crates 9.2, against the
    /// default loopback list (`localhost`, `127.0.0.1`, `[::1]`, any port).
    #[test]
    fn attack_table_against_loopback_list() {
        let rows: &[(&[u8], Expect)] = &[
            // accepted
            (b"localhost", Pass),
            (b"localhost:3000", Pass),
            (b"localhost:80", Pass),
            (b"127.0.0.1:3000", Pass),
            (b"127.0.0.1", Pass),
            (b"[::1]:3000", Pass),
            (b"[::1]", Pass),
            (b"LOCALHOST:3000", Pass),
            (b"LocalHost", Pass),
            (b"localhost.:3000", Pass),
            (b"localhost.", Pass),
            (b"127.0.0.1.:8000", Pass),
            (b"[0:0:0:0:0:0:0:1]:3000", Pass),
            (b"[0000::0001]:3000", Pass),
            (b"localhost:0", Pass),
            (b"localhost:65535", Pass),
            (b"localhost:00080", Pass),
            // well-formed, not on the list: 403
            (b"evil.com", Forbidden403),
            (b"evil.com:3000", Forbidden403),
            (b"evil.example.com", Forbidden403),
            (b"localhost.evil.com", Forbidden403),
            (b"localhost.evil.com:8000", Forbidden403),
            (b"evillocalhost", Forbidden403),
            (b"127.1", Forbidden403),
            (b"127.1:8000", Forbidden403),
            (b"0x7f.0.0.1", Forbidden403),
            (b"2130706433", Forbidden403),
            (b"127.000.000.001", Forbidden403),
            (b"0177.0.0.1", Forbidden403),
            (b"127.0.0.2", Forbidden403),
            (b"[::ffff:127.0.0.1]", Forbidden403),
            (b"[::2]", Forbidden403),
            (b"0.0.0.0", Forbidden403),
            (b"[::]", Forbidden403),
            // malformed: 400
            (b"", Malformed400),
            (b"evil.com@localhost:3000", Malformed400),
            (b"@localhost", Malformed400),
            (b"localhost:8000@evil.com", Malformed400),
            (b"user:pass@localhost", Malformed400),
            (b"localhost/evil", Malformed400),
            (b"localhost?x", Malformed400),
            (b"localhost#x", Malformed400),
            (b"localhost\\evil.com", Malformed400),
            (b"localhost:3000.evil.com", Malformed400),
            (b"localhost:8000.evil.com", Malformed400),
            (b"localhost:evil.com", Malformed400),
            (b"localhost:", Malformed400),
            (b"localhost:abc", Malformed400),
            (b"localhost:99999", Malformed400),
            (b"localhost:65536", Malformed400),
            (b"localhost:+80", Malformed400),
            (b"localhost:-1", Malformed400),
            (b"localhost:0000080", Malformed400),
            (b"localhost:80:80", Malformed400),
            (b"localhost:*", Malformed400),
            (b"[::1]evil.com", Malformed400),
            (b"[::1]:3000evil", Malformed400),
            (b"[::1]:", Malformed400),
            (b"::1", Malformed400),
            (b"::1:3000", Malformed400),
            (b"[::1", Malformed400),
            (b"::1]", Malformed400),
            (b"[]", Malformed400),
            (b"[localhost]", Malformed400),
            (b"[fe80::1%25eth0]", Malformed400),
            (b"[fe80::1%eth0]", Malformed400),
            (b"local host", Malformed400),
            (b" localhost", Malformed400),
            (b"localhost\t", Malformed400),
            (b"localhost\0", Malformed400),
            (b"l\xc3\xb6calhost", Malformed400),
            (b"localhost\xff", Malformed400),
            (b".", Malformed400),
            (b".localhost", Malformed400),
            (b"localhost..", Malformed400),
            (b"local..host", Malformed400),
            (b":3000", Malformed400),
            (b"*.localhost", Malformed400),
            (b"localhost,evil.com", Malformed400),
            (b"localhost;evil", Malformed400),
            (b"http://localhost", Malformed400),
            (b"xn--lcalhost-1wa%2e", Malformed400),
        ];
        let list = loopback();
        for (input, want) in rows {
            let got = decide(&list, input);
            assert_eq!(got, *want, "Host {:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn long_names_and_labels() {
        let label = "a".repeat(63);
        let name = format!("{label}.{label}.{label}.{}", "a".repeat(61)); // 253 bytes
        assert_eq!(name.len(), 253);
        assert!(parse_authority(name.as_bytes()).is_ok());
        assert!(parse_authority(format!("{name}a").as_bytes()).is_err());
        assert!(parse_authority("a".repeat(64).as_bytes()).is_err());
        assert!(parse_authority(&vec![b'a'; 100_000]).is_err());
    }

    #[test]
    fn ipv4_shorthand_is_a_name_not_an_address() {
        for s in ["127.1", "0x7f.0.0.1", "2130706433", "127.0.0.01", "127.0.1"] {
            let a = parse_authority(s.as_bytes()).unwrap();
            assert!(matches!(a.host, HostRef::Name(_)), "{s} should be a name");
        }
        let a = parse_authority(b"127.0.0.1").unwrap();
        assert!(matches!(a.host, HostRef::V4(ip) if ip == Ipv4Addr::LOCALHOST));
        let a = parse_authority(b"256.0.0.1").unwrap();
        assert!(matches!(a.host, HostRef::Name(_)));
    }

    #[test]
    fn entries_parse_and_match() {
        // (entry, request host, should match)
        let rows: &[(&str, &str, bool)] = &[
            ("localhost", "localhost:1", true),
            ("LOCALHOST.", "localhost:1", true),
            ("example.com:8443", "example.com:8443", true),
            ("example.com:8443", "example.com:443", false),
            ("example.com:8443", "example.com", false),
            ("example.com:*", "example.com:1234", true),
            ("example.com:*", "example.com", true),
            ("[::1]", "[0:0:0:0:0:0:0:1]:9", true),
            ("[0::1]:*", "[::1]", true),
            ("*.example.com", "a.example.com", true),
            ("*.example.com", "A.B.EXAMPLE.COM.", true),
            ("*.example.com", "example.com", false),
            ("*.example.com", "xexample.com", false),
            ("*.example.com", "a.example.com.evil.com", false),
            ("*.example.com:443", "a.example.com:443", true),
            ("*.example.com:443", "a.example.com:8443", false),
            ("127.0.0.1", "127.1", false),
            ("127.0.0.1", "2130706433", false),
            ("127.0.0.1", "127.0.0.1", true),
        ];
        for (entry, host, want) in rows {
            let (hm, port) = parse_host_pattern(entry).unwrap();
            let got = decide(&[(hm, port)], host.as_bytes());
            assert_eq!(
                got == Pass,
                *want,
                "entry {entry:?} vs Host {host:?} gave {got:?}"
            );
        }
    }

    #[test]
    fn bad_entries_are_refused() {
        for entry in [
            "",
            "*",
            "*.",
            "**.example.com",
            "a.*.example.com",
            "ex*mple.com",
            "*.127.0.0.1",
            "[*.::1]",
            "http://localhost",
            "localhost/",
            "user@localhost",
            "localhost:",
            "localhost:99999",
            "localhost:abc",
            "::1",
            "[::1",
            "[::1]x",
            "local host",
            "l\u{f6}calhost",
            "a,b",
        ] {
            assert!(
                parse_host_pattern(entry).is_err(),
                "entry {entry:?} should be refused"
            );
        }
    }

    #[test]
    fn display_is_normalised() {
        let a = parse_authority(b"LocalHost.:0080").unwrap();
        assert_eq!(a.to_string(), "localhost:80");
        let a = parse_authority(b"[0:0:0:0:0:0:0:1]").unwrap();
        assert_eq!(a.to_string(), "[::1]");
        let (h, _) = parse_host_pattern("*.Example.COM").unwrap();
        assert_eq!(h.to_string(), "*.example.com");
    }

    proptest::proptest! {
        /// No input panics, and whatever parses prints back as something
        /// that parses to the same host.
        #[test]
        fn never_panics(input in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            if let Ok(a) = parse_authority(&input) {
                let again = a.to_string();
                let b = parse_authority(again.as_bytes()).unwrap();
                proptest::prop_assert_eq!(b.to_string(), again);
            }
            if let Ok(s) = std::str::from_utf8(&input) {
                let _ = parse_host_pattern(s);
            }
        }

        #[test]
        fn host_like_strings_never_panic(input in "[a-zA-Z0-9.:\\[\\]@*%_-]{0,40}") {
            let _ = parse_authority(input.as_bytes());
            let _ = parse_host_pattern(&input);
        }
    }
}
