//! [`McpTelemetryLayer`] and its service.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Method, Request, Response};
use tokio::time::Instant;
use tower_layer::Layer;
use tower_service::Service;

use super::body::TelemetryBody;
use super::config::TelemetryConfig;
use super::future::{Measured, ResponseFuture};
use super::labels::Targets;
use super::slot::Slot;
use super::span::{self, Waiting};
use crate::header_names::MCP_SESSION_ID;
use crate::observe::metrics;
use crate::order::WarnOnce;

/// How many distinct tool and prompt names become metric labels when no
/// [`known_targets`](McpTelemetryLayer::known_targets) are given.
pub const DEFAULT_TARGET_CAP: usize = 64;

/// Opens a span per request and records the crate's metrics; see the
/// [module docs](crate::telemetry). Outermost: outside the Host check.
///
/// ```
/// use mcp_tower_guard::telemetry::McpTelemetryLayer;
///
/// let telemetry = McpTelemetryLayer::new()
///     .known_targets(["search", "deploy"]) // the only tool names used as labels
///     .record_session_id(true); // a keyed hash of Mcp-Session-Id on spans
/// # let _ = telemetry;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct McpTelemetryLayer {
    config: Arc<TelemetryConfig>,
}

impl Default for McpTelemetryLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl McpTelemetryLayer {
    /// Spans and metrics with the defaults: no session id on spans; the
    /// first [`DEFAULT_TARGET_CAP`] tool and prompt names as labels.
    pub fn new() -> Self {
        Self {
            config: Arc::new(TelemetryConfig {
                session_id: false,
                targets: Arc::new(Targets::first_seen(DEFAULT_TARGET_CAP)),
                warned: WarnOnce::default(),
            }),
        }
    }

    /// Records `mcp.session.id` on spans (off by default): the same keyed
    /// hash as the crate's log events, 8 hex characters, never the id
    /// itself (the id is the session's bearer credential). Its key is
    /// random per process, so replicas hash one id differently.
    pub fn record_session_id(mut self, on: bool) -> Self {
        Arc::make_mut(&mut self.config).session_id = on;
        self
    }

    /// The tool and prompt names that may become metric labels (and span
    /// name targets); any other is `_OTHER`. Without it the first
    /// [`target_cap`](Self::target_cap) names seen are kept, which a client
    /// calling made-up names can fill: name the server's tools here.
    pub fn known_targets<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let known = names.into_iter().map(|n| Arc::from(n.as_ref())).collect();
        Arc::make_mut(&mut self.config).targets = Arc::new(Targets::Known(known));
        self
    }

    /// How many distinct names are kept as labels when no
    /// [`known_targets`](Self::known_targets) are given (0: every name is
    /// `_OTHER`).
    pub fn target_cap(mut self, cap: usize) -> Self {
        Arc::make_mut(&mut self.config).targets = Arc::new(Targets::first_seen(cap));
        self
    }
}

impl<S> Layer<S> for McpTelemetryLayer {
    type Service = McpTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        metrics::describe();
        McpTelemetry {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service [`McpTelemetryLayer`] makes.
#[derive(Clone, Debug)]
pub struct McpTelemetry<S> {
    inner: S,
    config: Arc<TelemetryConfig>,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for McpTelemetry<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
{
    type Response = Response<TelemetryBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, mut req: Request<ReqB>) -> Self::Future {
        let metrics = metrics::recording();
        // One atomic load when no subscriber takes INFO: the span's callsite
        // is not even consulted, and no span is made.
        let may_trace = tracing::level_enabled!(tracing::Level::INFO);
        if !metrics && !may_trace {
            return ResponseFuture::bare(self.inner.call(req));
        }
        let span = if may_trace {
            span::new(&req)
        } else {
            tracing::Span::none()
        };
        if span.is_disabled() && !metrics {
            // Nobody is listening: no clock, no slot, no allocation.
            return ResponseFuture::bare(self.inner.call(req));
        }
        let start = Instant::now();
        crate::order::check(
            "McpTelemetryLayer",
            req.extensions(),
            false,
            &self.config.warned,
        );
        let traced = !span.is_disabled();
        let header = if traced {
            span::header_context(req.headers())
        } else {
            None
        };
        let ambient = traced && !tracing::Span::current().is_none();
        // A POST's parent may be in its body: wait for it before entering.
        let deferred = traced && req.method() == Method::POST;
        let waiting = if deferred {
            Some(Waiting {
                span: span.clone(),
                header: header.clone(),
                config: self.config.clone(),
            })
        } else {
            span::adopt_header(&span, header, ambient);
            None
        };
        let slot = Slot::new(waiting);
        req.extensions_mut().insert(slot.listener());
        let measured = Measured {
            slot,
            span,
            start,
            metrics,
            ambient,
            method: req.method().clone(),
            version: req.version(),
            tcp: crate::peer::PeerAddr::of(req.extensions()).is_some(),
            era: metrics.then(|| crate::protocol::request_era(req.method(), req.headers(), false)),
            session: if self.config.session_id {
                req.headers().get(MCP_SESSION_ID).cloned()
            } else {
                None
            },
            config: self.config.clone(),
        };
        let future = {
            let _entered = (!deferred).then(|| measured.span.enter());
            self.inner.call(req)
        };
        ResponseFuture::measured(future, measured)
    }
}
