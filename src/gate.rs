//! [`Gate`]: the one service behind the Host and Origin checks, as
//! tower-http's `ValidateRequestHeader` serves many checks. A gate decides
//! from the request head alone, in `call`, before the inner service runs; a
//! refused request never reaches it, and in report-only mode it is logged and
//! passed on. What differs between the checks is their rules
//! ([`HostConfig`](crate::host::HostConfig),
//! [`OriginConfig`](crate::origin::OriginConfig)).

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use crate::future::ResponseFuture;
use crate::order::WarnOnce;
use crate::rejection::{
    reject, report_only, JsonRpcRejection, Rejection, RejectionResponse, RequestHead,
};

/// The rules of one gate: what it checks, and how it is named.
pub(crate) trait HeadCheck: fmt::Debug + Send + Sync + 'static {
    /// The layer, in rejection events and metrics (`host`, `origin`).
    const LAYER: &'static str;
    /// The layer's type, in the order check's warning.
    const LAYER_TYPE: &'static str;

    /// The decision for `request`. It may leave a note in the extensions for
    /// a later layer (the Origin check's deferral to the auth layer).
    fn decide<B>(&self, request: &mut Request<B>) -> Result<(), Rejection>;

    /// Log refusals and pass the request on anyway.
    fn report_only(&self) -> bool;

    /// Whether the misordered-stack warning was given.
    fn order_warned(&self) -> &WarnOnce;
}

/// The service of a check on the request head: [`HostCheck`](crate::host::HostCheck)
/// and [`OriginGuard`](crate::origin::OriginGuard) are gates with their own
/// rules. Built by their layers.
pub struct Gate<S, C, R = JsonRpcRejection> {
    inner: S,
    config: Arc<C>,
    rejection: R,
}

impl<S, C, R> Gate<S, C, R> {
    pub(crate) fn new(inner: S, config: Arc<C>, rejection: R) -> Self {
        Self {
            inner,
            config,
            rejection,
        }
    }

    pub(crate) fn rules(&self) -> &C {
        &self.config
    }

    define_inner_service_accessors!();
}

impl<S: Clone, C, R: Clone> Clone for Gate<S, C, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
            rejection: self.rejection.clone(),
        }
    }
}

impl<S: fmt::Debug, C: fmt::Debug, R> fmt::Debug for Gate<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::rejection::debug_guard::<R>(f, "Gate", Some(&self.inner), &self.config)
    }
}

impl<S, C, R, ReqB, ResB> Service<Request<ReqB>> for Gate<S, C, R>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    C: HeadCheck,
    R: RejectionResponse<ResB>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResB>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        crate::order::check(
            C::LAYER_TYPE,
            request.extensions(),
            false,
            self.config.order_warned(),
        );
        match self.config.decide(&mut request) {
            Ok(()) => ResponseFuture::inner(self.inner.call(request)),
            Err(rejection) if self.config.report_only() => {
                report_only(C::LAYER, RequestHead::of(&request), &rejection);
                ResponseFuture::inner(self.inner.call(request))
            }
            Err(rejection) => ResponseFuture::rejected(reject(
                C::LAYER,
                RequestHead::of(&request),
                rejection,
                &self.rejection,
            )),
        }
    }
}
