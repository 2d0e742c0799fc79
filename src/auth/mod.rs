//! MCP authorization at the edge: [`McpAuthLayer`], an OAuth 2.1 resource
//! server for a Streamable HTTP endpoint (feature `auth`).
//!
//! It sits after the headers layer, whose validated envelope its scope
//! policy reads, and before the session layer, which binds sessions to the
//! verified identity: Host, Origin, Headers, **Auth**, Session.
//!
//! | request | answer |
//! |---|---|
//! | GET/HEAD/OPTIONS on a metadata path | the RFC 9728 document, public, cacheable, `Access-Control-Allow-Origin: *` |
//! | no `Authorization`, or another scheme | 401, `WWW-Authenticate: Bearer scope="…", resource_metadata="…"` (no `error`: RFC 6750 §3.1) |
//! | two `Authorization` headers, `access_token` in the query, a form-encoded body, a value that is not a `b64token` | 400, `error="invalid_request"` |
//! | a token over [`max_token_bytes`](McpAuthLayer::max_token_bytes) | 401, `error="invalid_token"`, before any parsing |
//! | a token the verifier refuses (signature, `iss`, `aud`, `exp`, `nbf`, revoked) | 401, `error="invalid_token"` |
//! | the issuer unreachable and no usable key cached | 503 with `Retry-After` |
//! | a valid token without the operation's scopes | 403, `error="insufficient_scope", scope="<all the operation needs>"` |
//! | a valid token with them | passed on, with [`AuthContext`] in the extensions and `Authorization` removed |
//!
//! Every refusal also carries the crate's JSON-RPC error body, with the
//! request's id when the body was read and `error.data.error` the OAuth
//! error code, and emits one `tracing` event. Tokens are never logged: a
//! keyed tag at most.
//!
//! # Example
//!
//! ```
//! use mcp_tower_guard::auth::{JwtVerifier, McpAuthLayer, ResourceMetadata, ScopePolicy};
//!
//! # fn main() -> Result<(), mcp_tower_guard::ConfigError> {
//! let issuer = "https://auth.example.com";
//! let metadata = ResourceMetadata::new("https://mcp.example.com/mcp", issuer)?;
//! let verifier = JwtVerifier::builder(issuer, metadata.resource()).build()?;
//! let auth = McpAuthLayer::new(metadata, verifier).scopes(
//!     ScopePolicy::new()
//!         .require(["mcp"])?
//!         .tool("deploy", ["deploy:write"])?,
//! );
//! assert_eq!(
//!     auth.metadata_paths(),
//!     ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]
//! );
//! # Ok(()) }
//! ```

mod bearer;
mod challenge;
mod config;
mod fetch;
mod flow;
mod future;
mod introspect;
mod jwks;
mod jwt;
mod layer;
mod metadata;
mod scope;
mod service;
mod verifier;

pub use bearer::DEFAULT_MAX_TOKEN_BYTES;
pub use fetch::{HttpFetcher, HttpFetcherBuilder, DEFAULT_MAX_DOCUMENT_BYTES};
pub use future::ResponseFuture;
pub use introspect::{IntrospectionVerifier, IntrospectionVerifierBuilder};
/// Re-exported on purpose: the JWT signature algorithms the verifier
/// accepts ([`JwtVerifierBuilder::algorithms`]).
pub use jsonwebtoken::Algorithm;
pub use jwt::{JwtVerifier, JwtVerifierBuilder, MAX_LEEWAY};
pub use layer::McpAuthLayer;
pub use metadata::{MetadataService, ResourceMetadata, WELL_KNOWN};
pub use scope::{ScopePolicy, Scopes};
pub use service::McpAuth;
pub use verifier::{AuthContext, TokenVerifier, VerifiedToken, VerifyError, VerifyFuture};

/// The `tracing` target of the layer's own events.
pub(crate) const TARGET: &str = "mcp_tower_guard::auth";
