//! The spec's session rules: the id on initialize, its echo, 400 without
//! it, 404 for an unknown one, DELETE, and the sessionless 2026-07-28 era.

use super::*;

#[tokio::test]
async fn spec_initialize_response_carries_mcp_session_id() {
    let store = MokaSessionStore::new();
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(store.clone()), &seen);

    let res = send(&svc, initialize()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let id = session_id(&res);
    let id = id.to_str().unwrap();
    assert_eq!(id.len(), 36);
    assert!(id.bytes().all(|b| (0x21..=0x7e).contains(&b)));

    // The handler saw the pending session with the same id and the requested version.
    let ctx = seen.last().expect("initialize carries a SessionContext");
    assert_eq!(ctx.id().as_str(), id);
    assert_eq!(ctx.protocol_version(), Some(ProtocolVersion::V2025_06_18));
    let stats = store.stats();
    assert_eq!((stats.active, stats.created, stats.reserved), (1, 1, 0));
}

#[tokio::test]
async fn spec_initialize_over_sse_also_carries_the_header() {
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(MokaSessionStore::new()), &seen);
    let mut req = initialize();
    req.headers_mut()
        .insert("x-test-sse", HeaderValue::from_static("1"));
    let res = send(&svc, req).await;
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    assert!(res.headers().contains_key("mcp-session-id"));
}

#[tokio::test]
async fn spec_later_requests_are_served_and_echo_the_id() {
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(MokaSessionStore::new()), &seen);
    let id = session_id(&send(&svc, initialize()).await);

    let res = send(&svc, ping(&id)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["mcp-session-id"], id);
    assert_eq!(seen.last().unwrap().id().as_str(), id.to_str().unwrap());

    let get = Request::get("/mcp")
        .header("mcp-session-id", id.clone())
        .body(B::default())
        .unwrap();
    assert_eq!(send(&svc, get).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn spec_missing_session_id_is_400_for_post_get_delete() {
    let store = MokaSessionStore::new();
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(store.clone()), &seen);
    let requests = [
        Request::post("/mcp").body(rpc("tools/list")).unwrap(),
        Request::post("/mcp")
            .body(Full::new(Bytes::from_static(
                br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            )))
            .unwrap(),
        Request::get("/mcp").body(B::default()).unwrap(),
        Request::delete("/mcp").body(B::default()).unwrap(),
    ];
    for (i, req) in requests.into_iter().enumerate() {
        let method = req.method().clone();
        let res = send(&svc, req).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{method}");
        assert_eq!(
            res.extensions().get::<Rejection>().unwrap().kind(),
            RejectionKind::MissingSessionId
        );
        let v = json(res).await;
        assert_eq!(v["error"]["code"], -32000);
        // A request's rejection names it; a notification, GET and DELETE have no id.
        let id = if i == 0 {
            serde_json::json!(1)
        } else {
            serde_json::Value::Null
        };
        assert_eq!(v["id"], id, "{method}");
    }
    assert_eq!(seen.calls(), 0);
    assert_eq!(store.stats().rejected.missing_id, 4);
}

#[tokio::test]
async fn spec_initialize_in_a_batch_does_not_create_a_session() {
    let store = MokaSessionStore::new();
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    let req = Request::post("/mcp")
        .header("mcp-protocol-version", "2025-03-26")
        .body(Full::new(Bytes::from_static(
            br#"[{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}]"#,
        )))
        .unwrap();
    assert_eq!(send(&svc, req).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(store.stats().created, 0);
}

#[tokio::test]
async fn spec_session_id_must_be_visible_ascii_else_400() {
    let store = MokaSessionStore::new();
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(store.clone()), &seen);
    let long = "a".repeat(257);
    let bad: Vec<Vec<HeaderValue>> = vec![
        vec![HeaderValue::from_static("has space")],
        vec![HeaderValue::from_static("")],
        vec![HeaderValue::from_str(&long).unwrap()],
        vec![HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()],
        vec![HeaderValue::from_bytes(b"tab\there").unwrap()],
        vec![HeaderValue::from_static("a"), HeaderValue::from_static("a")],
    ];
    for values in bad {
        let mut req = Request::post("/mcp").body(rpc("ping")).unwrap();
        for v in &values {
            req.headers_mut().append("mcp-session-id", v.clone());
        }
        let res = send(&svc, req).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{values:?}");
        assert_eq!(
            res.extensions().get::<Rejection>().unwrap().kind(),
            RejectionKind::MalformedSessionId
        );
    }
    assert_eq!(seen.calls(), 0);
    assert_eq!(store.stats().rejected.malformed_id, 6);
}

#[tokio::test]
async fn spec_unknown_session_is_404_with_32001() {
    let store = MokaSessionStore::new();
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(store.clone()), &seen);
    let unknown = HeaderValue::from_static("00000000-0000-4000-8000-000000000000");
    for req in [ping(&unknown), delete(&unknown)] {
        let res = send(&svc, req).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(!res.headers().contains_key("mcp-session-id"));
        let v = json(res).await;
        assert_eq!(v["error"]["code"], -32001);
        assert_eq!(v["error"]["message"], "Session not found");
    }
    assert_eq!(seen.calls(), 0);
    assert_eq!(store.stats().rejected.not_found, 2);
}

#[tokio::test]
async fn spec_delete_answers_204_then_the_id_is_404() {
    let closed = Closed::default();
    let store = MokaSessionStore::builder()
        .on_closed(closed.hook())
        .build()
        .unwrap();
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(store.clone()), &seen);
    let id = session_id(&send(&svc, initialize()).await);
    let calls = seen.calls();

    let res = send(&svc, delete(&id)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(body(res).await.is_empty());
    // The layer answers DELETE itself.
    assert_eq!(seen.calls(), calls);
    assert_eq!(closed.cause_of(&id), Some(CloseCause::Deleted));

    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        send(&svc, delete(&id)).await.status(),
        StatusCode::NOT_FOUND
    );
    let stats = store.stats();
    assert_eq!((stats.active, stats.deleted), (0, 1));
    assert_eq!(closed.all().len(), 1, "the close hook fires exactly once");
}

#[tokio::test]
async fn spec_delete_disabled_is_405_with_allow() {
    let store = MokaSessionStore::new();
    let seen = Seen::default();
    let svc = service(
        McpSessionLayer::new(store.clone()).allow_delete(false),
        &seen,
    );
    let id = session_id(&send(&svc, initialize()).await);
    let res = send(&svc, delete(&id)).await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["allow"], "GET, POST");
    // The session is still there.
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::OK);
    assert_eq!(store.stats().rejected.delete_disabled, 1);
}

#[tokio::test]
async fn modern_era_request_passes_untouched() {
    let store = MokaSessionStore::new();
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(store.clone()), &seen);
    let stale = HeaderValue::from_static("client-made-up-id");

    // By header.
    let req = Request::post("/mcp")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-session-id", stale.clone())
        .body(rpc("tools/list"))
        .unwrap();
    let res = send(&svc, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!res.headers().contains_key("mcp-session-id"));
    assert_eq!(res.headers()["x-seen-mcp-session-id"], stale);
    assert!(seen.last().is_none());

    // By `_meta` in the body (no header), and an "initialize" is not special there.
    let req = Request::post("/mcp")
        .body(Full::new(Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
        )))
        .unwrap();
    let res = send(&svc, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!res.headers().contains_key("mcp-session-id"));
    assert!(seen.last().is_none());

    // By an outer layer's decision.
    let mut req = Request::get("/mcp")
        .header("mcp-session-id", stale)
        .body(B::default())
        .unwrap();
    req.extensions_mut().insert(RequestProtocol::new(
        ProtocolVersion::V2026_07_28,
        Era::Modern,
        VersionSource::Header,
    ));
    let res = send(&svc, req).await;
    assert!(!res.headers().contains_key("mcp-session-id"));

    assert_eq!(seen.calls(), 3);
    let stats = store.stats();
    assert_eq!((stats.created, stats.rejected.total()), (0, 0));
}

#[tokio::test]
async fn initialize_answered_non_2xx_creates_nothing() {
    let created = Arc::new(AtomicUsize::new(0));
    let hook = created.clone();
    let store = MokaSessionStore::builder()
        .max_sessions(1)
        .on_created(move |_| {
            hook.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(store.clone()), &seen);
    for status in ["400", "500"] {
        let mut req = initialize();
        req.headers_mut()
            .insert("x-test-status", HeaderValue::from_static(status));
        let res = send(&svc, req).await;
        assert_eq!(res.status().as_str(), status);
        assert!(!res.headers().contains_key("mcp-session-id"));
    }
    // The pending session the handler saw was never stored.
    let pending = seen.last().unwrap();
    let res = send(&svc, ping(&pending.id().to_string_header())).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let stats = store.stats();
    assert_eq!((stats.active, stats.created, stats.reserved), (0, 0, 0));
    assert_eq!(created.load(Ordering::SeqCst), 0);
    // The single slot was given back each time.
    assert_eq!(send(&svc, initialize()).await.status(), StatusCode::OK);
}
