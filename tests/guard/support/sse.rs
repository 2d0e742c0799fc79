//! A real axum server whose `initialize` answers stream as SSE, for the
//! session layer's commit rule.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body_util::BodyExt;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use mcp_tower_guard::envelope::Envelope;
use mcp_tower_guard::session::McpSessionLayer;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// Steps of a streamed answer, comma-separated in `x-test-script`:
/// `notify` (a notification event), `result` (the result event), `split`
/// (the result event in three chunks, 150 ms apart), `error` (an error event),
/// `other` (a result for another id), `cut` (half an event), `fail` (a body
/// error), `hang` (never end). After the steps the stream ends.
async fn mcp(req: Request) -> Response {
    let id = req
        .extensions()
        .get::<Envelope>()
        .and_then(|e| e.single()?.id().cloned());
    let script = req
        .headers()
        .get("x-test-script")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("result")
        .to_owned();
    let initialize = req
        .extensions()
        .get::<Envelope>()
        .is_some_and(Envelope::is_initialize);
    if !initialize {
        let body = serde_json::json!({"jsonrpc": "2.0", "id": id, "result": {}});
        return Response::builder()
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap_or_default();
    }
    let id = serde_json::to_string(&id).unwrap_or_else(|_| "null".into());
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    tokio::spawn(async move {
        let event = |data: String| Ok(Bytes::from(format!("event: message\ndata: {data}\n\n")));
        let result = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"result":{{"protocolVersion":"2025-06-18","capabilities":{{}},"serverInfo":{{"name":"sse","version":"1"}}}}}}"#
        );
        for step in script.split(',') {
            let sent = match step {
                "notify" => {
                    tx.send(event(
                        r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"hi"}}"#.into(),
                    ))
                    .await
                }
                "result" => tx.send(event(result.clone())).await,
                "split" => {
                    let text = format!("event: message\ndata: {result}\n\n");
                    let (a, rest) = text.split_at(10);
                    let (b, c) = rest.split_at(rest.len() - 1);
                    let mut sent = Ok(());
                    for part in [a, b, c] {
                        sent = tx.send(Ok(Bytes::from(part.to_owned()))).await;
                        tokio::time::sleep(Duration::from_millis(150)).await;
                    }
                    sent
                }
                "error" => {
                    tx.send(event(format!(
                        r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-32602,"message":"Invalid params"}}}}"#
                    )))
                    .await
                }
                "other" => {
                    tx.send(event(
                        r#"{"jsonrpc":"2.0","id":"not-yours","result":{}}"#.into(),
                    ))
                    .await
                }
                "cut" => tx.send(Ok(Bytes::from(format!("data: {result}")))).await,
                "fail" => tx.send(Err(std::io::Error::other("handler failed"))).await,
                "hang" => {
                    // Until the client goes away.
                    tx.closed().await;
                    return;
                }
                _ => Ok(()),
            };
            if sent.is_err() {
                return;
            }
        }
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(ReceiverStream::new(rx)))
        .unwrap_or_default()
}

/// Serves `layer` over the SSE app on 127.0.0.1, port 0.
pub async fn serve(layer: McpSessionLayer) -> SocketAddr {
    let app = Router::new().route("/mcp", post(mcp)).layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

pub type Http = Client<HttpConnector, http_body_util::Full<Bytes>>;

pub fn client() -> Http {
    Client::builder(TokioExecutor::new()).build_http()
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":7,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

/// Sends an `initialize` answered by `script`; returns the streaming response.
pub async fn initialize(
    client: &Http,
    addr: SocketAddr,
    script: &str,
) -> http::Response<hyper::body::Incoming> {
    let req = http::Request::post(format!("http://{addr}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("x-test-script", script)
        .body(http_body_util::Full::new(Bytes::from_static(
            INIT.as_bytes(),
        )))
        .unwrap();
    client.request(req).await.unwrap()
}

/// A ping on session `id`; returns its status.
pub async fn ping(client: &Http, addr: SocketAddr, id: &HeaderValue) -> StatusCode {
    let req = http::Request::post(format!("http://{addr}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", id.clone())
        .body(http_body_util::Full::new(Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#,
        )))
        .unwrap();
    client.request(req).await.unwrap().status()
}

/// Reads the stream until its bytes contain `needle` (or it ends); true if found.
pub async fn read_until(body: &mut hyper::body::Incoming, needle: &str) -> bool {
    let mut seen = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return false };
        if let Ok(data) = frame.into_data() {
            seen.extend_from_slice(&data);
            if String::from_utf8_lossy(&seen).contains(needle) {
                return true;
            }
        }
    }
    false
}

/// Reads the stream to its end (or its failure).
pub async fn drain(body: &mut hyper::body::Incoming) {
    while let Some(frame) = body.frame().await {
        if frame.is_err() {
            return;
        }
    }
}

/// Reads a stream that may stay open after its answer until `decided` holds
/// (checked between frames), then leaves it to the caller to drop.
pub async fn drain_or_wait(body: &mut hyper::body::Incoming, decided: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !decided() {
        assert!(tokio::time::Instant::now() < deadline, "never decided");
        let _ = tokio::time::timeout(Duration::from_millis(20), body.frame()).await;
    }
}
