//! The oracles of the fuzz targets, one function per target.
//!
//! Each function takes the raw fuzz input, drives one parser (or the whole
//! four-layer stack) through mcp-tower-guard's PUBLIC API, and panics when an
//! invariant breaks. The `fuzz_targets/*.rs` binaries only call these.
//!
//! The same file is compiled into `tests/guard/properties/fuzz_regressions.rs` (with
//! `#[path]`), which replays every input under `fuzz/corpus/` and
//! `fuzz/regressions/` through these functions on every `cargo test`, so the
//! oracles, the seed corpus and any crash turned into a regression stay
//! checked without cargo-fuzz. Keep this file free of `libfuzzer-sys` and of
//! crates the library's dev-dependencies do not have.
#![allow(clippy::missing_panics_doc)]

use std::convert::Infallible;
use std::net::Ipv6Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use mcp_tower_guard::envelope::{Envelope, EnvelopeError, MessageKind, META_PROTOCOL_VERSION};
use mcp_tower_guard::headers::{decode_value, encode_value, param_headers, ToolRules};
use mcp_tower_guard::host::PeerAddr;
use mcp_tower_guard::jsonrpc::RequestId;
use mcp_tower_guard::protocol::{Era, ProtocolVersion, RequestProtocol};
use mcp_tower_guard::session::{
    InvalidSessionId, LimitPolicy, McpSessionLayer, MokaSessionStore, Principal, SessionContext,
    SessionId, MAX_SESSION_ID_LEN,
};
use mcp_tower_guard::{
    HostCheckLayer, McpHeadersLayer, OriginGuardLayer, Rejection, RejectionKind,
};
use serde_json::Value;
use tower::{Layer, ServiceBuilder, ServiceExt};

/// True when `finding` (e.g. `F2`) is listed in `MCP_FUZZ_KNOWN`
/// (comma-separated): an open, already reported finding the oracle should
/// step over so fuzzing can go on past it. Unset in CI and in
/// `tests/guard/properties/fuzz_regressions.rs`, so every oracle is strict there.
pub fn known_open(finding: &str) -> bool {
    std::env::var("MCP_FUZZ_KNOWN").is_ok_and(|v| v.split(',').any(|f| f.trim() == finding))
}

/// Splits `data` into at most `n` pieces at NUL bytes (the last piece keeps the rest).
fn pieces(data: &[u8], n: usize) -> Vec<&[u8]> {
    data.splitn(n, |&b| b == 0).collect()
}

fn kind(r: &Result<(), Rejection>) -> Option<RejectionKind> {
    r.as_ref().err().map(Rejection::kind)
}

// ===================================================================== Host

fn loopback_hosts() -> &'static HostCheckLayer {
    static L: OnceLock<HostCheckLayer> = OnceLock::new();
    L.get_or_init(HostCheckLayer::localhost)
}

fn proxied_hosts() -> &'static HostCheckLayer {
    static L: OnceLock<HostCheckLayer> = OnceLock::new();
    L.get_or_init(|| {
        HostCheckLayer::new([
            "mcp.example.com",
            "*.internal.example",
            "example.org:8443",
            "[2001:db8::1]",
        ])
        .expect("valid entries")
        .trust_forwarded_host(["10.0.0.1".parse().expect("ip")])
    })
}

fn host_check(layer: &HostCheckLayer, req: &Request<()>) -> Result<(), Rejection> {
    layer.layer(()).check(req)
}

fn with_host(value: &HeaderValue) -> Request<()> {
    let mut req = Request::new(());
    *req.uri_mut() = Uri::from_static("/mcp");
    req.headers_mut().insert(http::header::HOST, value.clone());
    req
}

/// What a loopback-list match must look like: `localhost` / `127.0.0.1`
/// (any case, one trailing dot, any port) or a bracketed `::1`.
fn looks_loopback(value: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(value) else {
        return false;
    };
    let s = s.to_ascii_lowercase();
    if let Some(rest) = s.strip_prefix('[') {
        return rest
            .split_once(']')
            .and_then(|(ip, _)| ip.parse::<Ipv6Addr>().ok())
            .is_some_and(|ip| ip.is_loopback());
    }
    let host = s.split(':').next().unwrap_or_default();
    let host = host.strip_suffix('.').unwrap_or(host);
    host == "localhost" || host == "127.0.0.1"
}

/// `host_authority` target. First byte: mode; rest: the value(s).
pub fn host_authority(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        // One Host header against the loopback list and as its own entry.
        0 => {
            let Ok(value) = HeaderValue::from_bytes(rest) else {
                return;
            };
            let r = host_check(loopback_hosts(), &with_host(&value));
            match &r {
                Ok(()) => assert!(looks_loopback(rest), "loopback list accepted {value:?}"),
                Err(e) => assert!(
                    matches!(
                        e.kind(),
                        RejectionKind::MalformedHost | RejectionKind::HostNotAllowed
                    ),
                    "{e}"
                ),
            }
            if kind(&r) == Some(RejectionKind::MalformedHost) {
                // Malformed is malformed for every list.
                assert_eq!(
                    kind(&host_check(proxied_hosts(), &with_host(&value))),
                    Some(RejectionKind::MalformedHost)
                );
                return;
            }
            if looks_loopback(rest) {
                assert!(
                    r.is_ok(),
                    "well-formed loopback {value:?} refused: {:?}",
                    kind(&r)
                );
            }
            // Well-formed: the value is a valid entry that accepts itself,
            // in any ASCII case.
            let text = value.to_str().expect("well-formed hosts are ASCII");
            let own =
                HostCheckLayer::new([text]).unwrap_or_else(|e| panic!("{text:?} is no entry: {e}"));
            for variant in [text.to_ascii_uppercase(), text.to_ascii_lowercase()] {
                let v = HeaderValue::from_str(&variant).expect("ascii");
                assert!(
                    host_check(&own, &with_host(&v)).is_ok(),
                    "entry {text:?} refuses {variant:?}"
                );
                assert_eq!(
                    kind(&host_check(loopback_hosts(), &with_host(&v))),
                    kind(&r),
                    "{variant:?}"
                );
            }
        }
        // A request-target authority (HTTP/2 `:authority`): decided like Host,
        // and a Host header sent with it is checked too.
        1 => {
            let parts = pieces(rest, 2);
            let Ok(authority) = http::uri::Authority::try_from(parts[0]) else {
                return;
            };
            let Ok(uri) = Uri::builder()
                .scheme("http")
                .authority(authority.clone())
                .path_and_query("/mcp")
                .build()
            else {
                return;
            };
            let mut req = Request::new(());
            *req.uri_mut() = uri;
            let alone = host_check(loopback_hosts(), &req);
            if let Ok(v) = HeaderValue::from_str(authority.as_str()) {
                assert_eq!(
                    kind(&alone),
                    kind(&host_check(loopback_hosts(), &with_host(&v)))
                );
            }
            if let Some(Ok(host)) = parts.get(1).map(|h| HeaderValue::from_bytes(h)) {
                req.headers_mut().insert(http::header::HOST, host.clone());
                let both = host_check(loopback_hosts(), &req);
                if both.is_ok() {
                    assert!(alone.is_ok());
                    assert!(host_check(loopback_hosts(), &with_host(&host)).is_ok());
                }
            }
        }
        // Forwarding headers: honoured only from the trusted peer.
        _ => {
            let name = if mode % 4 == 2 {
                HeaderName::from_static("x-forwarded-host")
            } else {
                HeaderName::from_static("forwarded")
            };
            let mut req = Request::new(());
            *req.uri_mut() = Uri::from_static("/mcp");
            req.headers_mut()
                .insert(http::header::HOST, HeaderValue::from_static("backend:8080"));
            for line in pieces(rest, 4) {
                if let Ok(v) = HeaderValue::from_bytes(line) {
                    req.headers_mut().append(name.clone(), v);
                }
            }
            // Untrusted or unknown peer: the forwarding headers are ignored.
            let untrusted = host_check(proxied_hosts(), &req);
            assert_eq!(kind(&untrusted), Some(RejectionKind::HostNotAllowed));
            req.extensions_mut()
                .insert(PeerAddr("10.0.0.2:4000".parse().expect("addr")));
            assert_eq!(
                kind(&host_check(proxied_hosts(), &req)),
                Some(RejectionKind::HostNotAllowed)
            );
            req.extensions_mut()
                .insert(PeerAddr("10.0.0.1:4000".parse().expect("addr")));
            let trusted = host_check(proxied_hosts(), &req);
            if let Err(e) = &trusted {
                assert!(
                    matches!(
                        e.kind(),
                        RejectionKind::MalformedHost | RejectionKind::HostNotAllowed
                    ),
                    "{e}"
                );
            }
        }
    }
}

// =================================================================== Origin

fn loopback_origins() -> &'static OriginGuardLayer {
    static L: OnceLock<OriginGuardLayer> = OnceLock::new();
    L.get_or_init(OriginGuardLayer::localhost)
}

fn origin_check(layer: &OriginGuardLayer, values: &[&HeaderValue]) -> Result<(), Rejection> {
    let mut req = Request::new(());
    for v in values {
        req.headers_mut().append(http::header::ORIGIN, (*v).clone());
    }
    layer.layer(()).check(&req)
}

/// `origin` target: the input is one `Origin` value.
/// The same bytes as a `Sec-Fetch-Site` value (Fetch Metadata, issue 12):
/// without `Origin`, only the tokens `same-origin`, `same-site` and `none`
/// pass, and anything else is 403 `CrossSiteRequest`; with an allowed
/// `Origin`, the allowlist alone decides.
fn fetch_site(value: &HeaderValue) {
    let check = |origin: Option<&'static str>| {
        let mut req = Request::new(());
        *req.uri_mut() = Uri::from_static("/mcp");
        req.headers_mut().insert("sec-fetch-site", value.clone());
        if let Some(origin) = origin {
            req.headers_mut()
                .insert(http::header::ORIGIN, HeaderValue::from_static(origin));
        }
        loopback_origins().layer(()).check(&req)
    };
    let passes = matches!(value.as_bytes(), b"same-origin" | b"same-site" | b"none");
    match check(None) {
        Ok(()) => assert!(passes, "Sec-Fetch-Site {value:?} passed"),
        Err(e) => {
            assert!(!passes, "Sec-Fetch-Site {value:?} refused");
            assert_eq!(e.kind(), RejectionKind::CrossSiteRequest);
            assert_eq!(e.status(), StatusCode::FORBIDDEN);
        }
    }
    assert!(
        check(Some("http://localhost:3000")).is_ok(),
        "an allowed Origin decides over Sec-Fetch-Site {value:?}"
    );
}

pub fn origin(data: &[u8]) {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    fetch_site(&value);
    let r = origin_check(loopback_origins(), &[&value]);
    assert_eq!(
        loopback_origins().allowed_origins().matches(&value),
        r.is_ok()
    );
    match &r {
        Ok(()) => {
            let s = value
                .to_str()
                .expect("accepted origins are ASCII")
                .to_ascii_lowercase();
            let (scheme, rest) = s.split_once("://").expect("scheme://");
            assert!(scheme == "http" || scheme == "https", "{s}");
            assert!(looks_loopback(rest.as_bytes()), "{s}");
        }
        Err(e) => {
            assert!(matches!(
                e.kind(),
                RejectionKind::MalformedOrigin
                    | RejectionKind::NullOrigin
                    | RejectionKind::OriginNotAllowed
            ));
            assert_eq!(e.status(), StatusCode::FORBIDDEN);
        }
    }
    // Two Origin headers: always malformed, even two allowed ones.
    assert_eq!(
        kind(&origin_check(loopback_origins(), &[&value, &value])),
        Some(RejectionKind::MalformedOrigin)
    );
    if matches!(
        kind(&r),
        Some(RejectionKind::MalformedOrigin | RejectionKind::NullOrigin)
    ) {
        return;
    }
    // Well-formed tuple origin: its own entry accepts it; the normal form is a
    // fixed point and accepts it too; case never matters.
    let text = value.to_str().expect("well-formed origins are ASCII");
    // Extension schemes with a known id shape refuse entries of another
    // shape (a pasting mistake); any other well-formed origin is an entry.
    let shaped = ["chrome-extension://", "moz-extension://"]
        .iter()
        .any(|scheme| {
            text.len() >= scheme.len() && text[..scheme.len()].eq_ignore_ascii_case(scheme)
        });
    let own = match OriginGuardLayer::new([text]) {
        Ok(own) => own,
        Err(_) if shaped => return,
        Err(e) => panic!("{text:?} is no entry: {e}"),
    };
    assert!(
        origin_check(&own, &[&value]).is_ok(),
        "entry {text:?} refuses itself"
    );
    let normal: Vec<String> = own.allowed_origins().iter().collect();
    assert_eq!(normal.len(), 1);
    let again = OriginGuardLayer::new([normal[0].as_str()]).expect("normal form is an entry");
    assert_eq!(again.allowed_origins().iter().collect::<Vec<_>>(), normal);
    assert!(origin_check(&again, &[&value]).is_ok());
    let n = HeaderValue::from_str(&normal[0]).expect("ascii");
    assert!(origin_check(&again, &[&n]).is_ok(), "{n:?} refuses itself");
    for variant in [text.to_ascii_uppercase(), text.to_ascii_lowercase()] {
        let v = HeaderValue::from_str(&variant).expect("ascii");
        assert!(origin_check(&own, &[&v]).is_ok(), "{variant}");
        assert_eq!(kind(&origin_check(loopback_origins(), &[&v])), kind(&r));
    }
}

// =================================================================== Accept

/// The `accept` target: the `Accept` parser is private, so its oracle lives
/// next to it (`src/headers/accept.rs`, which also replays this target's
/// corpus) and is reached through `mcp_tower_guard::fuzzing`.
#[cfg(fuzzing)]
pub fn accept(data: &[u8]) {
    mcp_tower_guard::fuzzing::accept(data);
}

/// Outside cargo-fuzz the private parser is out of reach: nothing to run.
#[cfg(not(fuzzing))]
pub fn accept(_data: &[u8]) {}

// ========================================================= protocol version

/// `protocol_version` target: one `MCP-Protocol-Version` value.
pub fn protocol_version(data: &[u8]) {
    let parsed = ProtocolVersion::parse_bytes(data);
    if let Some(v) = parsed {
        assert_eq!(v.to_string().as_bytes(), data);
        assert_eq!(v.to_header_value().as_bytes(), data);
        let text = std::str::from_utf8(data).expect("ascii");
        assert_eq!(text.parse::<ProtocolVersion>().ok(), Some(v));
        assert_eq!(v.era() == Era::Modern, v >= ProtocolVersion::FIRST_MODERN);
    } else if let Ok(text) = std::str::from_utf8(data) {
        assert!(text.parse::<ProtocolVersion>().is_err());
    }
    // The header reader and the era rule are private: their oracle lives in
    // `src/protocol.rs` (a unit property there runs it outside cargo-fuzz).
    #[cfg(fuzzing)]
    mcp_tower_guard::fuzzing::version_header(data);
}

// =============================================================== session id

/// `session_id` target: one `Mcp-Session-Id` value.
pub fn session_id(data: &[u8]) {
    let want = if data.is_empty() {
        Err(InvalidSessionId::Empty)
    } else if data.len() > MAX_SESSION_ID_LEN {
        Err(InvalidSessionId::TooLong)
    } else if !data.iter().all(|b| (0x21..=0x7e).contains(b)) {
        Err(InvalidSessionId::InvalidByte)
    } else {
        Ok(())
    };
    let got = SessionId::parse(data);
    assert_eq!(got.as_ref().map(|_| ()).map_err(|e| *e), want);
    if let Ok(id) = got {
        assert_eq!(id.as_str().as_bytes(), data);
        assert_eq!(id.as_str().parse::<SessionId>().as_ref(), Ok(&id));
        assert!(HeaderValue::from_str(id.as_str()).is_ok());
        let debug = format!("{id:?}");
        assert!(
            data.len() < 12 || !debug.contains(id.as_str()),
            "Debug leaks the id"
        );
        assert_eq!(id.tag(), id.clone().tag());
    }
}

// ================================================================= envelope

/// `method`, `params.name`, `params.uri`, the `_meta` version and
/// `params.protocolVersion` of one message, when strings.
type Fields<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
);

/// What serde_json's own tree says about one message (the differential oracle).
fn value_fields(item: &Value) -> Fields<'_> {
    fn string(v: &Value) -> Option<&str> {
        v.as_str()
    }
    let params = &item["params"];
    (
        string(&item["method"]),
        params
            .as_object()
            .and_then(|p| p.get("name"))
            .and_then(string),
        params
            .as_object()
            .and_then(|p| p.get("uri"))
            .and_then(string),
        params
            .as_object()
            .and_then(|p| p.get("_meta"))
            .and_then(|m| m.get(META_PROTOCOL_VERSION))
            .and_then(string),
        params
            .as_object()
            .and_then(|p| p.get("protocolVersion"))
            .and_then(string),
    )
}

/// serde_json's errors about the *contents* of a string (invalid UTF-8, a
/// lone surrogate or bad `\u` escape): finding F2, strings the envelope
/// parser skips are not validated.
fn is_string_content_error(e: &serde_json::Error) -> bool {
    let m = e.to_string();
    m.contains("unicode code point") || m.contains("hex escape") || m.contains("surrogate")
}

/// `envelope` target: one POST body.
pub fn envelope(data: &[u8]) {
    let parsed = Envelope::parse(data);
    let value: Result<Value, _> = serde_json::from_slice(data);
    match (&parsed, &value) {
        (Ok(env), Ok(v)) => {
            let items: Vec<&Value> = match v {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            assert_eq!(env.is_batch(), v.is_array());
            assert_eq!(items.len(), env.messages().len());
            assert!(!items.is_empty());
            for (item, m) in items.iter().zip(env.messages()) {
                assert!(
                    item.is_object(),
                    "a JSON-RPC message must be an object, accepted {item}"
                );
                assert_eq!(item["jsonrpc"], "2.0");
                // The fields the layers check equal what a serde_json server reads.
                let (method, name, uri, meta, init) = value_fields(item);
                assert_eq!(m.method(), method, "method of {item}");
                assert_eq!(m.name(), name, "params.name of {item}");
                assert_eq!(m.uri(), uri, "params.uri of {item}");
                assert_eq!(m.protocol_version(), meta, "_meta version of {item}");
                assert_eq!(m.initialize_version(), init, "protocolVersion of {item}");
                let id = item.get("id");
                match (m.id(), id) {
                    (None, None) => {}
                    (Some(RequestId::Null), Some(Value::Null)) => {}
                    (Some(RequestId::String(s)), Some(Value::String(t))) => assert_eq!(s, t),
                    (Some(RequestId::Number(_)), Some(Value::Number(_))) => {}
                    (a, b) => panic!("id {a:?} vs {b:?}"),
                }
                match m.kind() {
                    MessageKind::Request => {
                        assert!(method.is_some() && id.is_some_and(|i| !i.is_null()))
                    }
                    MessageKind::Notification => assert!(method.is_some() && id.is_none()),
                    MessageKind::Response => assert!(
                        method.is_none()
                            && (item.get("result").is_some() || item.get("error").is_some())
                    ),
                    other => panic!("a message kind the oracle does not know: {other:?}"),
                }
            }
            if env.is_initialize() {
                assert!(!env.is_batch());
                assert_eq!(env.method(), Some("initialize"));
            }
            assert_eq!(
                env.only_notifications_or_responses(),
                env.messages()
                    .iter()
                    .all(|m| m.kind() != MessageKind::Request)
            );
        }
        (Ok(_), Err(e)) if known_open("F2") && is_string_content_error(e) => {}
        (Ok(_), Err(e)) => {
            // serde_json's tree stops at 128 levels; the envelope parser skips
            // what it does not need without a limit. Anything else is a bug.
            assert!(
                e.to_string().contains("recursion limit"),
                "accepted invalid JSON: {e}"
            );
        }
        (Err(EnvelopeError::Parse(m)), Ok(_)) => panic!("valid JSON called a parse error: {m}"),
        (Err(e), _) => {
            let r = mcp_tower_guard::Rejection::from(e.clone());
            assert!(matches!(r.code(), -32700 | -32600), "{r}");
            assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        }
    }
}

// ================================================================= Mcp-Name

/// `mcp_name` target: one `Mcp-Name` value, and the input as a name to encode.
pub fn mcp_name(data: &[u8]) {
    let sentinel = data.starts_with(b"=?base64?") && data.ends_with(b"?=");
    match decode_value(data) {
        Ok(v) => {
            if !sentinel {
                assert_eq!(v.as_bytes(), data);
            }
            let again = encode_value(&v);
            assert_eq!(decode_value(again.as_bytes()).as_deref(), Ok(&*v));
        }
        Err(_) => assert!(
            sentinel
                || data
                    .iter()
                    .any(|&b| b != b'\t' && !(b' '..=b'~').contains(&b))
        ),
    }
    let s = String::from_utf8_lossy(data);
    let encoded = encode_value(&s);
    let bytes = encoded.as_bytes();
    assert!(bytes
        .iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b)));
    assert!(!bytes.first().is_some_and(|b| *b == b' ' || *b == b'\t'));
    assert!(!bytes.last().is_some_and(|b| *b == b' ' || *b == b'\t'));
    assert_eq!(decode_value(bytes).as_deref(), Ok(&*s));
}

// ============================================================ x-mcp-header

/// Every object key `x-mcp-header` anywhere in `v`.
fn annotation_count(v: &Value) -> usize {
    match v {
        Value::Object(m) => {
            usize::from(m.contains_key("x-mcp-header"))
                + m.values().map(annotation_count).sum::<usize>()
        }
        Value::Array(a) => a.iter().map(annotation_count).sum(),
        _ => 0,
    }
}

/// `x_mcp_header` target: the input as a JSON `inputSchema`. The walk never
/// panics, and what it accepts is exactly what the spec allows: each
/// parameter is reached from the root through `properties` keys only, sits on
/// an object with that `x-mcp-header` and a primitive type, and the names are
/// case-insensitively unique tokens.
pub fn x_mcp_header(data: &[u8]) {
    let Ok(schema) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(params) = param_headers(&schema) else {
        return;
    };
    assert!(params.len() <= annotation_count(&schema));
    let mut seen = std::collections::HashSet::new();
    for p in &params {
        assert!(!p.path().is_empty());
        let node = p
            .path()
            .iter()
            .try_fold(&schema, |node, key| node.get("properties")?.get(key))
            .expect("the path is a chain of properties keys");
        assert_eq!(node["x-mcp-header"], Value::String(p.name().to_owned()));
        assert!(node.get("$ref").is_none());
        let ty = &node["type"];
        let primitive = |t: &Value| matches!(t.as_str(), Some("string" | "integer" | "boolean"));
        assert!(
            primitive(ty)
                || ty
                    .as_array()
                    .is_some_and(|ts| ts.iter().filter(|t| !primitive(t)).all(|t| t == "null")),
            "{ty}"
        );
        assert!(!p.name().is_empty());
        assert!(p
            .name()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)));
        assert_eq!(
            p.header_name().as_str(),
            format!("mcp-param-{}", p.name().to_ascii_lowercase())
        );
        assert!(
            seen.insert(p.header_name().clone()),
            "duplicate {}",
            p.name()
        );
    }
    // The same schema as a tool definition: the table agrees with the walk.
    let tool = serde_json::json!([{ "name": "t", "inputSchema": schema }]);
    let rules = ToolRules::from_tools_list(&tool).expect("the walk accepted it");
    assert_eq!(rules.params("t").map(<[_]>::len), Some(params.len()));
}

// ============================================================== Mcp-Param

fn param_layer() -> &'static McpHeadersLayer {
    static L: OnceLock<McpHeadersLayer> = OnceLock::new();
    L.get_or_init(|| {
        let tool = serde_json::json!([{ "name": "t", "inputSchema": { "type": "object", "properties": {
            "s": { "type": "string", "x-mcp-header": "S" },
            "n": { "type": "integer", "x-mcp-header": "N" },
            "b": { "type": "boolean", "x-mcp-header": "B" } } } }]);
        McpHeadersLayer::new().tool_rules(ToolRules::from_tools_list(&tool).expect("valid"))
    })
}

/// Sends one modern `tools/call` of `t` with `arguments` and one `Mcp-Param-{name}`
/// header; true when the layer let it through.
fn param_passes(name: &str, header: &HeaderValue, arguments: Value) -> bool {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "t", "arguments": arguments, "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {} } } });
    let Ok(req) = Request::post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "t")
        .header(format!("mcp-param-{name}"), header.clone())
        .body(Full::new(Bytes::from(body.to_string())))
    else {
        return false;
    };
    let svc = param_layer().layer(tower::service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
    }));
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let rt = RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime")
    });
    let res = rt
        .block_on(svc.oneshot(req))
        .unwrap_or_else(|never| match never {});
    match res.extensions().get::<Rejection>() {
        None => true,
        Some(r) => {
            assert_eq!(
                (r.status(), r.code()),
                (StatusCode::BAD_REQUEST, -32020),
                "{r}"
            );
            assert_eq!(r.id(), Some(&RequestId::Number("1".to_owned())));
            false
        }
    }
}

/// `mcp_param` target: the input as an `Mcp-Param-*` header value. A string
/// argument passes exactly when the header decodes to it; the value a header
/// decodes to always passes; the header a client would send for any string
/// passes; an integer header passes for the integer it spells.
pub fn mcp_param(data: &[u8]) {
    let Ok(header) = HeaderValue::from_bytes(data) else {
        return;
    };
    let trimmed = {
        let s = header.as_bytes();
        let start = s
            .iter()
            .position(|b| *b != b' ' && *b != b'\t')
            .unwrap_or(s.len());
        let end = s
            .iter()
            .rposition(|b| *b != b' ' && *b != b'\t')
            .map_or(start, |e| e + 1);
        &s[start..end]
    };
    let decoded = decode_value(trimmed).map(|v| v.into_owned());
    let lossy = String::from_utf8_lossy(data).into_owned();
    let expected = decoded.as_deref() == Ok(lossy.as_str());
    assert_eq!(
        param_passes("s", &header, serde_json::json!({ "s": lossy })),
        expected
    );
    if let Ok(v) = &decoded {
        assert!(
            param_passes("s", &header, serde_json::json!({ "s": v })),
            "{v:?}"
        );
    }
    assert!(param_passes(
        "s",
        &encode_value(&lossy),
        serde_json::json!({ "s": lossy })
    ));
    // The decimal form a client sends (no `+`, no leading zeros): Rust's own
    // parser also takes `+7` and `007`, which are not JSON numbers.
    let canonical = std::str::from_utf8(trimmed)
        .unwrap_or_default()
        .parse::<i64>()
        .ok()
        .filter(|n| n.to_string().as_bytes() == trimmed);
    if let Some(n) = canonical {
        assert!(
            param_passes("n", &header, serde_json::json!({ "n": n })),
            "{n}"
        );
        if let Some(other) = n.checked_add(1) {
            assert!(!param_passes(
                "n",
                &header,
                serde_json::json!({ "n": other })
            ));
        }
    }
    let b = trimmed == b"true";
    if b || trimmed == b"false" {
        assert!(param_passes("b", &header, serde_json::json!({ "b": b })));
        assert!(!param_passes("b", &header, serde_json::json!({ "b": !b })));
    }
}

// =============================================================== full stack

type B = Full<Bytes>;

/// What the inner service saw of the last request.
#[derive(Default)]
struct Seen {
    called: AtomicBool,
    protocol: Mutex<Option<RequestProtocol>>,
}

/// The largest body the stacks read.
const MAX_BODY: usize = 2048;
/// The session limit of both stores.
const MAX_SESSIONS: u64 = 8;

/// The inner service: checks what every request that reaches it must satisfy,
/// and answers 200 (or the status in `x-fuzz-status`, to exercise failed
/// `initialize` answers).
async fn inner(seen: Arc<Seen>, full: bool, req: Request<B>) -> Result<Response<B>, Infallible> {
    seen.called.store(true, Ordering::SeqCst);
    let (parts, _) = req.into_parts();
    let probe = {
        let mut r = Request::new(());
        *r.uri_mut() = parts.uri.clone();
        *r.headers_mut() = parts.headers.clone();
        *r.extensions_mut() = parts.extensions.clone();
        r
    };
    // Nothing unchecked reaches the MCP service.
    assert!(
        host_check(loopback_hosts(), &probe).is_ok(),
        "inner saw a refused Host"
    );
    assert!(
        origin_check(
            loopback_origins(),
            &probe
                .headers()
                .get_all(http::header::ORIGIN)
                .iter()
                .collect::<Vec<_>>()
        )
        .is_ok(),
        "inner saw a refused Origin"
    );
    let protocol = parts.extensions.get::<RequestProtocol>().copied();
    *seen.protocol.lock().unwrap_or_else(|e| e.into_inner()) = protocol;
    if full {
        let protocol = protocol.expect("headers layer records the protocol");
        assert!(
            matches!(parts.method, Method::POST | Method::GET),
            "inner saw {}",
            parts.method
        );
        if parts.method == Method::POST {
            assert!(
                parts.extensions.get::<Envelope>().is_some(),
                "POST without envelope"
            );
        }
        if protocol.era() == Era::Legacy {
            let init = parts
                .extensions
                .get::<Envelope>()
                .is_some_and(Envelope::is_initialize);
            if !init {
                assert!(
                    parts.extensions.get::<SessionContext>().is_some(),
                    "legacy request without a session reached the service"
                );
            }
        } else {
            assert!(parts.extensions.get::<SessionContext>().is_none());
        }
    }
    let status = parts
        .headers
        .get("x-fuzz-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .filter(|s| s.as_u16() >= 200)
        .unwrap_or(StatusCode::OK);
    let mut res = Response::new(Full::new(Bytes::from_static(
        br#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
    )));
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(res)
}

type Svc = tower::util::BoxCloneSyncService<Request<B>, Response<B>, Infallible>;

struct Stack {
    svc: Svc,
    store: MokaSessionStore,
    seen: Arc<Seen>,
    full: bool,
}

struct Harness {
    rt: tokio::runtime::Runtime,
    /// All four layers, refusing at the session limit.
    full: Stack,
    /// Host, Origin and Session only (the session layer reads the body), evicting at the limit.
    lean: Stack,
    /// Session ids minted so far (the fuzzer refers to them by index).
    ids: Mutex<Vec<HeaderValue>>,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let build = |full: bool| {
            let store = MokaSessionStore::builder()
                .max_sessions(MAX_SESSIONS as usize)
                .max_sessions_per_principal(4)
                .on_limit(if full {
                    LimitPolicy::Reject
                } else {
                    LimitPolicy::EvictIdleLru
                })
                .no_maintenance_task()
                .build()
                .expect("store");
            let seen = Arc::new(Seen::default());
            let s = Arc::clone(&seen);
            let service = tower::service_fn(move |req| inner(Arc::clone(&s), full, req));
            let session =
                McpSessionLayer::new(store.clone()).principal(Principal::authorization_hash());
            let svc = if full {
                let headers = McpHeadersLayer::new()
                    .max_body_bytes(MAX_BODY)
                    .expect("limit");
                Svc::new(
                    ServiceBuilder::new()
                        .layer(loopback_hosts().clone())
                        .layer(loopback_origins().clone())
                        .layer(headers)
                        .layer(session)
                        .service(service),
                )
            } else {
                Svc::new(
                    ServiceBuilder::new()
                        .layer(loopback_hosts().clone())
                        .layer(loopback_origins().clone())
                        .layer(session)
                        .service(service),
                )
            };
            Stack {
                svc,
                store,
                seen,
                full,
            }
        };
        Harness {
            full: build(true),
            lean: build(false),
            rt,
            ids: Mutex::new(Vec::new()),
        }
    })
}

/// Reads the fuzz input as a request description.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn bytes(&mut self, max: usize) -> &'a [u8] {
        let n = usize::from(self.byte()).min(max).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

const METHODS: [&str; 8] = [
    "POST", "GET", "DELETE", "PUT", "OPTIONS", "HEAD", "PATCH", "MCP",
];

const URIS: [&str; 6] = [
    "/mcp",
    "http://localhost:8000/mcp",
    "http://evil.example/mcp",
    "http://[::1]/mcp",
    "/mcp?session=1",
    "http://127.0.0.1.:1/",
];

/// Header names the fuzzer picks from, with canned good values.
const HEADERS: [(&str, &[&str]); 14] = [
    (
        "host",
        &[
            "localhost:8000",
            "127.0.0.1",
            "[::1]:1",
            "evil.example",
            "localhost:8000@evil",
        ],
    ),
    (
        "origin",
        &[
            "http://localhost:3000",
            "https://[::1]",
            "null",
            "http://evil.example",
            "http://localhost/",
        ],
    ),
    (
        "accept",
        &[
            "application/json, text/event-stream",
            "text/event-stream",
            "*/*",
            "application/json;q=0, */*",
        ],
    ),
    (
        "content-type",
        &[
            "application/json",
            "application/json; charset=utf-8",
            "text/plain",
            "*/*",
        ],
    ),
    (
        "mcp-protocol-version",
        &[
            "2025-06-18",
            "2026-07-28",
            "2025-03-26",
            "2024-11-05",
            "2025-11-25",
            "2099-01-01",
            "latest",
        ],
    ),
    (
        "mcp-session-id",
        &["00000000-0000-4000-8000-000000000000", "", "x y"],
    ),
    (
        "mcp-method",
        &[
            "tools/call",
            "initialize",
            "ping",
            "resources/read",
            "notifications/initialized",
        ],
    ),
    (
        "mcp-name",
        &[
            "echo",
            "=?base64?ZWNobw==?=",
            "=?base64?ZWNobw?=",
            "file:///a",
        ],
    ),
    ("authorization", &["Bearer alice", "Bearer bob"]),
    ("content-length", &["0", "10", "99999999", "abc"]),
    ("x-session-id", &["00000000-0000-4000-8000-000000000000"]),
    ("x-forwarded-host", &["localhost", "evil.example"]),
    ("forwarded", &["host=localhost", "host=\"evil"]),
    ("x-fuzz-status", &["200", "202", "204", "400", "500"]),
];

/// Canned bodies: the messages the layers care about.
const BODIES: [&str; 12] = [
    r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"f","version":"1"}}}"#,
    r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    r#"{"jsonrpc":"2.0","id":3,"result":{}}"#,
    r#"[{"jsonrpc":"2.0","id":4,"method":"ping"},{"jsonrpc":"2.0","method":"x"}]"#,
    r#"[{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}]"#,
    r#"{"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":"file:///a","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
    r#"{"jsonrpc":"2.0","id":6,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
    r#"{"jsonrpc":"1.0","id":7,"method":"ping"}"#,
    "{",
    "",
];

/// `full_stack` target: one request through Host → Origin → Headers → Session
/// (or the lean stack without the headers layer).
pub fn full_stack(data: &[u8]) {
    let h = harness();
    let mut r = Reader { data };
    let flags = r.byte();
    let stack = if flags & 1 == 0 { &h.full } else { &h.lean };
    let method_byte = r.byte();
    let method = if usize::from(method_byte) < METHODS.len() * 28 {
        Method::from_bytes(METHODS[usize::from(method_byte) % METHODS.len()].as_bytes())
            .expect("method")
    } else {
        Method::from_bytes(r.bytes(8)).unwrap_or(Method::POST)
    };
    let uri_byte = r.byte();
    let uri = match URIS.get(usize::from(uri_byte) % 8) {
        Some(u) => Uri::from_static(u),
        None => Uri::try_from(r.bytes(40)).unwrap_or_else(|_| Uri::from_static("/mcp")),
    };
    let mut builder = Request::builder().method(method.clone()).uri(uri);
    // Good defaults unless the flags turn them off, so deep paths are reachable.
    if flags & 2 == 0 {
        builder = builder
            .header("host", "localhost:8000")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json");
    }
    let ops = r.byte() % 12;
    for _ in 0..ops {
        let sel = r.byte();
        let (name, canned) = match HEADERS.get(usize::from(sel) % 16) {
            Some((name, canned)) => (HeaderName::from_static(name), *canned),
            None => match HeaderName::from_bytes(r.bytes(16)) {
                Ok(n) => (n, &[][..]),
                Err(_) => continue,
            },
        };
        let vsel = r.byte();
        let value = if name == "mcp-session-id" && vsel & 0x80 != 0 {
            // A session minted earlier in this run.
            let ids = h.ids.lock().unwrap_or_else(|e| e.into_inner());
            match ids.len() {
                0 => continue,
                n => ids[usize::from(vsel) % n].clone(),
            }
        } else if let Some(v) = canned.get(usize::from(vsel) % (canned.len() + 1)) {
            HeaderValue::from_static(v)
        } else {
            match HeaderValue::from_bytes(r.bytes(64)) {
                Ok(v) => v,
                Err(_) => continue,
            }
        };
        builder = builder.header(name, value);
    }
    let body_sel = r.byte();
    let body = match BODIES.get(usize::from(body_sel) % 16) {
        Some(b) => Bytes::from_static(b.as_bytes()),
        None => Bytes::copy_from_slice(r.rest()),
    };
    // A rejection names this id or none (`null`), never another one.
    let sent_id = mcp_tower_guard::envelope::Envelope::parse(&body)
        .ok()
        .and_then(|e| e.single().and_then(|m| m.id().cloned()))
        .map(|id| serde_json::to_value(id).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    let Ok(req) = builder.body(Full::new(body)) else {
        return;
    };
    let is_delete = method == Method::DELETE;

    stack.seen.called.store(false, Ordering::SeqCst);
    *stack
        .seen
        .protocol
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = None;
    let res =
        h.rt.block_on(stack.svc.clone().oneshot(req))
            .unwrap_or_else(|never| match never {});
    let called = stack.seen.called.load(Ordering::SeqCst);
    let status = res.status();
    let rejection = res.extensions().get::<Rejection>().cloned();
    let session_header = res.headers().get("mcp-session-id").cloned();
    let allow = res.headers().contains_key(http::header::ALLOW);
    let retry_after = res.headers().contains_key(http::header::RETRY_AFTER);
    let body =
        h.rt.block_on(res.into_body().collect())
            .unwrap_or_else(|never| match never {})
            .to_bytes();

    match &rejection {
        Some(rej) => {
            assert!(!called, "a rejected request reached the service: {rej}");
            assert_eq!(status, rej.status());
            assert!(
                status.is_client_error() || status == StatusCode::SERVICE_UNAVAILABLE,
                "rejection with status {status}"
            );
            if status == StatusCode::METHOD_NOT_ALLOWED {
                assert!(allow, "405 without Allow");
            }
            if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
            {
                assert!(retry_after, "{status} without Retry-After");
            }
            let v: Value = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("rejection body is not JSON ({e}): {body:?}"));
            assert_eq!(v["jsonrpc"], "2.0");
            assert!(
                v["id"].is_null() || v["id"] == sent_id,
                "{v} for id {sent_id}"
            );
            assert_eq!(v["error"]["code"], i64::from(rej.code()));
            assert_eq!(v["error"]["message"], rej.message());
        }
        None if called => {}
        None => {
            // Only a legacy DELETE is answered by a layer without a rejection.
            assert!(
                is_delete && status == StatusCode::NO_CONTENT,
                "{status} from nowhere"
            );
        }
    }
    if let Some(id) = session_header {
        assert!(
            SessionId::parse(id.as_bytes()).is_ok(),
            "invalid id minted: {id:?}"
        );
        let protocol = *stack
            .seen
            .protocol
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if stack.full {
            assert!(
                protocol.is_some_and(|p| p.era() == Era::Legacy),
                "session id on a modern answer"
            );
        }
        let mut ids = h.ids.lock().unwrap_or_else(|e| e.into_inner());
        if ids.len() < 64 && !ids.contains(&id) {
            ids.push(id);
        }
    }
    let stats = stack.store.stats();
    assert!(stats.active <= MAX_SESSIONS, "{stats:?}");
    assert_eq!(
        stats.reserved, 0,
        "a reservation outlived its request: {stats:?}"
    );
}

// ======================================================= initialize answer

/// A response body that yields its chunks one frame at a time (a stream).
struct Chunks(std::collections::VecDeque<Bytes>);

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(http_body::Frame::data(b))))
    }
}

fn answer_store() -> &'static MokaSessionStore {
    static S: OnceLock<MokaSessionStore> = OnceLock::new();
    S.get_or_init(|| {
        MokaSessionStore::builder()
            .max_sessions(8)
            .build()
            .expect("valid store")
    })
}

const ANSWER_INIT: &str = r#"{"jsonrpc":"2.0","id":7,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"f","version":"1"}}}"#;

/// Sends the `initialize` through a session layer whose handler answers with
/// `body()`; returns the `Mcp-Session-Id` sent and the body the client read.
fn answer_with<B>(
    store: &MokaSessionStore,
    status: StatusCode,
    content_type: &'static str,
    body: impl Fn() -> B + Clone + Send + 'static,
) -> (Option<HeaderValue>, Bytes)
where
    B: http_body::Body<Data = Bytes, Error = Infallible> + Default + Send + 'static,
{
    let svc = McpSessionLayer::new(store.clone()).layer(tower::service_fn(
        move |_req: Request<Full<Bytes>>| {
            let mut res = Response::new(body());
            *res.status_mut() = status;
            res.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(content_type),
            );
            async move { Ok::<_, Infallible>(res) }
        },
    ));
    let init = Request::post("/mcp")
        .body(Full::new(Bytes::from_static(ANSWER_INIT.as_bytes())))
        .expect("request");
    let h = harness();
    let res =
        h.rt.block_on(svc.oneshot(init))
            .unwrap_or_else(|never| match never {});
    let header = res.headers().get("mcp-session-id").cloned();
    let body =
        h.rt.block_on(res.into_body().collect())
            .unwrap_or_else(|never| match never {});
    (header, body.to_bytes())
}

/// `initialize_answer` target: the session layer's commit rule against any
/// answer a handler can give. First byte: bit 0 SSE (else JSON), bit 1 a
/// streamed body (`BoxBody`, else `Full`), bit 2 a 500 status. The rest is the
/// answer, cut into frames at NUL bytes.
///
/// Invariants: no slot is held once the answer was read; every initialize
/// either created a session or counts as failed; a session exists only for a
/// 2xx answer that contains a `result`; a JSON answer carries
/// `Mcp-Session-Id` exactly when its session exists.
pub fn initialize_answer(data: &[u8]) {
    let h = harness();
    let flags = data.first().copied().unwrap_or(0);
    let sse = flags & 1 != 0;
    let streamed = flags & 2 != 0;
    let status = if flags & 4 != 0 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    let answer = data.get(1..).unwrap_or_default();
    let chunks: Vec<Bytes> = answer
        .split(|&b| b == 0)
        .map(Bytes::copy_from_slice)
        .collect();
    let whole: Vec<u8> = chunks.concat();
    let content_type = if sse {
        "text/event-stream"
    } else {
        "application/json"
    };
    let store = answer_store();
    let before = store.stats();
    let (header, body_read) = if streamed {
        let body = move || http_body_util::combinators::BoxBody::new(Chunks(chunks.clone().into()));
        answer_with(store, status, content_type, body)
    } else {
        let bytes = Bytes::from(whole.clone());
        answer_with(store, status, content_type, move || {
            Full::new(bytes.clone())
        })
    };
    let after = store.stats();
    let created = after.created - before.created;
    let failed = after.initialize_failed - before.initialize_failed;
    assert_eq!(
        after.reserved, 0,
        "a slot is still held after the answer was read"
    );
    assert_eq!(created + failed, 1, "created {created}, failed {failed}");
    if created == 1 {
        assert!(status.is_success(), "a session for a {status} answer");
        assert!(
            String::from_utf8_lossy(&whole).contains("\"result\""),
            "a session without a result in the answer"
        );
        assert!(header.is_some(), "a created session's id was not sent");
        // What the client read is what the handler wrote (up to the result).
        assert!(whole.starts_with(&body_read) || body_read.as_ref() == whole.as_slice());
    }
    if !sse && status.is_success() {
        assert_eq!(
            header.is_some(),
            created == 1,
            "JSON: the id is sent iff the session exists"
        );
    }
    // Keep the table small: end what was created.
    if let Some(id) = header.filter(|_| created == 1) {
        let svc = McpSessionLayer::new(store.clone()).layer(tower::service_fn(
            |_req: Request<Full<Bytes>>| async {
                Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
            },
        ));
        let delete = Request::delete("/mcp")
            .header("mcp-session-id", id)
            .body(Full::default())
            .expect("request");
        let res =
            h.rt.block_on(svc.oneshot(delete))
                .unwrap_or_else(|never| match never {});
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
}
