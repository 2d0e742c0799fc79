//! Request ids in every rejection, in both eras; `null` only where none can
//! be known.

use super::*;

// ------------------------------------------------ request ids in every rejection

#[tokio::test]
async fn spec_2026_07_28_error_responses_include_the_same_id_as_the_request() {
    // basic/index.mdx: "Error responses MUST include the same ID as the request they
    // correspond to (except in error cases where the ID could not be read due a
    // malformed request)." Every JSON id spelling comes back as sent.
    for id in [
        json!(1),
        json!(0),
        json!(-7),
        json!("abc"),
        json!(""),
        json!(18446744073709551615_u64),
    ] {
        // Mcp-Method disagrees with the body: a header rejection after the body is read.
        let mut params = json!({"_meta": meta()});
        let req = Request::post("/mcp")
            .header("accept", ACCEPT_BOTH)
            .header("content-type", "application/json")
            .header("mcp-protocol-version", MODERN)
            .header("mcp-method", "prompts/list")
            .body(Full::from(body(id.clone(), "tools/list", params.clone())))
            .unwrap();
        send(McpHeadersLayer::new(), req)
            .await
            .rejected(StatusCode::BAD_REQUEST, -32020)
            .id(id.clone());
        // An unsupported version.
        params["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2099-01-01");
        let req = Request::post("/mcp")
            .header("accept", ACCEPT_BOTH)
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2099-01-01")
            .header("mcp-method", "tools/list")
            .body(Full::from(body(id.clone(), "tools/list", params)))
            .unwrap();
        send(McpHeadersLayer::new(), req)
            .await
            .rejected(StatusCode::BAD_REQUEST, -32022)
            .id(id.clone());
    }
    // Numbers keep their JSON spelling, beyond what an f64 holds.
    let text = r#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"tools/list","params":{}}"#;
    let req = modern("tools/list", json!({}))
        .body(Full::from(text))
        .unwrap();
    let seen = Seen::default();
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new())
        .service(inner(seen.clone(), ok_json));
    let res = svc.oneshot(req).await.unwrap();
    let raw = res.into_body().collect().await.unwrap().to_bytes();
    let raw = String::from_utf8(raw.to_vec()).unwrap();
    assert!(
        raw.contains(r#""id":123456789012345678901234567890"#),
        "{raw}"
    );
}

#[tokio::test]
async fn every_rejection_kind_after_the_body_carries_the_id_in_both_eras() {
    let id = json!(42);
    let layer = McpHeadersLayer::new;
    // 406 and 415 are decided from the head but answered once the body is read.
    let req = Request::post("/mcp")
        .header("accept", "text/html")
        .header("content-type", "application/json")
        .body(Full::from(body(id.clone(), "tools/list", json!({}))))
        .unwrap();
    send(layer(), req)
        .await
        .rejected(StatusCode::NOT_ACCEPTABLE, -32000)
        .id(id.clone());
    let req = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "text/plain")
        .body(Full::from(body(id.clone(), "tools/list", json!({}))))
        .unwrap();
    send(layer(), req)
        .await
        .rejected(StatusCode::UNSUPPORTED_MEDIA_TYPE, -32000)
        .id(id.clone());
    // Legacy: an unsupported version header, then a forbidden batch.
    let req = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "1999-01-01")
        .body(Full::from(body(id.clone(), "ping", json!({}))))
        .unwrap();
    send(layer(), req)
        .await
        .rejected(StatusCode::BAD_REQUEST, -32000)
        .id(id.clone());
    // A modern removed method, missing _meta, a missing Mcp-Name.
    send(
        layer(),
        modern_request(id.clone(), "ping", json!({"_meta": meta()})),
    )
    .await
    .rejected(StatusCode::NOT_FOUND, -32601)
    .id(id.clone());
    send(layer(), modern_request(id.clone(), "tools/list", json!({})))
        .await
        .rejected(StatusCode::BAD_REQUEST, -32602)
        .id(id.clone());

    // The session layer's rejections carry it too (a legacy request without a session).
    let store = MokaSessionStore::builder().build().unwrap();
    let seen = Seen::default();
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new())
        .layer(McpSessionLayer::new(store))
        .service(inner(seen.clone(), ok_json));
    let req = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-11-25")
        .body(Full::from(body(json!("s-1"), "tools/list", json!({}))))
        .unwrap();
    let out = run(svc.clone(), &seen, req).await;
    out.rejected(StatusCode::BAD_REQUEST, -32000)
        .id(json!("s-1"));
    assert_eq!(
        out.rejection.unwrap().kind(),
        RejectionKind::MissingSessionId
    );
    let req = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-11-25")
        .header("mcp-session-id", "no-such-session")
        .body(Full::from(body(json!(9), "tools/list", json!({}))))
        .unwrap();
    run(svc, &seen, req)
        .await
        .rejected(StatusCode::NOT_FOUND, -32001)
        .id(json!(9));
}

#[tokio::test]
async fn id_is_null_only_where_none_can_be_known() {
    // A notification has no id; invalid JSON and a batch name none; 413 and 431 are
    // decided before the body is read; Host and Origin never read it.
    let notification = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2099-01-01"}}})
    .to_string();
    let req = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2099-01-01")
        .body(Full::from(notification))
        .unwrap();
    send(McpHeadersLayer::new(), req)
        .await
        .rejected(StatusCode::BAD_REQUEST, -32022)
        .id(Value::Null);
    let req = modern("tools/list", json!({}))
        .body(Full::from(r#"{"jsonrpc":"2.0","id":5,"method":"#))
        .unwrap();
    send(McpHeadersLayer::new(), req)
        .await
        .rejected(StatusCode::BAD_REQUEST, -32700)
        .id(Value::Null);
    let req = modern("tools/list", json!({}))
        .header("content-length", "99999999")
        .body(Full::from(body(json!(5), "tools/list", json!({}))))
        .unwrap();
    send(McpHeadersLayer::new(), req)
        .await
        .rejected(StatusCode::PAYLOAD_TOO_LARGE, -32000)
        .id(Value::Null);
    let mut req = modern_request(json!(5), "tools/list", json!({"_meta": meta()}));
    for i in 0..70 {
        req.headers_mut().append(
            http::HeaderName::from_bytes(format!("mcp-param-p{i}").as_bytes()).unwrap(),
            HeaderValue::from_static("x"),
        );
    }
    send(McpHeadersLayer::new(), req)
        .await
        .rejected(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, -32000)
        .id(Value::Null);
    let seen = Seen::default();
    let svc = ServiceBuilder::new()
        .layer(HostCheckLayer::localhost())
        .layer(OriginGuardLayer::localhost())
        .layer(McpHeadersLayer::new())
        .service(inner(seen.clone(), ok_json));
    let mut req = modern_request(json!(5), "tools/list", json!({"_meta": meta()}));
    req.headers_mut()
        .insert("host", HeaderValue::from_static("evil.example"));
    run(svc, &seen, req)
        .await
        .rejected(StatusCode::FORBIDDEN, -32000)
        .id(Value::Null);
}
