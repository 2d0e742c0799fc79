//! The four layers compose with the usual ways of building a server:
//! `axum::Router::layer` and `route_layer`, a plain hyper service built with
//! `service_fn` (axum `Body` and `BoxBody` request bodies), and tonic's
//! `Server::builder().layer(..)`. The hyper and tonic servers run over real TCP
//! on 127.0.0.1.

/// axum routers.
mod axum_stacks;
/// hyper services over TCP.
mod hyper_stacks;
/// Misordered layers are named once.
mod layer_order;
/// tonic servers over TCP.
mod tonic_stacks;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use mcp_tower_guard::protocol::{Era, RequestProtocol};
use mcp_tower_guard::session::{MokaSessionStore, SessionContext};
use mcp_tower_guard::{
    HostCheckLayer, McpHeadersLayer, McpSessionLayer, OriginGuardLayer, Rejection, RejectionKind,
};
use serde_json::{json, Value};
use tower::{Service, ServiceBuilder, ServiceExt};

const LEGACY: &str = "2025-11-25";

async fn bounded<F: Future<Output = ()>>(body: F) {
    tokio::time::timeout(Duration::from_secs(30), body)
        .await
        .expect("test timed out");
}

fn store() -> MokaSessionStore {
    MokaSessionStore::builder()
        .max_sessions(100)
        .build()
        .expect("valid store")
}

/// What an MCP handler behind the layers reports: the era and whether it got a session.
fn describe(extensions: &http::Extensions) -> Value {
    let era = extensions
        .get::<RequestProtocol>()
        .map(|p| format!("{:?}", p.era()));
    let session = extensions
        .get::<SessionContext>()
        .map(|s| s.id().tag().to_string());
    json!({"jsonrpc": "2.0", "id": 1, "result": {"era": era, "session": session}})
}

fn initialize() -> Value {
    json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
}

fn ping() -> Value {
    json!({"jsonrpc":"2.0","id":2,"method":"ping"})
}

fn mcp_request<B: From<Bytes>>(
    uri: &str,
    host: &str,
    body: &Value,
    session: Option<&str>,
) -> Request<B> {
    let mut req = Request::post(uri)
        .header("host", host)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    if let Some(sid) = session {
        req = req
            .header("mcp-session-id", sid)
            .header("mcp-protocol-version", LEGACY);
    }
    req.body(B::from(Bytes::from(body.to_string())))
        .expect("valid request")
}

async fn body_json<B>(res: Response<B>) -> (StatusCode, HeaderMap, Value)
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("JSON body")
    };
    (parts.status, parts.headers, value)
}

fn session_id(headers: &HeaderMap) -> String {
    headers["mcp-session-id"]
        .to_str()
        .expect("ascii id")
        .to_owned()
}

type Http = Client<HttpConnector, Full<Bytes>>;

fn http2() -> Http {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
}
