//! The JSON-RPC `Envelope` and the `Mcp-Name` value encoding.

use super::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    // ========================================================== envelope

    /// Arbitrary bytes and JSON-ish text: no panic; an accepted body is
    /// valid JSON whose messages are all JSON objects; a body that is not
    /// JSON is a parse error (-32700), JSON that is no message is -32600.
    #[test]
    fn envelope_accepts_only_objects(body in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        json_tree().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        json_tree().prop_map(|v| serde_json::to_vec(&json!([v])).unwrap()),
    ]) {
        let parsed = Envelope::parse(&body);
        let value: Result<Value, _> = serde_json::from_slice(&body);
        match (&parsed, &value) {
            (Ok(env), Ok(v)) => {
                let items: Vec<&Value> = match v {
                    Value::Array(items) => items.iter().collect(),
                    other => vec![other],
                };
                prop_assert_eq!(items.len(), env.messages().len());
                prop_assert_eq!(env.is_batch(), v.is_array());
                for item in items {
                    prop_assert!(item.is_object(), "accepted a non-object message: {}", item);
                    prop_assert_eq!(&item["jsonrpc"], "2.0");
                }
            }
            (Ok(_), Err(e)) => prop_assert!(false, "accepted invalid JSON: {e}"),
            (Err(EnvelopeError::Parse(m)), Ok(_)) => prop_assert!(false, "valid JSON called a parse error: {m}"),
            (Err(e), _) => {
                let code = mcp_tower_guard::Rejection::from(e.clone()).code();
                prop_assert!(code == -32700 || code == -32600);
            }
        }
    }

    /// Whitespace and key order do not change the envelope: a message and
    /// its pretty-printed, key-reversed twin parse to equal envelopes.
    #[test]
    fn envelope_layout_invariance(
        method in "[a-z/_]{1,12}",
        id in prop_oneof![any::<i64>().prop_map(Value::from), "[ -~]{0,8}".prop_map(Value::from)],
        name in proptest::option::of("\\PC{0,12}"),
        meta in proptest::option::of("[0-9]{4}-[0-9]{2}-[0-9]{2}"),
        notify in any::<bool>(),
    ) {
        let mut params = serde_json::Map::new();
        if let Some(n) = &name { params.insert("name".into(), Value::from(n.clone())); }
        if let Some(m) = &meta {
            params.insert("_meta".into(), json!({ "io.modelcontextprotocol/protocolVersion": m }));
        }
        let mut msg = serde_json::Map::new();
        msg.insert("jsonrpc".into(), "2.0".into());
        if !notify { msg.insert("id".into(), id); }
        msg.insert("method".into(), Value::from(method.clone()));
        msg.insert("params".into(), Value::Object(params));
        let compact = serde_json::to_vec(&Value::Object(msg.clone())).unwrap();
        let reversed: serde_json::Map<String, Value> = msg.into_iter().rev().collect();
        let pretty = serde_json::to_vec_pretty(&Value::Object(reversed)).unwrap();
        let a = Envelope::parse(&compact).unwrap();
        let b = Envelope::parse(&pretty).unwrap();
        prop_assert_eq!(&a, &b);
        let m = a.single().unwrap();
        prop_assert_eq!(m.kind(), if notify { MessageKind::Notification } else { MessageKind::Request });
        prop_assert_eq!(m.method(), Some(method.as_str()));
        prop_assert_eq!(m.name(), name.as_deref());
        prop_assert_eq!(a.meta_protocol_version(), meta.as_deref());
    }

    // ====================================================== Mcp-Name value

    /// Any string survives encode → header → decode; the encoded value is a
    /// header value with no leading or trailing whitespace (which HTTP would
    /// strip), and plain visible ASCII is sent as is.
    #[test]
    fn mcp_name_round_trip(s in prop_oneof![any::<String>(), "[ -~]{0,20}", "=\\?base64\\?[ -~]{0,8}\\?="]) {
        let encoded = encode_value(&s);
        let bytes = encoded.as_bytes();
        prop_assert!(!bytes.starts_with(b" ") && !bytes.starts_with(b"\t"));
        prop_assert!(!bytes.ends_with(b" ") && !bytes.ends_with(b"\t"));
        prop_assert!(bytes.iter().all(|&b| b == b'\t' || (b' '..=b'~').contains(&b)));
        let decoded = decode_value(bytes);
        prop_assert_eq!(decoded.as_deref(), Ok(s.as_str()));
        let sentinel = s.starts_with("=?base64?") && s.ends_with("?=");
        let plain = !sentinel && !s.starts_with([' ', '\t']) && !s.ends_with([' ', '\t'])
            && s.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
        prop_assert_eq!(bytes == s.as_bytes(), plain);
    }

    /// Arbitrary bytes: no panic; a decoded plain value is the input itself;
    /// a decoded Base64 value re-encodes to a value that decodes to it.
    #[test]
    fn mcp_name_decode_arbitrary(bytes in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..48),
        "[A-Za-z0-9+/=]{0,24}".prop_map(|p| format!("=?base64?{p}?=").into_bytes()),
    ]) {
        if let Ok(v) = decode_value(&bytes) {
            let sentinel = bytes.starts_with(b"=?base64?") && bytes.ends_with(b"?=");
            if !sentinel {
                prop_assert_eq!(v.as_bytes(), &bytes[..]);
            }
            let again = encode_value(&v);
            let redecoded = decode_value(again.as_bytes());
            prop_assert_eq!(redecoded.as_deref(), Ok(&*v));
        }
    }
}

/// JSON values shaped like JSON-RPC messages and their near misses: objects
/// with the message keys, arrays in their place, scalars.
fn json_tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        Just(Value::from("2.0")),
        Just(Value::from("ping")),
        Just(Value::from("initialize")),
        "[a-z]{0,4}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..7).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "jsonrpc", "id", "method", "params", "result", "error", "name", "_meta"
                    ]),
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}
