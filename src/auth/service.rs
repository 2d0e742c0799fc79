//! The [`McpAuth`] service.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use http::{Method, Request, Response};
use tower_service::Service;

use super::bearer::bearer_token;
use super::config::AuthConfig;
use super::flow::{admit, bearer_refused, refuse, refused, EarlyIdentity};
use super::future::ResponseFuture;
use super::verifier::VerifiedToken;
use crate::body::ReplayBody;
use crate::envelope::Envelope;
use crate::future::{take_ready, Staged};
use crate::read::{read_post, BodyLimits};
use crate::rejection::{JsonRpcRejection, RejectionResponse, RequestHead};

/// Middleware that admits only requests with a valid bearer token and the
/// scopes their operation needs.
///
/// Built by [`McpAuthLayer`](super::McpAuthLayer). See the
/// [module docs](crate::auth) for the rules and an example.
#[derive(Clone)]
pub struct McpAuth<S, R = JsonRpcRejection> {
    inner: S,
    config: Arc<AuthConfig>,
    rejection: R,
}

impl<S, R> McpAuth<S, R> {
    pub(super) fn new(inner: S, config: Arc<AuthConfig>, rejection: R) -> Self {
        Self {
            inner,
            config,
            rejection,
        }
    }

    define_inner_service_accessors!();
}

impl<S: fmt::Debug, R> fmt::Debug for McpAuth<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::rejection::debug_guard::<R>(f, "McpAuth", Some(&self.inner), &self.config)
    }
}

impl<S, R> McpAuth<S, R> {
    /// Admits a verified request now (scopes, identity, `Authorization`) and
    /// calls the inner service, or answers the refusal.
    fn admit_now<ReqB, ResB>(
        &mut self,
        req: Request<ReqB>,
        verified: Arc<VerifiedToken>,
    ) -> ResponseFuture<S, ReqB, R, ResB>
    where
        S: Service<Request<ReqB>, Response = Response<ResB>>,
        R: RejectionResponse<ResB>,
    {
        let (mut parts, body) = req.into_parts();
        match admit(&self.config, &mut parts, verified) {
            Ok(()) => Staged::inner(self.inner.call(Request::from_parts(parts, body))).into(),
            Err(rejection) => Staged::ready(refuse(
                RequestHead::of_parts(&parts),
                &parts.extensions,
                rejection,
                &self.rejection,
            ))
            .into(),
        }
    }
}

impl<S, R, ReqB, ResB> Service<Request<ReqB>> for McpAuth<S, R>
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
        let config = &self.config;
        crate::order::check("McpAuthLayer", req.extensions(), true, &config.order_warned);
        if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
            && config.document.serves(req.uri().path())
        {
            if config.identity_only {
                // The metadata is public: the layer behind answers it.
                return Staged::inner(self.inner.call(req)).into();
            }
            return Staged::ready(config.document.respond(req.method())).into();
        }
        // Verified by the gate in front of the body read: only the scopes are left.
        if !config.identity_only {
            if let Some(EarlyIdentity(verified)) = req.extensions().get::<EarlyIdentity>().cloned()
            {
                return self.admit_now(req, verified);
            }
        }
        let token = match bearer_token(req.headers(), req.uri(), config.max_token_bytes) {
            Ok(token) => token,
            Err(error) => {
                let rejection = bearer_refused(config, error);
                let head = RequestHead::of(&req);
                return Staged::ready(refuse(head, req.extensions(), rejection, &self.rejection))
                    .into();
            }
        };
        // The scope policy reads the envelope; parse it here only when no
        // earlier layer did (the headers layer normally has).
        if config.policy.reads_envelope()
            && !config.identity_only
            && req.method() == Method::POST
            && req.extensions().get::<Envelope>().is_none()
        {
            // Without the headers layer in front: the one read, default limits.
            let token: Box<str> = token.into();
            let read = match read_post(req, BodyLimits::default()) {
                Ok(read) => read,
                Err((parts, rejection)) => {
                    let head = RequestHead::of_parts(&parts);
                    return Staged::ready(refuse(
                        head,
                        &parts.extensions,
                        rejection,
                        &self.rejection,
                    ))
                    .into();
                }
            };
            let service = take_ready(&mut self.inner);
            return ResponseFuture::reading(
                read,
                token,
                service,
                config.clone(),
                self.rejection.clone(),
            );
        }
        let mut verify = config.verifier.verify(token);
        // A cached token is answered at once: decide now, and call the inner
        // service without moving it into the future.
        match verify
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(Ok(verified)) => self.admit_now(req, verified),
            Poll::Ready(Err(error)) => {
                let rejection = refused(config, &error, token);
                let head = RequestHead::of(&req);
                Staged::ready(refuse(head, req.extensions(), rejection, &self.rejection)).into()
            }
            Poll::Pending => {
                let token: Box<str> = token.into();
                let service = take_ready(&mut self.inner);
                ResponseFuture::verifying(
                    verify,
                    token,
                    req,
                    service,
                    config.clone(),
                    self.rejection.clone(),
                )
            }
        }
    }
}
