//! [`IntrospectionVerifier`]: opaque (or any) tokens checked with the
//! issuer's RFC 7662 introspection endpoint.

use std::collections::HashMap;
use std::fmt;
use std::future::ready;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use url::Url;

use super::fetch::{same_origin, FetchError, HttpFetcher};
use super::jwks::discover;
use super::jwt::verified_token;
use super::metadata::checked_url;
use super::verifier::{
    Lookup, TokenCache, TokenVerifier, VerifiedToken, VerifyError, VerifyFuture,
};
use super::TARGET;
use crate::error::{not_positive, ConfigError};

/// Checks tokens with RFC 7662 introspection, authenticating this server as
/// an OAuth client (HTTP Basic, `client_secret_basic`).
///
/// - `active` must be `true`; `iss`, when the answer has one, must be the
///   issuer; `aud` must contain this resource (an answer without `aud` is
///   refused unless [`require_audience(false)`](IntrospectionVerifierBuilder::require_audience));
///   `exp` and `nbf` are checked too.
/// - Answers are cached by a keyed hash of the token (the token is kept only
///   to compare): an active one no longer than the token lives and at most
///   [`cache_ttl`](IntrospectionVerifierBuilder::cache_ttl), which is also how
///   long a revocation can go unnoticed; an inactive one only as invalid, for
///   [`inactive_ttl`](IntrospectionVerifierBuilder::inactive_ttl). It is never
///   cached as valid.
/// - The endpoint comes from the issuer's metadata (`introspection_endpoint`,
///   on the issuer's origin) or from configuration. When it cannot be reached,
///   or refuses this server's credentials, requests get 503.
///
/// ```
/// use mcp_tower_guard::auth::IntrospectionVerifier;
///
/// # fn main() -> Result<(), mcp_tower_guard::ConfigError> {
/// let verifier = IntrospectionVerifier::builder(
///     "https://auth.example.com",
///     "https://mcp.example.com/mcp",
///     ("mcp-server", "s3cret"),
/// )
/// .build()?;
/// # let _ = verifier;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct IntrospectionVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    issuer_url: Url,
    audiences: Vec<String>,
    require_audience: bool,
    client: (String, String),
    configured: Option<Url>,
    discovered: RwLock<Option<Url>>,
    fetcher: HttpFetcher,
    cache: TokenCache,
    inactive_ttl: Duration,
    leeway: u64,
    down: AtomicBool,
    /// Introspections under way, by token: concurrent requests with one
    /// token share one outbound call (issue 26, finding 9).
    inflight: Mutex<HashMap<Box<str>, Arc<tokio::sync::OnceCell<Outcome>>>>,
}

type Outcome = Result<Arc<VerifiedToken>, VerifyError>;

/// Builds an [`IntrospectionVerifier`].
#[derive(Clone)]
pub struct IntrospectionVerifierBuilder {
    issuer: String,
    audiences: Vec<String>,
    require_audience: bool,
    client: (String, String),
    endpoint: Option<String>,
    fetcher: Option<HttpFetcher>,
    cache_bytes: u64,
    cache_ttl: Duration,
    inactive_ttl: Duration,
    leeway: Duration,
}

impl fmt::Debug for IntrospectionVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionVerifierBuilder")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("client_id", &self.client.0)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl IntrospectionVerifier {
    /// A builder for tokens of `issuer` that must be for `audience` (the
    /// resource's canonical URI), introspected with `client` (id, secret).
    pub fn builder(
        issuer: &str,
        audience: &str,
        client: (&str, &str),
    ) -> IntrospectionVerifierBuilder {
        IntrospectionVerifierBuilder {
            issuer: issuer.to_owned(),
            audiences: vec![audience.to_owned()],
            require_audience: true,
            client: (client.0.to_owned(), client.1.to_owned()),
            endpoint: None,
            fetcher: None,
            cache_bytes: 16 * 1024 * 1024,
            cache_ttl: Duration::from_secs(60),
            inactive_ttl: Duration::from_secs(10),
            leeway: Duration::from_secs(30),
        }
    }
}

impl fmt::Debug for IntrospectionVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionVerifier")
            .field("issuer", &self.inner.issuer)
            .field("audiences", &self.inner.audiences)
            .field("client_id", &self.inner.client.0)
            .field("cache", &self.inner.cache)
            .finish_non_exhaustive()
    }
}

impl IntrospectionVerifierBuilder {
    /// Also accepts tokens whose `aud` names `audience`.
    pub fn audience(mut self, audience: &str) -> Self {
        self.audiences.push(audience.to_owned());
        self
    }

    /// Whether an answer without `aud` is refused (default `true`: MCP
    /// servers MUST check that tokens were issued for them).
    pub fn require_audience(mut self, require: bool) -> Self {
        self.require_audience = require;
        self
    }

    /// The introspection endpoint, instead of the issuer's metadata.
    pub fn endpoint(mut self, url: &str) -> Self {
        self.endpoint = Some(url.to_owned());
        self
    }

    /// The HTTP client (default: [`HttpFetcher::new`]).
    pub fn fetcher(mut self, fetcher: HttpFetcher) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// The longest an active answer is trusted (default 60 s): the window in
    /// which a revoked token is still accepted.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// How long an inactive answer is remembered, as invalid (default 10 s),
    /// so a flood of bad tokens does not become a flood of introspections.
    pub fn inactive_ttl(mut self, ttl: Duration) -> Self {
        self.inactive_ttl = ttl;
        self
    }

    /// Bytes of answers kept (default 16 MiB; 0 turns the cache off, so
    /// every request is introspected).
    pub fn cache_bytes(mut self, bytes: u64) -> Self {
        self.cache_bytes = bytes;
        self
    }

    /// Clock leeway for `exp` and `nbf` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The verifier.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidSetting`] for an issuer or endpoint that is not
    /// `https` (or `http` on loopback), an empty client id, a leeway over
    /// [`MAX_LEEWAY`](super::MAX_LEEWAY) or a zero limit.
    pub fn build(self) -> Result<IntrospectionVerifier, ConfigError> {
        let issuer_url = checked_url("issuer", &self.issuer)?;
        let configured = self
            .endpoint
            .as_deref()
            .map(|e| checked_url("endpoint", e))
            .transpose()?;
        if self.client.0.is_empty() {
            return Err(ConfigError::InvalidSetting {
                setting: "client",
                reason: "the client id must not be empty".to_owned(),
            });
        }
        if self.leeway > super::MAX_LEEWAY {
            return Err(ConfigError::InvalidSetting {
                setting: "leeway",
                reason: format!("at most {} s", super::MAX_LEEWAY.as_secs()),
            });
        }
        for (setting, zero) in [("cache_ttl", self.cache_ttl.is_zero())] {
            if zero {
                return Err(not_positive(setting));
            }
        }
        let fetcher = match self.fetcher {
            Some(f) => f,
            None => HttpFetcher::new()?,
        };
        Ok(IntrospectionVerifier {
            inner: Arc::new(Inner {
                issuer: self.issuer.clone(),
                issuer_url,
                audiences: self.audiences,
                require_audience: self.require_audience,
                client: self.client,
                configured,
                discovered: RwLock::new(None),
                fetcher,
                cache: TokenCache::new(self.cache_bytes, self.cache_ttl),
                inactive_ttl: self.inactive_ttl,
                leeway: self.leeway.as_secs(),
                down: AtomicBool::new(false),
                inflight: Mutex::default(),
            }),
        })
    }
}

impl TokenVerifier for IntrospectionVerifier {
    fn verify(&self, token: &str) -> VerifyFuture {
        match self.inner.cache.get(token) {
            Lookup::Valid(verified) => return Box::pin(ready(Ok(verified))),
            Lookup::Invalid => {
                return Box::pin(ready(Err(VerifyError::invalid("inactive (introspection)"))))
            }
            Lookup::Unknown => {}
        }
        // The cheap form check before any outbound call: a garbage token
        // costs the issuer nothing (issue 26, finding 9).
        if !super::bearer::is_b64token(token.as_bytes()) {
            return Box::pin(ready(Err(VerifyError::invalid(
                "the token is not a b64token (RFC 6750)",
            ))));
        }
        let inner = self.inner.clone();
        let token: Box<str> = token.into();
        Box::pin(async move { inner.verify_once(token).await })
    }
}

impl Inner {
    /// [`verify`](Self::verify), once for concurrent requests with one token.
    async fn verify_once(&self, token: Box<str>) -> Outcome {
        let cell = {
            let mut inflight = self.inflight.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(inflight.entry(token.clone()).or_default())
        };
        let outcome = cell.get_or_init(|| self.verify(&token)).await.clone();
        let mut inflight = self.inflight.lock().unwrap_or_else(PoisonError::into_inner);
        if inflight.get(&token).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            inflight.remove(&token);
        }
        outcome
    }

    fn unavailable(&self, error: String) -> VerifyError {
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(target: TARGET, issuer = %self.issuer, %error, "cannot introspect tokens");
        }
        VerifyError::Unavailable {
            reason: error.into(),
            retry_after: Duration::from_secs(1),
        }
    }

    async fn endpoint(&self) -> Result<Url, VerifyError> {
        if let Some(url) = &self.configured {
            return Ok(url.clone());
        }
        if let Some(url) = self.discovered.read().ok().and_then(|d| d.clone()) {
            return Ok(url);
        }
        let metadata = discover(&self.fetcher, &self.issuer_url, &self.issuer)
            .await
            .map_err(|e| self.unavailable(e))?;
        let url = metadata
            .get("introspection_endpoint")
            .and_then(Value::as_str)
            .and_then(|u| Url::parse(u).ok())
            .ok_or_else(|| {
                self.unavailable("the issuer's metadata has no introspection_endpoint".to_owned())
            })?;
        if !same_origin(&url, &[self.issuer_url.origin()]) {
            return Err(self.unavailable(format!(
                "the introspection endpoint {url} is on another origin; configure it with IntrospectionVerifierBuilder::endpoint"
            )));
        }
        if let Ok(mut slot) = self.discovered.write() {
            *slot = Some(url.clone());
        }
        Ok(url)
    }

    async fn verify(&self, token: &str) -> Result<Arc<VerifiedToken>, VerifyError> {
        let endpoint = self.endpoint().await?;
        let answer = self
            .fetcher
            .post_form(
                &endpoint,
                &[("token", token), ("token_type_hint", "access_token")],
                (&self.client.0, &self.client.1),
            )
            .await;
        let answer = match answer {
            Ok(Value::Object(answer)) => answer,
            Ok(_) => {
                return Err(self.unavailable(
                    "introspection answered something that is not an object".to_owned(),
                ))
            }
            // The endpoint refusing *our* credentials is a server problem, not the client's.
            Err(e @ FetchError::Status(401 | 403)) => {
                return Err(self.unavailable(format!(
                    "introspection refused this server's client credentials ({e})"
                )))
            }
            Err(e) => return Err(self.unavailable(format!("introspection {e}"))),
        };
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!(target: TARGET, issuer = %self.issuer, "token introspection answers again");
        }
        match self.check(answer) {
            Ok(verified) => {
                let verified = Arc::new(verified);
                self.cache.insert_valid(token, verified.clone());
                Ok(verified)
            }
            Err(error) => {
                self.cache.insert_invalid(token, self.inactive_ttl);
                Err(error)
            }
        }
    }

    fn check(&self, mut answer: Map<String, Value>) -> Result<VerifiedToken, VerifyError> {
        if answer.get("active") != Some(&Value::Bool(true)) {
            return Err(VerifyError::invalid("inactive (introspection)"));
        }
        match answer.get("iss").and_then(Value::as_str) {
            // Byte for byte, as for JWTs (RFC 8414 §3.3).
            Some(iss) if iss != self.issuer => {
                return Err(VerifyError::invalid("issued by another issuer (iss)"))
            }
            Some(_) => {}
            None => {
                answer.insert("iss".to_owned(), Value::String(self.issuer.clone()));
            }
        }
        let audience_ok = match answer.get("aud") {
            Some(Value::String(aud)) => self.audiences.contains(aud),
            Some(Value::Array(auds)) => auds
                .iter()
                .filter_map(Value::as_str)
                .any(|a| self.audiences.iter().any(|mine| mine == a)),
            None => !self.require_audience,
            Some(_) => false,
        };
        if !audience_ok {
            return Err(VerifyError::invalid("issued for another audience (aud)"));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // A refresh token is no access token (issue 26, finding 10).
        let refresh = |v: Option<&Value>| {
            v.and_then(Value::as_str).is_some_and(|t| {
                t.eq_ignore_ascii_case("refresh_token") || t.eq_ignore_ascii_case("refresh")
            })
        };
        if refresh(answer.get("token_type")) || refresh(answer.get("typ")) {
            return Err(VerifyError::invalid("not an access token (token_type)"));
        }
        // NumericDate may be fractional (RFC 7519 §2): a float counts too.
        if let Some(exp) = answer.get("exp").and_then(super::jwt::numeric_date) {
            if exp + self.leeway <= now {
                return Err(VerifyError::invalid("expired (exp)"));
            }
            // Normalised, so the cache keeps the answer no longer than this.
            answer.insert("exp".to_owned(), Value::from(exp));
        }
        if let Some(nbf) = answer.get("nbf").and_then(super::jwt::numeric_date) {
            if nbf > now + self.leeway {
                return Err(VerifyError::invalid("not valid yet (nbf)"));
            }
        }
        if !answer.contains_key("sub") {
            // RFC 7662 makes `sub` optional: the user name or the client
            // then stands for the principal, each in a namespace of its own,
            // so neither can pass for a user's `sub` (issue 26, finding 10).
            let who = match (
                answer.get("username").and_then(Value::as_str),
                answer.get("client_id").and_then(Value::as_str),
            ) {
                (Some(user), _) => format!("username:{user}"),
                (None, Some(client)) => format!("client:{client}"),
                (None, None) => {
                    return Err(VerifyError::invalid(
                        "no sub, username or client_id (introspection)",
                    ))
                }
            };
            answer.insert("sub".to_owned(), Value::String(who));
        }
        verified_token(answer)
    }
}
