//! The response future of [`McpAuth`](super::McpAuth): read the envelope if
//! the policy needs it, wait for the verifier, then call the inner service.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::config::AuthConfig;
use super::flow::{admit, refuse, refused};
use super::verifier::VerifyFuture;
use crate::body::ReplayBody;
use crate::read::ReadEnvelope;
use crate::rejection::{RejectionResponse, RequestHead};

pin_project! {
    /// Response future of [`McpAuth`](super::McpAuth).
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
        Reading {
            #[pin]
            read: ReadEnvelope<ReqB>,
            pending: Option<Pending<S, R>>,
            token: Box<str>,
        },
        Verifying {
            verify: VerifyFuture,
            token: Box<str>,
            request: Option<Request<ReqB>>,
            pending: Option<Pending<S, R>>,
        },
        Inner { #[pin] future: S::Future },
    }
}

/// What the future carries until it calls the inner service.
struct Pending<S, R> {
    service: S,
    config: Arc<AuthConfig>,
    rejection: R,
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

    pub(super) fn reading(
        read: ReadEnvelope<ReqB>,
        token: Box<str>,
        service: S,
        config: Arc<AuthConfig>,
        rejection: R,
    ) -> Self {
        Self {
            state: State::Reading {
                read,
                token,
                pending: Some(Pending {
                    service,
                    config,
                    rejection,
                }),
            },
        }
    }

    pub(super) fn verifying(
        verify: VerifyFuture,
        token: Box<str>,
        request: Request<ReqB>,
        service: S,
        config: Arc<AuthConfig>,
        rejection: R,
    ) -> Self {
        Self {
            state: State::Verifying {
                verify,
                token,
                request: Some(request),
                pending: Some(Pending {
                    service,
                    config,
                    rejection,
                }),
            },
        }
    }
}

impl<S, ReqB, R, ResB> Future for ResponseFuture<S, ReqB, R, ResB>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ReqB: ReplayBody,
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
                        None => panic!("auth ResponseFuture polled after completion"),
                    };
                }
                StateProj::Inner { future } => return future.poll(cx),
                StateProj::Reading {
                    read,
                    pending,
                    token,
                } => {
                    let outcome = std::task::ready!(read.poll(cx));
                    let Some(pending) = pending.take() else {
                        panic!("auth ResponseFuture polled after completion");
                    };
                    match outcome {
                        Err((parts, rejection)) => State::Ready {
                            response: Some(refuse(
                                RequestHead::of_parts(&parts),
                                &parts.extensions,
                                rejection,
                                &pending.rejection,
                            )),
                        },
                        Ok(request) => State::Verifying {
                            verify: pending.config.verifier.verify(token),
                            token: std::mem::take(token),
                            request: Some(request),
                            pending: Some(pending),
                        },
                    }
                }
                StateProj::Verifying {
                    verify,
                    token,
                    request,
                    pending,
                } => {
                    let outcome = std::task::ready!(verify.as_mut().poll(cx));
                    let (Some(request), Some(mut pending)) = (request.take(), pending.take())
                    else {
                        panic!("auth ResponseFuture polled after completion");
                    };
                    let config = pending.config.clone();
                    let (mut parts, body) = request.into_parts();
                    let admitted = match outcome {
                        Ok(verified) => admit(&config, &mut parts, verified),
                        Err(error) => Err(refused(&config, &error, token)),
                    };
                    match admitted {
                        Ok(()) => State::Inner {
                            future: pending.service.call(Request::from_parts(parts, body)),
                        },
                        Err(rejection) => State::Ready {
                            response: Some(refuse(
                                RequestHead::of_parts(&parts),
                                &parts.extensions,
                                rejection,
                                &pending.rejection,
                            )),
                        },
                    }
                }
            };
            this.state.set(next);
        }
    }
}
