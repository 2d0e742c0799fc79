//! rmcp's client on legacy sessions: initialize, tools, notifications,
//! DELETE, idle expiry, GET streams keeping sessions alive, racing deletes.

use super::*;

/// Polls `check` until it holds (or panics with `what` after 5 s).
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn rmcp_client(
    url: &str,
) -> (
    RunningService<RoleClient, Recorder>,
    mpsc::UnboundedReceiver<LoggingMessageNotificationParam>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let transport = StreamableHttpClientTransport::from_uri(url.to_owned());
    let client = Recorder { logs: tx }
        .serve(transport)
        .await
        .expect("rmcp client initializes");
    (client, rx)
}

// ---------------------------------------------------------------------------
// Tests: rmcp client, legacy era (sessions)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn rmcp_client_initializes_lists_calls_gets_notified_and_deletes() {
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let (client, mut logs) = rmcp_client(&demo.url).await;

        let info = client.peer_info().expect("server info after initialize");
        let info = serde_json::to_value(&*info).expect("serializable");
        assert_eq!(info["serverInfo"]["name"], app::SERVER_NAME);
        assert_eq!(
            info["protocolVersion"], LEGACY,
            "rmcp's client asks for {LEGACY}"
        );
        assert_eq!(demo.store.stats().active, 1);
        assert_eq!(demo.store.stats().created, 1);

        let tools = client.list_all_tools().await.expect("tools/list");
        let names: BTreeSet<String> = tools.iter().map(|t| t.name.to_string()).collect();
        assert_eq!(
            names,
            ["add", "echo", "route_query", "session_info"]
                .map(String::from)
                .into()
        );

        // echo: the result, and a log notification on the session's GET stream.
        let result = client
            .call_tool(call("echo", json!({"text": "hello over GET"})))
            .await
            .expect("echo");
        assert_eq!(text_of(&result), "hello over GET");
        assert_eq!(result.is_error, Some(false));
        let log = tokio::time::timeout(Duration::from_secs(10), logs.recv())
            .await
            .expect("notification arrives on the GET stream")
            .expect("recorder alive");
        assert_eq!(log.data, json!({"echoed": "hello over GET"}));
        assert_eq!(log.logger.as_deref(), Some("echo"));

        let result = client
            .call_tool(call("add", json!({"a": 2, "b": 40})))
            .await
            .expect("add");
        assert_eq!(text_of(&result), "42");
        assert_eq!(result.structured_content, Some(json!({"sum": 42})));

        let result = client
            .call_tool(call("session_info", json!({})))
            .await
            .expect("session_info");
        let info = result.structured_content.expect("structured session info");
        assert_eq!(info["protocolVersion"], LEGACY);
        assert_eq!(info["tag"].as_str().map(str::len), Some(8));
        assert!(info["createdAt"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert!(info["client"]["peerAddr"]
            .as_str()
            .is_some_and(|p| p.starts_with("127.0.0.1:")));

        // A tool failure is a result with isError, not a protocol error.
        let result = client
            .call_tool(call("add", json!({"a": "two", "b": 1})))
            .await
            .expect("add with bad arguments still answers");
        assert_eq!(result.is_error, Some(true));
        // An unknown tool is a protocol error: -32602.
        let err = client
            .call_tool(call("nope", json!({})))
            .await
            .expect_err("unknown tool");
        assert!(format!("{err:?}").contains("-32602"), "{err:?}");

        // Dropping the client (cancel) sends DELETE: the layer ends the session.
        client.cancel().await.expect("client stops");
        eventually("the DELETE reached the store", || {
            let stats = demo.store.stats();
            stats.deleted == 1 && stats.active == 0
        })
        .await;
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn idle_session_expires_and_rmcp_client_reinitializes() {
    bounded(async {
        // Only requests count as activity here (`--streams-keep-alive false`).
        let config = DemoConfig {
            idle_timeout: Duration::from_millis(300),
            streams_keep_alive: false,
            ..DemoConfig::for_tests()
        };
        let demo = Demo::start(config).await;
        let (client, _logs) = rmcp_client(&demo.url).await;
        let first = client
            .call_tool(call("session_info", json!({})))
            .await
            .expect("session_info")
            .structured_content
            .expect("info");

        // The GET stream stays open, but only requests count as activity: the
        // session idles out and its close ends the stream.
        tokio::time::sleep(Duration::from_millis(900)).await;
        eventually("the idle session was closed", || {
            let stats = demo.store.stats();
            stats.idle_expired >= 1 && stats.active == 0
        })
        .await;
        let created_before = demo.store.stats().created;

        // The next call gets 404 for the old id; rmcp's client re-initializes and retries.
        let second = client
            .call_tool(call("session_info", json!({})))
            .await
            .expect("call after expiry succeeds on a new session")
            .structured_content
            .expect("info");
        assert_ne!(first["tag"], second["tag"], "a new session");
        let stats = demo.store.stats();
        assert_eq!(stats.created, created_before + 1, "one re-initialization");
        assert!(
            stats.rejected.not_found >= 1,
            "the old id got 404: {stats:?}"
        );

        client.cancel().await.expect("client stops");
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn an_open_get_stream_keeps_its_session_alive() {
    // Issue 12: "streams keep their session alive while they are open"
    // (`streams_keep_alive`, the default): idle time counts from the stream's close.
    bounded(async {
        let config = DemoConfig {
            idle_timeout: Duration::from_millis(300),
            heartbeat: Duration::from_millis(100),
            ..DemoConfig::for_tests()
        };
        let live = config.live.clone();
        let demo = Demo::start(config).await;
        let (client, _logs) = rmcp_client(&demo.url).await;
        let first = client
            .call_tool(call("session_info", json!({})))
            .await
            .expect("session_info")
            .structured_content
            .expect("info");
        eventually("the rmcp client opened its GET stream", || {
            live.streams() == 1
        })
        .await;

        // Three idle timeouts with only heartbeats on the stream: still alive.
        tokio::time::sleep(Duration::from_millis(900)).await;
        let stats = demo.store.stats();
        assert_eq!((stats.idle_expired, stats.active), (0, 1), "{stats:?}");
        let second = client
            .call_tool(call("session_info", json!({})))
            .await
            .expect("session_info")
            .structured_content
            .expect("info");
        assert_eq!(first["tag"], second["tag"], "the same session");

        // Once the client goes away (its stream closes), the idle timer runs.
        client.cancel().await.expect("client stops");
        eventually("no stream left", || live.streams() == 0).await;
        eventually("the session idled out after its stream closed", || {
            let stats = demo.store.stats();
            stats.active == 0 && (stats.idle_expired + stats.deleted) >= 1
        })
        .await;
        assert_eq!(live.outboxes(), 0, "its outbox went with it");
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_deletes_racing_tool_calls_and_streams_leave_nothing_behind() {
    // Issue 12: "no per-session state after close, anywhere in the demo". Each
    // session has an open GET stream and a slow `echo` in flight (it reports to
    // the stream when it finishes) when its DELETE lands, at a varying offset.
    bounded(async {
        let config = DemoConfig::for_tests();
        let live = config.live.clone();
        let demo = Demo::start(config).await;
        let tasks_before = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        let client = http1();
        let url = demo.url.clone();
        let one = |n: u64| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let sid = raw_session(&client, &url).await;
                let (status, _, mut stream) = open_stream(&client, &url, &sid).await;
                assert_eq!(status, StatusCode::OK);
                let connected = stream.next().await.expect("connected event");
                assert_eq!(connected.name.as_deref(), Some("connected"));
                // Offsets from a fixed sequence: the DELETE lands before, during
                // or after the tool's work.
                let delay = n * 7 % 23;
                let pause = n * 13 % 29;
                let call = {
                    let (client, url, sid) = (client.clone(), url.clone(), sid.clone());
                    tokio::spawn(async move {
                        let body = legacy_call(2, "echo", json!({"text": "hi", "delayMs": delay}));
                        let headers = [
                            ("mcp-session-id", sid.as_str()),
                            ("mcp-protocol-version", LEGACY),
                        ];
                        send(&client, post(&url, body, &headers)).await.status
                    })
                };
                tokio::time::sleep(Duration::from_millis(pause)).await;
                let delete = Request::delete(&url)
                    .header("mcp-session-id", &sid)
                    .header("mcp-protocol-version", LEGACY)
                    .body(Full::default())
                    .expect("valid request");
                assert_eq!(send(&client, delete).await.status, StatusCode::NO_CONTENT);
                // Still running after its session closed, when this finds it unfinished.
                let outlived = !call.is_finished();
                let status = call.await.expect("call task");
                assert!(
                    status == StatusCode::OK || status == StatusCode::NOT_FOUND,
                    "echo answered {status}"
                );
                // The close ends the stream (after what was queued).
                let ended = tokio::time::timeout(Duration::from_secs(10), async {
                    while stream.next().await.is_some() {}
                })
                .await;
                assert!(ended.is_ok(), "the GET stream ended with its session");
                outlived && status == StatusCode::OK
            }
        };
        let (mut n, mut outlived) = (0u64, 0);
        while n < 1_000 {
            let batch: Vec<_> = (n..n + 50).map(|i| tokio::spawn(one(i))).collect();
            for task in batch {
                outlived += usize::from(task.await.expect("session task"));
            }
            n += 50;
        }
        // The race the old demo lost: tool calls that report to a deleted session.
        assert!(outlived > 0, "no tool call outlived its session's DELETE");
        let stats = demo.store.stats();
        assert_eq!(
            (stats.created, stats.deleted, stats.active),
            (1_000, 1_000, 0)
        );
        drop(client);
        eventually("no outbox, stream or task left", || {
            live.outboxes() == 0
                && live.streams() == 0
                && tokio::runtime::Handle::current()
                    .metrics()
                    .num_alive_tasks()
                    <= tasks_before
        })
        .await;
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn idle_expiry_gives_404_to_a_raw_client_and_a_fresh_client_succeeds() {
    bounded(async {
        let config = DemoConfig {
            idle_timeout: Duration::from_millis(500),
            ..DemoConfig::for_tests()
        };
        let demo = Demo::start(config).await;
        let http = http1();
        let sid = raw_session(&http, &demo.url).await;
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let reply = send(
            &http,
            post(
                &demo.url,
                legacy_call(2, "add", json!({"a": 1, "b": 1})),
                &[("mcp-session-id", &sid), ("mcp-protocol-version", LEGACY)],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.json()["error"]["code"], -32001);

        let (client, _logs) = rmcp_client(&demo.url).await;
        let result = client
            .call_tool(call("add", json!({"a": 1, "b": 1})))
            .await
            .expect("fresh client");
        assert_eq!(text_of(&result), "2");
        client.cancel().await.expect("client stops");
        demo.shutdown().await;
    })
    .await;
}
