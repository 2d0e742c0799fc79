//! `Accept` (406), `Content-Type` (415) and the HTTP methods (405 with `Allow`).

use super::*;

// ------------------------------------------------------------------ Accept

#[tokio::test]
async fn spec_post_accept_must_list_json_and_event_stream_else_406() {
    // "The client MUST include an Accept header, listing both application/json and
    // text/event-stream as supported content types."
    let with_accept = |accept: Option<&str>| {
        let mut b = Request::post("/mcp").header("content-type", "application/json");
        if let Some(a) = accept {
            b = b.header("accept", a);
        }
        with_body(b, PING)
    };
    for ok in [
        ACCEPT_BOTH,
        "*/*",
        "application/*, text/*",
        "text/event-stream;q=0.5, application/json;q=0.1",
        "APPLICATION/JSON, Text/Event-Stream",
        "application/json; charset=utf-8 , text/event-stream",
        ",application/json,,text/event-stream,",
    ] {
        send(with_accept(Some(ok))).await.passed();
    }
    for bad in [
        None,
        Some(""),
        Some("application/json"),
        Some("text/event-stream"),
        Some("*/*, application/json;q=0"),
        Some("application/*;q=0, */*"),
        Some("text/html"),
        Some("application/json;q=2, text/event-stream"),
        Some("application/json text/event-stream"),
    ] {
        let out = send(with_accept(bad)).await;
        out.rejected(StatusCode::NOT_ACCEPTABLE, -32000);
        assert_eq!(
            out.rejection.unwrap().kind(),
            RejectionKind::NotAcceptable,
            "{bad:?}"
        );
    }
    // Two Accept fields form one list.
    let mut req = with_accept(Some("application/json"));
    req.headers_mut()
        .append("accept", HeaderValue::from_static("text/event-stream"));
    send(req).await.passed();
}

#[tokio::test]
async fn spec_get_accept_must_list_event_stream_else_406() {
    // "The client MUST include an Accept header, listing text/event-stream as a supported content type."
    let get = |accept: Option<&str>| {
        let mut b = Request::get("/mcp");
        if let Some(a) = accept {
            b = b.header("accept", a);
        }
        b.body(Full::default()).unwrap()
    };
    for ok in [
        "text/event-stream",
        "*/*",
        "text/*",
        "application/json, text/event-stream",
    ] {
        send(get(Some(ok))).await.passed();
    }
    for bad in [
        None,
        Some("application/json"),
        Some("text/*, text/event-stream;q=0"),
    ] {
        send(get(bad))
            .await
            .rejected(StatusCode::NOT_ACCEPTABLE, -32000);
    }
}

#[tokio::test]
async fn check_accept_false_lets_missing_accept_through() {
    let layer = McpHeadersLayer::new().check_accept(false);
    let req = with_body(
        Request::post("/mcp").header("content-type", "application/json"),
        PING,
    );
    send_with(layer.clone(), req).await.passed();
    send_with(layer, Request::get("/mcp").body(Full::default()).unwrap())
        .await
        .passed();
}

// ---------------------------------------------------------------- Content-Type

#[tokio::test]
async fn post_content_type_must_be_application_json_else_415() {
    let with_ct = |ct: Option<&str>| {
        let mut b = Request::post("/mcp").header("accept", ACCEPT_BOTH);
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        with_body(b, PING)
    };
    for ok in [
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=\"UTF-8\"",
    ] {
        send(with_ct(Some(ok))).await.passed();
    }
    for bad in [
        None,
        Some("application/jsonx"),
        Some("text/plain"),
        Some("text/plain; a=application/json"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("*/*"),
    ] {
        let out = send(with_ct(bad)).await;
        out.rejected(StatusCode::UNSUPPORTED_MEDIA_TYPE, -32000);
    }
    let layer = McpHeadersLayer::new().check_content_type(false);
    send_with(layer, with_ct(Some("text/plain"))).await.passed();
}

// -------------------------------------------------------------------- methods

#[tokio::test]
async fn other_methods_are_405_with_allow() {
    // Decision: OPTIONS and HEAD are 405 too; a CORS layer outside answers preflights.
    for m in [
        Method::PUT,
        Method::PATCH,
        Method::OPTIONS,
        Method::HEAD,
        Method::TRACE,
    ] {
        let req = Request::builder()
            .method(m.clone())
            .uri("/mcp")
            .header("accept", "*/*")
            .body(Full::default())
            .unwrap();
        let out = send(req).await;
        assert_eq!(out.status, StatusCode::METHOD_NOT_ALLOWED, "{m}");
        assert_eq!(out.headers["allow"], "GET, POST, DELETE");
        assert_eq!(out.headers["x-content-type-options"], "nosniff");
        assert_eq!(
            out.rejection.unwrap().kind(),
            RejectionKind::MethodNotAllowed
        );
    }
    let modern_only = McpHeadersLayer::new().supported_versions([MODERN]).unwrap();
    let req = Request::builder()
        .method(Method::PUT)
        .uri("/mcp")
        .body(Full::default())
        .unwrap();
    let out = send_with(modern_only, req).await;
    assert_eq!(out.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(out.headers["allow"], "POST");
}

#[tokio::test]
async fn spec_2026_07_28_get_and_delete_are_405_allow_post() {
    // "HTTP GET or DELETE to the MCP endpoint: respond with 405 Method Not Allowed."
    for m in [Method::GET, Method::DELETE] {
        let req = Request::builder()
            .method(m.clone())
            .uri("/mcp")
            .header("accept", "text/event-stream")
            .header("mcp-protocol-version", MODERN)
            .body(Full::default())
            .unwrap();
        let out = send(req).await;
        out.rejected(StatusCode::METHOD_NOT_ALLOWED, -32000);
        assert_eq!(out.headers["allow"], "POST", "{m}");
        // A modern-only server refuses them whatever the header says.
        let modern_only = McpHeadersLayer::new().supported_versions([MODERN]).unwrap();
        let req = Request::builder()
            .method(m)
            .uri("/mcp")
            .header("accept", "text/event-stream")
            .body(Full::default())
            .unwrap();
        let out = send_with(modern_only, req).await;
        assert_eq!(
            (out.status, &out.headers["allow"]),
            (
                StatusCode::METHOD_NOT_ALLOWED,
                &HeaderValue::from_static("POST")
            )
        );
    }
}
