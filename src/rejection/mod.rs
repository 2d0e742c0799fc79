//! The one rejection path every layer uses.
//!
//! A layer that refuses a request builds a [`Rejection`], and one shared function turns it
//! into the response: it emits one `tracing` event (target
//! `mcp_tower_guard::rejection`), asks the layer's [`RejectionResponse`] for the
//! response, stores the [`Rejection`] in the response extensions and adds the
//! headers the status needs (`Allow` on 405, `Retry-After` on 429/503).
//!
//! The default builder, [`JsonRpcRejection`], writes
//! `{"jsonrpc":"2.0","error":{"code":-32000,"message":"..."},"id":1}` with
//! `Content-Type: application/json` into every body type that can carry bytes
//! (see [`crate::body`]); any other `B: Default` gets the status alone.
//!
//! The `id` is the request's own whenever the body has been parsed into a single
//! JSON-RPC request (JSON-RPC 2.0: "it MUST be the same as the value of the id
//! member in the Request Object"), of whatever JSON type and spelling it was
//! sent; `null` only where no id can be known: no body, invalid JSON, a
//! notification, a batch, or a rejection decided before the body is read
//! (Host, Origin, a `Content-Length` over the limit, too many `Mcp-*` headers).
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use bytes::Bytes;
//! use mcp_tower_guard::{HostCheckLayer, Rejection};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let svc = ServiceBuilder::new()
//!     .layer(HostCheckLayer::localhost())
//!     .service_fn(|_req: Request<Full<Bytes>>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::<Bytes>::default()))
//!     });
//! let req = Request::builder().uri("/mcp").header("host", "evil.example").body(Full::default())?;
//! let res = svc.oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::FORBIDDEN);
//! let rejection = res.extensions().get::<Rejection>().expect("typed rejection");
//! assert_eq!(rejection.code(), -32000);
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};

#[cfg(feature = "envelope")]
use crate::envelope::{Envelope, EnvelopeError, MessageKind};
use crate::jsonrpc::{self, RequestId};

pub mod error_code;
mod kind;

pub use kind::RejectionKind;

/// A refused request: the kind, the JSON-RPC error it is answered with, and the
/// headers its status needs. Found in the extensions of every rejection response.
#[derive(Clone, Debug)]
pub struct Rejection {
    kind: RejectionKind,
    code: i32,
    message: Cow<'static, str>,
    // The rarer parts, boxed so that `Result<_, Rejection>` stays small on the
    // accept path.
    extra: Option<Box<Extra>>,
}

#[derive(Clone, Debug, Default)]
struct Extra {
    #[cfg(feature = "envelope")]
    data: Option<serde_json::Value>,
    allow: Option<HeaderValue>,
    retry_after: Option<Duration>,
    www_authenticate: Option<HeaderValue>,
    headers: Vec<(http::HeaderName, HeaderValue)>,
    id: Option<RequestId>,
}

impl Rejection {
    /// A rejection of `kind` with a human-readable message (never a secret or a full session id).
    pub fn new(kind: RejectionKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            code: kind.default_code(),
            message: message.into(),
            extra: None,
        }
    }

    fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// Sets the JSON-RPC `id` of the error response. Left unset, the layer
    /// fills it in from the request's parsed [`Envelope`]
    /// when the body is a single JSON-RPC request; otherwise the id is `null`.
    pub fn with_id(mut self, id: RequestId) -> Self {
        self.extra_mut().id = Some(id);
        self
    }

    /// Overrides the JSON-RPC error code.
    pub fn with_code(mut self, code: i32) -> Self {
        self.code = code;
        self
    }

    /// Adds a JSON-RPC `error.data` value.
    #[cfg(feature = "envelope")]
    #[cfg_attr(docsrs, doc(cfg(feature = "envelope")))]
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.extra_mut().data = Some(data);
        self
    }

    /// Sets the `Allow` header value (405 responses).
    pub fn with_allow(mut self, allow: HeaderValue) -> Self {
        self.extra_mut().allow = Some(allow);
        self
    }

    /// Sets `Retry-After` (429 and 503 responses), rounded up to whole seconds.
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.extra_mut().retry_after = Some(after);
        self
    }

    /// Sets the `WWW-Authenticate` challenge (401 and 403 responses).
    pub fn with_www_authenticate(mut self, challenge: HeaderValue) -> Self {
        self.extra_mut().www_authenticate = Some(challenge);
        self
    }

    /// Adds a response header (for example the `RateLimit` fields); a
    /// header the response builder already set is kept.
    pub fn with_header(mut self, name: http::HeaderName, value: HeaderValue) -> Self {
        self.extra_mut().headers.push((name, value));
        self
    }

    /// The extra response headers of [`with_header`](Self::with_header).
    pub fn headers(&self) -> &[(http::HeaderName, HeaderValue)] {
        self.extra.as_ref().map_or(&[], |e| &e.headers)
    }

    /// The `WWW-Authenticate` challenge, if any.
    pub fn www_authenticate(&self) -> Option<&HeaderValue> {
        self.extra.as_ref()?.www_authenticate.as_ref()
    }

    /// Why the request was refused.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The JSON-RPC error code.
    pub fn code(&self) -> i32 {
        self.code
    }

    /// The JSON-RPC error message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON-RPC `error.data`, if any.
    #[cfg(feature = "envelope")]
    #[cfg_attr(docsrs, doc(cfg(feature = "envelope")))]
    pub fn data(&self) -> Option<&serde_json::Value> {
        self.extra.as_ref()?.data.as_ref()
    }

    /// The `Allow` header value, for 405.
    pub fn allow(&self) -> Option<&HeaderValue> {
        self.extra.as_ref()?.allow.as_ref()
    }

    /// The `Retry-After` delay, for 429 and 503.
    pub fn retry_after(&self) -> Option<Duration> {
        self.extra.as_ref()?.retry_after
    }

    /// The JSON-RPC `id` the error response carries (`None`: `null`).
    pub fn id(&self) -> Option<&RequestId> {
        self.extra.as_ref()?.id.as_ref()
    }

    /// The JSON-RPC 2.0 error body:
    /// `{"jsonrpc":"2.0","error":{"code":..,"message":..[,"data":..]},"id":..}`,
    /// with the request's id, or `null` where none is known.
    pub fn to_json(&self) -> Bytes {
        // Written by hand: a fixed shape, so no JSON library is needed for
        // the layers that never parse a body (Host, Origin).
        let mut out = String::with_capacity(64 + self.message.len());
        out.push_str(r#"{"jsonrpc":"2.0","error":{"code":"#);
        let _ = write!(out, "{}", self.code);
        out.push_str(r#","message":"#);
        jsonrpc::write_str(&mut out, &self.message);
        #[cfg(feature = "envelope")]
        if let Some(data) = self.data() {
            // Serializing an existing Value cannot fail.
            if let Ok(text) = serde_json::to_string(data) {
                out.push_str(r#","data":"#);
                out.push_str(&text);
            }
        }
        out.push_str(r#"},"id":"#);
        match self.id() {
            Some(id) => id.write_json(&mut out),
            None => out.push_str("null"),
        }
        out.push('}');
        Bytes::from(out)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.kind, self.status(), self.message)
    }
}

impl std::error::Error for Rejection {}

/// The answer to a body that is not a JSON-RPC envelope: -32700 or -32600.
#[cfg(feature = "envelope")]
impl From<EnvelopeError> for Rejection {
    fn from(error: EnvelopeError) -> Self {
        match error {
            EnvelopeError::Parse(m) => {
                Rejection::new(RejectionKind::ParseError, format!("Parse error: {m}"))
            }
            EnvelopeError::Invalid(m) => Rejection::new(
                RejectionKind::InvalidRequest,
                format!("Invalid Request: {m}"),
            ),
        }
    }
}

/// Builds the HTTP response for a [`Rejection`]. Implemented by
/// [`JsonRpcRejection`] (the default), [`StatusOnly`] and any
/// `Fn(&Rejection) -> Response<B> + Clone`.
///
/// Whatever the builder returns, the layer adds the [`Rejection`] to the response
/// extensions and fills in `Allow` / `Retry-After` when the builder left them out.
///
/// ```
/// use bytes::Bytes;
/// use http::Response;
/// use http_body_util::Full;
/// use mcp_tower_guard::{OriginGuardLayer, Rejection};
///
/// let layer = OriginGuardLayer::localhost().with_rejection(|r: &Rejection| {
///     let mut res = Response::new(Full::new(Bytes::from(format!("refused: {}", r.kind()))));
///     *res.status_mut() = r.status();
///     res
/// });
/// # let _ = layer;
/// ```
pub trait RejectionResponse<B>: Clone {
    /// Builds the response. The status should be `rejection.status()`.
    fn rejection_response(&self, rejection: &Rejection) -> Response<B>;
}

impl<F, B> RejectionResponse<B> for F
where
    F: Fn(&Rejection) -> Response<B> + Clone,
{
    fn rejection_response(&self, rejection: &Rejection) -> Response<B> {
        self(rejection)
    }
}

/// The default response builder: the JSON-RPC error body with
/// `Content-Type: application/json` when the body type can carry bytes
/// (see [`crate::body`]), else the status alone.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct JsonRpcRejection;

impl<B: Default + 'static> RejectionResponse<B> for JsonRpcRejection {
    fn rejection_response(&self, rejection: &Rejection) -> Response<B> {
        let mut response = match crate::body::from_bytes::<B>(rejection.to_json()) {
            Some(body) => {
                let mut res = Response::new(body);
                res.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                res
            }
            None => Response::new(B::default()),
        };
        *response.status_mut() = rejection.status();
        response
    }
}

/// A response builder that sends the status with an empty body, for any `B: Default`.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct StatusOnly;

impl<B: Default> RejectionResponse<B> for StatusOnly {
    fn rejection_response(&self, rejection: &Rejection) -> Response<B> {
        let mut response = Response::new(B::default());
        *response.status_mut() = rejection.status();
        response
    }
}

/// What a rejection takes from its request: the method and path it logs, and
/// the parsed envelope whose id it answers. Borrowed, so nothing is copied to
/// reject a request.
#[derive(Clone, Copy)]
pub(crate) struct RequestHead<'a> {
    pub(crate) method: &'a http::Method,
    pub(crate) uri: &'a http::Uri,
    /// The id's source (without the feature, no body is parsed: `null`).
    #[cfg(feature = "envelope")]
    pub(crate) envelope: Option<&'a Envelope>,
}

impl<'a> RequestHead<'a> {
    pub(crate) fn of<B>(request: &'a http::Request<B>) -> Self {
        Self {
            method: request.method(),
            uri: request.uri(),
            #[cfg(feature = "envelope")]
            envelope: request.extensions().get::<Envelope>(),
        }
    }

    pub(crate) fn of_parts(parts: &'a http::request::Parts) -> Self {
        Self {
            method: &parts.method,
            uri: &parts.uri,
            #[cfg(feature = "envelope")]
            envelope: parts.extensions.get::<Envelope>(),
        }
    }
}

/// Logs `rejection` once and builds its response. Every layer rejects through here.
pub(crate) fn reject<B, R>(
    layer: &'static str,
    request: RequestHead<'_>,
    rejection: Rejection,
    responder: &R,
) -> Response<B>
where
    R: RejectionResponse<B>,
{
    #[cfg(feature = "envelope")]
    let rejection = match request.envelope.filter(|_| rejection.id().is_none()) {
        Some(envelope) => match request_id(envelope) {
            Some(id) => rejection.with_id(id),
            None => rejection,
        },
        None => rejection,
    };
    event(layer, request.method, request.uri, &rejection, false);
    crate::observe::rejection(layer, rejection.kind.as_str(), rejection.status());
    let mut response = responder.rejection_response(&rejection);
    let headers = response.headers_mut();
    if let Some(allow) = rejection.allow() {
        if !headers.contains_key(header::ALLOW) {
            headers.insert(header::ALLOW, allow.clone());
        }
    }
    for (name, value) in rejection.headers() {
        if !headers.contains_key(name) {
            headers.insert(name.clone(), value.clone());
        }
    }
    if let Some(challenge) = rejection.www_authenticate() {
        if !headers.contains_key(header::WWW_AUTHENTICATE) {
            headers.insert(header::WWW_AUTHENTICATE, challenge.clone());
        }
    }
    if let Some(after) = rejection.retry_after() {
        if !headers.contains_key(header::RETRY_AFTER) {
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
    }
    response.extensions_mut().insert(rejection);
    response
}

/// The id of the request a rejection answers: known once the body was parsed
/// into a single JSON-RPC request. A notification, a response, a batch or an
/// unread body has none (JSON-RPC: `null` when the id cannot be determined).
#[cfg(feature = "envelope")]
fn request_id(envelope: &Envelope) -> Option<RequestId> {
    let message = envelope.single()?;
    match (message.kind, &message.id) {
        (MessageKind::Request, Some(id)) => Some(id.clone()),
        _ => None,
    }
}

/// Logs a rejection that report-only mode lets through: the same event as a
/// real rejection (target, fields), with `report_only = true`, at `warn`.
pub(crate) fn report_only(layer: &'static str, request: RequestHead<'_>, rejection: &Rejection) {
    event(layer, request.method, request.uri, rejection, true);
}

fn event(
    layer: &'static str,
    method: &http::Method,
    uri: &http::Uri,
    rejection: &Rejection,
    report_only: bool,
) {
    let kind = rejection.kind.as_str();
    let status = rejection.status().as_u16();
    let method = method.as_str();
    let path = uri.path();
    let reason = rejection.message();
    if report_only {
        tracing::warn!(target: "mcp_tower_guard::rejection", layer, kind, status, method, path, reason, report_only, "request would be rejected (report-only)");
    } else if rejection.kind.is_security() {
        // A flood of forged Hosts or bad tokens: a few lines a second per
        // kind, and the count of the rest (issue 26, finding 13).
        if let Some(suppressed) = crate::log_budget::allow(rejection.kind as usize) {
            tracing::warn!(target: "mcp_tower_guard::rejection", layer, kind, status, method, path, reason, suppressed, "request rejected");
        }
    } else {
        tracing::debug!(target: "mcp_tower_guard::rejection", layer, kind, status, method, path, reason, "request rejected");
    }
}

#[cfg(test)]
mod tests;

/// The `Debug` of a layer or of its service: its name, the inner service
/// when there is one, its settings, and the rejection builder by type name
/// (a builder need not be `Debug`).
pub(crate) fn debug_guard<R>(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    inner: Option<&dyn fmt::Debug>,
    config: &dyn fmt::Debug,
) -> fmt::Result {
    let mut out = f.debug_struct(name);
    if let Some(inner) = inner {
        out.field("inner", inner);
    }
    out.field("config", config)
        .field("rejection", &std::any::type_name::<R>())
        .finish()
}
