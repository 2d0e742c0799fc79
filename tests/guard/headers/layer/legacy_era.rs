//! The legacy era (2024-11-05 to 2025-11-25): the `MCP-Protocol-Version`
//! header, batches, responses posted by clients.

use super::*;

// ------------------------------------------------- legacy era: the version header

#[tokio::test]
async fn spec_2025_06_18_missing_header_assumes_2025_03_26() {
    // "if the server does not receive an MCP-Protocol-Version header, and has no other
    // way to identify the version ... the server SHOULD assume protocol version 2025-03-26."
    let out = send(legacy_post(None, TOOLS_LIST)).await;
    let p = out.passed();
    assert_eq!(
        p,
        RequestProtocol::new(
            ProtocolVersion::V2025_03_26,
            Era::Legacy,
            VersionSource::Assumed
        )
    );
    // An assumed version is not reflected on the response.
    assert!(out.headers.get("mcp-protocol-version").is_none());
    assert_eq!(
        out.body,
        TOOLS_LIST.as_bytes(),
        "the body is replayed unchanged"
    );
}

#[tokio::test]
async fn spec_2025_06_18_header_only_on_subsequent_requests_initialize_needs_none() {
    // "the client MUST include the MCP-Protocol-Version header on all subsequent requests"
    let out = send(legacy_post(None, INITIALIZE)).await;
    let p = out.passed();
    assert_eq!(p.era(), Era::Legacy);
    // It speaks the revision it asks for (issue 17: a handler that echoes
    // `RequestProtocol` negotiates that one), and no header is reflected.
    assert_eq!(
        (p.version(), p.source(), p.assumed()),
        (
            ProtocolVersion::V2025_11_25,
            VersionSource::Initialize,
            false
        )
    );
    assert!(out.headers.get("mcp-protocol-version").is_none());
}

#[tokio::test]
async fn initialize_asking_for_an_unknown_or_unsupported_revision_stays_assumed() {
    for asked in ["2099-01-01", "2026-07-28", "latest"] {
        let body = INITIALIZE.replace("2025-11-25", asked);
        let p = send(legacy_post(None, &body)).await.passed();
        assert_eq!(
            (p.version(), p.source()),
            (ProtocolVersion::V2025_03_26, VersionSource::Assumed),
            "{asked}"
        );
    }
}

#[tokio::test]
async fn spec_2025_06_18_supported_header_is_accepted_and_reflected() {
    for v in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        let out = send(legacy_post(Some(v), PING)).await;
        let p = out.passed();
        assert_eq!(
            (p.version().to_string().as_str(), p.era(), p.assumed()),
            (v, Era::Legacy, false)
        );
        assert_eq!(out.headers["mcp-protocol-version"], v);
    }
}

#[tokio::test]
async fn spec_2025_06_18_unsupported_protocol_version_is_400() {
    // "If the server receives a request with an invalid or unsupported
    // MCP-Protocol-Version, it MUST respond with 400 Bad Request."
    let out = send(legacy_post(Some("1999-01-01"), PING)).await;
    out.rejected(StatusCode::BAD_REQUEST, -32000);
    let v = out.json();
    assert_eq!(v["error"]["data"]["requested"], "1999-01-01");
    assert_eq!(
        v["error"]["data"]["supported"],
        json!([
            "2024-11-05",
            "2025-03-26",
            "2025-06-18",
            "2025-11-25",
            "2026-07-28"
        ])
    );
    let msg = out.message();
    assert!(
        msg.contains("1999-01-01") && msg.contains("2025-11-25, 2026-07-28"),
        "{msg}"
    );
    assert_eq!(
        out.rejection.unwrap().kind(),
        RejectionKind::UnsupportedProtocolVersion
    );
}

#[tokio::test]
async fn spec_2025_06_18_invalid_protocol_version_is_400() {
    for bad in [
        "latest",
        "2025-6-18",
        "2025-06-18 ",
        "2025-13-01",
        "",
        "2025/06/18",
    ] {
        let out = send(legacy_post(Some(bad), PING)).await;
        out.rejected(StatusCode::BAD_REQUEST, -32000);
        assert!(
            out.message().contains("supported versions: 2024-11-05"),
            "{bad:?}: {}",
            out.message()
        );
    }
    // Two headers are not one version.
    let mut req = legacy_post(Some("2025-06-18"), PING);
    req.headers_mut().append(
        "mcp-protocol-version",
        HeaderValue::from_static("2025-06-18"),
    );
    send(req).await.rejected(StatusCode::BAD_REQUEST, -32000);
}

#[tokio::test]
async fn spec_2025_06_18_version_outside_configured_list_is_400() {
    let layer = McpHeadersLayer::new()
        .supported_versions(["2025-11-25"])
        .unwrap();
    let out = send_with(layer.clone(), legacy_post(Some("2025-06-18"), PING)).await;
    out.rejected(StatusCode::BAD_REQUEST, -32000);
    assert_eq!(
        out.json()["error"]["data"]["supported"],
        json!(["2025-11-25"])
    );
    send_with(layer, legacy_post(Some("2025-11-25"), PING))
        .await
        .passed();
}

#[tokio::test]
async fn a9_header_on_initialize_is_validated_when_present() {
    // The spec is silent; we validate a header on initialize like any other (Go SDK behaviour).
    send(legacy_post(Some("2025-11-25"), INITIALIZE))
        .await
        .passed();
    send(legacy_post(Some("1999-01-01"), INITIALIZE))
        .await
        .rejected(StatusCode::BAD_REQUEST, -32000);
    send(legacy_post(Some("garbage"), INITIALIZE))
        .await
        .rejected(StatusCode::BAD_REQUEST, -32000);
}

#[tokio::test]
async fn legacy_get_and_delete_version_header() {
    let get = |v: Option<&'static str>, m: Method| {
        let mut b = Request::builder()
            .method(m)
            .uri("/mcp")
            .header("accept", "text/event-stream");
        if let Some(v) = v {
            b = b.header("mcp-protocol-version", v);
        }
        b.body(Full::default()).unwrap()
    };
    let p = send(get(Some("2025-11-25"), Method::GET)).await.passed();
    assert_eq!(p.version(), ProtocolVersion::V2025_11_25);
    assert!(send(get(None, Method::DELETE)).await.passed().assumed());
    send(get(Some("2025-99-01"), Method::GET))
        .await
        .rejected(StatusCode::BAD_REQUEST, -32000);
    send(get(Some("2019-01-01"), Method::DELETE))
        .await
        .rejected(StatusCode::BAD_REQUEST, -32000);
}

// ---------------------------------------------------------- legacy era: batches

#[tokio::test]
async fn spec_2025_03_26_batch_is_accepted_by_2025_03_26_and_2024_11_05() {
    // 2025-03-26: "MCP implementations ... MUST support receiving JSON-RPC batches."
    for v in [None, Some("2025-03-26"), Some("2024-11-05")] {
        let out = send(legacy_post(v, BATCH)).await;
        out.passed();
        assert_eq!(out.body, BATCH.as_bytes());
    }
}

#[tokio::test]
async fn spec_2025_06_18_batch_is_400_32600() {
    // 2025-06-18: "The body of the POST request MUST be a single JSON-RPC request,
    // notification, or response." (batching removed)
    for v in ["2025-06-18", "2025-11-25"] {
        let out = send(legacy_post(Some(v), BATCH)).await;
        out.rejected(StatusCode::BAD_REQUEST, -32600);
        assert_eq!(
            out.rejection.unwrap().kind(),
            RejectionKind::BatchNotAllowed
        );
    }
    // Without a header the assumed 2025-03-26 allows batches only if a batch-era version is supported.
    let layer = McpHeadersLayer::new()
        .supported_versions(["2025-06-18", "2025-11-25"])
        .unwrap();
    send_with(layer, legacy_post(None, BATCH))
        .await
        .rejected(StatusCode::BAD_REQUEST, -32600);
}

#[tokio::test]
async fn spec_2025_03_26_initialize_must_not_be_part_of_a_batch() {
    // lifecycle.mdx: "The initialize request MUST NOT be part of a JSON-RPC batch"
    let body = format!("[{INITIALIZE},{PING}]");
    for v in [None, Some("2025-03-26")] {
        let out = send(legacy_post(v, &body)).await;
        out.rejected(StatusCode::BAD_REQUEST, -32600);
        assert_eq!(out.rejection.unwrap().kind(), RejectionKind::InvalidRequest);
    }
}

#[tokio::test]
async fn legacy_clients_may_post_responses() {
    // 2025-11-25: "a single JSON-RPC request, notification, or response"
    let body = r#"{"jsonrpc":"2.0","id":"srv-1","result":{}}"#;
    send(legacy_post(Some("2025-11-25"), body)).await.passed();
}
