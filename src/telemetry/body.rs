//! The response body of a measured request: it holds the span (entered
//! while it streams) and records the operation's duration when it ends.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use metrics::Label;
use pin_project_lite::pin_project;
use tokio::time::Instant;
use tracing::Span;

use super::answer;
use super::labels;
use super::span;
use crate::observe::metrics::OPERATION_DURATION;

pin_project! {
    /// The response body of [`McpTelemetry`](super::McpTelemetry): the inner
    /// body, frame for frame. The request's span closes, and its duration is
    /// recorded, when the body ends, fails or is dropped (a client that went
    /// away), so a streamed answer is measured to its end.
    pub struct TelemetryBody<B> {
        #[pin]
        inner: B,
        // Boxed: an unmeasured body stays one pointer larger than `B`.
        finish: Option<Box<Finish>>,
    }
}

impl<B> TelemetryBody<B> {
    /// A body nobody measures.
    pub(crate) fn bare(inner: B) -> Self {
        Self {
            inner,
            finish: None,
        }
    }

    pub(crate) fn measured(inner: B, finish: Finish) -> Self {
        Self {
            inner,
            finish: Some(Box::new(finish)),
        }
    }

    /// The inner body.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B: Default> Default for TelemetryBody<B> {
    fn default() -> Self {
        Self::bare(B::default())
    }
}

impl<B: fmt::Debug> fmt::Debug for TelemetryBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryBody")
            .field("inner", &self.inner)
            .field("measured", &self.finish.is_some())
            .finish()
    }
}

impl<B> Body for TelemetryBody<B>
where
    B: Body,
    B::Data: Buf,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = {
            let _entered = this.finish.as_ref().map(|f| f.span.enter());
            this.inner.poll_frame(cx)
        };
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(finish), Some(data)) = (this.finish.as_mut(), frame.data_ref()) {
                    finish.scan(data);
                }
            }
            Poll::Ready(None) => drop(this.finish.take()),
            Poll::Ready(Some(Err(_))) => {
                if let Some(mut finish) = this.finish.take() {
                    finish.failed();
                }
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The end of a measured request: recorded when dropped.
pub(crate) struct Finish {
    span: Span,
    start: Instant,
    // The histogram's labels; None when no recorder is installed or the
    // request carried no JSON-RPC method.
    labels: Option<Vec<Label>>,
    // The answer so far, read for its outcome (`answer`); None when the
    // answer is not read.
    answer: Option<answer::Reader>,
}

impl Finish {
    pub(crate) fn new(span: Span, start: Instant, labels: Option<Vec<Label>>) -> Self {
        Self {
            span,
            start,
            labels,
            answer: None,
        }
    }

    /// Reads the answer's body as it passes, for its JSON-RPC outcome.
    pub(crate) fn read_answer(mut self, reader: answer::Reader) -> Self {
        self.answer = Some(reader);
        self
    }

    fn scan<D: Buf>(&mut self, data: &D) {
        let Some(answer) = &mut self.answer else {
            return;
        };
        if matches!(answer, answer::Reader::Known(_)) {
            return; // an inner layer read it already
        }
        let chunk = data.chunk();
        if chunk.len() != data.remaining() || !answer.feed(chunk) {
            self.answer = None; // split or too long: not read
        }
    }

    /// What the whole answer said: a JSON-RPC error or a tool error goes on
    /// the span and into the histogram's labels.
    fn conclude(&mut self) {
        let Some(outcome) = self.answer.take().and_then(answer::Reader::finish) else {
            return;
        };
        let error_type = outcome.error_type();
        let status_code = outcome.status_code();
        if let Some(code) = &status_code {
            self.span.record("rpc.response.status_code", code.as_str());
        }
        if let Some(error) = &error_type {
            self.span.record("error.type", error.as_str());
            self.span.record("otel.status_code", "error");
            self.span
                .record("otel.status_description", outcome.message());
        }
        if let Some(labels) = &mut self.labels {
            if labels.iter().any(|l| l.key() == "error.type") {
                return;
            }
            // Bounded: a code outside the specification's is `_OTHER`.
            if let Some(error) = outcome.error_label() {
                labels.push(Label::from_static_parts("error.type", error));
            }
            if let Some(code) = outcome.status_label() {
                labels.push(Label::from_static_parts("rpc.response.status_code", code));
            }
        }
    }

    /// The body failed mid-stream.
    fn failed(&mut self) {
        self.answer = None;
        span::record_body_error(&self.span);
        if let Some(labels) = &mut self.labels {
            if !labels.iter().any(|l| l.key() == "error.type") {
                labels.push(Label::from_static_parts("error.type", labels::OTHER));
            }
        }
    }
}

impl Drop for Finish {
    fn drop(&mut self) {
        // A body can end without a last poll (hyper stops at
        // `is_end_stream`), so the answer is judged here.
        self.conclude();
        if let Some(labels) = self.labels.take() {
            metrics::histogram!(OPERATION_DURATION, labels)
                .record(self.start.elapsed().as_secs_f64());
        }
    }
}

impl fmt::Debug for Finish {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Finish")
            .field("span", &self.span)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}
