//! The second look at a message's `params.arguments`, taken only when a tool
//! rule with mirrored parameters reads them: where the arguments stand in the
//! body, as raw text or as raw members.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::raw::JsonKey;

/// What the second look at `params.arguments` keeps ([`arguments_of`]).
#[derive(Clone, Copy)]
pub(super) enum Want {
    /// The raw text of the value.
    Raw,
    /// The raw members of the value, when it is an object (`None` otherwise).
    Members,
}

/// `params.arguments`, as [`Want`] asked.
pub(super) enum Found<'de> {
    Raw(&'de RawValue),
    Members(Option<HashMap<String, &'de RawValue>>),
}

/// `params.arguments` of the message at `index` of a batch (of the body
/// itself when `None`), borrowed from `source`: the second look a tool rule
/// with mirrored parameters takes. The first parse has already decoded and
/// accepted the body, so this one skips without decoding (and, reading text,
/// does not check the UTF-8 of raw values again). A repeated key counts
/// last, as in the first parse.
pub(super) fn arguments_of(source: &str, index: Option<usize>, want: Want) -> Option<Found<'_>> {
    let mut de = serde_json::Deserializer::from_str(source);
    let at = match index {
        None => Place::Message,
        Some(n) => Place::Batch(n),
    };
    de::DeserializeSeed::deserialize(ArgumentsIn { at, want }, &mut de)
        .ok()
        .flatten()
}

/// Where [`arguments_of`] is looking.
#[derive(Clone, Copy)]
enum Place {
    Batch(usize),
    Message,
    Params,
}

#[derive(Clone, Copy)]
struct ArgumentsIn {
    at: Place,
    want: Want,
}

impl ArgumentsIn {
    fn to(self, at: Place) -> Self {
        Self { at, ..self }
    }
}

impl<'de> de::DeserializeSeed<'de> for ArgumentsIn {
    type Value = Option<Found<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ArgumentsIn {
    type Value = Option<Found<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC message or batch")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        let mut at = 0;
        loop {
            let more = match self.at {
                Place::Batch(n) if at == n => seq
                    .next_element_seed(self.to(Place::Message))?
                    .map(|f| found = f),
                _ => seq.next_element::<de::IgnoredAny>()?.map(drop),
            };
            if more.is_none() {
                return Ok(found);
            }
            at += 1;
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<JsonKey<'de>>()? {
            match (self.at, &*key, self.want) {
                (Place::Message, "params", _) => {
                    found = map.next_value_seed(self.to(Place::Params))?;
                }
                (Place::Params, "arguments", Want::Raw) => {
                    found = Some(Found::Raw(map.next_value::<&'de RawValue>()?));
                }
                (Place::Params, "arguments", Want::Members) => {
                    found = Some(Found::Members(map.next_value::<Members<'de>>()?.0));
                }
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
    // Anything else (params that are not an object) holds no arguments.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// The raw members of an object (a repeated key counts last); `None` for
/// any other value.
pub(crate) struct Members<'de>(pub(crate) Option<HashMap<String, &'de RawValue>>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = HashMap::new();
                while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
                    members.insert(key, value);
                }
                Ok(Members(Some(members)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Members<'de>, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Members(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Members<'de>, E> {
                Ok(Members(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Members<'de>, E> {
                Ok(Members(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Members<'de>, E> {
                Ok(Members(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Members<'de>, E> {
                Ok(Members(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Members<'de>, E> {
                Ok(Members(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Members<'de>, E> {
                Ok(Members(None))
            }
        }
        d.deserialize_any(V)
    }
}
