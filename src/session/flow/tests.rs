//! Unit tests of `flow.rs`.

use super::*;

fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_bytes(v).unwrap(),
        );
    }
    h
}

#[test]
fn session_id_header_table() {
    use IdHeader::*;
    type Case<'a> = (&'a [(&'a str, &'a [u8])], bool, &'a str);
    let cases: &[Case<'_>] = &[
        (&[], false, "absent"),
        (&[("mcp-session-id", b"abc")], false, "present"),
        (&[("mcp-session-id", b"")], false, "malformed"),
        (&[("mcp-session-id", b"a b")], false, "malformed"),
        (&[("mcp-session-id", b"\x80abc")], false, "malformed"),
        (
            &[("mcp-session-id", b"a"), ("mcp-session-id", b"a")],
            false,
            "malformed",
        ),
        (&[("x-session-id", b"abc")], false, "absent"),
        (&[("x-session-id", b"abc")], true, "alias"),
        (
            &[("mcp-session-id", b"abc"), ("x-session-id", b"abc")],
            true,
            "present",
        ),
        (
            &[("mcp-session-id", b"abc"), ("x-session-id", b"xyz")],
            true,
            "malformed",
        ),
        (
            &[("x-session-id", b"a"), ("x-session-id", b"b")],
            true,
            "malformed",
        ),
    ];
    let long = vec![b'a'; 257];
    assert!(matches!(
        read_session_id(&headers(&[("mcp-session-id", &long)]), false),
        Malformed
    ));
    for (pairs, alias, expect) in cases {
        let got = match read_session_id(&headers(pairs), *alias) {
            Absent => "absent",
            Present { sent: Some(_), .. } => "present",
            Present { sent: None, .. } => "alias",
            Malformed => "malformed",
        };
        assert_eq!(got, *expect, "{pairs:?} alias={alias}");
    }
}
