//! Shared by the criterion benches: the requests they send and the trivial
//! inner service they wrap.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::{ready, Ready};

use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, Method, Request, Response};
use http_body_util::Full;
use tower::service_fn;
use tower::util::ServiceFn;

const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

/// The legacy revision the benches speak.
pub const LEGACY: &str = "2025-11-25";

/// A `tools/call` POST body of exactly 1024 bytes (an `echo` with padding text).
pub fn tools_call_1k() -> Bytes {
    let head = r#"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"echo","arguments":{"text":""#;
    let tail = r#""}}}"#;
    let pad = 1024 - head.len() - tail.len();
    let body = format!("{head}{}{tail}", "x".repeat(pad));
    assert_eq!(body.len(), 1024);
    Bytes::from(body)
}

/// A small `ping` POST body.
pub fn ping() -> Bytes {
    Bytes::from_static(br#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#)
}

/// An `initialize` POST body (legacy era).
pub fn initialize() -> Bytes {
    Bytes::from_static(
        br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#,
    )
}

/// A legacy-era POST as an SDK client sends it (with a browser's `Origin`, so
/// the origin check has work to do), optionally with a session id.
pub fn post(body: &Bytes, session: Option<&HeaderValue>) -> Request<Full<Bytes>> {
    let mut req = Request::new(Full::new(body.clone()));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = http::Uri::from_static("/mcp");
    let h = req.headers_mut();
    h.insert(header::HOST, HeaderValue::from_static("localhost:8000"));
    h.insert(
        header::ORIGIN,
        HeaderValue::from_static("http://localhost:8000"),
    );
    h.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len() as u64));
    h.insert(MCP_PROTOCOL_VERSION, HeaderValue::from_static(LEGACY));
    if let Some(id) = session {
        h.insert(MCP_SESSION_ID, id.clone());
    }
    req
}

/// A 2026-07-28 `tools/call` body of `route` with `region`, `shard` and
/// `dry_run` arguments (and a query padding it to about 1 KiB).
pub fn modern_route_call() -> Bytes {
    let query = "x".repeat(850);
    Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{{"name":"route","arguments":{{"region":"us-west1","shard":7,"dry_run":false,"query":"{query}"}},"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#
    ))
}

/// The `tools/list` entry of `route`, its three routing parameters mirrored
/// into `Mcp-Param-Region`, `Mcp-Param-Shard` and `Mcp-Param-DryRun`.
pub fn route_tool() -> serde_json::Value {
    serde_json::json!([{ "name": "route", "inputSchema": { "type": "object", "properties": {
        "region": { "type": "string", "x-mcp-header": "Region" },
        "shard": { "type": "integer", "x-mcp-header": "Shard" },
        "dry_run": { "type": "boolean", "x-mcp-header": "DryRun" },
        "query": { "type": "string" } } } }])
}

/// A 2026-07-28 POST of `body` (a `tools/call` of `route`) with the standard
/// headers, and the three `Mcp-Param-*` headers when `params`.
pub fn modern_post(body: &Bytes, params: bool) -> Request<Full<Bytes>> {
    let mut req = post(body, None);
    let h = req.headers_mut();
    h.insert(MCP_PROTOCOL_VERSION, HeaderValue::from_static("2026-07-28"));
    h.insert(
        HeaderName::from_static("mcp-method"),
        HeaderValue::from_static("tools/call"),
    );
    h.insert(
        HeaderName::from_static("mcp-name"),
        HeaderValue::from_static("route"),
    );
    if params {
        for (name, value) in [
            ("mcp-param-region", "us-west1"),
            ("mcp-param-shard", "7"),
            ("mcp-param-dryrun", "false"),
        ] {
            h.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
    }
    req
}

/// A legacy-era GET (the SSE stream request), optionally with a session id.
pub fn get(session: Option<&HeaderValue>) -> Request<Full<Bytes>> {
    let mut req = Request::new(Full::default());
    *req.uri_mut() = http::Uri::from_static("/mcp");
    let h = req.headers_mut();
    h.insert(header::HOST, HeaderValue::from_static("localhost:8000"));
    h.insert(
        header::ORIGIN,
        HeaderValue::from_static("http://localhost:8000"),
    );
    h.insert(
        header::ACCEPT,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(MCP_PROTOCOL_VERSION, HeaderValue::from_static(LEGACY));
    if let Some(id) = session {
        h.insert(MCP_SESSION_ID, id.clone());
    }
    req
}

/// The inner service's answer: a small JSON-RPC result, for id 1 (the id of
/// [`initialize`], so it commits a session).
pub fn reply() -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from_static(
        br#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
    )));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// The trivial inner service type.
pub type Inner =
    ServiceFn<fn(Request<Full<Bytes>>) -> Ready<Result<Response<Full<Bytes>>, Infallible>>>;

/// A trivial inner service: drops the request, answers [`reply`].
pub fn inner() -> Inner {
    fn handle(_req: Request<Full<Bytes>>) -> Ready<Result<Response<Full<Bytes>>, Infallible>> {
        ready(Ok(reply()))
    }
    service_fn(handle as fn(_) -> _)
}

/// `req` as from a client at 127.0.0.1:50000 (the peer address the rate
/// limits and the telemetry read).
pub fn with_peer(mut req: Request<Full<Bytes>>) -> Request<Full<Bytes>> {
    req.extensions_mut()
        .insert(mcp_tower_guard::PeerAddr(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            50000,
        ))));
    req
}

/// One case of a bench that sends `make()` to `stack` in a loop.
///
/// With `<PREFIX>_CASE=<name>` and `<PREFIX>_ITERS=<n>` set, the case runs n
/// times without criterion, for `valgrind --tool=callgrind` instruction
/// counts, and prints the `…, N ns each` line `mintime.sh` reads; every other
/// case is skipped. Otherwise criterion times it.
pub fn timed_case<S, B, F>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &tokio::runtime::Runtime,
    prefix: &str,
    name: &str,
    stack: S,
    make: F,
) where
    S: tower::Service<Request<Full<Bytes>>, Response = Response<B>> + Clone,
    S::Error: std::fmt::Debug,
    F: Fn() -> Request<Full<Bytes>>,
{
    use std::hint::black_box;
    use std::time::Instant;
    use tower::ServiceExt;

    let timed = |iters: u64, svc: &mut S| {
        rt.block_on(async {
            let start = Instant::now();
            for _ in 0..iters {
                let svc = svc.ready().await.unwrap();
                black_box(svc.call(make()).await.unwrap());
            }
            start.elapsed()
        })
    };
    if let (Ok(case), Ok(iters)) = (
        std::env::var(format!("{prefix}_CASE")),
        std::env::var(format!("{prefix}_ITERS")),
    ) {
        if case == name {
            let iters: u64 = iters.parse().expect("<PREFIX>_ITERS: a number");
            let elapsed = timed(iters, &mut stack.clone());
            println!(
                "{name}: {iters} iterations, {} ns each",
                elapsed.as_nanos() / u128::from(iters.max(1))
            );
        }
        return;
    }
    g.bench_function(name, |b| {
        b.iter_custom(|iters| timed(iters, &mut stack.clone()))
    });
}
