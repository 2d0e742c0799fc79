//! Property tests of the parsers through the crate's PUBLIC surface: the
//! layers' `check` functions (Host, Origin), the parsers that are public
//! (`ProtocolVersion`, `SessionId`, `Envelope`,
//! `decode_value` / `encode_value`), and, where a parser is private (the
//! session layer's id check), whole requests through the layer. The private
//! `Accept` parser and the headers layer's 406 are checked next to the
//! parser, in `src/headers/accept.rs`.
//!
//! The pure parsers also have property tests inside `src/` and in
//! `tests/guard/properties/headers.rs`; these check what a user of the crate observes.
//!
//! Properties, in short:
//!
//! - **No panic** on any header value `http` can carry (arbitrary bytes,
//!   skipping the ones `HeaderValue::from_bytes` refuses), and every refusal
//!   has the documented kind and status.
//! - **Loopback, exactly.** `HostCheckLayer::localhost()` is the list
//!   `localhost`, `127.0.0.1`, `[::1]` on any port; it is *not* "any loopback
//!   address". For every `Ipv4Addr` `a` and port `p`, `Host: a` and
//!   `Host: a:p` pass iff `a == 127.0.0.1` (so `127.0.0.2`, also
//!   `is_loopback()`, gets 403), and every other address gets 403, never 400.
//!   For every `Ipv6Addr` `b`, `Host: [b]:p` passes iff `b.is_loopback()`
//!   (std: only `::1`), in every textual form (compressed, fully expanded,
//!   zero-padded, upper case). IPv4-mapped (`[::ffff:a]`) and IPv4-compatible
//!   forms are refused with 403 even for `a = 127.0.0.1`, although
//!   `to_canonical().is_loopback()` is true for them. The same holds for
//!   `OriginGuardLayer::localhost()` with `http://` and `https://` origins.
//! - **Re-serialisation.** A well-formed `Host` value `h`, used as an
//!   allowlist entry, accepts `h`. A well-formed `Origin` `o`, used as an
//!   entry, accepts `o`; its normalised form (`OriginList::iter`) is a fixed
//!   point and accepts `o` too. `ProtocolVersion`, `SessionId` and
//!   the `Mcp-Name` encoding print back to values that parse to the same thing.
//! - **Case and spelling.** ASCII case, one trailing dot, leading zeros in a
//!   port and an explicit default port never change a decision.
//! - **Layer agrees with parser.** The session layer answers 400 exactly when
//!   `SessionId::parse` refuses the header, and 404 (never 2xx) for any
//!   well-formed id it did not mint.

use crate::support::inner::json_rpc_ok as ok_service;
use std::convert::Infallible;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_tower_guard::envelope::{Envelope, EnvelopeError, MessageKind};
use mcp_tower_guard::headers::{decode_value, encode_value};
use mcp_tower_guard::protocol::{Era, ProtocolVersion};
use mcp_tower_guard::session::{
    InvalidSessionId, McpSessionLayer, MokaSessionStore, SessionId, MAX_SESSION_ID_LEN,
};
use mcp_tower_guard::{HostCheckLayer, OriginGuardLayer, Rejection, RejectionKind};
use proptest::prelude::*;
use serde_json::{json, Value};
use tower::{Layer, ServiceExt};

type B = Full<Bytes>;

// ---------------------------------------------------------------- helpers

/// A `HeaderValue` from arbitrary bytes, or `None` when `http` refuses them
/// (CR, LF, NUL and other controls but tab).
fn header(bytes: &[u8]) -> Option<HeaderValue> {
    HeaderValue::from_bytes(bytes).ok()
}

/// The Host decision of `layer` for a request carrying `Host: value`.
fn host_decision(layer: &HostCheckLayer, value: HeaderValue) -> Result<(), Rejection> {
    let svc = layer.layer(());
    let req = Request::builder()
        .uri("/mcp")
        .header(http::header::HOST, value)
        .body(())
        .unwrap();
    svc.check(&req)
}

fn localhost_hosts() -> &'static HostCheckLayer {
    static L: OnceLock<HostCheckLayer> = OnceLock::new();
    L.get_or_init(HostCheckLayer::localhost)
}

fn localhost_origins() -> &'static OriginGuardLayer {
    static L: OnceLock<OriginGuardLayer> = OnceLock::new();
    L.get_or_init(OriginGuardLayer::localhost)
}

/// The Origin decision of `layer` for a request carrying `Origin: value`.
fn origin_decision(layer: &OriginGuardLayer, value: HeaderValue) -> Result<(), Rejection> {
    let svc = layer.layer(());
    let req = Request::builder()
        .uri("/mcp")
        .header(http::header::ORIGIN, value)
        .body(())
        .unwrap();
    svc.check(&req)
}

/// `Ok`, or the kind of the rejection: what a decision is compared by.
fn kind(r: &Result<(), Rejection>) -> Option<RejectionKind> {
    r.as_ref().err().map(Rejection::kind)
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// Asserts that a rejection response carries the JSON-RPC error body.
fn assert_jsonrpc_error(body: &[u8]) -> Result<(), TestCaseError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| TestCaseError::fail(format!("rejection body is not JSON: {e}")))?;
    prop_assert_eq!(&v["jsonrpc"], "2.0");
    prop_assert!(v["error"]["code"].is_i64(), "no error code in {}", v);
    prop_assert!(v["error"]["message"].is_string(), "no message in {}", v);
    // The request's own id or null (tests/guard/headers/modern_edge.rs pins which); never a made-up one.
    prop_assert!(
        v["id"].is_null() || v["id"].is_number() || v["id"].is_string(),
        "bad id in {}",
        v
    );
    Ok(())
}

// ---------------------------------------------------------- IP text forms

/// Textual forms of one IPv6 address that `std` parses back to it:
/// compressed (std's `Display`), fully expanded, zero-padded, upper case.
fn v6_forms(ip: Ipv6Addr) -> Vec<String> {
    let seg = ip.segments();
    let expanded = seg
        .iter()
        .map(|s| format!("{s:x}"))
        .collect::<Vec<_>>()
        .join(":");
    let padded = seg
        .iter()
        .map(|s| format!("{s:04x}"))
        .collect::<Vec<_>>()
        .join(":");
    let upper = seg
        .iter()
        .map(|s| format!("{s:04X}"))
        .collect::<Vec<_>>()
        .join(":");
    let mut forms = vec![
        ip.to_string(),
        ip.to_string().to_ascii_uppercase(),
        expanded,
        padded,
        upper,
    ];
    // Dotted tail form for the last 32 bits (`::ffff:1.2.3.4` style), valid for any address.
    let tail = Ipv4Addr::new(
        (seg[6] >> 8) as u8,
        seg[6] as u8,
        (seg[7] >> 8) as u8,
        seg[7] as u8,
    );
    let head = seg[..6]
        .iter()
        .map(|s| format!("{s:x}"))
        .collect::<Vec<_>>()
        .join(":");
    forms.push(format!("{head}:{tail}"));
    for f in &forms {
        assert_eq!(f.parse::<Ipv6Addr>().ok(), Some(ip), "bad test form {f}");
    }
    forms
}

/// An IPv6 address biased towards the interesting ones: `::1`, `::`,
/// IPv4-mapped and IPv4-compatible loopback, and arbitrary.
fn any_v6() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        Just(Ipv6Addr::LOCALHOST),
        Just(Ipv6Addr::UNSPECIFIED),
        any::<Ipv4Addr>().prop_map(|a| a.to_ipv6_mapped()),
        any::<Ipv4Addr>().prop_map(|a| a.to_ipv6_compatible()),
        Just(Ipv4Addr::LOCALHOST.to_ipv6_mapped()),
        any::<[u16; 8]>().prop_map(Ipv6Addr::from),
    ]
}

/// An IPv4 address biased towards 127/8, 0.0.0.0 and 127.0.0.1.
fn any_v4() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        Just(Ipv4Addr::LOCALHOST),
        Just(Ipv4Addr::UNSPECIFIED),
        any::<[u8; 3]>().prop_map(|[b, c, d]| Ipv4Addr::new(127, b, c, d)),
        any::<Ipv4Addr>(),
    ]
}

/// A DNS name: 1 to 4 labels of letters, digits, `-`, `_`.
fn dns_name() -> impl Strategy<Value = String> {
    proptest::collection::vec("[a-zA-Z0-9_-]{1,12}", 1..5).prop_map(|labels| labels.join("."))
}

/// Random ASCII case of `s`.
fn recase(s: &str, mask: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    // ============================================================== Host

    /// Arbitrary bytes: no panic; only the three Host kinds; 400 or 403.
    #[test]
    fn host_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let Some(value) = header(&bytes) else { return Ok(()) };
        match host_decision(localhost_hosts(), value) {
            Ok(()) => {}
            Err(r) => {
                prop_assert!(
                    matches!(r.kind(), RejectionKind::MalformedHost | RejectionKind::HostNotAllowed),
                    "unexpected kind {:?}", r.kind()
                );
                prop_assert!(r.status() == StatusCode::BAD_REQUEST || r.status() == StatusCode::FORBIDDEN);
            }
        }
    }

    /// Host-alphabet strings (more likely to parse) against the loopback
    /// list: whatever passes is one of the three loopback hosts.
    #[test]
    fn host_only_loopback_names_pass(s in "[a-zA-Z0-9.:\\[\\]@*%_-]{0,40}") {
        let r = host_decision(localhost_hosts(), HeaderValue::from_str(&s).unwrap());
        if r.is_ok() {
            let lower = s.to_ascii_lowercase();
            let host = if let Some(rest) = lower.strip_prefix('[') {
                let end = rest.find(']').unwrap();
                let ip: Ipv6Addr = rest[..end].parse().unwrap();
                prop_assert!(ip.is_loopback(), "{s} passed");
                return Ok(());
            } else {
                lower.split(':').next().unwrap().to_owned()
            };
            let host = host.strip_suffix('.').unwrap_or(&host);
            prop_assert!(host == "localhost" || host == "127.0.0.1", "{s} passed");
        }
    }

    /// IPv4: passes iff the address is 127.0.0.1 (the list has no 127/8
    /// range); every other dotted quad is well-formed and gets 403.
    #[test]
    fn host_ipv4_passes_iff_127_0_0_1(ip in any_v4(), port in proptest::option::of(any::<u16>())) {
        let text = match port {
            Some(p) => format!("{ip}:{p}"),
            None => ip.to_string(),
        };
        let r = host_decision(localhost_hosts(), HeaderValue::from_str(&text).unwrap());
        if ip == Ipv4Addr::LOCALHOST {
            prop_assert!(r.is_ok(), "{text}: {:?}", kind(&r));
            prop_assert!(ip.is_loopback());
        } else {
            prop_assert_eq!(kind(&r), Some(RejectionKind::HostNotAllowed), "{}", text);
        }
    }

    /// IPv6, every textual form: passes iff `is_loopback()` (only `::1`);
    /// IPv4-mapped and -compatible 127.0.0.1 are refused with 403.
    #[test]
    fn host_ipv6_passes_iff_std_loopback(ip in any_v6(), port in proptest::option::of(any::<u16>())) {
        for form in v6_forms(ip) {
            let text = match port {
                Some(p) => format!("[{form}]:{p}"),
                None => format!("[{form}]"),
            };
            let r = host_decision(localhost_hosts(), HeaderValue::from_str(&text).unwrap());
            if ip.is_loopback() {
                prop_assert!(r.is_ok(), "{text}: {:?}", kind(&r));
            } else {
                prop_assert_eq!(kind(&r), Some(RejectionKind::HostNotAllowed), "{}", text);
            }
            // An unbracketed IPv6 literal is never a host.
            if port.is_none() && form.contains(':') {
                let bare = host_decision(localhost_hosts(), HeaderValue::from_str(&form).unwrap());
                prop_assert_eq!(kind(&bare), Some(RejectionKind::MalformedHost), "{}", form);
            }
        }
    }

    /// `localhost` in any case, with or without one trailing dot and a port
    /// with leading zeros, passes; two trailing dots are malformed.
    #[test]
    fn host_localhost_spellings(mask in any::<u64>(), dot in any::<bool>(), port in proptest::option::of(0u32..=65535), zeros in 0usize..3) {
        let name = recase("localhost", mask);
        let dot = if dot { "." } else { "" };
        let port = port.map(|p| {
            let digits = p.to_string();
            let pad = "0".repeat(zeros.min(5 - digits.len().min(5)));
            format!(":{pad}{digits}")
        }).unwrap_or_default();
        let text = format!("{name}{dot}{port}");
        let r = host_decision(localhost_hosts(), HeaderValue::from_str(&text).unwrap());
        prop_assert!(r.is_ok(), "{text}: {:?}", kind(&r));
        let text = format!("{name}..{port}");
        let r = host_decision(localhost_hosts(), HeaderValue::from_str(&text).unwrap());
        prop_assert_eq!(kind(&r), Some(RejectionKind::MalformedHost), "{}", text);
    }

    /// Any other DNS name is well-formed and refused with 403, including
    /// look-alikes that start or end with `localhost`.
    #[test]
    fn host_other_names_are_forbidden(name in dns_name(), glue in 0usize..3) {
        let name = match glue {
            0 => name,
            1 => format!("localhost.{name}"),
            _ => format!("{name}localhost"),
        };
        prop_assume!(!name.eq_ignore_ascii_case("localhost") && !name.eq_ignore_ascii_case("127.0.0.1"));
        let r = host_decision(localhost_hosts(), HeaderValue::from_str(&name).unwrap());
        if name.len() <= 253 {
            prop_assert_eq!(kind(&r), Some(RejectionKind::HostNotAllowed), "{}", name);
        }
    }

    /// Junk after an allowed host never makes it pass: userinfo, a port
    /// suffix, a path, a second host.
    #[test]
    fn host_suffix_junk_is_malformed(base in prop_oneof![Just("localhost"), Just("127.0.0.1"), Just("[::1]")],
                                     port in any::<u16>(),
                                     junk in prop_oneof![
                                         dns_name().prop_map(|n| format!(".{n}")),
                                         dns_name().prop_map(|n| format!("@{n}")),
                                         dns_name().prop_map(|n| format!("/{n}")),
                                         dns_name().prop_map(|n| format!(",{n}")),
                                         dns_name().prop_map(|n| format!("\\{n}")),
                                         dns_name().prop_map(|n| format!("?{n}")),
                                         dns_name().prop_map(|n| format!("#{n}")),
                                         "[a-z]{1,5}",
                                     ]) {
        // `localhost:3000.evil` and friends: junk glued to the port.
        let text = format!("{base}:{port}{junk}");
        let r = host_decision(localhost_hosts(), HeaderValue::from_str(&text).unwrap());
        prop_assert_eq!(kind(&r), Some(RejectionKind::MalformedHost), "{}", text);
        // Userinfo in front of an allowed host.
        let text = format!("evil.example@{base}:{port}");
        let r = host_decision(localhost_hosts(), HeaderValue::from_str(&text).unwrap());
        prop_assert_eq!(kind(&r), Some(RejectionKind::MalformedHost), "{}", text);
    }

    /// Re-serialisation: a well-formed Host value, used as the only
    /// allowlist entry, accepts itself, in any ASCII case.
    #[test]
    fn host_well_formed_value_is_its_own_entry(bytes in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        "[a-zA-Z0-9.:\\[\\]_-]{1,40}".prop_map(String::into_bytes),
        (dns_name(), any::<u16>()).prop_map(|(n, p)| format!("{n}:{p}").into_bytes()),
        (any_v6(), any::<u16>()).prop_map(|(ip, p)| format!("[{ip}]:{p}").into_bytes()),
    ]) {
        let Some(value) = header(&bytes) else { return Ok(()) };
        let r = host_decision(localhost_hosts(), value.clone());
        if kind(&r) == Some(RejectionKind::MalformedHost) {
            // A malformed value is refused by every list, and is no entry.
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if let Ok(layer) = HostCheckLayer::new([text.as_str()]) {
                prop_assert_eq!(kind(&host_decision(&layer, value)), Some(RejectionKind::MalformedHost));
            }
            return Ok(());
        }
        let text = value.to_str().unwrap().to_owned();
        let layer = HostCheckLayer::new([text.as_str()]);
        prop_assert!(layer.is_ok(), "{text} passed the parser but is no entry: {:?}", layer.err());
        let layer = layer.unwrap();
        prop_assert!(host_decision(&layer, value).is_ok(), "entry {text} refuses itself");
        for variant in [text.to_ascii_uppercase(), text.to_ascii_lowercase()] {
            let r = host_decision(&layer, HeaderValue::from_str(&variant).unwrap());
            prop_assert!(r.is_ok(), "entry {text} refuses {variant}");
        }
    }

    /// A request-target authority (HTTP/2 `:authority`, absolute-form) is
    /// decided exactly like the same value in `Host`.
    #[test]
    fn host_authority_agrees_with_host_header(
        host in prop_oneof![
            Just("localhost".to_owned()),
            any_v4().prop_map(|ip| ip.to_string()),
            any_v6().prop_map(|ip| format!("[{ip}]")),
            dns_name(),
        ],
        port in proptest::option::of(any::<u16>()),
    ) {
        let authority = match port {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let Ok(uri) = format!("http://{authority}/mcp").parse::<http::Uri>() else { return Ok(()) };
        let svc = localhost_hosts().layer(());
        let via_uri = svc.check(&Request::builder().uri(uri).body(()).unwrap());
        let via_host = host_decision(localhost_hosts(), HeaderValue::from_str(&authority).unwrap());
        prop_assert_eq!(kind(&via_uri), kind(&via_host), "{}", authority);
    }

    // ============================================================ Origin

    /// Arbitrary bytes: no panic; only the Origin kinds, all 403; and
    /// `OriginList::matches` agrees with the layer's check.
    #[test]
    fn origin_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let Some(value) = header(&bytes) else { return Ok(()) };
        let r = origin_decision(localhost_origins(), value.clone());
        if let Err(r) = &r {
            prop_assert!(matches!(
                r.kind(),
                RejectionKind::MalformedOrigin | RejectionKind::NullOrigin | RejectionKind::OriginNotAllowed
            ), "{:?}", r.kind());
            prop_assert_eq!(r.status(), StatusCode::FORBIDDEN);
        }
        prop_assert_eq!(localhost_origins().allowed_origins().matches(&value), r.is_ok());
    }

    /// Loopback origins: `http(s)://a[:p]` passes iff `a` is 127.0.0.1 /
    /// `::1` (any v6 spelling); IPv4-mapped loopback and other schemes do not.
    #[test]
    fn origin_loopback_ips(v4 in any_v4(), v6 in any_v6(), port in proptest::option::of(any::<u16>()),
                           scheme in prop_oneof![Just("http"), Just("https"), Just("HTTP"), Just("Https"), Just("ws"), Just("ftp")]) {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let web = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
        let text = format!("{scheme}://{v4}{port}");
        let r = origin_decision(localhost_origins(), HeaderValue::from_str(&text).unwrap());
        if web && v4 == Ipv4Addr::LOCALHOST {
            prop_assert!(r.is_ok(), "{text}: {:?}", kind(&r));
        } else {
            prop_assert_eq!(kind(&r), Some(RejectionKind::OriginNotAllowed), "{}", text);
        }
        for form in v6_forms(v6) {
            let text = format!("{scheme}://[{form}]{port}");
            let r = origin_decision(localhost_origins(), HeaderValue::from_str(&text).unwrap());
            if web && v6.is_loopback() {
                prop_assert!(r.is_ok(), "{text}: {:?}", kind(&r));
            } else {
                prop_assert_eq!(kind(&r), Some(RejectionKind::OriginNotAllowed), "{}", text);
            }
        }
    }

    /// Re-serialisation and idempotence: a well-formed origin `o` is a valid
    /// entry that accepts `o`; the entry's normalised form `n` is a fixed
    /// point (its own normal form) and also accepts `o`.
    #[test]
    fn origin_normal_form_is_a_fixed_point(
        scheme in prop_oneof![Just("http"), Just("https"), Just("HTTPS"), Just("ws"), Just("wss"), Just("vscode-webview"), Just("x+y.z")],
        host in prop_oneof![
            dns_name(),
            any_v4().prop_map(|ip| ip.to_string()),
            any_v6().prop_map(|ip| format!("[{ip}]")),
            any_v6().prop_map(|ip| format!("[{}]", v6_forms(ip)[4])),
        ],
        port in proptest::option::of(any::<u16>()),
        dot in any::<bool>(),
        mask in any::<u64>(),
    ) {
        let dot = if dot && !host.starts_with('[') { "." } else { "" };
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let o = recase(&format!("{scheme}://{host}{dot}{port}"), mask);
        let value = HeaderValue::from_str(&o).unwrap();
        let r = origin_decision(localhost_origins(), value.clone());
        prop_assume!(kind(&r) != Some(RejectionKind::MalformedOrigin));
        let layer = OriginGuardLayer::new([o.as_str()]);
        prop_assert!(layer.is_ok(), "{o} passed the parser but is no entry: {:?}", layer.err());
        let layer = layer.unwrap();
        prop_assert!(origin_decision(&layer, value.clone()).is_ok(), "entry {o} refuses itself");
        let normal: Vec<String> = layer.allowed_origins().iter().collect();
        prop_assert_eq!(normal.len(), 1);
        let n = &normal[0];
        let again = OriginGuardLayer::new([n.as_str()]).unwrap();
        prop_assert_eq!(again.allowed_origins().iter().collect::<Vec<_>>(), normal.clone(), "not idempotent");
        prop_assert!(origin_decision(&again, value).is_ok(), "normal form {n} refuses {o}");
        // The normal form is itself an origin a browser could send: it is accepted too.
        prop_assert!(origin_decision(&again, HeaderValue::from_str(n).unwrap()).is_ok(), "{n} refuses itself");
        // The normal form is lower case and carries no trailing dot.
        prop_assert_eq!(n.to_ascii_lowercase(), n.clone());
        prop_assert!(!n.contains(".:") && !n.ends_with('.'), "{n}");
    }

    /// Case, the default port and the trailing dot never change a decision.
    #[test]
    fn origin_spelling_invariance(
        secure in any::<bool>(),
        name in prop_oneof![Just("localhost".to_owned()), Just("app.example.com".to_owned()), dns_name()],
        mask in any::<u64>(),
    ) {
        let list = OriginGuardLayer::new(["https://app.example.com", "http://localhost:*", "http://*.example.org:8080"]).unwrap();
        let (scheme, default) = if secure { ("https", 443) } else { ("http", 80) };
        let plain = format!("{scheme}://{name}");
        let base = kind(&origin_decision(&list, HeaderValue::from_str(&plain).unwrap()));
        for variant in [
            recase(&plain, mask),
            format!("{plain}:{default}"),
            format!("{plain}:0{default}"),
            format!("{plain}.:{default}"),
            format!("{plain}."),
        ] {
            let got = kind(&origin_decision(&list, HeaderValue::from_str(&variant).unwrap()));
            prop_assert_eq!(got, base, "{} vs {}", variant, plain);
        }
    }

    /// A path, query, fragment, userinfo or trailing slash makes an Origin
    /// malformed, whatever the host.
    #[test]
    fn origin_with_url_parts_is_malformed(host in prop_oneof![Just("localhost".to_owned()), dns_name()],
                                          junk in prop_oneof![Just("/"), Just("/x"), Just("?a"), Just("#f"), Just("/..")],
                                          user in any::<bool>()) {
        let text = if user {
            format!("http://evil.example@{host}")
        } else {
            format!("http://{host}{junk}")
        };
        let r = origin_decision(localhost_origins(), HeaderValue::from_str(&text).unwrap());
        prop_assert_eq!(kind(&r), Some(RejectionKind::MalformedOrigin), "{}", text);
    }

    // ================================================== protocol version

    /// Arbitrary bytes: no panic; what parses is exactly ten bytes and
    /// prints back byte for byte; `FromStr` agrees (the header reader's
    /// agreement is a unit property of `protocol.rs`).
    #[test]
    fn protocol_version_arbitrary_bytes(bytes in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..16),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}".prop_map(String::into_bytes),
        "[0-9-]{8,12}".prop_map(String::into_bytes),
    ]) {
        let parsed = ProtocolVersion::parse_bytes(&bytes);
        if let Some(v) = parsed {
            let printed = v.to_string();
            prop_assert_eq!(printed.as_bytes(), &bytes[..]);
            let as_header = v.to_header_value();
            prop_assert_eq!(as_header.as_bytes(), &bytes[..]);
            prop_assert_eq!(std::str::from_utf8(&bytes).unwrap().parse::<ProtocolVersion>().ok(), Some(v));
        }
    }

    /// Every `YYYY-MM-DD` with month 1-12 and day 1-31 parses; order is date
    /// order; the era switches exactly at 2026-07-28; other months/days fail.
    #[test]
    fn protocol_version_dates(y in 0u32..10000, m in 0u32..100, d in 0u32..100, y2 in 0u32..10000, m2 in 1u32..13, d2 in 1u32..32) {
        let text = format!("{y:04}-{m:02}-{d:02}");
        let v = ProtocolVersion::parse_bytes(text.as_bytes());
        let valid = (1..=12).contains(&m) && (1..=31).contains(&d);
        prop_assert_eq!(v.is_some(), valid, "{}", text);
        let Some(v) = v else { return Ok(()) };
        let w = ProtocolVersion::parse_bytes(format!("{y2:04}-{m2:02}-{d2:02}").as_bytes()).unwrap();
        prop_assert_eq!(v.cmp(&w), (y, m, d).cmp(&(y2, m2, d2)));
        let modern = (y, m, d) >= (2026, 7, 28);
        prop_assert_eq!(v.era() == Era::Modern, modern);
        prop_assert_eq!(v.allows_batch(), (y, m, d) <= (2025, 3, 26));
    }

    // ======================================================== session id

    /// `SessionId::parse` accepts exactly 1..=256 visible ASCII bytes, and
    /// what it accepts prints back byte for byte. `Debug` never shows the id.
    #[test]
    fn session_id_parse(bytes in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(0x21u8..=0x7e, 0..300),
        "[!-~]{250,260}".prop_map(String::into_bytes),
    ]) {
        let want = if bytes.is_empty() {
            Err(InvalidSessionId::Empty)
        } else if bytes.len() > MAX_SESSION_ID_LEN {
            Err(InvalidSessionId::TooLong)
        } else if !bytes.iter().all(|b| (0x21..=0x7e).contains(b)) {
            Err(InvalidSessionId::InvalidByte)
        } else {
            Ok(())
        };
        let got = SessionId::parse(&bytes);
        prop_assert_eq!(got.as_ref().map(|_| ()).map_err(|e| *e), want);
        if let Ok(id) = got {
            prop_assert_eq!(id.as_str().as_bytes(), &bytes[..]);
            prop_assert_eq!(id.as_str().parse::<SessionId>().unwrap(), id.clone());
            prop_assert!(HeaderValue::from_str(id.as_str()).is_ok());
            if bytes.len() >= 12 {
                let debug = format!("{id:?}");
                prop_assert!(!debug.contains(id.as_str()), "Debug shows the id");
            }
        }
    }

    /// Through the session layer: a header `SessionId::parse` refuses gets
    /// 400 `MalformedSessionId`; a well-formed id the store never minted
    /// gets 404 -32001. Nothing reaches the inner service, nothing is stored.
    #[test]
    fn session_layer_agrees_with_parser(bytes in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        "[!-~]{1,64}".prop_map(String::into_bytes),
        Just(Vec::new()),
        Just(vec![b'a'; 257]),
    ], method in prop_oneof![Just(Method::POST), Just(Method::GET), Just(Method::DELETE)]) {
        let Some(value) = header(&bytes) else { return Ok(()) };
        let (store, svc) = session_stack();
        let before = store.stats();
        let req = Request::builder()
            .method(method.clone())
            .uri("/mcp")
            .header("mcp-session-id", value.clone())
            .body(Full::new(Bytes::from_static(br#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#)))
            .unwrap();
        let res = runtime().block_on(svc.clone().oneshot(req)).unwrap();
        let status = res.status();
        let r = res.extensions().get::<Rejection>().map(Rejection::kind);
        let body = runtime().block_on(res.into_body().collect()).unwrap().to_bytes();
        match SessionId::parse(value.as_bytes()) {
            Err(_) => {
                prop_assert_eq!(status, StatusCode::BAD_REQUEST);
                prop_assert_eq!(r, Some(RejectionKind::MalformedSessionId));
            }
            Ok(_) => {
                prop_assert_eq!(status, StatusCode::NOT_FOUND, "{} {:?}", method, value);
                prop_assert_eq!(r, Some(RejectionKind::SessionNotFound));
                let v: Value = serde_json::from_slice(&body).unwrap();
                prop_assert_eq!(&v["error"]["code"], -32001);
            }
        }
        assert_jsonrpc_error(&body)?;
        let after = store.stats();
        prop_assert_eq!(after.active, before.active);
        prop_assert_eq!(after.created, before.created);
        prop_assert_eq!(after.reserved, 0);
    }

    // ========================================================== envelope

    /// Arbitrary bytes and JSON-ish text: no panic; an accepted body is
    /// valid JSON whose messages are all JSON objects; a body that is not
    /// JSON is a parse error (-32700), JSON that is no message is -32600.
    #[test]
    fn envelope_accepts_only_objects(body in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        json_tree().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        json_tree().prop_map(|v| serde_json::to_vec(&json!([v])).unwrap()),
    ]) {
        let parsed = Envelope::parse(&body);
        let value: Result<Value, _> = serde_json::from_slice(&body);
        match (&parsed, &value) {
            (Ok(env), Ok(v)) => {
                let items: Vec<&Value> = match v {
                    Value::Array(items) => items.iter().collect(),
                    other => vec![other],
                };
                prop_assert_eq!(items.len(), env.messages().len());
                prop_assert_eq!(env.is_batch(), v.is_array());
                for item in items {
                    prop_assert!(item.is_object(), "accepted a non-object message: {}", item);
                    prop_assert_eq!(&item["jsonrpc"], "2.0");
                }
            }
            (Ok(_), Err(e)) => prop_assert!(false, "accepted invalid JSON: {e}"),
            (Err(EnvelopeError::Parse(m)), Ok(_)) => prop_assert!(false, "valid JSON called a parse error: {m}"),
            (Err(e), _) => {
                let code = mcp_tower_guard::Rejection::from(e.clone()).code();
                prop_assert!(code == -32700 || code == -32600);
            }
        }
    }

    /// Whitespace and key order do not change the envelope: a message and
    /// its pretty-printed, key-reversed twin parse to equal envelopes.
    #[test]
    fn envelope_layout_invariance(
        method in "[a-z/_]{1,12}",
        id in prop_oneof![any::<i64>().prop_map(Value::from), "[ -~]{0,8}".prop_map(Value::from)],
        name in proptest::option::of("\\PC{0,12}"),
        meta in proptest::option::of("[0-9]{4}-[0-9]{2}-[0-9]{2}"),
        notify in any::<bool>(),
    ) {
        let mut params = serde_json::Map::new();
        if let Some(n) = &name { params.insert("name".into(), Value::from(n.clone())); }
        if let Some(m) = &meta {
            params.insert("_meta".into(), json!({ "io.modelcontextprotocol/protocolVersion": m }));
        }
        let mut msg = serde_json::Map::new();
        msg.insert("jsonrpc".into(), "2.0".into());
        if !notify { msg.insert("id".into(), id); }
        msg.insert("method".into(), Value::from(method.clone()));
        msg.insert("params".into(), Value::Object(params));
        let compact = serde_json::to_vec(&Value::Object(msg.clone())).unwrap();
        let reversed: serde_json::Map<String, Value> = msg.into_iter().rev().collect();
        let pretty = serde_json::to_vec_pretty(&Value::Object(reversed)).unwrap();
        let a = Envelope::parse(&compact).unwrap();
        let b = Envelope::parse(&pretty).unwrap();
        prop_assert_eq!(&a, &b);
        let m = a.single().unwrap();
        prop_assert_eq!(m.kind(), if notify { MessageKind::Notification } else { MessageKind::Request });
        prop_assert_eq!(m.method(), Some(method.as_str()));
        prop_assert_eq!(m.name(), name.as_deref());
        prop_assert_eq!(a.meta_protocol_version(), meta.as_deref());
    }

    // ====================================================== Mcp-Name value

    /// Any string survives encode → header → decode; the encoded value is a
    /// header value with no leading or trailing whitespace (which HTTP would
    /// strip), and plain visible ASCII is sent as is.
    #[test]
    fn mcp_name_round_trip(s in prop_oneof![any::<String>(), "[ -~]{0,20}", "=\\?base64\\?[ -~]{0,8}\\?="]) {
        let encoded = encode_value(&s);
        let bytes = encoded.as_bytes();
        prop_assert!(!bytes.starts_with(b" ") && !bytes.starts_with(b"\t"));
        prop_assert!(!bytes.ends_with(b" ") && !bytes.ends_with(b"\t"));
        prop_assert!(bytes.iter().all(|&b| b == b'\t' || (b' '..=b'~').contains(&b)));
        let decoded = decode_value(bytes);
        prop_assert_eq!(decoded.as_deref(), Ok(s.as_str()));
        let sentinel = s.starts_with("=?base64?") && s.ends_with("?=");
        let plain = !sentinel && !s.starts_with([' ', '\t']) && !s.ends_with([' ', '\t'])
            && s.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
        prop_assert_eq!(bytes == s.as_bytes(), plain);
    }

    /// Arbitrary bytes: no panic; a decoded plain value is the input itself;
    /// a decoded Base64 value re-encodes to a value that decodes to it.
    #[test]
    fn mcp_name_decode_arbitrary(bytes in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..48),
        "[A-Za-z0-9+/=]{0,24}".prop_map(|p| format!("=?base64?{p}?=").into_bytes()),
    ]) {
        if let Ok(v) = decode_value(&bytes) {
            let sentinel = bytes.starts_with(b"=?base64?") && bytes.ends_with(b"?=");
            if !sentinel {
                prop_assert_eq!(v.as_bytes(), &bytes[..]);
            }
            let again = encode_value(&v);
            let redecoded = decode_value(again.as_bytes());
            prop_assert_eq!(redecoded.as_deref(), Ok(&*v));
        }
    }
}

/// JSON values shaped like JSON-RPC messages and their near misses: objects
/// with the message keys, arrays in their place, scalars.
fn json_tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        Just(Value::from("2.0")),
        Just(Value::from("ping")),
        Just(Value::from("initialize")),
        "[a-z]{0,4}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..7).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "jsonrpc", "id", "method", "params", "result", "error", "name", "_meta"
                    ]),
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// One session stack (store + layer + inner service), shared by the cases of
/// `session_layer_agrees_with_parser`. The store holds a few real sessions so
/// "never hits" is checked against a non-empty table.
fn session_stack() -> Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK
        .get_or_init(|| {
            let store = MokaSessionStore::builder().max_sessions(100).build().unwrap();
            let f: fn(Request<B>) -> OkFut = |req| Box::pin(ok_service(req));
            let svc = McpSessionLayer::new(store.clone()).layer(tower::service_fn(f));
            for _ in 0..5 {
                let init = Request::post("/mcp")
                    .body(Full::new(Bytes::from_static(
                        br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#,
                    )))
                    .unwrap();
                let res = runtime().block_on(svc.clone().oneshot(init)).unwrap();
                assert_eq!(res.status(), StatusCode::OK);
                assert!(res.headers().contains_key("mcp-session-id"));
            }
            assert_eq!(store.stats().active, 5);
            (store, svc)
        })
        .clone()
}

/// The session layer over the test service.
type SessionSvc = mcp_tower_guard::session::McpSession<
    tower::util::ServiceFn<fn(Request<B>) -> OkFut>,
    mcp_tower_guard::JsonRpcRejection,
>;

/// The store and the service of `session_stack`.
type Stack = (MokaSessionStore, SessionSvc);

type OkFut =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response<B>, Infallible>> + Send>>;

// ------------------------------------------------------- Fetch Metadata

/// The Origin guard's decision with `Origin` and `Sec-Fetch-Site` values.
fn fetch_decision(
    layer: &OriginGuardLayer,
    origin: Option<&str>,
    sites: &[HeaderValue],
) -> Result<(), Rejection> {
    let svc = layer.layer(());
    let mut req = Request::builder().uri("/mcp");
    if let Some(origin) = origin {
        req = req.header(http::header::ORIGIN, origin);
    }
    for site in sites {
        req = req.header("sec-fetch-site", site.clone());
    }
    svc.check(&req.body(()).unwrap())
}

fn sec_fetch_site() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::sample::select(vec![
            &b"same-origin"[..], b"same-site", b"cross-site", b"none",
            b"Same-Origin", b"cross-site ", b" none", b"same-origin,cross-site", b"",
        ])
        .prop_map(<[u8]>::to_vec),
        1 => proptest::collection::vec(any::<u8>(), 0..16),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Issue 12: "When Origin is absent, Sec-Fetch-Site: cross-site is refused
    /// with 403; same-origin, same-site (configurable) and none pass. When both
    /// are present, the allowlist decides." Anything but one of the four
    /// tokens, sent once, is refused: a browser sends exactly one.
    #[test]
    fn fetch_metadata_matches_its_model(
        values in proptest::collection::vec(sec_fetch_site(), 0..3),
        origin in proptest::option::of(proptest::sample::select(vec![
            "http://localhost:6274", "http://evil.example",
        ])),
        same_site in any::<bool>(),
    ) {
        let sites: Vec<HeaderValue> = values.iter().filter_map(|v| header(v)).collect();
        let layer = localhost_origins().clone().allow_same_site(same_site);
        let got = kind(&fetch_decision(&layer, origin, &sites));
        let expected = match origin {
            Some("http://localhost:6274") => None,
            Some(_) => Some(RejectionKind::OriginNotAllowed),
            None => match sites.as_slice() {
                [] => None,
                [one] => match one.as_bytes() {
                    b"same-origin" | b"none" => None,
                    b"same-site" if same_site => None,
                    _ => Some(RejectionKind::CrossSiteRequest),
                },
                _ => Some(RejectionKind::CrossSiteRequest),
            },
        };
        prop_assert_eq!(got, expected, "origin {:?} sites {:?}", origin, sites);
        // Turned off, Sec-Fetch-Site is never consulted.
        let off = localhost_origins().clone().fetch_metadata(false);
        prop_assert_ne!(
            kind(&fetch_decision(&off, origin, &sites)),
            Some(RejectionKind::CrossSiteRequest)
        );
    }
}
