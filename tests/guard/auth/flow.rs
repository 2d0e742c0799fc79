//! The metadata document, session binding across two users' tokens, and a
//! full flow with rmcp's client sending a bearer token over TCP.

use super::*;

use crate::rmcp_example as example;

#[tokio::test]
async fn rfc_9728_metadata_is_served_at_the_path_aware_and_root_urls() {
    bounded(async {
        let server = AuthServer::start().await;
        let auth = McpAuthLayer::new(metadata(&server), jwt(&server)).scopes(policy());
        let (app, _) = app(auth);
        for path in [
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource",
        ] {
            let req = Request::get(path)
                .header("host", HOST)
                .header("origin", "https://browser.example")
                .body(Body::empty())
                .unwrap();
            let reply = send(&app, req).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}");
            assert_eq!(reply.body["resource"], RESOURCE);
            assert_eq!(reply.body["authorization_servers"], json!([server.issuer]));
            assert_eq!(reply.body["scopes_supported"], json!(["mcp"]));
            assert_eq!(reply.body["bearer_methods_supported"], json!(["header"]));
            assert_eq!(reply.headers["access-control-allow-origin"], "*");
            assert!(reply.headers["cache-control"]
                .to_str()
                .unwrap()
                .contains("max-age"));
            assert_eq!(reply.headers["content-type"], "application/json");
        }
        // A preflight from a browser client.
        let preflight = Request::options("/.well-known/oauth-protected-resource/mcp")
            .header("host", HOST)
            .header("origin", "https://browser.example")
            .header("access-control-request-method", "GET")
            .body(Body::empty())
            .unwrap();
        let reply = send(&app, preflight).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        assert_eq!(reply.headers["access-control-allow-origin"], "*");
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn sessions_are_bound_to_the_verified_user_so_another_token_cannot_use_one() {
    bounded(async {
        let server = AuthServer::start().await;
        let (app, store) = app(McpAuthLayer::new(metadata(&server), jwt(&server)));
        let alice = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let bob = server.token(&server.claims("bob", RESOURCE, "mcp"));
        let init = send(&app, post(&initialize(), &[&bearer(&alice)], None)).await;
        assert_eq!(init.status, StatusCode::OK, "{}", init.body);
        let sid = init.headers["mcp-session-id"].to_str().unwrap().to_owned();
        let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
        let mine = send(&app, post(&ping, &[&bearer(&alice)], Some(&sid))).await;
        assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
        // Bob's valid token with Alice's session id: as an unknown session.
        let theirs = send(&app, post(&ping, &[&bearer(&bob)], Some(&sid))).await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{}", theirs.body);
        // A refreshed token of Alice's keeps her session (same iss and sub).
        let refreshed = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let again = send(&app, post(&ping, &[&bearer(&refreshed)], Some(&sid))).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(store.stats().created, 1);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_rejected_token_creates_no_session() {
    bounded(async {
        let server = AuthServer::start().await;
        let (app, store) = app(McpAuthLayer::new(metadata(&server), jwt(&server)));
        let reply = send(
            &app,
            post(&initialize(), &["Bearer forged.token.value"], None),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(reply.headers.get("mcp-session-id").is_none());
        assert_eq!(store.stats().created, 0);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn oversized_tokens_are_refused_before_any_verification() {
    bounded(async {
        let server = AuthServer::start().await;
        let (app, _) =
            app(McpAuthLayer::new(metadata(&server), jwt(&server)).max_token_bytes(4096));
        let big = "a".repeat(5000);
        let reply = send(&app, post(&call("echo"), &[&bearer(&big)], None)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(reply.challenge().contains("invalid_token"));
        // Nothing was fetched for it.
        assert_eq!(server.jwks_fetches(), 0);
        assert_eq!(server.metadata_fetches(), 0);
        server.shutdown().await;
    })
    .await;
}

/// rmcp's client with a bearer token against rmcp's server behind Headers,
/// Auth and Session, over TCP: tools listed and called; without the token
/// the client cannot even initialize.
#[tokio::test]
async fn rmcp_client_with_a_bearer_token_against_a_protected_rmcp_server() {
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
    use rmcp::transport::{StreamableHttpClientTransport, StreamableHttpService};
    use rmcp::ServiceExt as _;

    bounded(async {
        let server = AuthServer::start().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let resource = format!("http://{addr}/mcp");
        let metadata = ResourceMetadata::new(&resource, &server.issuer).unwrap();
        let verifier = JwtVerifier::builder(&server.issuer, &resource)
            .fetcher(fetcher())
            .build()
            .unwrap();
        let auth = McpAuthLayer::new(metadata, verifier).scopes(policy());
        let rmcp = StreamableHttpService::new(
            || Ok(example::DemoTools),
            std::sync::Arc::new(NeverSessionManager::default()),
            example::rmcp_config(),
        );
        let store = MokaSessionStore::new();
        let mcp = ServiceBuilder::new()
            .layer(McpHeadersLayer::new())
            .layer(auth.clone())
            .layer(McpSessionLayer::new(store.clone()))
            .service(rmcp);
        let mut router = Router::new().route_service("/mcp", mcp);
        for path in auth.metadata_paths() {
            router = router.route_service(&path, auth.metadata_service());
        }
        let task = tokio::spawn(async move { axum::serve(listener, router).await });

        let token = server.token(&server.claims("alice", &resource, "mcp"));
        let config =
            StreamableHttpClientTransportConfig::with_uri(resource.clone()).auth_header(token);
        let client =
            ().serve(StreamableHttpClientTransport::from_config(config))
                .await
                .expect("an authorized rmcp client initializes");
        let tools = client.list_all_tools().await.expect("tools/list");
        assert!(tools.iter().any(|t| t.name == "echo"));
        let result = client
            .call_tool(
                rmcp::model::CallToolRequestParams::new("echo")
                    .with_arguments(json!({"text": "hi"}).as_object().unwrap().clone()),
            )
            .await
            .expect("echo");
        let text = serde_json::to_value(&result).unwrap()["content"][0]["text"].clone();
        assert_eq!(text, "hi");
        assert_eq!(store.stats().created, 1);
        client.cancel().await.expect("client closes");

        let anonymous = ().serve(StreamableHttpClientTransport::from_uri(resource.clone())).await;
        assert!(
            anonymous.is_err(),
            "a client without a token must not initialize"
        );
        task.abort();
        server.shutdown().await;
    })
    .await;
}

/// `McpGuard::auth` puts the layer between headers and session: the whole
/// preset with authorization, mounted with `route_service`.
#[tokio::test]
async fn mcp_guard_with_auth_guards_in_order_and_binds_sessions() {
    bounded(async {
        let server = AuthServer::start().await;
        let auth = McpAuthLayer::new(metadata(&server), jwt(&server)).scopes(policy());
        let handler = Router::new().fallback(axum::routing::post(|req: axum::extract::Request| async move {
            let sub = req
                .extensions()
                .get::<mcp_tower_guard::auth::AuthContext>()
                .map(|a| a.subject().to_owned());
            axum::Json(json!({"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-11-25", "sub": sub}}))
        }));
        let guard = mcp_tower_guard::McpGuard::local("127.0.0.1:8000".parse().unwrap())
            .unwrap()
            .auth(auth.clone());
        let mut app = Router::new().route_service("/mcp", guard.into_service(handler));
        for path in auth.metadata_paths() {
            app = app.route_service(&path, auth.metadata_service());
        }
        // A forged Host is refused before the token is looked at (Host runs first).
        let mut forged = post(&initialize(), &[], None);
        forged.headers_mut().insert("host", "evil.example".parse().unwrap());
        assert_eq!(send(&app, forged).await.status, StatusCode::FORBIDDEN);
        assert_eq!(send(&app, post(&initialize(), &[], None)).await.status, StatusCode::UNAUTHORIZED);
        let alice = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let init = send(&app, post(&initialize(), &[&bearer(&alice)], None)).await;
        assert_eq!(init.status, StatusCode::OK, "{}", init.body);
        assert_eq!(init.body["result"]["sub"], "alice");
        let sid = init.headers["mcp-session-id"].to_str().unwrap().to_owned();
        let bob = server.token(&server.claims("bob", RESOURCE, "mcp"));
        let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
        assert_eq!(send(&app, post(&ping, &[&bearer(&bob)], Some(&sid))).await.status, StatusCode::NOT_FOUND);
        server.shutdown().await;
    })
    .await;
}

/// The fetcher follows no redirect: a JWKS that answers 302 elsewhere is
/// an unreachable issuer (503), never keys from another place.
#[tokio::test]
async fn a_redirecting_jwks_is_not_followed() {
    use crate::support::auth_server::JwksMode;
    bounded(async {
        let server = AuthServer::start().await;
        let elsewhere = AuthServer::start().await;
        server.set_jwks_mode(JwksMode::Redirect(elsewhere.jwks_url()));
        let (app, _) = app(McpAuthLayer::new(metadata(&server), jwt(&server)));
        let token = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let reply = send(&app, post(&call("echo"), &[&bearer(&token)], None)).await;
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            reply.body
        );
        assert_eq!(elsewhere.jwks_fetches(), 0);
        elsewhere.shutdown().await;
        server.shutdown().await;
    })
    .await;
}

/// Keys in the configured JWKS only, no network: the verifier never fetches.
#[tokio::test]
async fn fixed_keys_verify_without_fetching() {
    bounded(async {
        let server = AuthServer::start().await;
        let jwks = json!({"keys": [serde_json::from_str::<Value>(crate::support::keys::RS1_JWK).unwrap()]});
        let verifier = JwtVerifier::builder(&server.issuer, RESOURCE)
            .jwks(jwks)
            .build()
            .unwrap();
        let token = server.token(&server.claims("alice", RESOURCE, "mcp"));
        assert!(verifier.verify(&token).await.is_ok());
        let es = server.token_es256(&server.claims("alice", RESOURCE, "mcp"));
        assert!(verifier.verify(&es).await.is_err(), "no EC key was given");
        assert_eq!(server.jwks_fetches() + server.metadata_fetches(), 0);
        server.shutdown().await;
    })
    .await;
}

/// Only the issuer's origin is fetched: a discovered `jwks_uri` elsewhere is
/// refused (503) unless configured with `jwks_uri`.
#[tokio::test]
async fn a_discovered_jwks_uri_on_another_origin_is_not_fetched() {
    bounded(async {
        let server = AuthServer::start().await;
        let elsewhere = AuthServer::start().await;
        server.advertise_jwks_uri(&elsewhere.jwks_url());
        let token = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let (app_discovered, _) = app(McpAuthLayer::new(metadata(&server), jwt(&server)));
        let reply = send(
            &app_discovered,
            post(&call("echo"), &[&bearer(&token)], None),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            reply.body
        );
        assert_eq!(elsewhere.jwks_fetches(), 0);
        // Configured explicitly, it is allowed (the fixture keys are the same).
        let verifier = JwtVerifier::builder(&server.issuer, RESOURCE)
            .jwks_uri(&elsewhere.jwks_url())
            .fetcher(fetcher())
            .build()
            .unwrap();
        let (app_configured, _) = app(McpAuthLayer::new(metadata(&server), verifier));
        let reply = send(
            &app_configured,
            post(&call("echo"), &[&bearer(&token)], None),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(elsewhere.jwks_fetches(), 1);
        elsewhere.shutdown().await;
        server.shutdown().await;
    })
    .await;
}

/// Tokens never reach the logs, accepted or refused: at most a keyed tag.
/// With `keep_authorization(true)` the handler sees the header again.
#[tokio::test(flavor = "current_thread")]
async fn tokens_never_appear_in_logs_and_keep_authorization_is_opt_in() {
    bounded(async {
        let (logs, _guard) = crate::support::guards::capture_logs();
        let server = AuthServer::start().await;
        let (app, _) = app(McpAuthLayer::new(metadata(&server), jwt(&server))
            .scopes(policy())
            .keep_authorization(true));
        let good = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let weak = server.token(&server.claims("bob", RESOURCE, "other"));
        let forged = server.alg_none(&server.claims("mallory", RESOURCE, "mcp"));
        let reply = send(&app, post(&call("echo"), &[&bearer(&good)], None)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body["result"]["authorization_seen"], true);
        assert_eq!(
            send(&app, post(&call("echo"), &[&bearer(&weak)], None))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            send(&app, post(&call("echo"), &[&bearer(&forged)], None))
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        // The capture works (the auth layer's lines are in it). Which events
        // a shared callsite cache lets through while other tests install
        // their own subscribers varies, so the test asserts what matters:
        // whatever was logged holds no token.
        assert!(text.contains("mcp_tower_guard::auth"), "{text}");
        for token in [&good, &weak, &forged] {
            let signature = token.rsplit('.').next().unwrap_or_default();
            let payload = token.split('.').nth(1).unwrap();
            assert!(!text.contains(payload), "a token payload was logged");
            assert!(
                signature.is_empty() || !text.contains(signature),
                "a token signature was logged"
            );
        }
        server.shutdown().await;
    })
    .await;
}
