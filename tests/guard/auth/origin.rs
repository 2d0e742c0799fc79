//! `OriginGuardLayer::admit_bearer_clients` over TCP: which requests from
//! an unlisted `Origin` get through (a verified bearer token, no cookie), and
//! which still get 403 (no token, a bad one, a cookie, the mode off, no auth
//! layer to verify, a forged Host).

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mcp_tower_guard::{McpGuard, OriginGuardLayer};

use super::*;

const UNLISTED: &str = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";

/// `McpGuard` (stateless, auth when given) around a handler that names the
/// verified subject, served on 127.0.0.1 port 0.
pub(super) async fn serve(origins: OriginGuardLayer, auth: Option<McpAuthLayer>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Router::new().fallback(axum::routing::post(
        |req: axum::extract::Request| async move {
            let sub = req
                .extensions()
                .get::<mcp_tower_guard::auth::AuthContext>()
                .map(|a| a.subject().to_owned());
            axum::Json(json!({"jsonrpc": "2.0", "id": 7, "result": {"content": [], "sub": sub}}))
        },
    ));
    let mut guard = McpGuard::local(addr).unwrap().origins(origins).stateless();
    if let Some(auth) = auth {
        guard = guard.auth(auth);
    }
    let app = Router::new().route_service("/mcp", guard.into_service(handler));
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A 2026-07-28 `tools/call` of `tool` from `origin`, with these extra headers.
async fn call_from(
    addr: SocketAddr,
    tool: &str,
    origin: Option<&str>,
    extra: &[(&str, &str)],
) -> (StatusCode, Value) {
    let body = call(tool);
    let mut req = Request::post(format!("http://{addr}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool);
    if let Some(origin) = origin {
        req = req.header("origin", origin);
    }
    for (name, value) in extra {
        req = req.header(*name, *value);
    }
    let req = req.body(Full::new(Bytes::from(body.to_string()))).unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let res = client.request(req).await.expect("request sent");
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn bearer_clients_from_unlisted_origins_pass_only_with_a_verified_token_and_no_cookie() {
    bounded(async {
        let server = AuthServer::start().await;
        let auth = McpAuthLayer::new(metadata(&server), jwt(&server)).scopes(policy());
        let on = OriginGuardLayer::localhost().admit_bearer_clients(true);
        let addr = serve(on.clone(), Some(auth.clone())).await;
        let alice = bearer(&server.token(&server.claims("alice", RESOURCE, "mcp")));
        let auth_header = |value: &str| ("authorization", value.to_owned());

        // A verified token, no cookie: served, as alice.
        let (status, body) =
            call_from(addr, "echo", Some(UNLISTED), &[("authorization", &alice)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["result"]["sub"], "alice");

        // No token from an unlisted origin: the Origin layer's 403, as before.
        let (status, body) = call_from(addr, "echo", Some(UNLISTED), &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(
            body["error"]["message"]
                .as_str()
                .map(|m| m.contains("Origin not allowed")),
            Some(true),
            "{body}"
        );

        // A cookie is an ambient credential: 403 even with a valid token.
        let (status, _) = call_from(
            addr,
            "echo",
            Some(UNLISTED),
            &[("authorization", &alice), ("cookie", "sid=1")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // A token the verifier refuses: the Origin's 403, not the auth layer's 401.
        let forged = auth_header("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYWxsb3J5In0.");
        let (status, body) =
            call_from(addr, "echo", Some(UNLISTED), &[(forged.0, &forged.1)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("valid bearer token"),
            "{body}"
        );
        let expired = {
            let mut claims = server.claims("alice", RESOURCE, "mcp");
            claims["exp"] = json!(1);
            bearer(&server.token(&claims))
        };
        let (status, _) =
            call_from(addr, "echo", Some(UNLISTED), &[("authorization", &expired)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // A valid token without the tool's scope: insufficient_scope stands.
        let (status, body) =
            call_from(addr, "deploy", Some(UNLISTED), &[("authorization", &alice)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(
            body["error"]["data"]["error"], "insufficient_scope",
            "{body}"
        );

        // Malformed and null origins are refused whatever the token.
        for origin in ["null", "https://evil.example/", "http://user@localhost"] {
            let (status, _) =
                call_from(addr, "echo", Some(origin), &[("authorization", &alice)]).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{origin}");
        }
        // A listed origin (and no origin) still meets the auth layer's 401.
        for origin in [Some("http://localhost:3000"), None] {
            let (status, _) = call_from(addr, "echo", origin, &[]).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{origin:?}");
        }
        // The Host check is not relaxed: DNS rebinding stays stopped.
        let (status, body) = call_from(
            addr,
            "echo",
            Some(UNLISTED),
            &[("authorization", &alice), ("host", "evil.example")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            message(&body)
                .to_ascii_lowercase()
                .contains("host not allowed"),
            "{body}"
        );

        // The mode is opt-in: off, a verified token from an unlisted origin gets 403.
        let off = serve(OriginGuardLayer::localhost(), Some(auth.clone())).await;
        let (status, _) =
            call_from(off, "echo", Some(UNLISTED), &[("authorization", &alice)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Without an auth layer nothing verifies the token: McpGuard turns the mode off.
        let unverified = serve(on, None).await;
        let (status, _) = call_from(
            unverified,
            "echo",
            Some(UNLISTED),
            &[("authorization", "Bearer anything")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = call_from(unverified, "echo", Some("http://localhost:3000"), &[]).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "listed origins are served as before"
        );
        server.shutdown().await;
    })
    .await;
}
