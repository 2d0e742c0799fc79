//! Response future of [`McpHeaders`](super::McpHeaders).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::request::Parts;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::check::{echo, HeadersConfig};
use crate::body::ReplayBody;
use crate::envelope::{Envelope, ReadEnvelope};
use crate::protocol::ProtocolVersion;
use crate::rejection::{reject, Rejection, RejectionResponse};

pub(crate) const LAYER: &str = "headers";

pin_project! {
    /// Response future of [`McpHeaders`](super::McpHeaders): reads and checks a
    /// POST body when needed, then runs the inner service's future and adds the
    /// response headers. No boxing.
    pub struct ResponseFuture<S, ReqB, R>
    where
        S: Service<Request<ReqB>>,
    {
        #[pin]
        state: State<S, ReqB, R>,
        config: Arc<HeadersConfig>,
        echo: Option<ProtocolVersion>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqB, R>
    where
        S: Service<Request<ReqB>>,
    {
        // Reading the POST body; `service` is the ready inner service taken in `call`.
        Reading {
            #[pin]
            read: ReadEnvelope<ReqB>,
            service: Option<S>,
            rejection: R,
        },
        Inner {
            #[pin]
            future: S::Future,
        },
        Rejected {
            response: Option<S::Response>,
        },
    }
}

impl<S, ReqB, R> ResponseFuture<S, ReqB, R>
where
    S: Service<Request<ReqB>>,
{
    pub(super) fn inner(
        future: S::Future,
        config: Arc<HeadersConfig>,
        echo: Option<ProtocolVersion>,
    ) -> Self {
        Self {
            state: State::Inner { future },
            config,
            echo,
        }
    }

    pub(super) fn rejected(response: S::Response, config: Arc<HeadersConfig>) -> Self {
        Self {
            state: State::Rejected {
                response: Some(response),
            },
            config,
            echo: None,
        }
    }

    pub(super) fn reading(
        read: ReadEnvelope<ReqB>,
        service: S,
        rejection: R,
        config: Arc<HeadersConfig>,
    ) -> Self {
        Self {
            state: State::Reading {
                read,
                service: Some(service),
                rejection,
            },
            config,
            echo: None,
        }
    }
}

/// Rejects through the crate's one rejection path and adds the headers every
/// response of this layer carries.
pub(super) fn rejection_response<ResB, R>(
    config: &HeadersConfig,
    parts: &Parts,
    rejection: Rejection,
    responder: &R,
) -> Response<ResB>
where
    R: RejectionResponse<ResB>,
{
    let mut response = reject(LAYER, parts, rejection, responder);
    config.decorate(&mut response, None);
    response
}

impl<S, ReqB, R, ResB> Future for ResponseFuture<S, ReqB, R>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ReqB: ReplayBody,
    R: RejectionResponse<ResB>,
{
    type Output = Result<Response<ResB>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.state.as_mut().project() {
                StateProj::Reading {
                    read,
                    service,
                    rejection,
                } => match ready!(read.poll(cx)) {
                    Ok(request) => {
                        let (mut parts, body) = request.into_parts();
                        let checked = match parts.extensions.get::<Envelope>() {
                            Some(envelope) => this.config.check_envelope(&parts.headers, envelope),
                            // ReadEnvelope always inserts it on success.
                            None => Err(Rejection::new(
                                crate::RejectionKind::InvalidRequest,
                                "Invalid Request: no JSON-RPC envelope",
                            )),
                        };
                        match checked {
                            Ok(protocol) => {
                                *this.echo = echo(&protocol);
                                parts.extensions.insert(protocol);
                                let mut service = service
                                    .take()
                                    .expect("ResponseFuture polled after completion");
                                State::Inner {
                                    future: service.call(Request::from_parts(parts, body)),
                                }
                            }
                            Err(r) => State::Rejected {
                                response: Some(rejection_response(
                                    this.config,
                                    &parts,
                                    r,
                                    rejection,
                                )),
                            },
                        }
                    }
                    Err((parts, r)) => State::Rejected {
                        response: Some(rejection_response(this.config, &parts, r, rejection)),
                    },
                },
                StateProj::Inner { future } => {
                    let mut response = ready!(future.poll(cx))?;
                    this.config.decorate(&mut response, *this.echo);
                    return Poll::Ready(Ok(response));
                }
                StateProj::Rejected { response } => {
                    let response = response
                        .take()
                        .expect("ResponseFuture polled after completion");
                    return Poll::Ready(Ok(response));
                }
            };
            this.state.set(next);
        }
    }
}

impl<S, ReqB, R> fmt::Debug for ResponseFuture<S, ReqB, R>
where
    S: Service<Request<ReqB>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
