//! Serving: TCP_NODELAY, HTTP/1.1 keep-alive and HTTP/2 (h2c) on one port,
//! graceful shutdown.

use super::*;

// ---------------------------------------------------------------------------
// Serving: TCP_NODELAY, HTTP/1.1 keep-alive and HTTP/2 (h2c) on one port, graceful shutdown
// ---------------------------------------------------------------------------

/// How long shutdown waits for open connections before giving up on them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `service` (an axum `Router`, or any service of axum requests) on
/// `listener` until `shutdown` completes, then drains connections (at most
/// [`DRAIN_TIMEOUT`]).
///
/// Every accepted socket gets `TCP_NODELAY`. The connection speaks HTTP/1.1
/// (keep-alive, 30 s header read timeout) or HTTP/2 with prior knowledge
/// (h2c), whichever the client opens with.
pub async fn serve<S, B, F>(listener: TcpListener, service: S, shutdown: F) -> std::io::Result<()>
where
    S: tower::Service<Request, Response = axum::http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    F: Future<Output = ()> + Send,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(Duration::from_secs(20));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(target: "demo", %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(target: "demo", %err, "TCP_NODELAY not set");
        }
        let svc = TowerToHyperService::new(service.clone().map_request(
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                // The session layer records the peer (`SocketAddr`) as client info;
                // axum extractors read `ConnectInfo`.
                req.extensions_mut().insert(peer);
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                req.map(Body::new)
            },
        ));
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(tcp), svc);
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            if let Err(err) = conn.await {
                tracing::debug!(target: "demo", %peer, %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(target: "demo", connections = graceful.count(), "draining connections");
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(target: "demo", "connections still open after {DRAIN_TIMEOUT:?}; closing them");
    }
    Ok(())
}
