//! HostCheckLayer alone: HTTP/2 authority, repeated headers, report-only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::support::guards::*;
use bytes::Bytes;
use http::{header, Method, Request, StatusCode};
use http_body_util::Full;
use mcp_tower_guard::{HostCheckLayer, OriginGuardLayer, Rejection, RejectionKind};
use tower::{Layer, ServiceBuilder, ServiceExt};

#[tokio::test]
async fn duplicate_headers_are_refused() {
    let svc = ServiceBuilder::new()
        .layer(HostCheckLayer::localhost())
        .layer(OriginGuardLayer::localhost())
        .service(boxbody_service(Arc::new(AtomicUsize::new(0))));
    let mut req = request::<Full<Bytes>>(&Method::POST, Some("localhost"), None);
    req.headers_mut()
        .append(header::HOST, "localhost".parse().unwrap());
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    let mut req =
        request::<Full<Bytes>>(&Method::POST, Some("localhost"), Some("http://localhost"));
    req.headers_mut()
        .append(header::ORIGIN, "http://evil.example".parse().unwrap());
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        res.extensions().get::<Rejection>().map(Rejection::kind),
        Some(RejectionKind::MalformedOrigin)
    );
}

#[tokio::test]
async fn http2_style_authority_without_host_header() {
    let svc = HostCheckLayer::localhost().layer(boxbody_service(Arc::new(AtomicUsize::new(0))));
    let req = Request::builder()
        .uri("http://localhost:8000/mcp")
        .body(Full::<Bytes>::default())
        .unwrap();
    assert_eq!(
        svc.clone().oneshot(req).await.unwrap().status(),
        StatusCode::OK
    );
    let req = Request::builder()
        .uri("https://evil.example/mcp")
        .body(Full::<Bytes>::default())
        .unwrap();
    assert_eq!(
        svc.oneshot(req).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
}

/// Report-only is on both guards (the two allowlists), with the same event.
#[tokio::test(flavor = "current_thread")]
async fn host_report_only_logs_and_passes() {
    let (logs, _guard) = capture_logs();

    let calls = Arc::new(AtomicUsize::new(0));
    let layer = HostCheckLayer::localhost().report_only(true);
    assert!(layer.is_report_only());
    assert!(!HostCheckLayer::localhost().is_report_only());
    let svc = layer.into_service(boxbody_service(calls.clone()));
    for host in [Some("evil.example"), None] {
        let res = svc
            .clone()
            .oneshot(request::<Full<Bytes>>(&Method::POST, host, None))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{host:?}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.matches("report_only=true").count(), 2, "{text}");
    assert!(text.contains("host_not_allowed"), "{text}");
    assert!(text.contains("layer=\"host\""), "{text}");

    // Enforcing: refused, the inner service not called.
    let svc = HostCheckLayer::localhost().into_service(boxbody_service(calls.clone()));
    let res = svc
        .oneshot(request::<Full<Bytes>>(
            &Method::POST,
            Some("evil.example"),
            None,
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
