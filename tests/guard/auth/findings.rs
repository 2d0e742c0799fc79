//! Issue 26's findings in the authorization path, each a regression test
//! named after it, over real TCP against `McpGuard` with `McpAuthLayer`.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mcp_tower_guard::auth::{ScopePolicy, TokenVerifier};
use mcp_tower_guard::OriginGuardLayer;

use super::*;

/// A raw POST of `body` to `addr` with a bearer token and, for 2026-07-28,
/// the mirrored headers.
async fn post_raw(
    addr: SocketAddr,
    body: Value,
    token: &str,
    modern: Option<(&str, &str)>,
) -> (StatusCode, Value) {
    let mut req = Request::post(format!("http://{addr}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("authorization", bearer(token));
    if let Some((method, name)) = modern {
        req = req
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method)
            .header("mcp-name", name);
    } else {
        req = req.header("mcp-protocol-version", "2025-03-26");
    }
    let req = req.body(Full::new(Bytes::from(body.to_string()))).unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let res = client.request(req).await.expect("sent");
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

const META: &str = r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

/// Finding 6: per-tool scopes fail open on odd params. A `tools/call` whose
/// `params` is an array, or whose `name` is not a string, must not reach a
/// handler that reads params loosely with only the default scopes checked:
/// 400, -32602, with the request's id, in both eras (and for the other
/// methods the checks key on).
#[tokio::test]
async fn finding_6_odd_params_are_refused_at_the_edge_with_32602() {
    bounded(async {
        let server = AuthServer::start().await;
        let auth = McpAuthLayer::new(metadata(&server), jwt(&server)).scopes(policy());
        let addr = super::origin::serve(OriginGuardLayer::localhost(), Some(auth)).await;
        let token = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let meta: Value = serde_json::from_str(META).unwrap();
        let cases = [
            ("tools/call", json!(["deploy", {"a": 1}])),
            ("tools/call", json!({"name": ["deploy"], "arguments": {}})),
            ("tools/call", json!({"name": 7})),
            ("tools/call", json!({"name": null})),
            ("prompts/get", json!({"name": {"n": "secret"}})),
            ("resources/read", json!({"uri": ["file:///secret"]})),
            ("tasks/get", json!({"taskId": 12})),
            ("completion/complete", json!(["ref"])),
        ];
        for (method, params) in cases {
            // Legacy: no header mirrors the body.
            let body = json!({"jsonrpc": "2.0", "id": "odd-1", "method": method, "params": params});
            let (status, reply) = post_raw(addr, body, &token, None).await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "legacy {method} {params}: {reply}"
            );
            assert_eq!(reply["error"]["code"], -32602, "{reply}");
            assert_eq!(reply["id"], "odd-1", "{reply}");
            // 2026-07-28: `_meta` where an object allows it.
            let mut params = params.clone();
            if let Some(obj) = params.as_object_mut() {
                obj.insert("_meta".into(), meta.clone());
            }
            let body = json!({"jsonrpc": "2.0", "id": 2, "method": method, "params": params});
            let (status, reply) = post_raw(addr, body, &token, Some((method, "deploy"))).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "modern {method}: {reply}");
            assert_eq!(reply["error"]["code"], -32602, "{reply}");
            assert_eq!(reply["id"], 2, "{reply}");
        }
        // The well-formed call still meets the scope policy: 403 for `deploy`.
        let body = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "deploy", "arguments": {}}});
        let (status, reply) = post_raw(addr, body, &token, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
        server.shutdown().await;
    })
    .await;
}

/// Finding 8: the issuer is compared, not normalised. An issuer identifier
/// with a trailing slash (Auth0's `https://TENANT.auth0.com/`) must verify
/// its own tokens (RFC 8414 §3.3, RFC 9068: byte for byte), its metadata
/// must name it verbatim, and the slash-less spelling is another issuer.
#[tokio::test]
async fn finding_8_an_issuer_with_a_trailing_slash_is_compared_verbatim() {
    bounded(async {
        let server = AuthServer::start_slashed().await;
        assert!(server.issuer.ends_with('/'), "{}", server.issuer);
        let metadata = ResourceMetadata::new(RESOURCE, &server.issuer).expect("metadata");
        assert_eq!(
            metadata.authorization_servers(),
            std::slice::from_ref(&server.issuer),
            "advertised verbatim"
        );
        let verifier = JwtVerifier::builder(&server.issuer, RESOURCE)
            .fetcher(fetcher())
            .build()
            .expect("verifier");
        let token = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let verified = verifier
            .verify(&token)
            .await
            .expect("its own tokens verify");
        assert_eq!(verified.issuer(), server.issuer);
        // A token whose `iss` lacks the slash comes from another issuer.
        let mut claims = server.claims("alice", RESOURCE, "mcp");
        claims["iss"] = json!(server.issuer.trim_end_matches('/'));
        assert!(verifier.verify(&server.token(&claims)).await.is_err());
        // And a verifier configured without the slash does not accept either.
        let other = JwtVerifier::builder(server.issuer.trim_end_matches('/'), RESOURCE)
            .fetcher(fetcher())
            .build()
            .expect("verifier");
        assert!(other.verify(&token).await.is_err());
        server.shutdown().await;
    })
    .await;
}

/// Finding 7: `completion/complete` skipped prompt and resource scopes. A
/// completion for a protected prompt or resource (named by `params.ref`)
/// now needs that prompt's or resource's scopes; a `ref` that names
/// neither is 400 -32602.
#[tokio::test]
async fn finding_7_completions_need_the_scopes_of_their_prompt_or_resource() {
    bounded(async {
        let server = AuthServer::start().await;
        let policy = ScopePolicy::new()
            .require(["mcp"])
            .unwrap()
            .prompt("secret_prompt", ["prompts:secret"])
            .unwrap()
            .resource("file:///secret", ["files:secret"])
            .unwrap();
        let auth = McpAuthLayer::new(metadata(&server), jwt(&server)).scopes(policy);
        let addr = super::origin::serve(OriginGuardLayer::localhost(), Some(auth)).await;
        let plain = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let granted =
            server.token(&server.claims("alice", RESOURCE, "mcp prompts:secret files:secret"));
        let complete = |reference: Value| {
            json!({"jsonrpc": "2.0", "id": 4, "method": "completion/complete", "params": {
                "ref": reference, "argument": {"name": "x", "value": "y"}}})
        };
        let prompt = json!({"type": "ref/prompt", "name": "secret_prompt"});
        let resource = json!({"type": "ref/resource", "uri": "file:///secret"});
        for reference in [&prompt, &resource] {
            let (status, reply) = post_raw(addr, complete(reference.clone()), &plain, None).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{reference}: {reply}");
            assert_eq!(
                reply["error"]["data"]["error"], "insufficient_scope",
                "{reply}"
            );
            let (status, reply) = post_raw(addr, complete(reference.clone()), &granted, None).await;
            assert_eq!(status, StatusCode::OK, "{reference}: {reply}");
        }
        // Another prompt needs only the default scopes.
        let open = json!({"type": "ref/prompt", "name": "open_prompt"});
        assert_eq!(
            post_raw(addr, complete(open), &plain, None).await.0,
            StatusCode::OK
        );
        // A ref that names neither a prompt nor a resource: 400 -32602.
        for malformed in [
            json!({"type": "ref/prompt", "name": ["secret_prompt"]}),
            json!({"type": "ref/other", "name": "secret_prompt"}),
            json!("secret_prompt"),
        ] {
            let (status, reply) = post_raw(addr, complete(malformed.clone()), &plain, None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{malformed}: {reply}");
            assert_eq!(reply["error"]["code"], -32602, "{reply}");
        }
        server.shutdown().await;
    })
    .await;
}

/// Finding 9: authorization happened after the body was read. Now the
/// token is verified before anything reads the body: a stalled body
/// without a token gets 401 at once (not 408 after the 30 s read timeout),
/// and an unauthenticated 2026-07-28 call to a tool with `x-mcp-header`
/// parameters gets 401, not a -32020 that names the tool's parameters.
#[tokio::test]
async fn finding_9_a_missing_token_is_refused_before_the_body_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    bounded(async {
        let server = AuthServer::start().await;
        let auth = McpAuthLayer::new(metadata(&server), jwt(&server)).scopes(policy());
        let tools = json!([{"name": "route_query", "inputSchema": {"type": "object",
            "properties": {"region": {"type": "string", "x-mcp-header": "Region"}}}}]);
        let headers = mcp_tower_guard::McpHeadersLayer::new()
            .tool_rules(mcp_tower_guard::headers::ToolRules::from_tools_list(&tools).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handler = Router::new().fallback(axum::routing::post(|| async {
            axum::Json(json!({"jsonrpc": "2.0", "id": 1, "result": {"content": []}}))
        }));
        let guard = mcp_tower_guard::McpGuard::local(addr)
            .unwrap()
            .headers(headers)
            .auth(auth)
            .stateless();
        let app = Router::new().route_service("/mcp", guard.into_service(handler));
        tokio::spawn(async move { axum::serve(listener, app).await });

        // A body announced and never sent, no token: 401 now.
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /mcp HTTP/1.1\r\nhost: {addr}\r\naccept: application/json, text/event-stream\r\n\
             content-type: application/json\r\ncontent-length: 100\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 1024];
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("answered before the body read would time out")
            .unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.starts_with("HTTP/1.1 401"), "{text}");

        // An unauthenticated modern call with a mirrored parameter missing.
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
            "name": "route_query", "arguments": {"region": "eu"},
            "_meta": serde_json::from_str::<Value>(META).unwrap()}});
        let req = Request::post(format!("http://{addr}/mcp"))
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "route_query")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let res = client.request(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("Region"),
            "nothing about the tool leaks: {text}"
        );
        // With a token, the header rule applies as before.
        let token = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let (status, reply) = post_raw(
            addr,
            body.clone(),
            &token,
            Some(("tools/call", "route_query")),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
        assert_eq!(reply["error"]["code"], -32020, "{reply}");
        server.shutdown().await;
    })
    .await;
}

/// Finding 10 (one of the smaller auth points): `Principal::authorization_hash()`
/// resolved nothing once the auth layer had stripped `Authorization`, so
/// sessions were bound to nobody and another user's token could use one.
/// The session layer now falls back to the verified identity.
#[tokio::test]
async fn finding_10_authorization_hash_behind_the_auth_layer_still_binds_sessions() {
    bounded(async {
        let server = AuthServer::start().await;
        let auth = McpAuthLayer::new(metadata(&server), jwt(&server)).scopes(policy());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handler = Router::new().fallback(axum::routing::post(|| async {
            axum::Json(
                json!({"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-11-25"}}),
            )
        }));
        let sessions = McpSessionLayer::new(MokaSessionStore::new())
            .principal(mcp_tower_guard::session::Principal::authorization_hash());
        let guard = mcp_tower_guard::McpGuard::local(addr)
            .unwrap()
            .auth(auth)
            .session_layer(sessions);
        let app = Router::new().route_service("/mcp", guard.into_service(handler));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let alice = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let bob = server.token(&server.claims("bob", RESOURCE, "mcp"));
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let send = |token: &str, body: Value, session: Option<&str>| {
            let mut req = Request::post(format!("http://{addr}/mcp"))
                .header("accept", "application/json, text/event-stream")
                .header("content-type", "application/json")
                .header("authorization", bearer(token));
            if let Some(session) = session {
                req = req
                    .header("mcp-session-id", session)
                    .header("mcp-protocol-version", "2025-11-25");
            }
            client.request(req.body(Full::new(Bytes::from(body.to_string()))).unwrap())
        };
        let init = send(&alice, initialize(), None).await.unwrap();
        assert_eq!(init.status(), StatusCode::OK);
        let sid = init.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
        assert_eq!(
            send(&alice, ping.clone(), Some(&sid))
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
        assert_eq!(
            send(&bob, ping, Some(&sid)).await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "bound to alice"
        );
        server.shutdown().await;
    })
    .await;
}

/// Finding 10, the token points: a fractional `exp` bounds the cached
/// identity (it was ignored, and the token cached for the full TTL); an
/// introspection answer for a refresh token is refused; one without `sub`
/// names the user or client in a namespace of its own, never a user's `sub`.
#[tokio::test]
async fn finding_10_float_exp_refresh_tokens_and_sub_namespaces() {
    bounded(async {
        let server = AuthServer::start().await;
        let verifier = jwt(&server);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut claims = server.claims("alice", RESOURCE, "mcp");
        claims["exp"] = json!(now as f64 + 120.5);
        let verified = verifier
            .verify(&server.token(&claims))
            .await
            .expect("a float exp verifies");
        let expires = verified.expires_at().expect("the float exp is read");
        let secs = expires
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(secs, now + 120, "rounded down");

        let introspection = introspection(&server);
        let mut refresh = server.claims("alice", RESOURCE, "mcp");
        refresh["token_type"] = json!("refresh_token");
        assert!(
            introspection
                .verify(&server.opaque_token(&refresh))
                .await
                .is_err(),
            "a refresh token"
        );
        let mut nameless = server.claims("ignored", RESOURCE, "mcp");
        nameless.as_object_mut().unwrap().remove("sub");
        let verified = introspection
            .verify(&server.opaque_token(&nameless))
            .await
            .expect("client_id stands in for sub");
        assert_eq!(verified.subject(), "client:test-client");
        nameless["username"] = json!("alice");
        let verified = introspection
            .verify(&server.opaque_token(&nameless))
            .await
            .unwrap();
        assert_eq!(
            verified.subject(),
            "username:alice",
            "never the sub `alice`"
        );
        server.shutdown().await;
    })
    .await;
}

/// Finding 10, `typ`: RFC 9068's `at+jwt` check is offered, off by
/// default (major providers do not set it): on, a token whose header `typ`
/// is `JWT` or absent (an ID token, say) is refused.
#[tokio::test]
async fn finding_10_the_at_jwt_type_check_is_opt_in() {
    bounded(async {
        let server = AuthServer::start().await;
        let claims = server.claims("alice", RESOURCE, "mcp");
        let typed = server.token_typed(&claims, Some("at+jwt"));
        let plain = server.token_typed(&claims, Some("JWT"));
        let bare = server.token_typed(&claims, None);
        let lenient = jwt(&server);
        for token in [&typed, &plain, &bare] {
            assert!(lenient.verify(token).await.is_ok(), "off by default");
        }
        let strict = JwtVerifier::builder(&server.issuer, RESOURCE)
            .fetcher(fetcher())
            .require_access_token_type(true)
            .build()
            .unwrap();
        assert!(strict.verify(&typed).await.is_ok());
        assert!(strict.verify(&plain).await.is_err(), "typ JWT");
        assert!(strict.verify(&bare).await.is_err(), "no typ");
        server.shutdown().await;
    })
    .await;
}

/// Finding 9, introspection: garbage tokens cost the issuer nothing (the
/// `b64token` form is checked before any outbound call), and concurrent
/// requests with one new token share one introspection call.
#[tokio::test]
async fn finding_9_introspection_is_single_flight_and_skips_garbage() {
    bounded(async {
        let server = AuthServer::start().await;
        let verifier = introspection(&server);
        for garbage in ["not a token", "ünïcode", "a,b"] {
            assert!(verifier.verify(garbage).await.is_err());
        }
        assert_eq!(server.introspection_calls(), 0, "no call for garbage");
        let token = server.opaque_token(&server.claims("alice", RESOURCE, "mcp"));
        let calls: Vec<_> = (0..20).map(|_| verifier.verify(&token)).collect();
        let outcomes = futures_util::future::join_all(calls).await;
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
        assert_eq!(
            server.introspection_calls(),
            1,
            "one call for twenty requests"
        );
        server.shutdown().await;
    })
    .await;
}

/// Finding 10, `kid` floods: a forged `kid` every so often keeps the
/// refetch cool-down running, but the first unknown `kid` after each
/// cool-down fetches again, so a token signed with a just-rotated key is
/// refused (401 `invalid_token`) for at most one `refetch_interval` (here
/// 300 ms), never for as long as the flood lasts.
#[tokio::test]
async fn finding_10_a_kid_flood_delays_a_rotated_key_by_one_cool_down_at_most() {
    bounded(async {
        let server = AuthServer::start().await;
        let verifier = jwt(&server); // refetch_interval 300 ms
        let claims = server.claims("alice", RESOURCE, "mcp");
        assert!(verifier.verify(&server.token(&claims)).await.is_ok());
        server.rotate_rsa();
        let rotated = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let started = std::time::Instant::now();
        let mut accepted_after = None;
        // A forged kid every 50 ms, and the rotated token between them.
        for _ in 0..40 {
            let forged =
                server.token_with_kid(&server.claims("mallory", RESOURCE, "mcp"), "forged");
            assert!(verifier.verify(&forged).await.is_err());
            if verifier.verify(&rotated).await.is_ok() {
                accepted_after = Some(started.elapsed());
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(
            accepted_after.is_some(),
            "the rotated key was never fetched under the flood"
        );
        server.shutdown().await;
    })
    .await;
}
