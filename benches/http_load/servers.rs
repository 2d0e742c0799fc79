//! The servers under load: the demo's handler bare and behind the layers,
//! the demo itself, and rmcp's `StreamableHttpService` bare and governed.

use super::*;

fn build(target: Target, max_sessions: usize) -> (Router, Server) {
    let blank = |store, cancel: Option<Box<dyn FnOnce()>>| Server {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        stop: None,
        rmcp_cancel: cancel,
        store,
    };
    let store = || store(max_sessions);
    match target {
        Target::Unguarded => (demo_handler::router(None), blank(None, None)),
        Target::GuardedOuter => unreachable!("served by `start` itself"),
        Target::Guarded => {
            let store = store();
            (
                demo_handler::router(Some(store.clone())),
                blank(Some(store), None),
            )
        }
        Target::Demo => {
            let config = app::DemoConfig {
                max_sessions,
                ..app::DemoConfig::for_tests()
            };
            let (router, store) = app::app(&config).expect("demo app");
            (router, blank(Some(store), None))
        }
        Target::RmcpDefault => {
            let (service, cancel) = rmcp_default();
            (
                Router::new().route_service("/mcp", service),
                blank(None, Some(cancel)),
            )
        }
        Target::RmcpGoverned => {
            // The very configuration of RmcpDefault, behind the whole guard.
            let (service, cancel) = rmcp_default();
            let store = store();
            let guard = mcp_tower_guard::McpGuard::local(SocketAddr::from(([127, 0, 0, 1], 0)))
                .expect("loopback")
                .server_sessions(store.clone());
            (
                Router::new().route_service("/mcp", guard.into_service(service)),
                blank(Some(store), Some(cancel)),
            )
        }
        Target::RmcpGuarded => {
            let bind = SocketAddr::from(([127, 0, 0, 1], 0));
            let (router, store, config) =
                rmcp_server::rmcp_app(bind, Duration::from_secs(30 * 60)).expect("rmcp app");
            let cancel = config.cancellation_token;
            (
                router,
                blank(Some(store), Some(Box::new(move || cancel.cancel()))),
            )
        }
    }
}

/// The session store every guarded target uses.
fn store(max_sessions: usize) -> MokaSessionStore {
    MokaSessionStore::builder()
        .max_sessions(max_sessions)
        .build()
        .expect("store")
}

/// rmcp's `StreamableHttpService` with its defaults (`LocalSessionManager`,
/// legacy session mode, SSE answers), and what cancels its sessions.
fn rmcp_default() -> (
    StreamableHttpService<rmcp_server::DemoTools, LocalSessionManager>,
    Box<dyn FnOnce()>,
) {
    let config = StreamableHttpServerConfig::default();
    let cancel = config.cancellation_token.clone();
    let service = StreamableHttpService::new(
        || Ok(rmcp_server::DemoTools),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    (service, Box::new(move || cancel.cancel()))
}

/// Starts `target` on 127.0.0.1, port 0, on the server runtime.
pub(super) fn start(rt: &Runtime, target: Target, max_sessions: usize) -> Server {
    let _guard = rt.enter();
    if target == Target::GuardedOuter {
        let store = store(max_sessions);
        let service = demo_handler::outer(store.clone());
        let mut server = Server {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stop: None,
            rmcp_cancel: None,
            store: Some(store),
        };
        spawn_serve(rt, &mut server, service);
        return server;
    }
    let (router, mut server) = build(target, max_sessions);
    spawn_serve(rt, &mut server, router);
    server
}

/// Binds 127.0.0.1, port 0, and serves `service` there with the demo's
/// `app::serve` until `server` is stopped.
fn spawn_serve<S>(rt: &Runtime, server: &mut Server, service: S)
where
    S: tower::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let listener = rt
        .block_on(TcpListener::bind(("127.0.0.1", 0)))
        .expect("bind");
    server.addr = listener.local_addr().expect("local addr");
    let (tx, rx) = oneshot::channel::<()>();
    server.stop = Some(tx);
    rt.spawn(async move {
        let shutdown = async move {
            let _ = rx.await;
        };
        if let Err(err) = app::serve(listener, service, shutdown).await {
            eprintln!("server error: {err}");
        }
    });
}
