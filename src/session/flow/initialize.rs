//! The commit rule: a session exists only once its `initialize` was answered
//! with a JSON-RPC `result` for that request's id.
//!
//! The handler's HTTP status is not enough: a server answers a malformed
//! `initialize` with a JSON-RPC error in a 200 (finding F7), and a session
//! committed on that would hold a slot until the idle timeout. So the layer
//! reads the answer:
//!
//! - a JSON answer (or an SSE answer of a body type already in memory) is read
//!   whole, up to [`MAX_ANSWER_BYTES`], before the response head leaves; the
//!   session is committed, and `Mcp-Session-Id` set, only on a `result`;
//! - an SSE stream sends its head first, so the head carries the id and the
//!   body is watched ([`Watched`]): the slot stays reserved while the stream
//!   runs, the session is committed when the `result` event arrives (before
//!   that event reaches the client, so the client never holds an id the store
//!   does not know), and the slot is given back when the stream answers with an
//!   error, ends, fails or is dropped without answering.
//!
//! An `initialize` that fails gives its slot back and fires the close hook with
//! [`CloseCause::InitializeFailed`](crate::session::CloseCause::InitializeFailed): the
//! handler saw the session id, and may have made state for it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll};

use crate::answer::{Answer as Message, Fed, SseEvents};
use crate::jsonrpc::RequestId;
use crate::protocol::{Era, ProtocolVersion};
use crate::session::context::SessionContext;
use crate::session::id::SessionId;
use crate::session::store::{Reservation, SessionStore, StoreCall, StoreError};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::session::TARGET;

/// Largest `initialize` answer (a JSON body, or one SSE event) the layer reads.
/// Real answers are a few hundred bytes; a larger one is treated as failed.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// What the answer to the `initialize` said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A JSON-RPC `result` for the id; `version` is the `protocolVersion` the
    /// server answered, when it names a known legacy revision.
    Result { version: Option<ProtocolVersion> },
    /// A JSON-RPC `error` for the id.
    Error,
}

/// Judges one JSON-RPC message (a JSON body, or the data of one SSE event)
/// against the `initialize` id. `None` when it is not the answer to that id: a
/// notification, a server request (it has a `method`, even when it reuses the
/// id: ids are per sender), another id, or not JSON-RPC.
pub(crate) fn judge(message: &[u8], id: &RequestId) -> Option<Answer> {
    judge_message(Message::parse(message)?, id)
}

/// [`judge`], of a message already parsed.
pub(crate) fn judge_message(message: Message<'_>, id: &RequestId) -> Option<Answer> {
    if !message.responds_to(id) {
        return None;
    }
    // An error, or a message with both or neither: not a success.
    let Some(result) = message.result() else {
        return Some(Answer::Error);
    };
    let version = message
        .result_member::<&str>("protocolVersion")
        .and_then(|v| ProtocolVersion::parse_bytes(v.as_bytes()))
        .filter(|v| v.era() == Era::Legacy && ProtocolVersion::KNOWN.contains(v));
    // `result` must be an object (InitializeResult); anything else is no success.
    Some(if result.get().starts_with('{') {
        Answer::Result { version }
    } else {
        Answer::Error
    })
}

/// What an SSE scan has found so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// No answer to the id yet.
    Pending,
    /// The answer.
    Answered(Answer),
    /// An event larger than [`MAX_ANSWER_BYTES`]: the scan gives up.
    TooLarge,
}

/// Looks for the answer to one request id in a `text/event-stream` body,
/// event by event (the crate's one event-stream reader).
#[derive(Debug)]
pub(crate) struct SseScan(SseEvents);

impl Default for SseScan {
    fn default() -> Self {
        Self(SseEvents::new(MAX_ANSWER_BYTES))
    }
}

impl SseScan {
    /// Feeds the next bytes of the stream.
    pub(crate) fn feed(&mut self, chunk: &[u8], id: &RequestId) -> Scan {
        match self.0.feed(chunk, |data| judge(data, id)) {
            Fed::More => Scan::Pending,
            Fed::Found(answer) => Scan::Answered(answer),
            Fed::TooLarge => Scan::TooLarge,
        }
    }
}

/// A reserved slot, and the context the handler saw, until the `initialize`
/// is decided. Dropped undecided, it gives the slot back and fires the close
/// hook with `InitializeFailed`.
pub(crate) struct Pending {
    store: Arc<dyn SessionStore>,
    slot: Option<(Reservation, SessionContext)>,
}

impl Pending {
    pub(crate) fn new(
        store: Arc<dyn SessionStore>,
        reservation: Reservation,
        session: SessionContext,
    ) -> Self {
        Self {
            store,
            slot: Some((reservation, session)),
        }
    }

    /// The id the session will have: the reservation's, or the one the
    /// inner server chose ([`rekey`](Self::rekey)).
    pub(crate) fn id(&self) -> Option<&SessionId> {
        self.slot.as_ref().map(|(_, s)| s.id())
    }

    /// The session under the id the inner server chose for it
    /// (`SessionOwner::Server`), held by `replica` when the store is shared;
    /// the slot stays the one reserved.
    pub(crate) fn rekey(mut self, id: SessionId, replica: Option<Arc<str>>) -> Self {
        if let Some((_, session)) = &mut self.slot {
            *session = session.rekeyed(id);
            if let Some(replica) = replica {
                session.set_replica(replica);
            }
        }
        self
    }

    /// Commits the session, negotiated at `version` when the server named one.
    pub(crate) fn commit(
        mut self,
        version: Option<ProtocolVersion>,
    ) -> Option<StoreCall<Result<(), StoreError>>> {
        let (reservation, session) = self.slot.take()?;
        if let Some(version) = version {
            session.set_protocol_version(version);
        }
        Some(self.store.commit(reservation, session))
    }

    /// Gives the slot back (the `initialize` failed), logging why.
    pub(crate) fn fail(mut self, why: &'static str) {
        self.abandon(why);
    }

    fn abandon(&mut self, why: &'static str) {
        if let Some((reservation, session)) = self.slot.take() {
            tracing::debug!(
                target: TARGET,
                session = %session.id().tag(),
                why,
                "initialize did not succeed; no session created"
            );
            self.store.abandon(reservation, &session);
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.abandon("response dropped before the initialize was answered");
    }
}

type CommitCall = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'static>>;

enum WatchState {
    Watching {
        scan: SseScan,
        pending: Pending,
        id: RequestId,
    },
    /// The `result` event arrived; the store is committing. The frame that
    /// carried it is held back until the session exists.
    // The Mutex makes the body `Sync` (BoxBody needs it); only `get_mut` is used.
    Committing {
        call: Mutex<CommitCall>,
        frame: Option<Frame<Bytes>>,
    },
    Decided,
}

pin_project! {
    /// An SSE `initialize` answer, watched for the `result` that commits its session.
    pub(crate) struct Watched<B> {
        #[pin]
        inner: B,
        state: WatchState,
    }
}

impl<B> Watched<B> {
    pub(crate) fn new(inner: B, pending: Pending, id: RequestId) -> Self {
        Self {
            inner,
            state: WatchState::Watching {
                scan: SseScan::default(),
                pending,
                id,
            },
        }
    }
}

fn commit_failed(error: &StoreError) {
    tracing::warn!(
        target: TARGET,
        %error,
        "session could not be stored after a successful initialize; ending the stream before its result"
    );
}

impl<B> Body for Watched<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let mut this = self.project();
        if let WatchState::Committing { call, frame } = this.state {
            let call = call.get_mut().unwrap_or_else(PoisonError::into_inner);
            let result = ready!(call.as_mut().poll(cx));
            let frame = frame.take();
            *this.state = WatchState::Decided;
            return match result {
                Ok(()) => Poll::Ready(frame.map(Ok)),
                // The client must not read a result naming an id the store lacks.
                Err(error) => {
                    commit_failed(&error);
                    Poll::Ready(None)
                }
            };
        }
        let polled = ready!(this.inner.as_mut().poll_frame(cx));
        let WatchState::Watching { scan, id, .. } = this.state else {
            return Poll::Ready(polled);
        };
        let scanned = match &polled {
            Some(Ok(frame)) => match frame.data_ref() {
                Some(data) => scan.feed(data, id),
                None => Scan::Pending,
            },
            _ => Scan::Pending,
        };
        let decided = match (&polled, scanned) {
            (Some(Ok(_)), Scan::Pending) => return Poll::Ready(polled),
            (_, Scan::Answered(Answer::Result { version })) => Some(version),
            _ => None,
        };
        let WatchState::Watching { pending, .. } =
            std::mem::replace(this.state, WatchState::Decided)
        else {
            return Poll::Ready(polled);
        };
        let Some(version) = decided else {
            pending.fail(match (&polled, scanned) {
                (_, Scan::Answered(_)) => "the stream answered with a JSON-RPC error",
                (_, Scan::TooLarge) => "an event of the stream exceeds the answer limit",
                (Some(Err(_)), _) => "the stream failed before answering",
                _ => "the stream ended without answering",
            });
            return Poll::Ready(polled);
        };
        match pending.commit(version) {
            Some(StoreCall::Ready(Ok(()))) | None => Poll::Ready(polled),
            Some(StoreCall::Ready(Err(error))) => {
                commit_failed(&error);
                Poll::Ready(None)
            }
            Some(StoreCall::Pending(call)) => {
                let frame = match polled {
                    Some(Ok(frame)) => Some(frame),
                    _ => None,
                };
                *this.state = WatchState::Committing {
                    call: Mutex::new(call),
                    frame,
                };
                // Poll the commit right away; it registers the waker.
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self.state {
            WatchState::Committing { .. } => false,
            _ => self.inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Wraps `body` in a [`Watched`] in its own type (see `crate::body::rewrap!`);
/// gives `pending` back for a body type that cannot be rewrapped.
pub(crate) fn watch<B: Default + 'static>(
    body: B,
    pending: Pending,
    id: RequestId,
) -> Result<B, (B, Pending)> {
    crate::body::rewrap!(body, (pending, id), |inner, (pending, id)| {
        Watched::new(inner, pending, id)
    })
    .map_err(|(body, (pending, _))| (body, pending))
}

#[cfg(test)]
mod tests;
