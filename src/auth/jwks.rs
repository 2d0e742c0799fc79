//! The issuer's signing keys: fetched from its JWKS (found through RFC 8414
//! / OpenID discovery, or configured), cached, refreshed, and refetched for
//! an unknown `kid` at most once per interval.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use tokio::time::Instant;
use url::Url;

use super::fetch::{same_origin, FetchError, HttpFetcher};
use super::verifier::VerifyError;
use super::TARGET;

/// A key family: which algorithms a key can check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    Rsa,
    Ec,
    Ed,
    Other,
}

pub(crate) fn family(alg: Algorithm) -> Family {
    match alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => Family::Rsa,
        Algorithm::ES256 | Algorithm::ES384 => Family::Ec,
        Algorithm::EdDSA => Family::Ed,
        _ => Family::Other,
    }
}

/// One usable verification key.
#[derive(Clone)]
pub(crate) struct Key {
    kid: Option<String>,
    /// The JWK's own `alg`, when it names one.
    alg: Option<String>,
    family: Family,
    curve: Option<String>,
    key: Arc<DecodingKey>,
}

impl Key {
    fn fits(&self, alg: Algorithm) -> bool {
        let name = format!("{alg:?}");
        self.family == family(alg)
            && self.alg.as_deref().is_none_or(|a| a == name)
            && match alg {
                Algorithm::ES256 => self.curve.as_deref() == Some("P-256"),
                Algorithm::ES384 => self.curve.as_deref() == Some("P-384"),
                Algorithm::EdDSA => self.curve.as_deref() == Some("Ed25519"),
                _ => true,
            }
    }
}

/// The keys of a JWKS document, taken one by one: a key of a type this
/// crate does not know, an encryption key or a symmetric (`oct`) key is
/// skipped, never the whole set.
pub(crate) fn parse_jwks(document: &Value) -> Vec<Key> {
    let Some(keys) = document.get("keys").and_then(Value::as_array) else {
        return Vec::new();
    };
    keys.iter().filter_map(parse_key).collect()
}

fn parse_key(raw: &Value) -> Option<Key> {
    let text = |name: &str| raw.get(name).and_then(Value::as_str);
    let family = match text("kty")? {
        "RSA" => Family::Rsa,
        "EC" => Family::Ec,
        "OKP" => Family::Ed,
        // `oct` would be an HMAC secret: never from a published key set.
        _ => return None,
    };
    if text("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(raw.clone()).ok()?;
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some(Key {
        kid: text("kid").map(str::to_owned),
        alg: text("alg").map(str::to_owned),
        family,
        curve: text("crv").map(str::to_owned),
        key: Arc::new(key),
    })
}

/// Where the keys come from.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    /// Given in the configuration; never fetched.
    Static,
    /// A configured `jwks_uri`.
    Uri(Url),
    /// The `jwks_uri` of the issuer's metadata.
    Discover(Url),
}

/// The timing rules of the key cache.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyTimes {
    /// After this, the next request refreshes the keys.
    pub(crate) refresh_after: Duration,
    /// Fetched keys are used this long while the issuer cannot be reached.
    pub(crate) max_age: Duration,
    /// At most one fetch per this interval (an unknown `kid` included).
    pub(crate) refetch_interval: Duration,
}

#[derive(Default)]
struct State {
    keys: Vec<Key>,
    fetched: Option<Instant>,
    attempted: Option<Instant>,
    jwks_uri: Option<Url>,
}

/// The key cache of one issuer.
pub(crate) struct Keys {
    source: Source,
    issuer: String,
    fetcher: Option<HttpFetcher>,
    allowed: Vec<url::Origin>,
    times: KeyTimes,
    state: RwLock<State>,
    refresh: tokio::sync::Mutex<()>,
    down: AtomicBool,
}

enum Found {
    Key(Arc<DecodingKey>),
    /// No key fits, though usable keys are cached.
    NoMatch,
    /// Nothing usable is cached.
    Nothing,
}

impl Keys {
    pub(crate) fn new(
        source: Source,
        issuer: String,
        fetcher: Option<HttpFetcher>,
        allowed: Vec<url::Origin>,
        times: KeyTimes,
        initial: &Value,
    ) -> Self {
        let keys = parse_jwks(initial);
        let fetched = (!keys.is_empty()).then(Instant::now);
        Self {
            source,
            issuer,
            fetcher,
            allowed,
            times,
            state: RwLock::new(State {
                keys,
                fetched,
                ..State::default()
            }),
            refresh: tokio::sync::Mutex::new(()),
            down: AtomicBool::new(false),
        }
    }

    pub(crate) fn static_keys(initial: &Value, issuer: String) -> Self {
        let times = KeyTimes {
            refresh_after: Duration::MAX,
            max_age: Duration::MAX,
            refetch_interval: Duration::MAX,
        };
        Self::new(Source::Static, issuer, None, Vec::new(), times, initial)
    }

    pub(crate) fn is_empty_static(&self) -> bool {
        matches!(self.source, Source::Static)
            && self.state.read().map_or(true, |s| s.keys.is_empty())
    }

    fn find(&self, kid: Option<&str>, alg: Algorithm, now: Instant) -> (Found, bool, bool) {
        let Ok(state) = self.state.read() else {
            return (Found::Nothing, false, false);
        };
        let age = state.fetched.map(|t| now.saturating_duration_since(t));
        let usable =
            matches!(self.source, Source::Static) || age.is_some_and(|a| a < self.times.max_age);
        let fresh = matches!(self.source, Source::Static)
            || age.is_some_and(|a| a < self.times.refresh_after);
        let may_fetch = !matches!(self.source, Source::Static)
            && state
                .attempted
                .is_none_or(|t| now.saturating_duration_since(t) >= self.times.refetch_interval);
        if !usable {
            return (Found::Nothing, false, may_fetch);
        }
        let mut fitting = state.keys.iter().filter(|k| k.fits(alg));
        let key = match kid {
            Some(kid) => fitting.find(|k| k.kid.as_deref() == Some(kid)),
            // Without a `kid`, only an unambiguous key is used.
            None => match (fitting.next(), fitting.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            },
        };
        match key {
            Some(key) => (Found::Key(key.key.clone()), fresh, may_fetch),
            None => (Found::NoMatch, fresh, may_fetch),
        }
    }

    /// The key for a token's `kid` and `alg`.
    pub(crate) async fn key(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<DecodingKey>, VerifyError> {
        let (found, fresh, may_fetch) = self.find(kid, alg, Instant::now());
        match found {
            Found::Key(key) if fresh || !may_fetch => return Ok(key),
            Found::Key(key) => {
                // Stale but usable: refresh unless another request already
                // is, and use whatever is there afterwards.
                if let Ok(guard) = self.refresh.try_lock() {
                    self.refresh_locked().await;
                    drop(guard);
                }
                return match self.find(kid, alg, Instant::now()).0 {
                    Found::Key(new) => Ok(new),
                    _ => Ok(key),
                };
            }
            Found::NoMatch if !may_fetch => {
                return Err(VerifyError::invalid(
                    "no key of the issuer matches the token's kid and alg",
                ))
            }
            Found::Nothing if !may_fetch => return Err(self.unavailable()),
            _ => {}
        }
        {
            let _guard = self.refresh.lock().await;
            self.refresh_locked().await;
        }
        match self.find(kid, alg, Instant::now()).0 {
            Found::Key(key) => Ok(key),
            Found::NoMatch => Err(VerifyError::invalid(
                "no key of the issuer matches the token's kid and alg",
            )),
            Found::Nothing => Err(self.unavailable()),
        }
    }

    fn unavailable(&self) -> VerifyError {
        let attempted = self.state.read().ok().and_then(|s| s.attempted);
        let wait = attempted.map_or(Duration::from_secs(1), |t| {
            self.times
                .refetch_interval
                .saturating_sub(Instant::now().saturating_duration_since(t))
        });
        VerifyError::Unavailable {
            reason: "the issuer's signing keys cannot be fetched".into(),
            retry_after: wait.max(Duration::from_secs(1)),
        }
    }

    /// Fetches the keys, unless a fetch was attempted within the refetch
    /// interval (checked again under the lock, so concurrent callers fetch
    /// once). Called with `self.refresh` held.
    async fn refresh_locked(&self) {
        let now = Instant::now();
        let jwks_uri = {
            let Ok(mut state) = self.state.write() else {
                return;
            };
            if state
                .attempted
                .is_some_and(|t| now.saturating_duration_since(t) < self.times.refetch_interval)
            {
                return;
            }
            state.attempted = Some(now);
            state.jwks_uri.clone()
        };
        let Some(fetcher) = &self.fetcher else {
            return;
        };
        match self.fetch(fetcher, jwks_uri).await {
            Ok((uri, keys)) => {
                if let Ok(mut state) = self.state.write() {
                    state.keys = keys;
                    state.fetched = Some(Instant::now());
                    state.jwks_uri = Some(uri);
                }
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!(target: TARGET, issuer = %self.issuer, "the issuer's signing keys can be fetched again");
                }
            }
            Err(error) => {
                // One line per outage, not one per request.
                if !self.down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        target: TARGET,
                        issuer = %self.issuer,
                        %error,
                        "cannot fetch the issuer's signing keys; cached keys are used while they last"
                    );
                }
            }
        }
    }

    async fn fetch(
        &self,
        fetcher: &HttpFetcher,
        known: Option<Url>,
    ) -> Result<(Url, Vec<Key>), String> {
        let uri = match (&self.source, known) {
            (Source::Uri(uri), _) => uri.clone(),
            (Source::Discover(_), Some(uri)) => uri,
            (Source::Discover(issuer), None) => {
                let metadata = discover(fetcher, issuer, &self.issuer).await?;
                let uri = metadata
                    .get("jwks_uri")
                    .and_then(Value::as_str)
                    .ok_or("the issuer's metadata has no jwks_uri")?;
                let uri = Url::parse(uri).map_err(|_| "the issuer's jwks_uri is not a URL")?;
                if !same_origin(&uri, &self.allowed) {
                    return Err(format!(
                        "the issuer's jwks_uri {uri} is on another origin; allow it with JwtVerifierBuilder::jwks_uri"
                    ));
                }
                uri
            }
            (Source::Static, _) => return Err("static keys are not fetched".to_owned()),
        };
        let document = fetcher
            .get_json(&uri)
            .await
            .map_err(|e: FetchError| format!("JWKS {uri}: {e}"))?;
        let keys = parse_jwks(&document);
        if keys.is_empty() {
            return Err(format!("JWKS {uri}: no usable signing key"));
        }
        Ok((uri, keys))
    }
}

/// The issuer's metadata, tried in the order MCP clients use: RFC 8414 with
/// path insertion, OpenID Connect with path insertion, OpenID Connect with
/// path appending. The document's `issuer` must be identical to the
/// configured one, byte for byte (RFC 8414 §3.3).
pub(crate) async fn discover(
    fetcher: &HttpFetcher,
    issuer: &Url,
    expected: &str,
) -> Result<Value, String> {
    let origin = issuer.origin().ascii_serialization();
    let path = issuer.path().trim_end_matches('/');
    let mut candidates = vec![
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{origin}/.well-known/openid-configuration{path}"),
    ];
    if !path.is_empty() {
        candidates.push(format!("{origin}{path}/.well-known/openid-configuration"));
    }
    let mut last = String::from("no metadata document");
    for candidate in candidates {
        let Ok(url) = Url::parse(&candidate) else {
            continue;
        };
        match fetcher.get_json(&url).await {
            Ok(document) => {
                let named = document.get("issuer").and_then(Value::as_str);
                if named == Some(expected) {
                    return Ok(document);
                }
                last = format!("{url}: its issuer is not {expected}");
            }
            Err(e) => last = format!("{url}: {e}"),
        }
    }
    Err(format!("issuer metadata: {last}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RSA_N: &str = "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw";

    #[test]
    fn a_jwks_is_taken_key_by_key() {
        let doc = json!({"keys": [
            {"kty": "RSA", "kid": "a", "alg": "RS256", "use": "sig", "n": RSA_N, "e": "AQAB"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": RSA_N, "e": "AQAB"},
            {"kty": "XYZ", "kid": "future"},
            {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        ]});
        let keys = parse_jwks(&doc);
        let kids: Vec<_> = keys.iter().map(|k| k.kid.as_deref()).collect();
        assert_eq!(kids, [Some("a")]);
        assert!(keys[0].fits(Algorithm::RS256));
        // Its own alg pins it: not for PS256, never for HMAC or EC.
        assert!(!keys[0].fits(Algorithm::PS256));
        assert!(!keys[0].fits(Algorithm::HS256));
        assert!(!keys[0].fits(Algorithm::ES256));
    }
}
