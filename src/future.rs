//! Response futures: the one of the header-only layers (Host, Origin), and
//! the rule every layer follows for its inner service.
//!
//! **When the inner service is cloned.** Only when the response future must
//! outlive `call`: a layer that decides in `call` (Host, Origin, the headers
//! layer when an outer layer parsed the body, the session layer when its store
//! answers at once) calls the inner service there and clones nothing. A layer
//! that must first read the body or wait for its store takes the service that
//! `poll_ready` prepared into its future and leaves a clone in its place
//! (`take_ready`), as tower advises ("be careful when cloning inner
//! services"); the clone is polled ready before its own next call.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

/// Takes the inner service `poll_ready` prepared, for a future that calls it
/// later, and leaves a clone in its place (see the [module docs](self)).
pub(crate) fn take_ready<S: Clone>(inner: &mut S) -> S {
    let clone = inner.clone();
    std::mem::replace(inner, clone)
}

pin_project! {
    /// Response future of [`HostCheck`](crate::host::HostCheck) and
    /// [`OriginGuard`](crate::origin::OriginGuard).
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner { #[pin] future: F },
        Rejected { response: Option<Response<B>> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    pub(crate) fn rejected(response: Response<B>) -> Self {
        Self {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Rejected { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("ResponseFuture polled after completion"),
            },
        }
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
