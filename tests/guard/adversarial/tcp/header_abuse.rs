//! Oversized, duplicated and non-UTF-8 headers, and HTTP/2 `:authority`
//! without Host: clear 4xx, no panic.

use super::*;

/// Header lines of a raw request: name, value bytes (any bytes hyper reads).
type Headers<'a> = Vec<(&'a str, &'a [u8])>;

// ===================================================== header abuse

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_get_clear_4xx() {
    timeout(Duration::from_secs(60), async {
        let app = serve(Config::default()).await;
        let addr = app.addr;
        let id = initialize(addr, None).await;

        // A 100 KB Host: read by hyper, refused by the host layer (400).
        let long_host = vec![b'a'; 100 * 1024];
        let res = exchange(
            addr,
            &request(
                "POST",
                "/mcp",
                &[
                    ("host", &long_host),
                    ("accept", ACCEPT_BOTH),
                    ("content-type", b"application/json"),
                ],
                INIT.as_bytes(),
            ),
        )
        .await;
        assert_eq!(res.status, 400);
        assert_eq!(res.error_code(), -32000);
        // A long but valid-looking name: 300 bytes of labels.
        let name = vec!["a".repeat(60); 5].join(".");
        let res = exchange(
            addr,
            &request(
                "POST",
                "/mcp",
                &[("host", name.as_bytes())],
                INIT.as_bytes(),
            ),
        )
        .await;
        assert_eq!(res.status, 400);

        // A 10 KB session id: 400, the store is never asked.
        let long_id = vec![b'x'; 10 * 1024];
        let res = exchange(addr, &ping_with(&long_id, None)).await;
        assert_eq!(res.status, 400);
        assert_eq!(res.error_code(), -32000);

        // A 1 MiB header block and 200 header lines: hyper's own limits (431),
        // before any layer runs; the server keeps serving. (Hyper stops
        // reading at its limit, so the 1 MiB write may end in a reset that
        // eats the answer: any answer that does arrive must be a 4xx.)
        let huge = vec![b'h'; 1024 * 1024];
        let mut s = TcpStream::connect(addr).await.unwrap();
        let _ = s
            .write_all(&request(
                "POST",
                "/mcp",
                &[("host", b"localhost"), ("x-junk", &huge)],
                b"",
            ))
            .await;
        let mut buf = Vec::new();
        if let Some(res) = read_response(&mut s, &mut buf).await {
            assert!(
                (400..500).contains(&res.status),
                "huge header block: {}",
                res.status
            );
        }
        let many: Vec<(String, Vec<u8>)> = (0..200)
            .map(|i| (format!("x-h{i}"), b"v".to_vec()))
            .collect();
        let mut headers: Vec<(&str, &[u8])> = vec![("host", b"localhost")];
        headers.extend(many.iter().map(|(n, v)| (n.as_str(), v.as_slice())));
        // 200 header lines: a small request, so the answer is never lost to
        // a reset: hyper's 431.
        let res = exchange(addr, &request("GET", "/mcp", &headers, b"")).await;
        assert_eq!(res.status, 431, "200 headers");

        // A body over the limit announced up front: 413 before it is read.
        let res = exchange(
            addr,
            &request(
                "POST",
                "/mcp",
                &[
                    ("host", b"localhost"),
                    ("accept", ACCEPT_BOTH),
                    ("content-type", b"application/json"),
                    ("content-length", b"999999999"),
                ],
                b"",
            ),
        )
        .await;
        assert_eq!(res.status, 413);

        assert_eq!(
            exchange(addr, &ping_with(id.as_bytes(), None)).await.status,
            200
        );
        let stats = app.store.stats();
        assert_eq!((stats.active, stats.reserved), (1, 0), "{stats:?}");
    })
    .await
    .expect("oversized header test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_security_headers_are_refused() {
    timeout(Duration::from_secs(60), async {
        let app = serve(Config::default()).await;
        let addr = app.addr;
        let id = initialize(addr, None).await;
        let id = id.as_bytes();
        let base: [(&str, &[u8]); 3] = [
            ("accept", ACCEPT_BOTH),
            ("content-type", b"application/json"),
            ("mcp-protocol-version", b"2025-06-18"),
        ];
        let cases: Vec<(&str, Headers<'_>, u16)> = vec![
            (
                "two Host, both allowed",
                vec![
                    ("host", b"localhost"),
                    ("host", b"localhost"),
                    ("mcp-session-id", id),
                ],
                400,
            ),
            (
                "two Host, one foreign",
                vec![
                    ("host", b"localhost"),
                    ("host", b"evil.example"),
                    ("mcp-session-id", id),
                ],
                400,
            ),
            (
                "two Origin, both allowed",
                vec![
                    ("host", b"localhost"),
                    ("origin", b"http://localhost"),
                    ("origin", b"http://localhost"),
                    ("mcp-session-id", id),
                ],
                403,
            ),
            (
                "two Origin, one foreign",
                vec![
                    ("host", b"localhost"),
                    ("origin", b"http://localhost"),
                    ("origin", b"http://evil.example"),
                    ("mcp-session-id", id),
                ],
                403,
            ),
            (
                "two MCP-Protocol-Version",
                vec![
                    ("host", b"localhost"),
                    ("mcp-protocol-version", b"2025-06-18"),
                    ("mcp-session-id", id),
                ],
                400,
            ),
            (
                "two Mcp-Session-Id, equal",
                vec![
                    ("host", b"localhost"),
                    ("mcp-session-id", id),
                    ("mcp-session-id", id),
                ],
                400,
            ),
            (
                "two Mcp-Session-Id, one foreign",
                vec![
                    ("host", b"localhost"),
                    ("mcp-session-id", id),
                    ("mcp-session-id", b"other"),
                ],
                400,
            ),
        ];
        for (what, extra, want) in cases {
            let mut headers: Vec<(&str, &[u8])> = base.to_vec();
            headers.extend(extra);
            let res = exchange(addr, &request("POST", "/mcp", &headers, PING.as_bytes())).await;
            assert_eq!(
                res.status,
                want,
                "{what}: {:?}",
                String::from_utf8_lossy(&res.body)
            );
            assert_eq!(res.error_code(), -32000, "{what}");
        }
        // Absolute-form target naming a foreign host, with an allowed Host header.
        let res = exchange(
            addr,
            &request(
                "POST",
                "http://evil.example/mcp",
                &[
                    ("host", b"localhost"),
                    ("accept", ACCEPT_BOTH),
                    ("content-type", b"application/json"),
                ],
                INIT.as_bytes(),
            ),
        )
        .await;
        assert_eq!(res.status, 403);
        // No Host at all (HTTP/1.1 requires one; hyper lets it through, the layer does not).
        let res = exchange(
            addr,
            &request(
                "POST",
                "/mcp",
                &[
                    ("accept", ACCEPT_BOTH),
                    ("content-type", b"application/json"),
                ],
                INIT.as_bytes(),
            ),
        )
        .await;
        assert_eq!(res.status, 400);
        // The session is untouched and nothing was created.
        assert_eq!(exchange(addr, &ping_with(id, None)).await.status, 200);
        let stats = app.store.stats();
        assert_eq!(
            (stats.created, stats.active, stats.reserved),
            (1, 1, 0),
            "{stats:?}"
        );
    })
    .await
    .expect("duplicated header test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_utf8_header_bytes_get_clear_4xx() {
    timeout(Duration::from_secs(60), async {
        let app = serve(Config::default()).await;
        let addr = app.addr;
        let id = initialize(addr, None).await;
        let id = id.as_bytes();
        let modern_call = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
        // (what, headers, body, status, JSON-RPC code)
        let cases: Vec<(&str, Headers<'_>, &str, u16, i64)> = vec![
            ("Host", vec![("host", b"l\xf6calhost"), ("accept", ACCEPT_BOTH), ("content-type", b"application/json")], INIT, 400, -32000),
            ("Host UTF-8", vec![("host", "lоcalhost".as_bytes()), ("accept", ACCEPT_BOTH), ("content-type", b"application/json")], INIT, 400, -32000),
            ("Origin", vec![("host", b"localhost"), ("origin", b"http://\xfflocalhost"), ("accept", ACCEPT_BOTH), ("content-type", b"application/json")], INIT, 403, -32000),
            ("Accept", vec![("host", b"localhost"), ("accept", b"application/json, text/\xe9vent-stream"), ("content-type", b"application/json")], INIT, 406, -32000),
            ("Content-Type", vec![("host", b"localhost"), ("accept", ACCEPT_BOTH), ("content-type", b"application/json\xff")], INIT, 415, -32000),
            ("MCP-Protocol-Version", vec![("host", b"localhost"), ("accept", ACCEPT_BOTH), ("content-type", b"application/json"), ("mcp-protocol-version", b"2025-06-1\xb8"), ("mcp-session-id", id)], PING, 400, -32000),
            ("Mcp-Session-Id", vec![("host", b"localhost"), ("accept", ACCEPT_BOTH), ("content-type", b"application/json"), ("mcp-session-id", b"\xff\xfe\xfd")], PING, 400, -32000),
            ("Mcp-Name", vec![("host", b"localhost"), ("accept", ACCEPT_BOTH), ("content-type", b"application/json"), ("mcp-protocol-version", b"2026-07-28"), ("mcp-method", b"tools/call"), ("mcp-name", b"ech\xf6")], modern_call, 400, -32020),
            ("Mcp-Method", vec![("host", b"localhost"), ("accept", ACCEPT_BOTH), ("content-type", b"application/json"), ("mcp-protocol-version", b"2026-07-28"), ("mcp-method", b"tools/c\xe4ll"), ("mcp-name", b"echo")], modern_call, 400, -32020),
        ];
        for (what, headers, body, status, code) in cases {
            let res = exchange(addr, &request("POST", "/mcp", &headers, body.as_bytes())).await;
            assert_eq!(res.status, status, "{what}: {:?}", String::from_utf8_lossy(&res.body));
            assert_eq!(res.error_code(), code, "{what}");
            assert!(res.header("mcp-session-id").is_none(), "{what}");
        }
        // The well-formed modern call passes, and the legacy session still works.
        let ok: Vec<(&str, &[u8])> = vec![("host", b"localhost"), ("accept", ACCEPT_BOTH), ("content-type", b"application/json"), ("mcp-protocol-version", b"2026-07-28"), ("mcp-method", b"tools/call"), ("mcp-name", b"echo")];
        assert_eq!(exchange(addr, &request("POST", "/mcp", &ok, modern_call.as_bytes())).await.status, 200);
        assert_eq!(exchange(addr, &ping_with(id, None)).await.status, 200);
        let stats = app.store.stats();
        assert_eq!((stats.created, stats.reserved), (1, 0), "{stats:?}");
    })
    .await
    .expect("non-UTF-8 header test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_authority_without_host() {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    timeout(Duration::from_secs(60), async {
        let app = serve(Config::default()).await;
        let port = app.addr.port();
        let io = TokioIo::new(TcpStream::connect(app.addr).await.unwrap());
        let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .unwrap();
        tokio::spawn(conn);
        let send = |uri: String, host: Option<&'static str>, body: &'static str| {
            let mut b = http::Request::post(uri)
                .header("accept", "application/json, text/event-stream")
                .header("content-type", "application/json");
            if let Some(h) = host {
                b = b.header("host", h);
            }
            b.body(http_body_util::Full::new(Bytes::from_static(
                body.as_bytes(),
            )))
            .unwrap()
        };
        async fn answer(
            res: http::Response<hyper::body::Incoming>,
        ) -> (StatusCode, Option<HeaderValue>, Bytes) {
            let status = res.status();
            let id = res.headers().get("mcp-session-id").cloned();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            (status, id, body)
        }
        let code =
            |body: &Bytes| serde_json::from_slice::<Value>(body).unwrap()["error"]["code"].as_i64();

        // :authority localhost, no Host header: checked and allowed.
        let (status, id, _) = answer(
            sender
                .send_request(send(format!("http://localhost:{port}/mcp"), None, INIT))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let id = id.expect("session id over HTTP/2");
        // :authority of a rebinding attacker, no Host header: 403.
        let (status, _, body) = answer(
            sender
                .send_request(send("http://evil.example/mcp".into(), None, INIT))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(code(&body), Some(-32000));
        // :authority allowed, a foreign Host header next to it: 403.
        let (status, _, _) = answer(
            sender
                .send_request(send(
                    format!("http://localhost:{port}/mcp"),
                    Some("evil.example"),
                    INIT,
                ))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // :authority [::1] and 127.0.0.1: allowed; IPv4-mapped loopback: 403.
        for (authority, want) in [
            ("[::1]", StatusCode::OK),
            ("127.0.0.1", StatusCode::OK),
            ("[::ffff:127.0.0.1]", StatusCode::FORBIDDEN),
        ] {
            let (status, _, _) = answer(
                sender
                    .send_request(send(format!("http://{authority}:{port}/mcp"), None, INIT))
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(status, want, "{authority}");
        }
        // The session works over HTTP/2 too.
        let ping = http::Request::post(format!("http://localhost:{port}/mcp"))
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-session-id", id.clone())
            .body(http_body_util::Full::new(Bytes::from_static(
                PING.as_bytes(),
            )))
            .unwrap();
        let (status, echoed, _) = answer(sender.send_request(ping).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(echoed.as_ref(), Some(&id));
        let stats = app.store.stats();
        assert_eq!((stats.created, stats.reserved), (3, 0), "{stats:?}");
    })
    .await
    .expect("HTTP/2 test timed out");
}
