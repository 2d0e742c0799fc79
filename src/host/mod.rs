//! Host allowlist: the DNS-rebinding defence.
//!
//! A web page on `http://evil.example` can make the browser resolve
//! `evil.example` to `127.0.0.1` and then talk to a server listening there.
//! The browser still sends `Host: evil.example`, so refusing every host that is
//! not on a short allowlist stops the attack. [`HostCheckLayer::localhost`] is
//! the list for a local server; rmcp and the TypeScript and Python SDKs do the
//! same check by default.
//!
//! Use it together with [`OriginGuardLayer`](crate::OriginGuardLayer): a
//! `no-cors` POST that a foreign page sends straight to
//! `http://localhost:8000` carries `Host: localhost:8000`, and only the
//! `Origin` shows where it came from.
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use mcp_tower_guard::{HostCheckLayer, Rejection, RejectionKind};
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut svc = ServiceBuilder::new()
//!     .layer(HostCheckLayer::localhost())
//!     .service_fn(|_req: Request<Full<Bytes>>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("ok"))))
//!     });
//!
//! let ok = Request::builder().uri("/mcp").header("host", "localhost:8000").body(Full::default())?;
//! assert_eq!(svc.ready().await?.call(ok).await?.status(), StatusCode::OK);
//!
//! // A rebinding page: well-formed, not on the list.
//! let evil = Request::builder().uri("/mcp").header("host", "evil.example:8000").body(Full::default())?;
//! let res = svc.ready().await?.call(evil).await?;
//! assert_eq!(res.status(), StatusCode::FORBIDDEN);
//! assert_eq!(res.headers()["content-type"], "application/json");
//! assert_eq!(res.extensions().get::<Rejection>().map(|r| r.kind()), Some(RejectionKind::HostNotAllowed));
//!
//! // Parser confusion: refused as malformed, not "cleaned up" into `localhost`.
//! let odd = Request::builder().uri("/mcp").header("host", "evil.example@localhost").body(Full::default())?;
//! assert_eq!(svc.ready().await?.call(odd).await?.status(), StatusCode::BAD_REQUEST);
//! # Ok(())
//! # }
//! ```
//!
//! # Allowlist entries
//!
//! | entry | matches |
//! |---|---|
//! | `localhost` | `localhost` on any port (and without a port) |
//! | `example.com:8443` | `example.com:8443` only; a `Host` without a port does not match |
//! | `example.com:*` | `example.com`, any port (same as no port, but explicit) |
//! | `127.0.0.1`, `[::1]` | that address, any port |
//! | `*.example.com` | `a.example.com`, `a.b.example.com`; **not** `example.com` |
//!
//! Entries are validated when the layer is built; a bad one is a
//! [`ConfigError::InvalidHost`](crate::ConfigError::InvalidHost) naming it.
//! A scheme, path, userinfo or a `*` anywhere but a leading `*.` label is refused.
//! A wildcard must leave at least two labels (`*.example.com`; `*.com` and
//! `*.localhost` are refused). The public suffix list is not consulted, so
//! `*.co.uk` is accepted: name your own domain. A CIDR range (`10.0.0.0/8`)
//! is refused with a message saying so: list hosts one by one.
//!
//! Browsers leave the default port out of `Host`, so `example.com:443` never
//! matches them; list `example.com` (any port) for a server on a default port.
//!
//! # Matching rules
//!
//! - Names are compared ASCII case-insensitively, and one trailing dot is
//!   ignored: `LOCALHOST.:3000` is `localhost`.
//! - IPv6 literals must be bracketed and are compared as addresses:
//!   `[0:0:0:0:0:0:0:1]` is `[::1]`. Zone ids (`%eth0`) are refused. An
//!   IPv4-mapped address (`[::ffff:127.0.0.1]`) is an IPv6 address and does
//!   not match `127.0.0.1`.
//! - IPv4 literals are dotted quads of decimal octets without leading zeros.
//!   Shorthands that a URL parser would turn into `127.0.0.1` (`127.1`,
//!   `0x7f.0.0.1`, `2130706433`, `0177.0.0.1`) are treated as *names*, so they
//!   never match an IP entry: a browser always sends the normalised form, so
//!   only a non-browser client (or an attack) sends these, and refusing them
//!   is the safe choice.
//! - The port must be 1 to 5 decimal digits, at most 65535. Anything after it
//!   (`localhost:3000.evil.com`, `localhost:evil.com`), an empty port
//!   (`localhost:`), userinfo (`evil.com@localhost`), a path, query, fragment
//!   or backslash, whitespace, non-ASCII or non-UTF-8 bytes, junk after `]`
//!   (`[::1]evil.com`) and an unbracketed IPv6 address (`::1`) make the value
//!   malformed (400). Nothing is "cleaned up" into an allowed host.
//!
//! # Which host is checked
//!
//! The request-target authority (HTTP/2 `:authority`, an HTTP/1.1
//! absolute-form target such as `GET http://localhost/mcp`) is the request's
//! host, as RFC 9112 section 3.2.2 says. Unlike that rule, a `Host` header sent
//! alongside it is not ignored: it must be well-formed and allowed too, because
//! the inner service may read `Host` and must not see an unchecked value. With
//! no authority, the `Host` header is checked. Two `Host` headers are malformed
//! (400); neither is missing (400).
//!
//! # Behind a reverse proxy
//!
//! A proxy usually rewrites `Host` to the backend's name and puts the client's
//! host in `X-Forwarded-Host` or `Forwarded: host=`. Any client can send those
//! headers too, so they are ignored unless
//! [`HostCheckLayer::trust_forwarded_host`] names the proxy's address **and**
//! the request carries a [`PeerAddr`] extension with that address. The server
//! inserts [`PeerAddr`] per connection. With axum:
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use axum::{extract::{ConnectInfo, Request}, middleware::{self, Next}, routing::post, Router};
//! use mcp_tower_guard::{host::PeerAddr, HostCheckLayer};
//!
//! async fn peer_addr(ConnectInfo(peer): ConnectInfo<SocketAddr>, mut req: Request, next: Next) -> axum::response::Response {
//!     req.extensions_mut().insert(PeerAddr(peer));
//!     next.run(req).await
//! }
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let hosts = HostCheckLayer::new(["mcp.example.com"])?
//!     .trust_forwarded_host(["10.0.0.1".parse()?]);
//! let app = Router::new()
//!     .route("/mcp", post(|| async { "ok" }))
//!     .layer(hosts)
//!     .layer(middleware::from_fn(peer_addr)); // outer: runs first
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//! # Ok(()) }
//! ```
//!
//! With hyper, insert it in the per-connection `service_fn`:
//! `req.extensions_mut().insert(PeerAddr(peer))`, where `peer` comes from
//! `TcpListener::accept`.

mod bind;
mod config;
mod forwarded;
mod layer;
mod service;

pub use self::bind::LocalBind;
pub use self::config::HostConfig;
pub use self::layer::HostCheckLayer;
pub use self::service::HostCheck;
pub use crate::future::ResponseFuture;
pub use crate::peer::PeerAddr;
