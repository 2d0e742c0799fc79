//! The single rules the headers layer applies: the `_meta` fields, the
//! standard `Mcp-*` headers against the body, tool parameter headers,
//! required capabilities, and the small helpers they share.

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::envelope::{named_target, Envelope, Field, Message, MessageKind};
use crate::header_names::{MCP_METHOD, MCP_NAME};
use crate::headers::name::decode_value;
use crate::headers::tools::{ParamHeader, ToolRule};
use crate::protocol::{ProtocolVersion, RequestProtocol, VersionSource};
use crate::rejection::{Rejection, RejectionKind};

/// The 2026-07-28 per-request `_meta` fields: "A request missing any required
/// field is malformed; the server MUST reject it with JSON-RPC error code
/// -32602 (Invalid params). On HTTP, the response status MUST be 400", and the
/// protocol version "MUST match" the header (-32020). The revision defines the
/// fields for requests; a notification's `_meta` is checked when it names a version.
pub(super) fn check_meta(message: &Message, version: ProtocolVersion) -> Result<(), Rejection> {
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
pub(super) fn check_params(envelope: &Envelope) -> Result<(), Rejection> {
    match envelope.messages().iter().find_map(Message::params_problem) {
        Some(problem) => Err(invalid_params(problem)),
        None => Ok(()),
    }
}

/// `Mcp-Method` (required on every request) and `Mcp-Name` (for the methods that
/// name something). The spec defines no header requirements for notification
/// POSTs, so there `Mcp-Method` is checked only when sent.
pub(super) fn check_standard_headers(
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
pub(super) fn check_tool(
    headers: &HeaderMap,
    envelope: &Envelope,
    message: &Message,
    tool: &str,
    rule: &ToolRule,
) -> Result<(), Rejection> {
    if !rule.params.is_empty() {
        // Only tools with mirrored parameters pay for looking into the
        // arguments, and then only at the annotated paths: the top level is
        // split into raw values once, no tree is built for the rest.
        let top = envelope.argument_members(message);
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
pub(super) fn object_fields(raw: &str) -> Option<std::collections::HashMap<String, &RawValue>> {
    serde_json::from_str::<crate::envelope::Members<'_>>(raw)
        .ok()?
        .0
}

pub(super) fn check_param(
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
pub(super) fn missing_capabilities(
    required: &Map<String, Value>,
    declared: &Value,
) -> Map<String, Value> {
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
pub(super) fn trim_ows(bytes: &[u8]) -> &[u8] {
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

pub(super) fn invalid_params(detail: &str) -> Rejection {
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

pub(super) fn insert_absent(headers: &mut HeaderMap, name: HeaderName, value: HeaderValue) {
    // One hash: the entry is found once, whether it is there or not.
    headers.entry(name).or_insert(value);
}

pub(super) fn mismatch(detail: impl fmt::Display) -> Rejection {
    Rejection::new(
        RejectionKind::HeaderMismatch,
        format!("Header mismatch: {detail}"),
    )
}

/// At most one value of `name`; a repeated header is a validation failure.
pub(super) fn single<'a>(
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
pub(super) fn shown(bytes: &[u8]) -> String {
    const MAX: usize = 64;
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    format!("'{}'", out.escape_debug())
}
