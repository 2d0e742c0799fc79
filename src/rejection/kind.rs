//! [`RejectionKind`]: why a request was refused, and the status, JSON-RPC
//! code and label each kind has.

use std::fmt;

use http::StatusCode;

use super::error_code;

/// Why a request was refused. Each kind has a fixed HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No `Host` header and no URI authority (400).
    MissingHost,
    /// Two `Host` headers, or a value that does not parse as `host[:port]` (400).
    MalformedHost,
    /// A well-formed host that is not on the allowlist (403).
    HostNotAllowed,
    /// An `Origin` that does not parse, carries userinfo or a path, or appears twice (403).
    MalformedOrigin,
    /// `Origin: null` without `allow_null_origin` (403).
    NullOrigin,
    /// No `Origin` while `require_origin` is set (403).
    MissingOrigin,
    /// No `Origin`, and the browser's `Sec-Fetch-Site` says `cross-site` (or is malformed) (403).
    CrossSiteRequest,
    /// A well-formed origin that is not on the allowlist (403).
    OriginNotAllowed,
    /// An HTTP method the endpoint does not serve, or GET/DELETE in the 2026-07-28 era (405).
    MethodNotAllowed,
    /// `Accept` does not cover the media types the method answers with (406).
    NotAcceptable,
    /// POST whose `Content-Type` is not `application/json` (415).
    UnsupportedMediaType,
    /// POST body over the configured limit (413).
    PayloadTooLarge,
    /// POST body not received within the read timeout (408).
    BodyTimeout,
    /// POST body could not be read from the connection (400).
    BodyReadFailed,
    /// Body is not valid JSON (400, JSON-RPC -32700).
    ParseError,
    /// Body is JSON but not a JSON-RPC message (400, JSON-RPC -32600).
    InvalidRequest,
    /// A JSON-RPC batch where the protocol version forbids batches (400, -32600).
    BatchNotAllowed,
    /// `MCP-Protocol-Version` is malformed or not supported (400; -32022 in the 2026-07-28 era).
    UnsupportedProtocolVersion,
    /// A required MCP header is missing or disagrees with the body (400, JSON-RPC -32020).
    HeaderMismatch,
    /// A 2026-07-28 request for a method the revision removed (`ping`, `initialize`, ...) (404, JSON-RPC -32601).
    MethodNotFound,
    /// A 2026-07-28 request whose `_meta` lacks a required field (400, JSON-RPC -32602).
    InvalidParams,
    /// A 2026-07-28 request that needs a client capability its `_meta` does not declare (400, JSON-RPC -32021).
    MissingClientCapability,
    /// Too many `Mcp-*` request headers, or too many bytes in them (431).
    HeadersTooLarge,
    /// A legacy request other than `initialize` without `Mcp-Session-Id` (400).
    MissingSessionId,
    /// An `Mcp-Session-Id` outside visible ASCII or over the length limit (400).
    MalformedSessionId,
    /// Unknown, expired, deleted or foreign session (404, JSON-RPC -32001).
    SessionNotFound,
    /// The session limit (global or per user) is reached (429 with `Retry-After`).
    TooManySessions,
    /// The session store did not answer in time (503 with `Retry-After`).
    StoreUnavailable,
    /// A session whose inner server runs on another replica
    /// ([`SessionOwner::Server`](crate::session::SessionOwner::Server) with a
    /// shared store): 421 Misdirected Request, naming the replica in
    /// `Mcp-Session-Replica`, for a load balancer to route on.
    SessionOnOtherReplica,
    /// No bearer token, or another authentication scheme (401 with a
    /// `WWW-Authenticate: Bearer` challenge and no `error`, RFC 6750 §3.1).
    MissingToken,
    /// A bearer token that is malformed, expired, not yet valid, for another
    /// audience or issuer, or badly signed (401, `error="invalid_token"`).
    InvalidToken,
    /// A valid token without the scopes the operation needs (403,
    /// `error="insufficient_scope"` naming them).
    InsufficientScope,
    /// Credentials sent in a way that is refused: two `Authorization` headers,
    /// a token in the query string or a form body (400, `error="invalid_request"`).
    InvalidAuthRequest,
    /// The token could not be checked: the issuer's keys or its introspection
    /// endpoint are unreachable and nothing usable is cached (503 with `Retry-After`).
    AuthUnavailable,
    /// A rate-limit rule's quota is used up (429 with `Retry-After` and the
    /// `RateLimit` / `RateLimit-Policy` fields).
    RateLimited,
    /// Shared rate limits could not be checked (Redis down) and they fail
    /// closed (503 with `Retry-After`).
    RateLimitUnavailable,
}

impl RejectionKind {
    /// The HTTP status this kind is answered with.
    pub const fn status(self) -> StatusCode {
        use RejectionKind::*;
        match self {
            MissingHost
            | MalformedHost
            | BodyReadFailed
            | ParseError
            | InvalidRequest
            | BatchNotAllowed
            | UnsupportedProtocolVersion
            | HeaderMismatch
            | InvalidParams
            | MissingClientCapability
            | MissingSessionId
            | MalformedSessionId
            | InvalidAuthRequest => StatusCode::BAD_REQUEST,
            HostNotAllowed | MalformedOrigin | NullOrigin | MissingOrigin | CrossSiteRequest
            | OriginNotAllowed | InsufficientScope => StatusCode::FORBIDDEN,
            MissingToken | InvalidToken => StatusCode::UNAUTHORIZED,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            SessionNotFound | MethodNotFound => StatusCode::NOT_FOUND,
            HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            TooManySessions | RateLimited => StatusCode::TOO_MANY_REQUESTS,
            SessionOnOtherReplica => StatusCode::MISDIRECTED_REQUEST,
            StoreUnavailable | AuthUnavailable | RateLimitUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// The JSON-RPC error code used unless the layer picks a more specific one.
    pub const fn default_code(self) -> i32 {
        use RejectionKind::*;
        match self {
            ParseError => error_code::PARSE_ERROR,
            InvalidRequest | BatchNotAllowed => error_code::INVALID_REQUEST,
            HeaderMismatch => error_code::HEADER_MISMATCH,
            MethodNotFound => error_code::METHOD_NOT_FOUND,
            InvalidParams => error_code::INVALID_PARAMS,
            MissingClientCapability => error_code::MISSING_REQUIRED_CLIENT_CAPABILITY,
            SessionNotFound => error_code::SESSION_NOT_FOUND,
            _ => error_code::SERVER_ERROR,
        }
    }

    /// A stable snake_case name, used in logs and stats.
    pub const fn as_str(self) -> &'static str {
        use RejectionKind::*;
        match self {
            MissingHost => "missing_host",
            MalformedHost => "malformed_host",
            HostNotAllowed => "host_not_allowed",
            MalformedOrigin => "malformed_origin",
            NullOrigin => "null_origin",
            MissingOrigin => "missing_origin",
            CrossSiteRequest => "cross_site_request",
            OriginNotAllowed => "origin_not_allowed",
            MethodNotAllowed => "method_not_allowed",
            NotAcceptable => "not_acceptable",
            UnsupportedMediaType => "unsupported_media_type",
            PayloadTooLarge => "payload_too_large",
            BodyTimeout => "body_timeout",
            BodyReadFailed => "body_read_failed",
            ParseError => "parse_error",
            InvalidRequest => "invalid_request",
            BatchNotAllowed => "batch_not_allowed",
            UnsupportedProtocolVersion => "unsupported_protocol_version",
            HeaderMismatch => "header_mismatch",
            MethodNotFound => "method_not_found",
            InvalidParams => "invalid_params",
            MissingClientCapability => "missing_client_capability",
            HeadersTooLarge => "headers_too_large",
            MissingSessionId => "missing_session_id",
            MalformedSessionId => "malformed_session_id",
            SessionNotFound => "session_not_found",
            TooManySessions => "too_many_sessions",
            StoreUnavailable => "store_unavailable",
            SessionOnOtherReplica => "session_on_other_replica",
            MissingToken => "missing_token",
            InvalidToken => "invalid_token",
            InsufficientScope => "insufficient_scope",
            InvalidAuthRequest => "invalid_auth_request",
            AuthUnavailable => "auth_unavailable",
            RateLimited => "rate_limited",
            RateLimitUnavailable => "rate_limit_unavailable",
        }
    }

    /// True for kinds that signal a possible attack (Host, Origin, foreign sessions);
    /// these are logged at `warn`, the rest at `debug`.
    pub(super) const fn is_security(self) -> bool {
        use RejectionKind::*;
        matches!(
            self,
            MissingHost
                | MalformedHost
                | HostNotAllowed
                | MalformedOrigin
                | NullOrigin
                | MissingOrigin
                | CrossSiteRequest
                | OriginNotAllowed
                | InvalidToken
                | InvalidAuthRequest
        )
    }
}

impl fmt::Display for RejectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
