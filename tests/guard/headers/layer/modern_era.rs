//! The 2026-07-28 era: conforming requests, the version header against
//! `_meta`, and the body shape.

use super::*;

// ------------------------------------------------- modern era: accepted requests

#[tokio::test]
async fn spec_2026_07_28_conforming_requests_pass() {
    let cases: Vec<(&str, Value, Option<&[u8]>)> = vec![
        (
            "tools/call",
            json!({"name": "get_weather", "arguments": {"location": "Seattle"}}),
            Some(b"get_weather"),
        ),
        (
            "prompts/get",
            json!({"name": "summarize"}),
            Some(b"summarize"),
        ),
        (
            "resources/read",
            json!({"uri": "file:///projects/myapp/config.json"}),
            Some(b"file:///projects/myapp/config.json"),
        ),
        ("tools/list", json!({}), None),
        ("server/discover", json!({}), None),
    ];
    for (method, params, name) in cases {
        let body = modern_body(method, params, Some(MODERN));
        let out = send(modern_post(Some(MODERN), Some(method), name, body.clone())).await;
        assert_eq!(out.passed(), modern_protocol(), "{method}");
        assert_eq!(out.headers["mcp-protocol-version"], MODERN);
        assert_eq!(out.body, body.as_bytes());
    }
}

#[tokio::test]
async fn spec_2026_07_28_notification_needs_no_mcp_method() {
    // "header requirements for notification POSTs are not defined by this revision":
    // Mcp-Method is checked on a notification only when present.
    let body = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 1, "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN}}})
    .to_string();
    send(modern_post(Some(MODERN), None, None, body.clone()))
        .await
        .passed();
    send(modern_post(
        Some(MODERN),
        Some("notifications/cancelled"),
        None,
        body.clone(),
    ))
    .await
    .passed();
    send(modern_post(Some(MODERN), Some("tools/call"), None, body))
        .await
        .rejected(StatusCode::BAD_REQUEST, -32020);
}

// ---------------------------------------- modern era: protocol version header vs _meta

#[tokio::test]
async fn spec_2026_07_28_header_required_on_every_post_else_32020() {
    // "Every POST request to the MCP endpoint MUST include an MCP-Protocol-Version header."
    let out = send(modern_post(
        None,
        Some("tools/call"),
        Some(b"echo"),
        tool_call("echo"),
    ))
    .await;
    out.rejected(StatusCode::BAD_REQUEST, -32020);
    assert!(
        out.message().contains("MCP-Protocol-Version"),
        "{}",
        out.message()
    );
    assert_eq!(out.rejection.unwrap().kind(), RejectionKind::HeaderMismatch);
}

#[tokio::test]
async fn spec_2026_07_28_header_must_match_meta_else_32020() {
    // "The header value MUST match the io.modelcontextprotocol/protocolVersion field carried
    // in the request body's _meta. If the values do not match, the server MUST reject the
    // request with 400 Bad Request and a HeaderMismatch JSON-RPC error."
    let params = json!({"name": "echo"});
    for meta in [
        Some("2025-11-25"),
        Some("2026-7-28"),
        Some("2027-01-01"),
        Some(" 2026-07-28"),
    ] {
        let body = modern_body("tools/call", params.clone(), meta);
        let out = send(modern_post(
            Some(MODERN),
            Some("tools/call"),
            Some(b"echo"),
            body,
        ))
        .await;
        out.rejected(StatusCode::BAD_REQUEST, -32020);
    }
    // A version that is not a string, or none at all, is a malformed request
    // (basic/index.mdx: "A request missing any required field is malformed; the server
    // MUST reject it with JSON-RPC error code -32602"): see tests/guard/headers/modern_edge/.
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{"io.modelcontextprotocol/protocolVersion":20260728,"io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    send(modern_post(
        Some(MODERN),
        Some("tools/call"),
        Some(b"echo"),
        body.into(),
    ))
    .await
    .rejected(StatusCode::BAD_REQUEST, -32602);
    let body = modern_body("tools/call", params, None);
    send(modern_post(
        Some(MODERN),
        Some("tools/call"),
        Some(b"echo"),
        body,
    ))
    .await
    .rejected(StatusCode::BAD_REQUEST, -32602);
}

#[tokio::test]
async fn spec_2026_07_28_malformed_or_repeated_header_is_32020_unknown_value_is_32022() {
    // "A header value contains invalid characters" is a validation failure (-32020); a
    // well-formed value the server does not implement is "unknown to the server" (-32022).
    for bad in ["", "2026 07 28"] {
        let out = send(modern_post(
            Some(bad),
            Some("tools/call"),
            Some(b"echo"),
            tool_call("echo"),
        ))
        .await;
        out.rejected(StatusCode::BAD_REQUEST, -32020);
    }
    for unknown in ["2026-07-28x", "latest"] {
        let out = send(modern_post(
            Some(unknown),
            Some("tools/call"),
            Some(b"echo"),
            tool_call("echo"),
        ))
        .await;
        out.rejected(StatusCode::BAD_REQUEST, -32022);
        assert_eq!(out.json()["error"]["data"]["requested"], unknown);
    }
    let mut req = modern_post(
        Some(MODERN),
        Some("tools/call"),
        Some(b"echo"),
        tool_call("echo"),
    );
    req.headers_mut()
        .append("mcp-protocol-version", HeaderValue::from_static(MODERN));
    send(req).await.rejected(StatusCode::BAD_REQUEST, -32020);
}

#[tokio::test]
async fn spec_2026_07_28_unsupported_version_is_400_32022_with_supported_list() {
    // "If the server does not implement the requested protocol version ... it MUST respond
    // with 400 Bad Request and an UnsupportedProtocolVersionError listing its supported versions."
    let body = modern_body("tools/call", json!({"name": "echo"}), Some("2027-01-01"));
    let out = send(modern_post(
        Some("2027-01-01"),
        Some("tools/call"),
        Some(b"echo"),
        body,
    ))
    .await;
    out.rejected(StatusCode::BAD_REQUEST, -32022);
    let data = &out.json()["error"]["data"];
    assert_eq!(data["requested"], "2027-01-01");
    assert_eq!(
        data["supported"],
        json!([
            "2024-11-05",
            "2025-03-26",
            "2025-06-18",
            "2025-11-25",
            "2026-07-28"
        ])
    );

    // "or is a known version the server has chosen not to support": a legacy-only server.
    let legacy_only = McpHeadersLayer::new()
        .supported_versions(["2025-06-18", "2025-11-25"])
        .unwrap();
    let out = send_with(
        legacy_only,
        modern_post(
            Some(MODERN),
            Some("tools/call"),
            Some(b"echo"),
            tool_call("echo"),
        ),
    )
    .await;
    out.rejected(StatusCode::BAD_REQUEST, -32022);
    assert_eq!(
        out.json()["error"]["data"],
        json!({"supported": ["2025-06-18", "2025-11-25"], "requested": MODERN})
    );
}

#[tokio::test]
async fn spec_2026_07_28_modern_only_server_rejects_request_without_header() {
    // "A server that does not support such clients MUST reject a request without the
    // header per Server Validation." and versioning.mdx: a modern-only server "SHOULD name
    // the protocol versions it supports in any error it returns to an initialize request".
    let modern_only = McpHeadersLayer::new().supported_versions([MODERN]).unwrap();
    for body in [INITIALIZE, PING] {
        let out = send_with(modern_only.clone(), legacy_post(None, body)).await;
        out.rejected(StatusCode::BAD_REQUEST, -32020);
        assert!(
            out.message().contains("supported versions: 2026-07-28"),
            "{}",
            out.message()
        );
        assert_eq!(out.json()["error"]["data"]["supported"], json!([MODERN]));
    }
    // A legacy version header is simply unsupported there.
    let out = send_with(modern_only, legacy_post(Some("2025-11-25"), PING)).await;
    out.rejected(StatusCode::BAD_REQUEST, -32000);
}

// ------------------------------------------------ modern era: body shape

#[tokio::test]
async fn spec_2026_07_28_client_must_not_send_responses_is_32600() {
    // "The body of the HTTP POST MUST be a single JSON-RPC request or notification.
    // The client MUST NOT send JSON-RPC responses."
    let response = r#"{"jsonrpc":"2.0","id":1,"result":{}}"#;
    let out = send(modern_post(Some(MODERN), None, None, response.into())).await;
    out.rejected(StatusCode::BAD_REQUEST, -32600);
    assert_eq!(out.rejection.unwrap().kind(), RejectionKind::InvalidRequest);
}

#[tokio::test]
async fn spec_2026_07_28_batch_is_32600() {
    let one = tool_call("echo");
    let batch = format!("[{one},{one}]");
    let out = send(modern_post(
        Some(MODERN),
        Some("tools/call"),
        Some(b"echo"),
        batch,
    ))
    .await;
    out.rejected(StatusCode::BAD_REQUEST, -32600);
    assert_eq!(
        out.rejection.unwrap().kind(),
        RejectionKind::BatchNotAllowed
    );
}
