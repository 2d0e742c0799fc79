//! [`Guarded`], the service an [`McpGuard`](super::McpGuard) makes, and its
//! response body. Both are the same types whatever features are on: the
//! optional layers live inside, behind private aliases, so a crate that
//! turns on `telemetry`, `auth` or `ratelimit` changes no type another crate
//! compiled against.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::body::ReplayBody;
use crate::headers::McpHeaders;
use crate::host::HostCheck;
use crate::origin::OriginGuard;
use crate::session::McpSession;

/// The telemetry span, outermost (feature `telemetry`).
#[cfg(feature = "telemetry")]
pub(super) type Telemetry<S> = crate::telemetry::McpTelemetry<S>;
#[cfg(not(feature = "telemetry"))]
pub(super) type Telemetry<S> = S;

/// The token's verification before the body read, and the scope check
/// behind the headers layer (feature `auth`).
#[cfg(feature = "auth")]
pub(super) type Auth<S> = Optional<crate::auth::McpAuth<S>, S>;
#[cfg(not(feature = "auth"))]
pub(super) type Auth<S> = S;

/// Rate limits, innermost (feature `ratelimit`).
#[cfg(feature = "ratelimit")]
pub(super) type RateLimit<S> = Optional<crate::ratelimit::McpRateLimit<S>, S>;
#[cfg(not(feature = "ratelimit"))]
pub(super) type RateLimit<S> = S;

/// Sessions, or none in stateless mode.
pub(super) type Sessions<S> = Optional<McpSession<S>, S>;

/// Every layer, outermost first.
pub(super) type Stack<S> =
    Telemetry<HostCheck<OriginGuard<Auth<McpHeaders<Auth<Sessions<RateLimit<S>>>>>>>>;

/// The response body of the stack around a body `B`.
#[cfg(feature = "telemetry")]
type StackBody<B> = crate::telemetry::TelemetryBody<B>;
#[cfg(not(feature = "telemetry"))]
type StackBody<B> = B;

/// The service [`McpGuard`](super::McpGuard) makes around `S`: the telemetry
/// span (feature `telemetry`), then Host, Origin, the token's verification
/// (feature `auth`, when set), Headers, the scope check, Session (unless
/// stateless) and rate limits (feature `ratelimit`, when set).
///
/// Its type, its response body ([`GuardBody`]) and its bounds are the same
/// whatever features are on.
pub struct Guarded<S> {
    pub(super) inner: Stack<S>,
}

impl<S: Clone> Clone for Guarded<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for Guarded<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guarded")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for Guarded<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: 'static,
    ReqB: Body + ReplayBody + Send + 'static,
    ResB: Body + Default + Send + 'static,
{
    type Response = Response<GuardBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqB>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        ResponseFuture {
            inner: self.inner.call(req),
        }
    }
}

pin_project! {
    /// Response future of [`Guarded`].
    pub struct ResponseFuture<S, ReqB>
    where
        Stack<S>: Service<Request<ReqB>>,
    {
        #[pin]
        inner: <Stack<S> as Service<Request<ReqB>>>::Future,
    }
}

impl<S, ReqB> fmt::Debug for ResponseFuture<S, ReqB>
where
    Stack<S>: Service<Request<ReqB>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<S, ReqB, ResB, E> std::future::Future for ResponseFuture<S, ReqB>
where
    Stack<S>: Service<Request<ReqB>, Response = Response<StackBody<ResB>>, Error = E>,
{
    type Output = Result<Response<GuardBody<ResB>>, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project()
            .inner
            .poll(cx)
            .map(|result| result.map(|response| response.map(|inner| GuardBody { inner })))
    }
}

pin_project! {
    /// The response body of a [`Guarded`] service: the inner service's body,
    /// frame for frame. With the `telemetry` feature it also closes the
    /// request's span when it ends; without it, it is the inner body alone.
    pub struct GuardBody<B> {
        #[pin]
        inner: StackBody<B>,
    }
}

impl<B: Default> Default for GuardBody<B> {
    fn default() -> Self {
        Self {
            inner: StackBody::<B>::default(),
        }
    }
}

impl<B: fmt::Debug> fmt::Debug for GuardBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardBody")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<B> Body for GuardBody<B>
where
    B: Body,
{
    type Data = B::Data;
    type Error = B::Error;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A layer's service, or the inner service alone when the guard leaves that
/// layer out (sessions in stateless mode, no auth, no rate limits).
#[derive(Clone, Debug)]
pub(crate) enum Optional<A, S> {
    /// The layer is there.
    On(A),
    /// It is not: the inner service is called directly.
    Off(S),
}

impl<A, S, Req> Service<Req> for Optional<A, S>
where
    A: Service<Req>,
    S: Service<Req, Response = A::Response, Error = A::Error>,
{
    type Response = A::Response;
    type Error = A::Error;
    type Future = OptionalFuture<A::Future, S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match self {
            Self::On(a) => a.poll_ready(cx),
            Self::Off(s) => s.poll_ready(cx),
        }
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        match self {
            Self::On(a) => OptionalFuture::On {
                future: a.call(req),
            },
            Self::Off(s) => OptionalFuture::Off {
                future: s.call(req),
            },
        }
    }
}

pin_project! {
    /// Response future of [`Optional`].
    #[project = OptionalProj]
    #[derive(Debug)]
    pub(crate) enum OptionalFuture<A, S> {
        On { #[pin] future: A },
        Off { #[pin] future: S },
    }
}

impl<A, S, T> std::future::Future for OptionalFuture<A, S>
where
    A: std::future::Future<Output = T>,
    S: std::future::Future<Output = T>,
{
    type Output = T;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.project() {
            OptionalProj::On { future } => future.poll(cx),
            OptionalProj::Off { future } => future.poll(cx),
        }
    }
}

/// The compile test of the additive shape, built with every feature set
/// (`.ci/run` builds each feature alone and in pairs): under exactly these
/// bounds, for any inner service and body, a [`Guarded`] service answers
/// `Response<GuardBody<B>>` with the inner service's error.
#[allow(dead_code)]
fn additive_shape<S, ReqB, ResB>()
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: 'static,
    ReqB: Body + ReplayBody + Send + 'static,
    ResB: Body + Default + Send + 'static,
{
    fn pinned<T, ReqB, ResB, E>()
    where
        T: Service<Request<ReqB>, Response = Response<GuardBody<ResB>>, Error = E>
            + Clone
            + Send
            + 'static,
        T::Future: Send + 'static,
        GuardBody<ResB>: Body + Default + Send + 'static,
    {
    }
    pinned::<Guarded<S>, ReqB, ResB, S::Error>();
}
