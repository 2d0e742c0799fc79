//! The serde side of the parse: borrowed raw shapes read field by field
//! (objects only, bounded batches, every string decoded), which
//! `Envelope::parse` turns into [`Message`](super::Message)s.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::shape::{
    CompletionRef, Field, ParamsShape, META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION,
    META_TRACEPARENT, META_TRACESTATE,
};
use crate::jsonrpc::RequestId;

pub(super) fn first_non_ws(bytes: &[u8]) -> Option<u8> {
    bytes
        .iter()
        .copied()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// Skips any JSON value, like serde's `IgnoredAny`, but decodes every string
/// and key on the way: serde_json skips a string it is not asked to decode
/// without checking it, so invalid UTF-8 and lone surrogate escapes in parts
/// of the body the layers do not read passed (fuzzing finding F2). Decoding
/// borrows unescaped strings, so skipping still builds no tree.
pub(super) struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Skip;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_none<E: de::Error>(self) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Skip, D::Error> {
                Skip::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(Skip)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
                while map.next_key::<Skip>()?.is_some() {
                    map.next_value::<Skip>()?;
                }
                Ok(Skip)
            }
        }
        d.deserialize_any(V)
    }
}

/// Most messages a JSON-RPC batch may hold; a longer batch is -32600. Bounds
/// what one body costs to parse (fuzzing finding F4: a 4 MiB batch of tiny
/// messages peaked at 96 MB).
pub const MAX_BATCH_LEN: usize = 256;

/// A batch, read up to [`MAX_BATCH_LEN`] messages.
pub(super) struct Batch<'de>(pub(super) Vec<RawMessage<'de>>);

impl<'de> Deserialize<'de> for Batch<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Batch<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON-RPC batch")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Batch<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some(m) = seq.next_element::<RawMessage<'de>>()? {
                    if out.len() == MAX_BATCH_LEN {
                        return Err(de::Error::custom(format_args!(
                            "a batch holds at most {MAX_BATCH_LEN} messages"
                        )));
                    }
                    out.push(m);
                }
                Ok(Batch(out))
            }
        }
        d.deserialize_seq(V)
    }
}

/// One message, read field by field. Written by hand (not derived) because a
/// derived struct also accepts a JSON array of its fields, and a JSON-RPC
/// message must be an object (fuzzing finding F1, see SECURITY.md).
#[derive(Default)]
pub(super) struct RawMessage<'de> {
    pub(super) jsonrpc: Option<IsV2>,
    pub(super) id: Option<RequestId>,
    pub(super) method: Option<MethodField>,
    pub(super) params: Option<RawParams<'de>>,
    pub(super) result: Option<Skip>,
    pub(super) error: Option<Skip>,
}

impl<'de> Deserialize<'de> for RawMessage<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawMessage<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON-RPC message object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawMessage<'de>, A::Error> {
                let mut msg = RawMessage::default();
                while let Some(key) = map.next_key::<JsonKey<'de>>()? {
                    match &*key {
                        "jsonrpc" => msg.jsonrpc = Some(map.next_value()?),
                        "id" => {
                            // The raw text, so a numeric id is echoed exactly as sent.
                            let raw = map.next_value::<&'de RawValue>()?;
                            let id = RequestId::from_raw(raw).ok_or_else(|| {
                                de::Error::custom("id must be a string, a number or null")
                            })?;
                            msg.id = Some(id);
                        }
                        "method" => msg.method = Some(map.next_value()?),
                        "params" => msg.params = map.next_value::<Option<RawParams<'de>>>()?,
                        "result" => msg.result = map.next_value::<Option<Skip>>()?,
                        "error" => msg.error = map.next_value::<Option<Skip>>()?,
                        _ => {
                            map.next_value::<Skip>()?;
                        }
                    }
                }
                Ok(msg)
            }
        }
        d.deserialize_map(V)
    }
}

/// A value kept when it is a string and skipped (as `None`) when it is anything else.
/// Whether `jsonrpc` is the string `"2.0"`, compared where serde hands it
/// over: nothing is allocated for it. Any other value (of any type) is false.
#[derive(Default)]
pub(super) struct IsV2(pub(super) bool);

/// An object member's name, borrowed from the body unless it has escapes.
/// (`Cow<str>`'s own `Deserialize` always copies: one allocation per key.)
pub(crate) struct JsonKey<'de>(std::borrow::Cow<'de, str>);

impl std::ops::Deref for JsonKey<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for JsonKey<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonKey<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<JsonKey<'de>, E> {
                Ok(JsonKey(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonKey<'de>, E> {
                Ok(JsonKey(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<JsonKey<'de>, E> {
                Ok(JsonKey(std::borrow::Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A string value, owned; any other JSON value is `None`.
#[derive(Default)]
pub(super) struct MaybeString(pub(super) Option<String>);

/// What a field keeps of a JSON value that should be a string: built from
/// the string, or the default for any other type (which is skipped whole).
pub(super) trait FromJsonStr: Default {
    fn from_json_str(v: &str) -> Self;
}

impl FromJsonStr for IsV2 {
    fn from_json_str(v: &str) -> Self {
        Self(v == "2.0")
    }
}

/// `method`, when a string: the spec's own names are not copied.
#[derive(Default)]
pub(super) struct MethodField(pub(super) Option<super::method::Method>);

impl FromJsonStr for MethodField {
    fn from_json_str(v: &str) -> Self {
        Self(Some(super::method::Method::new(v)))
    }
}

impl<'de> Deserialize<'de> for MethodField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrField(std::marker::PhantomData))
    }
}

impl FromJsonStr for MaybeString {
    fn from_json_str(v: &str) -> Self {
        Self(Some(v.to_owned()))
    }
}

/// The one visitor of [`FromJsonStr`] fields.
pub(super) struct StrField<T>(std::marker::PhantomData<T>);

impl<'de, T: FromJsonStr> Visitor<'de> for StrField<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok(T::from_json_str(v))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(T::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(T::default())
    }
}

impl<'de> Deserialize<'de> for IsV2 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrField(std::marker::PhantomData))
    }
}

impl<'de> Deserialize<'de> for MaybeString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrField(std::marker::PhantomData))
    }
}

#[derive(Default)]
pub(super) struct RawParams<'de> {
    pub(super) meta: RawMeta<'de>,
    pub(super) initialize_version: Option<String>,
    pub(super) name: Option<String>,
    pub(super) uri: Option<String>,
    pub(super) task_id: Option<String>,
    pub(super) shape: ParamsShape,
    pub(super) completion_ref: Option<CompletionRef>,
    /// Whether `arguments` is there; where it stands is looked up only when a
    /// tool rule reads it ([`arguments_of`](super::arguments::arguments_of)).
    pub(super) has_arguments: bool,
}

impl<'de> Deserialize<'de> for RawParams<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawParams<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object or array of params")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawParams<'de>, A::Error> {
                while seq.next_element::<Skip>()?.is_some() {}
                let mut params = RawParams::default();
                params.shape.array = true;
                Ok(params)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawParams<'de>, A::Error> {
                let mut params = RawParams::default();
                while let Some(key) = map.next_key::<JsonKey<'de>>()? {
                    match &*key {
                        "_meta" => params.meta = map.next_value::<RawMeta<'de>>()?,
                        "name" => {
                            params.name = map.next_value::<MaybeString>()?.0;
                            params.shape.name = Field::of(&params.name);
                        }
                        "uri" => {
                            params.uri = map.next_value::<MaybeString>()?.0;
                            params.shape.uri = Field::of(&params.uri);
                        }
                        "taskId" => {
                            params.task_id = map.next_value::<MaybeString>()?.0;
                            params.shape.task_id = Field::of(&params.task_id);
                        }
                        "ref" => params.completion_ref = Some(map.next_value::<RawRef>()?.0),
                        "protocolVersion" => {
                            params.initialize_version = map.next_value::<MaybeString>()?.0
                        }
                        "arguments" => {
                            // Decoded like every skipped value (F2), in this
                            // one pass; only tools with mirrored parameters
                            // look inside, and find it again then.
                            map.next_value::<Skip>()?;
                            params.has_arguments = true;
                        }
                        _ => {
                            map.next_value::<Skip>()?;
                        }
                    }
                }
                Ok(params)
            }
        }
        d.deserialize_any(V)
    }
}

/// `params.ref` of a `completion/complete`.
pub(super) struct RawRef(pub(super) CompletionRef);

impl<'de> Deserialize<'de> for RawRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a completion reference")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRef, A::Error> {
                let (mut kind, mut name, mut uri) = (None, None, None);
                let mut malformed = false;
                while let Some(key) = map.next_key::<JsonKey<'de>>()? {
                    let slot = match &*key {
                        "type" => &mut kind,
                        "name" => &mut name,
                        "uri" => &mut uri,
                        _ => {
                            map.next_value::<Skip>()?;
                            continue;
                        }
                    };
                    let value = map.next_value::<MaybeString>()?.0;
                    malformed |= value.is_none();
                    *slot = value;
                }
                Ok(RawRef(match (kind.as_deref(), name, uri) {
                    _ if malformed => CompletionRef::Malformed,
                    (Some("ref/prompt"), Some(name), _) => CompletionRef::Prompt(name),
                    (Some("ref/resource"), _, Some(uri)) => CompletionRef::Resource(uri),
                    _ => CompletionRef::Malformed,
                }))
            }
            // Anything but an object: not a reference.
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawRef, A::Error> {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(RawRef(CompletionRef::Malformed))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<RawRef, E> {
                Ok(RawRef(CompletionRef::Malformed))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawRef, E> {
                Ok(RawRef(CompletionRef::Malformed))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawRef, E> {
                Ok(RawRef(CompletionRef::Malformed))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawRef, E> {
                Ok(RawRef(CompletionRef::Malformed))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawRef, E> {
                Ok(RawRef(CompletionRef::Malformed))
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawRef, E> {
                Ok(RawRef(CompletionRef::Malformed))
            }
        }
        d.deserialize_any(V)
    }
}

/// `_meta`, keeping the 2026-07-28 per-request fields.
#[derive(Default)]
pub(super) struct RawMeta<'de> {
    pub(super) version: Field,
    pub(super) version_value: Option<String>,
    pub(super) capabilities: Field,
    pub(super) capabilities_raw: Option<&'de RawValue>,
    pub(super) traceparent: Option<String>,
    pub(super) tracestate: Option<String>,
}

impl<'de> Deserialize<'de> for RawMeta<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawMeta<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a _meta object")
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawMeta<'de>, E> {
                Ok(RawMeta::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawMeta<'de>, A::Error> {
                let mut meta = RawMeta::default();
                while let Some(key) = map.next_key::<JsonKey<'de>>()? {
                    if *key == *META_PROTOCOL_VERSION {
                        let value = map.next_value::<MaybeString>()?.0;
                        meta.version = if value.is_some() {
                            Field::Valid
                        } else {
                            Field::WrongType
                        };
                        meta.version_value = value;
                    } else if *key == *META_CLIENT_CAPABILITIES {
                        let raw = map.next_value::<&'de RawValue>()?;
                        serde_json::from_str::<Skip>(raw.get()).map_err(de::Error::custom)?;
                        if raw.get().starts_with('{') {
                            meta.capabilities = Field::Valid;
                            meta.capabilities_raw = Some(raw);
                        } else {
                            meta.capabilities = Field::WrongType;
                        }
                    } else if *key == *META_TRACEPARENT {
                        meta.traceparent = map.next_value::<MaybeString>()?.0;
                    } else if *key == *META_TRACESTATE {
                        meta.tracestate = map.next_value::<MaybeString>()?.0;
                    } else {
                        map.next_value::<Skip>()?;
                    }
                }
                Ok(meta)
            }
        }
        d.deserialize_any(V)
    }
}
