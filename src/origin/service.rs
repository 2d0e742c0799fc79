use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::config::{OriginConfig, Verdict};
use crate::future::ResponseFuture;
use crate::rejection::{reject, report_only, RejectionResponse, RequestHead};
use crate::{JsonRpcRejection, Rejection};

/// The service built by [`OriginGuardLayer`](super::OriginGuardLayer).
///
/// The check runs in [`call`](Service::call), before the inner service is
/// called; a refused request never reaches it. See the
/// [module docs](crate::origin) for an example.
pub struct OriginGuard<S, R = JsonRpcRejection> {
    inner: S,
    config: Arc<OriginConfig>,
    rejection: R,
}

impl<S, R> OriginGuard<S, R> {
    pub(super) fn new(inner: S, config: Arc<OriginConfig>, rejection: R) -> Self {
        Self {
            inner,
            config,
            rejection,
        }
    }

    /// The pure decision for `request`: `Ok` if it would be passed on, else the
    /// [`Rejection`] it would be answered with (also in report-only mode,
    /// where the request is passed on anyway).
    pub fn check<B>(&self, request: &Request<B>) -> Result<(), Rejection> {
        self.config.check(request.headers())
    }

    define_inner_service_accessors!();
}

impl<S: Clone, R: Clone> Clone for OriginGuard<S, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
            rejection: self.rejection.clone(),
        }
    }
}

impl<S: fmt::Debug, R> fmt::Debug for OriginGuard<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OriginGuard")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .field("rejection", &std::any::type_name::<R>())
            .finish()
    }
}

impl<S, R, ReqB, ResB> Service<Request<ReqB>> for OriginGuard<S, R>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    R: RejectionResponse<ResB>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResB>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        crate::order::check(
            "OriginGuardLayer",
            request.extensions(),
            false,
            &self.config.order_warned,
        );
        match self.config.verdict(request.headers()) {
            Ok(Verdict::Pass) => ResponseFuture::inner(self.inner.call(request)),
            #[cfg_attr(not(feature = "auth"), allow(unused_variables, unused_mut))]
            Ok(Verdict::Deferred(origin)) => {
                let mut request = request;
                #[cfg(feature = "auth")]
                request
                    .extensions_mut()
                    .insert(crate::deferred_origin::UnlistedOrigin::new(&origin));
                ResponseFuture::inner(self.inner.call(request))
            }
            Err(rejection) if self.config.report_only => {
                report_only("origin", RequestHead::of(&request), &rejection);
                ResponseFuture::inner(self.inner.call(request))
            }
            Err(rejection) => ResponseFuture::rejected(reject(
                "origin",
                RequestHead::of(&request),
                rejection,
                &self.rejection,
            )),
        }
    }
}
