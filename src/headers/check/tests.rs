//! Unit tests of `check.rs`.

use http::HeaderName;
use serde_json::Value;

use super::rules::*;
use super::*;
use crate::header_names::MCP_NAME;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

const POST_OK: [(&str, &str); 2] = [
    ("accept", "application/json, text/event-stream"),
    ("content-type", "application/json"),
];

fn env(body: &str) -> Envelope {
    Envelope::parse(body.as_bytes()).unwrap()
}

fn modern_call(name: &str) -> Envelope {
    env(&format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":{},"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#,
        serde_json::to_string(name).unwrap()
    ))
}

#[test]
fn head_decisions() {
    let c = HeadersConfig::default();
    assert!(matches!(
        c.check_head(&Method::POST, &headers(&POST_OK)).unwrap(),
        Head::Post { deferred: None }
    ));
    let get = c
        .check_head(&Method::GET, &headers(&[("accept", "text/event-stream")]))
        .unwrap();
    assert!(matches!(
        get,
        Head::Ready(p) if p == RequestProtocol::new(ProtocolVersion::V2025_03_26, Era::Legacy, VersionSource::Assumed)
    ));
    let e = c.check_head(&Method::PUT, &HeaderMap::new()).unwrap_err();
    assert_eq!(e.allow().unwrap(), "GET, POST, DELETE");
    let e = c
        .check_head(
            &Method::DELETE,
            &headers(&[("mcp-protocol-version", "2026-07-28")]),
        )
        .unwrap_err();
    assert_eq!(
        (e.kind(), e.allow().unwrap().to_str().unwrap()),
        (RejectionKind::MethodNotAllowed, "POST")
    );
    let e = c
        .check_head(&Method::GET, &headers(&[("accept", "application/json")]))
        .unwrap_err();
    assert_eq!(e.kind(), RejectionKind::NotAcceptable);
    // 406 and 415 wait for the body, so that they carry the request's id.
    let Head::Post { deferred: Some(e) } = c
        .check_head(
            &Method::POST,
            &headers(&[("accept", "*/*"), ("content-type", "text/plain")]),
        )
        .unwrap()
    else {
        panic!("415 deferred");
    };
    assert_eq!(e.kind(), RejectionKind::UnsupportedMediaType);
}

#[test]
fn modern_name_matrix() {
    let c = HeadersConfig::default();
    let base = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
    ];
    let check = |name: Option<&str>, body: &str| {
        let mut h = headers(&base);
        if let Some(n) = name {
            h.append(MCP_NAME, HeaderValue::from_str(n).unwrap());
        }
        c.check_envelope(&h, &modern_call(body))
            .map(|p| p.version())
            .map_err(|r| r.code())
    };
    assert_eq!(
        check(Some("echo"), "echo"),
        Ok(ProtocolVersion::V2026_07_28)
    );
    assert_eq!(
        check(Some("=?base64?5bel5YW3?="), "工具"),
        Ok(ProtocolVersion::V2026_07_28)
    );
    assert_eq!(check(None, "echo"), Err(-32020));
    assert_eq!(check(Some("other"), "echo"), Err(-32020));
    assert_eq!(check(Some("Echo"), "echo"), Err(-32020));
    assert_eq!(check(Some("=?base64?ZWNobw?="), "echo"), Err(-32020));
    assert_eq!(
        check(Some("=?base64?ZWNobw==?="), "echo"),
        Ok(ProtocolVersion::V2026_07_28)
    );
}

#[test]
fn legacy_versions() {
    let c = HeadersConfig::default();
    let ping = env(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
    let p = c.check_envelope(&HeaderMap::new(), &ping).unwrap();
    assert!(p.assumed());
    let e = c
        .check_envelope(&headers(&[("mcp-protocol-version", "1999-01-01")]), &ping)
        .unwrap_err();
    assert_eq!(
        (e.code(), e.data().unwrap()["requested"].as_str()),
        (-32000, Some("1999-01-01"))
    );
    let e = c
        .check_envelope(&headers(&[("mcp-protocol-version", "2026-13-01")]), &ping)
        .unwrap_err();
    assert_eq!(e.kind(), RejectionKind::UnsupportedProtocolVersion);
}

#[test]
fn spec_2026_07_28_integers_compared_numerically() {
    // "servers SHOULD compare the header value and the body value numerically
    // rather than as strings (e.g., 42.0 and 42 are considered equal)".
    for (body, header, same) in [
        (json!(42), "42", true),
        (json!(42), "42.0", true),
        (json!(42.0), "42", true),
        (json!(-7), "-7", true),
        (json!(9007199254740991_u64), "9007199254740991", true),
        (
            json!(18446744073709551615_u64),
            "18446744073709551615",
            true,
        ),
        (json!(42), "43", false),
        (json!(42), "042", false),
        (json!(42), "+42", false),
        (json!(42), " 42", false),
        (json!(42), "4.2e1", true),
        (json!(100), "1e2.0", false),
        (
            json!(9223372036854775807_i64),
            "9223372036854775807.00",
            true,
        ),
        (
            json!(9223372036854775806_i64),
            "9223372036854775807.0",
            false,
        ),
        (json!(42), "42.", false),
        (json!(42), "forty-two", false),
        (json!(true), "true", true),
        (json!(false), "false", true),
        (json!(true), "True", false),
        (json!(true), "1", false),
        (json!("us-west1"), "us-west1", true),
        (json!("us-west1"), "US-WEST1", false),
        (json!("42"), "42.0", false),
        (json!({"a": 1}), "{\"a\":1}", false),
        (json!([1]), "[1]", false),
    ] {
        assert_eq!(param_matches(&body, header), same, "{body} vs {header:?}");
    }
}

#[test]
fn missing_capabilities_is_the_undeclared_part() {
    let required = json!({"sampling": {}, "elicitation": {"url": {}}});
    let required = required.as_object().unwrap();
    assert_eq!(
        Value::Object(missing_capabilities(required, &json!({}))),
        json!({"sampling": {}, "elicitation": {"url": {}}})
    );
    assert_eq!(
        Value::Object(missing_capabilities(
            required,
            &json!({"sampling": {}, "elicitation": {"form": {}}})
        )),
        json!({"elicitation": {"url": {}}})
    );
    assert!(missing_capabilities(
        required,
        &json!({"sampling": {}, "elicitation": {"url": {}}})
    )
    .is_empty());
    assert_eq!(
        Value::Object(missing_capabilities(
            required,
            &json!({"sampling": null, "elicitation": {"url": {}}})
        )),
        json!({"sampling": {}})
    );
}

#[test]
fn modern_version_header_table() {
    let c = HeadersConfig::default();
    let version = |v: &[u8]| {
        let mut h = HeaderMap::new();
        h.append(MCP_PROTOCOL_VERSION, HeaderValue::from_bytes(v).unwrap());
        c.modern_version(&h, VersionHeader::read(&h))
            .map_err(|r| (r.code(), r.data().map(|d| d["requested"].clone())))
    };
    assert_eq!(version(b"2026-07-28"), Ok(ProtocolVersion::V2026_07_28));
    assert_eq!(version(b" 2026-07-28 "), Ok(ProtocolVersion::V2026_07_28));
    assert_eq!(version(b"v999.0.0"), Err((-32022, Some(json!("v999.0.0")))));
    assert_eq!(
        version(b"2027-01-01"),
        Err((-32022, Some(json!("2027-01-01"))))
    );
    assert_eq!(version(b"latest"), Err((-32022, Some(json!("latest")))));
    assert_eq!(version(b""), Err((-32020, None)));
    assert_eq!(version(b"2026 07 28"), Err((-32020, None)));
    assert_eq!(version(b"\xff"), Err((-32020, None)));
    assert_eq!(
        c.modern_version(&HeaderMap::new(), VersionHeader::Absent)
            .unwrap_err()
            .code(),
        -32020
    );
}

#[test]
fn trim_ows_strips_spaces_and_tabs_only() {
    assert_eq!(trim_ows(b"  a b\t"), b"a b");
    assert_eq!(trim_ows(b" \t "), b"");
    assert_eq!(trim_ows(b"\na"), b"\na");
}

#[test]
fn shown_quotes_and_truncates() {
    assert_eq!(shown(b"abc"), "'abc'");
    assert_eq!(shown(b"a'b\n"), "'a\\'b\\n'");
    assert_eq!(shown("x".repeat(100).as_bytes()).chars().count(), 64 + 3);
}

#[test]
fn decorate_adds_missing_headers_only() {
    let c = HeadersConfig {
        server: Some(HeaderValue::from_static("guard")),
        ..HeadersConfig::default()
    };
    let mut res = Response::new(());
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    res.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    c.decorate(&mut res, Some(ProtocolVersion::V2026_07_28));
    let h = res.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["server"], "guard");
    assert_eq!(h["mcp-protocol-version"], "2026-07-28");
    assert_eq!(h["x-accel-buffering"], "no");
    assert_eq!(h["cache-control"], "no-store");
}
