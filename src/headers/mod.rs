//! MCP transport headers for both protocol eras: `MCP-Protocol-Version`,
//! `Mcp-Method`, `Mcp-Name`, `Accept`, `Content-Type`, allowed methods and POST
//! body limits.
//!
//! [`McpHeadersLayer`] decides before calling the inner service. A rejected
//! request never reaches it; the response is a JSON-RPC error (see
//! [`crate::rejection`]) with the [`Rejection`](crate::Rejection) in its extensions.
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use mcp_tower_guard::protocol::{Era, RequestProtocol};
//! use mcp_tower_guard::{McpHeadersLayer, Rejection};
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut svc = ServiceBuilder::new()
//!     .layer(McpHeadersLayer::new())
//!     .service_fn(|req: Request<Full<Bytes>>| async move {
//!         let protocol = req.extensions().get::<RequestProtocol>().copied().unwrap();
//!         assert_eq!(protocol.era(), Era::Modern);
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::<Bytes>::from(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#)))
//!     });
//!
//! let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo",
//!     "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",
//!              "io.modelcontextprotocol/clientCapabilities":{}}}}"#;
//! let request = |name: &str| {
//!     Request::post("/mcp")
//!         .header("accept", "application/json, text/event-stream")
//!         .header("content-type", "application/json")
//!         .header("mcp-protocol-version", "2026-07-28")
//!         .header("mcp-method", "tools/call")
//!         .header("mcp-name", name)
//!         .body(Full::<Bytes>::from(body))
//! };
//!
//! let res = svc.ready().await?.call(request("echo")?).await?;
//! assert_eq!(res.status(), StatusCode::OK);
//! assert_eq!(res.headers()["mcp-protocol-version"], "2026-07-28");
//!
//! // A load balancer routing on `Mcp-Name` must see what the server executes.
//! let res = svc.ready().await?.call(request("delete_everything")?).await?;
//! assert_eq!(res.status(), StatusCode::BAD_REQUEST);
//! let rejection = res.extensions().get::<Rejection>().unwrap();
//! assert_eq!(rejection.code(), -32020);
//! // The error names the request it answers.
//! assert_eq!(format!("{:?}", rejection.id()), r#"Some(Number("1"))"#);
//! # Ok(())
//! # }
//! ```
//!
//! # Rules
//!
//! **Methods.** POST, GET and DELETE are served; anything else, including
//! OPTIONS and HEAD, gets 405 with `Allow: GET, POST, DELETE` (`Allow: POST`
//! when no legacy revision is supported). CORS preflights are answered by a
//! CORS layer placed outside this one (`Host → CORS → Origin → Headers →
//! Session`; see `cors::mcp_cors` with the `cors` feature). GET and DELETE never touch the body; they get 405 with
//! `Allow: POST` when they carry a 2026-07-28 (or later) `MCP-Protocol-Version`
//! or when no legacy revision is supported ("HTTP GET or DELETE to the MCP
//! endpoint: respond with 405 Method Not Allowed").
//!
//! **`Accept`.** A POST must accept both `application/json` and
//! `text/event-stream`, a GET `text/event-stream`, else 406. The header is
//! parsed as RFC 9110 says: lists, wildcards, case, parameters
//! and weights, with `q=0` excluding a type even under a wildcard. A missing or
//! malformed `Accept` gets 406, as in the TypeScript and Python SDKs (the spec
//! makes the header a client MUST). [`McpHeadersLayer::check_accept`] turns the
//! check off for clients such as bare `curl`.
//!
//! **`Content-Type`.** A POST must say `application/json` (any case, any
//! parameters), else 415.
//!
//! A POST's 406 and 415 are decided from the head but answered once the body
//! is read, so that they carry the request's id like every other rejection
//! (unless the body is too large to read: then 406/415 without an id).
//!
//! **`Mcp-*` header budget.** At most 64 `Mcp-*` headers and 16 KiB of them
//! in all ([`McpHeadersLayer::max_mcp_headers`],
//! [`McpHeadersLayer::max_mcp_header_bytes`]), else 431 before anything is read.
//!
//! **Body.** A POST body is read once, within [`BodyLimits`](crate::read::BodyLimits)
//! (default 4 MiB, 30 s): a `Content-Length` over the limit gets 413 before a
//! byte is read, a longer body 413, a slower one 408. It is parsed into an
//! [`Envelope`](crate::envelope::Envelope) stored in the request extensions, and
//! the same bytes go on in the same body type. If an `Envelope` is already in the
//! extensions (another layer read the body first) it is used as is. Invalid JSON
//! gets 400 -32700, JSON that is not JSON-RPC 400 -32600.
//!
//! **Request ids.** Every rejection of a POST whose body is a single JSON-RPC
//! request carries that request's `id`, of whatever type and spelling it was
//! sent (`"id": 1` as in the spec's HeaderMismatch example). It is `null` only
//! where no id can be known: a notification, a batch, invalid JSON, or a
//! rejection decided before the body is read (Host, Origin, 413, 431).
//!
//! **Era.** One rule decides (in `protocol.rs`, shared with the session layer): a
//! `MCP-Protocol-Version` naming a known revision by that revision; otherwise a
//! POST shaped as 2026-07-28 (a body `_meta` protocol version of any value, or
//! an `Mcp-Method` header) is modern.
//!
//! **Legacy era (2024-11-05 to 2025-11-25).**
//! - No header: the request is taken as 2025-03-26 ("the server SHOULD assume
//!   protocol version 2025-03-26") and marked `assumed`; the session layer may
//!   replace that with the session's negotiated version. `initialize` needs no
//!   header. When no legacy revision is supported the request gets 400 -32020
//!   naming the supported versions (2026-07-28: "A server that does not support
//!   such clients MUST reject a request without the header").
//! - A malformed, repeated or unsupported header gets 400 with JSON-RPC -32000,
//!   a message listing the supported versions, and
//!   `data: {"supported": [...], "requested": "..."}` with the value exactly as
//!   sent ("If the server receives a request with an invalid or unsupported
//!   MCP-Protocol-Version, it MUST respond with 400 Bad Request").
//! - A header on `initialize` is validated too when present (the spec only
//!   speaks of "subsequent requests"; the Go SDK validates, the TypeScript SDK
//!   skips it). One rule for every request means a bad header never slips through.
//! - A JSON-RPC batch is allowed only by a version that allows batches
//!   (2025-03-26 and 2024-11-05, including the assumed 2025-03-26, provided one
//!   of them is supported), else 400 -32600; `initialize` inside a batch is
//!   400 -32600 ("The initialize request MUST NOT be part of a JSON-RPC batch").
//!
//! **Modern era (2026-07-28 and later)**, checked in this order:
//! 1. `MCP-Protocol-Version` is required on every POST (missing, empty,
//!    repeated or not visible ASCII: 400 -32020) and must be supported (any
//!    other value, known or not: 400 -32022 with
//!    `data: {"supported": [...], "requested": "<the value sent>"}`).
//! 2. The body must be a single request or notification ("The client MUST NOT
//!    send JSON-RPC responses"): a batch or a response gets 400 -32600.
//! 3. A method the revision removed (`initialize`, `ping`, `logging/setLevel`,
//!    `resources/subscribe`, `resources/unsubscribe`, ... see
//!    [`ProtocolVersion::removed_method`](crate::protocol::ProtocolVersion::removed_method))
//!    gets 404 -32601 ("If the server does not implement the requested RPC
//!    method, it MUST respond with 404 Not Found"). Other unknown methods are
//!    the inner service's call.
//! 4. A request's `_meta` must carry `io.modelcontextprotocol/protocolVersion`
//!    (a string) and `io.modelcontextprotocol/clientCapabilities` (an object),
//!    else 400 -32602 ("A request missing any required field is malformed").
//!    The version must equal the header, else 400 -32020.
//! 5. `Mcp-Method` must equal the body's `method` (case-sensitive, without
//!    surrounding whitespace), else 400 -32020. It is required on requests; on
//!    a notification it is checked when present, since the revision defines no
//!    header requirements for notification POSTs.
//! 6. `Mcp-Name` must equal `params.name` (`tools/call`, `prompts/get`) or
//!    `params.uri` (`resources/read`) after decoding the `=?base64?…?=`
//!    sentinel (see [`decode_value`]), else 400 -32020: missing while the body
//!    has the value, different, malformed Base64, not UTF-8, raw non-ASCII
//!    bytes, or repeated. Other methods' `Mcp-Name` is not looked at.
//! 7. A `tools/call` of a tool in the [`ToolRules`] table: each `Mcp-Param-{Name}`
//!    header against its argument (400 -32020), then the client capabilities
//!    the tool requires (400 -32021); see [`McpHeadersLayer::tool_rules`].
//!
//! An accepted modern request loses `Mcp-Session-Id`, `X-Session-Id` and
//! `Last-Event-ID` before the inner service sees it, and its response never
//! carries `Mcp-Session-Id` ("ignore it, and do not mint or echo session IDs").
//!
//! **Request extensions.** An accepted request carries a
//! [`RequestProtocol`](crate::protocol::RequestProtocol) (version, era, assumed).
//!
//! **Response headers** (added only when the response lacks them):
//! `X-Content-Type-Options: nosniff` on every response, rejections included;
//! the configured `Server` ([`McpHeadersLayer::server_header`]);
//! `MCP-Protocol-Version` with the version the request declared (not an assumed
//! one); and on `text/event-stream` responses `X-Accel-Buffering: no` ("servers
//! SHOULD include the X-Accel-Buffering: no header") and `Cache-Control: no-cache`.
//!
//! # Body types
//!
//! The request body must implement [`ReplayBody`](crate::body::ReplayBody)
//! (axum's `Body`, `Full<Bytes>`, `BoxBody`, ...); map `hyper::body::Incoming`
//! first. Response bodies are unchanged, so the layer works around rmcp's
//! `Response<BoxBody<Bytes, Infallible>>` and inside `axum::Router::layer`.

mod accept;
mod check;
mod config;
mod future;
mod layer;
pub(crate) mod media;
mod name;
mod service;
mod tools;

#[cfg(fuzzing)]
pub(crate) use self::accept::oracle as accept_oracle;
pub use self::future::ResponseFuture;
pub use self::layer::McpHeadersLayer;
pub use self::name::{decode_value, encode_value, ValueDecodeError};
pub use self::service::McpHeaders;
pub use self::tools::{param_headers, ParamHeader, ParamType, ToolRules, PARAM_HEADER_PREFIX};
