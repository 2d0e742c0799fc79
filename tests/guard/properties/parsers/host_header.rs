//! Host: no panic on any value, loopback exactly, spellings, re-serialisation,
//! and `:authority` agreeing with `Host`.

use super::*;

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
}
