//! The response future of [`McpAuth`](super::McpAuth): read the envelope if
//! the policy needs it, wait for the verifier, then call the inner service
//! (the crate's one future shape, [`Staged`], with the auth layer's wait).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::config::AuthConfig;
use super::flow::{admit, refuse, refused};
use super::verifier::VerifyFuture;
use crate::body::ReplayBody;
use crate::future::{spent, Next, Staged, Wait};
use crate::read::ReadEnvelope;
use crate::rejection::{RejectionResponse, RequestHead};

pin_project! {
    /// Response future of [`McpAuth`](super::McpAuth).
    pub struct ResponseFuture<S, ReqB, R, ResB>
    where
        S: Service<Request<ReqB>>,
    {
        #[pin]
        staged: Staged<S::Future, ResB, Deciding<S, ReqB, R>>,
    }
}

pin_project! {
    /// What the auth layer waits for before it decides.
    #[project = DecidingProj]
    pub(crate) enum Deciding<S, ReqB, R> {
        /// The body, for a scope policy that reads the envelope.
        Reading {
            #[pin]
            read: ReadEnvelope<ReqB>,
            pending: Option<Pending<S, R>>,
            token: Box<str>,
        },
        /// The verifier's answer.
        Verifying {
            verify: VerifyFuture,
            token: Box<str>,
            request: Option<Request<ReqB>>,
            pending: Option<Pending<S, R>>,
        },
    }
}

/// What the future carries until it calls the inner service.
pub(crate) struct Pending<S, R> {
    service: S,
    config: Arc<AuthConfig>,
    rejection: R,
}

impl<S, ReqB, R, ResB> Wait<S, ReqB, ResB> for Deciding<S, ReqB, R>
where
    ReqB: ReplayBody,
    R: RejectionResponse<ResB>,
    ResB: Default + 'static,
{
    fn poll_wait(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Next<S, ReqB, ResB>> {
        loop {
            let verifying = match self.as_mut().project() {
                DecidingProj::Reading {
                    read,
                    pending,
                    token,
                } => {
                    let outcome = ready!(read.poll(cx));
                    let Some(pending) = pending.take() else {
                        spent()
                    };
                    match outcome {
                        Err((parts, rejection)) => {
                            return Poll::Ready(Next::Respond(refuse(
                                RequestHead::of_parts(&parts),
                                &parts.extensions,
                                rejection,
                                &pending.rejection,
                            )))
                        }
                        Ok(request) => Self::Verifying {
                            verify: pending.config.verifier.verify(token),
                            token: std::mem::take(token),
                            request: Some(request),
                            pending: Some(pending),
                        },
                    }
                }
                DecidingProj::Verifying {
                    verify,
                    token,
                    request,
                    pending,
                } => {
                    let outcome = ready!(verify.as_mut().poll(cx));
                    let (Some(request), Some(pending)) = (request.take(), pending.take()) else {
                        spent()
                    };
                    let (mut parts, body) = request.into_parts();
                    let admitted = match outcome {
                        Ok(verified) => admit(&pending.config, &mut parts, verified),
                        Err(error) => Err(refused(&pending.config, &error, token)),
                    };
                    return Poll::Ready(match admitted {
                        Ok(()) => Next::Call(pending.service, Request::from_parts(parts, body)),
                        Err(rejection) => Next::Respond(refuse(
                            RequestHead::of_parts(&parts),
                            &parts.extensions,
                            rejection,
                            &pending.rejection,
                        )),
                    });
                }
            };
            self.set(verifying);
        }
    }
}

/// A response already decided, or the inner service's own future:
/// `Staged::ready(response).into()`, `Staged::inner(future).into()`.
impl<S, ReqB, R, ResB> From<Staged<S::Future, ResB, Deciding<S, ReqB, R>>>
    for ResponseFuture<S, ReqB, R, ResB>
where
    S: Service<Request<ReqB>>,
{
    fn from(staged: Staged<S::Future, ResB, Deciding<S, ReqB, R>>) -> Self {
        Self { staged }
    }
}

impl<S, ReqB, R, ResB> ResponseFuture<S, ReqB, R, ResB>
where
    S: Service<Request<ReqB>>,
{
    pub(super) fn reading(
        read: ReadEnvelope<ReqB>,
        token: Box<str>,
        service: S,
        config: Arc<AuthConfig>,
        rejection: R,
    ) -> Self {
        Self {
            staged: Staged::waiting(Deciding::Reading {
                read,
                token,
                pending: Some(Pending {
                    service,
                    config,
                    rejection,
                }),
            }),
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
            staged: Staged::waiting(Deciding::Verifying {
                verify,
                token,
                request: Some(request),
                pending: Some(Pending {
                    service,
                    config,
                    rejection,
                }),
            }),
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
        self.project().staged.poll_staged(cx)
    }
}
