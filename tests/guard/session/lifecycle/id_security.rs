//! Session ids and the security best practices: no fixation, no hijack
//! across principals, credential binding, generated and custom ids.

use super::*;

fn by_user(parts: &Parts) -> Option<Principal> {
    parts
        .headers
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .map(Principal::new)
}

#[tokio::test]
async fn sbp_session_fixation_client_chosen_id_is_never_adopted() {
    let store = MokaSessionStore::new();
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(store.clone()), &seen);
    let chosen = HeaderValue::from_static("attacker-chosen-id");

    let mut req = initialize();
    req.headers_mut().insert("mcp-session-id", chosen.clone());
    let res = send(&svc, req).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(!res.headers().contains_key("mcp-session-id"));
    assert_eq!(seen.calls(), 0);

    assert_eq!(
        send(&svc, ping(&chosen)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(store.stats().created, 0);
}

#[tokio::test]
async fn initialize_on_a_live_session_is_400_and_keeps_it() {
    let store = MokaSessionStore::new();
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(store.clone()), &seen);
    let id = session_id(&send(&svc, initialize()).await);
    let mut req = initialize();
    req.headers_mut().insert("mcp-session-id", id.clone());
    let res = send(&svc, req).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(res).await["error"]["code"], -32600);
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::OK);
    assert_eq!(store.stats().created, 1);
}

#[tokio::test]
async fn sbp_hijack_by_another_principal_is_byte_identical_to_unknown() {
    let store = MokaSessionStore::new();
    let seen = Seen::default();
    let svc = service(
        McpSessionLayer::new(store.clone()).principal(by_user),
        &seen,
    );
    let res = send(&svc, initialize_as("alice")).await;
    let id = session_id(&res);
    assert_eq!(
        seen.last().unwrap().principal(),
        Some(&Principal::new("alice"))
    );
    let calls = seen.calls();

    let foreign = send(&svc, ping_as(&id, "bob")).await;
    let unknown = send(
        &svc,
        ping_as(
            &HeaderValue::from_static("11111111-1111-4111-8111-111111111111"),
            "bob",
        ),
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    assert_eq!(foreign.status(), unknown.status());
    assert_eq!(foreign.headers(), unknown.headers());
    assert_eq!(body(foreign).await, body(unknown).await);

    // No principal at all is not the session's principal either.
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::NOT_FOUND);
    // DELETE by another principal cannot end the session (DoS).
    let mut del = delete(&id);
    del.headers_mut()
        .insert("x-user", HeaderValue::from_static("bob"));
    assert_eq!(send(&svc, del).await.status(), StatusCode::NOT_FOUND);
    // And none of it reached the handler; the owner is still served.
    assert_eq!(seen.calls(), calls);
    assert_eq!(
        send(&svc, ping_as(&id, "alice")).await.status(),
        StatusCode::OK
    );
    let rejected = store.stats().rejected;
    assert_eq!((rejected.foreign_principal, rejected.not_found), (3, 1));
}

#[tokio::test]
async fn sbp_authorization_hash_binds_sessions_to_the_credential() {
    let svc = service(
        McpSessionLayer::new(MokaSessionStore::new()).principal(Principal::authorization_hash()),
        &Seen::default(),
    );
    let with_auth = |req: Request<B>, token: &'static str| {
        let mut req = req;
        req.headers_mut()
            .insert("authorization", HeaderValue::from_static(token));
        req
    };
    let id = session_id(&send(&svc, with_auth(initialize(), "Bearer alice")).await);
    assert_eq!(
        send(&svc, with_auth(ping(&id), "Bearer alice"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        send(&svc, with_auth(ping(&id), "Bearer mallory"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sbp_ten_thousand_generated_ids_are_unique_uuid_shaped_visible_ascii() {
    let store = MokaSessionStore::builder()
        .max_sessions(20_000)
        .build()
        .unwrap();
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    let mut ids = HashSet::new();
    for _ in 0..10_000 {
        let id = session_id(&send(&svc, initialize()).await);
        let s = id.to_str().unwrap().to_owned();
        assert_eq!(s.len(), 36);
        assert!(s.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        assert_eq!(s.as_bytes()[14], b'4', "UUID version 4: {s}");
        assert!(ids.insert(s));
    }
    assert_eq!(store.stats().active, 10_000);
}

#[tokio::test]
async fn custom_id_generator_is_used_and_invalid_output_falls_back() {
    let svc = service(
        McpSessionLayer::new(MokaSessionStore::new())
            .id_generator(|| format!("eu1.{}", uuid::Uuid::new_v4().simple())),
        &Seen::default(),
    );
    let id = session_id(&send(&svc, initialize()).await);
    assert!(id.to_str().unwrap().starts_with("eu1."));
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::OK);

    for bad in [
        "has space".to_owned(),
        String::new(),
        "x".repeat(300),
        "é".to_owned(),
    ] {
        let svc = service(
            McpSessionLayer::new(MokaSessionStore::new()).id_generator(move || bad.clone()),
            &Seen::default(),
        );
        let id = session_id(&send(&svc, initialize()).await);
        assert_eq!(id.to_str().unwrap().len(), 36);
        assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn colliding_id_generator_never_shares_a_session() {
    let svc = service(
        McpSessionLayer::new(MokaSessionStore::new()).id_generator(|| "constant".to_owned()),
        &Seen::default(),
    );
    let first = session_id(&send(&svc, initialize()).await);
    let second = session_id(&send(&svc, initialize()).await);
    assert_eq!(first, "constant");
    assert_ne!(second, first, "a taken id is replaced by a fresh UUID");
}

#[tokio::test]
async fn legacy_x_session_id_alias_is_answered_with_mcp_session_id() {
    let seen = Seen::default();
    let svc = service(
        McpSessionLayer::new(MokaSessionStore::new()).legacy_alias_header(true),
        &seen,
    );
    let id = session_id(&send(&svc, initialize()).await);
    let req = Request::post("/mcp")
        .header("x-session-id", id.clone())
        .body(rpc("ping"))
        .unwrap();
    let res = send(&svc, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["mcp-session-id"], id);
    assert!(!res.headers().contains_key("x-session-id"));
    // The inner service sees the canonical header.
    assert_eq!(res.headers()["x-seen-mcp-session-id"], id);

    let both = Request::post("/mcp")
        .header("x-session-id", "other")
        .header("mcp-session-id", id.clone())
        .body(rpc("ping"))
        .unwrap();
    assert_eq!(send(&svc, both).await.status(), StatusCode::BAD_REQUEST);

    // Off by default: the alias alone is a missing id.
    let svc = service(McpSessionLayer::new(MokaSessionStore::new()), &seen);
    let id = session_id(&send(&svc, initialize()).await);
    let req = Request::post("/mcp")
        .header("x-session-id", id)
        .body(rpc("ping"))
        .unwrap();
    assert_eq!(send(&svc, req).await.status(), StatusCode::BAD_REQUEST);
}
