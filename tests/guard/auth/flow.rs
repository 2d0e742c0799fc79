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
