//! The [`McpHeaders`] service.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::check::{echo, Head};
use super::config::HeadersConfig;
use super::future::{admit, rejection_response, ResponseFuture};
use crate::body::ReplayBody;
use crate::envelope::Envelope;
use crate::future::take_ready;
use crate::read::read_post;
use crate::rejection::{JsonRpcRejection, RejectionResponse};

/// Middleware that enforces MCP's transport headers for both protocol eras.
///
/// Built by [`McpHeadersLayer`](super::McpHeadersLayer). See the [module docs](crate::headers) for the
/// rules and an example.
#[derive(Clone)]
pub struct McpHeaders<S, R = JsonRpcRejection> {
    inner: S,
    config: Arc<HeadersConfig>,
    rejection: R,
}

impl<S, R> McpHeaders<S, R> {
    pub(super) fn from_parts(inner: S, config: Arc<HeadersConfig>, rejection: R) -> Self {
        Self {
            inner,
            config,
            rejection,
        }
    }

    define_inner_service_accessors!();
}

impl<S: fmt::Debug, R> fmt::Debug for McpHeaders<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::rejection::debug_guard::<R>(f, "McpHeaders", Some(&self.inner), &self.config)
    }
}

impl<S, R, ReqB, ResB> Service<Request<ReqB>> for McpHeaders<S, R>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
    ReqB: ReplayBody,
    R: RejectionResponse<ResB>,
    ResB: http_body::Body + Default + 'static,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqB, R, ResB>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        crate::order::check(
            "McpHeadersLayer",
            req.extensions(),
            true,
            &self.config.order_warned,
        );
        let config = &self.config;
        let reject = |req: Request<ReqB>, r| {
            let (parts, _) = req.into_parts();
            let response = rejection_response(config, &parts, r, &self.rejection);
            ResponseFuture::rejected(response, config.clone())
        };
        // The head is checked on the request as it is: it is taken apart
        // only once the path is known (a POST to read is handed on whole).
        let protocol = match config.check_head(req.method(), req.headers()) {
            Err(r) => return reject(req, r),
            Ok(Head::Ready(protocol)) => protocol,
            // Whichever layer needs the envelope first parses it: reuse one already there.
            Ok(Head::Post { deferred }) => match req.extensions().get::<Envelope>() {
                Some(envelope) => {
                    let checked = match deferred {
                        Some(r) => Err(r),
                        None => config.check_envelope(req.headers(), envelope),
                    };
                    match checked {
                        Ok(protocol) => protocol,
                        Err(r) => return reject(req, r),
                    }
                }
                None => {
                    let read = match read_post(req, config.limits) {
                        Ok(read) => read,
                        // Too large to read: the head's own answer, without an id.
                        Err((parts, r)) => {
                            let r = deferred.unwrap_or(r);
                            let response = rejection_response(config, &parts, r, &self.rejection);
                            return ResponseFuture::rejected(response, config.clone());
                        }
                    };
                    // The body is read asynchronously: the future takes the
                    // inner service along.
                    let service = take_ready(&mut self.inner);
                    return ResponseFuture::reading(
                        read,
                        service,
                        self.rejection.clone(),
                        deferred,
                        config.clone(),
                    );
                }
            },
        };
        let (mut parts, body) = req.into_parts();
        let inspect = admit(&mut parts, config, protocol);
        let future = self.inner.call(Request::from_parts(parts, body));
        ResponseFuture::inner(future, config.clone(), echo(&protocol), inspect)
    }
}
