//! `Mcp-Param-{Name}` headers from tool schemas: matched against the body,
//! decoded, typed, capped.

use super::*;

// ------------------------------------------------ Mcp-Param-{Name}

fn sql_rules() -> ToolRules {
    ToolRules::from_tools_list(&json!({"tools": [{
        "name": "execute_sql",
        "inputSchema": {
            "type": "object",
            "properties": {
                "region": {"type": "string", "x-mcp-header": "Region"},
                "shard": {"type": "integer", "x-mcp-header": "Shard"},
                "dry_run": {"type": "boolean", "x-mcp-header": "DryRun"},
                "target": {"type": "object", "properties": {
                    "zone": {"type": "string", "x-mcp-header": "Zone"}}},
                "query": {"type": "string"}
            },
            "required": ["region", "query"]
        }
    }]}))
    .unwrap()
}

async fn sql(arguments: Value, params: &[(&str, &[u8])]) -> Outcome {
    send(
        McpHeadersLayer::new().tool_rules(sql_rules()),
        sql_call(arguments, params),
    )
    .await
}

#[tokio::test]
async fn spec_2026_07_28_server_must_validate_that_header_matches_body() {
    // "Parameter value provided | Client MUST include the header | Server MUST validate
    // header matches body"
    sql(
        json!({"region": "us-west1", "query": "SELECT 1"}),
        &[("Mcp-Param-Region", b"us-west1")],
    )
    .await
    .passed();
    let out = sql(
        json!({"region": "us-west1", "query": "SELECT 1"}),
        &[("Mcp-Param-Region", b"eu-west1")],
    )
    .await;
    out.rejected(StatusCode::BAD_REQUEST, -32020).id(json!(7));
    assert!(
        out.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Mcp-Param-Region"),
        "{}",
        out.body
    );
    // Header names are case-insensitive; values are not.
    sql(
        json!({"region": "us-west1"}),
        &[("MCP-PARAM-REGION", b"us-west1")],
    )
    .await
    .passed();
    sql(
        json!({"region": "us-west1"}),
        &[("mcp-param-region", b"US-WEST1")],
    )
    .await
    .rejected(StatusCode::BAD_REQUEST, -32020);
}

#[tokio::test]
async fn spec_2026_07_28_client_omits_header_but_value_is_in_body_server_must_reject() {
    // "Client omits header but value is in body | Non-conforming client | Server MUST
    // reject the request"
    sql(json!({"region": "us-west1", "query": "q"}), &[])
        .await
        .rejected(StatusCode::BAD_REQUEST, -32020)
        .id(json!(7));
    sql(json!({"target": {"zone": "b"}}), &[])
        .await
        .rejected(StatusCode::BAD_REQUEST, -32020);
}

#[tokio::test]
async fn spec_2026_07_28_null_or_absent_parameter_server_must_not_expect_the_header() {
    // "Parameter value is null | Server MUST NOT expect the header" and "Parameter not in
    // arguments | Server MUST NOT expect the header"
    sql(json!({"query": "q"}), &[]).await.passed();
    sql(json!({"region": null, "shard": null, "target": null}), &[])
        .await
        .passed();
    sql(json!({"target": {}}), &[]).await.passed();
    sql(json!({"target": "not an object"}), &[]).await.passed();
    send(
        McpHeadersLayer::new().tool_rules(sql_rules()),
        modern_request(
            json!(7),
            "tools/call",
            json!({"name": "execute_sql", "_meta": meta()}),
        ),
    )
    .await
    .passed();
    // A header claiming a value the body does not have is a mismatch.
    sql(json!({"query": "q"}), &[("Mcp-Param-Region", b"us-west1")])
        .await
        .rejected(StatusCode::BAD_REQUEST, -32020);
}

#[tokio::test]
async fn spec_2026_07_28_servers_must_decode_an_encoded_value_before_comparing() {
    // "servers MUST decode an encoded Mcp-Name or Mcp-Param-{Name} value before comparing
    // it to the corresponding request body value"
    for value in [
        "Hello, 世界",
        " padded ",
        "line1\nline2",
        "=?base64?literal?=",
    ] {
        let header = encode_value(value);
        sql(
            json!({"region": value}),
            &[("Mcp-Param-Region", header.as_bytes())],
        )
        .await
        .passed();
    }
    sql(
        json!({"region": "Hello"}),
        &[("Mcp-Param-Region", b"=?base64?SGVsbG8=?=")],
    )
    .await
    .passed();
    // Values without both markers are literal.
    sql(
        json!({"region": "SGVsbG8="}),
        &[("Mcp-Param-Region", b"SGVsbG8=")],
    )
    .await
    .passed();
    sql(
        json!({"region": "=?base64?SGVsbG8="}),
        &[("Mcp-Param-Region", b"=?base64?SGVsbG8=")],
    )
    .await
    .passed();
}

#[tokio::test]
async fn spec_2026_07_28_recognized_header_with_invalid_characters_is_rejected() {
    // "Servers MUST reject requests with a recognized Mcp-Param-{Name} header that
    // contains invalid characters"
    for bad in [
        &b"=?base64?SGVsbG8?="[..],
        b"=?base64?SGVs!!!bG8=?=",
        b"caf\xc3\xa9",
        b"\xff\xfe",
    ] {
        sql(json!({"region": "Hello"}), &[("Mcp-Param-Region", bad)])
            .await
            .rejected(StatusCode::BAD_REQUEST, -32020)
            .id(json!(7));
    }
    // Repeated: which one would an intermediary route on?
    sql(
        json!({"region": "a"}),
        &[("Mcp-Param-Region", b"a"), ("Mcp-Param-Region", b"a")],
    )
    .await
    .rejected(StatusCode::BAD_REQUEST, -32020);
}

#[tokio::test]
async fn spec_2026_07_28_integer_and_boolean_parameters() {
    // "integer: Convert to decimal string representation", "boolean: Convert to
    // lowercase", and "servers SHOULD compare ... numerically (42.0 and 42 are equal)".
    let both = |shard: Value, header: &'static [u8]| async move {
        sql(json!({"shard": shard}), &[("Mcp-Param-Shard", header)]).await
    };
    both(json!(42), b"42").await.passed();
    both(json!(42.0), b"42").await.passed();
    both(json!(42), b"42.0").await.passed();
    both(json!(-7), b"-7").await.passed();
    both(json!(42), b"43")
        .await
        .rejected(StatusCode::BAD_REQUEST, -32020);
    both(json!(42), b"0x2a")
        .await
        .rejected(StatusCode::BAD_REQUEST, -32020);
    sql(json!({"dry_run": true}), &[("Mcp-Param-DryRun", b"true")])
        .await
        .passed();
    sql(json!({"dry_run": false}), &[("Mcp-Param-DryRun", b"false")])
        .await
        .passed();
    sql(json!({"dry_run": true}), &[("Mcp-Param-DryRun", b"TRUE")])
        .await
        .rejected(StatusCode::BAD_REQUEST, -32020);
    // Nested through properties.
    sql(
        json!({"target": {"zone": "b"}}),
        &[("Mcp-Param-Zone", b"b")],
    )
    .await
    .passed();
}

#[tokio::test]
async fn spec_2026_07_28_unrecognized_mcp_param_header_is_forwarded() {
    // "Intermediate servers that do not recognize an Mcp-Param-{Name} header MUST
    // forward it and otherwise ignore it"
    let seen = Seen::default();
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new().tool_rules(sql_rules()))
        .service(inner(seen.clone(), ok_json));
    let out = run(
        svc.clone(),
        &seen,
        sql_call(
            json!({"region": "r"}),
            &[("Mcp-Param-Region", b"r"), ("Mcp-Param-Other", b"anything")],
        ),
    )
    .await;
    out.passed();
    assert_eq!(seen.headers().unwrap()["mcp-param-other"], "anything");
    assert_eq!(seen.headers().unwrap()["mcp-param-region"], "r");
    // A tool the table does not know: nothing to check.
    let call = json!({"name": "other_tool", "arguments": {"region": "x"}, "_meta": meta()});
    let mut req = modern_request(json!(8), "tools/call", call);
    req.headers_mut()
        .insert("mcp-param-region", HeaderValue::from_static("y"));
    run(svc, &seen, req).await.passed();
}

#[tokio::test]
async fn legacy_tools_call_is_not_checked_against_mcp_param_headers() {
    // SEP-2243 is part of 2026-07-28; a legacy client sends no Mcp-Param headers.
    let req = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-11-25")
        .body(Full::from(body(
            json!(1),
            "tools/call",
            json!({"name": "execute_sql", "arguments": {"region": "r"}}),
        )))
        .unwrap();
    send(McpHeadersLayer::new().tool_rules(sql_rules()), req)
        .await
        .passed();
}

#[tokio::test]
async fn mcp_header_count_and_bytes_are_capped_431() {
    let mut req = sql_call(json!({}), &[]);
    req.headers_mut().insert(
        "mcp-param-big",
        HeaderValue::from_str(&"x".repeat(20_000)).unwrap(),
    );
    send(McpHeadersLayer::new(), req)
        .await
        .rejected(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, -32000);
    // Configurable.
    let layer = McpHeadersLayer::new().max_mcp_headers(3).unwrap();
    send(layer.clone(), sql_call(json!({}), &[("Mcp-Param-A", b"1")]))
        .await
        .rejected(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, -32000);
    send(
        layer,
        modern_request(json!(1), "tools/list", json!({"_meta": meta()})),
    )
    .await
    .passed();
    assert!(McpHeadersLayer::new().max_mcp_headers(0).is_err());
    assert!(McpHeadersLayer::new().max_mcp_header_bytes(10).is_err());
}
