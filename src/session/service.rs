//! [`McpSession`]: the service. It starts each request's [`Flow`]; the
//! decisions live in `flow.rs`, the polling in `future.rs`.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::config::SessionConfig;
use super::flow::Flow;
use super::future::ResponseFuture;
use super::owner::{ServerSessions, SessionOwner};
use crate::body::ReplayBody;
use crate::rejection::{JsonRpcRejection, RejectionResponse};

/// The service made by [`McpSessionLayer`](super::McpSessionLayer).
#[derive(Clone)]
pub struct McpSession<S, R = JsonRpcRejection> {
    inner: S,
    flow: Flow<R>,
}

impl<S, R> McpSession<S, R> {
    pub(crate) fn new(inner: S, config: Arc<SessionConfig>, rejection: R) -> Self {
        Self {
            inner,
            flow: Flow { config, rejection },
        }
    }

    define_inner_service_accessors!();
}

impl<S: fmt::Debug, R> fmt::Debug for McpSession<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::rejection::debug_guard::<R>(f, "McpSession", Some(&self.inner), &self.flow.config)
    }
}

/// The `Send + 'static` bounds are for [`SessionOwner::Server`](super::SessionOwner::Server):
/// the layer keeps a clone of the inner service to send the server a
/// `DELETE` from its own task when it closes a session.
impl<S, ReqB, ResB, R> Service<Request<ReqB>> for McpSession<S, R>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: 'static,
    ReqB: Body + ReplayBody + Send + 'static,
    ResB: Body + Default + Send + 'static,
    R: RejectionResponse<ResB>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqB, R, ResB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let config = &self.flow.config;
        if config.owner == SessionOwner::Server {
            ServerSessions::subscribe(&config.server, &config.store, &self.inner);
        }
        let step = self.flow.begin(req);
        ResponseFuture::new(self.flow.clone(), &mut self.inner, step)
    }
}
