//! `Content-Type` and `Accept` decisions, as pure functions of a `HeaderMap`.

use http::{header, HeaderMap};

use super::accept::{Accept, MediaRange};

/// `application/json`.
pub(crate) const JSON: &str = "application/json";
/// `text/event-stream`.
pub(crate) const EVENT_STREAM: &str = "text/event-stream";

/// True when the request has exactly one `Content-Type` and it is
/// `application/json` (any case, any parameters such as `charset`).
pub(crate) fn is_json_request(headers: &HeaderMap) -> bool {
    is_content_type(headers, JSON, "application", "json")
}

/// True when the request's one `Content-Type` is a form
/// (`application/x-www-form-urlencoded`, any case, any parameters): the
/// RFC 6750 §2.2 way of sending a token, which the auth layer refuses.
#[allow(dead_code)] // read by the auth layer only
pub(crate) fn is_form_request(headers: &HeaderMap) -> bool {
    is_content_type(
        headers,
        "application/x-www-form-urlencoded",
        "application",
        "x-www-form-urlencoded",
    )
}

/// True when a response is an SSE stream (`Content-Type: text/event-stream`).
pub(crate) fn is_event_stream(headers: &HeaderMap) -> bool {
    is_content_type(headers, EVENT_STREAM, "text", "event-stream")
}

/// One `Content-Type` naming `type_/subtype` (full is `type_/subtype`).
/// The value clients and handlers send nearly always is exactly `full`: that
/// is answered without the parser (which allocates); anything else is parsed.
fn is_content_type(headers: &HeaderMap, full: &str, type_: &str, subtype: &str) -> bool {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let bytes = value.as_bytes();
    if bytes.eq_ignore_ascii_case(full.as_bytes()) {
        return true;
    }
    // Any other spelling of the type starts with `type_/` after optional
    // whitespace; a value that does not cannot match (the common "no").
    let start = bytes
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    let rest = &bytes[start..];
    let prefix_matches = rest.len() > type_.len()
        && rest[..type_.len()].eq_ignore_ascii_case(type_.as_bytes())
        && rest[type_.len()] == b'/';
    if !prefix_matches {
        return false;
    }
    MediaRange::parse(value.as_bytes())
        .ok()
        .filter(|m| m.type_() != "*" && m.subtype() != "*")
        .is_some_and(|m| m.is(type_, subtype))
}

/// `Accept` values that real clients send (rmcp, the TypeScript and Python
/// SDKs, browsers' `EventSource`), with what they accept: answered without
/// the parser. A unit test checks each answer against the parser.
const COMMON_ACCEPT: [(&str, &[&str]); 5] = [
    ("application/json, text/event-stream", &[JSON, EVENT_STREAM]),
    ("text/event-stream, application/json", &[JSON, EVENT_STREAM]),
    ("application/json,text/event-stream", &[JSON, EVENT_STREAM]),
    ("text/event-stream", &[EVENT_STREAM]),
    ("*/*", &[JSON, EVENT_STREAM]),
];

/// True when the request's `Accept` covers every one of `media_types`. A missing
/// or malformed `Accept` covers nothing.
pub(crate) fn accepts_all(headers: &HeaderMap, media_types: &[&str]) -> bool {
    let mut values = headers.get_all(header::ACCEPT).iter();
    if let (Some(value), None) = (values.next(), values.next()) {
        let known = COMMON_ACCEPT
            .iter()
            .find(|(v, _)| value.as_bytes().eq_ignore_ascii_case(v.as_bytes()));
        if let Some((_, covered)) = known {
            return media_types.iter().all(|m| covered.contains(m));
        }
    }
    match Accept::from_headers(headers) {
        Some(Ok(accept)) => media_types.iter().all(|m| accept.accepts(m)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    /// The shortcut answers exactly what the parser answers.
    #[test]
    fn common_accept_values_agree_with_the_parser() {
        for (value, _) in COMMON_ACCEPT {
            let accept = Accept::parse(value.as_bytes()).unwrap();
            for types in [&[JSON][..], &[EVENT_STREAM], &[JSON, EVENT_STREAM]] {
                let want = types.iter().all(|m| accept.accepts(m));
                let headers = with(header::ACCEPT, &[value]);
                assert_eq!(accepts_all(&headers, types), want, "{value} {types:?}");
            }
        }
        // Repeated, the shortcut steps aside and the fields form one list.
        let two = with(header::ACCEPT, &["text/event-stream", "application/json"]);
        assert!(accepts_all(&two, &[JSON, EVENT_STREAM]));
    }

    fn with(name: header::HeaderName, values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(name.clone(), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn content_type_json_only() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
            " application/json ",
        ] {
            assert!(
                is_json_request(&with(header::CONTENT_TYPE, &[ok])),
                "{ok:?}"
            );
        }
        for bad in [
            "application/jsonx",
            "application/json-seq",
            "text/plain",
            "text/plain; a=application/json",
            "application/*",
            "*/*",
            "application/json, text/plain",
            "application/json;",
            "",
        ] {
            // "application/json;" is a valid empty parameter; only the others must fail.
            let expected = bad == "application/json;";
            assert_eq!(
                is_json_request(&with(header::CONTENT_TYPE, &[bad])),
                expected,
                "{bad:?}"
            );
        }
        assert!(!is_json_request(&HeaderMap::new()));
        assert!(!is_json_request(&with(
            header::CONTENT_TYPE,
            &["application/json", "application/json"]
        )));
    }

    #[test]
    fn accept_covers_both() {
        let both = [JSON, EVENT_STREAM];
        assert!(accepts_all(
            &with(header::ACCEPT, &["application/json, text/event-stream"]),
            &both
        ));
        assert!(accepts_all(&with(header::ACCEPT, &["*/*"]), &both));
        assert!(accepts_all(
            &with(header::ACCEPT, &["application/*, text/*"]),
            &both
        ));
        assert!(!accepts_all(
            &with(header::ACCEPT, &["application/json"]),
            &both
        ));
        assert!(!accepts_all(
            &with(header::ACCEPT, &["*/*, text/event-stream;q=0"]),
            &both
        ));
        assert!(!accepts_all(
            &with(
                header::ACCEPT,
                &["application/json;q=1.1, text/event-stream"]
            ),
            &both
        ));
        assert!(!accepts_all(&HeaderMap::new(), &both));
    }
}
