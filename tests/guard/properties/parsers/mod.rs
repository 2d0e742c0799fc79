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

/// The envelope and the `Mcp-Name` encoding.
mod envelope_and_mcp_name;
/// Host properties.
mod host_header;
/// Origin and Fetch Metadata properties.
mod origin_and_fetch_metadata;
/// `ProtocolVersion`, `SessionId`, and the session layer agreeing with the parser.
mod protocol_and_session;

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

// ---------------------------------------------------------------- helpers

/// A `HeaderValue` from arbitrary bytes, or `None` when `http` refuses them
/// (CR, LF, NUL and other controls but tab).
fn header(bytes: &[u8]) -> Option<HeaderValue> {
    HeaderValue::from_bytes(bytes).ok()
}

/// `Ok`, or the kind of the rejection: what a decision is compared by.
fn kind(r: &Result<(), Rejection>) -> Option<RejectionKind> {
    r.as_ref().err().map(Rejection::kind)
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
