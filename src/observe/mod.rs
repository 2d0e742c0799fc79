//! What the layers tell telemetry: one small module at the bottom of the
//! crate, which every layer may call and which depends on no layer.
//!
//! Without the `telemetry` feature every function here is empty and inlined
//! away. With it, counts go to the [`metrics`](https://docs.rs/metrics)
//! facade ([`metrics`] holds every name), and the facts of one request (its
//! envelope, its protocol) go to the [`Listener`] the telemetry layer put in
//! the request's extensions; what a layer read of a JSON answer goes into the
//! response's extensions ([`AnswerRead`]), so it is parsed once.
//! `telemetry/` consumes these events; no layer names it.

#[cfg(feature = "session")]
use std::time::Duration;

use http::StatusCode;

#[cfg(feature = "telemetry")]
pub(crate) mod metrics;

/// Whether the `telemetry` feature is on: what is only worth building for a
/// listener (a timed store) is skipped without it.
pub(crate) const ENABLED: bool = cfg!(feature = "telemetry");

/// Whether anything is recorded: a metrics recorder is installed and the
/// feature is on. Callers skip clock reads and labels when it is false.
#[cfg(any(feature = "session", feature = "telemetry"))]
#[inline]
pub(crate) fn recording() -> bool {
    #[cfg(feature = "telemetry")]
    return metrics::recording();
    #[cfg(not(feature = "telemetry"))]
    false
}

/// A refusal, from the one place every layer rejects.
#[inline]
pub(crate) fn rejection(layer: &'static str, kind: &'static str, status: StatusCode) {
    #[cfg(feature = "telemetry")]
    metrics::rejection(layer, kind, status);
    #[cfg(not(feature = "telemetry"))]
    let _ = (layer, kind, status);
}

/// A session was committed.
#[cfg(feature = "session")]
#[inline]
pub(crate) fn session_opened() {
    #[cfg(feature = "telemetry")]
    metrics::session_opened();
}

/// A committed session closed for `cause`; `lifetime` is read only when
/// something records.
#[cfg(feature = "session")]
#[inline]
pub(crate) fn session_closed(
    cause: &'static str,
    lifetime: impl FnOnce() -> Duration,
    version: Option<&'static str>,
) {
    #[cfg(feature = "telemetry")]
    if metrics::recording() {
        metrics::session_closed(cause, lifetime(), version);
    }
    #[cfg(not(feature = "telemetry"))]
    let _ = (cause, lifetime, version);
}

/// One session store call of `store`'s `operation`.
#[cfg(feature = "session")]
#[inline]
pub(crate) fn store_call(
    store: &'static str,
    operation: &'static str,
    ok: bool,
    elapsed: Duration,
) {
    #[cfg(feature = "telemetry")]
    metrics::store_call(store, operation, ok, elapsed);
    #[cfg(not(feature = "telemetry"))]
    let _ = (store, operation, ok, elapsed);
}

/// One rate-limit check of `rule`: `allowed`, `limited`, `failed_open` or
/// `unavailable`.
#[cfg(feature = "ratelimit")]
#[inline]
pub(crate) fn rate_limit(rule: &str, outcome: &'static str) {
    #[cfg(feature = "telemetry")]
    metrics::rate_limit(rule, outcome);
    #[cfg(not(feature = "telemetry"))]
    let _ = (rule, outcome);
}

/// One authorization decision: `allowed`, or the refusal's kind.
#[cfg(feature = "auth")]
#[inline]
pub(crate) fn auth(outcome: &'static str) {
    #[cfg(feature = "telemetry")]
    metrics::auth(outcome);
    #[cfg(not(feature = "telemetry"))]
    let _ = outcome;
}

#[cfg(feature = "telemetry")]
pub(crate) use request::AnswerRead;
#[cfg(feature = "envelope")]
pub(crate) use request::{answer_read, envelope, listening, protocol};
#[cfg(feature = "telemetry")]
pub(crate) use request::{Listener, RequestListener};

/// The facts of one request, told to the listener in its extensions.
#[cfg(feature = "envelope")]
mod request {
    use http::Extensions;

    use crate::envelope::Envelope;
    use crate::protocol::RequestProtocol;

    /// What listens to one request's facts: the telemetry layer, which runs
    /// before any of them is known.
    #[cfg(feature = "telemetry")]
    pub(crate) trait RequestListener: Send + Sync + std::fmt::Debug {
        /// The body was parsed. True when the reader should yield once, so
        /// the rest of the request runs inside a span that just got its
        /// parent from the body.
        fn envelope(&self, envelope: &Envelope) -> bool;
        /// The request was admitted under `protocol`.
        fn protocol(&self, protocol: RequestProtocol);
    }

    /// The request extension that carries the listener.
    #[cfg(feature = "telemetry")]
    #[derive(Clone, Debug)]
    pub(crate) struct Listener(pub(crate) std::sync::Arc<dyn RequestListener>);

    /// The envelope of a request was parsed (by whichever layer read the
    /// body). True when the reader should yield once (see
    /// [`RequestListener::envelope`]).
    #[inline]
    pub(crate) fn envelope(extensions: &Extensions, envelope: &Envelope) -> bool {
        #[cfg(feature = "telemetry")]
        return extensions
            .get::<Listener>()
            .is_some_and(|listener| listener.0.envelope(envelope));
        #[cfg(not(feature = "telemetry"))]
        {
            let _ = (extensions, envelope);
            false
        }
    }

    /// Whether a telemetry layer listens to this request: only then is what
    /// a layer reads of the answer worth handing on ([`answer_read`]).
    #[inline]
    pub(crate) fn listening(extensions: &Extensions) -> bool {
        #[cfg(feature = "telemetry")]
        return extensions.get::<Listener>().is_some();
        #[cfg(not(feature = "telemetry"))]
        {
            let _ = extensions;
            false
        }
    }

    /// What a layer that read a whole JSON answer found, in the response's
    /// extensions: the telemetry layer takes it instead of parsing the answer
    /// a second time.
    #[cfg(feature = "telemetry")]
    #[derive(Clone, Debug)]
    pub(crate) struct AnswerRead {
        /// The JSON-RPC error's code and message.
        pub(crate) error: Option<crate::answer::ErrorObject>,
        /// A result with `isError: true`.
        pub(crate) tool_error: bool,
    }

    /// A layer read the whole JSON `answer` of a request a telemetry layer
    /// listens to (`error` is what it already took from it): what it says
    /// goes into `response`'s extensions.
    #[inline]
    pub(crate) fn answer_read(
        response: &mut Extensions,
        answer: &crate::answer::Answer<'_>,
        error: Option<&crate::answer::ErrorObject>,
    ) {
        #[cfg(feature = "telemetry")]
        response.insert(AnswerRead {
            error: error.cloned(),
            tool_error: error.is_none() && answer.result_member::<bool>("isError") == Some(true),
        });
        #[cfg(not(feature = "telemetry"))]
        let _ = (response, answer, error);
    }

    /// A layer admitted the request under `protocol`.
    #[inline]
    pub(crate) fn protocol(extensions: &Extensions, protocol: RequestProtocol) {
        #[cfg(feature = "telemetry")]
        if let Some(listener) = extensions.get::<Listener>() {
            listener.0.protocol(protocol);
        }
        #[cfg(not(feature = "telemetry"))]
        let _ = (extensions, protocol);
    }
}
