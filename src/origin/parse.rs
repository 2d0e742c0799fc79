//! Pure parsing and matching of `Origin` values and origin allowlist entries.
//!
//! An origin is the RFC 6454 tuple `(scheme, host, port)`. The header form
//! accepted is `scheme "://" host [ ":" port ]` with the host grammar of
//! [`crate::host`] (names, dotted quads, bracketed IPv6), or the opaque
//! `null`. Scheme and host are compared case-insensitively and a missing port
//! is the scheme's default (http/ws 80, https/wss 443), so
//! `http://LOCALHOST:80` is `http://localhost`.

use std::fmt;

use crate::authority::{
    common_authority, matches_lowercase, parse_authority, parse_host_pattern, HostMatch, HostRef,
    PortSpec,
};

/// The default port of the schemes origins use.
fn default_port(scheme: &str) -> Option<u16> {
    if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("ws") {
        Some(80)
    } else if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("wss") {
        Some(443)
    } else {
        None
    }
}

/// RFC 3986 `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn valid_scheme(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// A parsed `Origin` header value.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Origin<'a> {
    /// The opaque origin `null` (sandboxed iframes, `file:` pages, redirects).
    Null,
    /// A tuple origin.
    Tuple(TupleOrigin<'a>),
}

/// `(scheme, host, port)`, the port filled in from the scheme when absent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TupleOrigin<'a> {
    scheme: &'a str,
    host: HostRef<'a>,
    port: Option<u16>,
}

impl fmt::Display for TupleOrigin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.scheme.chars() {
            fmt::Write::write_char(f, c.to_ascii_lowercase())?;
        }
        write!(f, "://{}", self.host)?;
        match self.port {
            Some(port) if Some(port) != default_port(self.scheme) => write!(f, ":{port}"),
            _ => Ok(()),
        }
    }
}

/// Parses an `Origin` header value.
pub(crate) fn parse_origin(input: &[u8]) -> Result<Origin<'_>, &'static str> {
    if input.eq_ignore_ascii_case(b"null") {
        return Ok(Origin::Null);
    }
    if let Some(origin) = common_origin(input) {
        return Ok(Origin::Tuple(origin));
    }
    full_origin(input)
}

/// An `Origin` value in full: every shape, and the reason one is refused.
fn full_origin(input: &[u8]) -> Result<Origin<'_>, &'static str> {
    if input.is_empty() {
        return Err("empty value");
    }
    if input.iter().any(|b| !(0x21..=0x7e).contains(b)) {
        return Err("whitespace, control or non-ASCII byte");
    }
    let s = std::str::from_utf8(input).map_err(|_| "non-ASCII byte")?;
    let (scheme, rest) = s
        .split_once("://")
        .ok_or("not of the form scheme://host[:port]")?;
    if !valid_scheme(scheme) {
        return Err("invalid scheme");
    }
    let authority = parse_authority(rest.as_bytes())?;
    Ok(Origin::Tuple(TupleOrigin {
        scheme,
        host: authority.host,
        port: authority.port.or_else(|| default_port(scheme)),
    }))
}

/// `scheme://` and an authority of the common shape, read in one pass; `None`
/// for anything else, which [`parse_origin`] then reads in full (and
/// explains). Agrees with the full reading wherever it answers (a property
/// test holds the two together).
fn common_origin(input: &[u8]) -> Option<TupleOrigin<'_>> {
    let first = input.first()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let end = input
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))?;
    let rest = input.get(end..)?.strip_prefix(b"://")?;
    let scheme = std::str::from_utf8(input.get(..end)?).ok()?;
    let authority = common_authority(rest)?;
    Some(TupleOrigin {
        scheme,
        host: authority.host,
        port: authority.port.or_else(|| default_port(scheme)),
    })
}

/// The port half of an origin entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OriginPort {
    /// `:*`
    Any,
    /// An explicit port or the scheme's default; `None` for a scheme without
    /// a default and no port written.
    Exact(Option<u16>),
}

/// The host half of an origin entry.
#[derive(Clone, PartialEq, Eq)]
enum OriginHost {
    /// A host, or `*.domain`.
    Match(HostMatch),
    /// `*`: every host of a scheme that is not a web scheme
    /// (`moz-extension://*`, whose ids differ per installation).
    Any,
}

/// One origin allowlist entry.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct OriginPattern {
    scheme: Box<str>,
    host: OriginHost,
    port: OriginPort,
}

/// Browser-extension and webview schemes whose hosts have a known shape: an
/// entry with another shape is a pasting mistake, refused at build time.
fn check_known_scheme(scheme: &str, host: &str) -> Result<(), &'static str> {
    if scheme.eq_ignore_ascii_case("chrome-extension") {
        // Chrome extension ids: 32 letters a to p.
        if host.len() != 32
            || !host
                .bytes()
                .all(|b| (b'a'..=b'p').contains(&b.to_ascii_lowercase()))
        {
            return Err("a chrome-extension id is 32 letters a-p (chrome://extensions shows it)");
        }
    } else if scheme.eq_ignore_ascii_case("moz-extension") {
        // Firefox gives each installation its own UUID.
        let groups: Vec<&str> = host.split('-').collect();
        let lens = groups.iter().map(|g| g.len()).collect::<Vec<_>>();
        if lens != [8, 4, 4, 4, 12]
            || !groups
                .iter()
                .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err("a moz-extension host is the installation's UUID (about:debugging shows it), or '*'");
        }
    }
    Ok(())
}

impl OriginPattern {
    /// Parses `scheme://host[:port|:*]`, host possibly `*.domain`, or `*` for
    /// every host of a scheme that is not http, https, ws or wss. A single
    /// trailing `/` is tolerated (people paste `http://localhost:3000/`).
    pub(crate) fn parse(entry: &str) -> Result<Self, &'static str> {
        let s = entry.trim();
        let (scheme, rest) = s
            .split_once("://")
            .ok_or("not of the form scheme://host[:port]")?;
        if !valid_scheme(scheme) {
            return Err("invalid scheme");
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest == "*" {
            if default_port(scheme).is_some() {
                return Err(
                    "'*' as the whole host is only for non-web schemes (moz-extension://*); \
                            list web origins, or use '*.example.com'",
                );
            }
            return Ok(Self {
                scheme: scheme.to_ascii_lowercase().into_boxed_str(),
                host: OriginHost::Any,
                port: OriginPort::Exact(None),
            });
        }
        let (host, port) = parse_host_pattern(rest)?;
        if let HostMatch::Exact(name) = &host {
            check_known_scheme(scheme, &name.to_string())?;
        }
        let host = OriginHost::Match(host);
        let port = match port {
            PortSpec::Unspecified => OriginPort::Exact(default_port(scheme)),
            PortSpec::Any => OriginPort::Any,
            PortSpec::Exact(port) => OriginPort::Exact(Some(port)),
        };
        Ok(Self {
            scheme: scheme.to_ascii_lowercase().into_boxed_str(),
            host,
            port,
        })
    }

    pub(crate) fn matches(&self, origin: &TupleOrigin<'_>) -> bool {
        matches_lowercase(origin.scheme.as_bytes(), self.scheme.as_bytes())
            && match &self.host {
                OriginHost::Match(host) => host.matches(&origin.host),
                OriginHost::Any => true,
            }
            && match self.port {
                OriginPort::Any => true,
                OriginPort::Exact(port) => port == origin.port,
            }
    }
}

impl fmt::Display for OriginHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Match(host) => write!(f, "{host}"),
            Self::Any => f.write_str("*"),
        }
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        match self.port {
            OriginPort::Any => f.write_str(":*"),
            OriginPort::Exact(Some(port)) if Some(port) != default_port(&self.scheme) => {
                write!(f, ":{port}")
            }
            OriginPort::Exact(_) => Ok(()),
        }
    }
}

impl fmt::Debug for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Expect {
        /// On the list: passes (200).
        Pass,
        /// Well-formed, not on the list: 403 `OriginNotAllowed`.
        NotAllowed403,
        /// `null` without `allow_null_origin`: 403 `NullOrigin`.
        Null403,
        /// Does not parse: 403 `MalformedOrigin`.
        Malformed403,
    }
    use Expect::*;

    fn decide(list: &[OriginPattern], input: &[u8]) -> Expect {
        match parse_origin(input) {
            Err(_) => Malformed403,
            Ok(Origin::Null) => Null403,
            Ok(Origin::Tuple(o)) => {
                if list.iter().any(|p| p.matches(&o)) {
                    Pass
                } else {
                    NotAllowed403
                }
            }
        }
    }

    fn list(entries: &[&str]) -> Vec<OriginPattern> {
        entries
            .iter()
            .map(|e| OriginPattern::parse(e).unwrap())
            .collect()
    }

    /// sdk-security-survey section 4 and 6, peer-crates 9.2, against
    /// `http://localhost:3000`, `http://127.0.0.1:3000`, `http://[::1]:3000`.
    #[test]
    fn spec_2025_11_25_present_invalid_origin_is_403() {
        let l = list(&[
            "http://localhost:3000",
            "http://127.0.0.1:3000",
            "http://[::1]:3000",
        ]);
        let rows: &[(&[u8], Expect)] = &[
            (b"http://localhost:3000", Pass),
            (b"http://LOCALHOST:3000", Pass),
            (b"HTTP://localhost:3000", Pass),
            (b"http://localhost.:3000", Pass),
            (b"http://127.0.0.1:3000", Pass),
            (b"http://[::1]:3000", Pass),
            (b"http://[0:0:0:0:0:0:0:1]:3000", Pass),
            (b"http://localhost:03000", Pass),
            // not on the list
            (b"http://evil.com", NotAllowed403),
            (b"http://evil.com:3000", NotAllowed403),
            (b"http://localhost.evil.example.com", NotAllowed403),
            (b"http://localhost.evil.example.com:3000", NotAllowed403),
            (b"https://localhost:3000", NotAllowed403),
            (b"http://localhost", NotAllowed403),
            (b"http://localhost:80", NotAllowed403),
            (b"http://localhost:3001", NotAllowed403),
            (b"ws://localhost:3000", NotAllowed403),
            (b"http://127.1:3000", NotAllowed403),
            (b"http://0x7f.0.0.1:3000", NotAllowed403),
            (b"http://2130706433:3000", NotAllowed403),
            (b"http://[::ffff:127.0.0.1]:3000", NotAllowed403),
            (
                b"chrome-extension://abcdefghijklmnopabcdefghijklmnop",
                NotAllowed403,
            ),
            // null
            (b"null", Null403),
            (b"NULL", Null403),
            // malformed
            (b"", Malformed403),
            (b"http://localhost:3000.evil.com", Malformed403),
            (b"http://localhost:evil.com", Malformed403),
            (b"http://user@localhost", Malformed403),
            (b"http://user@localhost:3000", Malformed403),
            (b"http://evil.com@localhost:3000", Malformed403),
            (b"http://@localhost:3000", Malformed403),
            (b"http://localhost:3000/", Malformed403),
            (b"http://localhost:3000/path", Malformed403),
            (b"http://localhost:3000?x", Malformed403),
            (b"http://localhost:3000#x", Malformed403),
            (b"http://localhost\\evil.com", Malformed403),
            (b"http://localhost:", Malformed403),
            (b"http://localhost:abc", Malformed403),
            (b"http://localhost:99999", Malformed403),
            (b"http://[::1]evil.com", Malformed403),
            (b"http://::1:3000", Malformed403),
            (b"http://[::1", Malformed403),
            (b"http://", Malformed403),
            (b"http:/localhost:3000", Malformed403),
            (b"localhost:3000", Malformed403),
            (b"//localhost:3000", Malformed403),
            (b"1http://localhost:3000", Malformed403),
            (b"ht tp://localhost:3000", Malformed403),
            (b"http://local host:3000", Malformed403),
            (b"http://l\xc3\xb6calhost:3000", Malformed403),
            (b"http://localhost:3000\xff", Malformed403),
            (b"http://localhost:3000, http://evil.com", Malformed403),
            (b"http://localhost:3000,http://evil.com", Malformed403),
            (b"null ", Malformed403),
            (b"*", Malformed403),
            (b"http://*.localhost", Malformed403),
        ];
        for (input, want) in rows {
            assert_eq!(
                decide(&l, input),
                *want,
                "Origin {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    const CHROME: &str = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";
    const FIREFOX: &str = "moz-extension://8b0bb1b6-a1f4-4a4c-9b8b-3f9a0b1c2d3e";

    /// What browsers send takes the one pass (`true`), read as the full
    /// reading does; anything else is left to the full reading.
    #[test]
    fn common_origins_take_the_one_pass() {
        let rows: &[(&[u8], bool)] = &[
            (b"http://localhost:3000", true),
            (b"https://mcp.example.com", true),
            (b"HTTP://127.0.0.1:8080", true),
            (b"vscode-webview://abc-def", true),
            (b"chrome-extension://abcdefghijklmnopabcdefghijklmnop", true),
            (b"null", false),
            (b"http://[::1]:3000", false),
            (b"http://a@b", false),
            (b"1http://a", false),
            (b"http:/a", false),
            (b"", false),
        ];
        for (input, one_pass) in rows {
            match common_origin(input) {
                Some(fast) => assert_eq!(
                    format!("{:?}", Origin::Tuple(fast)),
                    format!("{:?}", full_origin(input).unwrap()),
                ),
                None => assert!(!one_pass, "{input:?} takes the full reading"),
            }
            assert_eq!(common_origin(input).is_some(), *one_pass, "{input:?}");
        }
    }

    #[test]
    fn entries_parse_and_match() {
        // (entry, origin, should match)
        let rows: &[(&str, &str, bool)] = &[
            ("https://example.com", "https://example.com", true),
            ("https://example.com", "https://example.com:443", true),
            ("https://example.com:443", "https://example.com", true),
            ("https://example.com", "https://example.com:8443", false),
            ("https://example.com", "http://example.com", false),
            ("https://EXAMPLE.com/", "https://example.com", true),
            ("HTTPS://example.com", "https://example.com", true),
            ("http://localhost:*", "http://localhost", true),
            ("http://localhost:*", "http://localhost:5173", true),
            ("http://localhost:*", "https://localhost:5173", false),
            ("https://*.example.com", "https://a.example.com", true),
            ("https://*.example.com", "https://a.b.example.com:443", true),
            ("https://*.example.com", "https://a.example.com:8443", false),
            ("https://*.example.com", "https://example.com", false),
            ("https://*.example.com", "https://evilexample.com", false),
            (
                "https://*.example.com:*",
                "https://a.example.com:8443",
                true,
            ),
            ("http://[::1]:*", "http://[0::1]:9", true),
            (CHROME, CHROME, true),
            (
                CHROME,
                "chrome-extension://ABCDEFGHIJKLMNOPABCDEFGHIJKLMNOP",
                true,
            ),
            (
                CHROME,
                "chrome-extension://abcdefghijklmnopabcdefghijklmnoa",
                false,
            ),
            (
                CHROME,
                "chrome-extension://abcdefghijklmnopabcdefghijklmnop:1",
                false,
            ),
            (CHROME, "https://abcdefghijklmnopabcdefghijklmnop", false),
            ("moz-extension://*", FIREFOX, true),
            ("moz-extension://*", "moz-extension://anything-at-all", true),
            ("moz-extension://*", "moz-extension://x:8080", false),
            ("moz-extension://*", CHROME, false),
            ("moz-extension://*", "https://evil.example", false),
            ("chrome-extension://*", CHROME, true),
            (FIREFOX, FIREFOX, true),
            (
                FIREFOX,
                "moz-extension://9b0bb1b6-a1f4-4a4c-9b8b-3f9a0b1c2d3e",
                false,
            ),
            ("vscode-webview://*", "vscode-webview://1a2b3c4d5e6f", true),
            ("vscode-webview://*", "vscode-file://vscode-app", false),
            ("http://127.0.0.1:*", "http://127.1", false),
        ];
        for (entry, origin, want) in rows {
            let l = list(&[entry]);
            assert_eq!(
                decide(&l, origin.as_bytes()) == Pass,
                *want,
                "entry {entry:?} vs Origin {origin:?}"
            );
        }
    }

    #[test]
    fn bad_entries_are_refused() {
        for entry in [
            "",
            "localhost",
            "localhost:3000",
            "http://",
            "http://localhost/path",
            "http://localhost//",
            "http://localhost?x",
            "http://localhost#x",
            "http://user@localhost",
            "http://localhost:",
            "http://localhost:abc",
            "http://localhost:99999",
            "http://*",
            "https://*",
            "ws://*",
            "wss://*",
            "HTTPS://*",
            "https://*:*",
            "moz-extension://*:*",
            "chrome-extension://abcdefghijklmnop",
            "chrome-extension://abcdefghijklmnopabcdefghijklmnoz",
            "chrome-extension://abcdefghijklmnopabcdefghijklmnop/path",
            "moz-extension://not-a-uuid",
            "moz-extension://8b0bb1b6a1f44a4c9b8b3f9a0b1c2d3e",
            "http://*.",
            "http://a.*.com",
            "http://::1",
            "http://[::1]x",
            "1http://localhost",
            "http://local host",
            "*",
            "null",
        ] {
            assert!(
                OriginPattern::parse(entry).is_err(),
                "entry {entry:?} should be refused"
            );
        }
    }

    #[test]
    fn scheme_entries_explain_their_refusal() {
        let reason = OriginPattern::parse("https://*").err().unwrap();
        assert!(reason.contains("non-web schemes"), "{reason}");
        let reason = OriginPattern::parse("chrome-extension://abc")
            .err()
            .unwrap();
        assert!(reason.contains("32 letters"), "{reason}");
        let reason = OriginPattern::parse("moz-extension://abc").err().unwrap();
        assert!(reason.contains("UUID"), "{reason}");
        assert_eq!(
            OriginPattern::parse("MOZ-Extension://*")
                .unwrap()
                .to_string(),
            "moz-extension://*"
        );
    }

    #[test]
    fn display_is_normalised() {
        let p = OriginPattern::parse("HTTPS://Example.COM:443/").unwrap();
        assert_eq!(p.to_string(), "https://example.com");
        let p = OriginPattern::parse("http://localhost:*").unwrap();
        assert_eq!(p.to_string(), "http://localhost:*");
        let p = OriginPattern::parse("http://[0:0::1]:8080").unwrap();
        assert_eq!(p.to_string(), "http://[::1]:8080");
        match parse_origin(b"HTTP://LocalHost:80").unwrap() {
            Origin::Tuple(o) => assert_eq!(o.to_string(), "http://localhost"),
            Origin::Null => panic!("not null"),
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(input in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = parse_origin(&input);
            if let Ok(s) = std::str::from_utf8(&input) {
                let _ = OriginPattern::parse(s);
            }
        }

        /// The one-pass reading agrees with the full one wherever it answers.
        #[test]
        fn the_one_pass_agrees_with_the_full_reading(input in "[a-zA-Z0-9+.-]{0,8}(://)?[a-zA-Z0-9.:_-]{0,20}") {
            if let Some(fast) = common_origin(input.as_bytes()) {
                let full = full_origin(input.as_bytes());
                proptest::prop_assert_eq!(format!("{:?}", Ok::<_, &str>(Origin::Tuple(fast))), format!("{full:?}"));
            }
        }

        #[test]
        fn origin_like_strings_never_panic(input in "(https?|ws|x)://[a-zA-Z0-9.:\\[\\]@*/_-]{0,40}") {
            if let Ok(Origin::Tuple(o)) = parse_origin(input.as_bytes()) {
                // A parsed origin is matched by the entry made from its own serialisation.
                let entry = OriginPattern::parse(&o.to_string()).unwrap();
                proptest::prop_assert!(entry.matches(&o));
            }
            let _ = OriginPattern::parse(&input);
        }
    }
}
