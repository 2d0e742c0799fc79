//! The demo server with `--redis`: two replicas on two ports sharing one real
//! `redis-server`, driven over TCP by a client that alternates between them.
//!
//! Skipped (with a message) only when `redis-server` is not installed; set
//! `MCP_TOWER_GUARD_REQUIRE_REDIS=1` to make that a failure.
#![cfg(feature = "redis")]

use crate::app;
use crate::cli;
use crate::support::redis_server;

use std::time::Duration;

use app::{DemoConfig, DemoStore};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use redis_server::RedisServer;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const TEST_TIMEOUT: Duration = Duration::from_secs(60);
const LEGACY: &str = "2025-11-25";

type Http = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// One demo server (`app::app_for`, as the binary) on a free port.
struct Replica {
    url: String,
    store: DemoStore,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Replica {
    async fn start(config: DemoConfig) -> Self {
        let (router, store) = app::app_for(&config).await.expect("demo starts");
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let on_stop = store.clone();
        let task = tokio::spawn(app::serve(listener, router, async move {
            let _ = stopped.await;
            on_stop.shutdown();
        }));
        Self {
            url: format!("http://{addr}/mcp"),
            store,
            stop: Some(stop),
            task,
        }
    }

    async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.expect("server task").expect("server ends");
    }
}

fn config(redis: &RedisServer) -> DemoConfig {
    DemoConfig {
        redis: Some(redis.url()),
        heartbeat: Duration::from_secs(30),
        ..DemoConfig::for_tests()
    }
}

fn post(url: &str, sid: Option<&str>, body: Value) -> Request<Full<Bytes>> {
    let mut req = Request::post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    if let Some(sid) = sid {
        req = req
            .header("mcp-session-id", sid)
            .header("mcp-protocol-version", LEGACY);
    }
    req.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

async fn call(http: &Http, req: Request<Full<Bytes>>) -> (StatusCode, http::HeaderMap, Value) {
    let res = http.request(req).await.expect("request sent");
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (parts.status, parts.headers, value)
}

async fn bounded(test: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(TEST_TIMEOUT, test)
        .await
        .expect("test finished in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_demo_replicas_share_sessions_and_close_streams_on_each_other() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    bounded(async {
        let a = Replica::start(config(&redis)).await;
        let b = Replica::start(config(&redis)).await;
        assert!(matches!(a.store, DemoStore::Redis(_)));
        let http: Http = Client::builder(TokioExecutor::new()).build_http();

        // initialize on A
        let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion": LEGACY, "capabilities": {},
            "clientInfo": {"name": "alternating", "version": "1"}}});
        let (status, headers, _) = call(&http, post(&a.url, None, init)).await;
        assert_eq!(status, StatusCode::OK);
        let sid = headers["mcp-session-id"].to_str().unwrap().to_owned();

        // notifications/initialized on B, tools on A and B alternately
        let note = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
        let (status, _, _) = call(&http, post(&b.url, Some(&sid), note)).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        for (i, url) in [&a.url, &b.url, &a.url, &b.url].into_iter().enumerate() {
            let add = json!({"jsonrpc":"2.0","id":10 + i,"method":"tools/call",
                "params":{"name":"add","arguments":{"a":i,"b":1}}});
            let (status, headers, body) = call(&http, post(url, Some(&sid), add)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(headers["mcp-session-id"], sid.as_str());
            assert_eq!(body["result"]["structuredContent"]["sum"], json!(i + 1));
        }
        // session_info on B reports what A stored at initialize
        let info = json!({"jsonrpc":"2.0","id":20,"method":"tools/call",
            "params":{"name":"session_info"}});
        let (_, _, body) = call(&http, post(&b.url, Some(&sid), info)).await;
        let info = &body["result"]["structuredContent"];
        assert_eq!(info["protocolVersion"], LEGACY);
        assert!(info["client"]["peerAddr"].is_string(), "{info}");

        // The GET stream on A ends when B ends the session.
        let get = Request::get(&a.url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &sid)
            .header("mcp-protocol-version", LEGACY)
            .body(Full::default())
            .unwrap();
        let res = http.request(get).await.expect("GET sent");
        assert_eq!(res.status(), StatusCode::OK);
        let mut stream = res.into_body();
        let first = stream.frame().await.expect("a frame").expect("ok frame");
        let first = first.into_data().expect("data");
        assert!(String::from_utf8_lossy(&first).contains("event: connected"));

        let delete = Request::delete(&b.url)
            .header("mcp-session-id", &sid)
            .header("mcp-protocol-version", LEGACY)
            .body(Full::default())
            .unwrap();
        let (status, _, _) = call(&http, delete).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let ended = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(frame) = stream.frame().await {
                frame.expect("stream frame");
            }
        })
        .await;
        assert!(ended.is_ok(), "A's GET stream ended after B's DELETE");

        let ping = json!({"jsonrpc":"2.0","id":30,"method":"ping"});
        let (status, _, body) = call(&http, post(&a.url, Some(&sid), ping)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], -32001);

        a.shutdown().await;
        b.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn redis_flags_parse() {
    let cli::Command::Serve(c) =
        cli::parse(["--redis", "redis://127.0.0.1:6379", "--near-cache=250ms"])
            .expect("valid flags")
    else {
        panic!("expected serve")
    };
    assert_eq!(c.redis.as_deref(), Some("redis://127.0.0.1:6379"));
    assert_eq!(c.near_cache, Some(Duration::from_millis(250)));
    assert!(cli::parse(["--near-cache", "1s"]).is_err(), "needs --redis");
    assert!(cli::USAGE.contains("--redis URL"));
    assert!(cli::parse(["--redis"]).is_err(), "needs a value");
}

#[tokio::test]
async fn an_unreachable_redis_is_a_startup_error() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = DemoConfig {
        redis: Some(format!("redis://127.0.0.1:{port}/")),
        ..DemoConfig::for_tests()
    };
    let err = app::app_for(&config)
        .await
        .map(|_| ())
        .expect_err("refused");
    assert!(err.to_string().contains("cannot use Redis"), "{err}");
}

/// Two demo replicas started with `--redis` and the same `--rate-limit`
/// share the quota: alternating requests, one quota in total.
#[cfg(feature = "ratelimit")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_demo_replicas_share_a_rate_limit_through_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    bounded(async {
        let limited = || DemoConfig {
            rate_limits: vec!["add=3/m,by=method,method=tools/call,name=add".to_owned()],
            ..config(&redis)
        };
        let a = Replica::start(limited()).await;
        let b = Replica::start(limited()).await;
        let http: Http = Client::builder(TokioExecutor::new()).build_http();
        let add = |i: usize| {
            json!({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {
                "name": "add", "arguments": {"a": 1, "b": 2},
                "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                          "io.modelcontextprotocol/clientCapabilities": {}}}})
        };
        let modern = |url: &str, body: Value| {
            Request::post(url)
                .header("accept", "application/json, text/event-stream")
                .header("content-type", "application/json")
                .header("mcp-protocol-version", "2026-07-28")
                .header("mcp-method", "tools/call")
                .header("mcp-name", "add")
                .body(Full::new(Bytes::from(body.to_string())))
                .unwrap()
        };
        let mut statuses = Vec::new();
        for i in 0..6 {
            let url = if i % 2 == 0 { &a.url } else { &b.url };
            statuses.push(call(&http, modern(url, add(i))).await.0);
        }
        assert_eq!(
            statuses,
            [
                StatusCode::OK,
                StatusCode::OK,
                StatusCode::OK,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::TOO_MANY_REQUESTS
            ]
        );
        a.shutdown().await;
        b.shutdown().await;
    })
    .await;
}
