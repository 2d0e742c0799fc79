//! The telemetry layer's response future: polls the inner service inside
//! the span, then hands span, clock and labels to the response body.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::{HeaderValue, Method, Response, Version};
use metrics::Label;
use pin_project_lite::pin_project;
use tokio::time::Instant;
use tracing::Span;

use super::answer;
use super::body::{Finish, TelemetryBody};
use super::config::TelemetryConfig;
use super::labels::{self, TargetKind};
use super::slot::{Facts, Slot};
use super::span;
use crate::envelope::Envelope;
use crate::observe::metrics::REQUESTS;
use crate::protocol::Era;
use crate::rejection::Rejection;

/// What a measured request carries from its arrival to its response.
#[derive(Debug)]
pub(crate) struct Measured {
    pub(crate) slot: Slot,
    pub(crate) span: Span,
    pub(crate) start: Instant,
    pub(crate) metrics: bool,
    pub(crate) ambient: bool,
    pub(crate) method: Method,
    pub(crate) version: Version,
    pub(crate) tcp: bool,
    pub(crate) era: Option<Era>,
    pub(crate) session: Option<HeaderValue>,
    pub(crate) config: Arc<TelemetryConfig>,
}

pin_project! {
    /// Response future of [`McpTelemetry`](super::McpTelemetry).
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        // None when nothing is recorded (no subscriber, no recorder).
        measured: Option<Box<Measured>>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn bare(inner: F) -> Self {
        Self {
            inner,
            measured: None,
        }
    }

    pub(crate) fn measured(inner: F, measured: Measured) -> Self {
        Self {
            inner,
            measured: Some(Box::new(measured)),
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<TelemetryBody<B>>, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(measured) = this.measured.as_ref() else {
            let response = ready!(this.inner.poll(cx));
            return Poll::Ready(response.map(|r| r.map(TelemetryBody::bare)));
        };
        let output = {
            let _entered = measured.slot.ready().then(|| measured.span.enter());
            ready!(this.inner.poll(cx))
        };
        let Some(measured) = this.measured.take() else {
            return Poll::Ready(output.map(|r| r.map(TelemetryBody::bare)));
        };
        Poll::Ready(match output {
            Ok(response) => {
                let finish = measured.head(&response);
                Ok(response.map(|body| TelemetryBody::measured(body, finish)))
            }
            Err(error) => {
                // The inner service failed: no response, so the span ends here.
                drop(measured.failed());
                Err(error)
            }
        })
    }
}

impl Measured {
    /// The response head is here: the span learns the outcome, the request
    /// is counted, and the histogram's labels are fixed.
    fn head<B>(self, response: &Response<B>) -> Finish {
        let facts = self.slot.take();
        let named = self.settle_span(&facts);
        let message = facts.envelope.as_ref().and_then(Envelope::single);
        // A tool or prompt name is learned as a label only from a request the
        // inner service answered (issue 26, finding 11): one refused by a
        // layer (a 401, a 403) teaches nothing.
        let answered =
            response.extensions().get::<Rejection>().is_none() && response.status().is_success();
        if let Some(message) = message.filter(|_| answered) {
            self.config.targets.learn(message);
        }
        let protocol = facts
            .protocol
            .filter(|p| !p.assumed())
            .map(|p| p.version().label());
        if !self.span.is_disabled() {
            let session = self
                .config
                .session_id
                .then(|| span::session_header(self.session.as_ref(), response))
                .flatten();
            span::record_response(&self.span, response, &self.method, named, protocol, session);
        }
        let labels = if self.metrics {
            let era = facts.protocol.map(|p| p.era()).or(self.era);
            self.count(era, message);
            message
                .and_then(|m| m.method.as_deref().map(|method| (m, method)))
                .map(|(m, method)| self.operation_labels(m, method, protocol, response))
        } else {
            None
        };
        let finish = Finish::new(self.span, self.start, labels);
        let answers_request = message
            .is_some_and(|m| m.kind == crate::envelope::MessageKind::Request)
            && response.status() == http::StatusCode::OK
            && response.extensions().get::<Rejection>().is_none();
        let headers = response.headers();
        if !answers_request {
            finish
        } else if let Some(read) = response.extensions().get::<crate::observe::AnswerRead>() {
            finish.read_answer(answer::Reader::known(read))
        } else if crate::headers::media::is_json_request(headers) {
            finish.read_answer(answer::Reader::json())
        } else if crate::headers::media::is_event_stream(headers) {
            finish.read_answer(answer::Reader::sse())
        } else {
            finish
        }
    }

    /// No response at all (the inner service returned an error).
    fn failed(self) -> Finish {
        let facts = self.slot.take();
        self.settle_span(&facts);
        if !self.span.is_disabled() {
            self.span.record("otel.name", self.method.as_str());
            span::record_body_error(&self.span);
        }
        Finish::new(self.span, self.start, None)
    }

    /// A POST whose body never named a parent takes the header's. True when
    /// the span was named after its message.
    fn settle_span(&self, facts: &Facts) -> bool {
        if let Some(waiting) = &facts.waiting {
            span::adopt_header(&waiting.span, waiting.header.clone(), self.ambient);
            return false;
        }
        facts
            .envelope
            .as_ref()
            .and_then(Envelope::single)
            .is_some_and(|m| m.method.is_some())
    }

    fn count(&self, era: Option<Era>, message: Option<&crate::envelope::Message>) {
        let era = match era {
            Some(Era::Modern) => "modern",
            _ => "legacy",
        };
        let mut labels = Vec::with_capacity(3);
        labels.push(Label::from_static_parts("mcp.era", era));
        labels.push(Label::from_static_parts(
            "http.request.method",
            http_method(&self.method),
        ));
        if let Some(method) = message.and_then(|m| m.method.as_deref()) {
            labels.push(Label::from_static_parts(
                "mcp.method.name",
                labels::method(method),
            ));
        }
        metrics::counter!(REQUESTS, labels).increment(1);
    }

    fn operation_labels<B>(
        &self,
        message: &crate::envelope::Message,
        method: &str,
        protocol: Option<&'static str>,
        response: &Response<B>,
    ) -> Vec<Label> {
        let mut labels = Vec::with_capacity(9);
        labels.push(Label::from_static_parts(
            "mcp.method.name",
            labels::method(method),
        ));
        if let (Some(kind), Some(name)) = (labels::target_kind(method), message.name.as_deref()) {
            // Learned (or not) in `head`, from the answer.
            let label = self.config.targets.known_label(name);
            labels.push(Label::new(kind.attribute(), label));
            if kind == TargetKind::Tool {
                labels.push(Label::from_static_parts(
                    "gen_ai.operation.name",
                    "execute_tool",
                ));
            }
        }
        if let Some(rejection) = response.extensions().get::<Rejection>() {
            labels.push(Label::from_static_parts(
                "error.type",
                rejection.kind().as_str(),
            ));
            labels.push(Label::new(
                "rpc.response.status_code",
                rejection.code().to_string(),
            ));
        } else if response.status().is_server_error() {
            labels.push(Label::new(
                "error.type",
                response.status().as_u16().to_string(),
            ));
        }
        if let Some(version) = protocol {
            labels.push(Label::from_static_parts("mcp.protocol.version", version));
        }
        labels.push(Label::from_static_parts("network.protocol.name", "http"));
        labels.push(Label::from_static_parts(
            "network.protocol.version",
            span::http_version(self.version),
        ));
        if self.tcp {
            labels.push(Label::from_static_parts("network.transport", "tcp"));
        }
        labels
    }
}

fn http_method(method: &Method) -> &'static str {
    match *method {
        Method::POST => "POST",
        Method::GET => "GET",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        _ => labels::OTHER,
    }
}
