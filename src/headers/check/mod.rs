//! The headers layer's decisions, as pure functions of the request head and
//! (for POST) its parsed envelope. The service only sequences them.

use http::{HeaderMap, HeaderValue, Method, Response};
use serde_json::json;

use super::config::HeadersConfig;
use super::media::{self, EVENT_STREAM, JSON};
use crate::envelope::{Envelope, MessageKind};
use crate::header_names::{MCP_PROTOCOL_VERSION, X_ACCEL_BUFFERING};
use crate::protocol::{
    era_with, resolve_legacy, Era, LegacyVersion, ProtocolVersion, RequestProtocol, VersionHeader,
    VersionSource,
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

mod rules;

pub(crate) use rules::echo;
use rules::{
    check_meta, check_params, check_standard_headers, check_tool, insert_absent, mismatch, shown,
    trim_ows,
};

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
        self.legacy_version(header, None).map(Head::Ready)
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

    /// The version of a legacy-era request (2024-11-05 to 2025-11-25), by
    /// the rule the session layer shares ([`resolve_legacy`]).
    fn legacy_version(
        &self,
        header: VersionHeader<'_>,
        requested: Option<ProtocolVersion>,
    ) -> Result<RequestProtocol, Rejection> {
        match resolve_legacy(header, &self.supported, requested) {
            LegacyVersion::Served(protocol) => Ok(protocol),
            LegacyVersion::Unsupported(shown) => Err(self.unsupported_legacy(&shown)),
            LegacyVersion::Missing => Err(Rejection::new(
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
        // "A header on `initialize` is validated too when present"); without
        // one, an `initialize` speaks the revision it asks for, so a handler
        // that echoes `RequestProtocol` negotiates that one.
        let protocol = self.legacy_version(header, envelope.requested_legacy_version())?;
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

#[cfg(test)]
mod tests;
