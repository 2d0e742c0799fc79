//! The cost of `McpAuthLayer`: a request with a cached, already verified
//! token over the same stack without auth, and a first verification of an
//! RS256 and an ES256 token (signature, claims), with fixed keys so no
//! network is involved.
//!
//! ```text
//! cargo bench --features auth --bench auth
//! cargo bench --features auth --bench auth -- --test   # each case once (CI)
//! ```

#[path = "../tests/guard/support/keys.rs"]
mod keys;
#[path = "support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use criterion::Criterion;
use http::{HeaderValue, Request, StatusCode};
use http_body_util::Full;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use mcp_tower_guard::auth::{
    JwtVerifier, McpAuthLayer, ResourceMetadata, ScopePolicy, TokenVerifier,
};
use mcp_tower_guard::session::MokaSessionStore;
use mcp_tower_guard::{HostCheckLayer, McpHeadersLayer, McpSessionLayer, OriginGuardLayer};
use serde_json::{json, Value};
use tokio::runtime::Runtime;
use tower::{ServiceBuilder, ServiceExt};

const ISSUER: &str = "https://auth.example.com";
const RESOURCE: &str = "https://mcp.example.com/mcp";

fn jwks() -> Value {
    json!({"keys": [
        serde_json::from_str::<Value>(keys::RS1_JWK).unwrap(),
        serde_json::from_str::<Value>(keys::ES1_JWK).unwrap(),
    ]})
}

fn token(alg: Algorithm, n: u64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"iss": ISSUER, "sub": format!("user-{n}"), "aud": RESOURCE,
        "scope": "mcp", "iat": now, "nbf": now - 1, "exp": now + 3600});
    let (kid, key) = match alg {
        Algorithm::ES256 => (
            "es-1",
            EncodingKey::from_ec_pem(keys::ES1_PRIVATE_PEM.as_bytes()).unwrap(),
        ),
        _ => (
            "rs-1",
            EncodingKey::from_rsa_pem(keys::RS1_PRIVATE_PEM.as_bytes()).unwrap(),
        ),
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    encode(&header, &claims, &key).unwrap()
}

fn verifier(cache_bytes: u64) -> JwtVerifier {
    JwtVerifier::builder(ISSUER, RESOURCE)
        .jwks(jwks())
        .cache_bytes(cache_bytes)
        .build()
        .expect("verifier")
}

fn with_token(mut req: Request<Full<Bytes>>, token: &HeaderValue) -> Request<Full<Bytes>> {
    req.headers_mut()
        .insert(http::header::AUTHORIZATION, token.clone());
    req
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn main() {
    let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
        &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER,
    );
    let mut c = Criterion::default().configure_from_args();
    let rt = runtime();
    let body: &'static Bytes = Box::leak(Box::new(support::tools_call_1k()));
    let bearer: &'static HeaderValue = Box::leak(Box::new(
        HeaderValue::from_str(&format!("Bearer {}", token(Algorithm::RS256, 0))).unwrap(),
    ));

    let mut g = c.benchmark_group("auth");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    // The four layers, with and without auth between headers and session.
    for with_auth in [false, true] {
        let store = rt.block_on(async { MokaSessionStore::new() });
        let metadata = ResourceMetadata::new(RESOURCE, ISSUER).unwrap();
        let auth = McpAuthLayer::new(metadata, verifier(16 << 20))
            .scopes(ScopePolicy::new().require(["mcp"]).unwrap());
        let stack = ServiceBuilder::new()
            .layer(HostCheckLayer::localhost())
            .layer(OriginGuardLayer::localhost())
            .layer(McpHeadersLayer::new())
            .option_layer(with_auth.then(|| auth.clone()))
            .layer(McpSessionLayer::new(store.clone()))
            .service(support::inner());
        let init = with_token(support::post(&support::initialize(), None), bearer);
        let res = rt.block_on(stack.clone().oneshot(init)).unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let id: &'static HeaderValue = Box::leak(Box::new(res.headers()["mcp-session-id"].clone()));
        let name = if with_auth {
            "full_stack_auth_cached_token"
        } else {
            "full_stack_post_1k"
        };
        let make = move || with_token(support::post(body, Some(id)), bearer);
        let check = rt.block_on(stack.clone().oneshot(make())).unwrap();
        assert_eq!(check.status(), StatusCode::OK, "{name}");
        support::timed_case(&mut g, &rt, "AUTH", name, stack, make);
    }

    if std::env::var("AUTH_CASE").is_ok() {
        return;
    }
    // A first verification: no cache, so every call checks the signature
    // and the claims.
    for (name, alg) in [
        ("verify_rs256_first", Algorithm::RS256),
        ("verify_es256_first", Algorithm::ES256),
    ] {
        let verifier = verifier(0);
        let token = token(alg, 1);
        assert!(rt.block_on(verifier.verify(&token)).is_ok(), "{name}");
        g.bench_function(name, |b| {
            b.iter(|| black_box(rt.block_on(verifier.verify(&token)).unwrap()))
        });
    }
    g.finish();
    c.final_summary();
}
