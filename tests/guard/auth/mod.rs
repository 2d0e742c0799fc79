//! `McpAuthLayer` against a real authorization server on 127.0.0.1
//! (`support::auth_server`: RFC 8414 metadata, JWKS, RFC 7662 introspection,
//! real RS256 and ES256 signatures, key rotation, fault modes), with the
//! attack table of the issue, the metadata document, session binding across
//! two users, and rmcp's client sending a bearer token.

#![cfg(feature = "auth")]

mod attacks;
mod demo;
mod findings;
mod flow;
mod origin;

use std::time::Duration;

use axum::body::Body;
use axum::Router;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use mcp_tower_guard::auth::{
    HttpFetcher, IntrospectionVerifier, JwtVerifier, McpAuthLayer, ResourceMetadata, ScopePolicy,
    TokenVerifier,
};
use mcp_tower_guard::{McpHeadersLayer, McpSessionLayer, MokaSessionStore};
use serde_json::{json, Value};
use tower::{ServiceBuilder, ServiceExt};

use crate::support::auth_server::AuthServer;

/// The MCP endpoint the tests protect (tokens' `aud`).
const RESOURCE: &str = "http://127.0.0.1:8000/mcp";
const HOST: &str = "127.0.0.1:8000";

async fn bounded<F: std::future::Future<Output = ()>>(body: F) {
    tokio::time::timeout(Duration::from_secs(60), body)
        .await
        .expect("test timed out");
}

fn fetcher() -> HttpFetcher {
    HttpFetcher::builder()
        .timeout(Duration::from_millis(800))
        .max_document_bytes(64 * 1024)
        .build()
        .expect("fetcher")
}

fn metadata(server: &AuthServer) -> ResourceMetadata {
    ResourceMetadata::new(RESOURCE, &server.issuer).expect("metadata")
}

/// A JWT verifier of `server`'s tokens, found through discovery.
fn jwt(server: &AuthServer) -> JwtVerifier {
    JwtVerifier::builder(&server.issuer, RESOURCE)
        .fetcher(fetcher())
        .refetch_interval(Duration::from_millis(300))
        .build()
        .expect("jwt verifier")
}

fn introspection(server: &AuthServer) -> IntrospectionVerifier {
    IntrospectionVerifier::builder(
        &server.issuer,
        RESOURCE,
        (
            crate::support::auth_server::CLIENT_ID,
            crate::support::auth_server::CLIENT_SECRET,
        ),
    )
    .fetcher(fetcher())
    .build()
    .expect("introspection verifier")
}

fn policy() -> ScopePolicy {
    ScopePolicy::new()
        .require(["mcp"])
        .unwrap()
        .tool("deploy", ["deploy:write"])
        .unwrap()
}

/// Headers → Auth → Session → a handler that echoes what it saw, with the
/// metadata document mounted beside it.
fn app(auth: McpAuthLayer) -> (Router, MokaSessionStore) {
    let store = MokaSessionStore::new();
    let handler = axum::routing::post(|req: axum::extract::Request| async move {
        let auth = req
            .extensions()
            .get::<mcp_tower_guard::auth::AuthContext>()
            .map(|a| json!({"sub": a.subject(), "scopes": a.scopes().to_string()}));
        let session = req
            .extensions()
            .get::<mcp_tower_guard::SessionContext>()
            .map(|s| s.id().tag().to_string());
        let authorization = req.headers().contains_key("authorization");
        let body = req.into_body().collect().await.unwrap().to_bytes();
        let message: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        axum::Json(json!({"jsonrpc": "2.0", "id": message["id"], "result": {
            "protocolVersion": "2025-11-25",
            "auth": auth, "session": session, "authorization_seen": authorization}}))
    });
    let mcp = ServiceBuilder::new()
        .layer(McpHeadersLayer::new())
        .layer(auth.clone())
        .layer(McpSessionLayer::new(store.clone()))
        .service(Router::new().route("/mcp", handler));
    let mut router = Router::new().route_service("/mcp", mcp);
    for path in auth.metadata_paths() {
        router = router.route_service(&path, auth.metadata_service());
    }
    (router, store)
}

/// A 2026-07-28 `tools/call` (stateless: no session needed).
fn call(name: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": name, "arguments": {},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {}}}})
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}})
}

/// A POST with `authorization` values: legacy with a session, or 2026-07-28
/// when the body carries `_meta`.
fn post(body: &Value, authorization: &[&str], session: Option<&str>) -> Request<Body> {
    post_to("/mcp", body, authorization, session)
}

fn post_to(
    path: &str,
    body: &Value,
    authorization: &[&str],
    session: Option<&str>,
) -> Request<Body> {
    let mut req = Request::post(path)
        .header("host", HOST)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    for value in authorization {
        req = req.header("authorization", *value);
    }
    if let Some(session) = session {
        req = req
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", "2025-11-25");
    } else if body["params"]["_meta"].is_object() {
        // 2026-07-28: the headers mirror the body.
        req = req
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", body["method"].as_str().unwrap_or_default());
        if let Some(name) = body["params"]["name"].as_str() {
            req = req.header("mcp-name", name);
        }
    }
    req.body(Body::from(body.to_string())).unwrap()
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Reply {
    fn challenge(&self) -> &str {
        self.headers
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// With the `telemetry` feature, each decision is counted by outcome:
/// `allowed`, or the refusal's kind.
#[cfg(feature = "telemetry")]
#[tokio::test]
async fn auth_decisions_are_counted_by_outcome() {
    bounded(async {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let _local = metrics::set_default_local_recorder(&recorder);
        let server = AuthServer::start().await;
        let (app, _store) =
            app(McpAuthLayer::new(metadata(&server), jwt(&server)).scopes(policy()));
        let good = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let ok = send(&app, post(&call("echo"), &[&bearer(&good)], None)).await;
        assert_eq!(ok.status, StatusCode::OK);
        let missing = send(&app, post(&call("echo"), &[], None)).await;
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
        let scope = send(&app, post(&call("deploy"), &[&bearer(&good)], None)).await;
        assert_eq!(scope.status, StatusCode::FORBIDDEN);

        let out = handle.render();
        for outcome in ["allowed", "missing_token", "insufficient_scope"] {
            let line = format!("mcp_tower_guard_auth_decisions{{outcome=\"{outcome}\"}} 1");
            assert!(out.contains(&line), "{line}\n{out}");
        }
        server.shutdown().await;
    })
    .await;
}
