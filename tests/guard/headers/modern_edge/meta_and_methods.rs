//! Required `_meta` fields and client capabilities, methods the server does
//! not implement, unknown versions, session-era leftovers.

use super::*;

// ------------------------------------------------ required _meta

#[tokio::test]
async fn spec_2026_07_28_request_missing_a_required_meta_field_is_400_32602() {
    // basic/index.mdx: "A request missing any required field is malformed; the server
    // MUST reject it with JSON-RPC error code -32602 (Invalid params). On HTTP, the
    // response status MUST be 400 Bad Request."
    let mut no_version = meta();
    no_version
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/protocolVersion");
    let mut no_caps = meta();
    no_caps
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientCapabilities");
    let mut caps_not_object = meta();
    caps_not_object["io.modelcontextprotocol/clientCapabilities"] = json!(["sampling"]);
    let mut version_not_string = meta();
    version_not_string["io.modelcontextprotocol/protocolVersion"] = json!(20260728);
    for (case, params) in [
        ("no params", Value::Null),
        ("no _meta", json!({})),
        ("_meta null", json!({"_meta": null})),
        ("no protocolVersion", json!({"_meta": no_version})),
        ("no clientCapabilities", json!({"_meta": no_caps})),
        (
            "clientCapabilities not an object",
            json!({"_meta": caps_not_object}),
        ),
        (
            "protocolVersion not a string",
            json!({"_meta": version_not_string}),
        ),
    ] {
        let out = send(
            McpHeadersLayer::new(),
            modern_request(json!(101), "server/discover", params),
        )
        .await;
        out.rejected(StatusCode::BAD_REQUEST, -32602).id(json!(101));
        assert_eq!(
            out.rejection.as_ref().unwrap().kind(),
            RejectionKind::InvalidParams,
            "{case}"
        );
    }
    // "Clients SHOULD include io.modelcontextprotocol/clientInfo": optional, so served.
    let mut no_info = meta();
    no_info
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientInfo");
    send(
        McpHeadersLayer::new(),
        modern_request(json!(105), "server/discover", json!({"_meta": no_info})),
    )
    .await
    .passed();
}

#[tokio::test]
async fn spec_2026_07_28_header_and_meta_version_must_match_else_32020() {
    // "If the values do not match, the server MUST reject the request with
    // 400 Bad Request and a HeaderMismatch JSON-RPC error."
    let mut other = meta();
    other["io.modelcontextprotocol/protocolVersion"] = json!("v999.0.0");
    send(
        McpHeadersLayer::new(),
        modern_request(json!(302), "server/discover", json!({"_meta": other})),
    )
    .await
    .rejected(StatusCode::BAD_REQUEST, -32020)
    .id(json!(302));
}

// ------------------------------------------------ removed methods

#[tokio::test]
async fn spec_2026_07_28_method_the_server_does_not_implement_is_404_32601() {
    // "If the server does not implement the requested RPC method, it MUST respond with
    // 404 Not Found and a JSON-RPC error with code -32601 (Method not found)": the
    // methods this revision removed are implemented by no 2026-07-28 server.
    for method in [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "resources/unsubscribe",
        "tasks/list",
        "tasks/result",
    ] {
        let out = send(
            McpHeadersLayer::new(),
            modern_request(json!(500), method, json!({"_meta": meta()})),
        )
        .await;
        out.rejected(StatusCode::NOT_FOUND, -32601).id(json!(500));
        assert!(out.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(method));
    }
    // Legacy requests keep them.
    let req = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-11-25")
        .body(Full::from(body(json!(1), "ping", json!({}))))
        .unwrap();
    send(McpHeadersLayer::new(), req).await.passed();
    // Methods the edge does not know are the inner service's call.
    send(
        McpHeadersLayer::new(),
        modern_request(json!(601), "unknown/method", json!({"_meta": meta()})),
    )
    .await
    .passed();
}

// ------------------------------------------------ unknown versions

#[tokio::test]
async fn spec_2026_07_28_unknown_version_is_32022_echoing_the_requested_value() {
    // "If the server does not implement the requested protocol version (whether the
    // version is unknown to the server, ...) it MUST respond with 400 Bad Request and an
    // UnsupportedProtocolVersionError"; its data "echoes the requested version".
    let mut v999 = meta();
    v999["io.modelcontextprotocol/protocolVersion"] = json!("v999.0.0");
    for (header, mcp_method, params) in [
        // Shaped as 2026-07-28 by its body's _meta.
        ("v999.0.0", None, json!({"_meta": v999.clone()})),
        // ... or by its Mcp-Method header alone.
        ("v999.0.0", Some("server/discover"), json!({})),
        (
            "1999-01-01",
            Some("server/discover"),
            json!({"_meta": meta()}),
        ),
        (
            "2025-07-01",
            Some("server/discover"),
            json!({"_meta": meta()}),
        ),
    ] {
        let mut b = Request::post("/mcp")
            .header("accept", ACCEPT_BOTH)
            .header("content-type", "application/json")
            .header("mcp-protocol-version", header);
        if let Some(m) = mcp_method {
            b = b.header("mcp-method", m);
        }
        let req = b
            .body(Full::from(body(json!(301), "server/discover", params)))
            .unwrap();
        let out = send(McpHeadersLayer::new(), req).await;
        out.rejected(StatusCode::BAD_REQUEST, -32022).id(json!(301));
        assert_eq!(out.body["error"]["data"]["requested"], header);
        assert!(out.body["error"]["data"]["supported"]
            .as_array()
            .unwrap()
            .contains(&json!(MODERN)));
    }
    // A legacy-shaped request keeps the legacy 400, with the value unquoted.
    let req = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "v999.0.0")
        .body(Full::from(body(json!(3), "tools/list", json!({}))))
        .unwrap();
    let out = send(McpHeadersLayer::new(), req).await;
    out.rejected(StatusCode::BAD_REQUEST, -32000).id(json!(3));
    assert_eq!(out.body["error"]["data"]["requested"], "v999.0.0");
}

// ------------------------------------------------ required client capabilities

#[tokio::test]
async fn spec_2026_07_28_undeclared_required_capability_is_400_32021() {
    // basic/index.mdx: "If processing a request requires a capability the client did not
    // include in io.modelcontextprotocol/clientCapabilities, the server MUST return a
    // MissingRequiredClientCapabilityError (-32021) whose data.requiredCapabilities lists
    // the missing capabilities. On HTTP, the response status MUST be 400 Bad Request."
    let rules = ToolRules::new()
        .require_capabilities(
            "summarize",
            json!({"sampling": {}, "elicitation": {"url": {}}}),
        )
        .unwrap();
    let layer = McpHeadersLayer::new().tool_rules(rules);
    let call = |caps: Value| {
        let mut m = meta();
        m["io.modelcontextprotocol/clientCapabilities"] = caps;
        modern_request(
            json!(401),
            "tools/call",
            json!({"name": "summarize", "arguments": {}, "_meta": m}),
        )
    };
    let out = send(layer.clone(), call(json!({}))).await;
    out.rejected(StatusCode::BAD_REQUEST, -32021).id(json!(401));
    assert_eq!(
        out.body["error"]["data"]["requiredCapabilities"],
        json!({"sampling": {}, "elicitation": {"url": {}}})
    );
    assert_eq!(
        out.rejection.unwrap().kind(),
        RejectionKind::MissingClientCapability
    );
    let out = send(
        layer.clone(),
        call(json!({"sampling": {}, "elicitation": {}})),
    )
    .await;
    out.rejected(StatusCode::BAD_REQUEST, -32021);
    assert_eq!(
        out.body["error"]["data"]["requiredCapabilities"],
        json!({"elicitation": {"url": {}}})
    );
    send(
        layer,
        call(json!({"sampling": {}, "elicitation": {"url": {}, "form": {}}})),
    )
    .await
    .passed();
}

// ------------------------------------------------ session-era leftovers

#[tokio::test]
async fn spec_2026_07_28_session_id_and_last_event_id_are_ignored_and_never_echoed() {
    // "An Mcp-Session-Id header on a request: ignore it, and do not mint or echo session
    // IDs." and "A Last-Event-ID header: ignore it; streams are not resumable."
    let seen = Seen::default();
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new())
        .service(inner(seen.clone(), || {
            let mut res = ok_json();
            res.headers_mut().insert(
                "mcp-session-id",
                HeaderValue::from_static("minted-by-inner"),
            );
            res
        }));
    let mut req = modern_request(json!(1), "tools/list", json!({"_meta": meta()}));
    req.headers_mut()
        .insert("mcp-session-id", HeaderValue::from_static("stale"));
    req.headers_mut()
        .insert("last-event-id", HeaderValue::from_static("42"));
    let out = run(svc, &seen, req).await;
    out.passed();
    let inner_saw = seen.headers().unwrap();
    assert!(inner_saw.get("mcp-session-id").is_none());
    assert!(inner_saw.get("last-event-id").is_none());
    assert!(out.headers.get("mcp-session-id").is_none());
}
