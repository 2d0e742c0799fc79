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
use std::task::{ready, Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

/// Takes the inner service `poll_ready` prepared, for a future that calls it
/// later, and leaves a clone in its place (see the [module docs](self)).
pub(crate) fn take_ready<S: Clone>(inner: &mut S) -> S {
    let clone = inner.clone();
    std::mem::replace(inner, clone)
}

/// What a layer's wait decided: answer now, or call the inner service.
#[cfg_attr(not(any(feature = "auth", feature = "ratelimit")), allow(dead_code))] // the layers that wait
pub(crate) enum Next<S, ReqB, ResB> {
    /// The layer answers itself (a refusal).
    Respond(Response<ResB>),
    /// The inner service (the one `take_ready` took) takes the request.
    Call(S, Request<ReqB>),
}

/// The wait of a layer that must learn more than the head tells before it
/// decides: a body read, a token's verification, a Redis round trip.
#[cfg_attr(not(any(feature = "auth", feature = "ratelimit")), allow(dead_code))] // the layers that wait
pub(crate) trait Wait<S, ReqB, ResB> {
    fn poll_wait(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Next<S, ReqB, ResB>>;
}

/// A layer that never waits (Host, Origin).
#[derive(Debug)]
pub(crate) enum NoWait {}

pin_project! {
    /// The one shape of a layer's response future: answered at once, waiting
    /// for what the layer needs to decide, or the inner service's own future.
    #[project = StagedProj]
    #[derive(Debug)]
    pub(crate) enum Staged<F, ResB, W> {
        Ready { response: Option<Response<ResB>> },
        Waiting { #[pin] wait: W },
        Inner { #[pin] future: F },
    }
}

impl<F, ResB, W> Staged<F, ResB, W> {
    pub(crate) fn ready(response: Response<ResB>) -> Self {
        Self::Ready {
            response: Some(response),
        }
    }

    #[cfg_attr(not(any(feature = "auth", feature = "ratelimit")), allow(dead_code))]
    pub(crate) fn waiting(wait: W) -> Self {
        Self::Waiting { wait }
    }

    pub(crate) fn inner(future: F) -> Self {
        Self::Inner { future }
    }

    /// Polls to the answer: a wait's decision calls the inner service or
    /// answers in its place.
    #[cfg_attr(not(any(feature = "auth", feature = "ratelimit")), allow(dead_code))]
    pub(crate) fn poll_staged<S, ReqB, E>(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Response<ResB>, E>>
    where
        S: Service<Request<ReqB>, Response = Response<ResB>, Error = E, Future = F>,
        F: Future<Output = Result<Response<ResB>, E>>,
        W: Wait<S, ReqB, ResB>,
    {
        loop {
            let next = match self.as_mut().project() {
                StagedProj::Ready { response } => return Poll::Ready(Ok(taken(response))),
                StagedProj::Inner { future } => return future.poll(cx),
                StagedProj::Waiting { wait } => match ready!(wait.poll_wait(cx)) {
                    Next::Respond(response) => Self::ready(response),
                    Next::Call(mut service, request) => Self::inner(service.call(request)),
                },
            };
            self.set(next);
        }
    }
}

impl<F, ResB, E> Staged<F, ResB, NoWait>
where
    F: Future<Output = Result<Response<ResB>, E>>,
{
    /// [`poll_staged`](Self::poll_staged) for a layer that never waits.
    fn poll_now(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Response<ResB>, E>> {
        match self.project() {
            StagedProj::Ready { response } => Poll::Ready(Ok(taken(response))),
            StagedProj::Inner { future } => future.poll(cx),
            StagedProj::Waiting { wait } => match *wait.get_mut() {},
        }
    }
}

/// The answer of a future polled once more after it gave it.
fn taken<ResB>(response: &mut Option<Response<ResB>>) -> Response<ResB> {
    match response.take() {
        Some(response) => response,
        None => spent(),
    }
}

/// A response future polled again after it gave its answer (the `Future`
/// contract allows a panic).
pub(crate) fn spent() -> ! {
    panic!("ResponseFuture polled after completion")
}

pin_project! {
    /// Response future of [`HostCheck`](crate::host::HostCheck) and
    /// [`OriginGuard`](crate::origin::OriginGuard).
    pub struct ResponseFuture<F, B> {
        #[pin]
        staged: Staged<F, B, NoWait>,
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn inner(future: F) -> Self {
        Self {
            staged: Staged::inner(future),
        }
    }

    pub(crate) fn rejected(response: Response<B>) -> Self {
        Self {
            staged: Staged::ready(response),
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().staged.poll_now(cx)
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
