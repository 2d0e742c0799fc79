//! Origin: no panic, loopback IPs, the normal form as a fixed point,
//! spellings; and `Sec-Fetch-Site` against its model.

use super::*;

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

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

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
}

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
