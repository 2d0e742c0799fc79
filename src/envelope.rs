//! The JSON-RPC envelope of a POST body, parsed only as far as the layers need.
//!
//! Whichever layer needs the envelope first (the headers layer, or the session
//! layer when it runs alone) reads the body ([`crate::read`]), parses it,
//! stores the [`Envelope`] in the request extensions and hands the same bytes
//! on in the same body type (see [`ReplayBody`](crate::body::ReplayBody)).
//! Later layers and the handler read it from there, so a body is parsed at most
//! once per request.
//!
//! The parser extracts `jsonrpc`, `id`, `method`, `params._meta`'s
//! `io.modelcontextprotocol/protocolVersion`, `params.name` and `params.uri`,
//! skipping everything else without building a JSON tree.
//!
//! ```
//! use mcp_tower_guard::envelope::{Envelope, MessageKind};
//!
//! let env = Envelope::parse(br#"{"jsonrpc":"2.0","id":1,"method":"tools/call",
//!     "params":{"name":"echo","arguments":{"text":"hi"},
//!     "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#).unwrap();
//! let msg = env.single().unwrap();
//! assert_eq!(msg.kind, MessageKind::Request);
//! assert_eq!(msg.method.as_deref(), Some("tools/call"));
//! assert_eq!(msg.name.as_deref(), Some("echo"));
//! assert_eq!(env.meta_protocol_version(), Some("2026-07-28"));
//! ```

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use crate::jsonrpc::RequestId;
use bytes::Bytes;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The `_meta` key carrying a 2026-07-28 request's protocol version.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// The `_meta` key carrying a 2026-07-28 request's client capabilities.
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// The `_meta` key carrying a W3C `traceparent` (SEP-414: reserved unprefixed
/// for OpenTelemetry trace context).
pub const META_TRACEPARENT: &str = "traceparent";
/// The `_meta` key carrying a W3C `tracestate` (SEP-414).
pub const META_TRACESTATE: &str = "tracestate";

/// The parsed JSON-RPC envelope of a POST body. Cloning is an `Arc` clone.
///
/// Two envelopes are equal when they say the same thing, however the JSON
/// was laid out.
#[derive(Clone)]
pub struct Envelope {
    messages: Arc<[Message]>,
    batch: bool,
    // The body the messages were parsed from (a reference count, not a copy):
    // `params.arguments` and the client capabilities are kept as spans into it
    // and parsed only when a rule needs them.
    source: Bytes,
}

/// What the layers know about one JSON-RPC message.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Message {
    /// Request, notification or response.
    pub kind: MessageKind,
    /// The `id`, for requests and responses.
    pub id: Option<RequestId>,
    /// The `method`, for requests and notifications.
    pub method: Option<String>,
    /// `params._meta["io.modelcontextprotocol/protocolVersion"]`, when a string.
    pub protocol_version: Option<String>,
    /// `params.name`, when a string (tools/call, prompts/get).
    pub name: Option<String>,
    /// `params.uri`, when a string (resources/read).
    pub uri: Option<String>,
    /// `params.taskId`, when a string (`tasks/get`, `tasks/update`,
    /// `tasks/cancel` of the tasks extension).
    pub task_id: Option<String>,
    /// `params.protocolVersion`, when a string: the revision a legacy `initialize` asks for.
    pub initialize_version: Option<String>,
    meta: Meta,
    shape: ParamsShape,
    completion_ref: Option<CompletionRef>,
    arguments: Option<Range<usize>>,
}

/// The target of a `completion/complete`: `params.ref`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CompletionRef {
    /// `{"type": "ref/prompt", "name": ...}`
    Prompt(String),
    /// `{"type": "ref/resource", "uri": ...}`
    Resource(String),
    /// A `ref` of another type, or whose name or uri is not a string.
    Malformed,
}

/// What `params` was, and whether its `name`, `uri` and `taskId` were strings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ParamsShape {
    /// `params` was a JSON array (by-position params).
    array: bool,
    name: Field,
    uri: Field,
    task_id: Field,
}

/// Whether a `_meta` field was sent, and in the type it must have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Field {
    /// Not in the body.
    #[default]
    Absent,
    /// Present, of the wrong JSON type.
    WrongType,
    /// Present, of the right type.
    Valid,
}

/// The 2026-07-28 per-request fields of `params._meta`, and the W3C trace
/// context SEP-414 reserves there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Meta {
    version: Field,
    capabilities: Field,
    capabilities_span: Option<Range<usize>>,
    traceparent: Option<Box<str>>,
    tracestate: Option<Box<str>>,
}

/// The three kinds of JSON-RPC message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageKind {
    /// Has `method` and `id`.
    Request,
    /// Has `method`, no `id`.
    Notification,
    /// Has `result` or `error`, and `id`.
    Response,
}

/// Why a body is not an acceptable JSON-RPC envelope.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Not valid JSON (-32700).
    #[error("parse error: {0}")]
    Parse(String),
    /// Valid JSON, but not a JSON-RPC 2.0 message or batch (-32600).
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl Envelope {
    /// Parses a POST body.
    pub fn parse(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        Self::parse_bytes(Bytes::copy_from_slice(bytes))
    }

    /// Parses a POST body the layer already holds, keeping a reference to it.
    pub(crate) fn parse_bytes(source: Bytes) -> Result<Self, EnvelopeError> {
        let bytes = &source[..];
        let result = match first_non_ws(bytes) {
            Some(b'[') => serde_json::from_slice::<Batch<'_>>(bytes).map(|v| (v.0, true)),
            _ => serde_json::from_slice::<RawMessage<'_>>(bytes).map(|m| (vec![m], false)),
        };
        let (raw, batch) = result.map_err(|e| classify(bytes, e))?;
        if raw.is_empty() {
            return Err(EnvelopeError::Invalid("empty batch".to_owned()));
        }
        let messages = raw
            .into_iter()
            .map(|m| m.validate(bytes))
            .collect::<Result<Vec<_>, _>>()?;
        tracing::trace!(target: "mcp_tower_guard::envelope", batch, messages = messages.len(), "envelope parsed");
        Ok(Self {
            messages: messages.into(),
            batch,
            source,
        })
    }

    /// True when the body was a JSON array (a batch, 2025-03-26 and earlier).
    pub fn is_batch(&self) -> bool {
        self.batch
    }

    /// All messages, in body order.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// The message, when the body was a single message (not a batch).
    pub fn single(&self) -> Option<&Message> {
        if self.batch {
            None
        } else {
            self.messages.first()
        }
    }

    /// The method of a single request or notification.
    pub fn method(&self) -> Option<&str> {
        self.single()?.method.as_deref()
    }

    /// True when the body is a single `initialize` request.
    pub fn is_initialize(&self) -> bool {
        self.single().is_some_and(|m| {
            m.kind == MessageKind::Request && m.method.as_deref() == Some("initialize")
        })
    }

    /// The legacy revision an `initialize` asks for in `params.protocolVersion`,
    /// when this crate knows it. `None` for any other body.
    pub(crate) fn requested_legacy_version(&self) -> Option<crate::protocol::ProtocolVersion> {
        use crate::protocol::{Era, ProtocolVersion};
        if !self.is_initialize() {
            return None;
        }
        let requested = self.single()?.initialize_version.as_deref()?;
        let version = ProtocolVersion::parse_bytes(requested.as_bytes())?;
        (version.era() == Era::Legacy && ProtocolVersion::KNOWN.contains(&version))
            .then_some(version)
    }

    /// True when any message of the body is `initialize` (which must not be batched).
    pub fn contains_initialize(&self) -> bool {
        self.messages
            .iter()
            .any(|m| m.method.as_deref() == Some("initialize"))
    }

    /// `_meta` protocol version of a single message.
    pub fn meta_protocol_version(&self) -> Option<&str> {
        self.single()?.protocol_version.as_deref()
    }

    /// True when every message is a notification or a response (answered with 202).
    pub fn only_notifications_or_responses(&self) -> bool {
        self.messages.iter().all(|m| m.kind != MessageKind::Request)
    }

    /// True when a single message's `_meta` carries
    /// `io.modelcontextprotocol/protocolVersion` (of any type): the body is
    /// shaped as 2026-07-28, whatever the version says.
    pub fn has_meta_protocol_version(&self) -> bool {
        self.single()
            .is_some_and(|m| m.meta.version != Field::Absent)
    }

    /// The raw JSON text of `params.arguments` of `message`, when present.
    pub(crate) fn arguments_json(&self, message: &Message) -> Option<&[u8]> {
        self.source.get(message.arguments.clone()?)
    }

    /// The raw JSON object of `_meta["io.modelcontextprotocol/clientCapabilities"]`.
    pub(crate) fn capabilities_json(&self, message: &Message) -> Option<&[u8]> {
        self.source.get(message.meta.capabilities_span.clone()?)
    }
}

/// The methods whose `Mcp-Name` header carries a body value, and which
/// `params` member that is (SEP-2243 for tools, prompts and resources;
/// SEP-2663, "Streamable HTTP: Routing Headers", for tasks).
pub(crate) fn named_target(method: &str) -> Option<NamedTarget> {
    match method {
        "tools/call" | "prompts/get" => Some(NamedTarget::Name),
        "resources/read" => Some(NamedTarget::Uri),
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some(NamedTarget::TaskId),
        _ => None,
    }
}

/// Which `params` member a method names its target by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NamedTarget {
    /// `params.name`.
    Name,
    /// `params.uri`.
    Uri,
    /// `params.taskId`.
    TaskId,
}

impl Field {
    /// A field that was sent: valid when it parsed as the type it must have.
    fn of<T>(value: &Option<T>) -> Self {
        if value.is_some() {
            Self::Valid
        } else {
            Self::WrongType
        }
    }
}

impl Message {
    /// Why the message's `params` cannot be keyed on, for the methods the
    /// layers key on: by-position (array) params, or a `name`, `uri` or
    /// `taskId` that is not a string. A handler that reads params loosely
    /// would otherwise run what no check looked at.
    /// The methods keyed on are those with a [`named_target`], and
    /// `completion/complete`, which names its target in `params.ref`.
    pub(crate) fn params_problem(&self) -> Option<&'static str> {
        let method = self.method.as_deref()?;
        let target = named_target(method);
        let completion = method == "completion/complete";
        if target.is_none() && !completion {
            return None;
        }
        if self.shape.array {
            return Some("params must be an object");
        }
        let Some(target) = target else {
            // The scope policy reads params.ref: it must name a prompt or a resource.
            return matches!(self.completion_ref, Some(CompletionRef::Malformed)).then_some(
                "params.ref must be {\"type\":\"ref/prompt\",\"name\":string} or {\"type\":\"ref/resource\",\"uri\":string}",
            );
        };
        let (field, what) = match target {
            NamedTarget::Name => (self.shape.name, "params.name must be a string"),
            NamedTarget::Uri => (self.shape.uri, "params.uri must be a string"),
            NamedTarget::TaskId => (self.shape.task_id, "params.taskId must be a string"),
        };
        (field == Field::WrongType).then_some(what)
    }

    /// The prompt or resource a `completion/complete` completes for.
    #[cfg(feature = "auth")]
    pub(crate) fn completion_ref(&self) -> Option<&CompletionRef> {
        self.completion_ref.as_ref()
    }

    /// What the message names, when its method names something: a tool's or
    /// prompt's `params.name`, a resource's `params.uri`, a task's
    /// `params.taskId`; else whichever of `name` and `uri` it carries (a
    /// `resources/subscribe`, a `completion/complete`). The value `Mcp-Name`
    /// mirrors, and what rate-limit `name` filters and keys compare.
    pub fn target(&self) -> Option<&str> {
        match self.method.as_deref().and_then(named_target) {
            Some(NamedTarget::Name) => self.name.as_deref(),
            Some(NamedTarget::Uri) => self.uri.as_deref(),
            Some(NamedTarget::TaskId) => self.task_id.as_deref(),
            None => self.name.as_deref().or(self.uri.as_deref()),
        }
    }

    /// `_meta["traceparent"]`, when a string: the W3C trace context the
    /// client's span sends with this message (SEP-414). Not validated here.
    pub fn meta_traceparent(&self) -> Option<&str> {
        self.meta.traceparent.as_deref()
    }

    /// `_meta["tracestate"]`, when a string (SEP-414).
    pub fn meta_tracestate(&self) -> Option<&str> {
        self.meta.tracestate.as_deref()
    }

    /// `_meta["io.modelcontextprotocol/protocolVersion"]`: absent, not a string, or a string.
    pub(crate) fn meta_version(&self) -> Field {
        self.meta.version
    }

    /// `_meta["io.modelcontextprotocol/clientCapabilities"]`: absent, not an object, or an object.
    pub(crate) fn meta_capabilities(&self) -> Field {
        self.meta.capabilities
    }
}

/// Where `raw` (borrowed from `source`) sits in `source`.
fn span_of(source: &[u8], raw: &RawValue) -> Option<Range<usize>> {
    let start = (raw.get().as_ptr() as usize).checked_sub(source.as_ptr() as usize)?;
    let end = start.checked_add(raw.get().len())?;
    (end <= source.len()).then_some(start..end)
}

impl PartialEq for Envelope {
    fn eq(&self, other: &Self) -> bool {
        let json = |span: Option<&[u8]>| {
            span.and_then(|raw| serde_json::from_slice::<serde_json::Value>(raw).ok())
        };
        self.batch == other.batch
            && self.messages.len() == other.messages.len()
            && self
                .messages
                .iter()
                .zip(other.messages.iter())
                .all(|(a, b)| {
                    a == b
                        && json(self.arguments_json(a)) == json(other.arguments_json(b))
                        && json(self.capabilities_json(a)) == json(other.capabilities_json(b))
                })
    }
}

/// Compares what a message says; where its raw parts sit in the body does not matter.
impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.id == other.id
            && self.method == other.method
            && self.protocol_version == other.protocol_version
            && self.name == other.name
            && self.uri == other.uri
            && self.task_id == other.task_id
            && self.initialize_version == other.initialize_version
            && self.shape == other.shape
            && self.completion_ref == other.completion_ref
            && self.meta.version == other.meta.version
            && self.meta.capabilities == other.meta.capabilities
            && self.arguments.is_some() == other.arguments.is_some()
    }
}

impl Eq for Message {}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("batch", &self.batch)
            .field("messages", &self.messages)
            .finish()
    }
}

fn first_non_ws(bytes: &[u8]) -> Option<u8> {
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
struct Skip;

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
struct Batch<'de>(Vec<RawMessage<'de>>);

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

/// A data error may hide a later syntax error; JSON-RPC wants -32700 for any invalid JSON.
fn classify(bytes: &[u8], err: serde_json::Error) -> EnvelopeError {
    match err.classify() {
        serde_json::error::Category::Data => match serde_json::from_slice::<Skip>(bytes) {
            Ok(_) => EnvelopeError::Invalid(err.to_string()),
            Err(syntax) => EnvelopeError::Parse(syntax.to_string()),
        },
        _ => EnvelopeError::Parse(err.to_string()),
    }
}

/// One message, read field by field. Written by hand (not derived) because a
/// derived struct also accepts a JSON array of its fields, and a JSON-RPC
/// message must be an object (fuzzing finding F1, see SECURITY.md).
#[derive(Default)]
struct RawMessage<'de> {
    jsonrpc: Option<IsV2>,
    id: Option<RequestId>,
    method: Option<MaybeString>,
    params: Option<RawParams<'de>>,
    result: Option<Skip>,
    error: Option<Skip>,
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
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
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

impl RawMessage<'_> {
    fn validate(self, source: &[u8]) -> Result<Message, EnvelopeError> {
        if !self.jsonrpc.is_some_and(|v| v.0) {
            return Err(EnvelopeError::Invalid(
                r#""jsonrpc" must be "2.0""#.to_owned(),
            ));
        }
        let params = self.params.unwrap_or_default();
        let method = match self.method {
            Some(MaybeString(Some(m))) => Some(m),
            Some(MaybeString(None)) => {
                return Err(EnvelopeError::Invalid(
                    r#""method" must be a string"#.to_owned(),
                ))
            }
            None => None,
        };
        let kind = match (&method, &self.id) {
            (Some(_), None) => MessageKind::Notification,
            (Some(_), Some(RequestId::Null)) => {
                return Err(EnvelopeError::Invalid(
                    "request id must not be null".to_owned(),
                ))
            }
            (Some(_), Some(_)) => MessageKind::Request,
            (None, Some(_)) if self.result.is_some() || self.error.is_some() => {
                MessageKind::Response
            }
            (None, _) => {
                return Err(EnvelopeError::Invalid(
                    "not a JSON-RPC request, notification or response".to_owned(),
                ))
            }
        };
        let meta = Meta {
            version: params.meta.version,
            capabilities: params.meta.capabilities,
            capabilities_span: params
                .meta
                .capabilities_raw
                .and_then(|raw| span_of(source, raw)),
            traceparent: params.meta.traceparent.map(String::into_boxed_str),
            tracestate: params.meta.tracestate.map(String::into_boxed_str),
        };
        Ok(Message {
            kind,
            id: self.id,
            method,
            protocol_version: params.meta.version_value,
            name: params.name,
            uri: params.uri,
            task_id: params.task_id,
            initialize_version: params.initialize_version,
            meta,
            shape: params.shape,
            completion_ref: params.completion_ref,
            arguments: params.arguments.and_then(|raw| span_of(source, raw)),
        })
    }
}

/// A value kept when it is a string and skipped (as `None`) when it is anything else.
/// Whether `jsonrpc` is the string `"2.0"`, compared where serde hands it
/// over: nothing is allocated for it. Any other value (of any type) is false.
#[derive(Default)]
struct IsV2(bool);

/// A string value, owned; any other JSON value is `None`.
#[derive(Default)]
struct MaybeString(Option<String>);

/// What a field keeps of a JSON value that should be a string: built from
/// the string, or the default for any other type (which is skipped whole).
trait FromJsonStr: Default {
    fn from_json_str(v: &str) -> Self;
}

impl FromJsonStr for IsV2 {
    fn from_json_str(v: &str) -> Self {
        Self(v == "2.0")
    }
}

impl FromJsonStr for MaybeString {
    fn from_json_str(v: &str) -> Self {
        Self(Some(v.to_owned()))
    }
}

/// The one visitor of [`FromJsonStr`] fields.
struct StrField<T>(std::marker::PhantomData<T>);

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
struct RawParams<'de> {
    meta: RawMeta<'de>,
    initialize_version: Option<String>,
    name: Option<String>,
    uri: Option<String>,
    task_id: Option<String>,
    shape: ParamsShape,
    completion_ref: Option<CompletionRef>,
    arguments: Option<&'de RawValue>,
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
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
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
                            // Kept raw; only tools with mirrored parameters look inside.
                            let raw = map.next_value::<&'de RawValue>()?;
                            // Every skipped string is decoded (F2): do the same here.
                            serde_json::from_str::<Skip>(raw.get()).map_err(de::Error::custom)?;
                            params.arguments = Some(raw);
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
struct RawRef(CompletionRef);

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
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
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
struct RawMeta<'de> {
    version: Field,
    version_value: Option<String>,
    capabilities: Field,
    capabilities_raw: Option<&'de RawValue>,
    traceparent: Option<String>,
    tracestate: Option<String>,
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
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == META_PROTOCOL_VERSION {
                        let value = map.next_value::<MaybeString>()?.0;
                        meta.version = if value.is_some() {
                            Field::Valid
                        } else {
                            Field::WrongType
                        };
                        meta.version_value = value;
                    } else if key == META_CLIENT_CAPABILITIES {
                        let raw = map.next_value::<&'de RawValue>()?;
                        serde_json::from_str::<Skip>(raw.get()).map_err(de::Error::custom)?;
                        if raw.get().starts_with('{') {
                            meta.capabilities = Field::Valid;
                            meta.capabilities_raw = Some(raw);
                        } else {
                            meta.capabilities = Field::WrongType;
                        }
                    } else if key == META_TRACEPARENT {
                        meta.traceparent = map.next_value::<MaybeString>()?.0;
                    } else if key == META_TRACESTATE {
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

#[cfg(test)]
mod tests;
