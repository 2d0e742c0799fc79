//! [`OriginGuard`]: a [`Gate`] with the Origin rules ([`OriginConfig`]).

use http::Request;

use super::config::{OriginConfig, Verdict};
use crate::gate::{Gate, HeadCheck};
use crate::order::WarnOnce;
use crate::{JsonRpcRejection, Rejection};

/// The service built by [`OriginGuardLayer`](super::OriginGuardLayer): a
/// [`Gate`] with the Origin rules.
///
/// The check runs in [`call`](tower_service::Service::call), before the
/// inner service is called; a refused request never reaches it. See the
/// [module docs](crate::origin) for an example.
pub type OriginGuard<S, R = JsonRpcRejection> = Gate<S, OriginConfig, R>;

impl<S, R> Gate<S, OriginConfig, R> {
    /// The pure decision for `request`: `Ok` if it would be passed on, else the
    /// [`Rejection`] it would be answered with (also in report-only mode,
    /// where the request is passed on anyway).
    pub fn check<B>(&self, request: &Request<B>) -> Result<(), Rejection> {
        self.rules().check(request.headers())
    }
}

impl HeadCheck for OriginConfig {
    const LAYER: &'static str = "origin";
    const LAYER_TYPE: &'static str = "OriginGuardLayer";

    #[cfg_attr(not(feature = "auth"), allow(unused_variables))]
    fn decide<B>(&self, request: &mut Request<B>) -> Result<(), Rejection> {
        match self.verdict(request.headers())? {
            Verdict::Pass => {}
            // An unlisted origin on a bearer-only request: the auth layer
            // decides, from the note left here.
            Verdict::Deferred(origin) => {
                #[cfg(feature = "auth")]
                request
                    .extensions_mut()
                    .insert(crate::deferred_origin::UnlistedOrigin::new(&origin));
            }
        }
        Ok(())
    }

    fn report_only(&self) -> bool {
        self.report_only
    }

    fn order_warned(&self) -> &WarnOnce {
        &self.order_warned
    }
}
