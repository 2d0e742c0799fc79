//! [`HostCheck`]: a [`Gate`] with the Host rules ([`HostConfig`]).

use http::Request;

use super::config::HostConfig;
use crate::gate::{Gate, HeadCheck};
use crate::order::WarnOnce;
use crate::{JsonRpcRejection, Rejection};

/// The service built by [`HostCheckLayer`](super::HostCheckLayer): a
/// [`Gate`] with the Host rules.
///
/// The check runs in [`call`](tower_service::Service::call), before the
/// inner service is called; a refused request never reaches it. See the
/// [module docs](crate::host) for an example.
pub type HostCheck<S, R = JsonRpcRejection> = Gate<S, HostConfig, R>;

impl<S, R> Gate<S, HostConfig, R> {
    /// The pure decision for `request`: `Ok` if it would be passed on, else the
    /// [`Rejection`] it would be answered with.
    pub fn check<B>(&self, request: &Request<B>) -> Result<(), Rejection> {
        self.rules()
            .check(request.uri(), request.headers(), request.extensions())
    }
}

impl HeadCheck for HostConfig {
    const LAYER: &'static str = "host";
    const LAYER_TYPE: &'static str = "HostCheckLayer";

    fn decide<B>(&self, request: &mut Request<B>) -> Result<(), Rejection> {
        self.check(request.uri(), request.headers(), request.extensions())
    }

    fn report_only(&self) -> bool {
        self.report_only
    }

    fn order_warned(&self) -> &WarnOnce {
        &self.order_warned
    }
}
