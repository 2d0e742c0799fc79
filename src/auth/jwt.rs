//! [`JwtVerifier`]: JWT access tokens checked against the issuer's keys.

use std::fmt;
use std::future::ready;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use serde_json::{Map, Value};

use super::fetch::HttpFetcher;
use super::jwks::{family, Family, KeyTimes, Keys, Source};
use super::metadata::checked_url;
use super::scope::Scopes;
use super::verifier::{
    Lookup, TokenCache, TokenVerifier, VerifiedToken, VerifyError, VerifyFuture,
};
use crate::error::{not_positive, ConfigError};

/// The longest clock leeway accepted for `exp` and `nbf`.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// Checks JWT access tokens (RFC 9068): the signature against the issuer's
/// published keys, `iss` equal to the issuer, `aud` containing this
/// resource (RFC 8707), `exp` and `nbf` within a bounded leeway, and a `sub`.
///
/// - Only the algorithms of an allowlist are accepted (RS256, PS256, ES256
///   and EdDSA by default). `none` is never a valid algorithm, HMAC
///   algorithms cannot be allowed, and a key is used only for its own family
///   (and its own `alg` and curve when the JWK names them): a token signed
///   with HS256 and the public key as secret is refused.
/// - Keys come from the issuer's JWKS: its `jwks_uri` is found through
///   RFC 8414 / OpenID discovery of the issuer, or configured. Only the
///   issuer's origin (and a configured `jwks_uri`) is fetched.
/// - Keys are refreshed after [`key_refresh`](JwtVerifierBuilder::key_refresh),
///   used for up to [`key_max_age`](JwtVerifierBuilder::key_max_age) while the
///   issuer is unreachable, and fetched at most once per
///   [`refetch_interval`](JwtVerifierBuilder::refetch_interval), so a flood of
///   tokens with forged `kid`s costs the issuer one request per interval.
/// - A verified token is cached until it expires (at most
///   [`cache_ttl`](JwtVerifierBuilder::cache_ttl)): the next request with it
///   costs a hash and a comparison.
///
/// ```
/// use mcp_tower_guard::auth::JwtVerifier;
///
/// # fn main() -> Result<(), mcp_tower_guard::ConfigError> {
/// let verifier = JwtVerifier::builder("https://auth.example.com", "https://mcp.example.com/mcp")
///     .build()?;
/// # let _ = verifier;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct JwtVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    audiences: Vec<String>,
    algorithms: Vec<Algorithm>,
    leeway: u64,
    keys: Keys,
    cache: TokenCache,
    require_at_jwt: bool,
}

/// Builds a [`JwtVerifier`].
#[derive(Clone, Debug)]
pub struct JwtVerifierBuilder {
    issuer: String,
    audiences: Vec<String>,
    algorithms: Vec<Algorithm>,
    jwks_uri: Option<String>,
    jwks: Option<Value>,
    fetcher: Option<HttpFetcher>,
    leeway: Duration,
    times: KeyTimes,
    cache_bytes: u64,
    cache_ttl: Duration,
    require_at_jwt: bool,
}

impl JwtVerifier {
    /// A builder for tokens of `issuer` whose `aud` must contain `audience`,
    /// the resource's canonical URI (use
    /// [`ResourceMetadata::resource`](super::ResourceMetadata::resource)).
    pub fn builder(issuer: &str, audience: &str) -> JwtVerifierBuilder {
        JwtVerifierBuilder {
            issuer: issuer.to_owned(),
            audiences: vec![audience.to_owned()],
            algorithms: vec![
                Algorithm::RS256,
                Algorithm::PS256,
                Algorithm::ES256,
                Algorithm::EdDSA,
            ],
            jwks_uri: None,
            jwks: None,
            fetcher: None,
            leeway: Duration::from_secs(30),
            times: KeyTimes {
                refresh_after: Duration::from_secs(5 * 60),
                max_age: Duration::from_secs(60 * 60),
                refetch_interval: Duration::from_secs(30),
            },
            cache_bytes: 16 * 1024 * 1024,
            cache_ttl: Duration::from_secs(5 * 60),
            require_at_jwt: false,
        }
    }

    /// The issuer whose tokens are accepted.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("issuer", &self.inner.issuer)
            .field("audiences", &self.inner.audiences)
            .field("algorithms", &self.inner.algorithms)
            .field("cache", &self.inner.cache)
            .finish_non_exhaustive()
    }
}

impl JwtVerifierBuilder {
    /// Also accepts tokens whose `aud` names `audience` (an alias of the
    /// resource, such as the same URI with a trailing slash).
    pub fn audience(mut self, audience: &str) -> Self {
        self.audiences.push(audience.to_owned());
        self
    }

    /// The accepted algorithms (replacing the default RS256, PS256, ES256,
    /// EdDSA). HMAC algorithms are refused at [`build`](Self::build).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// The JWKS URL, instead of discovering it from the issuer. It may be on
    /// another origin than the issuer (some issuers host keys elsewhere).
    pub fn jwks_uri(mut self, url: &str) -> Self {
        self.jwks_uri = Some(url.to_owned());
        self
    }

    /// Fixed keys (a JWKS document): nothing is ever fetched.
    pub fn jwks(mut self, jwks: Value) -> Self {
        self.jwks = Some(jwks);
        self
    }

    /// The HTTP client (default: [`HttpFetcher::new`]).
    pub fn fetcher(mut self, fetcher: HttpFetcher) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// Requires the RFC 9068 header `typ: at+jwt` (or `application/at+jwt`),
    /// which keeps an ID token or another JWT of the issuer from passing for
    /// an access token (default off: major providers, Auth0 and Entra ID
    /// among them, do not set it; the `aud` check already refuses an ID
    /// token issued to a client rather than to this resource).
    pub fn require_access_token_type(mut self, require: bool) -> Self {
        self.require_at_jwt = require;
        self
    }

    /// Clock leeway for `exp` and `nbf` (default 30 s, at most [`MAX_LEEWAY`]).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// After this, the next request refreshes the keys (default 5 min).
    pub fn key_refresh(mut self, after: Duration) -> Self {
        self.times.refresh_after = after;
        self
    }

    /// How long fetched keys are trusted while the issuer cannot be reached
    /// (default 1 h); after that, requests get 503 until it answers.
    pub fn key_max_age(mut self, age: Duration) -> Self {
        self.times.max_age = age;
        self
    }

    /// At most one fetch of the keys per this interval, whatever the tokens
    /// say (default 30 s).
    pub fn refetch_interval(mut self, interval: Duration) -> Self {
        self.times.refetch_interval = interval;
        self
    }

    /// Bytes of verified tokens kept (default 16 MiB; 0 turns the cache off).
    pub fn cache_bytes(mut self, bytes: u64) -> Self {
        self.cache_bytes = bytes;
        self
    }

    /// The longest a verified token is kept (default 5 min, never past its `exp`).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// The verifier. Keys are fetched on first use, not here.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidSetting`] for an issuer or `jwks_uri` that is not
    /// `https` (or `http` on loopback), an empty or HMAC algorithm list, a
    /// leeway over [`MAX_LEEWAY`], a zero interval, or fixed keys of which
    /// none is usable.
    pub fn build(self) -> Result<JwtVerifier, ConfigError> {
        install_crypto_provider();
        let issuer_url = checked_url("issuer", &self.issuer)?;
        // Compared with `iss` byte for byte (RFC 9068, RFC 8414 §3.3).
        let issuer = self.issuer.clone();
        if self.algorithms.is_empty() {
            return Err(ConfigError::InvalidSetting {
                setting: "algorithms",
                reason: "at least one algorithm must be accepted".to_owned(),
            });
        }
        if let Some(alg) = self
            .algorithms
            .iter()
            .find(|a| family(**a) == Family::Other)
        {
            return Err(ConfigError::InvalidSetting {
                setting: "algorithms",
                reason: format!("{alg:?}: HMAC tokens cannot be checked against published keys"),
            });
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::InvalidSetting {
                setting: "leeway",
                reason: format!("at most {} s", MAX_LEEWAY.as_secs()),
            });
        }
        for (setting, zero) in [
            ("key_refresh", self.times.refresh_after.is_zero()),
            ("key_max_age", self.times.max_age.is_zero()),
            ("refetch_interval", self.times.refetch_interval.is_zero()),
            ("cache_ttl", self.cache_ttl.is_zero()),
        ] {
            if zero {
                return Err(not_positive(setting));
            }
        }
        let keys = match (self.jwks, self.jwks_uri) {
            (Some(jwks), _) => {
                let keys = Keys::static_keys(&jwks, issuer.clone());
                if keys.is_empty_static() {
                    return Err(ConfigError::InvalidSetting {
                        setting: "jwks",
                        reason: "no usable signing key in the key set".to_owned(),
                    });
                }
                keys
            }
            (None, uri) => {
                let fetcher = match self.fetcher {
                    Some(f) => f,
                    None => HttpFetcher::new()?,
                };
                let mut allowed = vec![issuer_url.origin()];
                let source = match uri {
                    Some(uri) => {
                        let uri = checked_url("jwks_uri", &uri)?;
                        allowed.push(uri.origin());
                        Source::Uri(uri)
                    }
                    None => Source::Discover(issuer_url),
                };
                Keys::new(
                    source,
                    issuer.clone(),
                    Some(fetcher),
                    allowed,
                    self.times,
                    &Value::Null,
                )
            }
        };
        Ok(JwtVerifier {
            inner: Arc::new(Inner {
                issuer,
                audiences: self.audiences,
                algorithms: self.algorithms,
                leeway: self.leeway.as_secs(),
                keys,
                cache: TokenCache::new(self.cache_bytes, self.cache_ttl),
                require_at_jwt: self.require_at_jwt,
            }),
        })
    }
}

/// jsonwebtoken picks its crypto backend at run time and panics on the first
/// check when none (or both) is chosen: this crate's is pure-Rust
/// `rust_crypto`. An application that installed its own first keeps it.
fn install_crypto_provider() {
    let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
        &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER,
    );
}

impl TokenVerifier for JwtVerifier {
    fn verify(&self, token: &str) -> VerifyFuture {
        match self.inner.cache.get(token) {
            Lookup::Valid(verified) => return Box::pin(ready(Ok(verified))),
            Lookup::Invalid => {
                return Box::pin(ready(Err(VerifyError::invalid("a token already refused"))))
            }
            Lookup::Unknown => {}
        }
        let inner = self.inner.clone();
        let token: Box<str> = token.into();
        Box::pin(async move { inner.verify(&token).await })
    }
}

impl Inner {
    async fn verify(&self, token: &str) -> Result<Arc<VerifiedToken>, VerifyError> {
        let header = decode_header(token).map_err(|_| {
            VerifyError::invalid("not a JWT, or an algorithm that is never accepted")
        })?;
        if header.crit.is_some() {
            // RFC 7515: every `crit` extension must be understood; none is.
            return Err(VerifyError::invalid("the JWT header has crit extensions"));
        }
        if self.require_at_jwt
            && !header.typ.as_deref().is_some_and(|t| {
                t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
            })
        {
            return Err(VerifyError::invalid(
                "not an RFC 9068 access token (typ is not at+jwt)",
            ));
        }
        if !self.algorithms.contains(&header.alg) {
            return Err(VerifyError::invalid(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let key = self.keys.key(header.kid.as_deref(), header.alg).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&self.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.leeway;
        let claims = decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| VerifyError::invalid(reason(e.kind())))?
            .claims;
        let verified = Arc::new(verified_token(claims)?);
        self.cache.insert_valid(token, verified.clone());
        Ok(verified)
    }
}

fn reason(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "expired (exp)".to_owned(),
        ErrorKind::ImmatureSignature => "not valid yet (nbf)".to_owned(),
        ErrorKind::InvalidAudience => "issued for another audience (aud)".to_owned(),
        ErrorKind::InvalidIssuer => "issued by another issuer (iss)".to_owned(),
        ErrorKind::InvalidSignature => "bad signature".to_owned(),
        ErrorKind::InvalidAlgorithm => "the algorithm does not fit the key".to_owned(),
        ErrorKind::MissingRequiredClaim(claim) => format!("no {claim} claim"),
        ErrorKind::InvalidClaimFormat(claim) => format!("malformed {claim} claim"),
        _ => "malformed".to_owned(),
    }
}

/// The identity and scopes of checked claims (RFC 9068 `scope`; `scp` as
/// Okta and Entra send it).
pub(crate) fn verified_token(claims: Map<String, Value>) -> Result<VerifiedToken, VerifyError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let issuer = text("iss").ok_or_else(|| VerifyError::invalid("no iss claim"))?;
    let subject = text("sub").ok_or_else(|| VerifyError::invalid("no sub claim"))?;
    let scopes = match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(s)), _) => Scopes::parse(s),
        (_, Some(Value::String(s))) => Scopes::parse(s),
        (_, Some(Value::Array(items))) => items.iter().filter_map(Value::as_str).collect(),
        _ => Scopes::default(),
    };
    let mut verified = VerifiedToken::new(issuer, subject, scopes);
    if let Some(client) = text("client_id").or_else(|| text("azp")) {
        verified = verified.with_client_id(client);
    }
    // A fractional exp (RFC 7519 NumericDate) bounds the cache too (issue
    // 26, finding 10: a float was ignored, and the token cached for the full TTL).
    if let Some(exp) = claims.get("exp").and_then(numeric_date) {
        verified = verified.with_expiry(UNIX_EPOCH + Duration::from_secs(exp));
    }
    Ok(verified.with_claims(claims))
}

/// An RFC 7519 NumericDate: whole seconds, or a fractional number of them
/// (rounded down); `None` for anything else, negative or not finite.
pub(crate) fn numeric_date(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        let f = value.as_f64()?;
        (f.is_finite() && f >= 0.0 && f < u64::MAX as f64).then(|| f.floor() as u64)
    })
}
