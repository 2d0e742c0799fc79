//! The response future of [`McpRateLimit`](super::McpRateLimit): at once for
//! in-process limits, after the Redis checks for shared ones.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

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
        state: State<S, ReqB, R, ResB>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqB, R, ResB>
    where
        S: Service<Request<ReqB>>,
    {
        Ready { response: Option<Response<ResB>> },
        Checking { checks: Checks, pending: Option<(S, Request<ReqB>, R)> },
        Inner { #[pin] future: S::Future },
    }
}

impl<S, ReqB, R, ResB> ResponseFuture<S, ReqB, R, ResB>
where
    S: Service<Request<ReqB>>,
{
    pub(super) fn ready(response: Response<ResB>) -> Self {
        Self {
            state: State::Ready {
                response: Some(response),
            },
        }
    }

    pub(super) fn inner(future: S::Future) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(super) fn checking(
        checks: Checks,
        service: S,
        request: Request<ReqB>,
        rejection: R,
    ) -> Self {
        Self {
            state: State::Checking {
                checks,
                pending: Some((service, request, rejection)),
            },
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
        let mut this = self.project();
        loop {
            let next = match this.state.as_mut().project() {
                StateProj::Ready { response } => {
                    return match response.take() {
                        Some(response) => Poll::Ready(Ok(response)),
                        None => panic!("ratelimit ResponseFuture polled after completion"),
                    };
                }
                StateProj::Inner { future } => return future.poll(cx),
                StateProj::Checking { checks, pending } => {
                    let outcome = std::task::ready!(checks.as_mut().poll(cx));
                    let Some((mut service, request, rejection)) = pending.take() else {
                        panic!("ratelimit ResponseFuture polled after completion");
                    };
                    match outcome {
                        Ok(()) => State::Inner {
                            future: service.call(request),
                        },
                        Err(refusal) => {
                            let (parts, _) = request.into_parts();
                            State::Ready {
                                response: Some(reject(
                                    "ratelimit",
                                    RequestHead::of_parts(&parts),
                                    refusal,
                                    &rejection,
                                )),
                            }
                        }
                    }
                }
            };
            this.state.set(next);
        }
    }
}
