//! Unit tests of `rejection.rs`.

use super::*;
use http_body_util::{BodyExt, Full};

#[test]
fn json_body_has_null_id_and_code() {
    let r = Rejection::new(RejectionKind::HostNotAllowed, "Host not allowed");
    let v: serde_json::Value = serde_json::from_slice(&r.to_json()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"jsonrpc":"2.0","error":{"code":-32000,"message":"Host not allowed"},"id":null})
    );
}

#[cfg(feature = "envelope")]
#[test]
fn data_is_serialized_when_present() {
    let r = Rejection::new(RejectionKind::UnsupportedProtocolVersion, "x")
        .with_code(error_code::UNSUPPORTED_PROTOCOL_VERSION)
        .with_data(serde_json::json!({"supported":["2026-07-28"],"requested":"1999-01-01"}));
    let v: serde_json::Value = serde_json::from_slice(&r.to_json()).unwrap();
    assert_eq!(v["error"]["code"], -32022);
    assert_eq!(v["error"]["data"]["requested"], "1999-01-01");
}

#[tokio::test]
async fn default_builder_writes_json_into_full() {
    let r = Rejection::new(RejectionKind::NotAcceptable, "nope");
    let res: Response<Full<Bytes>> = JsonRpcRejection.rejection_response(&r);
    assert_eq!(res.status(), StatusCode::NOT_ACCEPTABLE);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, r.to_json());
}

#[test]
fn unknown_body_gets_status_alone() {
    let r = Rejection::new(RejectionKind::NotAcceptable, "nope");
    let res: Response<http_body_util::Empty<Bytes>> = JsonRpcRejection.rejection_response(&r);
    assert_eq!(res.status(), StatusCode::NOT_ACCEPTABLE);
    assert!(res.headers().get(header::CONTENT_TYPE).is_none());
}

#[test]
fn reject_adds_allow_retry_after_and_extension() {
    let (parts, ()) = http::Request::new(()).into_parts();
    let r = Rejection::new(RejectionKind::TooManySessions, "full")
        .with_retry_after(Duration::from_millis(1500));
    let res: Response<Full<Bytes>> =
        reject("session", RequestHead::of_parts(&parts), r, &StatusOnly);
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()[header::RETRY_AFTER], "2");
    assert_eq!(
        res.extensions().get::<Rejection>().unwrap().kind(),
        RejectionKind::TooManySessions
    );
    let r = Rejection::new(RejectionKind::MethodNotAllowed, "no")
        .with_allow(HeaderValue::from_static("POST"));
    let res: Response<Full<Bytes>> = reject(
        "headers",
        RequestHead::of_parts(&parts),
        r,
        &JsonRpcRejection,
    );
    assert_eq!(res.headers()[header::ALLOW], "POST");
}
