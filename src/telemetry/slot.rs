//! What the layers inside the telemetry layer learn about a request (its
//! envelope, its protocol), handed out through the request extensions.
//!
//! The telemetry layer runs first, before anything is known; the request
//! then moves inward. The layer puts a [`Slot`] in the extensions, and the
//! two places that learn the facts (the shared envelope read, and the
//! headers layer's admission) leave them there for the way back out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use http::Extensions;
use opentelemetry::trace::SpanContext;
use tracing::Span;

use super::layer::TelemetryConfig;
use super::span;
use crate::envelope::Envelope;
use crate::protocol::RequestProtocol;

/// The facts of one request, shared by the telemetry future and the layers
/// inside it. Cloning is an `Arc` clone.
#[derive(Clone, Debug)]
pub(crate) struct Slot(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// The span has its parent and may be entered.
    ready: AtomicBool,
    facts: Mutex<Facts>,
}

/// What was learnt.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    pub(crate) envelope: Option<Envelope>,
    pub(crate) protocol: Option<RequestProtocol>,
    /// The span of a POST, until its body names the parent.
    pub(crate) waiting: Option<Waiting>,
}

/// A span not entered yet: its parent may still come from the body.
#[derive(Debug)]
pub(crate) struct Waiting {
    pub(crate) span: Span,
    pub(crate) header: Option<SpanContext>,
    pub(crate) config: Arc<TelemetryConfig>,
}

impl Slot {
    pub(crate) fn new(waiting: Option<Waiting>) -> Self {
        let ready = waiting.is_none();
        Self(Arc::new(Inner {
            ready: AtomicBool::new(ready),
            facts: Mutex::new(Facts {
                waiting,
                ..Facts::default()
            }),
        }))
    }

    /// Whether the span may be entered.
    pub(crate) fn ready(&self) -> bool {
        self.0.ready.load(Ordering::Acquire)
    }

    /// Takes what was learnt, for the response (later notes are ignored).
    pub(crate) fn take(&self) -> Facts {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Facts> {
        self.0.facts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The envelope of a request was parsed (by whichever layer read the body).
/// True when a waiting span just got its parent: the reader then yields once,
/// so the rest of the request runs inside the span.
pub(crate) fn note_envelope(extensions: &Extensions, envelope: &Envelope) -> bool {
    let Some(slot) = extensions.get::<Slot>() else {
        return false;
    };
    let mut facts = slot.lock();
    facts.envelope = Some(envelope.clone());
    let Some(waiting) = facts.waiting.take() else {
        return false;
    };
    drop(facts);
    span::adopt(&waiting, envelope);
    slot.0.ready.store(true, Ordering::Release);
    true
}

/// The headers layer admitted a request under `protocol`.
pub(crate) fn note_protocol(extensions: &Extensions, protocol: RequestProtocol) {
    if let Some(slot) = extensions.get::<Slot>() {
        slot.lock().protocol = Some(protocol);
    }
}
