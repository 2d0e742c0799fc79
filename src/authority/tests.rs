//! Unit tests of `authority.rs`.

use super::*;

/// What a request host should do against the default loopback list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Parses and is on the list (200).
    Pass,
    /// Parses, not on the list (403 `HostNotAllowed`).
    Forbidden403,
    /// Does not parse (400 `MalformedHost`).
    Malformed400,
}
use Expect::*;

fn loopback() -> Vec<(HostMatch, PortSpec)> {
    ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .map(|e| parse_host_pattern(e).unwrap())
        .collect()
}

fn decide(list: &[(HostMatch, PortSpec)], input: &[u8]) -> Expect {
    match parse_authority(input) {
        Err(_) => Malformed400,
        Ok(a) => {
            let ok = list.iter().any(|(h, p)| {
                h.matches(&a.host)
                    && match p {
                        PortSpec::Unspecified | PortSpec::Any => true,
                        PortSpec::Exact(want) => a.port == Some(*want),
                    }
            });
            if ok {
                Pass
            } else {
                Forbidden403
            }
        }
    }
}

/// sdk-security-survey section 4 + 6 and peer-crates 9.2, against the
/// default loopback list (`localhost`, `127.0.0.1`, `[::1]`, any port).
#[test]
fn attack_table_against_loopback_list() {
    let rows: &[(&[u8], Expect)] = &[
        // accepted
        (b"localhost", Pass),
        (b"localhost:3000", Pass),
        (b"localhost:80", Pass),
        (b"127.0.0.1:3000", Pass),
        (b"127.0.0.1", Pass),
        (b"[::1]:3000", Pass),
        (b"[::1]", Pass),
        (b"LOCALHOST:3000", Pass),
        (b"LocalHost", Pass),
        (b"localhost.:3000", Pass),
        (b"localhost.", Pass),
        (b"127.0.0.1.:8000", Pass),
        (b"[0:0:0:0:0:0:0:1]:3000", Pass),
        (b"[0000::0001]:3000", Pass),
        (b"localhost:0", Pass),
        (b"localhost:65535", Pass),
        (b"localhost:00080", Pass),
        // well-formed, not on the list: 403
        (b"evil.com", Forbidden403),
        (b"evil.com:3000", Forbidden403),
        (b"evil.example.com", Forbidden403),
        (b"localhost.evil.com", Forbidden403),
        (b"localhost.evil.com:8000", Forbidden403),
        (b"evillocalhost", Forbidden403),
        (b"127.1", Forbidden403),
        (b"127.1:8000", Forbidden403),
        (b"0x7f.0.0.1", Forbidden403),
        (b"2130706433", Forbidden403),
        (b"127.000.000.001", Forbidden403),
        (b"0177.0.0.1", Forbidden403),
        (b"127.0.0.2", Forbidden403),
        (b"[::ffff:127.0.0.1]", Forbidden403),
        (b"[::2]", Forbidden403),
        (b"0.0.0.0", Forbidden403),
        (b"[::]", Forbidden403),
        // malformed: 400
        (b"", Malformed400),
        (b"evil.com@localhost:3000", Malformed400),
        (b"@localhost", Malformed400),
        (b"localhost:8000@evil.com", Malformed400),
        (b"user:pass@localhost", Malformed400),
        (b"localhost/evil", Malformed400),
        (b"localhost?x", Malformed400),
        (b"localhost#x", Malformed400),
        (b"localhost\\evil.com", Malformed400),
        (b"localhost:3000.evil.com", Malformed400),
        (b"localhost:8000.evil.com", Malformed400),
        (b"localhost:evil.com", Malformed400),
        (b"localhost:", Malformed400),
        (b"localhost:abc", Malformed400),
        (b"localhost:99999", Malformed400),
        (b"localhost:65536", Malformed400),
        (b"localhost:+80", Malformed400),
        (b"localhost:-1", Malformed400),
        (b"localhost:0000080", Malformed400),
        (b"localhost:80:80", Malformed400),
        (b"localhost:*", Malformed400),
        (b"[::1]evil.com", Malformed400),
        (b"[::1]:3000evil", Malformed400),
        (b"[::1]:", Malformed400),
        (b"::1", Malformed400),
        (b"::1:3000", Malformed400),
        (b"[::1", Malformed400),
        (b"::1]", Malformed400),
        (b"[]", Malformed400),
        (b"[localhost]", Malformed400),
        (b"[fe80::1%25eth0]", Malformed400),
        (b"[fe80::1%eth0]", Malformed400),
        (b"local host", Malformed400),
        (b" localhost", Malformed400),
        (b"localhost\t", Malformed400),
        (b"localhost\0", Malformed400),
        (b"l\xc3\xb6calhost", Malformed400),
        (b"localhost\xff", Malformed400),
        (b".", Malformed400),
        (b".localhost", Malformed400),
        (b"localhost..", Malformed400),
        (b"local..host", Malformed400),
        (b":3000", Malformed400),
        (b"*.localhost", Malformed400),
        (b"localhost,evil.com", Malformed400),
        (b"localhost;evil", Malformed400),
        (b"http://localhost", Malformed400),
        (b"xn--lcalhost-1wa%2e", Malformed400),
    ];
    let list = loopback();
    for (input, want) in rows {
        let got = decide(&list, input);
        assert_eq!(got, *want, "Host {:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn long_names_and_labels() {
    let label = "a".repeat(63);
    let name = format!("{label}.{label}.{label}.{}", "a".repeat(61)); // 253 bytes
    assert_eq!(name.len(), 253);
    assert!(parse_authority(name.as_bytes()).is_ok());
    assert!(parse_authority(format!("{name}a").as_bytes()).is_err());
    assert!(parse_authority("a".repeat(64).as_bytes()).is_err());
    assert!(parse_authority(&vec![b'a'; 100_000]).is_err());
}

#[test]
fn ipv4_shorthand_is_a_name_not_an_address() {
    for s in ["127.1", "0x7f.0.0.1", "2130706433", "127.0.0.01", "127.0.1"] {
        let a = parse_authority(s.as_bytes()).unwrap();
        assert!(matches!(a.host, HostRef::Name(_)), "{s} should be a name");
    }
    let a = parse_authority(b"127.0.0.1").unwrap();
    assert!(matches!(a.host, HostRef::V4(ip) if ip == Ipv4Addr::LOCALHOST));
    let a = parse_authority(b"256.0.0.1").unwrap();
    assert!(matches!(a.host, HostRef::Name(_)));
}

#[test]
fn entries_parse_and_match() {
    // (entry, request host, should match)
    let rows: &[(&str, &str, bool)] = &[
        ("localhost", "localhost:1", true),
        ("LOCALHOST.", "localhost:1", true),
        ("example.com:8443", "example.com:8443", true),
        ("example.com:8443", "example.com:443", false),
        ("example.com:8443", "example.com", false),
        ("example.com:*", "example.com:1234", true),
        ("example.com:*", "example.com", true),
        ("[::1]", "[0:0:0:0:0:0:0:1]:9", true),
        ("[0::1]:*", "[::1]", true),
        ("*.example.com", "a.example.com", true),
        ("*.example.com", "A.B.EXAMPLE.COM.", true),
        ("*.example.com", "example.com", false),
        ("*.example.com", "xexample.com", false),
        ("*.example.com", "a.example.com.evil.com", false),
        ("*.example.com:443", "a.example.com:443", true),
        ("*.example.com:443", "a.example.com:8443", false),
        ("127.0.0.1", "127.1", false),
        ("127.0.0.1", "2130706433", false),
        ("127.0.0.1", "127.0.0.1", true),
    ];
    for (entry, host, want) in rows {
        let (hm, port) = parse_host_pattern(entry).unwrap();
        let got = decide(&[(hm, port)], host.as_bytes());
        assert_eq!(
            got == Pass,
            *want,
            "entry {entry:?} vs Host {host:?} gave {got:?}"
        );
    }
}

#[test]
fn bad_entries_are_refused() {
    for entry in [
        "",
        "*",
        "*.",
        "**.example.com",
        "a.*.example.com",
        "ex*mple.com",
        "*.127.0.0.1",
        "[*.::1]",
        "http://localhost",
        "localhost/",
        "user@localhost",
        "localhost:",
        "localhost:99999",
        "localhost:abc",
        "::1",
        "[::1",
        "[::1]x",
        "local host",
        "l\u{f6}calhost",
        "a,b",
    ] {
        assert!(
            parse_host_pattern(entry).is_err(),
            "entry {entry:?} should be refused"
        );
    }
}

#[test]
fn display_is_normalised() {
    let a = parse_authority(b"LocalHost.:0080").unwrap();
    assert_eq!(a.to_string(), "localhost:80");
    let a = parse_authority(b"[0:0:0:0:0:0:0:1]").unwrap();
    assert_eq!(a.to_string(), "[::1]");
    let (h, _) = parse_host_pattern("*.Example.COM").unwrap();
    assert_eq!(h.to_string(), "*.example.com");
}

proptest::proptest! {
    /// No input panics, and whatever parses prints back as something
    /// that parses to the same host.
    #[test]
    fn never_panics(input in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
        if let Ok(a) = parse_authority(&input) {
            let again = a.to_string();
            let b = parse_authority(again.as_bytes()).unwrap();
            proptest::prop_assert_eq!(b.to_string(), again);
        }
        if let Ok(s) = std::str::from_utf8(&input) {
            let _ = parse_host_pattern(s);
        }
    }

    #[test]
    fn host_like_strings_never_panic(input in "[a-zA-Z0-9.:\\[\\]@*%_-]{0,40}") {
        let _ = parse_authority(input.as_bytes());
        let _ = parse_host_pattern(&input);
    }
}

/// The one-pass reading agrees with the full grammar wherever it answers.
fn agrees(input: &[u8]) -> Result<(), String> {
    match common_authority(input) {
        None => Ok(()),
        Some(fast) => match full_authority(input) {
            Ok(full) if format!("{fast:?}") == format!("{full:?}") => Ok(()),
            other => Err(format!(
                "{:?}: one pass {fast:?}, full grammar {other:?}",
                String::from_utf8_lossy(input)
            )),
        },
    }
}

/// The shapes clients send take the one pass (`true`); the edges either agree
/// or are left to the full grammar (`false`).
#[test]
fn the_one_pass_reads_common_hosts_as_the_full_grammar_does() {
    let long_name = [b"a.".repeat(127), b"a".to_vec()].concat();
    let rows: &[(&[u8], bool)] = &[
        (b"localhost", true),
        (b"localhost:3000", true),
        (b"LOCALHOST.:80", true),
        (b"127.0.0.1:8080", true),
        (b"127.0.0.1.", true),
        (b"0.0.0.0:65535", true),
        (b"mcp.example.com", true),
        (b"a_b-c.d:1", true),
        (b"127.1", true),
        (b"127.000.0.1", true),
        (b"0.00.0.0", true),
        (b"256.0.0.1", true),
        (b"1.2.3.4.5", true),
        (b"2130706433", true),
        (&[b'9'; 63], true),
        (b"", false),
        (b".", false),
        (b"a..b", false),
        (b".a", false),
        (b":80", false),
        (b"localhost:", false),
        (b"localhost:65536", false),
        (b"localhost:123456", false),
        (b"localhost:8:8", false),
        (b"localhost..", false),
        (b"[::1]:80", false),
        (b"a@b", false),
        (b"a/b", false),
        (b"a b", false),
        (&[b'a'; 64], false),
        (&long_name, false),
    ];
    for (input, one_pass) in rows {
        assert_eq!(common_authority(input).is_some(), *one_pass, "{input:?}");
        agrees(input).unwrap();
    }
    assert!(full_authority(&long_name).is_err());
}

proptest::proptest! {
    #[test]
    fn the_one_pass_agrees_with_the_full_grammar(input in "[a-zA-Z0-9.:_-]{0,24}") {
        proptest::prop_assert_eq!(agrees(input.as_bytes()), Ok(()));
    }

    #[test]
    fn the_one_pass_agrees_on_dotted_numbers(input in "[0-9]{0,4}(\\.[0-9]{1,3}){2,4}\\.?(:[0-9]{0,6})?") {
        proptest::prop_assert_eq!(agrees(input.as_bytes()), Ok(()));
        if full_authority(input.as_bytes()).is_ok() {
            proptest::prop_assert!(common_authority(input.as_bytes()).is_some());
        }
    }

    #[test]
    fn the_one_pass_agrees_on_any_bytes(input in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
        proptest::prop_assert_eq!(agrees(&input), Ok(()));
    }
}
