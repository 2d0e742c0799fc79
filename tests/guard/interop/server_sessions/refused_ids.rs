//! Ids that never reach the server: another principal's, unknown and
//! malformed ones, and an inner server without usable ids.

use super::*;

/// A session is bound to the user who made it: another user's request,
/// and a DELETE, get the guard's 404 and never reach the server.
#[tokio::test]
async fn another_principal_cannot_use_or_delete_the_session() {
    bounded(async {
        let mut setup = Setup::new(MokaSessionStore::new());
        setup.by_user = true;
        let server = Guarded::start(setup).await;
        let id = raw_session(&server.url, &[("x-user", "alice")]).await;
        let before = server.reached.ids().len();
        let reply = send(ping(&server.url, &id, &[("x-user", "mallory")])).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        let mut del = delete(&server.url, &id);
        del.headers_mut()
            .insert("x-user", "mallory".parse().unwrap());
        assert_eq!(send(del).await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            server.reached.ids().len(),
            before,
            "mallory reached nothing"
        );
        assert_eq!(server.server_sessions().await, 1);
        let reply = send(ping(&server.url, &id, &[("x-user", "alice")])).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(server.store.stats().rejected.foreign_principal, 2);
    })
    .await;
}

/// Unknown and malformed ids get the guard's 404 and 400; the server sees
/// none of them.
#[tokio::test]
async fn unknown_and_malformed_ids_never_reach_the_server() {
    bounded(async {
        let server = Guarded::start(Setup::new(MokaSessionStore::new())).await;
        for (id, status) in [
            (
                "0b0e9d9e-9d4c-4a4e-9a0a-000000000000",
                StatusCode::NOT_FOUND,
            ),
            ("not visible \u{7f}", StatusCode::BAD_REQUEST),
            ("", StatusCode::BAD_REQUEST),
        ] {
            let mut req = ping(&server.url, "placeholder", &[]);
            match http::HeaderValue::from_bytes(id.as_bytes()) {
                Ok(value) => {
                    req.headers_mut().insert("mcp-session-id", value);
                }
                Err(_) => continue,
            }
            assert_eq!(send(req).await.status, status, "{id:?}");
        }
        let get = Request::get(&server.url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", "0b0e9d9e-9d4c-4a4e-9a0a-000000000000")
            .body(Full::default())
            .unwrap();
        assert_eq!(send(get).await.status, StatusCode::NOT_FOUND);
        assert!(
            server.reached.ids().is_empty(),
            "{:?}",
            server.reached.ids()
        );
    })
    .await;
}

/// An inner server that mints no id, or an unusable one, in this mode:
/// nothing is recorded and the slot is given back; a missing id is named
/// once at warn, an invalid one (not 1 to 256 visible ASCII characters, or
/// two of them) turns the answer into 502.
#[tokio::test(flavor = "current_thread")]
async fn an_inner_server_without_usable_ids_is_named_and_records_nothing() {
    let (logs, _guard) = crate::support::guards::capture_logs();
    let answer = |session: Option<&'static [&'static str]>| {
        tower::service_fn(move |_req: Request<Body>| async move {
            let mut res = http::Response::new(Body::from(
                r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{}}}"#,
            ));
            res.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_static("application/json"),
            );
            for id in session.unwrap_or_default() {
                res.headers_mut()
                    .append("mcp-session-id", http::HeaderValue::from_static(id));
            }
            Ok::<_, std::convert::Infallible>(res)
        })
    };
    let initialize = || {
        Request::post("/mcp")
            .header("host", "127.0.0.1:8000")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(Body::from(initialize_body().to_string()))
            .unwrap()
    };
    let guard = |store: &MokaSessionStore| {
        McpGuard::local("127.0.0.1:8000".parse().unwrap())
            .unwrap()
            .server_sessions(store.clone())
    };
    use tower::ServiceExt as _;
    // No id: the answer passes, nothing is recorded, one warn for two.
    let store = MokaSessionStore::new();
    let svc = guard(&store).into_service(answer(None));
    for _ in 0..2 {
        let res = svc.clone().oneshot(initialize()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let stats = store.stats();
    assert_eq!(
        (stats.active, stats.reserved, stats.initialize_failed),
        (0, 0, 2),
        "{stats:?}"
    );
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.matches("set no Mcp-Session-Id").count(), 1, "{text}");
    // Two ids, or one that is not visible ASCII: 502, nothing recorded.
    for ids in [&["a", "b"][..], &["has space"][..]] {
        let store = MokaSessionStore::new();
        let svc = guard(&store).into_service(answer(Some(ids)));
        let res = svc.oneshot(initialize()).await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_GATEWAY, "{ids:?}");
        let stats = store.stats();
        assert_eq!((stats.active, stats.reserved), (0, 0), "{ids:?}");
    }
}
