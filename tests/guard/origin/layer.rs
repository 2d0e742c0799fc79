//! OriginGuardLayer alone: `require_origin`, `null`, the allowlist as the decision, report-only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::support::guards::*;
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::Full;
use mcp_tower_guard::{OriginGuardLayer, Rejection, RejectionKind};
use tower::{Layer, ServiceExt};

#[tokio::test]
async fn require_and_null_settings() {
    let layer = OriginGuardLayer::localhost()
        .require_origin(true)
        .allow_null_origin(true);
    assert!(layer.requires_origin());
    assert!(layer.allowed_origins().allows_null());
    let svc = layer.layer(boxbody_service(Arc::new(AtomicUsize::new(0))));
    for method in &METHODS {
        let res = svc
            .clone()
            .oneshot(request::<Full<Bytes>>(method, Some("localhost"), None))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{method}");
        assert_eq!(
            res.extensions().get::<Rejection>().map(Rejection::kind),
            Some(RejectionKind::MissingOrigin)
        );
        let res = svc
            .clone()
            .oneshot(request::<Full<Bytes>>(
                method,
                Some("localhost"),
                Some("null"),
            ))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{method}");
    }
}

#[test]
fn allowed_origins_is_the_guard_decision() {
    let guard = OriginGuardLayer::new(["https://app.example.com", "http://localhost:*"]).unwrap();
    let list = guard.allowed_origins().clone();
    let rows: &[(&'static str, bool)] = &[
        ("https://app.example.com", true),
        ("http://localhost:6274", true),
        ("https://localhost:6274", false),
        ("null", false),
        ("https://app.example.com.evil.example", false),
        ("http://localhost:6274.evil.example", false),
    ];
    for (origin, want) in rows {
        assert_eq!(
            list.matches(&http::HeaderValue::from_static(origin)),
            *want,
            "{origin}"
        );
    }
    assert_eq!(list.len(), 2);
    assert_eq!(
        list.iter().collect::<Vec<_>>(),
        ["https://app.example.com", "http://localhost:*"]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn report_only_logs_and_passes() {
    let (logs, _guard) = capture_logs();

    let calls = Arc::new(AtomicUsize::new(0));
    let layer = OriginGuardLayer::localhost().report_only(true);
    assert!(layer.is_report_only());
    let svc = layer.layer(boxbody_service(calls.clone()));
    for method in &METHODS {
        let res = svc
            .clone()
            .oneshot(request::<Full<Bytes>>(
                method,
                Some("localhost"),
                Some("https://evil.example"),
            ))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{method}");
        assert!(res.extensions().get::<Rejection>().is_none());
    }
    assert_eq!(calls.load(Ordering::SeqCst), METHODS.len());
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        text.matches("report_only=true").count(),
        METHODS.len(),
        "{text}"
    );
    assert!(text.contains("WARN"), "{text}");
    assert!(text.contains("mcp_tower_guard::rejection"), "{text}");
    assert!(text.contains("origin_not_allowed"), "{text}");

    // Enforcing: same request is refused, and logged without report_only.
    let svc = OriginGuardLayer::localhost().layer(boxbody_service(calls.clone()));
    let res = svc
        .oneshot(request::<Full<Bytes>>(
            &Method::POST,
            Some("localhost"),
            Some("https://evil.example"),
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(calls.load(Ordering::SeqCst), METHODS.len());
}
