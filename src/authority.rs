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
                matches_lowercase(got.as_bytes(), want.as_bytes())
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
                                .is_some_and(|tail| matches_lowercase(tail, suffix))
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }
}

/// `got` in any case against `lower`, already lower-case (allowlist entries
/// are kept so): one pass, without `eq_ignore_ascii_case`'s chunked setup,
/// which costs more than these short names.
pub(crate) fn matches_lowercase(got: &[u8], lower: &[u8]) -> bool {
    got.len() == lower.len()
        && got
            .iter()
            .zip(lower)
            .all(|(g, l)| g.to_ascii_lowercase() == *l)
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
    if s.bytes().any(|b| b == b'[' || b == b']') {
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
        // At most three digits: the sum fits, and 256..=999 is refused.
        let value = part.bytes().fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
        *slot = u8::try_from(value).ok()?;
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
    if let Some(authority) = common_authority(input) {
        return Ok(authority);
    }
    full_authority(input)
}

/// The grammar in full: every shape, and the reason a value is refused.
fn full_authority(input: &[u8]) -> Result<Authority<'_>, &'static str> {
    let s = authority_text(input)?;
    let (host, bracketed, port) = split_host_port(s)?;
    let host = parse_host(host, bracketed)?;
    let port = port.map(parse_port).transpose()?;
    Ok(Authority { host, port })
}

/// The shape nearly every request sends, `name[:port]` or `a.b.c.d[:port]`,
/// read in one pass. `None` when the value is anything else, valid or not: the
/// full grammar then decides, and explains a refusal. Whatever this accepts,
/// the full grammar accepts with the same result (a property test holds the
/// two together).
pub(crate) fn common_authority(input: &[u8]) -> Option<Authority<'_>> {
    let mut label = 0usize; // bytes in the current label
    let mut labels = 0usize; // labels ended by a dot
    let mut quad = true; // every label so far is a decimal octet
    let mut octets = [0u8; 4];
    let mut octet = 0u16;
    let mut host_end = input.len();
    for (i, &b) in input.iter().enumerate() {
        match b {
            b'.' => {
                if label == 0 {
                    return None;
                }
                quad = quad && store_octet(&mut octets, labels, octet);
                labels += 1;
                label = 0;
                octet = 0;
                continue;
            }
            b':' => {
                host_end = i;
                break;
            }
            b'0'..=b'9' => {
                // No leading zero, at most three digits.
                quad = quad && !(label == 1 && octet == 0 || label == 3);
                if quad {
                    octet = octet * 10 + u16::from(b - b'0');
                }
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'-' | b'_' => quad = false,
            _ => return None,
        }
        label += 1;
        if label > MAX_LABEL_LEN {
            return None;
        }
    }
    // One trailing dot is dropped; the label before it ended the name.
    let (name_end, last_label) = if label == 0 {
        (host_end.checked_sub(1)?, labels.checked_sub(1)?)
    } else {
        quad = quad && store_octet(&mut octets, labels, octet);
        (host_end, labels)
    };
    if name_end == 0 || name_end > MAX_NAME_LEN {
        return None;
    }
    let port = match input.get(host_end + 1..) {
        None => None,
        Some(digits) => Some(common_port(digits)?),
    };
    let host = if quad && last_label == 3 {
        HostRef::V4(Ipv4Addr::from(octets))
    } else {
        HostRef::Name(std::str::from_utf8(input.get(..name_end)?).ok()?)
    };
    Some(Authority { host, port })
}

/// Keeps `octet` as the `index`th octet of a dotted quad; false when there is
/// no such octet (a fifth label) or it is above 255.
fn store_octet(octets: &mut [u8; 4], index: usize, octet: u16) -> bool {
    match (octets.get_mut(index), u8::try_from(octet)) {
        (Some(slot), Ok(value)) => {
            *slot = value;
            true
        }
        _ => false,
    }
}

/// 1 to 5 digits, at most 65535.
fn common_port(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 {
        return None;
    }
    let mut value = 0u32;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(b - b'0');
    }
    u16::try_from(value).ok()
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
mod tests;
