//! The 2026-07-28 `Mcp-Method` and `Mcp-Name` headers, the tasks
//! extension's `Mcp-Name`, encoded names.

use super::*;

// ------------------------------------------------ modern era: Mcp-Method

#[tokio::test]
async fn spec_2026_07_28_mcp_method_required_and_must_match_else_32020() {
    // "Mcp-Method | method | All requests" and "A required standard header ... is missing"
    let body = modern_body("tools/list", json!({}), Some(MODERN));
    for method in [None, Some("tools/call"), Some("Tools/List"), Some("")] {
        let out = send(modern_post(Some(MODERN), method, None, body.clone())).await;
        out.rejected(StatusCode::BAD_REQUEST, -32020);
    }
    // RFC 9110 §5.5: "a field value does not include leading or trailing whitespace".
    send(modern_post(
        Some(MODERN),
        Some(" tools/list\t"),
        None,
        body.clone(),
    ))
    .await
    .passed();
    let mut req = modern_post(Some(MODERN), Some("tools/list"), None, body);
    req.headers_mut()
        .append("mcp-method", HeaderValue::from_static("tools/list"));
    send(req).await.rejected(StatusCode::BAD_REQUEST, -32020);
}

// ------------------------------------------------ modern era: Mcp-Name matrix

#[tokio::test]
async fn spec_2026_07_28_mcp_name_must_match_params_name_or_uri_else_32020() {
    // "Mcp-Name | params.name or params.uri | tools/call, resources/read, prompts/get requests"
    // "servers MUST decode an encoded Mcp-Name ... value before comparing it"
    type Case = (&'static str, Value, Option<&'static [u8]>, bool);
    let cases: Vec<Case> = vec![
        // tools/call
        ("tools/call", json!({"name": "echo"}), Some(b"echo"), true),
        ("tools/call", json!({"name": "echo"}), None, false),
        ("tools/call", json!({"name": "echo"}), Some(b"other"), false),
        ("tools/call", json!({"name": "echo"}), Some(b"ECHO"), false),
        (
            "tools/call",
            json!({"name": "echo"}),
            Some(b"=?base64?ZWNobw==?="),
            true,
        ),
        (
            "tools/call",
            json!({"name": "echo"}),
            Some(b"=?base64?b3RoZXI=?="),
            false,
        ), // "other"
        (
            "tools/call",
            json!({"name": "echo"}),
            Some(b"=?base64?ZWNobw?="),
            false,
        ), // no padding
        (
            "tools/call",
            json!({"name": "echo"}),
            Some(b"=?base64?@@@@?="),
            false,
        ),
        (
            "tools/call",
            json!({"name": "echo"}),
            Some(b"=?base64?/w==?="),
            false,
        ), // not UTF-8
        (
            "tools/call",
            json!({"name": "echo"}),
            Some(b"=?BASE64?ZWNobw==?="),
            false,
        ), // markers are case-sensitive
        (
            "tools/call",
            json!({"name": "Hello, 世界"}),
            Some(b"=?base64?SGVsbG8sIOS4lueVjA==?="),
            true,
        ),
        (
            "tools/call",
            json!({"name": "Hello, 世界"}),
            Some("Hello, 世界".as_bytes()),
            false,
        ), // raw non-ASCII
        (
            "tools/call",
            json!({"name": " padded "}),
            Some(b"=?base64?IHBhZGRlZCA=?="),
            true,
        ),
        (
            "tools/call",
            json!({"name": "=?base64?literal?="}),
            Some(b"=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="),
            true,
        ),
        (
            "tools/call",
            json!({"name": "=?base64?literal?="}),
            Some(b"=?base64?literal?="),
            false,
        ),
        ("tools/call", json!({"arguments": {}}), None, true), // no params.name: nothing to mirror
        ("tools/call", json!({"arguments": {}}), Some(b"echo"), false),
        // prompts/get
        (
            "prompts/get",
            json!({"name": "summarize"}),
            Some(b"summarize"),
            true,
        ),
        (
            "prompts/get",
            json!({"name": "summarize"}),
            Some(b"translate"),
            false,
        ),
        ("prompts/get", json!({"name": "summarize"}), None, false),
        // resources/read: the uri, not a name
        (
            "resources/read",
            json!({"uri": "file:///a.txt"}),
            Some(b"file:///a.txt"),
            true,
        ),
        (
            "resources/read",
            json!({"uri": "file:///a.txt", "name": "a"}),
            Some(b"a"),
            false,
        ),
        (
            "resources/read",
            json!({"uri": "file:///a.txt"}),
            Some(b"file:///b.txt"),
            false,
        ),
        (
            "resources/read",
            json!({"uri": "file:///a.txt"}),
            None,
            false,
        ),
        (
            "resources/read",
            json!({"uri": "file:///ä.txt"}),
            Some(b"=?base64?ZmlsZTovLy/DpC50eHQ=?="),
            true,
        ),
        // other methods: Mcp-Name is not looked at
        ("tools/list", json!({}), Some(b"anything"), true),
    ];
    for (method, params, name, ok) in cases {
        let body = modern_body(method, params.clone(), Some(MODERN));
        let out = send(modern_post(Some(MODERN), Some(method), name, body)).await;
        if ok {
            assert_eq!(
                out.passed(),
                modern_protocol(),
                "{method} {params} {name:?}"
            );
        } else {
            out.rejected(StatusCode::BAD_REQUEST, -32020);
            assert!(
                out.message().contains("Mcp-Name"),
                "{method} {name:?}: {}",
                out.message()
            );
        }
    }
}

/// SEP-2663 (tasks extension), "Streamable HTTP: Routing Headers": "When
/// `tasks/get`, `tasks/update`, or `tasks/cancel` is sent over the Streamable
/// HTTP transport, the client MUST set the `Mcp-Name` header (defined by
/// SEP-2243) to the value of `params.taskId`." The server side is SEP-2243's
/// rule: "Servers MUST reject requests with a 400 Bad Request HTTP status and
/// JSON-RPC error code -32020 (HeaderMismatch)" when a required header is
/// missing or differs from the body.
#[tokio::test]
async fn sep_2663_tasks_requests_must_carry_mcp_name_equal_to_params_task_id() {
    const TASK: &str = "786512e2-9e0d-44bd-8f29-789f320fe840";
    for method in ["tasks/get", "tasks/update", "tasks/cancel"] {
        let params = if method == "tasks/update" {
            json!({"taskId": TASK, "inputResponses": {}})
        } else {
            json!({"taskId": TASK})
        };
        let cases: [(Option<&[u8]>, bool); 7] = [
            (Some(TASK.as_bytes()), true),
            // Optional whitespace around a header value is not part of it.
            (Some(format!(" {TASK} ").leak().as_bytes()), true),
            // The Base64 form decodes to the task id.
            (
                Some(b"=?base64?Nzg2NTEyZTItOWUwZC00NGJkLThmMjktNzg5ZjMyMGZlODQw?="),
                true,
            ),
            (None, false),
            (
                Some(b"sep-2663-wrong-task-id-for-routing-header-mismatch"),
                false,
            ),
            (Some(TASK.to_uppercase().leak().as_bytes()), false),
            (Some(b"=?base64?b3RoZXI=?="), false), // "other"
        ];
        for (name, ok) in cases {
            let body = modern_body(method, params.clone(), Some(MODERN));
            let out = send(modern_post(Some(MODERN), Some(method), name, body)).await;
            if ok {
                assert_eq!(out.passed(), modern_protocol(), "{method} {name:?}");
            } else {
                // 400 -32020 with the request's id (checked by `rejected`).
                out.rejected(StatusCode::BAD_REQUEST, -32020);
                assert!(out.message().contains("Mcp-Name"), "{}", out.message());
            }
        }
    }
}

/// SEP-2663: "`tasks/result` is removed; clients calling it MUST receive
/// -32601 (Method Not Found)", and `tasks/list` is gone too. Their answer is
/// -32601 whatever `Mcp-Name` says: the routing rule names only the three
/// methods it lists.
#[tokio::test]
async fn sep_2663_removed_task_methods_get_32601_not_a_header_mismatch() {
    for method in ["tasks/result", "tasks/list"] {
        let body = modern_body(method, json!({"taskId": "t-1"}), Some(MODERN));
        let out = send(modern_post(
            Some(MODERN),
            Some(method),
            Some(b"other"),
            body,
        ))
        .await;
        out.rejected(StatusCode::NOT_FOUND, -32601);
    }
}

#[tokio::test]
async fn spec_2026_07_28_duplicate_mcp_name_is_32020() {
    let mut req = modern_post(
        Some(MODERN),
        Some("tools/call"),
        Some(b"echo"),
        tool_call("echo"),
    );
    req.headers_mut()
        .append("mcp-name", HeaderValue::from_static("echo"));
    send(req).await.rejected(StatusCode::BAD_REQUEST, -32020);
}

#[tokio::test]
async fn spec_2026_07_28_encoded_names_round_trip_through_the_layer() {
    for name in [
        "plain",
        "with space",
        "ünïcödé",
        "tab\tinside",
        "\tlead",
        "line\nbreak",
        "=?base64?x?=",
    ] {
        let value = encode_value(name);
        let out = send(modern_post(
            Some(MODERN),
            Some("tools/call"),
            Some(value.as_bytes()),
            tool_call(name),
        ))
        .await;
        out.passed();
    }
}
