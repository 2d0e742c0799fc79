//! Property tests for the public parsers behind the headers layer: the
//! `Mcp-Name` value encoding and the JSON-RPC envelope. (The private `Accept`
//! parser's are in `src/headers/accept.rs`.)

use mcp_tower_guard::envelope::{Envelope, MessageKind, META_PROTOCOL_VERSION};
use mcp_tower_guard::headers::{decode_value, encode_value};
use mcp_tower_guard::jsonrpc::RequestId;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    // -------------------------------------------------------- Mcp-Name encoding

    #[test]
    fn mcp_name_encoding_round_trips(s in any::<String>()) {
        let encoded = encode_value(&s);
        let decoded = decode_value(encoded.as_bytes());
        prop_assert_eq!(decoded.as_deref(), Ok(s.as_str()));
    }

    #[test]
    fn mcp_name_decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_value(&bytes);
        let mut sentinel = b"=?base64?".to_vec();
        sentinel.extend_from_slice(&bytes);
        sentinel.extend_from_slice(b"?=");
        let _ = decode_value(&sentinel);
    }

    // ---------------------------------------------------------------- envelope

    #[test]
    fn envelope_parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Envelope::parse(&bytes);
    }

    #[test]
    fn envelope_parse_never_panics_on_json_like_text(
        s in proptest::string::string_regex(r#"[\[\]{}":,0-9a-z. \\-]{0,80}"#).unwrap()
    ) {
        let _ = Envelope::parse(s.as_bytes());
    }

    #[test]
    fn envelope_extracts_generated_message_fields(msg in message(), batch in any::<bool>()) {
        let value = msg.to_json();
        let text = if batch {
            serde_json::to_string(&json!([value.clone(), value])).unwrap()
        } else {
            serde_json::to_string(&value).unwrap()
        };
        let env = Envelope::parse(text.as_bytes()).unwrap();
        prop_assert_eq!(env.is_batch(), batch);
        prop_assert_eq!(env.messages().len(), if batch { 2 } else { 1 });
        for m in env.messages() {
            prop_assert_eq!(m.kind(), msg.kind());
            prop_assert_eq!(m.id().cloned(), msg.expected_id());
            prop_assert_eq!(m.method(), msg.method.as_deref());
            prop_assert_eq!(m.name(), msg.name.as_ref().and_then(|n| n.as_str()));
            prop_assert_eq!(m.uri(), msg.uri.as_deref());
            prop_assert_eq!(m.protocol_version(), msg.meta_version.as_deref());
        }
        if !batch {
            prop_assert_eq!(env.method(), msg.method.as_deref());
            prop_assert_eq!(env.meta_protocol_version(), msg.meta_version.as_deref());
        }
    }
}

/// A JSON-RPC request, notification or response with the fields the layers read.
#[derive(Clone, Debug)]
struct Msg {
    id: Option<Value>,
    method: Option<String>,
    /// A string or some other JSON value (not extracted).
    name: Option<Value>,
    uri: Option<String>,
    meta_version: Option<String>,
    extra: Map<String, Value>,
    meta_extra: Map<String, Value>,
}

impl Msg {
    fn kind(&self) -> MessageKind {
        match (&self.method, &self.id) {
            (Some(_), Some(_)) => MessageKind::Request,
            (Some(_), None) => MessageKind::Notification,
            (None, _) => MessageKind::Response,
        }
    }

    fn expected_id(&self) -> Option<RequestId> {
        self.id.as_ref().map(|id| match id {
            Value::String(s) => RequestId::String(s.clone()),
            Value::Number(n) => RequestId::Number(n.to_string()),
            _ => RequestId::Null,
        })
    }

    fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("jsonrpc".into(), json!("2.0"));
        if let Some(id) = &self.id {
            obj.insert("id".into(), id.clone());
        }
        match &self.method {
            Some(m) => {
                obj.insert("method".into(), json!(m));
                let mut params = self.extra.clone();
                if let Some(n) = &self.name {
                    params.insert("name".into(), n.clone());
                }
                if let Some(u) = &self.uri {
                    params.insert("uri".into(), json!(u));
                }
                let mut meta = self.meta_extra.clone();
                if let Some(v) = &self.meta_version {
                    meta.insert(META_PROTOCOL_VERSION.into(), json!(v));
                }
                params.insert("_meta".into(), Value::Object(meta));
                obj.insert("params".into(), Value::Object(params));
            }
            None => {
                obj.insert("result".into(), Value::Object(self.extra.clone()));
            }
        }
        Value::Object(obj)
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Extra keys that do not collide with the extracted ones.
fn extra_map(reserved: &'static [&'static str]) -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::btree_map(".{0,8}", json_value(), 0..3).prop_map(move |m| {
        m.into_iter()
            .filter(|(k, _)| !reserved.contains(&k.as_str()))
            .collect()
    })
}

fn message() -> impl Strategy<Value = Msg> {
    let id = prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,10}".prop_map(Value::String),
    ];
    let name = prop_oneof![".{0,12}".prop_map(Value::String), json_value(),];
    (
        proptest::option::of(id),
        proptest::option::of(".{0,16}"),
        proptest::option::of(name),
        proptest::option::of(".{0,16}"),
        proptest::option::of(prop_oneof![
            Just("2026-07-28".to_owned()),
            ".{0,12}".prop_map(String::from)
        ]),
        extra_map(&["name", "uri", "_meta", "protocolVersion"]),
        extra_map(&[META_PROTOCOL_VERSION]),
    )
        .prop_map(
            |(id, method, name, uri, meta_version, extra, meta_extra)| Msg {
                // A response needs an id.
                id: if method.is_none() {
                    Some(id.unwrap_or(json!(1)))
                } else {
                    id
                },
                method,
                name,
                uri,
                meta_version,
                extra,
                meta_extra,
            },
        )
        .prop_map(|mut m| {
            // Only requests and notifications carry params in this generator.
            if m.method.is_none() {
                m.name = None;
                m.uri = None;
                m.meta_version = None;
            }
            m
        })
}
