//! The response future of [`McpSession`](super::McpSession): a hand-written state
//! machine, boxed nowhere on the in-memory path.
//!
//! States: `Reading` (the POST body, when no outer layer parsed it) → `Waiting`
//! (only for a store that answers later) → `Inner` → `Collecting` (an
//! `initialize` answered in JSON, read to see whether it succeeded) →
//! `Committing` (only for an async store, after a successful `initialize`) → done.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::flow::initialize::MAX_ANSWER_BYTES;
use super::flow::{Collect, Commit, Flight, Flow, Step, Wait};
use crate::body::ReplayBody;
use crate::future::take_ready;
use crate::read::ReadEnvelope;
use crate::rejection::RejectionResponse;

pin_project! {
    /// Response future of [`McpSession`](super::McpSession).
    pub struct ResponseFuture<S, ReqB, R, ResB>
    where
        S: Service<Request<ReqB>>,
    {
        #[pin]
        state: State<ReqB, S::Future, ResB>,
        inner: Option<S>,
        flow: Flow<R>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<ReqB, F, ResB> {
        Reading { #[pin] read: ReadEnvelope<ReqB> },
        Waiting { wait: Option<Wait<ReqB>> },
        Inner { #[pin] future: F, flight: Option<Flight> },
        // Boxed: only an `initialize` gets here, and every other request's
        // future stays as small as before.
        Collecting {
            #[pin]
            body: ResB,
            rest: Option<Box<(http::response::Parts, BytesMut, Collect)>>,
        },
        Committing { commit: Option<Commit<Response<ResB>>> },
        Ready { response: Option<Response<ResB>> },
        Done,
    }
}

impl<S, ReqB, ResB, R> ResponseFuture<S, ReqB, R, ResB>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
{
    /// The future of a request whose first step is `step`. The inner service
    /// is called now when the step allows, and taken along (see
    /// [`take_ready`]) only when the call must wait for the body or the store.
    pub(crate) fn new(flow: Flow<R>, inner: &mut S, step: Step<ReqB, Response<ResB>>) -> Self
    where
        S: Clone,
    {
        let (state, inner) = match step {
            Step::Read(read) => (State::Reading { read }, Some(take_ready(inner))),
            Step::Wait(wait) => (State::Waiting { wait: Some(wait) }, Some(take_ready(inner))),
            Step::Call(req, flight) => (
                State::Inner {
                    future: inner.call(req),
                    flight: Some(flight),
                },
                None,
            ),
            Step::Collect(response, collect) => (Self::collecting(response, collect), None),
            Step::Commit(commit) => (
                State::Committing {
                    commit: Some(commit),
                },
                None,
            ),
            Step::Respond(response) => (
                State::Ready {
                    response: Some(response),
                },
                None,
            ),
        };
        Self { state, inner, flow }
    }

    fn collecting(response: Response<ResB>, collect: Collect) -> State<ReqB, S::Future, ResB> {
        let (head, body) = response.into_parts();
        State::Collecting {
            body,
            rest: Some(Box::new((head, BytesMut::new(), collect))),
        }
    }
}

impl<S, ReqB, ResB, R> Future for ResponseFuture<S, ReqB, R, ResB>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ReqB: Body + ReplayBody,
    ResB: Body + Default + 'static,
    R: RejectionResponse<ResB>,
{
    type Output = Result<Response<ResB>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let step = match this.state.as_mut().project() {
                StateProj::Reading { read } => {
                    let read = ready!(read.poll(cx));
                    this.flow.after_read(read)
                }
                StateProj::Waiting { wait } => {
                    let Some(pending) = wait.as_mut() else {
                        crate::future::spent();
                    };
                    let answered = ready!(pending.answer.as_mut().poll(cx));
                    let Some(Wait { req, .. }) = wait.take() else {
                        crate::future::spent();
                    };
                    this.flow.after_wait(req, answered)
                }
                StateProj::Inner { future, flight } => {
                    let output = ready!(future.poll(cx));
                    let flight = flight.take().unwrap_or_default();
                    match output {
                        Ok(response) => this.flow.after_inner(response, flight),
                        Err(err) => {
                            // Dropping the flight releases any reservation.
                            drop(flight);
                            this.state.set(State::Done);
                            return Poll::Ready(Err(err));
                        }
                    }
                }
                StateProj::Collecting { body, rest } => {
                    let Some((_, buf, _)) = rest.as_deref_mut() else {
                        crate::future::spent();
                    };
                    let read = ready!(crate::body::poll_collect(body, buf, MAX_ANSWER_BYTES, cx));
                    let Some(done) = rest.take() else {
                        crate::future::spent();
                    };
                    let (head, buf, collect) = *done;
                    this.flow
                        .after_collect(head, read.map(|()| buf.freeze()), collect)
                }
                StateProj::Committing { commit } => {
                    let Some(pending) = commit.as_mut() else {
                        crate::future::spent();
                    };
                    let result = ready!(pending.call.as_mut().poll(cx));
                    let Some(commit) = commit.take() else {
                        crate::future::spent();
                    };
                    this.flow
                        .after_commit(commit.response, commit.id, &commit.uri, result)
                }
                StateProj::Ready { response } => {
                    let Some(response) = response.take() else {
                        crate::future::spent();
                    };
                    this.state.set(State::Done);
                    return Poll::Ready(Ok(response));
                }
                StateProj::Done => crate::future::spent(),
            };
            match step {
                Step::Read(read) => this.state.set(State::Reading { read }),
                Step::Wait(wait) => this.state.set(State::Waiting { wait: Some(wait) }),
                Step::Call(req, flight) => {
                    let Some(mut inner) = this.inner.take() else {
                        panic!("session ResponseFuture called the inner service twice");
                    };
                    let future = inner.call(req);
                    this.state.set(State::Inner {
                        future,
                        flight: Some(flight),
                    });
                }
                Step::Collect(response, collect) => {
                    this.state.set(Self::collecting(response, collect));
                }
                Step::Commit(commit) => this.state.set(State::Committing {
                    commit: Some(commit),
                }),
                Step::Respond(response) => {
                    this.state.set(State::Done);
                    return Poll::Ready(Ok(response));
                }
            }
        }
    }
}

impl<S, ReqB, R, ResB> fmt::Debug for ResponseFuture<S, ReqB, R, ResB>
where
    S: Service<Request<ReqB>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
