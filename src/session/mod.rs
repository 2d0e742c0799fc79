//! Legacy-era sessions (`Mcp-Session-Id`, protocol 2024-11-05 to 2025-11-25):
//! owned by a layer so the MCP service behind it can stay stateless, or owned
//! by the MCP server and governed by the layer.
//!
//! [`McpSessionLayer`] creates, checks, expires and deletes sessions, in a
//! [`SessionStore`] you build once and share ([`MokaSessionStore`] in memory, or
//! `redis::RedisSessionStore`, shared by several replicas, with feature `redis`).
//! Requests of the 2026-07-28 era (sessionless) pass through untouched: no id is
//! minted, echoed or checked, even if the client sends one.
//!
//! **Who owns the sessions** ([`SessionOwner`]). By default the layer mints
//! the ids and the inner service is stateless for them (the table below).
//! With [`SessionOwner::Server`] the inner server (rmcp's
//! `LocalSessionManager`) mints and keeps them, so sampling, elicitation, GET
//! streams and resumption work, and the layer governs them: it takes the slot
//! before the `initialize` reaches the server and records the id the server
//! sets on a successful answer; it refuses unknown, expired and foreign ids
//! before the server sees them; it forwards a client's DELETE and then closes
//! the record; it closes the record when the server answers 404 for a held
//! session ([`CloseCause::ServerClosed`]); and when it closes a session itself
//! (expiry, eviction, shutdown) it sends the server a `DELETE` with the id,
//! through the inner service. With a shared store, the replica whose server
//! holds a session is recorded with it, and another replica answers 421 with
//! `Mcp-Session-Replica` naming it: route such sessions stickily.
//!
//! | request (legacy era) | answer |
//! |---|---|
//! | POST `initialize`, no session id | limits checked and an id minted *before* the inner service runs; the session is stored only when the answer is a JSON-RPC `result` for the request's id (a JSON answer is read first; an SSE answer carries `Mcp-Session-Id` in its head and commits when the `result` event passes, see below); any other answer (an error status or JSON-RPC error, an empty, cut-off or dropped answer) creates nothing, gives the slot back and fires the close hook with [`CloseCause::InitializeFailed`] |
//! | a request whose `MCP-Protocol-Version` names another supported legacy revision than its session negotiated | served, judged under the negotiated version (a batch it forbids gets 400), counted in [`SessionStats::other_version_served`] and logged at debug; the session keeps its version. The spec allows 400 only for an "invalid or unsupported" version; an unsupported one gets it |
//! | at the session limit | 429 with `Retry-After` (or the least recently used idle session is evicted, see [`LimitPolicy`]) |
//! | POST `initialize` **with** a session id | unknown → 404 (a client-chosen id is never adopted); live → 400 JSON-RPC -32600 "session already initialized" (as the TypeScript SDK); re-initializing means a new `initialize` without the header |
//! | POST, GET or DELETE without the id | 400 |
//! | id not 1-256 visible ASCII characters, or the header repeated | 400 |
//! | unknown, expired, deleted, or another principal's session | 404, JSON-RPC -32001 "Session not found"; byte-identical in all four cases |
//! | DELETE with a valid id | 204 from the layer itself; the inner service is not called; the close hook gets [`CloseCause::Deleted`] |
//! | DELETE with [`allow_delete(false)`](McpSessionLayer::allow_delete) | 405 with `Allow: GET, POST` |
//! | any other valid request | inner service called with a [`SessionContext`] in the extensions; the response carries `Mcp-Session-Id` |
//!
//! Methods other than GET, POST and DELETE pass through. The era comes from the
//! [`RequestProtocol`](crate::protocol::RequestProtocol) an outer
//! [`McpHeadersLayer`](crate::McpHeadersLayer) recorded, or, when this layer runs
//! alone, by the same era rule as the headers layer; a POST body is
//! then read (under the default [`BodyLimits`](crate::read::BodyLimits): the
//! one setting is the headers layer's) and its
//! [`Envelope`](crate::envelope::Envelope) left in the extensions. When the
//! request's version was assumed (no `MCP-Protocol-Version` header), the
//! `RequestProtocol` is replaced by the version the session negotiated (the
//! `protocolVersion` the server answered to `initialize`), and a JSON-RPC batch
//! is refused when that version forbids batches.
//!
//! **Commit rule.** A handler answers a malformed `initialize` with a JSON-RPC
//! error in a 200, so the status alone says nothing. The layer reads the
//! answer: a JSON answer whole (at most [`MAX_ANSWER_BYTES`]) before its head
//! leaves; an SSE answer as it streams, holding the slot until the `result`
//! event for the request id, committing before that event reaches the client,
//! and giving the slot back if the stream answers with an error, ends, fails or
//! is dropped first. Bodies are read in their own type (axum's `Body`,
//! `Full<Bytes>`, `BoxBody`/`UnsyncBoxBody` over `Bytes`, `String`); for any
//! other response body type the layer cannot look inside without changing the
//! type, so it commits on a 2xx status and warns once.
//!
//! **Liveness.** A request in flight, an SSE answer still streaming (with
//! [`streams_keep_alive`](McpSessionLayer::streams_keep_alive), the default),
//! or a [`SessionContext`] a handler keeps, keeps its session from idling out;
//! the idle timer restarts when the last one ends. The absolute lifetime
//! applies regardless.
//!
//! **Per-session state.** [`SessionContext::state_or_insert_with`] creates a
//! value only while the store holds the session; the store marks the session
//! closed before its close hook runs and drops the state right after it, so a
//! handler still running when its session is deleted cannot bring state back.
//!
//! **Security.** Ids come from a CSPRNG (UUID v4 by default) and are checked
//! before lookup. With a [principal resolver](McpSessionLayer::principal), each
//! session is bound to its creator and another principal's request is answered
//! as if the session did not exist (with a `warn` event). Events use the target
//! `mcp_tower_guard::session` and show ids only as an 8-hex-digit keyed tag.
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use mcp_tower_guard::envelope::Envelope;
//! use mcp_tower_guard::session::{McpSessionLayer, MokaSessionStore, SessionContext};
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MokaSessionStore::builder().max_sessions(1_000).build()?;
//! let mut svc = ServiceBuilder::new()
//!     .layer(McpSessionLayer::new(store.clone()))
//!     .service_fn(|req: Request<Full<Bytes>>| async move {
//!         let session = req.extensions().get::<SessionContext>().expect("legacy request");
//!         let _ = session.id();
//!         // A JSON-RPC result for the request's id: only that commits a new session.
//!         let id = req.extensions().get::<Envelope>().and_then(|e| e.single()?.id().cloned());
//!         let body = serde_json::json!({"jsonrpc": "2.0", "id": id, "result": {}});
//!         let res = Response::builder()
//!             .header("content-type", "application/json")
//!             .body(Full::new(Bytes::from(body.to_string())))?;
//!         Ok::<_, http::Error>(res)
//!     });
//!
//! let init = Request::post("/mcp").body(Full::new(Bytes::from_static(
//!     br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#,
//! )))?;
//! let res = svc.ready().await?.call(init).await?;
//! assert_eq!(res.status(), StatusCode::OK);
//! let id = res.headers()["mcp-session-id"].clone();
//! assert_eq!(store.stats().active, 1);
//!
//! // Without the header: 400. With it: served.
//! let ping = || Full::new(Bytes::from_static(br#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#));
//! let res = svc.ready().await?.call(Request::post("/mcp").body(ping())?).await?;
//! assert_eq!(res.status(), StatusCode::BAD_REQUEST);
//! let req = Request::post("/mcp").header("mcp-session-id", id.clone()).body(ping())?;
//! assert_eq!(svc.ready().await?.call(req).await?.status(), StatusCode::OK);
//!
//! // DELETE ends it; the id then answers 404.
//! let req = Request::delete("/mcp").header("mcp-session-id", id.clone()).body(Full::default())?;
//! assert_eq!(svc.ready().await?.call(req).await?.status(), StatusCode::NO_CONTENT);
//! let req = Request::post("/mcp").header("mcp-session-id", id).body(ping())?;
//! assert_eq!(svc.ready().await?.call(req).await?.status(), StatusCode::NOT_FOUND);
//! # Ok(())
//! # }
//! ```

/// The `tracing` target of every session event.
pub(crate) const TARGET: &str = "mcp_tower_guard::session";

mod activity;
mod client_info;
mod config;
mod context;
mod flow;
mod future;
mod id;
mod layer;
mod owner;
mod principal;
mod service;
mod store;

pub use client_info::{ClientInfo, MAX_CLIENT_HEADER_LEN};
pub use context::SessionContext;
pub use flow::initialize::MAX_ANSWER_BYTES;
pub use future::ResponseFuture;
pub use id::{IdGenerator, InvalidSessionId, SessionId, Tag, MAX_SESSION_ID_LEN};
pub use layer::McpSessionLayer;
#[cfg(feature = "ratelimit")]
pub(crate) use owner::GuardClose;
pub use owner::SessionOwner;
pub use principal::{Principal, ResolvePrincipal};
pub use service::McpSession;
pub use store::close::CloseCause;
pub use store::moka::{LimitPolicy, MokaSessionStore, MokaSessionStoreBuilder};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use store::redis;
pub use store::stats::{RejectReason, RejectedStats, SessionStats};
pub use store::{
    CloseListener, IntoSessionStore, LimitScope, Reservation, SessionStore, StoreCall, StoreError,
    StoreStats,
};
