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
    single_media_type(headers).is_some_and(|m| m.is("application", "json"))
}

/// True when a response is an SSE stream (`Content-Type: text/event-stream`).
pub(crate) fn is_event_stream(headers: &HeaderMap) -> bool {
    single_media_type(headers).is_some_and(|m| m.is("text", "event-stream"))
}

fn single_media_type(headers: &HeaderMap) -> Option<MediaRange> {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => MediaRange::parse(value.as_bytes())
            .ok()
            .filter(|m| m.type_() != "*" && m.subtype() != "*"),
        _ => None,
    }
}

/// True when the request's `Accept` covers every one of `media_types`. A missing
/// or malformed `Accept` covers nothing.
pub(crate) fn accepts_all(headers: &HeaderMap, media_types: &[&str]) -> bool {
    match Accept::from_headers(headers) {
        Some(Ok(accept)) => media_types.iter().all(|m| accept.accepts(m)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

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
