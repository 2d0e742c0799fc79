//! Token verification behind one async trait, the verified identity, and
//! the cache of verified tokens both verifiers share.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use super::scope::Scopes;
use crate::keyed::{keyed_hash, tag_of, Tag};

/// What a [`TokenVerifier`] returns, boxed so that verifiers can be stored
/// as `Arc<dyn TokenVerifier>`.
pub type VerifyFuture =
    Pin<Box<dyn Future<Output = Result<Arc<VerifiedToken>, VerifyError>> + Send>>;

/// Checks a bearer token: its signature or its introspection answer, its
/// issuer, its audience (this resource) and its lifetime. Scopes are the
/// layer's business, not the verifier's.
///
/// [`JwtVerifier`](super::JwtVerifier) and
/// [`IntrospectionVerifier`](super::IntrospectionVerifier) implement it; so
/// can your own (an API-key table, a test double).
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies `token`. The future must not borrow from `self`: clone what
    /// it needs (verifiers keep their state behind an `Arc`).
    fn verify(&self, token: &str) -> VerifyFuture;
}

impl<T: TokenVerifier + ?Sized> TokenVerifier for Arc<T> {
    fn verify(&self, token: &str) -> VerifyFuture {
        (**self).verify(token)
    }
}

/// Why a token was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token is not valid here: malformed, badly signed, expired, not yet
    /// valid, revoked, or for another issuer or audience (401
    /// `invalid_token`). The reason is logged; it never contains the token.
    Invalid(Cow<'static, str>),
    /// The token could not be checked (the issuer's keys or introspection
    /// endpoint are unreachable, and nothing usable is cached): 503 with
    /// `Retry-After`.
    Unavailable {
        /// What failed, for the log.
        reason: Cow<'static, str>,
        /// When to try again.
        retry_after: Duration,
    },
}

impl VerifyError {
    /// An [`Invalid`](Self::Invalid) error.
    pub fn invalid(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Invalid(reason.into())
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(reason) => write!(f, "invalid token: {reason}"),
            Self::Unavailable { reason, .. } => {
                write!(f, "token verification unavailable: {reason}")
            }
        }
    }
}

impl std::error::Error for VerifyError {}

/// A verified token: who it was issued to, by whom, with which scopes.
/// Handlers read it from the request extensions as [`AuthContext`].
#[derive(Clone)]
pub struct VerifiedToken {
    issuer: Arc<str>,
    subject: Arc<str>,
    principal: Arc<str>,
    client_id: Option<Arc<str>>,
    scopes: Scopes,
    expires_at: Option<SystemTime>,
    claims: Arc<Map<String, Value>>,
}

impl VerifiedToken {
    /// A token of `subject` issued by `issuer`, with `scopes`.
    pub fn new(issuer: &str, subject: &str, scopes: Scopes) -> Self {
        Self {
            issuer: issuer.into(),
            subject: subject.into(),
            // An issuer is a URL, which cannot hold a space: the pair is unambiguous.
            principal: format!("{issuer} {subject}").into(),
            client_id: None,
            scopes,
            expires_at: None,
            claims: Arc::default(),
        }
    }

    /// Sets when the token expires (the cache keeps it no longer).
    pub fn with_expiry(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// Sets the OAuth client the token was issued to.
    pub fn with_client_id(mut self, client_id: &str) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Sets the claims (a JWT's payload, an introspection answer).
    pub fn with_claims(mut self, claims: Map<String, Value>) -> Self {
        self.claims = Arc::new(claims);
        self
    }

    /// `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `sub`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// `iss` and `sub`, space-separated: what sessions bind to.
    pub fn principal_id(&self) -> &str {
        &self.principal
    }

    /// The principal id as the shared string, so a session binding takes
    /// it without copying.
    pub(crate) fn principal_arc(&self) -> &Arc<str> {
        &self.principal
    }

    /// `client_id`, when the token names one.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The granted scopes.
    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }

    /// `exp`, when the token has one.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// Every claim, as the issuer sent it.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// A short keyed tag of the principal, for logs.
    pub fn tag(&self) -> Tag {
        tag_of(self.principal.as_bytes())
    }
}

impl fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("issuer", &self.issuer)
            .field("subject", &self.subject)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The verified token of the request, in its extensions: what a handler
/// reads (`Extension<AuthContext>` in axum, `parts.extensions` in rmcp).
/// Cloning is an `Arc` clone.
#[derive(Clone, Debug)]
pub struct AuthContext(Arc<VerifiedToken>);

impl AuthContext {
    pub(crate) fn new(token: Arc<VerifiedToken>) -> Self {
        Self(token)
    }

    /// The verified token.
    pub fn token(&self) -> &VerifiedToken {
        &self.0
    }
}

impl std::ops::Deref for AuthContext {
    type Target = VerifiedToken;

    fn deref(&self) -> &VerifiedToken {
        &self.0
    }
}

/// A short keyed tag of a token for logs: never the token.
pub(crate) fn token_tag(token: &str) -> Tag {
    tag_of(token.as_bytes())
}

/// Verified tokens, so a token is checked once and then found with one hash
/// and one comparison. Each entry keeps the token itself and is used only
/// when it is byte-equal, so a collision of keys can never hand one token
/// another's identity: it only costs a verification. That lets the key be a
/// keyed hash of the token's length and last 64 bytes (a JWT's signature,
/// an opaque token's random tail) instead of all of it. Entries live no
/// longer than the token (`exp`) and `max_ttl`; memory is bounded by bytes
/// (tokens weigh what they are long). A zero size means no cache.
#[derive(Clone)]
pub(crate) struct TokenCache {
    cache: Option<moka::sync::Cache<u64, Arc<Cached>>>,
    max_ttl: Duration,
}

/// The cache key of a token: see [`TokenCache`].
fn cache_key(token: &str) -> u64 {
    let bytes = token.as_bytes();
    let tail = &bytes[bytes.len().saturating_sub(64)..];
    keyed_hash(tail) ^ (bytes.len() as u64).rotate_left(32)
}

struct Cached {
    token: Box<str>,
    outcome: Result<Arc<VerifiedToken>, ()>,
    ttl: Duration,
}

struct CachedExpiry;

impl moka::Expiry<u64, Arc<Cached>> for CachedExpiry {
    fn expire_after_create(
        &self,
        _key: &u64,
        value: &Arc<Cached>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// What the cache knows about a token.
pub(crate) enum Lookup {
    Valid(Arc<VerifiedToken>),
    /// Known to be invalid (an introspection `active: false`), for a short time.
    Invalid,
    Unknown,
}

impl TokenCache {
    pub(crate) fn new(max_bytes: u64, max_ttl: Duration) -> Self {
        let cache = (max_bytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_k: &u64, v: &Arc<Cached>| {
                    u32::try_from(v.token.len() + 256).unwrap_or(u32::MAX)
                })
                .expire_after(CachedExpiry)
                .build()
        });
        Self { cache, max_ttl }
    }

    pub(crate) fn get(&self, token: &str) -> Lookup {
        let Some(entry) = self.cache.as_ref().and_then(|c| c.get(&cache_key(token))) else {
            return Lookup::Unknown;
        };
        if *entry.token != *token {
            return Lookup::Unknown;
        }
        match &entry.outcome {
            // The cache's clock and the token's `exp` can disagree by the
            // insert's rounding: `exp` wins.
            Ok(v) if v.expires_at.is_some_and(|exp| exp <= SystemTime::now()) => Lookup::Unknown,
            Ok(v) => Lookup::Valid(v.clone()),
            Err(()) => Lookup::Invalid,
        }
    }

    /// Keeps a verified token until it expires, at most `max_ttl`.
    pub(crate) fn insert_valid(&self, token: &str, verified: Arc<VerifiedToken>) {
        let left = verified
            .expires_at
            .and_then(|exp| exp.duration_since(SystemTime::now()).ok());
        let ttl = left.map_or(self.max_ttl, |left| left.min(self.max_ttl));
        if ttl.is_zero() {
            return;
        }
        self.put(token, Ok(verified), ttl);
    }

    /// Remembers, for `ttl`, that a token is not valid (never as valid).
    pub(crate) fn insert_invalid(&self, token: &str, ttl: Duration) {
        if !ttl.is_zero() {
            self.put(token, Err(()), ttl.min(self.max_ttl));
        }
    }

    fn put(&self, token: &str, outcome: Result<Arc<VerifiedToken>, ()>, ttl: Duration) {
        let Some(cache) = &self.cache else {
            return;
        };
        let entry = Arc::new(Cached {
            token: token.into(),
            outcome,
            ttl,
        });
        cache.insert(cache_key(token), entry);
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.cache.as_ref().map(|c| c.entry_count()))
            .field("max_ttl", &self.max_ttl)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_returns_only_the_same_token_and_never_past_exp() {
        let cache = TokenCache::new(1 << 20, Duration::from_secs(60));
        let valid = Arc::new(
            VerifiedToken::new("https://as", "alice", Scopes::parse("mcp"))
                .with_expiry(SystemTime::now() + Duration::from_secs(30)),
        );
        cache.insert_valid("tok-a", valid);
        assert!(matches!(cache.get("tok-a"), Lookup::Valid(v) if v.subject() == "alice"));
        assert!(matches!(cache.get("tok-b"), Lookup::Unknown));
        let expired = Arc::new(
            VerifiedToken::new("https://as", "bob", Scopes::default())
                .with_expiry(SystemTime::now() - Duration::from_secs(1)),
        );
        cache.insert_valid("tok-old", expired);
        assert!(matches!(cache.get("tok-old"), Lookup::Unknown));
        cache.insert_invalid("tok-revoked", Duration::from_secs(5));
        assert!(matches!(cache.get("tok-revoked"), Lookup::Invalid));
    }

    #[test]
    fn tokens_sharing_a_cache_key_never_share_an_identity() {
        let cache = TokenCache::new(1 << 20, Duration::from_secs(60));
        let tail = "x".repeat(64);
        let (a, b) = (format!("aaaa{tail}"), format!("bbbb{tail}"));
        assert_eq!(cache_key(&a), cache_key(&b), "same length and tail");
        cache.insert_valid(
            &a,
            Arc::new(VerifiedToken::new("https://as", "alice", Scopes::default())),
        );
        assert!(matches!(cache.get(&b), Lookup::Unknown));
        assert!(matches!(cache.get(&a), Lookup::Valid(_)));
        let none = TokenCache::new(0, Duration::from_secs(60));
        none.insert_valid(
            &a,
            Arc::new(VerifiedToken::new("https://as", "alice", Scopes::default())),
        );
        assert!(matches!(none.get(&a), Lookup::Unknown));
    }

    #[test]
    fn the_principal_is_issuer_and_subject() {
        let t = VerifiedToken::new("https://as.example", "user 1", Scopes::default());
        assert_eq!(t.principal_id(), "https://as.example user 1");
        assert!(!format!("{t:?}").contains("claims"));
    }
}
