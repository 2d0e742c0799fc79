//! Body types the layers can write bytes into.
//!
//! The layers never change a service's body types. Two places still need to
//! build a body from bytes:
//!
//! - **Rejection responses.** [`crate::JsonRpcRejection`] writes its JSON into
//!   the response body when the type is one of: `axum::body::Body` (feature
//!   `axum`), `http_body_util::Full<Bytes>`, `BoxBody<Bytes, E>` and
//!   `UnsyncBoxBody<Bytes, E>` with `E` = `Infallible` (rmcp's body), a boxed
//!   error or `axum::Error`, or `String`. Any other `B: Default` gets the status
//!   alone; the decision is a type-id comparison the compiler folds away.
//! - **Replayed request bodies.** The headers and session layers read a POST
//!   body once to parse its JSON-RPC envelope, then hand the same bytes on in the
//!   same body type. That needs [`ReplayBody`]. For `hyper::body::Incoming`,
//!   map the request body to one of these types first (for example
//!   `req.map(axum::body::Body::new)`), as axum does for you.

use std::any::Any;
use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::combinators::{BoxBody, UnsyncBoxBody};
use http_body_util::{BodyExt, Full};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body type that can be rebuilt from the bytes the layer read.
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use mcp_tower_guard::body::ReplayBody;
///
/// let body = Full::<Bytes>::from_bytes(Bytes::from_static(b"{}"));
/// # let _ = body;
/// ```
///
/// axum's `Body` implements it with the `axum` feature (on by default); a
/// hyper `Incoming` body must be collected or mapped first.
#[diagnostic::on_unimplemented(
    message = "the request body `{Self}` cannot be replayed after the layer reads it",
    label = "this body type does not implement `ReplayBody`",
    note = "for axum's `Body`, enable mcp-tower-guard's `axum` feature (on by default); \
            for hyper's `Incoming`, map the body to `Full<Bytes>` or `BoxBody` first"
)]
pub trait ReplayBody: http_body::Body + Sized {
    /// Wraps `bytes` as a complete body.
    fn from_bytes(bytes: Bytes) -> Self;
}

impl ReplayBody for Full<Bytes> {
    fn from_bytes(bytes: Bytes) -> Self {
        Full::new(bytes)
    }
}

impl<E: 'static> ReplayBody for BoxBody<Bytes, E> {
    fn from_bytes(bytes: Bytes) -> Self {
        Full::new(bytes).map_err(|never| match never {}).boxed()
    }
}

impl<E: 'static> ReplayBody for UnsyncBoxBody<Bytes, E> {
    fn from_bytes(bytes: Bytes) -> Self {
        Full::new(bytes)
            .map_err(|never| match never {})
            .boxed_unsync()
    }
}

impl ReplayBody for String {
    fn from_bytes(bytes: Bytes) -> Self {
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(feature = "axum")]
impl ReplayBody for axum_core::body::Body {
    fn from_bytes(bytes: Bytes) -> Self {
        axum_core::body::Body::from(bytes)
    }
}

/// Builds `B` from `bytes` when `B` is one of the known byte-carrying body types.
pub(crate) fn from_bytes<B: 'static>(bytes: Bytes) -> Option<B> {
    let mut slot: Option<B> = None;
    let _found = fill::<B, Full<Bytes>>(&mut slot, &bytes)
        || fill::<B, BoxBody<Bytes, Infallible>>(&mut slot, &bytes)
        || fill::<B, UnsyncBoxBody<Bytes, Infallible>>(&mut slot, &bytes)
        || fill::<B, BoxBody<Bytes, BoxError>>(&mut slot, &bytes)
        || fill::<B, UnsyncBoxBody<Bytes, BoxError>>(&mut slot, &bytes)
        || fill::<B, String>(&mut slot, &bytes)
        || fill_axum::<B>(&mut slot, &bytes);
    slot
}

fn fill<B: 'static, T: ReplayBody + 'static>(slot: &mut Option<B>, bytes: &Bytes) -> bool {
    match (slot as &mut dyn Any).downcast_mut::<Option<T>>() {
        Some(typed) => {
            *typed = Some(T::from_bytes(bytes.clone()));
            true
        }
        None => false,
    }
}

#[cfg(feature = "axum")]
fn fill_axum<B: 'static>(slot: &mut Option<B>, bytes: &Bytes) -> bool {
    fill::<B, axum_core::body::Body>(slot, bytes)
        || fill::<B, BoxBody<Bytes, axum_core::Error>>(slot, bytes)
        || fill::<B, UnsyncBoxBody<Bytes, axum_core::Error>>(slot, bytes)
}

#[cfg(not(feature = "axum"))]
fn fill_axum<B: 'static>(_slot: &mut Option<B>, _bytes: &Bytes) -> bool {
    false
}

/// Reads a response body into `buf`, at most `limit` bytes in all: the bounded
/// read the headers and session layers use on answers they inspect. `Err`
/// names why the answer could not be read.
pub(crate) fn poll_collect<B: http_body::Body>(
    mut body: std::pin::Pin<&mut B>,
    buf: &mut bytes::BytesMut,
    limit: usize,
    cx: &mut std::task::Context<'_>,
) -> std::task::Poll<Result<(), &'static str>> {
    use bytes::Buf;
    use std::task::Poll;
    loop {
        match std::task::ready!(body.as_mut().poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let Ok(mut data) = frame.into_data() {
                    if buf.len() + data.remaining() > limit {
                        return Poll::Ready(Err("answer larger than the read limit"));
                    }
                    while data.has_remaining() {
                        let chunk = data.chunk();
                        buf.extend_from_slice(chunk);
                        let n = chunk.len();
                        data.advance(n);
                    }
                }
            }
            Some(Err(_)) => return Poll::Ready(Err("answer body failed")),
            None => return Poll::Ready(Ok(())),
        }
    }
}

/// True when `B` is a body type [`from_bytes`] can rebuild.
pub(crate) fn rebuildable<B: 'static>() -> bool {
    from_bytes::<B>(Bytes::new()).is_some()
}

/// Wraps a response body (with a value) and boxes it back into its own type,
/// for the streaming body types this crate knows: axum's `Body`, and `BoxBody` /
/// `UnsyncBoxBody` over `Bytes` with the common error types. Evaluates to
/// `Ok(body)`, or `Err((body, with))` for any other type.
///
/// `rewrap!(body, with, |inner, with| Wrapper::new(inner, with))`: the wrapping
/// expression is checked once per known type, so it stays generic.
macro_rules! rewrap {
    ($body:expr, $with:expr, |$inner:ident, $value:pat_param| $wrap:expr) => {{
        use http_body_util::combinators::{BoxBody, UnsyncBoxBody};
        let mut slot = Some($body);
        let mut with = Some($with);
        let _found = $crate::body::rebox(
            &mut slot,
            &mut with,
            |$inner: BoxBody<bytes::Bytes, std::convert::Infallible>, $value| BoxBody::new($wrap),
        ) || $crate::body::rebox(
            &mut slot,
            &mut with,
            |$inner: UnsyncBoxBody<bytes::Bytes, std::convert::Infallible>, $value| {
                UnsyncBoxBody::new($wrap)
            },
        ) || $crate::body::rebox(
            &mut slot,
            &mut with,
            |$inner: BoxBody<bytes::Bytes, $crate::body::BoxError>, $value| BoxBody::new($wrap),
        ) || $crate::body::rebox(
            &mut slot,
            &mut with,
            |$inner: UnsyncBoxBody<bytes::Bytes, $crate::body::BoxError>, $value| {
                UnsyncBoxBody::new($wrap)
            },
        ) || $crate::body::rewrap_axum!(slot, with, |$inner, $value| $wrap);
        $crate::body::rewrapped(slot, with)
    }};
}
pub(crate) use rewrap;

#[cfg(feature = "axum")]
macro_rules! rewrap_axum {
    ($slot:ident, $with:ident, |$inner:ident, $value:pat_param| $wrap:expr) => {
        $crate::body::rebox(
            &mut $slot,
            &mut $with,
            |$inner: axum_core::body::Body, $value| axum_core::body::Body::new($wrap),
        ) || $crate::body::rebox(
            &mut $slot,
            &mut $with,
            |$inner: BoxBody<bytes::Bytes, axum_core::Error>, $value| BoxBody::new($wrap),
        ) || $crate::body::rebox(
            &mut $slot,
            &mut $with,
            |$inner: UnsyncBoxBody<bytes::Bytes, axum_core::Error>, $value| {
                UnsyncBoxBody::new($wrap)
            },
        )
    };
}
#[cfg(not(feature = "axum"))]
macro_rules! rewrap_axum {
    ($slot:ident, $with:ident, |$inner:ident, $value:pat_param| $wrap:expr) => {
        false
    };
}
pub(crate) use rewrap_axum;

/// One step of [`rewrap!`]: when `B` is `T`, wraps the body in place.
pub(crate) fn rebox<B: 'static, T: 'static, W>(
    slot: &mut Option<B>,
    with: &mut Option<W>,
    wrap: impl FnOnce(T, W) -> T,
) -> bool {
    let Some(typed) = (slot as &mut dyn Any).downcast_mut::<Option<T>>() else {
        return false;
    };
    if let (Some(body), Some(value)) = (typed.take(), with.take()) {
        *typed = Some(wrap(body, value));
    }
    true
}

/// The outcome of [`rewrap!`].
pub(crate) fn rewrapped<B: Default, W>(slot: Option<B>, with: Option<W>) -> Result<B, (B, W)> {
    match (slot, with) {
        (Some(body), Some(with)) => Err((body, with)),
        (Some(body), None) => Ok(body),
        // `rebox` always puts a body back in its slot; this arm is never taken.
        (None, _) => Ok(B::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn text<B: http_body::Body>(b: B) -> Vec<u8>
    where
        B::Error: std::fmt::Debug,
    {
        b.collect().await.unwrap().to_bytes().to_vec()
    }

    #[tokio::test]
    async fn known_types_carry_the_bytes() {
        let b = Bytes::from_static(b"{\"a\":1}");
        assert_eq!(text(from_bytes::<Full<Bytes>>(b.clone()).unwrap()).await, b);
        assert_eq!(
            text(from_bytes::<BoxBody<Bytes, Infallible>>(b.clone()).unwrap()).await,
            b
        );
        assert_eq!(
            text(from_bytes::<UnsyncBoxBody<Bytes, BoxError>>(b.clone()).unwrap()).await,
            b
        );
        #[cfg(feature = "axum")]
        assert_eq!(
            text(from_bytes::<axum_core::body::Body>(b.clone()).unwrap()).await,
            b
        );
    }

    #[test]
    fn unknown_types_get_none() {
        assert!(from_bytes::<http_body_util::Empty<Bytes>>(Bytes::new()).is_none());
        assert!(from_bytes::<()>(Bytes::new()).is_none());
    }
}
