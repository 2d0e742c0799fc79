//! What the parse keeps of a message beyond its method and id: the `_meta`
//! keys and fields, and the shape of `params`, shared by the raw parse
//! (`raw.rs`) and the [`Message`](super::Message) it builds.

use std::ops::Range;

/// The `_meta` key carrying a 2026-07-28 request's protocol version.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// The `_meta` key carrying a 2026-07-28 request's client capabilities.
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// The `_meta` key carrying a W3C `traceparent` (SEP-414: reserved unprefixed
/// for OpenTelemetry trace context).
pub const META_TRACEPARENT: &str = "traceparent";
/// The `_meta` key carrying a W3C `tracestate` (SEP-414).
pub const META_TRACESTATE: &str = "tracestate";

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
pub(super) struct ParamsShape {
    /// `params` was a JSON array (by-position params).
    pub(super) array: bool,
    pub(super) name: Field,
    pub(super) uri: Field,
    pub(super) task_id: Field,
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

impl Field {
    /// A field that was sent: valid when it parsed as the type it must have.
    pub(super) fn of<T>(value: &Option<T>) -> Self {
        if value.is_some() {
            Self::Valid
        } else {
            Self::WrongType
        }
    }
}

/// The 2026-07-28 per-request fields of `params._meta`, and the W3C trace
/// context SEP-414 reserves there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Meta {
    pub(super) version: Field,
    pub(super) capabilities: Field,
    pub(super) capabilities_span: Option<Range<usize>>,
    pub(super) traceparent: Option<Box<str>>,
    pub(super) tracestate: Option<Box<str>>,
}
