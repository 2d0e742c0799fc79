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
//! assert_eq!(msg.kind(), MessageKind::Request);
//! assert_eq!(msg.method(), Some("tools/call"));
//! assert_eq!(msg.name(), Some("echo"));
//! assert_eq!(env.meta_protocol_version(), Some("2026-07-28"));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use crate::jsonrpc::RequestId;
use bytes::Bytes;
use serde_json::value::RawValue;

mod arguments;
mod method;
pub(crate) mod raw;
mod shape;

// Telemetry's method label reads the same list.
pub(crate) use arguments::Members;
#[cfg(feature = "telemetry")]
pub(crate) use method::known_method;
use method::Method;
pub use raw::MAX_BATCH_LEN;
use raw::{first_non_ws, Batch, MethodField, RawMessage, Skip};
pub(crate) use shape::{CompletionRef, Field};
use shape::{Meta, ParamsShape};
pub use shape::{
    META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, META_TRACEPARENT, META_TRACESTATE,
};

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
    pub(crate) kind: MessageKind,
    /// The `id`, for requests and responses.
    pub(crate) id: Option<RequestId>,
    /// The `method`, for requests and notifications.
    pub(crate) method: Option<Method>,
    /// `params._meta["io.modelcontextprotocol/protocolVersion"]`, when a string.
    pub(crate) protocol_version: Option<String>,
    /// `params.name`, when a string (tools/call, prompts/get).
    pub(crate) name: Option<String>,
    /// `params.uri`, when a string (resources/read).
    pub(crate) uri: Option<String>,
    /// `params.taskId`, when a string (`tasks/get`, `tasks/update`,
    /// `tasks/cancel` of the tasks extension).
    pub(crate) task_id: Option<String>,
    /// `params.protocolVersion`, when a string: the revision a legacy `initialize` asks for.
    pub(crate) initialize_version: Option<String>,
    meta: Meta,
    shape: ParamsShape,
    completion_ref: Option<CompletionRef>,
    has_arguments: bool,
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
        // JSON text is UTF-8 (RFC 8259, section 8.1). Checked once for the
        // whole body, the strings need no check of their own (F2: this also
        // covers the parts the parse skips).
        let text = std::str::from_utf8(bytes)
            .map_err(|e| EnvelopeError::Parse(format!("the body is not UTF-8: {e}")))?;
        let batch = first_non_ws(bytes) == Some(b'[');
        let messages: Arc<[Message]> = if batch {
            let raw = serde_json::from_str::<Batch<'_>>(text).map_err(|e| classify(bytes, e))?;
            if raw.0.is_empty() {
                return Err(EnvelopeError::Invalid("empty batch".to_owned()));
            }
            raw.0
                .into_iter()
                .map(|m| m.validate(bytes))
                .collect::<Result<_, _>>()?
        } else {
            // One message, the common case: straight into its one allocation.
            let raw =
                serde_json::from_str::<RawMessage<'_>>(text).map_err(|e| classify(bytes, e))?;
            Arc::new([raw.validate(bytes)?])
        };
        tracing::trace!(target: "mcp_tower_guard::envelope", batch, messages = messages.len(), "envelope parsed");
        Ok(Self {
            messages,
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
    pub(crate) fn arguments_json(&self, message: &Message) -> Option<&str> {
        match self.arguments(message, arguments::Want::Raw)? {
            arguments::Found::Raw(raw) => Some(raw.get()),
            arguments::Found::Members(_) => None,
        }
    }

    /// The members of `params.arguments` of `message`, as raw JSON values,
    /// when it is an object.
    pub(crate) fn argument_members(&self, message: &Message) -> Option<HashMap<String, &RawValue>> {
        match self.arguments(message, arguments::Want::Members)? {
            arguments::Found::Members(members) => members,
            arguments::Found::Raw(_) => None,
        }
    }

    /// Only a tool rule with mirrored parameters reads the arguments, so the
    /// parse keeps no span: the body is read a second time, here.
    fn arguments(&self, message: &Message, want: arguments::Want) -> Option<arguments::Found<'_>> {
        if !message.has_arguments {
            return None;
        }
        let index = if self.batch {
            Some(
                self.messages
                    .iter()
                    .position(|m| std::ptr::eq(m, message))?,
            )
        } else {
            None
        };
        // The parse accepted the body, so it is UTF-8.
        let text = std::str::from_utf8(&self.source).ok()?;
        arguments::arguments_of(text, index, want)
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

impl Message {
    /// Request, notification or response.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The `id`, for requests and responses.
    pub fn id(&self) -> Option<&RequestId> {
        self.id.as_ref()
    }

    /// The `method`, for requests and notifications.
    pub fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }

    /// `params._meta["io.modelcontextprotocol/protocolVersion"]`, when a string.
    pub fn protocol_version(&self) -> Option<&str> {
        self.protocol_version.as_deref()
    }

    /// `params.name`, when a string (`tools/call`, `prompts/get`).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// `params.uri`, when a string (`resources/read`).
    pub fn uri(&self) -> Option<&str> {
        self.uri.as_deref()
    }

    /// `params.taskId`, when a string (`tasks/get`, `tasks/update`,
    /// `tasks/cancel` of the tasks extension).
    pub fn task_id(&self) -> Option<&str> {
        self.task_id.as_deref()
    }

    /// `params.protocolVersion`, when a string: the revision a legacy
    /// `initialize` asks for.
    pub fn initialize_version(&self) -> Option<&str> {
        self.initialize_version.as_deref()
    }

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
                        && json(self.arguments_json(a).map(str::as_bytes))
                            == json(other.arguments_json(b).map(str::as_bytes))
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
            && self.has_arguments == other.has_arguments
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

impl RawMessage<'_> {
    fn validate(self, source: &[u8]) -> Result<Message, EnvelopeError> {
        if !self.jsonrpc.is_some_and(|v| v.0) {
            return Err(EnvelopeError::Invalid(
                r#""jsonrpc" must be "2.0""#.to_owned(),
            ));
        }
        let params = self.params.unwrap_or_default();
        let method = match self.method {
            Some(MethodField(Some(m))) => Some(m),
            Some(MethodField(None)) => {
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
            has_arguments: params.has_arguments,
        })
    }
}

#[cfg(test)]
mod tests;
