//! HostCheckLayer and OriginGuardLayer through the ways users stack them:
//! `axum::Router::layer`, `ServiceBuilder::option_layer`, and a service whose
//! body is rmcp's `BoxBody<Bytes, Infallible>`. Every method the MCP endpoint
//! serves (GET, POST, DELETE) and OPTIONS is checked.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::support::guards::*;
use axum::routing::any;
use axum::Router;
use bytes::Bytes;
use http::{header, Method, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_tower_guard::host::HostCheck;
use mcp_tower_guard::origin::OriginGuard;
use mcp_tower_guard::{HostCheckLayer, OriginGuardLayer, Rejection, RejectionKind, StatusOnly};
use tower::{Layer, ServiceBuilder, ServiceExt};

/// (Host, Origin, expected status, expected rejection kind)
type Row = (
    Option<&'static str>,
    Option<&'static str>,
    StatusCode,
    Option<RejectionKind>,
);

const ROWS: &[Row] = &[
    (Some("localhost:8000"), None, StatusCode::OK, None),
    (
        Some("127.0.0.1:8000"),
        Some("http://localhost:5173"),
        StatusCode::OK,
        None,
    ),
    (
        Some("[::1]:8000"),
        Some("https://[::1]"),
        StatusCode::OK,
        None,
    ),
    (
        Some("evil.example"),
        None,
        StatusCode::FORBIDDEN,
        Some(RejectionKind::HostNotAllowed),
    ),
    (
        Some("localhost:8000.evil.example"),
        None,
        StatusCode::BAD_REQUEST,
        Some(RejectionKind::MalformedHost),
    ),
    (
        None,
        None,
        StatusCode::BAD_REQUEST,
        Some(RejectionKind::MissingHost),
    ),
    (
        Some("localhost"),
        Some("http://evil.example"),
        StatusCode::FORBIDDEN,
        Some(RejectionKind::OriginNotAllowed),
    ),
    (
        Some("localhost"),
        Some("null"),
        StatusCode::FORBIDDEN,
        Some(RejectionKind::NullOrigin),
    ),
    (
        Some("localhost"),
        Some("http://user@localhost"),
        StatusCode::FORBIDDEN,
        Some(RejectionKind::MalformedOrigin),
    ),
    // Host is checked first (outermost): a bad Host wins over a bad Origin.
    (
        Some("evil.example"),
        Some("http://evil.example"),
        StatusCode::FORBIDDEN,
        Some(RejectionKind::HostNotAllowed),
    ),
];

#[tokio::test]
async fn axum_router_layer_all_methods() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let hosts = HostCheckLayer::localhost();
    let origins = OriginGuardLayer::localhost();
    assert_layer_bounds(&hosts);
    assert_layer_bounds(&origins);
    // Router::layer runs bottom to top: origins is inner, hosts outer.
    let app = Router::new()
        .route(
            "/mcp",
            any(move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    "ok"
                }
            }),
        )
        .layer(origins)
        .layer(hosts);

    let mut expected_calls = 0;
    for method in &METHODS {
        for (host, origin, status, kind) in ROWS {
            let res = app
                .clone()
                .oneshot(request::<axum::body::Body>(method, *host, *origin))
                .await
                .unwrap();
            let what = format!("{method} Host={host:?} Origin={origin:?}");
            assert_eq!(res.status(), *status, "{what}");
            assert_eq!(
                res.extensions().get::<Rejection>().map(Rejection::kind),
                *kind,
                "{what}"
            );
            assert!(
                res.headers().get(header::WWW_AUTHENTICATE).is_none(),
                "{what}"
            );
            if kind.is_some() {
                assert_eq!(
                    res.headers()[header::CONTENT_TYPE],
                    "application/json",
                    "{what}"
                );
                let body = json_body(res).await;
                assert_eq!(body["jsonrpc"], "2.0", "{what}");
                assert_eq!(body["error"]["code"], -32000, "{what}");
                assert!(body["id"].is_null(), "{what}");
            } else {
                expected_calls += 1;
            }
        }
    }
    // A rejected request never reaches the handler.
    assert_eq!(calls.load(Ordering::SeqCst), expected_calls);
}

#[tokio::test]
async fn axum_router_with_service_builder_stack() {
    let app = Router::new().route("/mcp", any(|| async { "ok" })).layer(
        ServiceBuilder::new()
            .layer(HostCheckLayer::new(["mcp.example.com", "*.mcp.example.com:8443"]).unwrap())
            .layer(OriginGuardLayer::new(["https://app.example.com"]).unwrap()),
    );
    let rows: &[(&str, Option<&str>, StatusCode)] = &[
        (
            "mcp.example.com",
            Some("https://app.example.com"),
            StatusCode::OK,
        ),
        (
            "MCP.example.com.",
            Some("https://APP.example.com:443"),
            StatusCode::OK,
        ),
        ("eu.mcp.example.com:8443", None, StatusCode::OK),
        ("eu.mcp.example.com:443", None, StatusCode::FORBIDDEN),
        ("mcp.example.com:8443", None, StatusCode::OK),
        ("localhost", None, StatusCode::FORBIDDEN),
        (
            "mcp.example.com",
            Some("http://app.example.com"),
            StatusCode::FORBIDDEN,
        ),
        (
            "mcp.example.com",
            Some("https://app.example.com/"),
            StatusCode::FORBIDDEN,
        ),
    ];
    for method in &METHODS {
        for (host, origin, status) in rows {
            let res = app
                .clone()
                .oneshot(request::<axum::body::Body>(method, Some(host), *origin))
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                *status,
                "{method} Host={host} Origin={origin:?}"
            );
        }
    }
}

#[tokio::test]
async fn boxbody_service_gets_json_rejections() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = ServiceBuilder::new()
        .layer(HostCheckLayer::localhost())
        .layer(OriginGuardLayer::localhost())
        .service(boxbody_service(calls.clone()));
    let mut passed = 0;
    for method in &METHODS {
        for (host, origin, status, kind) in ROWS {
            let res = svc
                .clone()
                .oneshot(request::<Full<Bytes>>(method, *host, *origin))
                .await
                .unwrap();
            let what = format!("{method} Host={host:?} Origin={origin:?}");
            assert_eq!(res.status(), *status, "{what}");
            match kind {
                Some(kind) => {
                    assert_eq!(
                        res.headers()[header::CONTENT_TYPE],
                        "application/json",
                        "{what}"
                    );
                    let rejection = res.extensions().get::<Rejection>().cloned().unwrap();
                    assert_eq!(rejection.kind(), *kind, "{what}");
                    let body = json_body(res).await;
                    assert_eq!(body["error"]["message"], rejection.message(), "{what}");
                    assert_eq!(body["error"]["code"], -32000, "{what}");
                }
                None => {
                    passed += 1;
                    let bytes = res.into_body().collect().await.unwrap().to_bytes();
                    assert_eq!(bytes, "ok", "{what}");
                }
            }
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), passed);
}

#[tokio::test]
async fn option_layer_both_ways() {
    for (with_host, with_origin) in [(true, true), (true, false), (false, true), (false, false)] {
        let calls = Arc::new(AtomicUsize::new(0));
        let svc = ServiceBuilder::new()
            .option_layer(with_host.then(HostCheckLayer::localhost))
            .option_layer(with_origin.then(OriginGuardLayer::localhost))
            .service(boxbody_service(calls.clone()));
        for method in &METHODS {
            let evil_host = request::<Full<Bytes>>(method, Some("evil.example"), None);
            let res = svc.clone().oneshot(evil_host).await.unwrap();
            let want = if with_host {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::OK
            };
            assert_eq!(res.status(), want, "{method} host layer {with_host}");

            let evil_origin =
                request::<Full<Bytes>>(method, Some("localhost"), Some("https://evil.example"));
            let res = svc.clone().oneshot(evil_origin).await.unwrap();
            let want = if with_origin {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::OK
            };
            assert_eq!(res.status(), want, "{method} origin layer {with_origin}");
            if with_origin {
                assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
            }
        }
    }
}

#[tokio::test]
async fn option_layer_inside_axum_router() {
    let enabled = true;
    let app = Router::new().route("/mcp", any(|| async { "ok" })).layer(
        ServiceBuilder::new()
            .option_layer(enabled.then(HostCheckLayer::localhost))
            .option_layer((!enabled).then(OriginGuardLayer::localhost)),
    );
    let res = app
        .clone()
        .oneshot(request::<axum::body::Body>(
            &Method::POST,
            Some("evil.example"),
            None,
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .oneshot(request::<axum::body::Body>(
            &Method::POST,
            Some("localhost"),
            Some("https://evil.example"),
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn custom_rejection_builders() {
    let svc = ServiceBuilder::new()
        .layer(HostCheckLayer::localhost().with_rejection(StatusOnly::default()))
        .layer(
            OriginGuardLayer::localhost().with_rejection(|r: &Rejection| {
                let mut res =
                    Response::new(Full::new(Bytes::from(format!("refused: {}", r.kind()))).boxed());
                *res.status_mut() = r.status();
                res
            }),
        )
        .service(boxbody_service(Arc::new(AtomicUsize::new(0))));
    let res = svc
        .clone()
        .oneshot(request::<Full<Bytes>>(
            &Method::GET,
            Some("evil.example"),
            None,
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get(header::CONTENT_TYPE).is_none());
    assert!(res.extensions().get::<Rejection>().is_some());
    assert!(res
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .is_empty());

    let res = svc
        .oneshot(request::<Full<Bytes>>(
            &Method::GET,
            Some("localhost"),
            Some("null"),
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(bytes, "refused: null_origin");
}

#[test]
fn check_is_pure_and_public() {
    let svc: HostCheck<(), _> = HostCheckLayer::localhost().layer(());
    let req = request::<()>(&Method::GET, Some("evil.example"), None);
    assert_eq!(
        svc.check(&req).unwrap_err().kind(),
        RejectionKind::HostNotAllowed
    );
    let svc: OriginGuard<(), _> = OriginGuardLayer::localhost().layer(());
    let req = request::<()>(&Method::GET, None, Some("http://localhost:1"));
    assert!(svc.check(&req).is_ok());
    // Debug never needs the rejection builder to be Debug.
    let layer = OriginGuardLayer::localhost().with_rejection(|r: &Rejection| {
        let mut res = Response::new(String::new());
        *res.status_mut() = r.status();
        res
    });
    let debug = format!("{layer:?}");
    assert!(debug.contains("http://localhost:*"), "{debug}");
    assert!(format!("{:?}", HostCheckLayer::localhost()).contains("[::1]"));
}
