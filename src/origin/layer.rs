use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use super::config::{OriginConfig, OriginList, LOCALHOST};
use super::OriginGuard;
use crate::{ConfigError, JsonRpcRejection};

/// Refuses requests whose `Origin` header is present but not allowed: the
/// MCP rule "servers MUST validate the `Origin` header on all incoming
/// connections … if present and invalid, MUST respond with HTTP 403".
///
/// | `Origin` | result |
/// |---|---|
/// | absent | passes, unless [`require_origin(true)`](OriginGuardLayer::require_origin): 403 [`MissingOrigin`](crate::RejectionKind::MissingOrigin), or a browser's `Sec-Fetch-Site` says `cross-site` (see [`fetch_metadata`](OriginGuardLayer::fetch_metadata)): 403 [`CrossSiteRequest`](crate::RejectionKind::CrossSiteRequest) |
/// | on the list | passes |
/// | `null` | 403 [`NullOrigin`](crate::RejectionKind::NullOrigin) unless [`allow_null_origin(true)`](OriginGuardLayer::allow_null_origin) |
/// | malformed, userinfo, path, two headers | 403 [`MalformedOrigin`](crate::RejectionKind::MalformedOrigin) |
/// | well-formed, not listed | 403 [`OriginNotAllowed`](crate::RejectionKind::OriginNotAllowed) |
///
/// Every method is checked, `GET`, `DELETE` and `OPTIONS` included.
/// Rejections never carry `WWW-Authenticate`. Cloning the layer, and calling
/// [`Layer::layer`], only clones an [`Arc`].
///
/// See the [module docs](crate::origin) for entry syntax and an example.
#[derive(Clone)]
#[must_use]
pub struct OriginGuardLayer<R = JsonRpcRejection> {
    pub(super) config: Arc<OriginConfig>,
    pub(super) rejection: R,
}

impl OriginGuardLayer {
    /// A guard that allows the given origins (see the
    /// [module docs](crate::origin#allowlist-entries) for the syntax).
    ///
    /// An empty list is allowed: then every request that carries an `Origin`
    /// (every browser request) is refused, and clients that send none pass.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidOrigin`] naming the first entry that does not parse.
    ///
    /// ```
    /// use mcp_tower_guard::{ConfigError, OriginGuardLayer};
    ///
    /// let guard = OriginGuardLayer::new(["https://app.example.com", "http://localhost:*"])?;
    /// # let _ = guard;
    /// let err = OriginGuardLayer::new(["http://user@localhost"]).unwrap_err();
    /// assert!(matches!(err, ConfigError::InvalidOrigin { .. }));
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn new<I, O>(origins: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = O>,
        O: AsRef<str>,
    {
        let mut list = OriginList::empty();
        for origin in origins {
            list.push(origin.as_ref())?;
        }
        Ok(Self {
            config: Arc::new(OriginConfig::new(list)),
            rejection: JsonRpcRejection,
        })
    }

    /// Local pages only: `http` and `https` on `localhost`, `127.0.0.1` and
    /// `[::1]`, any port.
    pub fn localhost() -> Self {
        let mut list = OriginList::empty();
        for entry in LOCALHOST {
            // The preset entries are valid; a failure would only drop one.
            let _ = list.push(entry);
        }
        Self {
            config: Arc::new(OriginConfig::new(list)),
            rejection: JsonRpcRejection,
        }
    }
}

impl Default for OriginGuardLayer {
    /// Same as [`OriginGuardLayer::localhost`].
    fn default() -> Self {
        Self::localhost()
    }
}

impl<R> OriginGuardLayer<R> {
    /// Adds one origin to the allowlist. `"null"` is the same as
    /// [`allow_null_origin(true)`](OriginGuardLayer::allow_null_origin).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidOrigin`] if the entry does not parse.
    pub fn allow_origin(mut self, origin: impl AsRef<str>) -> Result<Self, ConfigError> {
        Arc::make_mut(&mut self.config).list.push(origin.as_ref())?;
        Ok(self)
    }

    /// Adds several origins to the allowlist.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidOrigin`] naming the first entry that does not parse.
    pub fn allow_origins<I, O>(mut self, origins: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = O>,
        O: AsRef<str>,
    {
        let config = Arc::make_mut(&mut self.config);
        for origin in origins {
            config.list.push(origin.as_ref())?;
        }
        Ok(self)
    }

    /// Accepts the opaque origin `Origin: null` (sent by sandboxed iframes,
    /// `file:` pages and some redirects). Off by default: any page can put
    /// itself in a sandbox, so `null` proves nothing.
    pub fn allow_null_origin(mut self, allow: bool) -> Self {
        Arc::make_mut(&mut self.config).list.set_allow_null(allow);
        self
    }

    /// Refuses requests without an `Origin` (403
    /// [`MissingOrigin`](crate::RejectionKind::MissingOrigin)). Off by default:
    /// CLI and desktop clients send no `Origin`, and browsers always do on the
    /// requests that matter (cross-origin, and every POST).
    pub fn require_origin(mut self, require: bool) -> Self {
        Arc::make_mut(&mut self.config).require_origin = require;
        self
    }

    /// Consults Fetch Metadata when `Origin` is absent (on by default):
    /// `Sec-Fetch-Site: cross-site` gets 403
    /// [`CrossSiteRequest`](crate::RejectionKind::CrossSiteRequest), as does a
    /// value that is not one of the four a browser sends, or the header twice;
    /// `same-origin`, `none` and `same-site` (see
    /// [`allow_same_site`](Self::allow_same_site)) pass. When `Origin` is
    /// present the allowlist decides alone.
    ///
    /// Safe for clients that are not browsers: CLI tools, desktop apps and SDK
    /// clients send neither `Origin` nor `Sec-Fetch-Site`, and pass as before.
    /// Only a browser sends `Sec-Fetch-Site`, and it sets the value itself
    /// (scripts cannot), so a `cross-site` value is a page on another site.
    ///
    /// ```
    /// use http::{Request, StatusCode};
    /// use mcp_tower_guard::OriginGuardLayer;
    ///
    /// let guard = tower_layer::Layer::layer(&OriginGuardLayer::localhost(), ());
    /// let req = Request::post("/mcp").header("sec-fetch-site", "cross-site").body(()).unwrap();
    /// assert_eq!(guard.check(&req).unwrap_err().status(), StatusCode::FORBIDDEN);
    /// let req = Request::post("/mcp").body(()).unwrap();
    /// assert!(guard.check(&req).is_ok());
    /// ```
    pub fn fetch_metadata(mut self, check: bool) -> Self {
        Arc::make_mut(&mut self.config).fetch_metadata = check;
        self
    }

    /// Whether `Sec-Fetch-Site: same-site` (another origin of the same site,
    /// such as a sibling subdomain) passes when `Origin` is absent. On by
    /// default; turn it off where sibling subdomains are not trusted.
    pub fn allow_same_site(mut self, allow: bool) -> Self {
        Arc::make_mut(&mut self.config).allow_same_site = allow;
        self
    }

    /// Lets clients that authenticate with a bearer token call from an
    /// `Origin` that is not listed (browser extensions, web clients of a
    /// remote server), provided an [`McpAuthLayer`](crate::auth::McpAuthLayer)
    /// inside verifies the token. Off by default.
    ///
    /// The decision is the auth layer's, because only it can verify the
    /// token: this layer passes on a request from a well-formed, unlisted
    /// `Origin` only when its sole credential is one `Authorization: Bearer`
    /// header and it carries no `Cookie`, and marks it. The auth layer then
    /// admits it on a valid token (scopes checked as usual), and answers 403
    /// [`OriginNotAllowed`](crate::RejectionKind::OriginNotAllowed) where it
    /// would have answered 401 or 400 for the credential. A request without
    /// a bearer token, or with a cookie, from an unlisted origin gets 403
    /// here, as before; malformed and `null` origins are refused as before.
    ///
    /// Why this is safe: a token a page holds in a script is no ambient
    /// credential, so a forged cross-site request cannot carry one, and the
    /// Host check (which runs first, and is not relaxed) still stops DNS
    /// rebinding. See SECURITY.md.
    ///
    /// **Put an `McpAuthLayer` inside this layer**, as
    /// [`McpGuard`](crate::McpGuard) does: without one, nothing verifies the
    /// token. `McpGuard` turns this mode off (with an `error` event) when it
    /// has no auth layer.
    ///
    /// ```
    /// use http::Request;
    /// use mcp_tower_guard::OriginGuardLayer;
    ///
    /// let guard = tower_layer::Layer::layer(&OriginGuardLayer::localhost().admit_bearer_clients(true), ());
    /// let from = |cookie: bool| {
    ///     let mut req = Request::post("/mcp")
    ///         .header("origin", "https://web-client.example")
    ///         .header("authorization", "Bearer eyJ...");
    ///     if cookie {
    ///         req = req.header("cookie", "sid=1");
    ///     }
    ///     req.body(()).unwrap()
    /// };
    /// assert!(guard.check(&from(false)).is_ok()); // for the auth layer to verify
    /// assert!(guard.check(&from(true)).is_err()); // a cookie is ambient: 403
    /// ```
    #[cfg(feature = "auth")]
    #[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
    pub fn admit_bearer_clients(mut self, admit: bool) -> Self {
        Arc::make_mut(&mut self.config).bearer_clients = admit;
        self
    }

    /// Whether `admit_bearer_clients` (feature `auth`) is on.
    pub fn admits_bearer_clients(&self) -> bool {
        self.config.bearer_clients
    }

    /// Report-only mode: a request that would be refused is logged with
    /// `tracing::warn!` (target `mcp_tower_guard::rejection`, field
    /// `report_only = true`) and passed on. For rolling out an allowlist
    /// behind a proxy whose behaviour is not known yet; never for production.
    pub fn report_only(mut self, report_only: bool) -> Self {
        Arc::make_mut(&mut self.config).report_only = report_only;
        self
    }

    /// The allowlist, to ask "is this `Origin` allowed?" with the same rules
    /// elsewhere (a CORS layer, a handler).
    pub fn allowed_origins(&self) -> &OriginList {
        &self.config.list
    }

    /// Whether [`require_origin`](OriginGuardLayer::require_origin) is on.
    pub fn requires_origin(&self) -> bool {
        self.config.require_origin
    }

    /// Whether [`report_only`](OriginGuardLayer::report_only) is on.
    pub fn is_report_only(&self) -> bool {
        self.config.report_only
    }

    /// Wraps `inner`: the same as [`Layer::layer`], without importing the trait.
    pub fn into_service<S>(self, inner: S) -> OriginGuard<S, R> {
        OriginGuard::new(inner, self.config, self.rejection)
    }

    /// Replaces the response builder used for rejections (see
    /// [`RejectionResponse`](crate::RejectionResponse)).
    pub fn with_rejection<R2: Clone>(self, rejection: R2) -> OriginGuardLayer<R2> {
        OriginGuardLayer {
            config: self.config,
            rejection,
        }
    }
}

impl<R> fmt::Debug for OriginGuardLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::rejection::debug_guard::<R>(f, "OriginGuardLayer", None, &self.config)
    }
}

impl<S, R: Clone> Layer<S> for OriginGuardLayer<R> {
    type Service = OriginGuard<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        OriginGuard::new(inner, Arc::clone(&self.config), self.rejection.clone())
    }
}
