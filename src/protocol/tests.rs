/// The era rule's examples (`request_era`'s docs before it turned private).
#[test]
fn request_era_examples() {
    let mut headers = HeaderMap::new();
    assert_eq!(request_era(&Method::GET, &headers, false), Era::Legacy);
    assert_eq!(request_era(&Method::POST, &headers, true), Era::Modern);
    headers.insert("mcp-protocol-version", "2026-07-28".parse().unwrap());
    assert_eq!(request_era(&Method::POST, &headers, false), Era::Modern);

    // An unknown version on a request shaped as 2026-07-28.
    let mut headers = HeaderMap::new();
    headers.insert("mcp-protocol-version", "v999.0.0".parse().unwrap());
    headers.insert("mcp-method", "tools/list".parse().unwrap());
    assert_eq!(request_era(&Method::POST, &headers, false), Era::Modern);
}

use proptest::prelude::*;

proptest! {
    /// The header reader agrees with the parser on any bytes, and two
    /// header lines are never valid, even two equal valid ones.
    #[test]
    fn version_header_reader_agrees_with_parse(bytes in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..16),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}".prop_map(String::into_bytes),
    ]) {
        super::version_header_oracle(&bytes);
        let parsed = ProtocolVersion::parse_bytes(&bytes);
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            let mut h = HeaderMap::new();
            h.insert(MCP_PROTOCOL_VERSION, value.clone());
            let read = VersionHeader::read(&h);
            match parsed {
                Some(v) => prop_assert_eq!(read, VersionHeader::Valid(v)),
                None => prop_assert_eq!(read, VersionHeader::Invalid(&bytes[..])),
            }
            h.append(MCP_PROTOCOL_VERSION, value);
            prop_assert!(matches!(VersionHeader::read(&h), VersionHeader::Invalid(_)));
        }
    }
}

use super::*;

#[test]
fn parses_and_displays_round_trip() {
    for v in ProtocolVersion::KNOWN {
        assert_eq!(v.to_string().parse::<ProtocolVersion>().unwrap(), v);
    }
    assert_eq!(ProtocolVersion::V2025_03_26.to_string(), "2025-03-26");
}

#[test]
fn header_values_match_display() {
    let later: ProtocolVersion = "2027-01-31".parse().unwrap();
    for v in ProtocolVersion::KNOWN.into_iter().chain([later]) {
        assert_eq!(v.to_header_value(), v.to_string().as_str());
    }
}

#[test]
fn rejects_malformed() {
    for bad in [
        "",
        "2025-03-2",
        "2025-3-26",
        "2025/03/26",
        "2025-13-01",
        "2025-00-10",
        "2025-01-32",
        "2025-01-00",
        " 2025-03-26",
        "2025-03-26 ",
        "２０２５-03-26",
        "abcd-ef-gh",
    ] {
        assert!(
            ProtocolVersion::parse_bytes(bad.as_bytes()).is_none(),
            "{bad:?}"
        );
    }
}

#[test]
fn eras_and_batches() {
    assert_eq!(ProtocolVersion::V2025_11_25.era(), Era::Legacy);
    assert_eq!(ProtocolVersion::V2026_07_28.era(), Era::Modern);
    assert_eq!(
        "2027-01-01".parse::<ProtocolVersion>().unwrap().era(),
        Era::Modern
    );
    assert!(ProtocolVersion::V2025_03_26.allows_batch());
    assert!(ProtocolVersion::V2024_11_05.allows_batch());
    assert!(!ProtocolVersion::V2025_06_18.allows_batch());
}

#[test]
fn duplicate_header_is_invalid() {
    let mut h = HeaderMap::new();
    h.append(MCP_PROTOCOL_VERSION, HeaderValue::from_static("2025-06-18"));
    h.append(MCP_PROTOCOL_VERSION, HeaderValue::from_static("2026-07-28"));
    assert!(matches!(VersionHeader::read(&h), VersionHeader::Invalid(_)));
}
