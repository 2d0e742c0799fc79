//! What the layers inside the telemetry layer learn about a request (its
//! envelope, its protocol), heard through [`crate::observe`].
//!
//! The telemetry layer runs first, before anything is known; the request
//! then moves inward. The layer puts its [`Slot`] in the extensions as the
//! request's [`Listener`], and the two places that learn the facts (the
//! shared envelope read, and the protocol admission) tell it, for the way
//! back out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::span::{self, Waiting};
use crate::envelope::Envelope;
use crate::observe::{Listener, RequestListener};
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
        std::mem::take(&mut *lock(&self.0.facts))
    }
}

impl Slot {
    /// The request extension that tells this slot the request's facts.
    pub(crate) fn listener(&self) -> Listener {
        Listener(self.0.clone())
    }
}

impl RequestListener for Inner {
    /// Keeps the envelope; a waiting span gets its parent from it.
    fn envelope(&self, envelope: &Envelope) -> bool {
        let mut facts = lock(&self.facts);
        facts.envelope = Some(envelope.clone());
        let Some(waiting) = facts.waiting.take() else {
            return false;
        };
        drop(facts);
        span::adopt(&waiting, envelope);
        self.ready.store(true, Ordering::Release);
        true
    }

    fn protocol(&self, protocol: RequestProtocol) {
        lock(&self.facts).protocol = Some(protocol);
    }
}

fn lock(facts: &Mutex<Facts>) -> std::sync::MutexGuard<'_, Facts> {
    facts.lock().unwrap_or_else(PoisonError::into_inner)
}
