//! Unit tests of `accept.rs`.

use super::*;

fn q(accept: &str, media: &str) -> u16 {
    accept.parse::<Accept>().unwrap().quality(media)
}

#[test]
fn rfc_9110_example_precedence() {
    // RFC 9110 §12.5.1: "text/*;q=0.3, text/plain;q=0.7, text/plain;format=flowed, text/plain;format=fixed;q=0.4, */*;q=0.5"
    let a = "text/*;q=0.3, text/plain;q=0.7, */*;q=0.5";
    assert_eq!(q(a, "text/plain"), 700);
    assert_eq!(q(a, "text/html"), 300);
    assert_eq!(q(a, "image/jpeg"), 500);
}

#[test]
fn q_zero_excludes_over_wildcards() {
    let a = "*/*, application/json;q=0";
    assert_eq!(q(a, "application/json"), 0);
    assert_eq!(q(a, "text/event-stream"), 1000);
    let a = "application/*;q=0, */*";
    assert_eq!(q(a, "application/json"), 0);
    assert_eq!(
        q("text/*;q=0, text/event-stream", "text/event-stream"),
        1000
    );
}

#[test]
fn case_whitespace_parameters() {
    let a: Accept = " Application/JSON ; Charset=\"UTF-8\" ;Q=0.50 ,\t,TEXT/event-stream"
        .parse()
        .unwrap();
    assert_eq!(a.ranges().len(), 2);
    let r = &a.ranges()[0];
    assert_eq!(
        (r.type_(), r.subtype(), r.quality()),
        ("application", "json", 500)
    );
    assert_eq!(r.params().collect::<Vec<_>>(), vec![("charset", "UTF-8")]);
    assert!(a.accepts("application/json"));
    assert!(a.accepts("text/event-stream"));
    assert_eq!(
        a.to_string(),
        "application/json;charset=UTF-8;q=0.5, text/event-stream"
    );
}

#[test]
fn invalid_lists() {
    for bad in [
        "application",
        "application/",
        "/json",
        "*/json",
        "application/json;q=1.5",
        "application/json;q=0.1234",
        "application/json;q=",
        "application/json;q=abc",
        "application/json;q=0.5;q=0.4",
        "application/json;charset",
        "application/json;charset=\"utf-8",
        "application/json text/html",
        "application/json;a=\"\u{e9}\"",
        "appli cation/json",
        "application/json;q=\"0.5\"",
    ] {
        assert!(bad.parse::<Accept>().is_err(), "{bad:?}");
    }
    assert!(Accept::parse(b"application/json;a=\xff").is_err());
}

#[test]
fn empty_and_quoted_values_round_trip() {
    for s in [
        "",
        "a/b;x=\"\"",
        "a/b;x=\"a \\\"b\\\\\"",
        "*/*;q=0.001",
        "a/*;q=1.000",
    ] {
        let a: Accept = s.parse().unwrap();
        assert_eq!(a.to_string().parse::<Accept>().unwrap(), a, "{s:?}");
    }
}

#[test]
fn several_fields_form_one_list() {
    let mut h = HeaderMap::new();
    assert!(Accept::from_headers(&h).is_none());
    h.append(header::ACCEPT, "application/json".parse().unwrap());
    h.append(header::ACCEPT, "text/event-stream".parse().unwrap());
    let a = Accept::from_headers(&h).unwrap().unwrap();
    assert!(a.accepts("application/json") && a.accepts("text/event-stream"));
}

#[test]
fn single_media_type() {
    let m = MediaRange::parse(b" application/json; charset=utf-8 ").unwrap();
    assert!(m.is("application", "json"));
    assert!(MediaRange::parse(b"application/json, text/plain").is_err());
    assert!(MediaRange::parse(b"").is_err());
}

#[test]
fn doc_example() {
    let accept: Accept = "application/json, text/*;q=0.5, text/plain;q=0"
        .parse()
        .unwrap();
    assert!(accept.accepts("application/json"));
    assert!(accept.accepts("text/event-stream"));
    assert!(!accept.accepts("text/plain"));
    assert!(!accept.accepts("image/png"));
    assert_eq!(accept.quality("TEXT/Event-Stream"), 500);
    assert_eq!(
        accept.to_string(),
        "application/json, text/*;q=0.5, text/plain;q=0"
    );
    assert!("application/json;q=2".parse::<Accept>().is_err());
}

/// The stored fuzz corpus of the `accept` target, through its oracle.
#[test]
fn fuzz_corpus_replays() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if !root.join("fuzz").exists() {
        return; // a packaged crate: the corpus stays in the repository
    }
    let dir = root.join("fuzz/corpus/accept");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let data = std::fs::read(entry.path()).unwrap();
        let outcome = std::panic::catch_unwind(|| oracle(&data));
        assert!(
            outcome.is_ok(),
            "{} breaks the accept oracle",
            entry.path().display()
        );
        count += 1;
    }
    assert!(count > 0, "no corpus under {}", dir.display());
}

mod props {
    use std::convert::Infallible;

    use bytes::Bytes;
    use http::{HeaderValue, Request, Response, StatusCode};
    use http_body_util::{BodyExt, Full};
    use proptest::prelude::*;
    use tower::{Layer, ServiceExt};

    use super::super::{Accept, MediaRange};
    use crate::McpHeadersLayer;

    async fn ok_service(_req: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
        let mut res = Response::new(Full::new(Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
        )));
        res.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(res)
    }

    const TCHAR: &str = "[A-Za-z0-9!#$%&'*+.^_`|~-]";

    fn token() -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("{TCHAR}{{1,8}}")).unwrap()
    }

    fn ows() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[ \t]{0,2}").unwrap()
    }

    /// A parameter value: a token, or a quoted string with escapes.
    fn param_value() -> impl Strategy<Value = String> {
        prop_oneof![
            token(),
            proptest::string::string_regex(r#"[ \t!#-\[\]-~]{0,8}"#)
                .unwrap()
                .prop_map(|s| format!("\"{s}\"")),
            proptest::string::string_regex(r#"[a-z]{0,3}"#)
                .unwrap()
                .prop_map(|s| format!("\"{s}\\\"\\\\\"")),
        ]
    }

    fn qvalue() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("1".to_owned()),
            Just("1.000".to_owned()),
            Just("0".to_owned()),
            (0u16..1000, 0usize..=3).prop_map(|(n, digits)| {
                let s = format!("{n:03}");
                if digits == 0 {
                    "0.".to_owned()
                } else {
                    format!("0.{}", &s[..digits])
                }
            }),
        ]
    }

    /// One valid RFC 9110 media range as text, with random case and whitespace.
    fn media_range() -> impl Strategy<Value = String> {
        let range = prop_oneof![
            Just("*/*".to_owned()),
            token().prop_map(|t| format!("{t}/*")),
            (token(), token()).prop_map(|(t, s)| format!("{t}/{s}")),
        ]
        .prop_filter("wildcard type needs wildcard subtype", |r| {
            !(r.starts_with("*/") && r != "*/*")
        });
        let params = proptest::collection::vec(
            (ows(), ows(), token(), param_value())
                .prop_filter("q is the weight", |(_, _, n, _)| {
                    !n.eq_ignore_ascii_case("q")
                }),
            0..3,
        );
        let weight = proptest::option::of((ows(), ows(), any::<bool>(), qvalue()));
        (range, params, weight).prop_map(|(range, params, weight)| {
            let mut s = range;
            for (a, b, name, value) in params {
                s.push_str(&format!("{a};{b}{name}={value}"));
            }
            if let Some((a, b, upper, q)) = weight {
                s.push_str(&format!("{a};{b}{}={q}", if upper { "Q" } else { "q" }));
            }
            s
        })
    }

    fn accept_list() -> impl Strategy<Value = String> {
        proptest::collection::vec((ows(), media_range(), ows(), 0usize..2), 0..5).prop_map(
            |items| {
                let mut out = String::new();
                for (i, (a, range, b, empties)) in items.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    for _ in 0..empties {
                        out.push_str(" ,");
                    }
                    out.push_str(&a);
                    out.push_str(&range);
                    out.push_str(&b);
                }
                out
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any input (bytes biased to the grammar's delimiters, arbitrary
        /// strings, header-like text): no panic; what parses prints back
        /// to an equal list, and printing is idempotent.
        #[test]
        fn accept_parse_print_parse(bytes in prop_oneof![
            proptest::collection::vec(
                prop_oneof![any::<u8>(), Just(b','), Just(b';'), Just(b'/'), Just(b'='), Just(b'"'), Just(b'*'), Just(b'q'), Just(b' ')], 0..64),
            ".*".prop_map(String::into_bytes),
            proptest::string::string_regex(r#"[a-z*/;=,. \t"\\0-9qQ-]{0,40}"#).unwrap().prop_map(String::into_bytes),
        ]) {
            if let Ok(a) = Accept::parse(&bytes) {
                let printed = a.to_string();
                let again = Accept::parse(printed.as_bytes());
                prop_assert_eq!(again.as_ref(), Ok(&a), "{}", printed);
                prop_assert_eq!(again.unwrap().to_string(), printed);
                for r in a.ranges() {
                    prop_assert!(r.quality() <= 1000);
                    prop_assert_eq!(r.type_().to_ascii_lowercase(), r.type_());
                }
                for media in ["application/json", "text/event-stream", "a/b", "*/*"] {
                    let q = a.quality(media);
                    prop_assert!(q <= 1000);
                    prop_assert_eq!(a.accepts(media), q > 0);
                    prop_assert_eq!(a.quality(&media.to_ascii_uppercase()), q);
                }
            }
            if let Ok(m) = MediaRange::parse(&bytes) {
                let printed = m.to_string();
                prop_assert_eq!(MediaRange::parse(printed.as_bytes()), Ok(m));
            }
        }

        /// Every valid RFC 9110 list (random case, whitespace, empty
        /// elements, quoted parameters, weights) parses and round-trips.
        #[test]
        fn valid_accept_lists_parse_and_round_trip(s in accept_list()) {
            let accept = Accept::parse(s.as_bytes());
            prop_assert!(accept.is_ok(), "{:?}: {:?}", s, accept);
            let accept = accept.unwrap();
            let again: Accept = accept.to_string().parse().unwrap();
            prop_assert_eq!(&again, &accept);
            for r in accept.ranges() {
                prop_assert!(r.quality() <= 1000);
            }
        }

        /// The headers layer answers 406 to a POST exactly when the parser
        /// says the `Accept` value misses JSON or SSE (or is invalid).
        #[test]
        fn accept_layer_agrees_with_parser(value in prop_oneof![
            "[ -~]{0,40}".prop_map(String::into_bytes),
            proptest::sample::select(vec![
                "application/json, text/event-stream", "*/*", "application/*, text/*", "*/*;q=0",
                "application/json", "text/event-stream", "*/*, application/json;q=0",
                "application/json;q=0.001, text/event-stream;q=0.001", "APPLICATION/JSON,TEXT/EVENT-STREAM",
                "text/*;q=0, */*", "application/json;q=0, application/*",
            ]).prop_map(|s| s.as_bytes().to_vec()),
            proptest::collection::vec(any::<u8>(), 0..40),
        ]) {
            let Ok(value) = HeaderValue::from_bytes(&value) else { return Ok(()) };
            let want_406 = match Accept::parse(value.as_bytes()) {
                Ok(a) => !(a.accepts("application/json") && a.accepts("text/event-stream")),
                Err(_) => true,
            };
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let svc = McpHeadersLayer::new().layer(tower::service_fn(ok_service));
            let req = Request::post("/mcp")
                .header("accept", value.clone())
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#)))
                .unwrap();
            let res = runtime.block_on(svc.oneshot(req)).unwrap();
            prop_assert_eq!(res.status() == StatusCode::NOT_ACCEPTABLE, want_406, "Accept {:?} gave {}", value, res.status());
            if !res.status().is_success() {
                let body = runtime.block_on(res.into_body().collect()).unwrap().to_bytes();
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                prop_assert_eq!(&v["jsonrpc"], "2.0");
                prop_assert!(v["error"]["code"].is_i64());
            }
        }
    }
}
