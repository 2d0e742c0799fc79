//! The headers layer's decisions, as pure functions of the request head and
//! (for POST) its parsed envelope. The service only sequences them.

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Response};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use super::config::HeadersConfig;
use super::media::{self, EVENT_STREAM, JSON};
use super::name::decode_value;
use super::tools::{ParamHeader, ToolRule};
use crate::envelope::{named_target, Envelope, Field, Message, MessageKind};
use crate::header_names::{MCP_METHOD, MCP_NAME, MCP_PROTOCOL_VERSION, X_ACCEL_BUFFERING};
use crate::protocol::{
    era_with, Era, ProtocolVersion, RequestProtocol, VersionHeader, VersionSource,
};
use crate::rejection::{error_code, Rejection, RejectionKind};

/// What the head of a request decides.
#[derive(Debug)]
pub(crate) enum Head {
    /// GET or DELETE: accepted without a body; forward with this protocol.
    Ready(RequestProtocol),
    /// POST: the envelope decides the rest. `deferred` is a 406 or 415 the
    /// head already earned: it is answered once the body is read, so that it
    /// carries the request's id.
    Post { deferred: Option<Rejection> },
}

const ALLOW_LEGACY: &str = "GET, POST, DELETE";
const ALLOW_MODERN: &str = "POST";

impl HeadersConfig {
    pub(super) fn serves_legacy(&self) -> bool {
        self.supported.has_era(Era::Legacy)
    }

    fn method_not_allowed(&self, method: &Method) -> Rejection {
        let allow = if self.serves_legacy() {
            ALLOW_LEGACY
        } else {
            ALLOW_MODERN
        };
        Rejection::new(
            RejectionKind::MethodNotAllowed,
            format!("Method Not Allowed: {method} (allowed: {allow})"),
        )
        .with_allow(HeaderValue::from_static(allow))
    }

    /// Checks everything decided by the method and headers alone: the method,
    /// `Accept`, `Content-Type`, and for GET/DELETE the protocol version.
    pub(crate) fn check_head(
        &self,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<Head, Rejection> {
        self.check_mcp_header_budget(headers)?;
        if method == Method::POST {
            let deferred = if self.check_accept
                && !media::accepts_all(headers, &[JSON, EVENT_STREAM])
            {
                Some(Rejection::new(
                    RejectionKind::NotAcceptable,
                    "Not Acceptable: Client must accept both application/json and text/event-stream",
                ))
            } else if self.check_content_type && !media::is_json_request(headers) {
                Some(Rejection::new(
                    RejectionKind::UnsupportedMediaType,
                    "Unsupported Media Type: Content-Type must be application/json",
                ))
            } else {
                None
            };
            return Ok(Head::Post { deferred });
        }
        if method != Method::GET && method != Method::DELETE {
            return Err(self.method_not_allowed(method));
        }
        // GET streams and DELETE exist only in the legacy era.
        let header = VersionHeader::read(headers);
        let modern_header = matches!(header, VersionHeader::Valid(v) if v.era() == Era::Modern);
        if !self.serves_legacy() || modern_header {
            return Err(Rejection::new(
                RejectionKind::MethodNotAllowed,
                format!(
                    "Method Not Allowed: {method} is not part of protocol version {}; use POST",
                    ProtocolVersion::FIRST_MODERN
                ),
            )
            .with_allow(HeaderValue::from_static(ALLOW_MODERN)));
        }
        if method == Method::GET
            && self.check_accept
            && !media::accepts_all(headers, &[EVENT_STREAM])
        {
            return Err(Rejection::new(
                RejectionKind::NotAcceptable,
                "Not Acceptable: Client must accept text/event-stream",
            ));
        }
        self.legacy_version(header).map(Head::Ready)
    }

    /// Caps the `Mcp-*` headers, which clients mirror from tool arguments: at
    /// most `max_mcp_headers` of them, `max_mcp_header_bytes` in all, else 431
    /// before anything else is looked at.
    fn check_mcp_header_budget(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        let (mut count, mut bytes) = (0usize, 0usize);
        for (name, value) in headers {
            if name.as_str().starts_with("mcp-") {
                count += 1;
                bytes += name.as_str().len() + value.len();
            }
        }
        if count > self.max_mcp_headers || bytes > self.max_mcp_header_bytes {
            return Err(Rejection::new(
                RejectionKind::HeadersTooLarge,
                format!(
                    "Request Header Fields Too Large: {count} Mcp-* headers of {bytes} bytes (at most {} headers, {} bytes)",
                    self.max_mcp_headers, self.max_mcp_header_bytes
                ),
            ));
        }
        Ok(())
    }

    /// The 413 for a `Content-Length` over the limit, before any byte is read.
    pub(crate) fn check_content_length(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        self.limits.check_content_length(headers)
    }

    /// Checks a POST against its parsed envelope and decides its protocol.
    pub(crate) fn check_envelope(
        &self,
        headers: &HeaderMap,
        envelope: &Envelope,
    ) -> Result<RequestProtocol, Rejection> {
        // The one read of the version header for a POST.
        let header = VersionHeader::read(headers);
        match era_with(
            header,
            &Method::POST,
            headers,
            envelope.has_meta_protocol_version(),
        ) {
            Era::Modern => self.check_modern(headers, header, envelope),
            Era::Legacy => self.check_legacy(header, envelope),
        }
    }

    /// The version of a legacy-era request (2024-11-05 to 2025-11-25).
    fn legacy_version(&self, header: VersionHeader<'_>) -> Result<RequestProtocol, Rejection> {
        match header {
            VersionHeader::Valid(version) if self.supported.contains(version) => Ok(RequestProtocol::new(version, version.era(), VersionSource::Header)),
            VersionHeader::Valid(version) => Err(self.unsupported_legacy(&version.to_string())),
            VersionHeader::Invalid(raw) => {
                Err(self.unsupported_legacy(&String::from_utf8_lossy(raw)))
            }
            // 2025-06-18 and later: "the server SHOULD assume protocol version 2025-03-26".
            VersionHeader::Absent if self.serves_legacy() => Ok(RequestProtocol::new(ProtocolVersion::LEGACY_DEFAULT, Era::Legacy, VersionSource::Assumed)),
            // 2026-07-28: "A server that does not support such clients MUST reject a
            // request without the header per Server Validation."
            VersionHeader::Absent => Err(Rejection::new(
                RejectionKind::HeaderMismatch,
                format!(
                    "Header mismatch: MCP-Protocol-Version header is required (supported versions: {})",
                    self.supported_list()
                ),
            )
            .with_data(json!({ "supported": self.supported.to_strings() }))),
        }
    }

    fn check_legacy(
        &self,
        header: VersionHeader<'_>,
        envelope: &Envelope,
    ) -> Result<RequestProtocol, Rejection> {
        // A header on `initialize` is validated like any other (see the module docs:
        // "A header on `initialize` is validated too when present").
        let mut protocol = self.legacy_version(header)?;
        // An `initialize` without the header speaks the revision it asks
        // for: a handler that echoes `RequestProtocol` negotiates that one.
        if protocol.source() == VersionSource::Assumed {
            if let Some(version) = envelope
                .requested_legacy_version()
                .filter(|v| self.supported.contains(*v))
            {
                protocol = RequestProtocol::new(version, Era::Legacy, VersionSource::Initialize);
            }
        }
        if envelope.is_batch() {
            if envelope.contains_initialize() {
                return Err(Rejection::new(
                    RejectionKind::InvalidRequest,
                    "Invalid Request: the initialize request must not be part of a JSON-RPC batch",
                ));
            }
            let allowed = if protocol.assumed() {
                self.supported.as_slice().iter().any(|v| v.allows_batch())
            } else {
                protocol.version().allows_batch()
            };
            if !allowed {
                return Err(Rejection::new(
                    RejectionKind::BatchNotAllowed,
                    format!(
                        "Invalid Request: JSON-RPC batches are not allowed in protocol version {}",
                        protocol.version()
                    ),
                ));
            }
        }
        check_params(envelope)?;
        Ok(protocol)
    }

    fn check_modern(
        &self,
        headers: &HeaderMap,
        header: VersionHeader<'_>,
        envelope: &Envelope,
    ) -> Result<RequestProtocol, Rejection> {
        let version = self.modern_version(headers, header)?;
        // "The body of the HTTP POST MUST be a single JSON-RPC request or notification.
        // The client MUST NOT send JSON-RPC responses."
        let Some(message) = envelope.single() else {
            return Err(Rejection::new(
                RejectionKind::BatchNotAllowed,
                format!("Invalid Request: JSON-RPC batches are not allowed in protocol version {version}"),
            ));
        };
        if message.kind == MessageKind::Response {
            return Err(Rejection::new(
                RejectionKind::InvalidRequest,
                format!("Invalid Request: clients must not send JSON-RPC responses in protocol version {version}"),
            ));
        }
        let method = message.method.as_deref().unwrap_or_default();
        // "If the server does not implement the requested RPC method, it MUST respond
        // with 404 Not Found and a JSON-RPC error with code -32601": methods this
        // revision removed are implemented by no 2026-07-28 server.
        if version.removed_method(method) {
            return Err(Rejection::new(
                RejectionKind::MethodNotFound,
                format!("Method not found: {method} is not part of protocol version {version}"),
            ));
        }
        check_params(envelope)?;
        check_meta(message, version)?;
        check_standard_headers(headers, message, method)?;
        if method == "tools/call" && message.kind == MessageKind::Request {
            if let Some(tool) = message.name.as_deref() {
                if let Some(rule) = self.tools.lookup(tool) {
                    check_tool(headers, envelope, message, tool, &rule)?;
                }
            }
        }
        Ok(RequestProtocol::new(
            version,
            Era::Modern,
            VersionSource::Header,
        ))
    }

    /// The `MCP-Protocol-Version` of a modern request: required, one value, supported.
    fn modern_version(
        &self,
        headers: &HeaderMap,
        header: VersionHeader<'_>,
    ) -> Result<ProtocolVersion, Rejection> {
        let value = match header {
            VersionHeader::Valid(version) if self.supported.contains(version) => {
                return Ok(version)
            }
            // "whether the version is unknown to the server, or is a known version the
            // server has chosen not to support": -32022, echoing what was sent.
            VersionHeader::Valid(version) => {
                return Err(self.unsupported_modern(&version.to_string()))
            }
            VersionHeader::Absent => {
                return Err(mismatch("MCP-Protocol-Version header is missing"))
            }
            // Rare paths: look at the values again to say what is wrong.
            VersionHeader::Invalid(_)
                if headers
                    .get_all(MCP_PROTOCOL_VERSION)
                    .iter()
                    .nth(1)
                    .is_some() =>
            {
                return Err(mismatch("MCP-Protocol-Version header is repeated"))
            }
            VersionHeader::Invalid(raw) => trim_ows(raw),
        };
        match ProtocolVersion::parse_bytes(value) {
            Some(version) if self.supported.contains(version) => Ok(version),
            _ if !value.is_empty() && value.iter().all(|b| (0x21..=0x7e).contains(b)) => {
                Err(self.unsupported_modern(&String::from_utf8_lossy(value)))
            }
            _ => Err(mismatch(format!(
                "MCP-Protocol-Version header value {} is malformed",
                shown(value)
            ))),
        }
    }

    fn supported_list(&self) -> String {
        self.supported.to_strings().join(", ")
    }

    fn unsupported_legacy(&self, requested: &str) -> Rejection {
        Rejection::new(
            RejectionKind::UnsupportedProtocolVersion,
            format!(
                "Bad Request: Unsupported protocol version: {requested} (supported versions: {})",
                self.supported_list()
            ),
        )
        .with_data(json!({ "supported": self.supported.to_strings(), "requested": requested }))
    }

    fn unsupported_modern(&self, requested: &str) -> Rejection {
        Rejection::new(
            RejectionKind::UnsupportedProtocolVersion,
            format!(
                "Unsupported protocol version: {requested} (supported versions: {})",
                self.supported_list()
            ),
        )
        .with_code(error_code::UNSUPPORTED_PROTOCOL_VERSION)
        .with_data(json!({ "supported": self.supported.to_strings(), "requested": requested }))
    }

    /// Adds the response headers: `X-Content-Type-Options: nosniff`, `Server`
    /// when configured, `MCP-Protocol-Version` when the request declared one, and
    /// for SSE `X-Accel-Buffering: no` and `Cache-Control: no-cache`. Never
    /// overwrites a header the response already has.
    pub(crate) fn decorate<B>(&self, response: &mut Response<B>, echo: Option<ProtocolVersion>) {
        let headers = response.headers_mut();
        insert_absent(
            headers,
            http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if let Some(server) = &self.server {
            insert_absent(headers, http::header::SERVER, server.clone());
        }
        if let Some(version) = echo {
            insert_absent(headers, MCP_PROTOCOL_VERSION, version.to_header_value());
        }
        if media::is_event_stream(headers) {
            insert_absent(headers, X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
            insert_absent(
                headers,
                http::header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache"),
            );
        }
    }
}

/// The 2026-07-28 per-request `_meta` fields: "A request missing any required
/// field is malformed; the server MUST reject it with JSON-RPC error code
/// -32602 (Invalid params). On HTTP, the response status MUST be 400", and the
/// protocol version "MUST match" the header (-32020). The revision defines the
/// fields for requests; a notification's `_meta` is checked when it names a version.
fn check_meta(message: &Message, version: ProtocolVersion) -> Result<(), Rejection> {
    let request = message.kind == MessageKind::Request;
    match message.meta_version() {
        Field::Valid => {
            let meta = message.protocol_version.as_deref().unwrap_or_default();
            if ProtocolVersion::parse_bytes(meta.as_bytes()) != Some(version) {
                return Err(mismatch(format!(
                    "MCP-Protocol-Version header value '{version}' does not match body value {}",
                    shown(meta.as_bytes())
                )));
            }
        }
        Field::WrongType => {
            return Err(invalid_params(
                "_meta io.modelcontextprotocol/protocolVersion must be a string",
            ))
        }
        Field::Absent if request => {
            return Err(invalid_params(
                "_meta io.modelcontextprotocol/protocolVersion is required",
            ))
        }
        Field::Absent => {}
    }
    if request {
        match message.meta_capabilities() {
            Field::Valid => {}
            Field::WrongType => {
                return Err(invalid_params(
                    "_meta io.modelcontextprotocol/clientCapabilities must be an object",
                ))
            }
            Field::Absent => {
                return Err(invalid_params(
                    "_meta io.modelcontextprotocol/clientCapabilities is required",
                ))
            }
        }
    }
    Ok(())
}

/// Issue 26, finding 6: the `params` of the methods the layers key on must be
/// an object, and its `name`/`uri`/`taskId` a string (400, -32602), so no
/// check is skipped by an oddly shaped call a loose handler would still run.
fn check_params(envelope: &Envelope) -> Result<(), Rejection> {
    match envelope.messages().iter().find_map(Message::params_problem) {
        Some(problem) => Err(invalid_params(problem)),
        None => Ok(()),
    }
}

/// `Mcp-Method` (required on every request) and `Mcp-Name` (for the methods that
/// name something). The spec defines no header requirements for notification
/// POSTs, so there `Mcp-Method` is checked only when sent.
fn check_standard_headers(
    headers: &HeaderMap,
    message: &Message,
    method: &str,
) -> Result<(), Rejection> {
    match single(headers, &MCP_METHOD)? {
        Some(value) if trim_ows(value.as_bytes()) == method.as_bytes() => {}
        Some(value) => {
            return Err(mismatch(format!(
                "Mcp-Method header value {} does not match body value {}",
                shown(value.as_bytes()),
                shown(method.as_bytes())
            )))
        }
        None if message.kind == MessageKind::Request => {
            return Err(mismatch("Mcp-Method header is missing"))
        }
        None => {}
    }
    // Mcp-Name: params.name for tools/call and prompts/get, params.uri for
    // resources/read, params.taskId for tasks/get, tasks/update and
    // tasks/cancel ("the client MUST set the Mcp-Name header ... to the value
    // of params.taskId", SEP-2663).
    if named_target(method).is_some() {
        let expected = message.target();
        match (single(headers, &MCP_NAME)?, expected) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(mismatch(format!("Mcp-Name header is missing for {method}")))
            }
            (Some(value), expected) => {
                let decoded = decode_value(trim_ows(value.as_bytes())).map_err(|e| {
                    mismatch(format!(
                        "Mcp-Name header value {} is invalid: {e}",
                        shown(value.as_bytes())
                    ))
                })?;
                if Some(&*decoded) != expected {
                    return Err(mismatch(format!(
                        "Mcp-Name header value {} does not match body value {}",
                        shown(decoded.as_bytes()),
                        expected.map_or_else(|| "(none)".to_owned(), |e| shown(e.as_bytes()))
                    )));
                }
            }
        }
    }
    Ok(())
}

/// A `tools/call` of a tool the table knows: its `Mcp-Param-*` headers against
/// the arguments (SEP-2243), then the client capabilities it needs.
fn check_tool(
    headers: &HeaderMap,
    envelope: &Envelope,
    message: &Message,
    tool: &str,
    rule: &ToolRule,
) -> Result<(), Rejection> {
    if !rule.params.is_empty() {
        // Only tools with mirrored parameters pay for reading the arguments.
        // Only tools with mirrored parameters pay for looking into the
        // arguments, and then only at the annotated paths: the top level is
        // split into raw values once, no tree is built for the rest.
        let raw = envelope
            .arguments_json(message)
            .and_then(|raw| std::str::from_utf8(raw).ok())
            .unwrap_or("null");
        let top = object_fields(raw);
        for param in &rule.params {
            let value = param.path().split_first().and_then(|(first, rest)| {
                let mut raw = top.as_ref()?.get(first.as_str())?.get();
                for key in rest {
                    raw = object_fields(raw)?.get(key.as_str())?.get();
                }
                serde_json::from_str::<Value>(raw).ok()
            });
            check_param(headers, value.as_ref(), param, tool)?;
        }
    }
    if let Some(required) = &rule.capabilities {
        let declared = envelope
            .capabilities_json(message)
            .and_then(|raw| serde_json::from_slice::<Value>(raw).ok())
            .unwrap_or(Value::Null);
        let missing = missing_capabilities(required, &declared);
        if !missing.is_empty() {
            let names = missing
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Rejection::new(
                RejectionKind::MissingClientCapability,
                format!("Server requires the {names} capability for this request"),
            )
            .with_data(json!({ "requiredCapabilities": missing })));
        }
    }
    Ok(())
}

/// "Server MUST validate header matches body" for one mirrored parameter.
/// The members of a JSON object as raw values (borrowed); `None` for anything else.
fn object_fields(raw: &str) -> Option<std::collections::HashMap<String, &RawValue>> {
    if !raw.trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str(raw).ok()
}

fn check_param(
    headers: &HeaderMap,
    value: Option<&Value>,
    param: &ParamHeader,
    tool: &str,
) -> Result<(), Rejection> {
    let value = value.filter(|v| !v.is_null());
    // Names for the messages, built only when one is needed.
    let header = || format!("Mcp-Param-{}", param.name());
    let path = || param.path().join(".");
    match (value, single(headers, param.header_name())?) {
        // "Parameter value is null / not in arguments: Server MUST NOT expect the header".
        (None, None) => Ok(()),
        // "Client omits header but value is in body: Server MUST reject the request".
        (Some(_), None) => Err(mismatch(format!(
            "{} header is missing for tool {} (arguments.{} is set)",
            header(),
            shown(tool.as_bytes()),
            path()
        ))),
        // A header claiming a value the server will not execute is the mismatch
        // the validation exists for.
        (None, Some(sent)) => Err(mismatch(format!(
            "{} header value {} does not match body value (none at arguments.{})",
            header(),
            shown(sent.as_bytes()),
            path()
        ))),
        (Some(value), Some(sent)) => {
            // "Servers MUST reject requests with a recognized Mcp-Param-{Name} header
            // that contains invalid characters" and "MUST decode ... before comparing".
            let decoded = decode_value(trim_ows(sent.as_bytes())).map_err(|e| {
                mismatch(format!(
                    "{} header value {} is invalid: {e}",
                    header(),
                    shown(sent.as_bytes())
                ))
            })?;
            if param_matches(value, &decoded) {
                Ok(())
            } else {
                let body = match value {
                    Value::String(s) => shown(s.as_bytes()),
                    other => shown(other.to_string().as_bytes()),
                };
                Err(mismatch(format!(
                    "{} header value {} does not match body value {body}",
                    header(),
                    shown(decoded.as_bytes()),
                )))
            }
        }
    }
}

/// Compares a decoded header with the body value of its JSON type: strings
/// exactly, booleans as `true`/`false`, numbers numerically ("servers SHOULD
/// compare the header value and the body value numerically ... 42.0 and 42
/// are considered equal"). Objects and arrays never match.
pub(crate) fn param_matches(body: &Value, header: &str) -> bool {
    match body {
        Value::String(s) => s == header,
        Value::Bool(b) => header == if *b { "true" } else { "false" },
        // A JSON number and nothing around it (serde_json would skip whitespace).
        Value::Number(_)
            if !(header.starts_with(|c: char| c == '-' || c.is_ascii_digit())
                && header.ends_with(|c: char| c.is_ascii_digit())) =>
        {
            false
        }
        Value::Number(n) => {
            // `42.0` spells the integer 42 exactly, at any magnitude.
            let header = match header.split_once('.') {
                Some((int, frac))
                    if !frac.is_empty()
                        && frac.bytes().all(|b| b == b'0')
                        && int
                            .strip_prefix('-')
                            .unwrap_or(int)
                            .bytes()
                            .all(|b| b.is_ascii_digit()) =>
                {
                    int
                }
                _ => header,
            };
            match serde_json::from_str::<serde_json::Number>(header) {
                Ok(h) => match (n.as_i64(), h.as_i64(), n.as_u64(), h.as_u64()) {
                    (Some(a), Some(b), _, _) => a == b,
                    (_, _, Some(a), Some(b)) => a == b,
                    _ => n.as_f64().zip(h.as_f64()).is_some_and(|(a, b)| a == b),
                },
                Err(_) => false,
            }
        }
        _ => false,
    }
}

/// The part of `required` (a `ClientCapabilities`-shaped object) that
/// `declared` lacks, as `data.requiredCapabilities` reports it.
fn missing_capabilities(required: &Map<String, Value>, declared: &Value) -> Map<String, Value> {
    let mut missing = Map::new();
    for (name, sub) in required {
        match declared.get(name) {
            None | Some(Value::Null) => {
                missing.insert(name.clone(), sub.clone());
            }
            Some(have) => {
                if let Value::Object(sub) = sub {
                    let deeper = missing_capabilities(sub, have);
                    if !deeper.is_empty() {
                        missing.insert(name.clone(), Value::Object(deeper));
                    }
                }
            }
        }
    }
    missing
}

/// A field value without the optional whitespace around it (RFC 9110 §5.5:
/// "a field value does not include leading or trailing whitespace").
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

fn invalid_params(detail: &str) -> Rejection {
    Rejection::new(
        RejectionKind::InvalidParams,
        format!("Invalid params: {detail}"),
    )
}

/// The version to reflect on a response: the one the request declared, never an assumed one.
/// The version a response repeats: the one the request's header declared.
pub(crate) fn echo(protocol: &RequestProtocol) -> Option<ProtocolVersion> {
    (protocol.source() == VersionSource::Header).then_some(protocol.version())
}

fn insert_absent(headers: &mut HeaderMap, name: HeaderName, value: HeaderValue) {
    if !headers.contains_key(&name) {
        headers.insert(name, value);
    }
}

fn mismatch(detail: impl fmt::Display) -> Rejection {
    Rejection::new(
        RejectionKind::HeaderMismatch,
        format!("Header mismatch: {detail}"),
    )
}

/// At most one value of `name`; a repeated header is a validation failure.
fn single<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'a HeaderValue>, Rejection> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (first, None) => Ok(first),
        (_, Some(_)) => Err(mismatch(format!("{name} header is repeated"))),
    }
}

/// A client-sent value for an error message: quoted, escaped, at most 64 characters.
fn shown(bytes: &[u8]) -> String {
    const MAX: usize = 64;
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    format!("'{}'", out.escape_debug())
}

#[cfg(test)]
mod tests;
