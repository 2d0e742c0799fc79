//! A tower-http [`CorsLayer`] for an MCP endpoint whose allowed origins are
//! exactly those of an [`OriginGuardLayer`], so the two cannot disagree.
//!
//! Browsers send a preflight (`OPTIONS`) before a cross-origin POST carrying
//! `Content-Type: application/json` or any MCP header. The CORS layer answers
//! them itself and adds the `Access-Control-*` headers to the other responses.
//! Where CORS goes: outside the Origin and headers layers, so it answers
//! preflights (the headers layer refuses `OPTIONS` with 405), and inside the
//! Host check when you compose by hand: `Host → CORS → Origin → Headers →
//! Session`. Around `McpGuard`, wrap the whole guard: a preflight then skips the
//! Host check, which is harmless, since the CORS layer answers it without
//! calling the server.
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use http::{Method, Request, Response, StatusCode};
//! use http_body_util::Full;
//! use mcp_tower_guard::cors::mcp_cors;
//! use mcp_tower_guard::{McpHeadersLayer, OriginGuardLayer};
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let origins = OriginGuardLayer::localhost().allow_origin("https://app.example.com")?;
//! let mut svc = ServiceBuilder::new()
//!     .layer(mcp_cors(&origins))
//!     .layer(origins)
//!     .layer(McpHeadersLayer::new())
//!     .service_fn(|_req: Request<Full<Bytes>>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::<Bytes>::default()))
//!     });
//!
//! let preflight = Request::builder()
//!     .method(Method::OPTIONS)
//!     .uri("/mcp")
//!     .header("origin", "https://app.example.com")
//!     .header("access-control-request-method", "POST")
//!     .header("access-control-request-headers", "content-type, mcp-protocol-version")
//!     .body(Full::default())?;
//! let res = svc.ready().await?.call(preflight).await?;
//! assert_eq!(res.status(), StatusCode::OK);
//! assert_eq!(res.headers()["access-control-allow-origin"], "https://app.example.com");
//! # Ok(())
//! # }
//! ```
//!
//! Around an [`McpGuard`](crate::McpGuard) (features `host` and `session`),
//! the CORS layer wraps the whole guard, built from the same Origin list:
//!
//! ```
//! # #[cfg(all(feature = "host", feature = "session"))]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use mcp_tower_guard::cors::mcp_cors;
//! use mcp_tower_guard::{McpGuard, OriginGuardLayer};
//! use tower::ServiceBuilder;
//!
//! let origins = OriginGuardLayer::localhost().allow_origin("https://app.example.com")?;
//! let cors = mcp_cors(&origins);
//! let guard = McpGuard::local("127.0.0.1:8000".parse()?)?.origins(origins);
//! # let your_mcp_server = tower::service_fn(|_req: http::Request<String>| async {
//! #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
//! # });
//! let service = ServiceBuilder::new()
//!     .layer(cors)
//!     .service(guard.into_service(your_mcp_server));
//! # let _ = service;
//! # Ok(())
//! # }
//! # #[cfg(not(all(feature = "host", feature = "session")))]
//! # fn main() {}
//! ```

use http::{header, HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::header_names::{
    LAST_EVENT_ID, MCP_METHOD, MCP_NAME, MCP_PROTOCOL_VERSION, MCP_SESSION_ID,
};
#[cfg(feature = "headers")]
use crate::headers::ToolRules;
use crate::OriginGuardLayer;

/// The request headers an MCP client may send cross-origin.
pub const ALLOWED_HEADERS: [HeaderName; 7] = [
    header::CONTENT_TYPE,
    header::AUTHORIZATION,
    MCP_SESSION_ID,
    MCP_PROTOCOL_VERSION,
    MCP_METHOD,
    MCP_NAME,
    LAST_EVENT_ID,
];

/// The response headers a browser client must be able to read.
pub const EXPOSED_HEADERS: [HeaderName; 3] = [
    MCP_SESSION_ID,
    MCP_PROTOCOL_VERSION,
    header::WWW_AUTHENTICATE,
];

/// A [`CorsLayer`] for an MCP endpoint:
///
/// - methods `GET`, `POST`, `DELETE`;
/// - request headers `Content-Type`, `Authorization`, `Mcp-Session-Id`,
///   `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`, `Last-Event-ID`;
/// - exposed headers `Mcp-Session-Id`, `MCP-Protocol-Version`, `WWW-Authenticate`;
/// - `Access-Control-Allow-Origin` echoed only for an origin that
///   `origins.allowed_origins().matches(..)` accepts (a predicate over the same
///   list the guard uses), never `*`, and no credentials.
///
/// tower-http still sends `Access-Control-Allow-Methods`/`-Headers` on a
/// preflight from another origin; without `Access-Control-Allow-Origin` the
/// browser refuses it all the same. `Mcp-Param-*` headers (2026-07-28 tool
/// parameters) have per-tool names: use [`mcp_cors_with_tools`] when your
/// tools mirror parameters.
///
/// See the [module docs](crate::cors) for an example.
pub fn mcp_cors<R>(origins: &OriginGuardLayer<R>) -> CorsLayer {
    cors(origins, ALLOWED_HEADERS.to_vec())
}

/// [`mcp_cors`], also allowing the `Mcp-Param-*` header of every parameter
/// `tools` declares with `x-mcp-header`, so a browser client may send them.
///
/// ```
/// use mcp_tower_guard::cors::mcp_cors_with_tools;
/// use mcp_tower_guard::headers::ToolRules;
/// use mcp_tower_guard::OriginGuardLayer;
/// use serde_json::json;
///
/// # fn main() -> Result<(), mcp_tower_guard::ConfigError> {
/// let tools = ToolRules::from_tools_list(&json!([{ "name": "execute_sql",
///     "inputSchema": { "type": "object", "properties": {
///         "region": { "type": "string", "x-mcp-header": "Region" } } } }]))?;
/// let cors = mcp_cors_with_tools(&OriginGuardLayer::localhost(), &tools);
/// # let _ = cors;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "headers")]
#[cfg_attr(docsrs, doc(cfg(feature = "headers")))]
pub fn mcp_cors_with_tools<R>(origins: &OriginGuardLayer<R>, tools: &ToolRules) -> CorsLayer {
    let mut names = ALLOWED_HEADERS.to_vec();
    for name in tools.header_names() {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    cors(origins, names)
}

fn cors<R>(origins: &OriginGuardLayer<R>, allowed_headers: Vec<HeaderName>) -> CorsLayer {
    let list = origins.allowed_origins().clone();
    CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers(allowed_headers)
        .expose_headers(EXPOSED_HEADERS)
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            list.matches(origin)
        }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::{Request, Response, StatusCode};
    use http_body_util::Full;
    use tower::{ServiceBuilder, ServiceExt};

    async fn preflight(origin: &'static str) -> Response<Full<Bytes>> {
        let guard = OriginGuardLayer::localhost()
            .allow_origin("https://app.example.com")
            .unwrap();
        let svc = ServiceBuilder::new().layer(mcp_cors(&guard)).service_fn(
            |_req: Request<Full<Bytes>>| async {
                Ok::<_, std::convert::Infallible>(Response::new(Full::<Bytes>::default()))
            },
        );
        let req = Request::builder()
            .method(Method::OPTIONS)
            .uri("/mcp")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,mcp-protocol-version,mcp-name",
            )
            .body(Full::default())
            .unwrap();
        svc.oneshot(req).await.unwrap()
    }

    #[tokio::test]
    async fn allowed_origin_gets_allow_headers() {
        for origin in ["https://app.example.com", "http://localhost:5173"] {
            let res = preflight(origin).await;
            assert_eq!(res.status(), StatusCode::OK);
            let h = res.headers();
            assert_eq!(h["access-control-allow-origin"], origin);
            let methods = h["access-control-allow-methods"]
                .to_str()
                .unwrap()
                .to_ascii_lowercase();
            for m in ["get", "post", "delete"] {
                assert!(methods.contains(m), "{methods}");
            }
            let allowed = h["access-control-allow-headers"]
                .to_str()
                .unwrap()
                .to_ascii_lowercase();
            for name in ALLOWED_HEADERS {
                assert!(allowed.contains(name.as_str()), "{allowed} lacks {name}");
            }
            assert!(h.get("access-control-allow-credentials").is_none());
        }
    }

    #[tokio::test]
    async fn declared_mcp_param_headers_are_allowed() {
        let tools = ToolRules::from_tools_list(&serde_json::json!([{ "name": "t",
            "inputSchema": { "type": "object", "properties": {
                "region": { "type": "string", "x-mcp-header": "Region" } } } }]))
        .unwrap();
        let svc = ServiceBuilder::new()
            .layer(mcp_cors_with_tools(&OriginGuardLayer::localhost(), &tools))
            .service_fn(|_req: Request<Full<Bytes>>| async {
                Ok::<_, std::convert::Infallible>(Response::new(Full::<Bytes>::default()))
            });
        let req = Request::builder()
            .method(Method::OPTIONS)
            .uri("/mcp")
            .header("origin", "http://localhost:5173")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "mcp-param-region")
            .body(Full::default())
            .unwrap();
        let res = svc.oneshot(req).await.unwrap();
        let allowed = res.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(allowed.contains("mcp-param-region"), "{allowed}");
        assert!(allowed.contains("mcp-protocol-version"), "{allowed}");
    }

    #[tokio::test]
    async fn other_origin_gets_no_allow_origin() {
        for origin in [
            "https://evil.example",
            "null",
            "https://app.example.com.evil.example",
        ] {
            let res = preflight(origin).await;
            assert!(
                res.headers().get("access-control-allow-origin").is_none(),
                "{origin}"
            );
        }
    }

    #[tokio::test]
    async fn simple_response_exposes_mcp_headers() {
        let guard = OriginGuardLayer::localhost();
        let svc = ServiceBuilder::new().layer(mcp_cors(&guard)).service_fn(
            |_req: Request<Full<Bytes>>| async {
                Ok::<_, std::convert::Infallible>(Response::new(Full::<Bytes>::default()))
            },
        );
        let req = Request::post("/mcp")
            .header("origin", "http://127.0.0.1:8080")
            .body(Full::default())
            .unwrap();
        let res = svc.oneshot(req).await.unwrap();
        let h = res.headers();
        assert_eq!(h["access-control-allow-origin"], "http://127.0.0.1:8080");
        let exposed = h["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        for name in EXPOSED_HEADERS {
            assert!(exposed.contains(name.as_str()), "{exposed} lacks {name}");
        }
    }
}
