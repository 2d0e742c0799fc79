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
//! [`CloseCause::InitializeFailed`](super::CloseCause::InitializeFailed): the
//! handler saw the session id, and may have made state for it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::context::SessionContext;
use super::id::SessionId;
use super::store::{Reservation, SessionStore, StoreCall, StoreError};
use crate::jsonrpc::RequestId;
use crate::protocol::{Era, ProtocolVersion};

use super::TARGET;

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
    #[derive(Deserialize)]
    struct Message<'a> {
        #[serde(borrow)]
        method: Option<&'a RawValue>,
        #[serde(borrow)]
        id: Option<&'a RawValue>,
        #[serde(borrow)]
        result: Option<&'a RawValue>,
        #[serde(borrow)]
        error: Option<&'a RawValue>,
    }
    #[derive(Deserialize)]
    struct InitializeResult<'a> {
        #[serde(rename = "protocolVersion", borrow)]
        protocol_version: Option<&'a str>,
    }
    let message: Message<'_> = serde_json::from_slice(message).ok()?;
    if message.method.is_some() || !same_id(message.id?, id) {
        return None;
    }
    match (message.result, message.error) {
        (Some(result), None) => {
            let version = serde_json::from_str::<InitializeResult<'_>>(result.get())
                .ok()
                .and_then(|r| ProtocolVersion::parse_bytes(r.protocol_version?.as_bytes()))
                .filter(|v| v.era() == Era::Legacy && ProtocolVersion::KNOWN.contains(v));
            // `result` must be an object (InitializeResult); anything else is no success.
            result
                .get()
                .starts_with('{')
                .then_some(Answer::Result { version })
                .or(Some(Answer::Error))
        }
        // An error, or a message with both or neither: not a success.
        _ => Some(Answer::Error),
    }
}

/// Whether a response's id names the request's id: strings exactly, numbers by
/// value (a server may write `1.0` for `1`).
fn same_id(raw: &RawValue, id: &RequestId) -> bool {
    match (RequestId::from_raw(raw), id) {
        (Some(RequestId::String(a)), RequestId::String(b)) => a == *b,
        (Some(RequestId::Number(a)), RequestId::Number(b)) => {
            a == *b || numeric_eq(&a, b).unwrap_or(false)
        }
        _ => false,
    }
}

fn numeric_eq(a: &str, b: &str) -> Option<bool> {
    let a: serde_json::Number = serde_json::from_str(a).ok()?;
    let b: serde_json::Number = serde_json::from_str(b).ok()?;
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x == y);
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x == y);
    }
    Some(a.as_f64()? == b.as_f64()?)
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

/// An incremental reader of a `text/event-stream` body that looks for the
/// answer to one request id. Follows the WHATWG event-stream rules: lines end
/// in CRLF, LF or CR; `data` lines join with LF; a blank line dispatches; an
/// event cut off by the end of the stream is never dispatched.
#[derive(Debug, Default)]
pub(crate) struct SseScan {
    line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    /// The event being read named a type other than `message` (MCP clients
    /// read only `message` events, the default type).
    other_type: bool,
    /// The previous chunk ended in CR: a leading LF now belongs to it.
    after_cr: bool,
    /// Past the first line (a UTF-8 BOM is stripped from the first only).
    started: bool,
}

impl SseScan {
    /// Feeds the next bytes of the stream.
    pub(crate) fn feed(&mut self, mut chunk: &[u8], id: &RequestId) -> Scan {
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        while !chunk.is_empty() {
            let Some(end) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.line.extend_from_slice(chunk);
                break;
            };
            self.line.extend_from_slice(&chunk[..end]);
            let cr = chunk[end] == b'\r';
            chunk = &chunk[end + 1..];
            if cr {
                match chunk.first() {
                    Some(b'\n') => chunk = &chunk[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            if let Some(answer) = self.end_line(id) {
                return Scan::Answered(answer);
            }
            if self.data.len() > MAX_ANSWER_BYTES {
                return Scan::TooLarge;
            }
        }
        if self.line.len() + self.data.len() > MAX_ANSWER_BYTES {
            return Scan::TooLarge;
        }
        Scan::Pending
    }

    fn end_line(&mut self, id: &RequestId) -> Option<Answer> {
        let mut line = std::mem::take(&mut self.line);
        let mut text = line.as_slice();
        if !self.started {
            self.started = true;
            text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        }
        let answer = if text.is_empty() {
            let answer = if self.has_data && !self.other_type {
                // The final LF of the joined data lines is not part of the data.
                self.data.pop();
                judge(&self.data, id)
            } else {
                None
            };
            self.data.clear();
            self.has_data = false;
            self.other_type = false;
            answer
        } else {
            let (field, value) = match text.iter().position(|&b| b == b':') {
                Some(colon) => {
                    let value = &text[colon + 1..];
                    (&text[..colon], value.strip_prefix(b" ").unwrap_or(value))
                }
                None => (text, &b""[..]),
            };
            if field == b"data" {
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
                self.has_data = true;
            } else if field == b"event" {
                self.other_type = !value.is_empty() && value != b"message";
            }
            None
        };
        line.clear();
        self.line = line;
        answer
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
mod tests {
    use super::*;

    fn num(n: &str) -> RequestId {
        RequestId::Number(n.to_owned())
    }

    #[test]
    fn judge_reads_result_error_and_other_ids() {
        let one = num("1");
        let ok = br#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18"}}"#;
        assert_eq!(
            judge(ok, &one),
            Some(Answer::Result {
                version: Some(ProtocolVersion::V2025_06_18)
            })
        );
        let err = br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"x"}}"#;
        assert_eq!(judge(err, &one), Some(Answer::Error));
        assert_eq!(judge(ok, &num("2")), None);
        assert_eq!(judge(ok, &RequestId::String("1".into())), None);
        assert_eq!(judge(br#"{"jsonrpc":"2.0","method":"x"}"#, &one), None);
        assert_eq!(judge(b"not json", &one), None);
        // A result that is not an object is no InitializeResult.
        assert_eq!(
            judge(br#"{"jsonrpc":"2.0","id":1,"result":null}"#, &one),
            Some(Answer::Error)
        );
        // Numbers compare by value; an unknown answered version is not recorded.
        let float = br#"{"jsonrpc":"2.0","id":1.0,"result":{"protocolVersion":"1999-01-01"}}"#;
        assert_eq!(judge(float, &one), Some(Answer::Result { version: None }));
    }

    #[test]
    fn sse_scan_across_chunks_and_line_endings() {
        let id = num("7");
        let stream = b"\xEF\xBB\xBF: comment\r\nevent: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"n\"}\r\n\r\nid: 3\rdata: {\"jsonrpc\":\"2.0\",\r\ndata: \"id\":7,\"result\":{}}\r\r";
        for split in 0..stream.len() {
            let mut scan = SseScan::default();
            let first = scan.feed(&stream[..split], &id);
            let got = match first {
                Scan::Pending => scan.feed(&stream[split..], &id),
                other => other,
            };
            assert_eq!(
                got,
                Scan::Answered(Answer::Result { version: None }),
                "split at {split}"
            );
        }
    }

    /// Issue 26, finding 14: a server-to-client request (a `method`) that
    /// reuses the `initialize` id, and an event of another type than
    /// `message`, are not the answer; the `result` that follows commits.
    #[test]
    fn finding_14_server_requests_and_named_events_are_not_the_answer() {
        let id = num("0");
        let request = br#"{"jsonrpc":"2.0","id":0,"method":"elicitation/create","error":{"code":1,"message":"x"}}"#;
        assert_eq!(
            judge(request, &id),
            None,
            "a request, whatever else it says"
        );
        let streams: [&[u8]; 3] = [
            b"data: {\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"sampling/createMessage\",\"params\":{}}\n\n\
data: {\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{}}\n\n",
            b"event: debug\ndata: {\"jsonrpc\":\"2.0\",\"id\":0,\"error\":{\"code\":-1,\"message\":\"x\"}}\n\n\
event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{}}\n\n",
            b"event: ping\ndata: {\"jsonrpc\":\"2.0\",\"id\":0,\"error\":{\"code\":-1,\"message\":\"x\"}}\n\n\
data: {\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{}}\n\n",
        ];
        for stream in streams {
            let mut scan = SseScan::default();
            assert_eq!(
                scan.feed(stream, &id),
                Scan::Answered(Answer::Result { version: None }),
                "{}",
                String::from_utf8_lossy(stream)
            );
        }
    }

    #[test]
    fn sse_scan_never_dispatches_a_cut_off_event() {
        let id = num("1");
        let mut scan = SseScan::default();
        let got = scan.feed(b"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n", &id);
        assert_eq!(got, Scan::Pending);
    }

    #[test]
    fn sse_scan_gives_up_on_huge_events() {
        let id = num("1");
        let mut scan = SseScan::default();
        let mut big = b"data: ".to_vec();
        big.resize(MAX_ANSWER_BYTES + 10, b'a');
        assert_eq!(scan.feed(&big, &id), Scan::TooLarge);
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        #[derive(Clone, Debug)]
        enum Event {
            Notification,
            Comment,
            OtherId,
            Garbage,
            Result,
            Error,
        }

        fn event() -> impl Strategy<Value = Event> {
            prop_oneof![
                Just(Event::Notification),
                Just(Event::Comment),
                Just(Event::OtherId),
                Just(Event::Garbage),
                Just(Event::Result),
                Just(Event::Error),
            ]
        }

        /// The data lines of one event: the JSON is split at its commas into
        /// `data:` lines (joined by LF, which is JSON whitespace).
        fn render(event: &Event, id: &str, split: bool, eol: &str) -> String {
            let json = match event {
                Event::Comment => return format!(": keep-alive{eol}{eol}"),
                Event::Notification => {
                    r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#.to_owned()
                }
                Event::OtherId => r#"{"jsonrpc":"2.0","id":"someone-else","result":{}}"#.to_owned(),
                Event::Garbage => "not json at all".to_owned(),
                Event::Result => format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"result":{{"protocolVersion":"2025-06-18"}}}}"#
                ),
                Event::Error => {
                    format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-1,"message":"no"}}}}"#)
                }
            };
            let mut out = format!("event: message{eol}id: 1{eol}");
            let lines: Vec<&str> = if split {
                json.split_inclusive(',').collect()
            } else {
                vec![&json]
            };
            for line in lines {
                out.push_str("data: ");
                out.push_str(line);
                out.push_str(eol);
            }
            out.push_str(eol);
            out
        }

        proptest! {
            /// Issue 12 commit rule: the first event answering the request id
            /// decides, whatever the line endings, the `data:` line splits and
            /// the chunk boundaries; a stream without one decides nothing.
            #[test]
            fn sse_scan_matches_its_model(
                events in proptest::collection::vec(event(), 0..6),
                numeric in any::<bool>(),
                split in any::<bool>(),
                eol in proptest::sample::select(vec!["\n", "\r\n", "\r"]),
                cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..8),
            ) {
                let (text, id) = if numeric {
                    ("42", RequestId::Number("42".into()))
                } else {
                    (r#""req-1""#, RequestId::String("req-1".into()))
                };
                let stream: String = events.iter().map(|e| render(e, text, split, eol)).collect();
                let expected = events.iter().find_map(|e| match e {
                    Event::Result => Some(Scan::Answered(Answer::Result {
                        version: Some(ProtocolVersion::V2025_06_18),
                    })),
                    Event::Error => Some(Scan::Answered(Answer::Error)),
                    _ => None,
                }).unwrap_or(Scan::Pending);
                let bytes = stream.as_bytes();
                let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
                points.sort_unstable();
                let mut scan = SseScan::default();
                let mut got = Scan::Pending;
                let mut start = 0;
                for end in points.into_iter().chain([bytes.len()]) {
                    got = scan.feed(&bytes[start..end], &id);
                    start = end;
                    if got != Scan::Pending {
                        break;
                    }
                }
                prop_assert_eq!(got, expected, "{:?}", stream);
            }

            /// `judge` never panics, and answers only for the request's own id.
            #[test]
            fn judge_answers_only_its_id(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
                let id = RequestId::Number("1".into());
                if let Some(answer) = judge(&bytes, &id) {
                    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("an answer is JSON");
                    prop_assert!(v["id"].as_f64() == Some(1.0), "{:?} for {:?}", answer, v);
                }
            }
        }
    }
}
