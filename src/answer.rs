//! Reading the inner service's answers: the one JSON-RPC answer parser, and
//! the one `text/event-stream` reader, that every layer reading answers uses
//! (the session layer's commit rule, the headers layer's status mapping and
//! tool learning, telemetry's outcome). A JSON answer is parsed once: a layer
//! that read it whole hands what it says to telemetry (`observe::answer_read`).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::envelope::raw::JsonKey;
use crate::jsonrpc::RequestId;

#[cfg(test)]
thread_local! {
    /// How many answers this thread parsed (a test counts a stack's parses).
    pub(crate) static PARSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// One JSON-RPC message of an answer, its members left unparsed.
#[derive(Debug, Deserialize)]
pub(crate) struct Answer<'a> {
    #[serde(borrow)]
    method: Option<&'a RawValue>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

/// The members of a JSON-RPC `error` the layers read.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ErrorObject {
    pub(crate) code: i64,
    #[cfg_attr(not(feature = "telemetry"), allow(dead_code))] // read by telemetry only
    pub(crate) message: Option<String>,
}

impl<'a> Answer<'a> {
    /// The message in `bytes`; `None` when it is not a JSON object (a batch,
    /// not JSON).
    pub(crate) fn parse(bytes: &'a [u8]) -> Option<Self> {
        #[cfg(test)]
        PARSES.with(|n| n.set(n.get() + 1));
        serde_json::from_slice(bytes).ok()
    }

    /// Whether this is the response to the request `id`: no `method` (a
    /// server's own request may reuse an id: ids are per sender), and the
    /// same id (strings exactly, numbers by value: a server may write `1.0`).
    pub(crate) fn responds_to(&self, id: &RequestId) -> bool {
        self.method.is_none() && self.id.is_some_and(|raw| same_id(raw, id))
    }

    /// The `result`, when the message has one and no `error`.
    pub(crate) fn result(&self) -> Option<&'a RawValue> {
        match (self.result, self.error) {
            (Some(result), None) => Some(result),
            _ => None,
        }
    }

    /// The `error`'s code and message, when it has the shape JSON-RPC gives it.
    pub(crate) fn error(&self) -> Option<ErrorObject> {
        serde_json::from_str(self.error?.get()).ok()
    }

    /// A member of the `result` object, read as `T`; `None` when the result
    /// is not an object, lacks the member, or holds it in another type. The
    /// other members are skipped, not collected.
    pub(crate) fn result_member<T: Deserialize<'a>>(&self, name: &str) -> Option<T> {
        let result = self.result()?;
        let mut reader = serde_json::Deserializer::from_str(result.get());
        Member {
            name,
            found: std::marker::PhantomData,
        }
        .deserialize(&mut reader)
        .ok()
        .flatten()
    }
}

/// Finds one member of a JSON object as the object is read.
struct Member<'n, T> {
    name: &'n str,
    found: std::marker::PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Member<'_, T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for Member<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<JsonKey<'de>>()? {
            if found.is_none() && *key == *self.name {
                found = Some(map.next_value::<T>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

fn same_id(raw: &RawValue, id: &RequestId) -> bool {
    match (RequestId::from_raw(raw), id) {
        (Some(RequestId::String(a)), RequestId::String(b)) => a == *b,
        (Some(RequestId::Number(a)), RequestId::Number(b)) => {
            a == *b || numeric_eq(&a, b).unwrap_or(false)
        }
        _ => false,
    }
}

fn numeric_eq(a: &str, b: &str) -> Option<bool> {
    let a: serde_json::Number = serde_json::from_str(a).ok()?;
    let b: serde_json::Number = serde_json::from_str(b).ok()?;
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x == y);
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x == y);
    }
    Some(a.as_f64()? == b.as_f64()?)
}

/// What feeding an event stream found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fed<T> {
    /// Nothing decided yet.
    More,
    /// A `message` event decided.
    Found(T),
    /// A line or an event grew past the reader's bound: it gives up.
    TooLarge,
}

/// An incremental reader of a `text/event-stream` body that hands each
/// `message` event's data to its caller. Follows the WHATWG event-stream
/// rules: lines end in CRLF, LF or CR; a UTF-8 BOM opens the stream; `data`
/// lines join with LF; a blank line dispatches; an event of another type is
/// skipped (MCP clients read only `message` events, the default type); an
/// event cut off by the end of the stream is never dispatched.
#[derive(Debug)]
pub(crate) struct SseEvents {
    line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    other_type: bool,
    /// The previous chunk ended in CR: a leading LF now belongs to it.
    after_cr: bool,
    /// Past the first line (a BOM is stripped from the first only).
    started: bool,
    max: usize,
}

impl SseEvents {
    /// A reader that gives up on a line or an event larger than `max` bytes.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            line: Vec::new(),
            data: Vec::new(),
            has_data: false,
            other_type: false,
            after_cr: false,
            started: false,
            max,
        }
    }

    /// Feeds the next bytes; `on_message` sees each complete `message`
    /// event's data, and the first `Some` it returns ends the feed.
    pub(crate) fn feed<T>(
        &mut self,
        mut chunk: &[u8],
        mut on_message: impl FnMut(&[u8]) -> Option<T>,
    ) -> Fed<T> {
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        while !chunk.is_empty() {
            let Some(end) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.line.extend_from_slice(chunk);
                break;
            };
            self.line.extend_from_slice(&chunk[..end]);
            let cr = chunk[end] == b'\r';
            chunk = &chunk[end + 1..];
            if cr {
                match chunk.first() {
                    Some(b'\n') => chunk = &chunk[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            if let Some(found) = self.end_line(&mut on_message) {
                return Fed::Found(found);
            }
            if self.data.len() > self.max {
                return Fed::TooLarge;
            }
        }
        if self.line.len() + self.data.len() > self.max {
            return Fed::TooLarge;
        }
        Fed::More
    }

    fn end_line<T>(&mut self, on_message: &mut impl FnMut(&[u8]) -> Option<T>) -> Option<T> {
        let mut line = std::mem::take(&mut self.line);
        let mut text = line.as_slice();
        if !self.started {
            self.started = true;
            text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        }
        let found = if text.is_empty() {
            let found = if self.has_data && !self.other_type {
                // The final LF of the joined data lines is not part of the data.
                self.data.pop();
                on_message(&self.data)
            } else {
                None
            };
            self.data.clear();
            self.has_data = false;
            self.other_type = false;
            found
        } else {
            let (field, value) = match text.iter().position(|&b| b == b':') {
                Some(colon) => {
                    let value = &text[colon + 1..];
                    (&text[..colon], value.strip_prefix(b" ").unwrap_or(value))
                }
                None => (text, &b""[..]),
            };
            if field == b"data" {
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
                self.has_data = true;
            } else if field == b"event" {
                self.other_type = !value.is_empty() && value != b"message";
            }
            None
        };
        line.clear();
        self.line = line;
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_read_once_for_every_reader() {
        let id = RequestId::Number("1".into());
        let ok = Answer::parse(br#"{"jsonrpc":"2.0","id":1.0,"result":{"protocolVersion":"2025-06-18","isError":true}}"#)
            .unwrap();
        assert!(ok.responds_to(&id));
        assert_eq!(
            ok.result_member::<&str>("protocolVersion"),
            Some("2025-06-18")
        );
        assert_eq!(ok.result_member::<bool>("isError"), Some(true));
        assert!(ok.error().is_none());
        assert_eq!(
            ok.result_member::<bool>("protocolVersion"),
            None,
            "another type"
        );
        assert_eq!(ok.result_member::<bool>("absent"), None);
        let escaped =
            Answer::parse(br#"{"jsonrpc":"2.0","id":1,"result":{"is\u0045rror":true}}"#).unwrap();
        assert_eq!(
            escaped.result_member::<bool>("isError"),
            Some(true),
            "escaped name"
        );
        let list = Answer::parse(br#"{"jsonrpc":"2.0","id":1,"result":[1]}"#).unwrap();
        assert_eq!(list.result_member::<bool>("isError"), None, "not an object");
        let err =
            Answer::parse(br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad"}}"#)
                .unwrap();
        assert!(err.result().is_none());
        let e = err.error().unwrap();
        assert_eq!((e.code, e.message.as_deref()), (-32602, Some("bad")));
        // A server's own request that reuses the id answers nothing.
        let request = Answer::parse(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).unwrap();
        assert!(!request.responds_to(&id));
        assert!(Answer::parse(b"[1]").is_none());
    }

    #[test]
    fn events_split_on_every_line_ending_and_skip_other_types() {
        let mut events = SseEvents::new(64);
        let mut seen = Vec::new();
        let stream: &[&[u8]] = &[
            b"\xEF\xBB\xBFdata: a\r",
            b"\ndata: b\r\n\r\nevent: ping\ndata: skipped\n\n",
            b"data:c\r\r",
        ];
        for chunk in stream {
            let fed = events.feed(chunk, |data| {
                seen.push(data.to_vec());
                None::<()>
            });
            assert_eq!(fed, Fed::More);
        }
        assert_eq!(seen, vec![b"a\nb".to_vec(), b"c".to_vec()]);
        let mut big = SseEvents::new(4);
        assert_eq!(big.feed(b"data: 123456\n", |_| None::<()>), Fed::TooLarge);
    }
}
