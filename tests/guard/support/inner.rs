//! The inner service most layer tests wrap: 200 with a JSON-RPC result
//! naming the request's id (so an `initialize` commits its session).

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;

pub(crate) async fn json_rpc_ok(
    req: Request<Full<Bytes>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let id = req
        .extensions()
        .get::<mcp_tower_guard::envelope::Envelope>()
        .and_then(|e| e.single())
        .and_then(|m| m.id().cloned());
    let body = serde_json::json!({"jsonrpc": "2.0", "id": id, "result": {}}).to_string();
    let mut res = Response::new(Full::new(Bytes::from(body)));
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(res)
}
