//! The optional status mapping of JSON-RPC errors, and tools learned from the
//! inner service's own `tools/list`.

use super::*;

// ------------------------------------------------ optional status mapping

fn json_error(code: i64) -> Response<Full<Bytes>> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": code, "message": "m"}});
    let mut res = Response::new(Full::from(body.to_string()));
    res.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    res
}

async fn mapped(
    layer: McpHeadersLayer,
    answer: Response<Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> (StatusCode, Value) {
    let answer = Arc::new(Mutex::new(Some(answer)));
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service_fn(move |_req: Request<Full<Bytes>>| {
            let answer = answer.clone();
            async move { Ok::<_, Infallible>(answer.lock().unwrap().take().unwrap()) }
        });
    let res = svc.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn map_error_status_gives_json_rpc_errors_their_2026_07_28_status() {
    let req = || modern_request(json!(1), "tools/list", json!({"_meta": meta()}));
    let on = McpHeadersLayer::new().map_error_status(true);
    for (code, status) in [
        (-32601, StatusCode::NOT_FOUND),
        (-32602, StatusCode::BAD_REQUEST),
        (-32020, StatusCode::BAD_REQUEST),
        (-32021, StatusCode::BAD_REQUEST),
        (-32022, StatusCode::BAD_REQUEST),
        (-32603, StatusCode::OK),
    ] {
        let (got, body) = mapped(on.clone(), json_error(code), req()).await;
        assert_eq!(got, status, "{code}");
        assert_eq!(body["error"]["code"], code, "the body is unchanged");
    }
    // Off by default.
    let (got, _) = mapped(McpHeadersLayer::new(), json_error(-32601), req()).await;
    assert_eq!(got, StatusCode::OK);
    // SSE streams pass through untouched.
    let mut sse = json_error(-32601);
    sse.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/event-stream"),
    );
    let (got, _) = mapped(on.clone(), sse, req()).await;
    assert_eq!(got, StatusCode::OK);
    // Legacy answers keep their status.
    let legacy = Request::post("/mcp")
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-11-25")
        .body(Full::from(body(json!(1), "tools/list", json!({}))))
        .unwrap();
    let (got, _) = mapped(on, json_error(-32601), legacy).await;
    assert_eq!(got, StatusCode::OK);
}

// ------------------------------------------------ learning tools

#[tokio::test]
async fn learn_tools_reads_the_inner_services_own_tools_list() {
    let listed = json!({"jsonrpc": "2.0", "id": 1, "result": {"tools": [
        {"name": "execute_sql", "inputSchema": {"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"}}}},
        {"name": "broken", "inputSchema": {"type": "object", "properties": {
            "n": {"type": "number", "x-mcp-header": "N"}}}}
    ], "ttlMs": 0, "cacheScope": "public"}});
    let svc = ServiceBuilder::new()
        .layer(McpHeadersLayer::new().learn_tools(true))
        .service_fn(move |req: Request<Full<Bytes>>| {
            let listed = listed.clone();
            async move {
                let is_list = req.headers()["mcp-method"] == "tools/list";
                let body = if is_list {
                    listed.to_string()
                } else {
                    r#"{"jsonrpc":"2.0","id":7,"result":{}}"#.to_owned()
                };
                let mut res = Response::new(Full::<Bytes>::from(body));
                res.headers_mut()
                    .insert("content-type", HeaderValue::from_static("application/json"));
                Ok::<_, Infallible>(res)
            }
        });
    let call = || sql_call(json!({"region": "us-west1"}), &[]);
    // Before any tools/list: the table is empty, nothing is checked.
    let res = svc.clone().oneshot(call()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The answer to tools/list passes through unchanged ...
    let res = svc
        .clone()
        .oneshot(modern_request(
            json!(1),
            "tools/list",
            json!({"_meta": meta()}),
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let listed: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(listed["result"]["tools"].as_array().unwrap().len(), 2);
    // ... and from now on the call needs its header.
    let res = svc.clone().oneshot(call()).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = svc
        .clone()
        .oneshot(sql_call(
            json!({"region": "us-west1"}),
            &[("Mcp-Param-Region", b"us-west1")],
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}
