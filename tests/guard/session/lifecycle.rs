//! McpSessionLayer: the transport spec's session rules (2025-03-26 to 2025-11-25,
//! section "Session Management"), the security best practices on session ids,
//! and the pass-through of the sessionless 2026-07-28 era.

use crate::support::session as support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Request, StatusCode};
use http_body_util::Full;
use mcp_tower_guard::host::PeerAddr;
use mcp_tower_guard::protocol::{Era, ProtocolVersion, RequestProtocol, VersionSource};
use mcp_tower_guard::session::{
    CloseCause, McpSessionLayer, MokaSessionStore, Principal, Reservation, SessionContext,
    SessionId, SessionStats, SessionStore, StoreCall, StoreError, StoreStats,
};
use mcp_tower_guard::{Rejection, RejectionKind};
use support::*;

fn by_user(parts: &Parts) -> Option<Principal> {
    parts
        .headers
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .map(Principal::new)
}

async fn json(res: http::Response<B>) -> serde_json::Value {
    serde_json::from_slice(&body(res).await).unwrap()
}

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

trait ToHeader {
    fn to_string_header(&self) -> HeaderValue;
}

impl ToHeader for SessionId {
    fn to_string_header(&self) -> HeaderValue {
        HeaderValue::from_str(self.as_str()).unwrap()
    }
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

#[tokio::test]
async fn spec_request_without_header_is_judged_under_the_negotiated_version() {
    // 2025-06-18 basic/transports: "if the server does not receive an
    // MCP-Protocol-Version header, and has no other way to identify the version -
    // for example, by relying on the protocol version negotiated during
    // initialization - the server SHOULD assume protocol version 2025-03-26."
    // The session is that other way: its negotiated version is assumed.
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(MokaSessionStore::new()), &seen);
    let res = send(
        &svc,
        Request::post("/mcp").body(init_body("2025-11-25")).unwrap(),
    )
    .await;
    let id = session_id(&res);
    send(&svc, ping(&id)).await;
    let p = seen.protocol.lock().unwrap().unwrap();
    assert_eq!(
        (p.version(), p.era(), p.assumed()),
        (ProtocolVersion::V2025_11_25, Era::Legacy, true)
    );

    // An unknown requested revision (answered as such) leaves the version unset:
    // the default is assumed, and the first legacy header then fixes it.
    let res = send(
        &svc,
        Request::post("/mcp").body(init_body("1999-01-01")).unwrap(),
    )
    .await;
    let id = session_id(&res);
    send(&svc, ping(&id)).await;
    assert_eq!(seen.last().unwrap().protocol_version(), None);
    assert_eq!(
        seen.protocol.lock().unwrap().unwrap().version(),
        ProtocolVersion::LEGACY_DEFAULT
    );
    let mut req = ping(&id);
    req.headers_mut().insert(
        "mcp-protocol-version",
        HeaderValue::from_static("2025-06-18"),
    );
    assert_eq!(send(&svc, req).await.status(), StatusCode::OK);
    assert_eq!(
        seen.last().unwrap().protocol_version(),
        Some(ProtocolVersion::V2025_06_18)
    );
}

#[tokio::test]
async fn spec_initialize_records_the_version_the_server_answered() {
    // 2025-11-25 lifecycle: "If the server supports the requested protocol
    // version, it MUST respond with the same version. Otherwise, the server MUST
    // respond with another protocol version it supports." The session holds the
    // server's answer, not the client's request.
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(MokaSessionStore::new()), &seen);
    let req = Request::post("/mcp")
        .header("x-test-negotiate", "2025-03-26")
        .body(init_body("2025-11-25"))
        .unwrap();
    let id = session_id(&send(&svc, req).await);
    send(&svc, ping(&id)).await;
    assert_eq!(
        seen.last().unwrap().protocol_version(),
        Some(ProtocolVersion::V2025_03_26)
    );
    assert_eq!(
        seen.protocol.lock().unwrap().unwrap().version(),
        ProtocolVersion::V2025_03_26
    );
}

/// A batch of two pings on session `id`, with `header` as its version.
fn batch(id: &HeaderValue, header: Option<&str>) -> Request<B> {
    let mut req = Request::post("/mcp").header("mcp-session-id", id.clone());
    if let Some(v) = header {
        req = req.header("mcp-protocol-version", v);
    }
    req.body(Full::new(Bytes::from_static(
        br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}]"#,
    )))
    .unwrap()
}

/// Every legacy revision pair (negotiated, header), with and without a
/// batch, through `svc`: a supported header naming another revision is
/// served under the negotiated version; a batch passes only where both the
/// header's version and the negotiated one allow it; the session keeps its
/// version. `post` dresses a request for the layers in front.
async fn every_legacy_pair_is_served_under_the_negotiated_version<S>(
    svc: &S,
    store: &MokaSessionStore,
    seen: &Seen,
    post: fn(Request<B>) -> Request<B>,
) where
    S: tower::Service<Request<B>, Response = http::Response<B>, Error = std::convert::Infallible>
        + Clone,
{
    let legacy: Vec<ProtocolVersion> = ProtocolVersion::KNOWN
        .iter()
        .copied()
        .filter(|v| v.era() == Era::Legacy)
        .collect();
    assert_eq!(legacy.len(), 4, "2024-11-05 to 2025-11-25");
    let mut batches_refused = 0;
    for negotiated in &legacy {
        let init = Request::post("/mcp")
            .body(init_body(&negotiated.to_string()))
            .unwrap();
        let id = session_id(&send(svc, post(init)).await);
        for header in &legacy {
            let mut req = post(ping(&id));
            req.headers_mut()
                .insert("mcp-protocol-version", header.to_string().parse().unwrap());
            let res = send(svc, req).await;
            assert_eq!(res.status(), StatusCode::OK, "{negotiated} with {header}");
            let p = seen.protocol.lock().unwrap().unwrap();
            assert_eq!(p.version(), *negotiated, "judged under {negotiated}");
            let expected = if header == negotiated {
                VersionSource::Header
            } else {
                VersionSource::NegotiatedOverHeader
            };
            assert_eq!(p.source(), expected, "{negotiated} with {header}");
            assert!(!p.assumed(), "the request sent a version");
            assert_eq!(seen.last().unwrap().protocol_version(), Some(*negotiated));

            let res = send(svc, post(batch(&id, Some(&header.to_string())))).await;
            if negotiated.allows_batch() && header.allows_batch() {
                assert_eq!(res.status(), StatusCode::OK, "batch: {negotiated}/{header}");
            } else {
                batches_refused += 1;
                assert_eq!(
                    res.status(),
                    StatusCode::BAD_REQUEST,
                    "batch: {negotiated}/{header}"
                );
                let body = json(res).await;
                assert_eq!(body["error"]["code"], -32600, "{body}");
            }
        }
        let res = send(svc, post(batch(&id, None))).await;
        let expected = if negotiated.allows_batch() {
            StatusCode::OK
        } else {
            batches_refused += 1;
            StatusCode::BAD_REQUEST
        };
        assert_eq!(
            res.status(),
            expected,
            "batch without header on {negotiated}"
        );
        // The session still holds its version.
        send(svc, post(ping(&id))).await;
        assert_eq!(seen.last().unwrap().protocol_version(), Some(*negotiated));
    }
    let stats = store.stats();
    // Four pairs of each row differ; each differing ping is counted once,
    // and each differing batch the negotiated version allows is too.
    assert!(stats.other_version_served >= 4 * 3, "{stats:?}");
    assert!(
        batches_refused >= 2 * 4 + 2,
        "2025-06-18 and 2025-11-25 rows"
    );
}

#[tokio::test]
async fn spec_a_supported_version_other_than_the_negotiated_one_is_served() {
    // 2025-06-18 and 2025-11-25 basic/transports, "Protocol Version Header":
    // the client "SHOULD" send the negotiated version, and "If the server
    // receives a request with an invalid or unsupported MCP-Protocol-Version,
    // it MUST respond with 400 Bad Request." A supported revision is neither,
    // so it is served, judged under the negotiated version (which decides on
    // batches), and the session keeps its version. The stable conformance
    // suite (0.1.16, server-sse-multiple-streams) sends 2025-03-26 on a
    // 2025-11-25 session.
    let seen = Seen::default();
    let store = MokaSessionStore::new();
    let alone = service(McpSessionLayer::new(store.clone()), &seen);
    every_legacy_pair_is_served_under_the_negotiated_version(&alone, &store, &seen, |r| r).await;

    let seen = Seen::default();
    let store = MokaSessionStore::new();
    let handler_seen = seen.clone();
    let guarded = tower::ServiceBuilder::new()
        .layer(mcp_tower_guard::McpHeadersLayer::new())
        .layer(McpSessionLayer::new(store.clone()))
        .service_fn(move |req| handler(handler_seen.clone(), req));
    let dressed: fn(Request<B>) -> Request<B> = |mut req| {
        let h = req.headers_mut();
        h.insert(
            "accept",
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        h.insert("content-type", HeaderValue::from_static("application/json"));
        req
    };
    every_legacy_pair_is_served_under_the_negotiated_version(&guarded, &store, &seen, dressed)
        .await;
}

#[tokio::test]
async fn spec_an_unsupported_or_malformed_version_on_a_session_keeps_its_400() {
    // "If the server receives a request with an invalid or unsupported
    // MCP-Protocol-Version, it MUST respond with 400 Bad Request."
    let seen = Seen::default();
    let store = MokaSessionStore::new();
    let svc = service(McpSessionLayer::new(store.clone()), &seen);
    let id = session_id(&send(&svc, initialize()).await);
    let calls = seen.calls();
    for value in [
        "2025-01-01",
        "2099-13-01",
        "latest",
        "2025-06-18, 2025-03-26",
    ] {
        let mut req = ping(&id);
        req.headers_mut().insert(
            "mcp-protocol-version",
            HeaderValue::from_str(value).unwrap(),
        );
        let res = send(&svc, req).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{value}");
        let body = json(res).await;
        assert_eq!(body["id"], 1, "the rejection names the request id: {value}");
    }
    assert_eq!(seen.calls(), calls, "the handler saw none of them");
    assert_eq!(store.stats().other_version_served, 0);
    // The session still holds its version.
    send(&svc, ping(&id)).await;
    assert_eq!(
        seen.last().unwrap().protocol_version(),
        Some(ProtocolVersion::V2025_06_18)
    );
}

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

/// A store that answers every operation later, to drive the future's
/// `Waiting` and `Committing` states.
struct Deferred(MokaSessionStore);

fn later<T: Send + 'static>(call: StoreCall<T>) -> StoreCall<T> {
    StoreCall::pending(async move {
        tokio::task::yield_now().await;
        call.resolve().await
    })
}

impl SessionStore for Deferred {
    fn reserve(
        &self,
        id: &SessionId,
        principal: Option<&Principal>,
    ) -> StoreCall<Result<Reservation, StoreError>> {
        later(self.0.reserve(id, principal))
    }
    fn commit(
        &self,
        reservation: Reservation,
        session: SessionContext,
    ) -> StoreCall<Result<(), StoreError>> {
        later(self.0.commit(reservation, session))
    }
    fn release(&self, reservation: Reservation) {
        self.0.release(reservation)
    }
    fn get(&self, id: &SessionId) -> StoreCall<Result<Option<SessionContext>, StoreError>> {
        later(SessionStore::get(&self.0, id))
    }
    fn remove(&self, id: &SessionId, cause: CloseCause) -> StoreCall<Result<bool, StoreError>> {
        later(self.0.remove(id, cause))
    }
    fn touch(&self, id: &SessionId) {
        self.0.touch(id)
    }
    fn shutdown(&self) -> StoreCall<()> {
        SessionStore::shutdown(&self.0)
    }
}

impl StoreStats for Deferred {
    fn stats(&self) -> SessionStats {
        self.0.stats()
    }
}

#[tokio::test]
async fn async_store_backend_drives_the_same_lifecycle() {
    let store = MokaSessionStore::new();
    let shared: Arc<dyn SessionStore> = Arc::new(Deferred(store.clone()));
    let svc = service(McpSessionLayer::new(shared), &Seen::default());
    let id = session_id(&send(&svc, initialize()).await);
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::OK);
    assert_eq!(
        send(&svc, delete(&id)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(send(&svc, ping(&id)).await.status(), StatusCode::NOT_FOUND);
    let stats = store.stats();
    assert_eq!((stats.created, stats.deleted, stats.active), (1, 1, 0));
}

/// A backend that is down.
struct Down;

impl SessionStore for Down {
    fn reserve(
        &self,
        _: &SessionId,
        _: Option<&Principal>,
    ) -> StoreCall<Result<Reservation, StoreError>> {
        StoreCall::pending(async { Err(down()) })
    }
    fn commit(&self, _: Reservation, _: SessionContext) -> StoreCall<Result<(), StoreError>> {
        StoreCall::Ready(Err(down()))
    }
    fn release(&self, _: Reservation) {}
    fn get(&self, _: &SessionId) -> StoreCall<Result<Option<SessionContext>, StoreError>> {
        StoreCall::Ready(Err(down()))
    }
    fn remove(&self, _: &SessionId, _: CloseCause) -> StoreCall<Result<bool, StoreError>> {
        StoreCall::Ready(Err(down()))
    }
    fn shutdown(&self) -> StoreCall<()> {
        StoreCall::Ready(())
    }
}

impl StoreStats for Down {
    fn stats(&self) -> SessionStats {
        SessionStats::default()
    }
}

fn down() -> StoreError {
    StoreError::Unavailable {
        reason: "backend down".to_owned(),
        retry_after: Duration::from_secs(3),
    }
}

#[tokio::test]
async fn store_errors_are_503_with_retry_after() {
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(Down), &seen);
    let res = send(&svc, initialize()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "3");
    let res = send(&svc, ping(&HeaderValue::from_static("abc"))).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(seen.calls(), 0);
}

/// Reserves fine but cannot store: the handler ran, yet no id is handed out.
struct CommitFails(MokaSessionStore);

impl SessionStore for CommitFails {
    fn reserve(
        &self,
        id: &SessionId,
        principal: Option<&Principal>,
    ) -> StoreCall<Result<Reservation, StoreError>> {
        self.0.reserve(id, principal)
    }
    fn commit(&self, r: Reservation, _: SessionContext) -> StoreCall<Result<(), StoreError>> {
        self.0.release(r);
        StoreCall::pending(async { Err(down()) })
    }
    fn release(&self, r: Reservation) {
        self.0.release(r)
    }
    fn get(&self, id: &SessionId) -> StoreCall<Result<Option<SessionContext>, StoreError>> {
        SessionStore::get(&self.0, id)
    }
    fn remove(&self, id: &SessionId, cause: CloseCause) -> StoreCall<Result<bool, StoreError>> {
        self.0.remove(id, cause)
    }
    fn shutdown(&self) -> StoreCall<()> {
        SessionStore::shutdown(&self.0)
    }
}

impl StoreStats for CommitFails {
    fn stats(&self) -> SessionStats {
        self.0.stats()
    }
}

#[tokio::test]
async fn failed_commit_hands_out_no_id() {
    let store = MokaSessionStore::new();
    let seen = Seen::default();
    let svc = service(McpSessionLayer::new(CommitFails(store.clone())), &seen);
    let res = send(&svc, initialize()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(!res.headers().contains_key("mcp-session-id"));
    assert_eq!(seen.calls(), 1);
    let stats = store.stats();
    assert_eq!((stats.active, stats.reserved), (0, 0));
}

mod axum_router {
    use super::*;
    use axum::body::Body;
    use axum::routing::post;
    use axum::{Extension, Router};
    use tower::ServiceExt;

    async fn handler(
        Extension(session): Extension<SessionContext>,
        envelope: Option<Extension<mcp_tower_guard::envelope::Envelope>>,
    ) -> axum::Json<serde_json::Value> {
        let id = envelope.and_then(|Extension(e)| e.single().and_then(|m| m.id().cloned()));
        axum::Json(serde_json::json!({
            "jsonrpc": "2.0", "id": id, "result": {"tag": session.id().tag().to_string()}
        }))
    }

    fn req(method: &str, uri: &str, id: Option<&HeaderValue>, body: &'static str) -> Request<Body> {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(id) = id {
            b = b.header("mcp-session-id", id.clone());
        }
        b.body(Body::from(body)).unwrap()
    }

    const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#;
    const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

    #[tokio::test]
    async fn axum_router_layer_shares_one_table_across_routes() {
        let store = MokaSessionStore::new();
        let app = Router::new()
            .route("/a", post(handler).get(handler).delete(handler))
            .route("/b", post(handler))
            .layer(McpSessionLayer::new(store.clone()));

        let res = app
            .clone()
            .oneshot(req("POST", "/a", None, INIT))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let id = res.headers()["mcp-session-id"].clone();

        // axum calls `layer()` per route: the session made on /a is known on /b.
        let res = app
            .clone()
            .oneshot(req("POST", "/b", Some(&id), PING))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let res = app
            .clone()
            .oneshot(req("GET", "/a", Some(&id), ""))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);

        let res = app
            .clone()
            .oneshot(req("POST", "/b", None, PING))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let bytes = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["jsonrpc"], "2.0");

        let res = app
            .clone()
            .oneshot(req("DELETE", "/a", Some(&id), ""))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let res = app
            .clone()
            .oneshot(req("POST", "/b", Some(&id), PING))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert_eq!(store.stats().created, 1);
    }
}

mod with_headers_layer {
    use super::*;
    use mcp_tower_guard::McpHeadersLayer;
    use tower::{ServiceBuilder, ServiceExt};

    fn post(body: B) -> Request<B> {
        Request::post("/mcp")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(body)
            .unwrap()
    }

    #[tokio::test]
    async fn headers_then_session_share_the_envelope_and_protocol() {
        let store = MokaSessionStore::new();
        let seen = Seen::default();
        let handler_seen = seen.clone();
        let svc = ServiceBuilder::new()
            .layer(McpHeadersLayer::new())
            .layer(McpSessionLayer::new(store.clone()))
            .service_fn(move |req| handler(handler_seen.clone(), req));

        let res = svc
            .clone()
            .oneshot(post(init_body("2025-11-25")))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let id = session_id(&res);

        // No version header: the headers layer assumed 2025-03-26; the session
        // layer replaces it with what the session negotiated.
        let mut req = post(rpc("tools/list"));
        req.headers_mut().insert("mcp-session-id", id.clone());
        let res = svc.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["x-seen-envelope"], "1");
        let p = seen.protocol.lock().unwrap().unwrap();
        assert_eq!(
            (p.version(), p.assumed()),
            (ProtocolVersion::V2025_11_25, true)
        );

        // A modern request with a stale session id is not the session layer's business.
        let mut req = post(Full::new(Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
        )));
        req.headers_mut().insert(
            "mcp-protocol-version",
            HeaderValue::from_static("2026-07-28"),
        );
        req.headers_mut()
            .insert("mcp-method", HeaderValue::from_static("tools/list"));
        req.headers_mut().insert("mcp-session-id", id.clone());
        let calls = seen.calls();
        let res = svc.clone().oneshot(req).await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{:?}",
            res.extensions().get::<Rejection>()
        );
        assert_eq!(seen.calls(), calls + 1);
        assert!(!res.headers().contains_key("mcp-session-id"));
        assert_eq!(store.stats().rejected.total(), 0);

        let mut req = post(rpc("ping"));
        req.headers_mut()
            .insert("mcp-session-id", HeaderValue::from_static("unknown"));
        let res = svc.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
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
