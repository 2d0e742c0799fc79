//! Raw HTTP on legacy sessions: the GET stream, shutdown, JSON-RPC errors
//! and notifications, HTTP/1.1 and HTTP/2 on one port.

use super::*;

fn http2() -> Http {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
}

// ---------------------------------------------------------------------------
// Tests: raw HTTP, legacy era, GET stream and security
// ---------------------------------------------------------------------------

#[tokio::test]
async fn get_stream_sends_connected_notifications_heartbeats_and_ends_with_the_session() {
    bounded(async {
        let config = DemoConfig {
            heartbeat: Duration::from_millis(200),
            ..DemoConfig::for_tests()
        };
        let demo = Demo::start(config).await;
        let http = http1();
        let sid = raw_session(&http, &demo.url).await;
        let tag = SessionId::parse(sid.as_bytes()).unwrap().tag().to_string();

        let (status, headers, mut sse) = open_stream(&http, &demo.url, &sid).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        assert_eq!(headers["x-accel-buffering"], "no");

        let first = sse.next().await.expect("connected event");
        assert_eq!(first.name.as_deref(), Some("connected"));
        let connected: Value = serde_json::from_str(&first.data).unwrap();
        assert_eq!(connected["session"], tag.as_str());
        assert_eq!(connected["protocolVersion"], LEGACY);

        // A second GET while this one is open: 409.
        let (status, _, _) = open_stream(&http1(), &demo.url, &sid).await;
        assert_eq!(status, StatusCode::CONFLICT);

        let reply = send(
            &http,
            post(
                &demo.url,
                legacy_call(2, "echo", json!({"text": "ping me"})),
                &[("mcp-session-id", &sid), ("mcp-protocol-version", LEGACY)],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json()["result"]["content"][0]["text"], "ping me");

        let mut saw_message = false;
        let mut saw_heartbeat = false;
        while !(saw_message && saw_heartbeat) {
            let event = sse.next().await.expect("more events");
            match event.name.as_deref() {
                None => {
                    let msg: Value = serde_json::from_str(&event.data).unwrap();
                    assert_eq!(msg["method"], "notifications/message");
                    assert_eq!(msg["params"]["data"]["echoed"], "ping me");
                    assert!(msg.get("id").is_none(), "no responses on the GET stream");
                    saw_message = true;
                }
                Some("heartbeat") => {
                    let hb: Value = serde_json::from_str(&event.data).unwrap();
                    assert!(hb["timestamp"].is_string());
                    saw_heartbeat = true;
                }
                other => panic!("unexpected event {other:?}"),
            }
        }

        // DELETE ends the session; the stream ends with it.
        let req = Request::delete(&demo.url)
            .header("mcp-session-id", &sid)
            .header("mcp-protocol-version", LEGACY)
            .body(Full::default())
            .unwrap();
        let reply = send(&http, req).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        while let Some(event) = sse.next().await {
            assert_eq!(event.name.as_deref(), Some("heartbeat"), "{event:?}");
        }
        assert_eq!(demo.store.stats().deleted, 1);

        // The id is dead now: 404, which tells a client to initialize again.
        let reply = send(
            &http,
            post(
                &demo.url,
                json!({"jsonrpc":"2.0","id":3,"method":"ping"}),
                &[("mcp-session-id", &sid), ("mcp-protocol-version", LEGACY)],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn shutdown_closes_sessions_and_streams() {
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let http = http1();
        let sid = raw_session(&http, &demo.url).await;
        let (status, _, mut sse) = open_stream(&http, &demo.url, &sid).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(sse.next().await.unwrap().name.as_deref(), Some("connected"));
        let store = demo.store.clone();
        demo.shutdown().await;
        assert!(sse.next().await.is_none(), "the stream ended");
        let stats = store.stats();
        assert_eq!((stats.shutdown, stats.active), (1, 0), "{stats:?}");
    })
    .await;
}

#[tokio::test]
async fn legacy_jsonrpc_errors_and_notifications() {
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let http = http1();
        let sid = raw_session(&http, &demo.url).await;
        let h = [("mcp-session-id", sid.as_str()), ("mcp-protocol-version", LEGACY)];

        let reply = send(&http, post(&demo.url, json!({"jsonrpc":"2.0","id":5,"method":"nope"}), &h)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json()["error"]["code"], -32601);
        assert_eq!(reply.json()["id"], 5);

        let bad = json!({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"arguments":{}}});
        let reply = send(&http, post(&demo.url, bad, &h)).await;
        assert_eq!(reply.json()["error"]["code"], -32602);

        let reply = send(&http, post(&demo.url, json!({"jsonrpc":"2.0","id":7,"method":"ping"}), &h)).await;
        assert_eq!(reply.json()["result"], json!({}));

        // A response from the client (to a request we never sent): 202, no body.
        let reply = send(&http, post(&demo.url, json!({"jsonrpc":"2.0","id":"s1","result":{}}), &h)).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        assert!(reply.body.is_empty());

        // Without a session id: 400 (only initialize may come without one).
        let reply = send(
            &http,
            post(&demo.url, json!({"jsonrpc":"2.0","id":8,"method":"ping"}), &[]),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);

        // initialize negotiates: an unknown (future) legacy version gets our latest.
        let reply = send(&http, post(&demo.url, initialize_body("2025-09-09"), &[])).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json()["result"]["protocolVersion"], LEGACY);
        let reply = send(&http, post(&demo.url, initialize_body("2025-03-26"), &[])).await;
        assert_eq!(reply.json()["result"]["protocolVersion"], "2025-03-26");

        // A 2025-03-26 batch: one reply per request, none for the notification.
        let sid_0326 = reply.session_id().unwrap();
        let batch = json!([
            {"jsonrpc":"2.0","id":"a","method":"ping"},
            {"jsonrpc":"2.0","method":"notifications/initialized"},
            {"jsonrpc":"2.0","id":"b","method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}
        ]);
        let reply = send(
            &http,
            post(
                &demo.url,
                batch,
                &[("mcp-session-id", &sid_0326), ("mcp-protocol-version", "2025-03-26")],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        let replies = reply.json();
        assert_eq!(replies.as_array().map(Vec::len), Some(2));
        assert_eq!(replies[1]["result"]["structuredContent"]["sum"], 3);
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn http2_prior_knowledge_and_http1_on_one_port() {
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let h2 = http2();
        let reply = send(&h2, post(&demo.url, initialize_body(LEGACY), &[])).await;
        assert_eq!(reply.status, StatusCode::OK);
        let sid = reply.session_id().expect("session over h2");
        let reply = send(
            &h2,
            post(
                &demo.url,
                legacy_call(2, "echo", json!({"text": "h2"})),
                &[("mcp-session-id", &sid), ("mcp-protocol-version", LEGACY)],
            ),
        )
        .await;
        assert_eq!(reply.json()["result"]["content"][0]["text"], "h2");

        // The same session over HTTP/1.1.
        let reply = send(
            &http1(),
            post(
                &demo.url,
                legacy_call(3, "echo", json!({"text": "h1"})),
                &[("mcp-session-id", &sid), ("mcp-protocol-version", LEGACY)],
            ),
        )
        .await;
        assert_eq!(reply.json()["result"]["content"][0]["text"], "h1");
        assert_eq!(demo.addr.ip().to_string(), "127.0.0.1");
        demo.shutdown().await;
    })
    .await;
}
