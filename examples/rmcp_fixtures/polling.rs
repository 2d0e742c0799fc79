//! SSE polling (SEP-1699) for `test_reconnection`: a handler ends its own POST
//! SSE response mid-call, the client resumes with `GET` + `Last-Event-ID`, and
//! rmcp replays the rest of the stream from its session cache.
//!
//! rmcp's `LocalSessionManager` can close a request's stream, but only from
//! outside the handler and by an internal stream id the handler never sees.
//! This middleware works with any `SessionManager` instead: it hands each POST
//! a [`StreamCut`] (through the request extensions rmcp passes on to
//! handlers) and ends that POST's response body when the handler pulls it.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};
use http::Method;
use tokio::sync::Notify;

/// Cuts waiting for their client to come back, by `Mcp-Session-Id`.
#[derive(Debug, Default)]
pub struct SsePolling {
    awaiting_resume: Mutex<HashMap<String, Arc<Notify>>>,
}

impl SsePolling {
    fn take(&self, session: &str) -> Option<Arc<Notify>> {
        self.awaiting_resume
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(session)
    }

    fn put(&self, session: String, resumed: Arc<Notify>) {
        self.awaiting_resume
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(session, resumed);
    }
}

/// Lets the handler of one POST end that POST's SSE response early.
#[derive(Debug, Clone)]
pub struct StreamCut {
    end: Arc<Notify>,
    session: Option<String>,
    polling: Arc<SsePolling>,
}

impl StreamCut {
    /// Ends the response stream after the events already sent, then waits (at
    /// most `max_wait`) until the client has resumed it with `GET` +
    /// `Last-Event-ID`: a reply sent before that would be cached by rmcp but
    /// never delivered, since rmcp drops a finished stream's replay cache.
    /// Returns whether the client came back in time.
    pub async fn close_and_await_resume(&self, max_wait: Duration) -> bool {
        let resumed = Arc::new(Notify::new());
        if let Some(session) = &self.session {
            self.polling.put(session.clone(), resumed.clone());
        }
        self.end.notify_one();
        tokio::time::timeout(max_wait, resumed.notified())
            .await
            .is_ok()
    }
}

/// The middleware: a [`StreamCut`] for every POST, a truncatable body for
/// every POST answered with SSE, and a wake-up for the handler when a GET
/// resumes a cut stream.
pub async fn layer(
    State(polling): State<Arc<SsePolling>>,
    request: Request,
    next: Next,
) -> Response {
    let session = request
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match *request.method() {
        Method::POST => {
            let end = Arc::new(Notify::new());
            let mut request = request;
            request.extensions_mut().insert(StreamCut {
                end: end.clone(),
                session,
                polling,
            });
            let response = next.run(request).await;
            if !is_event_stream(&response) {
                return response;
            }
            let (parts, body) = response.into_parts();
            let stream = Cut {
                inner: body.into_data_stream().boxed(),
                end: Box::pin(async move { end.notified().await }),
                ending: false,
            };
            Response::from_parts(parts, Body::from_stream(stream))
        }
        Method::GET if request.headers().contains_key("last-event-id") => {
            // rmcp has swapped the resumed stream in by the time it answers,
            // so the handler may send its reply once `next` returns.
            let response = next.run(request).await;
            if let Some(resumed) = session.and_then(|s| polling.take(&s)) {
                resumed.notify_one();
            }
            response
        }
        _ => next.run(request).await,
    }
}

/// A response body that, once `end` fires, still yields every frame rmcp has
/// already queued (at least the priming event, whose id the client needs in
/// order to resume), then ends. An SSE event is one frame, so no event is
/// ever split.
struct Cut<S> {
    inner: S,
    end: BoxFuture<'static, ()>,
    ending: bool,
}

impl<S: Stream + Unpin> Stream for Cut<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        if !this.ending && this.end.as_mut().poll(cx).is_ready() {
            this.ending = true;
        }
        match this.inner.poll_next_unpin(cx) {
            Poll::Pending if this.ending => Poll::Ready(None),
            polled => polled,
        }
    }
}

fn is_event_stream(response: &Response) -> bool {
    response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}
