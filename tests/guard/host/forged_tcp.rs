//! Forged and broken `Host` / `Origin` headers over real TCP, written byte for
//! byte, against (1) an axum app served with `axum::serve` and (2) a plain
//! hyper 1 server. Shows what the layers see after hyper's own HTTP/1.1
//! parser, which tests with `Request::builder` cannot.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request as AxumRequest};
use axum::middleware::{self, Next};
use axum::routing::any;
use axum::Router;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use mcp_tower_guard::host::PeerAddr;
use mcp_tower_guard::{HostCheckLayer, OriginGuardLayer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tower::{ServiceBuilder, ServiceExt};

const LIMIT: Duration = Duration::from_secs(10);

/// Copies axum's `ConnectInfo` into the crate's `PeerAddr`.
async fn peer_addr(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: AxumRequest,
    next: Next,
) -> axum::response::Response {
    req.extensions_mut().insert(PeerAddr(peer));
    next.run(req).await
}

async fn serve_axum(hosts: HostCheckLayer, origins: OriginGuardLayer) -> SocketAddr {
    let app = Router::new()
        .route("/mcp", any(|| async { "ok" }))
        .layer(origins)
        .layer(hosts)
        .layer(middleware::from_fn(peer_addr));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

async fn serve_hyper(hosts: HostCheckLayer, origins: OriginGuardLayer) -> SocketAddr {
    let svc = ServiceBuilder::new()
        .layer(hosts)
        .layer(origins)
        .service_fn(|_req: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let svc = svc.clone();
            tokio::spawn(async move {
                let conn = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let svc = svc.clone();
                    async move {
                        // The layers never read the request body; the body is
                        // buffered here only so the handler sees `Full<Bytes>`.
                        let (mut parts, body) = req.into_parts();
                        parts.extensions.insert(PeerAddr(peer));
                        let bytes = http_body_util::BodyExt::collect(body)
                            .await
                            .map(|c| c.to_bytes())
                            .unwrap_or_default();
                        svc.oneshot(Request::from_parts(parts, Full::new(bytes)))
                            .await
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), conn)
                    .await;
            });
        }
    });
    addr
}

/// Writes `raw` and returns the status code and the whole response.
async fn exchange(addr: SocketAddr, raw: &[u8]) -> (u16, String) {
    timeout(LIMIT, async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(raw).await.unwrap();
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        (status, text)
    })
    .await
    .expect("server did not answer in time")
}

/// Raw requests and the status each must get, against the loopback lists.
/// All use `Connection: close` (or HTTP/1.0) so the read ends.
const CASES: &[(&str, &[u8], u16)] = &[
    ("plain localhost", b"GET /mcp HTTP/1.1\r\nHost: localhost:8000\r\nConnection: close\r\n\r\n", 200),
    ("upper case + trailing dot", b"GET /mcp HTTP/1.1\r\nHost: LOCALHOST.:8000\r\nConnection: close\r\n\r\n", 200),
    ("non-canonical IPv6", b"GET /mcp HTTP/1.1\r\nHost: [0:0:0:0:0:0:0:1]:8000\r\nConnection: close\r\n\r\n", 200),
    ("forged host", b"GET /mcp HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", 403),
    ("lookalike", b"POST /mcp HTTP/1.1\r\nHost: localhost.evil.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 403),
    ("IPv4 shorthand", b"GET /mcp HTTP/1.1\r\nHost: 127.1:8000\r\nConnection: close\r\n\r\n", 403),
    ("decimal IPv4", b"GET /mcp HTTP/1.1\r\nHost: 2130706433\r\nConnection: close\r\n\r\n", 403),
    ("duplicate Host, second forged", b"GET /mcp HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\nConnection: close\r\n\r\n", 400),
    ("duplicate Host, first forged", b"GET /mcp HTTP/1.1\r\nHost: evil.example\r\nHost: localhost\r\nConnection: close\r\n\r\n", 400),
    ("duplicate Host, identical", b"GET /mcp HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\nConnection: close\r\n\r\n", 400),
    ("userinfo", b"GET /mcp HTTP/1.1\r\nHost: evil.example@localhost:8000\r\nConnection: close\r\n\r\n", 400),
    ("empty userinfo", b"GET /mcp HTTP/1.1\r\nHost: @localhost\r\nConnection: close\r\n\r\n", 400),
    ("port suffix junk", b"GET /mcp HTTP/1.1\r\nHost: localhost:8000.evil.example\r\nConnection: close\r\n\r\n", 400),
    ("non-numeric port", b"GET /mcp HTTP/1.1\r\nHost: localhost:evil.example\r\nConnection: close\r\n\r\n", 400),
    ("port out of range", b"GET /mcp HTTP/1.1\r\nHost: localhost:99999\r\nConnection: close\r\n\r\n", 400),
    ("junk after IPv6", b"GET /mcp HTTP/1.1\r\nHost: [::1]evil.example\r\nConnection: close\r\n\r\n", 400),
    ("unbracketed IPv6", b"GET /mcp HTTP/1.1\r\nHost: ::1\r\nConnection: close\r\n\r\n", 400),
    ("path in Host", b"GET /mcp HTTP/1.1\r\nHost: localhost/evil\r\nConnection: close\r\n\r\n", 400),
    ("backslash in Host", b"GET /mcp HTTP/1.1\r\nHost: localhost\\evil.example\r\nConnection: close\r\n\r\n", 400),
    ("non-UTF-8 Host", b"GET /mcp HTTP/1.1\r\nHost: local\xffhost\r\nConnection: close\r\n\r\n", 400),
    ("Latin-1 Host", b"GET /mcp HTTP/1.1\r\nHost: l\xf6calhost\r\nConnection: close\r\n\r\n", 400),
    ("HTTP/1.0 without Host", b"GET /mcp HTTP/1.0\r\n\r\n", 400),
    ("HTTP/1.0 with Host", b"GET /mcp HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", 200),
    ("absolute-form, foreign authority", b"GET http://evil.example/mcp HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 403),
    ("absolute-form, foreign Host header", b"GET http://localhost/mcp HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", 403),
    ("absolute-form, agreeing", b"GET http://localhost:8000/mcp HTTP/1.1\r\nHost: localhost:8000\r\nConnection: close\r\n\r\n", 200),
    ("absolute-form, no Host header", b"GET http://[::1]:8000/mcp HTTP/1.1\r\nConnection: close\r\n\r\n", 200),
    ("absolute-form with userinfo", b"GET http://evil.example@localhost/mcp HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 400),
    // Origin
    ("foreign Origin on POST", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://evil.example\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", 403),
    ("foreign Origin on GET", b"GET /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://evil.example\r\nConnection: close\r\n\r\n", 403),
    ("foreign Origin on DELETE", b"DELETE /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://evil.example\r\nConnection: close\r\n\r\n", 403),
    ("foreign Origin on OPTIONS", b"OPTIONS /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://evil.example\r\nConnection: close\r\n\r\n", 403),
    ("null Origin", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: null\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 403),
    ("Origin prefix trick", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost:3000.evil.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 403),
    ("Origin with userinfo", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://user@localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 403),
    ("two Origin headers", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost:3000\r\nOrigin: http://evil.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 403),
    ("non-UTF-8 Origin", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://local\xffhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 403),
    ("local Origin", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost:6274\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 200),
    ("https local Origin", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: https://127.0.0.1:6274\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 200),
    // Fetch Metadata (issue 12): without Origin, a browser's Sec-Fetch-Site decides.
    ("cross-site without Origin", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nSec-Fetch-Site: cross-site\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 403),
    ("cross-site GET without Origin", b"GET /mcp HTTP/1.1\r\nHost: localhost\r\nSec-Fetch-Site: cross-site\r\nConnection: close\r\n\r\n", 403),
    ("same-origin without Origin", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nSec-Fetch-Site: same-origin\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 200),
    ("same-site without Origin", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nSec-Fetch-Site: same-site\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 200),
    ("user-initiated (none)", b"GET /mcp HTTP/1.1\r\nHost: localhost\r\nSec-Fetch-Site: none\r\nConnection: close\r\n\r\n", 200),
    ("unknown Sec-Fetch-Site token", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nSec-Fetch-Site: Cross-Site\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 403),
    ("two Sec-Fetch-Site headers", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-Site: cross-site\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 403),
    ("cross-site with an allowed Origin: the allowlist decides", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost:6274\r\nSec-Fetch-Site: cross-site\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 200),
    ("same-origin with a foreign Origin: the allowlist decides", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://evil.example\r\nSec-Fetch-Site: same-origin\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 403),
    ("neither header (a non-browser client)", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 200),
];

async fn run_cases(server: &str, addr: SocketAddr) {
    for (name, raw, want) in CASES {
        let (status, text) = exchange(addr, raw).await;
        assert_eq!(status, *want, "{server}: {name}\n{text}");
        if *want != 200 {
            // Our rejection, not something hyper made up.
            assert!(
                text.contains("\"jsonrpc\":\"2.0\""),
                "{server}: {name}\n{text}"
            );
            assert!(
                text.to_ascii_lowercase()
                    .contains("content-type: application/json"),
                "{server}: {name}\n{text}"
            );
            assert!(
                !text.to_ascii_lowercase().contains("www-authenticate"),
                "{server}: {name}\n{text}"
            );
        }
    }
}

#[tokio::test]
async fn axum_serve_forged_requests() {
    let addr = serve_axum(HostCheckLayer::localhost(), OriginGuardLayer::localhost()).await;
    run_cases("axum", addr).await;
}

#[tokio::test]
async fn hyper_forged_requests() {
    let addr = serve_hyper(HostCheckLayer::localhost(), OriginGuardLayer::localhost()).await;
    run_cases("hyper", addr).await;
}

/// `X-Forwarded-Host` / `Forwarded` count only from a trusted peer. The test
/// client connects from 127.0.0.1.
#[tokio::test]
async fn forwarded_host_needs_a_trusted_peer() {
    let allow = ["mcp.example.com"];
    let cases: &[(&str, &[u8], u16, u16)] = &[
        // (name, request, status when 127.0.0.1 is trusted, status when it is not)
        (
            "X-Forwarded-Host of an allowed host",
            b"GET /mcp HTTP/1.1\r\nHost: backend:9000\r\nX-Forwarded-Host: mcp.example.com\r\nConnection: close\r\n\r\n",
            200,
            403,
        ),
        (
            "X-Forwarded-Host forged upstream, proxy appended the real one",
            b"GET /mcp HTTP/1.1\r\nHost: backend:9000\r\nX-Forwarded-Host: evil.example, mcp.example.com\r\nConnection: close\r\n\r\n",
            200,
            403,
        ),
        (
            "X-Forwarded-Host of a foreign host",
            b"GET /mcp HTTP/1.1\r\nHost: mcp.example.com\r\nX-Forwarded-Host: evil.example\r\nConnection: close\r\n\r\n",
            403,
            200,
        ),
        (
            "Forwarded host, last element",
            b"GET /mcp HTTP/1.1\r\nHost: backend:9000\r\nForwarded: host=evil.example, for=192.0.2.1;host=\"mcp.example.com:443\"\r\nConnection: close\r\n\r\n",
            200,
            403,
        ),
        (
            "malformed Forwarded",
            b"GET /mcp HTTP/1.1\r\nHost: mcp.example.com\r\nForwarded: host=\"mcp.example.com\r\nConnection: close\r\n\r\n",
            400,
            200,
        ),
    ];
    for trusted in [true, false] {
        let proxy = if trusted { "127.0.0.1" } else { "10.9.9.9" };
        let hosts = || {
            HostCheckLayer::new(allow)
                .unwrap()
                .trust_forwarded_host([proxy.parse().unwrap()])
        };
        let axum_addr = serve_axum(hosts(), OriginGuardLayer::localhost()).await;
        let hyper_addr = serve_hyper(hosts(), OriginGuardLayer::localhost()).await;
        for (server, addr) in [("axum", axum_addr), ("hyper", hyper_addr)] {
            for (name, raw, if_trusted, if_not) in cases {
                let want = if trusted { if_trusted } else { if_not };
                let (status, text) = exchange(addr, raw).await;
                assert_eq!(status, *want, "{server} trusted={trusted}: {name}\n{text}");
            }
        }
    }
}

/// `allow_same_site(false)` and `fetch_metadata(false)` over TCP.
#[tokio::test]
async fn fetch_metadata_settings() {
    let same_site = b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nSec-Fetch-Site: same-site\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let cross_site = b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nSec-Fetch-Site: cross-site\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let strict = serve_axum(
        HostCheckLayer::localhost(),
        OriginGuardLayer::localhost().allow_same_site(false),
    )
    .await;
    let (status, text) = exchange(strict, same_site).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("Sec-Fetch-Site"), "{text}");
    let off = serve_axum(
        HostCheckLayer::localhost(),
        OriginGuardLayer::localhost().fetch_metadata(false),
    )
    .await;
    assert_eq!(exchange(off, cross_site).await.0, 200);
}
