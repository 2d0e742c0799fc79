//! The attack table: every forged, stale, misdirected or misplaced
//! credential gets the answer the spec gives it, and the issuer is never
//! hammered.

use super::*;

async fn jwt_app(server: &AuthServer) -> Router {
    app(McpAuthLayer::new(metadata(server), jwt(server)).scopes(policy())).0
}

#[tokio::test]
async fn spec_2026_07_28_no_token_gets_401_with_resource_metadata_and_scope_no_error() {
    bounded(async {
        let server = AuthServer::start().await;
        let app = jwt_app(&server).await;
        let reply = send(&app, post(&call("echo"), &[], None)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            reply.challenge(),
            r#"Bearer scope="mcp", resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp""#
        );
        // The crate's JSON-RPC body, with the request's id.
        assert_eq!(reply.body["id"], 7);
        assert!(reply.body["error"]["message"].as_str().unwrap().contains("bearer token"));
        // Another scheme is "no credentials" too.
        let reply = send(&app, post(&call("echo"), &["Basic dXNlcjpwYXNz"], None)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(!reply.challenge().contains("error="), "{}", reply.challenge());
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn valid_rs256_and_es256_tokens_pass_and_authorization_is_stripped() {
    bounded(async {
        let server = AuthServer::start().await;
        let app = jwt_app(&server).await;
        let claims = server.claims("alice", RESOURCE, "mcp");
        for token in [server.token(&claims), server.token_es256(&claims)] {
            let reply = send(&app, post(&call("echo"), &[&bearer(&token)], None)).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            assert_eq!(reply.body["result"]["auth"]["sub"], "alice");
            // MCP forbids token passthrough: the handler never sees it.
            assert_eq!(reply.body["result"]["authorization_seen"], false);
        }
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn rfc_6750_lower_case_bearer_scheme_is_accepted() {
    bounded(async {
        let server = AuthServer::start().await;
        let app = jwt_app(&server).await;
        let token = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let reply = send(
            &app,
            post(&call("echo"), &[&format!("bearer {token}")], None),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        server.shutdown().await;
    })
    .await;
}

/// Forged and misdirected tokens: 401 `invalid_token`, each.
#[tokio::test]
async fn spec_2026_07_28_invalid_tokens_get_401_invalid_token() {
    bounded(async {
        let server = AuthServer::start().await;
        let app = jwt_app(&server).await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let good = server.claims("alice", RESOURCE, "mcp");
        let with = |key: &str, value: Value| {
            let mut claims = good.clone();
            claims[key] = value;
            claims
        };
        let cases: Vec<(&str, String)> = vec![
            ("alg none", server.alg_none(&good)),
            (
                "HS256 signed with the public key",
                server.hs256_with_public_key(&good),
            ),
            (
                "wrong aud",
                server.token(&with("aud", json!("https://other.example/mcp"))),
            ),
            (
                "another resource on the same issuer",
                server.token(&with("aud", json!("http://127.0.0.1:8000/other"))),
            ),
            (
                "wrong iss",
                server.token(&with("iss", json!("http://127.0.0.1:1/evil"))),
            ),
            ("expired", server.token(&with("exp", json!(now - 600)))),
            (
                "nbf in the future",
                server.token(&with("nbf", json!(now + 600))),
            ),
            ("no sub", {
                let mut c = good.clone();
                c.as_object_mut().unwrap().remove("sub");
                server.token(&c)
            }),
            ("not a JWT", "abc.def.ghi".to_owned()),
            ("tampered payload", {
                let t = server.token(&good);
                let mut parts: Vec<&str> = t.split('.').collect();
                let evil = server.token(&with("sub", json!("mallory")));
                let evil_payload = evil.split('.').nth(1).unwrap().to_owned();
                parts[1] = &evil_payload;
                parts.join(".")
            }),
        ];
        for (case, token) in cases {
            let reply = send(&app, post(&call("echo"), &[&bearer(&token)], None)).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{case}: {}",
                reply.body
            );
            assert!(
                reply
                    .challenge()
                    .starts_with(r#"Bearer error="invalid_token""#),
                "{case}: {}",
                reply.challenge()
            );
            assert!(reply.challenge().contains("resource_metadata="), "{case}");
            assert_eq!(
                reply.body["error"]["data"]["error"], "invalid_token",
                "{case}"
            );
            assert_eq!(reply.body["id"], 7, "{case}");
        }
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn an_unknown_kid_1000_times_refetches_the_keys_at_most_once_per_interval() {
    bounded(async {
        let server = AuthServer::start().await;
        let app = jwt_app(&server).await;
        // Warm: discovery and one JWKS fetch.
        let good = server.claims("alice", RESOURCE, "mcp");
        let ok = send(
            &app,
            post(&call("echo"), &[&bearer(&server.token(&good))], None),
        )
        .await;
        assert_eq!(ok.status, StatusCode::OK);
        // A real signature under a header naming a kid the issuer never had
        // (the kid is looked up before the signature is checked).
        let signed = server.token(&good);
        let (_, rest) = signed.split_once('.').unwrap();
        let forge = |i: usize| {
            use base64::Engine as _;
            let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": format!("forged-{i}")});
            let header =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header.to_string());
            format!("{header}.{rest}")
        };
        let before = server.jwks_fetches();
        let started = std::time::Instant::now();
        for i in 0..1_000 {
            let reply = send(&app, post(&call("echo"), &[&bearer(&forge(i))], None)).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        }
        // At most one fetch per 300 ms interval, however slow the machine.
        let fetched = server.jwks_fetches() - before;
        let intervals = started.elapsed().as_millis() as usize / 300 + 1;
        assert!(
            fetched <= intervals,
            "{fetched} JWKS fetches in {intervals} intervals for 1000 forged kids"
        );
        assert!(fetched < 50, "{fetched} JWKS fetches for 1000 forged kids");
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn rotated_keys_are_fetched_when_a_new_kid_appears() {
    bounded(async {
        let server = AuthServer::start().await;
        let app = jwt_app(&server).await;
        let claims = server.claims("alice", RESOURCE, "mcp");
        assert_eq!(
            send(
                &app,
                post(&call("echo"), &[&bearer(&server.token(&claims))], None)
            )
            .await
            .status,
            StatusCode::OK
        );
        server.rotate_rsa();
        tokio::time::sleep(Duration::from_millis(350)).await; // past the refetch interval
        let rotated = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let reply = send(&app, post(&call("echo"), &[&bearer(&rotated)], None)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        server.shutdown().await;
    })
    .await;
}

/// The issuer's JWKS down, slow, or answering 10 MiB: 503 with Retry-After
/// while no key is cached; cached keys keep serving once fetched.
#[tokio::test]
async fn jwks_down_slow_or_huge_is_503_until_keys_are_cached_then_cached_keys_serve() {
    use crate::support::auth_server::JwksMode;
    bounded(async {
        let server = AuthServer::start().await;
        let claims = server.claims("alice", RESOURCE, "mcp");
        for mode in [
            JwksMode::Down,
            JwksMode::Slow(Duration::from_secs(3)),
            JwksMode::Huge,
        ] {
            server.set_jwks_mode(mode.clone());
            let app = jwt_app(&server).await; // a fresh verifier: nothing cached
            let token = server.token(&claims);
            let reply = send(&app, post(&call("echo"), &[&bearer(&token)], None)).await;
            assert_eq!(
                reply.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{mode:?}: {}",
                reply.body
            );
            assert!(reply.headers.contains_key("retry-after"), "{mode:?}");
        }
        server.set_jwks_mode(JwksMode::Normal);
        let app = jwt_app(&server).await;
        assert_eq!(
            send(
                &app,
                post(&call("echo"), &[&bearer(&server.token(&claims))], None)
            )
            .await
            .status,
            StatusCode::OK
        );
        server.set_jwks_mode(JwksMode::Down);
        tokio::time::sleep(Duration::from_millis(350)).await;
        // A token not seen before, signed with a cached key: still served.
        let other = server.token(&server.claims("bob", RESOURCE, "mcp"));
        let reply = send(&app, post(&call("echo"), &[&bearer(&other)], None)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn oauth_2_1_token_in_the_query_and_two_authorization_headers_are_400() {
    bounded(async {
        let server = AuthServer::start().await;
        let app = jwt_app(&server).await;
        let token = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let query = format!("/mcp?access_token={token}");
        let reply = send(&app, post_to(&query, &call("echo"), &[], None)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert!(
            reply.challenge().contains(r#"error="invalid_request""#),
            "{}",
            reply.challenge()
        );
        let reply = send(
            &app,
            post(&call("echo"), &[&bearer(&token), &bearer(&token)], None),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(reply.challenge().contains(r#"error="invalid_request""#));
        // Not a b64token at all: malformed, not merely invalid.
        let reply = send(&app, post(&call("echo"), &["Bearer a,b"], None)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(reply.challenge().contains(r#"error="invalid_request""#));
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn spec_2026_07_28_insufficient_scope_is_403_naming_the_scopes() {
    bounded(async {
        let server = AuthServer::start().await;
        let app = jwt_app(&server).await;
        let token = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let reply = send(&app, post(&call("deploy"), &[&bearer(&token)], None)).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
        let challenge = reply.challenge();
        assert!(challenge.starts_with(r#"Bearer error="insufficient_scope", scope="deploy:write mcp", resource_metadata=""#), "{challenge}");
        assert_eq!(reply.body["error"]["data"]["missingScopes"], json!(["deploy:write"]));
        assert_eq!(reply.body["id"], 7);
        // Stepped up, the same call passes.
        let stepped = server.token(&server.claims("alice", RESOURCE, "mcp deploy:write"));
        let reply = send(&app, post(&call("deploy"), &[&bearer(&stepped)], None)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn rfc_7662_revoked_token_under_introspection_is_401() {
    use crate::support::auth_server::IntrospectionMode;
    bounded(async {
        let server = AuthServer::start().await;
        let app =
            app(McpAuthLayer::new(metadata(&server), introspection(&server)).scopes(policy())).0;
        let active = server.opaque_token(&server.claims("alice", RESOURCE, "mcp"));
        let revoked = server.opaque_token(&server.claims("bob", RESOURCE, "mcp"));
        server.revoke(&revoked);
        let reply = send(&app, post(&call("echo"), &[&bearer(&active)], None)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["result"]["auth"]["sub"], "alice");
        let reply = send(&app, post(&call("echo"), &[&bearer(&revoked)], None)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(reply.challenge().contains("invalid_token"));
        // Cached: a second request with the active token does not introspect.
        let calls = server.introspection_calls();
        assert_eq!(
            send(&app, post(&call("echo"), &[&bearer(&active)], None))
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(server.introspection_calls(), calls);
        // The inactive answer is remembered as invalid, never as valid.
        assert_eq!(
            send(&app, post(&call("echo"), &[&bearer(&revoked)], None))
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        // A token for another audience, though active, is refused.
        let foreign =
            server.opaque_token(&server.claims("carol", "https://other.example/mcp", "mcp"));
        assert_eq!(
            send(&app, post(&call("echo"), &[&bearer(&foreign)], None))
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        // The endpoint down: 503, not 401.
        server.set_introspection_mode(IntrospectionMode::Down);
        let unseen = server.opaque_token(&server.claims("dave", RESOURCE, "mcp"));
        let reply = send(&app, post(&call("echo"), &[&bearer(&unseen)], None)).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn introspection_with_wrong_client_credentials_is_503_not_401() {
    bounded(async {
        let server = AuthServer::start().await;
        let verifier =
            IntrospectionVerifier::builder(&server.issuer, RESOURCE, ("mcp-server", "wrong"))
                .fetcher(fetcher())
                .build()
                .unwrap();
        let app = app(McpAuthLayer::new(metadata(&server), verifier)).0;
        let token = server.opaque_token(&server.claims("alice", RESOURCE, "mcp"));
        let reply = send(&app, post(&call("echo"), &[&bearer(&token)], None)).await;
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            reply.body
        );
        server.shutdown().await;
    })
    .await;
}

/// RFC 6750 §2.2's form body: refused by the auth layer itself (400) when
/// nothing in front of it answers first (with the headers layer: 415).
#[tokio::test]
async fn rfc_6750_token_in_a_form_body_is_refused() {
    bounded(async {
        use tower::Layer;
        let server = AuthServer::start().await;
        let token = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let form = || {
            Request::post("/mcp")
                .header("host", HOST)
                .header("accept", "application/json, text/event-stream")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("access_token={token}")))
                .unwrap()
        };
        let alone = McpAuthLayer::new(metadata(&server), jwt(&server))
            .layer(axum::routing::post(|| async { "reached" }));
        let res = alone.oneshot(form()).await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let challenge = res.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains(r#"error="invalid_request""#),
            "{challenge}"
        );
        let stacked = jwt_app(&server).await;
        assert_eq!(
            send(&stacked, form()).await.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        server.shutdown().await;
    })
    .await;
}
