//! The session context and its state, one parse of the body, pass-through
//! methods, shutdown, contained hook panics.

use super::*;

#[tokio::test]
async fn session_context_carries_client_info_and_typed_state() {
    #[derive(Clone, Debug, PartialEq)]
    struct Counter(u32);

    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(MokaSessionStore::new()), &seen);
    let mut req = initialize();
    req.headers_mut()
        .insert("user-agent", HeaderValue::from_static("test-client/1.0"));
    req.headers_mut()
        .insert("origin", HeaderValue::from_static("http://localhost:3000"));
    let peer: SocketAddr = "127.0.0.1:50000".parse().unwrap();
    req.extensions_mut().insert(PeerAddr(peer));
    let before = std::time::SystemTime::now();
    let id = session_id(&send(&svc, req).await);

    let ctx = seen.last().unwrap();
    assert_eq!(ctx.client().user_agent(), Some("test-client/1.0"));
    assert_eq!(ctx.client().origin(), Some("http://localhost:3000"));
    assert_eq!(ctx.client().peer_addr(), Some(peer));
    let mut bare = initialize();
    let other: SocketAddr = "[::1]:4000".parse().unwrap();
    bare.extensions_mut().insert(other);
    send(&svc, bare).await;
    assert_eq!(seen.last().unwrap().client().peer_addr(), Some(other));
    assert!(ctx.created_at() >= before - Duration::from_secs(1));
    assert_eq!(ctx.insert_state(Counter(1)), None);
    drop(ctx);

    send(&svc, ping(&id)).await;
    let ctx = seen.last().unwrap();
    assert_eq!(ctx.state::<Counter>(), Some(Counter(1)));
    assert!(ctx.last_seen() >= ctx.created_at());
    assert_eq!(ctx.remove_state::<Counter>(), Some(Counter(1)));
    assert_eq!(ctx.state::<Counter>(), None);
    // Debug never shows the id.
    assert!(!format!("{ctx:?}").contains(id.to_str().unwrap()));
    assert!(!format!("{:?}", ctx.id()).contains(id.to_str().unwrap()));
}

#[tokio::test]
async fn body_is_parsed_once_and_replayed_when_the_layer_runs_alone() {
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(MokaSessionStore::new()), &seen);
    let id = session_id(&send(&svc, initialize()).await);
    let res = send(&svc, ping(&id)).await;
    assert_eq!(res.headers()["x-seen-envelope"], "1");
    assert_eq!(
        seen.body.lock().unwrap().clone().unwrap(),
        Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{}}"#)
    );

    // Body errors come back as the shared rejections.
    let res = send(
        &svc,
        Request::post("/mcp")
            .body(Full::new(Bytes::from_static(b"{nope")))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(res).await["error"]["code"], -32700);
    let res = send(
        &svc,
        Request::post("/mcp")
            .header("content-length", "999999999")
            .body(rpc("ping"))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn other_methods_pass_through() {
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(MokaSessionStore::new()), &seen);
    let req = Request::options("/mcp").body(B::default()).unwrap();
    assert_eq!(send(&svc, req).await.status(), StatusCode::OK);
    assert_eq!(seen.calls(), 1);
}

#[tokio::test]
async fn shutdown_closes_every_session_and_refuses_new_ones() {
    let closed = Closed::default();
    let store = MokaSessionStore::builder()
        .on_closed(closed.hook())
        .unavailable_retry_after(Duration::from_secs(7))
        .build()
        .unwrap();
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    let a = session_id(&send(&svc, initialize()).await);
    let b = session_id(&send(&svc, initialize()).await);

    store.shutdown();
    assert_eq!(closed.cause_of(&a), Some(CloseCause::Shutdown));
    assert_eq!(closed.cause_of(&b), Some(CloseCause::Shutdown));
    assert_eq!(closed.all().len(), 2);
    let stats = store.stats();
    assert_eq!((stats.active, stats.shutdown), (0, 2));

    assert_eq!(send(&svc, ping(&a)).await.status(), StatusCode::NOT_FOUND);
    let res = send(&svc, initialize()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "7");
}

#[tokio::test]
async fn panicking_hooks_are_contained() {
    let store = MokaSessionStore::builder()
        .on_created(|_| panic!("hook bug"))
        .on_closed(|_, _| panic!("hook bug"))
        .build()
        .unwrap();
    let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
    let id = session_id(&send(&svc, initialize()).await);
    assert_eq!(
        send(&svc, delete(&id)).await.status(),
        StatusCode::NO_CONTENT
    );
    // The listener still works after a panic.
    let id = session_id(&send(&svc, initialize()).await);
    assert_eq!(
        send(&svc, delete(&id)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(store.stats().deleted, 2);
}

#[test]
fn store_debug_never_lists_sessions() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = MokaSessionStore::new();
        let svc = service(McpSessionLayer::new(store.clone()), &Seen::default());
        let id = session_id(&send(&svc, initialize()).await);
        let debug = format!("{store:?} {:?}", McpSessionLayer::new(store.clone()));
        assert!(!debug.contains(id.to_str().unwrap()));
        assert!(debug.contains("active: 1"));
    });
}

#[tokio::test]
async fn per_session_state_is_dropped_at_close_and_never_created_after() {
    // Issue 12: per-session state exists only while the store holds the
    // session; a handler still running after the close cannot bring it back.
    #[derive(Clone, Debug, PartialEq)]
    struct Outbox(u32);

    let seen_in_hook = Arc::new(Mutex::new(None));
    let log = seen_in_hook.clone();
    let store = MokaSessionStore::builder()
        .on_closed(move |ctx, _| *log.lock().unwrap() = ctx.state::<Outbox>())
        .build()
        .unwrap();
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(store.clone()), &seen);
    let id = session_id(&send(&svc, initialize()).await);
    send(&svc, ping(&id)).await;
    let ctx = seen.last().unwrap();
    assert_eq!(ctx.state_or_insert_with(|| Outbox(1)), Some(Outbox(1)));
    assert_eq!(ctx.state_or_insert_with(|| Outbox(2)), Some(Outbox(1)));
    assert!(!ctx.is_closed());

    assert_eq!(
        send(&svc, delete(&id)).await.status(),
        StatusCode::NO_CONTENT
    );
    // The hook could still read it; then it was dropped.
    assert_eq!(*seen_in_hook.lock().unwrap(), Some(Outbox(1)));
    assert!(ctx.is_closed());
    assert_eq!(ctx.state::<Outbox>(), None);
    assert_eq!(ctx.state_or_insert_with(|| Outbox(3)), None);
    assert_eq!(ctx.insert_state(Outbox(4)), None);
    assert_eq!(
        ctx.state::<Outbox>(),
        None,
        "nothing stored after the close"
    );
}

/// Issue 17: an inner service that keeps sessions of its own (rmcp's default
/// configuration) under McpSessionLayer is found on its first answer that
/// carries an `Mcp-Session-Id`, and named once per layer, at warn, with the
/// rmcp setting to change. The client still gets the layer's id.
#[tokio::test(flavor = "current_thread")]
async fn an_inner_service_minting_session_ids_is_named_once() {
    let (logs, _guard) = crate::support::guards::capture_logs();
    let store = MokaSessionStore::new();
    let inner = tower::service_fn(|_req: Request<B>| async {
        let mut res = http::Response::new(Full::new(Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18"}}"#,
        )));
        res.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        res.headers_mut()
            .insert("mcp-session-id", HeaderValue::from_static("inner-own-id"));
        Ok::<_, std::convert::Infallible>(res)
    });
    let svc = McpSessionLayer::new(store.clone()).into_service(inner);
    let first = send(&svc, initialize()).await;
    let id = session_id(&first);
    assert_ne!(id, "inner-own-id", "the client gets the layer's id");
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::OK);
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::OK);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        text.matches("sets its own Mcp-Session-Id").count(),
        1,
        "{text}"
    );
    assert!(text.contains("WARN"), "{text}");
    assert!(text.contains("with_legacy_session_mode(false)"), "{text}");

    // A well-behaved inner service: no warning from its layer.
    let (logs, _guard) = crate::support::guards::capture_logs();
    let quiet = service(
        McpSessionLayer::new(MokaSessionStore::new()),
        &Seen::default(),
    );
    let id = session_id(&send(&quiet, initialize()).await);
    assert_eq!(send(&quiet, ping(&id)).await.status(), StatusCode::OK);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(!text.contains("sets its own Mcp-Session-Id"), "{text}");
}
