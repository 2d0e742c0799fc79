//! The demo's edge: forged Host and foreign Origin refused on every route,
//! malformed initializes and the session limit.

use super::*;

/// DNS rebinding reaches no route of the demo: the Host check covers every
/// path (an unknown one gets 403, not 404), while the MCP rules stay on
/// `/mcp` (an unknown path with a good Host is a plain 404).
#[tokio::test]
async fn a_forged_host_gets_403_on_every_route_not_only_mcp() {
    bounded(async {
        let demo = Demo::start(DemoConfig::for_tests()).await;
        let client = http1();
        let base = demo.url.trim_end_matches("/mcp").to_owned();
        for (method, path) in [
            (Method::GET, "/not-mcp"),
            (Method::GET, "/"),
            (Method::POST, "/not-mcp"),
            (Method::GET, "/.well-known/oauth-protected-resource/mcp"),
            (Method::POST, "/mcp"),
        ] {
            let forged = Request::builder()
                .method(method.clone())
                .uri(format!("{base}{path}"))
                .header("host", "evil.example")
                .body(Full::new(Bytes::new()))
                .unwrap();
            let reply = send(&client, forged).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {path}");
            let message = reply.json()["error"]["message"].clone();
            assert!(
                message
                    .as_str()
                    .is_some_and(|m| m.starts_with("host not allowed")),
                "{method} {path}: {message}"
            );
            let good = Request::builder()
                .method(method.clone())
                .uri(format!("{base}{path}"))
                .body(Full::new(Bytes::new()))
                .unwrap();
            let reply = send(&client, good).await;
            if path != "/mcp" {
                assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
            }
        }
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn forged_host_and_foreign_origin_are_refused() {
    bounded(async {
        let config = DemoConfig {
            allowed_origins: vec!["https://app.example.com".into()],
            ..DemoConfig::for_tests()
        };
        let demo = Demo::start(config).await;
        let http = http1();

        let mut req = post(&demo.url, initialize_body(LEGACY), &[]);
        req.headers_mut()
            .insert("host", "evil.example:8000".parse().unwrap());
        let reply = send(&http, req).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(reply.json()["error"]["code"], -32000);
        assert!(reply.session_id().is_none());

        let reply = send(
            &http,
            post(
                &demo.url,
                initialize_body(LEGACY),
                &[("origin", "https://evil.example")],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);

        for origin in ["https://app.example.com", "http://localhost:5173"] {
            let reply = send(
                &http,
                post(&demo.url, initialize_body(LEGACY), &[("origin", origin)]),
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{origin}");
        }
        // Only the two accepted initializes created sessions.
        assert_eq!(demo.store.stats().created, 2);
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn malformed_initializes_do_not_fill_the_session_table() {
    // Issue 12, as reported: with `--max-sessions 3`, three initializes without
    // `params.protocolVersion` (answered -32602 in a 200) used to take every
    // slot for the idle timeout. Now none of them opens a session.
    bounded(async {
        let config = DemoConfig {
            max_sessions: 3,
            ..DemoConfig::for_tests()
        };
        let demo = Demo::start(config).await;
        let http = http1();
        let malformed =
            json!({"jsonrpc":"2.0","id":9,"method":"initialize","params":{"capabilities":{}}});
        for _ in 0..10 {
            let reply = send(&http, post(&demo.url, malformed.clone(), &[])).await;
            assert_eq!(reply.status, StatusCode::OK);
            assert_eq!(reply.json()["error"]["code"], -32602);
            assert_eq!(reply.json()["id"], 9);
            assert_eq!(
                reply.session_id(),
                None,
                "no session for a failed initialize"
            );
        }
        let stats = demo.store.stats();
        assert_eq!(
            (stats.active, stats.reserved, stats.initialize_failed),
            (0, 0, 10)
        );
        // Every slot is free for real clients.
        for _ in 0..3 {
            raw_session(&http, &demo.url).await;
        }
        let reply = send(&http, post(&demo.url, initialize_body(LEGACY), &[])).await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
        demo.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn session_limit_answers_429() {
    bounded(async {
        let config = DemoConfig {
            max_sessions: 1,
            ..DemoConfig::for_tests()
        };
        let demo = Demo::start(config).await;
        let http = http1();
        let _sid = raw_session(&http, &demo.url).await;
        let reply = send(&http, post(&demo.url, initialize_body(LEGACY), &[])).await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(reply.headers.contains_key("retry-after"));
        demo.shutdown().await;
    })
    .await;
}
