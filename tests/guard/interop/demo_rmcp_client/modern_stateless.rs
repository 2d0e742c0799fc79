//! The 2026-07-28 era, stateless: the demo's tasks over TCP, rmcp's client
//! in discover mode, raw requests and the edge rules over TCP.

use super::*;

fn modern_call(id: u64, method: &str, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw-test", "version": "1.0"},
    });
    json!({"jsonrpc":"2.0","id":id,"method":method,"params":params})
}

// ---------------------------------------------------------------------------
// Tests: rmcp client, 2026-07-28 (stateless)
// ---------------------------------------------------------------------------

/// The demo serves the tasks extension (SEP-2663) so the suite's
/// `tasks-request-headers` can run: `slow_compute` answers with a task
/// handle; `tasks/get` with `Mcp-Name` equal to the task id finds it, and any
/// other `Mcp-Name` is refused at the edge (400, -32020) before the handler.
#[tokio::test]
async fn demo_tasks_are_routed_by_mcp_name_over_tcp() {
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let client = http1();
        let modern = |method: &str, name: &str, params: Value, caps: Value| {
            let mut body = modern_call(9, method, params);
            body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = caps;
            post(
                &demo.url,
                body,
                &[
                    ("mcp-protocol-version", MODERN),
                    ("mcp-method", method),
                    ("mcp-name", name),
                ],
            )
        };
        let tasks = json!({"extensions": {"io.modelcontextprotocol/tasks": {}}});
        let start = json!({"name": "slow_compute", "arguments": {"seconds": 60, "label": "t"}});

        // Without the extension in its capabilities, no task handle: -32021.
        let reply = send(
            &client,
            modern("tools/call", "slow_compute", start.clone(), json!({})),
        )
        .await;
        assert_eq!(reply.json()["error"]["code"], -32021, "{}", reply.json());

        let reply = send(
            &client,
            modern("tools/call", "slow_compute", start, tasks.clone()),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        let created = reply.json()["result"].clone();
        assert_eq!(created["resultType"], "task", "{created}");
        assert_eq!(created["status"], "working");
        let stamp = created["createdAt"].as_str().expect("createdAt");
        assert!(
            stamp.len() == 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "RFC 3339 UTC: {stamp}"
        );
        let id = created["taskId"].as_str().expect("taskId").to_owned();

        let reply = send(
            &client,
            modern("tasks/get", &id, json!({"taskId": id}), tasks.clone()),
        )
        .await;
        let got = reply.json()["result"].clone();
        assert_eq!(
            (got["taskId"].as_str(), got["status"].as_str()),
            (Some(&*id), Some("working"))
        );
        assert_eq!(got["resultType"], "complete", "{got}");

        // SEP-2663: Mcp-Name MUST equal params.taskId; the edge refuses a mismatch.
        let reply = send(
            &client,
            modern(
                "tasks/get",
                "another-task",
                json!({"taskId": id}),
                tasks.clone(),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.json()["error"]["code"], -32020);
        assert_eq!(reply.json()["id"], 9, "the request's id");

        let reply = send(
            &client,
            modern("tasks/cancel", &id, json!({"taskId": id}), tasks.clone()),
        )
        .await;
        assert_eq!(reply.json()["result"]["resultType"], "complete");
        let reply = send(
            &client,
            modern("tasks/get", &id, json!({"taskId": id}), tasks.clone()),
        )
        .await;
        assert_eq!(reply.json()["result"]["status"], "cancelled");

        // An unknown task is the handler's -32602.
        let reply = send(
            &client,
            modern("tasks/get", "nope", json!({"taskId": "nope"}), tasks),
        )
        .await;
        assert_eq!(reply.json()["error"]["code"], -32602);
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn rmcp_client_in_discover_mode_is_served_statelessly() {
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let (tx, _rx) = mpsc::unbounded_channel();
        let transport = StreamableHttpClientTransport::from_uri(demo.url.clone());
        let client = Recorder { logs: tx }
            .serve_with_lifecycle(
                transport,
                ClientLifecycleMode::Discover {
                    preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                },
            )
            .await
            .expect("server/discover succeeds");
        let info = serde_json::to_value(&*client.peer_info().expect("peer info")).expect("json");
        assert_eq!(info["protocolVersion"], MODERN, "{info}");

        let tools = client.list_all_tools().await.expect("tools/list");
        let names: BTreeSet<String> = tools.iter().map(|t| t.name.to_string()).collect();
        assert_eq!(
            names,
            [
                "add",
                "echo",
                "greet",
                "route_query",
                "session_info",
                "slow_compute",
                "test_logging_tool",
                "test_missing_capability",
                "test_streaming_elicitation"
            ]
            .map(String::from)
            .into()
        );
        let result = client
            .call_tool(call("add", json!({"a": 20, "b": 22})))
            .await
            .expect("add");
        assert_eq!(text_of(&result), "42");

        // rmcp mirrors x-mcp-header parameters into Mcp-Param-* headers, and the
        // headers layer checks them against the body (SEP-2243): the call goes through.
        let result = client
            .call_tool(call(
                "route_query",
                json!({"region": "Hello, 世界", "shard": 7, "dry_run": true,
                       "target": {"zone": "b"}, "query": "SELECT 1"}),
            ))
            .await
            .expect("route_query with mirrored headers");
        assert_eq!(
            result.structured_content.expect("structured")["region"],
            "Hello, 世界"
        );

        // A tool that needs a capability this client did not declare: -32021.
        let err = client
            .call_tool(call("test_missing_capability", json!({})))
            .await
            .expect_err("sampling not declared");
        assert!(
            format!("{err:?}").contains("-32021") || format!("{err:?}").contains("32021"),
            "{err:?}"
        );
        let result = client
            .call_tool(call("session_info", json!({})))
            .await
            .expect("session_info");
        assert_eq!(result.is_error, Some(true), "no session in 2026-07-28");

        assert_eq!(demo.store.stats().created, 0, "no session was created");
        client.cancel().await.expect("client stops");
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn raw_2026_07_28_request_is_stateless() {
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let http = http1();
        let modern = [
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "tools/call"),
            ("mcp-name", "add"),
        ];
        let reply = send(
            &http,
            post(
                &demo.url,
                modern_call(
                    7,
                    "tools/call",
                    json!({"name": "add", "arguments": {"a": 1.5, "b": 2}}),
                ),
                &modern,
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert!(
            reply.session_id().is_none(),
            "no Mcp-Session-Id in 2026-07-28"
        );
        assert_eq!(reply.headers["mcp-protocol-version"], MODERN);
        let body = reply.json();
        assert_eq!(body["id"], 7);
        assert_eq!(body["result"]["resultType"], "complete");
        assert_eq!(body["result"]["structuredContent"]["sum"], 3.5);
        assert_eq!(
            body["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
            app::SERVER_NAME
        );

        // A session id sent anyway is ignored, not checked.
        let mut with_sid = modern.to_vec();
        with_sid.push(("mcp-session-id", "not-a-session"));
        let reply = send(
            &http,
            post(
                &demo.url,
                modern_call(
                    8,
                    "tools/call",
                    json!({"name": "add", "arguments": {"a": 1, "b": 2}}),
                ),
                &with_sid,
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.session_id().is_none());

        // server/discover lists both eras.
        let reply = send(
            &http,
            post(
                &demo.url,
                modern_call(9, "server/discover", json!({})),
                &[
                    ("mcp-protocol-version", MODERN),
                    ("mcp-method", "server/discover"),
                ],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        let versions = reply.json()["result"]["supportedVersions"].clone();
        assert!(versions.as_array().unwrap().contains(&json!(MODERN)));
        assert!(versions.as_array().unwrap().contains(&json!(LEGACY)));

        // Unknown method: 404 with -32601 in 2026-07-28.
        let reply = send(
            &http,
            post(
                &demo.url,
                modern_call(10, "nope/nope", json!({})),
                &[
                    ("mcp-protocol-version", MODERN),
                    ("mcp-method", "nope/nope"),
                ],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.json()["error"]["code"], -32601);

        // GET and DELETE do not exist in 2026-07-28.
        for method in [Method::GET, Method::DELETE] {
            let req = Request::builder()
                .method(method.clone())
                .uri(&demo.url)
                .header("accept", "text/event-stream")
                .header("mcp-protocol-version", MODERN)
                .body(Full::default())
                .unwrap();
            let reply = send(&http, req).await;
            assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        }
        assert_eq!(demo.store.stats().created, 0);
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn raw_2026_07_28_edge_rules_over_tcp() {
    // The 2026-07-28 rules of tests/guard/headers/modern_edge/, on the wire against the demo.
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let http = http1();
        let route = |id: u64, args: Value| {
            modern_call(
                id,
                "tools/call",
                json!({"name": "route_query", "arguments": args}),
            )
        };
        let base = [
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "tools/call"),
            ("mcp-name", "route_query"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut h = base.to_vec();
            h.extend_from_slice(extra);
            h
        };

        // "Server MUST validate header matches body": string, integer (numerically),
        // boolean and a nested property, one with the Base64 sentinel.
        let args = json!({"region": "Hello, 世界", "shard": 7, "dry_run": true,
                          "target": {"zone": "b"}, "query": "q"});
        let headers = with(&[
            ("mcp-param-region", "=?base64?SGVsbG8sIOS4lueVjA==?="),
            ("mcp-param-shard", "7.0"),
            ("mcp-param-dryrun", "true"),
            ("mcp-param-zone", "b"),
        ]);
        let reply = send(&http, post(&demo.url, route(20, args.clone()), &headers)).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert_eq!(
            reply.json()["result"]["structuredContent"]["region"],
            "Hello, 世界"
        );

        // Missing, different, badly encoded: 400 -32020 with the request's id.
        for (id, extra) in [
            (
                21,
                vec![
                    ("mcp-param-shard", "7"),
                    ("mcp-param-dryrun", "true"),
                    ("mcp-param-zone", "b"),
                ],
            ),
            (
                22,
                vec![
                    ("mcp-param-region", "=?base64?SGVsbG8?="),
                    ("mcp-param-shard", "7"),
                    ("mcp-param-dryrun", "true"),
                    ("mcp-param-zone", "b"),
                ],
            ),
            (
                23,
                vec![
                    ("mcp-param-region", "=?base64?SGVsbG8sIOS4lueVjA==?="),
                    ("mcp-param-shard", "8"),
                    ("mcp-param-dryrun", "true"),
                    ("mcp-param-zone", "b"),
                ],
            ),
        ] {
            let reply = send(
                &http,
                post(&demo.url, route(id, args.clone()), &with(&extra)),
            )
            .await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{id}");
            let v = reply.json();
            assert_eq!(
                (v["id"].clone(), v["error"]["code"].clone()),
                (json!(id), json!(-32020)),
                "{v}"
            );
        }

        // A required client capability the request does not declare: 400 -32021.
        let reply = send(
            &http,
            post(
                &demo.url,
                modern_call(
                    30,
                    "tools/call",
                    json!({"name": "test_missing_capability", "arguments": {}}),
                ),
                &[
                    ("mcp-protocol-version", MODERN),
                    ("mcp-method", "tools/call"),
                    ("mcp-name", "test_missing_capability"),
                ],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        let v = reply.json();
        assert_eq!(v["error"]["code"], -32021, "{v}");
        assert_eq!(
            v["error"]["data"]["requiredCapabilities"],
            json!({"sampling": {}})
        );
        assert_eq!(v["id"], 30);

        // Removed methods: 404 -32601; missing _meta: 400 -32602; unknown version: -32022.
        let reply = send(
            &http,
            post(
                &demo.url,
                modern_call(31, "ping", json!({})),
                &[("mcp-protocol-version", MODERN), ("mcp-method", "ping")],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(
            (
                reply.json()["id"].clone(),
                reply.json()["error"]["code"].clone()
            ),
            (json!(31), json!(-32601))
        );
        let reply = send(
            &http,
            post(
                &demo.url,
                json!({"jsonrpc": "2.0", "id": "no-meta", "method": "tools/list", "params": {}}),
                &[
                    ("mcp-protocol-version", MODERN),
                    ("mcp-method", "tools/list"),
                ],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            (
                reply.json()["id"].clone(),
                reply.json()["error"]["code"].clone()
            ),
            (json!("no-meta"), json!(-32602))
        );
        let mut v999 = modern_call(32, "server/discover", json!({}));
        v999["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("v999.0.0");
        let reply = send(
            &http,
            post(
                &demo.url,
                v999,
                &[
                    ("mcp-protocol-version", "v999.0.0"),
                    ("mcp-method", "server/discover"),
                ],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        let v = reply.json();
        assert_eq!(v["error"]["code"], -32022, "{v}");
        assert_eq!(v["error"]["data"]["requested"], "v999.0.0");
        assert_eq!(v["id"], 32);

        // Session-era leftovers never come back on a modern answer.
        let reply = send(
            &http,
            post(
                &demo.url,
                modern_call(33, "tools/list", json!({})),
                &[
                    ("mcp-protocol-version", MODERN),
                    ("mcp-method", "tools/list"),
                    ("mcp-session-id", "stale"),
                    ("last-event-id", "7"),
                ],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.session_id().is_none());
        assert_eq!(demo.store.stats().created, 0);
        demo.shutdown().await;
    })
    .await;
}
