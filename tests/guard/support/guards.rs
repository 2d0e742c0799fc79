//! Helpers of the Host and Origin tests: requests, inner services, a log capture.

use std::convert::Infallible;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{header, Method, Request, Response};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use tower::Service;

pub(crate) const METHODS: [Method; 4] =
    [Method::GET, Method::POST, Method::DELETE, Method::OPTIONS];

pub(crate) fn request<B: Default>(
    method: &Method,
    host: Option<&str>,
    origin: Option<&str>,
) -> Request<B> {
    let mut builder = Request::builder().method(method.clone()).uri("/mcp");
    if let Some(host) = host {
        builder = builder.header(header::HOST, host);
    }
    if let Some(origin) = origin {
        builder = builder.header(header::ORIGIN, origin);
    }
    builder.body(B::default()).unwrap()
}

pub(crate) async fn json_body<B>(res: Response<B>) -> serde_json::Value
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&bytes)))
}

pub(crate) fn assert_layer_bounds<L>(_: &L)
where
    L: Clone + Send + Sync + 'static,
{
}

/// An rmcp-shaped inner service: `Response<BoxBody<Bytes, Infallible>>`.
pub(crate) fn boxbody_service(
    calls: Arc<AtomicUsize>,
) -> impl Service<
    Request<Full<Bytes>>,
    Response = Response<BoxBody<Bytes, Infallible>>,
    Error = Infallible,
    Future = impl Send,
> + Clone
       + Send
       + Sync
       + 'static {
    tower::service_fn(move |_req: Request<Full<Bytes>>| {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("ok")).boxed()))
        }
    })
}

/// A `MakeWriter` that appends to a shared buffer.
#[derive(Clone, Default)]
pub(crate) struct Captured(pub(crate) Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Captures every `tracing` event of the current thread while the guard lives.
pub(crate) fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    // Other tests' subscribers share the callsite interest cache: count
    // this one in now, so no callsite stays cached as "never".
    tracing::callsite::rebuild_interest_cache();
    (logs, guard)
}
