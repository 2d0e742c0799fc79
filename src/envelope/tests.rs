//! Unit tests of `envelope.rs`.

use super::*;

fn kind(body: &str) -> Result<Vec<MessageKind>, EnvelopeError> {
    Envelope::parse(body.as_bytes()).map(|e| e.messages().iter().map(|m| m.kind).collect())
}

#[test]
fn classifies_messages() {
    use MessageKind::*;
    assert_eq!(
        kind(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
        Ok(vec![Request])
    );
    assert_eq!(
        kind(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
        Ok(vec![Notification])
    );
    assert_eq!(
        kind(r#"{"jsonrpc":"2.0","id":"a","result":{}}"#),
        Ok(vec![Response])
    );
    assert_eq!(
        kind(r#"{"jsonrpc":"2.0","id":"a","error":{"code":1,"message":"x"}}"#),
        Ok(vec![Response])
    );
    assert_eq!(
        kind(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"x"}]"#),
        Ok(vec![Request, Notification])
    );
}

#[test]
fn jsonrpc_2_0_parse_error_is_32700() {
    for bad in [
        "",
        "{",
        "not json",
        r#"{"jsonrpc":"2.0","#,
        "[1, {bad",
        "\u{0}",
    ] {
        let err = Envelope::parse(bad.as_bytes()).unwrap_err();
        assert!(matches!(err, EnvelopeError::Parse(_)), "{bad:?}: {err:?}");
        assert_eq!(crate::Rejection::from(err).code(), -32700);
    }
}

#[test]
fn jsonrpc_2_0_invalid_request_is_32600() {
    for bad in [
        "1",
        "\"x\"",
        "null",
        "[]",
        "[1]",
        r#"{"id":1,"method":"ping"}"#,
        r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
        r#"{"jsonrpc":2,"id":1,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
        r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":1}"#,
        r#"{"jsonrpc":"2.0","result":{}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"x","params":5}"#,
        // F1: a message is an object, never an array of its fields.
        r#"[["2.0",1,"ping",null,null,null]]"#,
        r#"["2.0",1,"ping"]"#,
    ] {
        let err = Envelope::parse(bad.as_bytes()).unwrap_err();
        assert!(matches!(err, EnvelopeError::Invalid(_)), "{bad:?}: {err:?}");
        assert_eq!(crate::Rejection::from(err).code(), -32600);
    }
}

#[test]
fn extracts_meta_name_and_uri_only_when_strings() {
    let e = Envelope::parse(
        br#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a","name":7,
        "_meta":{"other":{"deep":[1,2,{"x":null}]},"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
    )
    .unwrap();
    let m = e.single().unwrap();
    assert_eq!(m.uri.as_deref(), Some("file:///a"));
    assert_eq!(m.name, None);
    assert_eq!(e.meta_protocol_version(), Some("2026-07-28"));
}

#[test]
fn keeps_sep_414_trace_context_only_when_strings() {
    let e = Envelope::parse(
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{
        "traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tracestate":"a=1"}}}"#,
    )
    .unwrap();
    let m = e.single().unwrap();
    assert_eq!(
        m.meta_traceparent(),
        Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    );
    assert_eq!(m.meta_tracestate(), Some("a=1"));
    let e = Envelope::parse(
        br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"traceparent":7,"tracestate":null}}}"#,
    )
    .unwrap();
    let m = e.single().unwrap();
    assert_eq!((m.meta_traceparent(), m.meta_tracestate()), (None, None));
}

#[test]
fn initialize_detection() {
    let e =
        Envelope::parse(br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}"#).unwrap();
    assert!(e.is_initialize());
    let e = Envelope::parse(br#"[{"jsonrpc":"2.0","id":0,"method":"initialize"}]"#).unwrap();
    assert!(!e.is_initialize());
    assert!(e.contains_initialize());
}

#[test]
fn escaped_keys_and_strings_decode() {
    let e = Envelope::parse(
        br#"{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"na\u006de":"h\u00e9"}}"#,
    )
    .unwrap();
    let m = e.single().unwrap();
    assert_eq!(m.method.as_deref(), Some("tools/call"));
    assert_eq!(m.name.as_deref(), Some("hé"));
    // Member names are borrowed from the body unless escaped; escaped ones
    // are decoded all the same.
    let e = Envelope::parse(br#"{"j\u0073onrpc":"2.0","\u0069d":7,"met\u0068od":"ping"}"#).unwrap();
    let m = e.single().unwrap();
    assert_eq!(m.method.as_deref(), Some("ping"));
    assert!(m.id().is_some());
}

/// `params.arguments` is decoded in the one parse and found again only when
/// asked for: in a single message, in the right element of a batch, the last
/// of repeated keys (as the parse counts it), and never in array params.
#[test]
fn arguments_are_found_on_demand() {
    let arguments = |body: &str| -> Vec<Option<String>> {
        let envelope = Envelope::parse(body.as_bytes()).expect("valid envelope");
        envelope
            .messages()
            .iter()
            .map(|m| envelope.arguments_json(m).map(str::to_owned))
            .collect()
    };
    assert_eq!(
        arguments(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"a":[1,"x"]}}}"#
        ),
        vec![Some(r#"{"a":[1,"x"]}"#.to_owned())]
    );
    assert_eq!(
        arguments(concat!(
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"n":1}}},"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"ping"},"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"arguments":1,"arguments":{"n":3}}}]"#
        )),
        vec![
            Some(r#"{"n":1}"#.to_owned()),
            None,
            Some(r#"{"n":3}"#.to_owned())
        ]
    );
    assert_eq!(
        arguments(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":[{"arguments":1}]}"#),
        vec![None]
    );
    // F2: a string inside the arguments is decoded like any other.
    assert!(Envelope::parse(
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"a":"\ud800"}}}"#
    )
    .is_err());
}
