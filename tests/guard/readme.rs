//! Issue 17: every Rust block of README.md is a complete program. A block
//! that serves is an `examples/` file, byte for byte; the others run as
//! doctests. Here each served program is driven over real TCP on 127.0.0.1
//! (the rmcp one by rmcp's own client), so what a reader copies is what CI
//! runs. `scripts/readme_crates.sh` builds each block in a fresh crate with
//! only the `[dependencies]` its first lines list.

#[allow(dead_code)]
#[path = "../../examples/axum_app.rs"]
mod axum_app;
#[allow(dead_code)]
#[path = "../../examples/preset.rs"]
mod preset;
#[allow(dead_code)]
#[path = "../../examples/rmcp_minimal.rs"]
mod rmcp_minimal;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use http::{HeaderMap, StatusCode};
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt;
use serde_json::{json, Value};
use tokio::sync::oneshot;

const README: &str = include_str!("../../README.md");

/// The README's Rust blocks: (info string, code).
fn rust_blocks() -> Vec<(&'static str, String)> {
    let mut blocks = Vec::new();
    let mut lines = README.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```rust") else {
            continue;
        };
        let code: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        blocks.push((info, code.join("\n") + "\n"));
    }
    blocks
}

/// Each `[dependencies]` comment line of a block: `// name = …`.
fn dependency_lines(code: &str) -> Vec<&str> {
    code.lines()
        .skip_while(|l| *l != "// [dependencies]")
        .skip(1)
        .map_while(|l| l.strip_prefix("// "))
        .filter(|l| l.contains(" = "))
        .collect()
}

#[test]
fn readme_rust_blocks_are_complete_programs_with_their_dependencies() {
    let examples = [
        ("preset", include_str!("../../examples/preset.rs")),
        ("axum_app", include_str!("../../examples/axum_app.rs")),
        (
            "rmcp_minimal",
            include_str!("../../examples/rmcp_minimal.rs"),
        ),
    ];
    let blocks = rust_blocks();
    assert!(blocks.len() >= 4, "{} Rust blocks", blocks.len());
    let mut served = Vec::new();
    for (info, code) in &blocks {
        assert!(code.contains("fn main()"), "a block without main:\n{code}");
        let deps = dependency_lines(code);
        assert!(
            deps.iter().any(|d| d.starts_with("mcp-tower-guard = ")),
            "a block without its [dependencies]:\n{code}"
        );
        match *info {
            // Runs as a doctest: nothing to serve.
            "" => {}
            ",no_run" => {
                let Some((name, _)) = examples.iter().find(|(_, file)| *file == code) else {
                    panic!("a no_run block that is no examples/ file (copy the file into README.md):\n{code}");
                };
                assert!(
                    code.contains(&format!("cargo run --example {name}")),
                    "{name}: the block names its example"
                );
                served.push(*name);
            }
            other => panic!("README block marked `rust{other}`: make it a complete program"),
        }
    }
    served.sort_unstable();
    assert_eq!(served, ["axum_app", "preset", "rmcp_minimal"]);
}

async fn bounded<F: Future<Output = ()>>(body: F) {
    tokio::time::timeout(Duration::from_secs(30), body)
        .await
        .expect("test timed out");
}

/// Serves `app` on 127.0.0.1:`port 0` until the returned sender fires.
async fn serve(app: impl FnOnce(SocketAddr) -> Router) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app(addr);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (addr, stop)
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

/// One request over TCP with the headers an MCP client sends.
async fn send(
    addr: SocketAddr,
    method: http::Method,
    path: &str,
    host: &str,
    session: Option<&str>,
    body: Option<Value>,
) -> Reply {
    use http_body_util::{BodyExt, Full};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("host", host)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    if let Some(session) = session {
        req = req
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", "2025-11-25");
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let res = client
        .request(req.body(Full::from(body)).unwrap())
        .await
        .unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "readme", "version": "1"}}})
}

fn session_of(reply: &Reply) -> String {
    reply
        .headers
        .get("mcp-session-id")
        .expect("a session id")
        .to_str()
        .unwrap()
        .to_owned()
}

/// The quick start: `/mcp` guarded (a legacy session, a forged Host
/// refused), `/health` beside it and unknown paths Host-checked but not
/// MCP-checked.
#[tokio::test]
async fn readme_preset_program_serves_a_guarded_endpoint() {
    bounded(async {
        let (addr, stop) = serve(|addr| preset::app(addr).expect("loopback")).await;
        let host = addr.to_string();
        let post = http::Method::POST;
        let init = send(addr, post.clone(), "/mcp", &host, None, Some(initialize())).await;
        assert_eq!(init.status, StatusCode::OK);
        assert_eq!(init.body["result"]["protocolVersion"], "2025-11-25");
        let sid = session_of(&init);
        let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
        let reply = send(addr, post.clone(), "/mcp", &host, Some(&sid), Some(ping)).await;
        assert_eq!(
            (reply.status, &reply.body["id"]),
            (StatusCode::OK, &json!(2))
        );
        let forged = send(addr, post, "/mcp", "evil.example", None, Some(initialize())).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        let health = send(addr, http::Method::GET, "/health", &host, None, None).await;
        assert_eq!(health.status, StatusCode::OK);
        for path in ["/health", "/not-mcp"] {
            let forged = send(addr, http::Method::GET, path, "evil.example", None, None).await;
            assert_eq!(forged.status, StatusCode::FORBIDDEN, "{path}");
        }
        let unknown = send(addr, http::Method::GET, "/not-mcp", &host, None, None).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        let _ = stop.send(());
    })
    .await;
}

/// The hand-composed stack: sessions, DELETE answered by the session layer
/// with no stray `Allow` (no stub route), `/health` Host-checked but not
/// MCP-checked.
#[tokio::test]
async fn readme_axum_app_program_composes_the_layers_by_hand() {
    bounded(async {
        let (app, store) = axum_app::app("127.0.0.1:0".parse().unwrap()).expect("loopback");
        let (addr, stop) = serve(move |_| app).await;
        let host = addr.to_string();
        let init = send(
            addr,
            http::Method::POST,
            "/mcp",
            &host,
            None,
            Some(initialize()),
        )
        .await;
        assert_eq!(init.status, StatusCode::OK);
        assert_eq!(init.body["result"]["era"], "Legacy");
        let sid = session_of(&init);
        let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
        let reply = send(
            addr,
            http::Method::POST,
            "/mcp",
            &host,
            Some(&sid),
            Some(ping),
        )
        .await;
        let tag = reply.body["result"]["session"].as_str().unwrap_or_default();
        assert_eq!(tag.len(), 8, "the session's tag: {tag:?}");
        let deleted = send(addr, http::Method::DELETE, "/mcp", &host, Some(&sid), None).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert!(
            deleted.headers.get("allow").is_none(),
            "{:?}",
            deleted.headers
        );
        assert_eq!(store.stats().deleted, 1);
        let health = send(addr, http::Method::GET, "/health", &host, None, None).await;
        assert_eq!(health.status, StatusCode::OK);
        for path in ["/health", "/not-mcp"] {
            let forged = send(addr, http::Method::GET, path, "evil.example", None, None).await;
            assert_eq!(forged.status, StatusCode::FORBIDDEN, "{path}");
        }
        let _ = stop.send(());
    })
    .await;
}

/// The rmcp server, driven by rmcp's client: rmcp keeps its session, and
/// the tool sees the guard's record of it (the same id: the guard mints
/// none in this mode).
#[tokio::test]
async fn readme_rmcp_program_keeps_rmcp_sessions_governed_by_the_guard() {
    bounded(async {
        let (addr, stop) = serve(|addr| rmcp_minimal::app(addr).expect("loopback")).await;
        let client = ()
            .serve(StreamableHttpClientTransport::from_uri(format!(
                "http://{addr}/mcp"
            )))
            .await
            .expect("rmcp client initializes");
        let result = client
            .call_tool(CallToolRequestParams::new("whoami"))
            .await
            .expect("whoami");
        let text = serde_json::to_value(&result).unwrap()["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(text.len(), 8, "the session's tag: {text:?}");
        assert!(text.chars().all(|c| c.is_ascii_hexdigit()), "{text:?}");
        client.cancel().await.expect("client closes");
        let _ = stop.send(());
    })
    .await;
}
