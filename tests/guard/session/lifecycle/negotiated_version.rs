//! Requests on a session judged under the version negotiated at initialize.

use super::*;

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
