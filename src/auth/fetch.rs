//! Fetching from the authorization server: discovery documents, JWKS and
//! introspection, with reqwest over rustls. Only `https` (or `http` on
//! loopback), only the origins the verifier allows, no redirects, bounded
//! in time and size.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use url::Url;

use super::metadata::is_loopback;
use crate::error::ConfigError;

/// The largest document accepted from the authorization server.
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// The HTTP client a verifier fetches with. Cloning shares one connection pool.
///
/// ```
/// use std::time::Duration;
/// use mcp_tower_guard::auth::HttpFetcher;
///
/// # fn main() -> Result<(), mcp_tower_guard::ConfigError> {
/// let fetcher = HttpFetcher::builder()
///     .timeout(Duration::from_secs(3))
///     .max_document_bytes(64 * 1024)
///     .build()?;
/// # let _ = fetcher;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
    max_bytes: usize,
    timeout: Duration,
}

/// Builds an [`HttpFetcher`].
#[derive(Clone, Debug)]
pub struct HttpFetcherBuilder {
    connect_timeout: Duration,
    timeout: Duration,
    max_bytes: usize,
}

impl HttpFetcher {
    /// A fetcher with 2 s to connect, 5 s per request and 256 KiB per document.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidSetting`] if the TLS stack cannot be set up.
    pub fn new() -> Result<Self, ConfigError> {
        Self::builder().build()
    }

    /// A builder with the defaults of [`new`](Self::new).
    pub fn builder() -> HttpFetcherBuilder {
        HttpFetcherBuilder {
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            max_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
        }
    }

    /// GETs a JSON document.
    pub(crate) async fn get_json(&self, url: &Url) -> Result<Value, FetchError> {
        check_fetchable(url)?;
        let request = self
            .client
            .get(url.clone())
            .header(http::header::ACCEPT, "application/json");
        self.send(request).await
    }

    /// POSTs a form with HTTP Basic client authentication (RFC 6749 §2.3.1:
    /// id and secret are form-encoded before Base64) and reads a JSON answer.
    pub(crate) async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        client: (&str, &str),
    ) -> Result<Value, FetchError> {
        use base64::Engine as _;
        check_fetchable(url)?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            encode(client.0),
            encode(client.1)
        ));
        let request = self
            .client
            .post(url.clone())
            .header(http::header::ACCEPT, "application/json")
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::AUTHORIZATION, format!("Basic {basic}"))
            .body(body);
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, FetchError> {
        let mut response = request.send().await.map_err(FetchError::transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|len| len > self.max_bytes as u64)
        {
            return Err(FetchError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(FetchError::transport)? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|_| FetchError::NotJson)
    }

    /// The per-request time limit.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl fmt::Debug for HttpFetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpFetcher")
            .field("max_bytes", &self.max_bytes)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpFetcherBuilder {
    /// Time to connect (default 2 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time for a whole request, body included (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest document accepted (default 256 KiB).
    pub fn max_document_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// The fetcher.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidSetting`] for a zero limit, or if the TLS stack
    /// cannot be set up.
    pub fn build(self) -> Result<HttpFetcher, ConfigError> {
        for (setting, zero) in [
            ("connect_timeout", self.connect_timeout.is_zero()),
            ("timeout", self.timeout.is_zero()),
            ("max_document_bytes", self.max_bytes == 0),
        ] {
            if zero {
                return Err(crate::error::not_positive(setting));
            }
        }
        let client = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            // A redirect could leave the origins the verifier trusts.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mcp-tower-guard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::InvalidSetting {
                setting: "http_fetcher",
                reason: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(HttpFetcher {
            client,
            max_bytes: self.max_bytes,
            timeout: self.timeout,
        })
    }
}

/// Why a fetch failed. Never carries a token or a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FetchError {
    /// The URL is not `https` (or `http` on loopback), or not an allowed origin.
    NotAllowed(Arc<str>),
    /// A non-2xx answer (redirects included: they are not followed).
    Status(u16),
    /// Over the size limit.
    TooLarge,
    /// Not JSON.
    NotJson,
    /// Timeouts, refused connections, TLS failures.
    Transport(Arc<str>),
}

impl FetchError {
    fn transport(e: reqwest::Error) -> Self {
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "transport error"
        };
        Self::Transport(what.into())
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAllowed(why) => write!(f, "not fetched: {why}"),
            Self::Status(status) => write!(f, "answered HTTP {status}"),
            Self::TooLarge => f.write_str("answered a document over the size limit"),
            Self::NotJson => f.write_str("answered something that is not JSON"),
            Self::Transport(what) => f.write_str(what),
        }
    }
}

fn check_fetchable(url: &Url) -> Result<(), FetchError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        _ => Err(FetchError::NotAllowed(
            "only https (or http on a loopback host) is fetched".into(),
        )),
    }
}

/// True when `url` has the same origin as one of `allowed`.
pub(crate) fn same_origin(url: &Url, allowed: &[url::Origin]) -> bool {
    let origin = url.origin();
    allowed.contains(&origin)
}
