//! Published advisories (rmcp, Go SDK) replayed as regressions.

use super::*;

// ============================================== advisories as regressions

/// rmcp CVE-2026-63128: a POST that is not `initialize` and carries no
/// session id must take no session slot (the advisory's server reserved
/// one before it looked at the method). Any number of them leave the table
/// empty, and the full cap is still there for real `initialize`s.
#[tokio::test]
async fn advisory_rmcp_non_initialize_posts_without_a_session_take_no_slot() {
    timeout(Duration::from_secs(60), async {
        let app = serve(Config {
            max_sessions: 2,
            ..Config::default()
        })
        .await;
        let bodies = [
            PING,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":4,"result":{}}"#,
            r#"[{"jsonrpc":"2.0","id":5,"method":"ping"},{"jsonrpc":"2.0","id":6,"method":"ping"}]"#,
            // Not initialize for any check: the key is case-sensitive.
            r#"{"jsonrpc":"2.0","id":7,"Method":"initialize","method":"ping"}"#,
        ];
        let mut conn = Conn::open(app.addr).await;
        for round in 0..50 {
            for body in bodies {
                let res = conn.send(&legacy_post(body, &[])).await;
                assert_eq!(res.status, 400, "round {round}: {body}");
                assert_eq!(res.error_code(), -32000, "{body}: missing session id");
            }
        }
        let stats = app.store.stats();
        assert_eq!(
            (stats.active, stats.reserved, stats.created),
            (0, 0, 0),
            "{stats:?}"
        );
        assert_eq!(stats.rejected.missing_id, 50 * bodies.len() as u64);
        // The whole cap is free: two sessions, then 429.
        initialize(app.addr, None).await;
        initialize(app.addr, None).await;
        let third = exchange(app.addr, &legacy_post(INIT, &[])).await;
        assert_eq!(third.status, 429);
    })
    .await
    .expect("bounded");
}

/// The headers layer alone, in front of a handler that answers with the
/// exact body it received.
async fn serve_echoing_bodies() -> SocketAddr {
    async fn echo_body(req: Request) -> Response {
        let bytes = req.into_body().collect().await.unwrap().to_bytes();
        let seen = String::from_utf8_lossy(&bytes).into_owned();
        axum::Json(serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": {"seen": seen}}))
            .into_response()
    }
    let layers = ServiceBuilder::new()
        .layer(HostCheckLayer::localhost())
        .layer(OriginGuardLayer::localhost())
        .layer(McpHeadersLayer::new());
    let app = Router::new().route("/mcp", any(echo_body)).layer(layers);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A 2026-07-28 POST of `body` with `Mcp-Method` and `Mcp-Name`.
fn modern_post(body: &str, method: &[u8], name: Option<&[u8]>) -> Vec<u8> {
    let mut headers: Vec<(&str, &[u8])> = vec![
        ("host", b"localhost"),
        ("accept", ACCEPT_BOTH),
        ("content-type", b"application/json"),
        ("mcp-protocol-version", b"2026-07-28"),
        ("mcp-method", method),
    ];
    if let Some(name) = name {
        headers.push(("mcp-name", name));
    }
    request("POST", "/mcp", &headers, body.as_bytes())
}

/// Go SDK CVE-2026-27896: its JSON decoder matched keys case-insensitively
/// (and with Unicode folding), so `"Method"` or `"paramſ"` (long s) could
/// stand in for `method`/`params` in one parser and not in another. Here
/// keys match exactly: a look-alike key is no `method`, `params` or `_meta`
/// for any check, and the inner service gets the very bytes the guard
/// judged, so it cannot read a different message.
#[tokio::test]
async fn advisory_go_sdk_json_keys_match_case_sensitively() {
    timeout(Duration::from_secs(60), async {
        let addr = serve_echoing_bodies().await;
        const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
        // `paramſ` names another tool: the guard judged `params.name` (echo).
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{{}},{META}}},"paramſ":{{"name":"deploy"}},"Params":{{"name":"deploy"}}}}"#
        );
        let res = exchange(addr, &modern_post(&body, b"tools/call", Some(b"deploy"))).await;
        assert_eq!((res.status, res.error_code()), (400, -32020));
        let res = exchange(addr, &modern_post(&body, b"tools/call", Some(b"echo"))).await;
        assert_eq!(res.status, 200, "{:?}", String::from_utf8_lossy(&res.body));
        assert_eq!(res.json()["result"]["seen"], body.as_str(), "the same bytes");

        // `Method` is not `method`: the header is compared with the real one.
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"Method":"tools/call","method":"tools/list","params":{{{META}}}}}"#
        );
        let res = exchange(addr, &modern_post(&body, b"tools/call", None)).await;
        assert_eq!((res.status, res.error_code()), (400, -32020));
        let res = exchange(addr, &modern_post(&body, b"tools/list", None)).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.json()["result"]["seen"], body.as_str());

        // Only look-alikes: no method at all (-32600), no `_meta` (-32602).
        let body = format!(r#"{{"jsonrpc":"2.0","id":1,"METHOD":"tools/list","params":{{{META}}}}}"#);
        let res = exchange(addr, &modern_post(&body, b"tools/list", None)).await;
        assert_eq!((res.status, res.error_code()), (400, -32600));
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{{{}}}}}"#,
            META.replace("_meta", "_META")
        );
        let res = exchange(addr, &modern_post(&body, b"tools/list", None)).await;
        assert_eq!((res.status, res.error_code()), (400, -32602));
    })
    .await
    .expect("bounded");
}
