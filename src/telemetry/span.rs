//! The request span: its fields, its parent and links, and what is recorded
//! on it as the request goes.

use std::sync::Arc;

use http::{HeaderMap, Method, Request, Response, Version};
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry::Context;
use tracing::field::Empty;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::config::TelemetryConfig;
use super::context;
use super::labels::{self, TargetKind};
use super::TARGET;
use crate::envelope::{Envelope, Message, MessageKind};
use crate::header_names::MCP_SESSION_ID;
use crate::rejection::Rejection;

/// A span not entered yet: its parent may still come from the body.
#[derive(Debug)]
pub(crate) struct Waiting {
    pub(crate) span: Span,
    pub(crate) header: Option<SpanContext>,
    pub(crate) config: Arc<TelemetryConfig>,
}

/// Longest name, method or id kept on a span (they come from the client).
const MAX_NAME: usize = 256;
/// Longest resource URI kept.
const MAX_URI: usize = 2048;

/// A new span for `req`, not entered; disabled when no subscriber wants it.
/// Every field the span can carry is declared here (`tracing` needs them up
/// front), most of them empty until the request says.
pub(crate) fn new<B>(req: &Request<B>) -> Span {
    let span = tracing::info_span!(
        target: TARGET,
        "mcp.server",
        otel.name = Empty,
        otel.kind = "server",
        otel.status_code = Empty,
        otel.status_description = Empty,
        mcp.method.name = Empty,
        gen_ai.tool.name = Empty,
        gen_ai.prompt.name = Empty,
        gen_ai.operation.name = Empty,
        mcp.resource.uri = Empty,
        mcp.task.id = Empty,
        jsonrpc.request.id = Empty,
        mcp.protocol.version = Empty,
        mcp.session.id = Empty,
        rpc.response.status_code = Empty,
        error.type = Empty,
        http.request.method = req.method().as_str(),
        http.response.status_code = Empty,
        network.protocol.name = "http",
        network.protocol.version = http_version(req.version()),
        network.transport = Empty,
        client.address = Empty,
        client.port = Empty,
    );
    // A callsite can be enabled by a subscriber on another thread while this
    // thread has none (thread-local subscribers share the interest cache):
    // such a span goes to `NoSubscriber` and counts as disabled.
    if span.is_disabled()
        || tracing::dispatcher::get_default(|d| d.is::<tracing::subscriber::NoSubscriber>())
    {
        return Span::none();
    }
    {
        if let Some(peer) = crate::peer::PeerAddr::of(req.extensions()) {
            span.record("network.transport", "tcp");
            span.record("client.address", tracing::field::display(peer.ip()));
            span.record("client.port", peer.port());
        }
    }
    span
}

/// The remote context the W3C headers name, if valid.
pub(crate) fn header_context(headers: &HeaderMap) -> Option<SpanContext> {
    let traceparent = headers.get("traceparent")?.to_str().ok()?;
    let tracestate = headers.get("tracestate").and_then(|v| v.to_str().ok());
    context::remote(traceparent, tracestate)
}

/// Sets the parent of a span whose body never named one: the header's
/// context, unless the span already sits under an ambient span (a tracing
/// layer outside this one took the header first).
pub(crate) fn adopt_header(span: &Span, header: Option<SpanContext>, ambient: bool) {
    if let (Some(header), false) = (header, ambient) {
        let _ = span.set_parent(Context::new().with_remote_span_context(header));
    }
}

/// A waiting span learns its request: the parent (the `_meta` context wins,
/// the header's becomes a link) and the message's fields.
pub(crate) fn adopt(waiting: &Waiting, envelope: &Envelope) {
    let span = &waiting.span;
    let meta = envelope
        .single()
        .and_then(|m| context::remote(m.meta_traceparent()?, m.meta_tracestate()));
    let ambient = Span::current();
    match meta {
        Some(meta) => {
            let _ = span.set_parent(Context::new().with_remote_span_context(meta));
            let transport = if ambient.is_none() {
                waiting.header.clone()
            } else {
                Some(ambient.context().span().span_context().clone()).filter(SpanContext::is_valid)
            };
            if let Some(transport) = transport {
                span.add_link(transport);
            }
        }
        None => adopt_header(span, waiting.header.clone(), !ambient.is_none()),
    }
    if let Some(message) = envelope.single() {
        record_message(span, message, &waiting.config);
    }
}

/// The message's fields, and the span's name.
fn record_message(span: &Span, message: &Message, config: &TelemetryConfig) {
    let Some(method) = message.method.as_deref() else {
        return;
    };
    span.record("mcp.method.name", clip(method, MAX_NAME));
    let method_label = labels::method(method);
    let kind = labels::target_kind(method);
    let mut name = method_label.to_owned();
    if let (Some(kind), Some(target)) = (kind, message.name.as_deref()) {
        span.record(kind.attribute(), clip(target, MAX_NAME));
        // The span is named before anything answered: no learning here.
        let label = config.targets.known_label(target);
        if &*label != labels::OTHER {
            name.push(' ');
            name.push_str(&label);
        }
    }
    if kind == Some(TargetKind::Tool) {
        span.record("gen_ai.operation.name", "execute_tool");
    }
    if let Some(uri) = message.uri.as_deref() {
        span.record("mcp.resource.uri", clip(uri, MAX_URI));
    }
    // A task is the target of tasks/get, tasks/update and tasks/cancel as a
    // tool is of tools/call; its id is unbounded, so it goes on the span
    // only, never into the span's name or a metric label.
    if let Some(task) = message.task_id.as_deref() {
        span.record("mcp.task.id", clip(task, MAX_NAME));
    }
    if message.kind == MessageKind::Request {
        if let Some(id) = message.id.as_ref().and_then(|id| id.as_str()) {
            span.record("jsonrpc.request.id", clip(id, MAX_NAME));
        }
    }
    span.record("otel.name", name.as_str());
}

/// What the response head says: status, refusal, session.
pub(crate) fn record_response<B>(
    span: &Span,
    response: &Response<B>,
    request_method: &Method,
    named: bool,
    protocol: Option<&'static str>,
    session: Option<crate::Tag>,
) {
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if !named {
        span.record("otel.name", request_method.as_str());
    }
    if let Some(version) = protocol {
        span.record("mcp.protocol.version", version);
    }
    if let Some(session) = session {
        span.record("mcp.session.id", tracing::field::display(session));
    }
    if let Some(rejection) = response.extensions().get::<Rejection>() {
        span.record("error.type", rejection.kind().as_str());
        span.record(
            "rpc.response.status_code",
            tracing::field::display(rejection.code()),
        );
        if status.is_server_error() {
            span.record("otel.status_code", "error");
            span.record("otel.status_description", rejection.message());
        }
    } else if status.is_server_error() {
        span.record("error.type", status.as_str());
        span.record("otel.status_code", "error");
    }
}

/// The session a request belongs to: the one it names, or the one its
/// `initialize` answer mints.
pub(crate) fn session_header<B>(
    request: Option<&http::HeaderValue>,
    response: &Response<B>,
) -> Option<crate::Tag> {
    let value = response.headers().get(MCP_SESSION_ID).or(request)?;
    Some(crate::keyed::tag_of(value.as_bytes()))
}

/// A body that failed while streaming.
pub(crate) fn record_body_error(span: &Span) {
    span.record("error.type", labels::OTHER);
    span.record("otel.status_code", "error");
    span.record("otel.status_description", "response body failed");
}

pub(crate) fn http_version(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

/// `s`, cut at a char boundary no later than `max` bytes.
fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
