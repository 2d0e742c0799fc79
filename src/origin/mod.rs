//! Origin allowlist: the MCP "validate the `Origin` header" rule.
//!
//! Browsers put the page's origin in `Origin` on every cross-origin request
//! and every POST, and a page cannot forge it. A page on `https://evil.example`
//! that reaches a local MCP server (through DNS rebinding, or a `no-cors` POST
//! to `http://localhost`) is refused here even when its `Host` looks right, so
//! use this layer together with [`HostCheckLayer`](crate::HostCheckLayer).
//!
//! Clients that are not browsers (CLIs, desktop apps, SDK clients) send no
//! `Origin`; an absent `Origin` passes unless
//! [`OriginGuardLayer::require_origin`] is set.
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use http::{Method, Request, Response, StatusCode};
//! use http_body_util::Full;
//! use mcp_tower_guard::{OriginGuardLayer, Rejection, RejectionKind};
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut svc = ServiceBuilder::new()
//!     .layer(OriginGuardLayer::localhost().allow_origin("https://app.example.com")?)
//!     .service_fn(|_req: Request<Full<Bytes>>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("ok"))))
//!     });
//!
//! // No Origin: a CLI client. Passes.
//! let cli = Request::post("/mcp").body(Full::default())?;
//! assert_eq!(svc.ready().await?.call(cli).await?.status(), StatusCode::OK);
//!
//! let app = Request::post("/mcp").header("origin", "https://app.example.com").body(Full::default())?;
//! assert_eq!(svc.ready().await?.call(app).await?.status(), StatusCode::OK);
//!
//! // GET opens the SSE stream: checked like every other method.
//! let evil = Request::get("/mcp").header("origin", "https://evil.example").body(Full::default())?;
//! let res = svc.ready().await?.call(evil).await?;
//! assert_eq!(res.status(), StatusCode::FORBIDDEN);
//! assert!(res.headers().get("www-authenticate").is_none());
//! assert_eq!(res.extensions().get::<Rejection>().map(|r| r.kind()), Some(RejectionKind::OriginNotAllowed));
//!
//! let sandboxed = Request::post("/mcp").header("origin", "null").body(Full::default())?;
//! assert_eq!(svc.ready().await?.call(sandboxed).await?.status(), StatusCode::FORBIDDEN);
//! # Ok(())
//! # }
//! ```
//!
//! # Allowlist entries
//!
//! | entry | matches |
//! |---|---|
//! | `https://app.example.com` | that origin on the scheme's default port (443); `https://app.example.com:443` too |
//! | `http://localhost:3000` | that port only |
//! | `http://localhost:*` | any port, including the default |
//! | `https://*.example.com` | `https://a.example.com`, `https://a.b.example.com`; **not** `https://example.com` |
//! | `chrome-extension://<id>` | that Chrome extension (the id is checked: 32 letters a-p) |
//! | `moz-extension://*`, `vscode-webview://*` | every origin of that scheme: `*` as the whole host is for non-web schemes only (Firefox gives each installation of an extension its own UUID, so an id cannot be listed ahead) |
//! | `null` | the opaque origin, same as [`OriginGuardLayer::allow_null_origin`] |
//!
//! Entries are `scheme://host[:port]`; one trailing `/` is tolerated, any other
//! path, a query, fragment or userinfo is a
//! [`ConfigError::InvalidOrigin`](crate::ConfigError::InvalidOrigin), and so
//! is `*` as the host of `http`, `https`, `ws` or `wss`, a `chrome-extension`
//! id that is not 32 letters a-p, and a `moz-extension` host that is neither
//! a UUID nor `*`.
//!
//! ```
//! use mcp_tower_guard::{ConfigError, OriginGuardLayer};
//!
//! let guard = OriginGuardLayer::localhost()
//!     .allow_origins(["chrome-extension://abcdefghijklmnopabcdefghijklmnop", "moz-extension://*"])?;
//! let list = guard.allowed_origins();
//! assert!(list.matches(&"moz-extension://8b0bb1b6-a1f4-4a4c-9b8b-3f9a0b1c2d3e".parse().unwrap()));
//! assert!(!list.matches(&"chrome-extension://ponmlkjihgfedcbaponmlkjihgfedcba".parse().unwrap()));
//! assert!(matches!(OriginGuardLayer::new(["https://*"]), Err(ConfigError::InvalidOrigin { .. })));
//! # Ok::<(), ConfigError>(())
//! ```
//!
//! # Matching rules
//!
//! Origins are compared as RFC 6454 tuples `(scheme, host, port)`: scheme and
//! host case-insensitively, a trailing dot on the host ignored, the missing
//! port replaced by the scheme's default (`http`/`ws` 80, `https`/`wss` 443).
//! The scheme matters: `https://localhost:3000` does not match
//! `http://localhost:3000`. Hosts follow the rules of [`crate::host`]: IPv6 is
//! compared as an address, IPv4 shorthands (`http://127.1`) are names and
//! match no IP entry. A header value with a path (even a bare trailing `/`,
//! which browsers never send), userinfo, a query, whitespace or non-ASCII
//! bytes, or two `Origin` headers, is malformed.
//!
//! To ask the same question elsewhere, use [`OriginGuardLayer::allowed_origins`]
//! and [`OriginList::matches`].
//!
//! # With a CORS layer
//!
//! A browser page on another origin that calls the server sends a CORS
//! preflight (`OPTIONS` with `Access-Control-Request-Method`) first; real
//! requests then pass the CORS layer and are checked here.
//! Where CORS goes: outside the Origin and headers layers, so it answers
//! preflights (the headers layer refuses `OPTIONS` with 405), and inside the
//! Host check when you compose by hand: `Host → CORS → Origin → Headers →
//! Session`. Around `McpGuard`, wrap the whole guard: a preflight then skips the
//! Host check, which is harmless, since the CORS layer answers it without
//! calling the server.
//!
//! The CORS layer answers a preflight without calling the layers inside it,
//! so the Origin and headers layers (and, around `McpGuard`, the whole
//! guard) never see preflights; a preflight is harmless on its own, and the
//! request that follows is checked. Build the CORS allowlist from
//! [`OriginGuardLayer::allowed_origins`] so the two cannot disagree (with the
//! `cors` feature, `mcp_tower_guard::cors::mcp_cors` does exactly that). Any
//! `OPTIONS` request that does reach the guard (no CORS layer, or not a
//! preflight) is checked like every other method.
//!
//! # Behind a reverse proxy
//!
//! Proxies normally pass `Origin` through untouched. One that strips it makes
//! every request look like a non-browser client; one that rewrites it causes
//! false rejections. Roll a new allowlist out with
//! [`OriginGuardLayer::report_only`] and watch the
//! `mcp_tower_guard::rejection` log target before enforcing it.

mod config;
mod layer;
pub(crate) mod parse;
mod service;

pub use self::config::{OriginConfig, OriginList};
pub use self::layer::OriginGuardLayer;
pub use self::service::OriginGuard;
pub use crate::future::ResponseFuture;
