//! "Parsed once": with all four layers stacked, a POST body's JSON-RPC
//! envelope is parsed at most once per request, and GET/DELETE never parse.
//!
//! The count comes from the `trace` event the parser emits (target
//! `mcp_tower_guard::envelope`, message "envelope parsed"). This file holds a
//! single test and installs a *global* subscriber first: a thread-local one can
//! miss events whose callsite interest another test thread cached first.

use crate::support::inner::json_rpc_ok as ok;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use mcp_tower_guard::session::MokaSessionStore;
use mcp_tower_guard::{HostCheckLayer, McpHeadersLayer, McpSessionLayer, OriginGuardLayer};
use tower::{Service, ServiceBuilder, ServiceExt};
use tracing_subscriber::layer::SubscriberExt;

#[derive(Clone, Default)]
struct ParseCounter(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ParseCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Message(bool);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" && format!("{value:?}") == "envelope parsed" {
                    self.0 = true;
                }
            }
        }
        if event.metadata().target() == "mcp_tower_guard::envelope" {
            let mut message = Message(false);
            event.record(&mut message);
            if message.0 {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

fn post(session: Option<&str>, version: &str, body: &'static str) -> Request<Full<Bytes>> {
    let mut req = Request::post("http://localhost/mcp")
        .header("host", "localhost")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", version);
    if let Some(id) = session {
        req = req.header("mcp-session-id", id);
    }
    req.body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn envelope_is_parsed_at_most_once_per_request_with_all_layers() {
    let counter = ParseCounter::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(counter.clone()))
        .expect("the only subscriber of this test binary");
    let parses = || counter.0.swap(0, Ordering::SeqCst);

    let store = MokaSessionStore::builder().build().unwrap();
    let mut svc = ServiceBuilder::new()
        .layer(HostCheckLayer::localhost())
        .layer(OriginGuardLayer::localhost())
        .layer(McpHeadersLayer::new())
        .layer(McpSessionLayer::new(store))
        .service_fn(ok);

    // Legacy initialize: the headers layer parses, the session layer reuses it.
    let init = post(
        None,
        "2025-11-25",
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#,
    );
    let res = svc.ready().await.unwrap().call(init).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let id = res.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    assert_eq!(parses(), 1, "initialize");

    // Legacy tools/call on the session.
    let call = post(
        Some(&id),
        "2025-11-25",
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo"}}"#,
    );
    let res = svc.ready().await.unwrap().call(call).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(parses(), 1, "legacy tools/call");

    // 2026-07-28: stateless, still one parse.
    let modern = post(
        None,
        "2026-07-28",
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
    );
    let mut modern = modern;
    modern
        .headers_mut()
        .insert("mcp-method", "tools/list".parse().unwrap());
    let res = svc.ready().await.unwrap().call(modern).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(parses(), 1, "2026-07-28 tools/list");

    // GET and DELETE never touch the body.
    let get = Request::get("http://localhost/mcp")
        .header("host", "localhost")
        .header("accept", "text/event-stream")
        .header("mcp-session-id", id.as_str())
        .body(Full::default())
        .unwrap();
    let res = svc.ready().await.unwrap().call(get).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let delete = Request::delete("http://localhost/mcp")
        .header("host", "localhost")
        .header("mcp-session-id", id.as_str())
        .body(Full::default())
        .unwrap();
    let res = svc.ready().await.unwrap().call(delete).await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(parses(), 0, "GET and DELETE");
}
