//! `ProtocolVersion` and `SessionId` parse and print back; the session layer
//! agrees with `SessionId::parse`.

use super::*;

type B = Full<Bytes>;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// Asserts that a rejection response carries the JSON-RPC error body.
fn assert_jsonrpc_error(body: &[u8]) -> Result<(), TestCaseError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| TestCaseError::fail(format!("rejection body is not JSON: {e}")))?;
    prop_assert_eq!(&v["jsonrpc"], "2.0");
    prop_assert!(v["error"]["code"].is_i64(), "no error code in {}", v);
    prop_assert!(v["error"]["message"].is_string(), "no message in {}", v);
    // The request's own id or null (tests/guard/headers/modern_edge/ pins which); never a made-up one.
    prop_assert!(
        v["id"].is_null() || v["id"].is_number() || v["id"].is_string(),
        "bad id in {}",
        v
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    // ================================================== protocol version

    /// Arbitrary bytes: no panic; what parses is exactly ten bytes and
    /// prints back byte for byte; `FromStr` agrees (the header reader's
    /// agreement is a unit property of `protocol.rs`).
    #[test]
    fn protocol_version_arbitrary_bytes(bytes in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..16),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}".prop_map(String::into_bytes),
        "[0-9-]{8,12}".prop_map(String::into_bytes),
    ]) {
        let parsed = ProtocolVersion::parse_bytes(&bytes);
        if let Some(v) = parsed {
            let printed = v.to_string();
            prop_assert_eq!(printed.as_bytes(), &bytes[..]);
            let as_header = v.to_header_value();
            prop_assert_eq!(as_header.as_bytes(), &bytes[..]);
            prop_assert_eq!(std::str::from_utf8(&bytes).unwrap().parse::<ProtocolVersion>().ok(), Some(v));
        }
    }

    /// Every `YYYY-MM-DD` with month 1-12 and day 1-31 parses; order is date
    /// order; the era switches exactly at 2026-07-28; other months/days fail.
    #[test]
    fn protocol_version_dates(y in 0u32..10000, m in 0u32..100, d in 0u32..100, y2 in 0u32..10000, m2 in 1u32..13, d2 in 1u32..32) {
        let text = format!("{y:04}-{m:02}-{d:02}");
        let v = ProtocolVersion::parse_bytes(text.as_bytes());
        let valid = (1..=12).contains(&m) && (1..=31).contains(&d);
        prop_assert_eq!(v.is_some(), valid, "{}", text);
        let Some(v) = v else { return Ok(()) };
        let w = ProtocolVersion::parse_bytes(format!("{y2:04}-{m2:02}-{d2:02}").as_bytes()).unwrap();
        prop_assert_eq!(v.cmp(&w), (y, m, d).cmp(&(y2, m2, d2)));
        let modern = (y, m, d) >= (2026, 7, 28);
        prop_assert_eq!(v.era() == Era::Modern, modern);
        prop_assert_eq!(v.allows_batch(), (y, m, d) <= (2025, 3, 26));
    }

    // ======================================================== session id

    /// `SessionId::parse` accepts exactly 1..=256 visible ASCII bytes, and
    /// what it accepts prints back byte for byte. `Debug` never shows the id.
    #[test]
    fn session_id_parse(bytes in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(0x21u8..=0x7e, 0..300),
        "[!-~]{250,260}".prop_map(String::into_bytes),
    ]) {
        let want = if bytes.is_empty() {
            Err(InvalidSessionId::Empty)
        } else if bytes.len() > MAX_SESSION_ID_LEN {
            Err(InvalidSessionId::TooLong)
        } else if !bytes.iter().all(|b| (0x21..=0x7e).contains(b)) {
            Err(InvalidSessionId::InvalidByte)
        } else {
            Ok(())
        };
        let got = SessionId::parse(&bytes);
        prop_assert_eq!(got.as_ref().map(|_| ()).map_err(|e| *e), want);
        if let Ok(id) = got {
            prop_assert_eq!(id.as_str().as_bytes(), &bytes[..]);
            prop_assert_eq!(id.as_str().parse::<SessionId>().unwrap(), id.clone());
            prop_assert!(HeaderValue::from_str(id.as_str()).is_ok());
            if bytes.len() >= 12 {
                let debug = format!("{id:?}");
                prop_assert!(!debug.contains(id.as_str()), "Debug shows the id");
            }
        }
    }

    /// Through the session layer: a header `SessionId::parse` refuses gets
    /// 400 `MalformedSessionId`; a well-formed id the store never minted
    /// gets 404 -32001. Nothing reaches the inner service, nothing is stored.
    #[test]
    fn session_layer_agrees_with_parser(bytes in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        "[!-~]{1,64}".prop_map(String::into_bytes),
        Just(Vec::new()),
        Just(vec![b'a'; 257]),
    ], method in prop_oneof![Just(Method::POST), Just(Method::GET), Just(Method::DELETE)]) {
        let Some(value) = header(&bytes) else { return Ok(()) };
        let (store, svc) = session_stack();
        let before = store.stats();
        let req = Request::builder()
            .method(method.clone())
            .uri("/mcp")
            .header("mcp-session-id", value.clone())
            .body(Full::new(Bytes::from_static(br#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#)))
            .unwrap();
        let res = runtime().block_on(svc.clone().oneshot(req)).unwrap();
        let status = res.status();
        let r = res.extensions().get::<Rejection>().map(Rejection::kind);
        let body = runtime().block_on(res.into_body().collect()).unwrap().to_bytes();
        match SessionId::parse(value.as_bytes()) {
            Err(_) => {
                prop_assert_eq!(status, StatusCode::BAD_REQUEST);
                prop_assert_eq!(r, Some(RejectionKind::MalformedSessionId));
            }
            Ok(_) => {
                prop_assert_eq!(status, StatusCode::NOT_FOUND, "{} {:?}", method, value);
                prop_assert_eq!(r, Some(RejectionKind::SessionNotFound));
                let v: Value = serde_json::from_slice(&body).unwrap();
                prop_assert_eq!(&v["error"]["code"], -32001);
            }
        }
        assert_jsonrpc_error(&body)?;
        let after = store.stats();
        prop_assert_eq!(after.active, before.active);
        prop_assert_eq!(after.created, before.created);
        prop_assert_eq!(after.reserved, 0);
    }
}

/// One session stack (store + layer + inner service), shared by the cases of
/// `session_layer_agrees_with_parser`. The store holds a few real sessions so
/// "never hits" is checked against a non-empty table.
fn session_stack() -> Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK
        .get_or_init(|| {
            let store = MokaSessionStore::builder().max_sessions(100).build().unwrap();
            let f: fn(Request<B>) -> OkFut = |req| Box::pin(ok_service(req));
            let svc = McpSessionLayer::new(store.clone()).layer(tower::service_fn(f));
            for _ in 0..5 {
                let init = Request::post("/mcp")
                    .body(Full::new(Bytes::from_static(
                        br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#,
                    )))
                    .unwrap();
                let res = runtime().block_on(svc.clone().oneshot(init)).unwrap();
                assert_eq!(res.status(), StatusCode::OK);
                assert!(res.headers().contains_key("mcp-session-id"));
            }
            assert_eq!(store.stats().active, 5);
            (store, svc)
        })
        .clone()
}

/// The session layer over the test service.
type SessionSvc = mcp_tower_guard::session::McpSession<
    tower::util::ServiceFn<fn(Request<B>) -> OkFut>,
    mcp_tower_guard::JsonRpcRejection,
>;

/// The store and the service of `session_stack`.
type Stack = (MokaSessionStore, SessionSvc);

type OkFut =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response<B>, Infallible>> + Send>>;
