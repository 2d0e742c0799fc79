//! The response future of [`McpRateLimit`](super::McpRateLimit): at once for
//! in-process limits, after the Redis checks for shared ones.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::future::{spent, Next, Staged, Wait};
use crate::rejection::{reject, Rejection, RejectionResponse, RequestHead};

/// The Redis checks of one request: `Err` carries the refusal.
pub(crate) type Checks = Pin<Box<dyn Future<Output = Result<(), Rejection>> + Send>>;

pin_project! {
    /// Response future of [`McpRateLimit`](super::McpRateLimit).
    pub struct ResponseFuture<S, ReqB, R, ResB>
    where
        S: Service<Request<ReqB>>,
    {
        #[pin]
        staged: Staged<S::Future, ResB, Checking<S, ReqB, R>>,
    }
}

pin_project! {
    /// The Redis checks, with what the decision needs afterwards (nothing
    /// here is pinned in place: the checks are boxed).
    pub(crate) struct Checking<S, ReqB, R> {
        checks: Checks,
        pending: Option<(S, Request<ReqB>, R)>,
    }
}

impl<S, ReqB, R, ResB> Wait<S, ReqB, ResB> for Checking<S, ReqB, R>
where
    R: RejectionResponse<ResB>,
    ResB: Default + 'static,
{
    fn poll_wait(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Next<S, ReqB, ResB>> {
        let this = self.project();
        let outcome = std::task::ready!(this.checks.as_mut().poll(cx));
        let Some((service, request, rejection)) = this.pending.take() else {
            spent()
        };
        Poll::Ready(match outcome {
            Ok(()) => Next::Call(service, request),
            Err(refusal) => {
                let (parts, _) = request.into_parts();
                Next::Respond(reject(
                    "ratelimit",
                    RequestHead::of_parts(&parts),
                    refusal,
                    &rejection,
                ))
            }
        })
    }
}

/// A response already decided, or the inner service's own future:
/// `Staged::ready(response).into()`, `Staged::inner(future).into()`.
impl<S, ReqB, R, ResB> From<Staged<S::Future, ResB, Checking<S, ReqB, R>>>
    for ResponseFuture<S, ReqB, R, ResB>
where
    S: Service<Request<ReqB>>,
{
    fn from(staged: Staged<S::Future, ResB, Checking<S, ReqB, R>>) -> Self {
        Self { staged }
    }
}

impl<S, ReqB, R, ResB> ResponseFuture<S, ReqB, R, ResB>
where
    S: Service<Request<ReqB>>,
{
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(super) fn checking(
        checks: Checks,
        service: S,
        request: Request<ReqB>,
        rejection: R,
    ) -> Self {
        Self {
            staged: Staged::waiting(Checking {
                checks,
                pending: Some((service, request, rejection)),
            }),
        }
    }
}

impl<S, ReqB, R, ResB> Future for ResponseFuture<S, ReqB, R, ResB>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    R: RejectionResponse<ResB>,
    ResB: Default + 'static,
{
    type Output = Result<Response<ResB>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().staged.poll_staged(cx)
    }
}
