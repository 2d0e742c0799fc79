//! A real OAuth authorization server for the tests, on 127.0.0.1 over TCP:
//! RFC 8414 and OpenID metadata, a JWKS, RFC 7662 introspection with client
//! authentication, RS256 and ES256 tokens signed with fixture keys, key
//! rotation, and fault modes (down, slow, a streamed 10 MiB body, redirect,
//! an extra raw key) to test against.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::keys;

pub(crate) const CLIENT_ID: &str = "mcp-server";
pub(crate) const CLIENT_SECRET: &str = "s3cret";

/// How `/jwks` answers.
#[derive(Clone, Debug)]
pub(crate) enum JwksMode {
    Normal,
    /// 503.
    Down,
    /// Answers after this long.
    Slow(Duration),
    /// A 10 MiB body (`{"keys":[` and spaces), streamed without a length.
    Huge,
    /// 302 to this URL.
    Redirect(String),
    /// The published keys and this raw JSON value after them (an unknown
    /// `kty`, a key missing members...), to test per-key parsing.
    Extra(Value),
}

/// How `/introspect` answers.
#[derive(Clone, Debug)]
pub(crate) enum IntrospectionMode {
    Normal,
    /// 503.
    Down,
    /// Answers after this long.
    Slow(Duration),
}

struct Keys {
    rsa_kid: &'static str,
    rsa_pem: &'static str,
    published: Vec<&'static str>,
}

struct Shared {
    issuer: String,
    keys: Mutex<Keys>,
    jwks_mode: Mutex<JwksMode>,
    introspection_mode: Mutex<IntrospectionMode>,
    /// Tokens minted here (JWT or opaque) and their claims.
    minted: Mutex<HashMap<String, Value>>,
    revoked: Mutex<HashSet<String>>,
    /// A `jwks_uri` the metadata names instead of this server's own.
    jwks_uri: Mutex<Option<String>>,
    jwks_fetches: AtomicUsize,
    metadata_fetches: AtomicUsize,
    introspection_calls: AtomicUsize,
    counter: AtomicUsize,
}

pub(crate) struct AuthServer {
    pub(crate) issuer: String,
    pub(crate) addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl AuthServer {
    pub(crate) async fn start() -> Self {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// On `addr` (the development server in `examples/dev_auth_server.rs`).
    pub(crate) async fn start_on(addr: SocketAddr) -> Self {
        Self::start_with(addr, false).await
    }

    /// With an issuer identifier that ends in `/`, as Auth0's do
    /// (`https://TENANT.auth0.com/`): in its metadata and its tokens' `iss`.
    pub(crate) async fn start_slashed() -> Self {
        Self::start_with(SocketAddr::from(([127, 0, 0, 1], 0)), true).await
    }

    async fn start_with(addr: SocketAddr, trailing_slash: bool) -> Self {
        let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
            &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER,
        );
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind the authorization server");
        let addr = listener.local_addr().expect("its address");
        let issuer = if trailing_slash {
            format!("http://{addr}/")
        } else {
            format!("http://{addr}")
        };
        let shared = Arc::new(Shared {
            issuer: issuer.clone(),
            keys: Mutex::new(Keys {
                rsa_kid: "rs-1",
                rsa_pem: keys::RS1_PRIVATE_PEM,
                published: vec![keys::RS1_JWK, keys::ES1_JWK],
            }),
            jwks_mode: Mutex::new(JwksMode::Normal),
            introspection_mode: Mutex::new(IntrospectionMode::Normal),
            minted: Mutex::default(),
            revoked: Mutex::default(),
            jwks_uri: Mutex::default(),
            jwks_fetches: AtomicUsize::new(0),
            metadata_fetches: AtomicUsize::new(0),
            introspection_calls: AtomicUsize::new(0),
            counter: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/.well-known/oauth-authorization-server", get(metadata))
            .route("/.well-known/openid-configuration", get(metadata))
            .route("/jwks", get(jwks))
            .route("/introspect", post(introspect))
            .route("/token", post(token_endpoint))
            .route("/dev/token", get(dev_token))
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            issuer,
            addr,
            shared,
            stop: Some(stop),
            task,
        }
    }

    pub(crate) async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Open keep-alive connections may hold a graceful stop: abort after a bound.
        if tokio::time::timeout(Duration::from_secs(5), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }

    pub(crate) fn jwks_url(&self) -> String {
        format!("{}/jwks", self.issuer.trim_end_matches('/'))
    }

    pub(crate) fn introspection_url(&self) -> String {
        format!("{}/introspect", self.issuer.trim_end_matches('/'))
    }

    pub(crate) fn claims(&self, sub: &str, aud: &str, scope: &str) -> Value {
        let now = now();
        json!({
            "iss": self.issuer, "sub": sub, "aud": aud, "scope": scope,
            "iat": now, "nbf": now - 1, "exp": now + 300,
            "jti": format!("t-{}", self.shared.counter.fetch_add(1, Ordering::Relaxed)),
            "client_id": "test-client",
        })
    }

    fn remember(&self, token: &str, claims: &Value) {
        self.shared
            .minted
            .lock()
            .unwrap()
            .insert(token.to_owned(), claims.clone());
    }

    fn sign(&self, alg: Algorithm, kid: &str, key: &EncodingKey, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = Some(kid.to_owned());
        header.typ = Some("at+jwt".to_owned());
        let token = encode(&header, claims, key).expect("sign");
        self.remember(&token, claims);
        token
    }

    /// RS256 with the current RSA key.
    pub(crate) fn token(&self, claims: &Value) -> String {
        let kid = self.shared.keys.lock().unwrap().rsa_kid;
        self.token_with_kid(claims, kid)
    }

    /// RS256 with the current RSA key and the header `typ` given (`None`:
    /// no `typ`), as providers that do not follow RFC 9068 sign.
    pub(crate) fn token_typed(&self, claims: &Value, typ: Option<&str>) -> String {
        let (kid, pem) = {
            let keys = self.shared.keys.lock().unwrap();
            (keys.rsa_kid, keys.rsa_pem)
        };
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("RSA key");
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        header.typ = typ.map(str::to_owned);
        let token = encode(&header, claims, &key).expect("sign");
        self.remember(&token, claims);
        token
    }

    /// RS256 with the current RSA key, under the caller's `kid`.
    pub(crate) fn token_with_kid(&self, claims: &Value, kid: &str) -> String {
        let pem = self.shared.keys.lock().unwrap().rsa_pem;
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("RSA key");
        self.sign(Algorithm::RS256, kid, &key, claims)
    }

    pub(crate) fn token_es256(&self, claims: &Value) -> String {
        let key = EncodingKey::from_ec_pem(keys::ES1_PRIVATE_PEM.as_bytes()).expect("EC key");
        self.sign(Algorithm::ES256, "es-1", &key, claims)
    }

    /// The key-confusion attack: HS256 with the RSA public key as the secret.
    pub(crate) fn hs256_with_public_key(&self, claims: &Value) -> String {
        let key = EncodingKey::from_secret(keys::RS1_PUBLIC_PEM.as_bytes());
        self.sign(Algorithm::HS256, "rs-1", &key, claims)
    }

    /// An unsigned token, `"alg": "none"`.
    pub(crate) fn alg_none(&self, claims: &Value) -> String {
        let header = json!({"alg": "none", "typ": "JWT", "kid": "rs-1"});
        format!(
            "{}.{}.",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        )
    }

    /// An opaque token, known to the introspection endpoint.
    pub(crate) fn opaque_token(&self, claims: &Value) -> String {
        let n = self.shared.counter.fetch_add(1, Ordering::Relaxed);
        let token = format!("opaque-{n}-{}", b64(&(now() ^ 0x5eed).to_le_bytes()));
        self.remember(&token, claims);
        token
    }

    pub(crate) fn revoke(&self, token: &str) {
        self.shared.revoked.lock().unwrap().insert(token.to_owned());
    }

    /// rs-2 signs from now on and is published; rs-1 is withdrawn.
    pub(crate) fn rotate_rsa(&self) {
        let mut keys = self.shared.keys.lock().unwrap();
        keys.rsa_kid = "rs-2";
        keys.rsa_pem = keys::RS2_PRIVATE_PEM;
        keys.published = vec![keys::RS2_JWK, keys::ES1_JWK];
    }

    /// Both RSA keys published.
    pub(crate) fn publish_both_rsa(&self) {
        self.shared.keys.lock().unwrap().published =
            vec![keys::RS1_JWK, keys::RS2_JWK, keys::ES1_JWK];
    }

    /// Names another `jwks_uri` in the metadata (for example another origin's).
    pub(crate) fn advertise_jwks_uri(&self, url: &str) {
        *self.shared.jwks_uri.lock().unwrap() = Some(url.to_owned());
    }

    pub(crate) fn set_jwks_mode(&self, mode: JwksMode) {
        *self.shared.jwks_mode.lock().unwrap() = mode;
    }

    pub(crate) fn set_introspection_mode(&self, mode: IntrospectionMode) {
        *self.shared.introspection_mode.lock().unwrap() = mode;
    }

    pub(crate) fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::Relaxed)
    }

    pub(crate) fn metadata_fetches(&self) -> usize {
        self.shared.metadata_fetches.load(Ordering::Relaxed)
    }

    pub(crate) fn introspection_calls(&self) -> usize {
        self.shared.introspection_calls.load(Ordering::Relaxed)
    }
}

async fn metadata(State(shared): State<Arc<Shared>>) -> Response {
    shared.metadata_fetches.fetch_add(1, Ordering::Relaxed);
    let issuer = &shared.issuer;
    let base = issuer.trim_end_matches('/');
    axum::Json(json!({
        "issuer": issuer,
        "jwks_uri": shared.jwks_uri.lock().unwrap().clone().unwrap_or_else(|| format!("{base}/jwks")),
        "introspection_endpoint": format!("{base}/introspect"),
        "token_endpoint": format!("{base}/token"),
        "authorization_endpoint": format!("{base}/authorize"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "response_types_supported": ["code"],
    }))
    .into_response()
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    shared.jwks_fetches.fetch_add(1, Ordering::Relaxed);
    let mode = shared.jwks_mode.lock().unwrap().clone();
    let mut extra = None;
    match mode {
        JwksMode::Down => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        JwksMode::Slow(delay) => tokio::time::sleep(delay).await,
        JwksMode::Huge => return huge_jwks(),
        JwksMode::Redirect(to) => {
            return (StatusCode::FOUND, [(header::LOCATION, to)]).into_response();
        }
        JwksMode::Extra(key) => extra = Some(key),
        JwksMode::Normal => {}
    }
    let mut keys: Vec<Value> = shared
        .keys
        .lock()
        .unwrap()
        .published
        .iter()
        .map(|jwk| serde_json::from_str(jwk).expect("fixture JWK"))
        .collect();
    keys.extend(extra);
    axum::Json(json!({ "keys": keys })).into_response()
}

/// 64 KiB of spaces, shared by every chunk of [`huge_jwks`].
static SPACES: [u8; 64 * 1024] = [b' '; 64 * 1024];

/// `{"keys":[`, 10 MiB of spaces, `]}`: chunked, no Content-Length, so the
/// client's limit has to stop the read itself; nothing is allocated per chunk.
fn huge_jwks() -> Response {
    let chunks = std::iter::once(Bytes::from_static(br#"{"keys":["#))
        .chain(std::iter::repeat_n(Bytes::from_static(&SPACES), 160))
        .chain(std::iter::once(Bytes::from_static(b"]}")))
        .map(Ok::<Bytes, std::convert::Infallible>);
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
        .into_response()
}

/// No grant is served: the tests mint tokens directly.
/// `GET /dev/token?sub=alice&scope=mcp%20math&aud=http://127.0.0.1:8000/mcp`:
/// an RS256 access token, for trying a protected server by hand. No login:
/// this server exists for tests and local development only.
async fn dev_token(State(shared): State<Arc<Shared>>, uri: axum::http::Uri) -> Response {
    let mut params = HashMap::new();
    for pair in uri.query().unwrap_or_default().split('&') {
        if let Some((k, v)) = pair.split_once('=') {
            params.insert(k.to_owned(), percent_decode(&v.replace('+', " ")));
        }
    }
    let (Some(sub), Some(aud)) = (params.get("sub"), params.get("aud")) else {
        return (StatusCode::BAD_REQUEST, "sub and aud are required\n").into_response();
    };
    let scope = params.get("scope").map_or("", String::as_str);
    let now = now();
    let claims = json!({
        "iss": shared.issuer, "sub": sub, "aud": aud, "scope": scope,
        "iat": now, "nbf": now - 1, "exp": now + 3600, "client_id": "dev-client",
    });
    let (kid, pem) = {
        let keys = shared.keys.lock().unwrap();
        (keys.rsa_kid, keys.rsa_pem)
    };
    let Ok(key) = EncodingKey::from_rsa_pem(pem.as_bytes()) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    header.typ = Some("at+jwt".to_owned());
    match encode(&header, &claims, &key) {
        Ok(token) => format!("{token}\n").into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn token_endpoint() -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": "unsupported_grant_type"})),
    )
        .into_response()
}

async fn introspect(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    shared.introspection_calls.fetch_add(1, Ordering::Relaxed);
    let mode = shared.introspection_mode.lock().unwrap().clone();
    match mode {
        IntrospectionMode::Down => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        IntrospectionMode::Slow(delay) => tokio::time::sleep(delay).await,
        IntrospectionMode::Normal => {}
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(expected.as_str())
    {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let token = body
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v.replace('+', " "))
        .map(|v| percent_decode(&v))
        .unwrap_or_default();
    let claims = shared.minted.lock().unwrap().get(&token).cloned();
    let revoked = shared.revoked.lock().unwrap().contains(&token);
    let answer = match claims {
        Some(claims) if !revoked && claims["exp"].as_u64().is_some_and(|exp| exp > now()) => {
            let mut answer = claims;
            answer["active"] = json!(true);
            answer
        }
        _ => json!({"active": false}),
    };
    axum::Json(answer).into_response()
}

/// `%XX` decoding on bytes (slicing the `str` would panic on a multi-byte
/// character after a `%`); a malformed escape is kept as it is.
fn percent_decode(value: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi << 4) | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
