//! [`KeepAlive`]: an open response stream counts as activity on its session.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::session::context::SessionContext;

pin_project! {
    /// A streamed answer (a GET stream, or a POST answered with SSE) holding its
    /// session's activity mark until it ends, fails or is dropped: the idle
    /// timer then restarts from the stream's close, not from the request.
    pub(crate) struct KeepAlive<B> {
        #[pin]
        inner: B,
        session: Option<SessionContext>,
    }
}

impl<B> KeepAlive<B> {
    pub(crate) fn new(inner: B, session: SessionContext) -> Self {
        Self {
            inner,
            session: Some(session),
        }
    }
}

impl<B: Body<Data = Bytes>> Body for KeepAlive<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if !matches!(frame, Some(Ok(_))) {
            // The stream is over: the session is idle from now.
            this.session.take();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
