//! Response future of [`McpHeaders`](super::McpHeaders).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::check::echo;
use super::config::HeadersConfig;
use super::media;
use crate::answer::Answer;
use crate::body::ReplayBody;
use crate::envelope::Envelope;
use crate::header_names::{LAST_EVENT_ID, MCP_SESSION_ID, X_SESSION_ID};
use crate::protocol::{Era, ProtocolVersion, RequestProtocol};
use crate::read::ReadEnvelope;
use crate::rejection::{error_code, reject, Rejection, RejectionResponse, RequestHead};

pub(crate) const LAYER: &str = "headers";
const TARGET: &str = "mcp_tower_guard::headers";

/// What to read in the inner service's answer, decided from the request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Inspect {
    /// A `tools/list` answer whose tools the layer learns.
    pub(super) learn_tools: bool,
    /// A modern answer whose JSON-RPC error gets the status the revision assigns.
    pub(super) map_status: bool,
    /// A telemetry layer listens: what the read answer says is handed on, so
    /// it is not parsed again.
    pub(super) tell: bool,
}

impl Inspect {
    fn any(self) -> bool {
        self.learn_tools || self.map_status
    }
}

pin_project! {
    /// Response future of [`McpHeaders`](super::McpHeaders): reads and checks a
    /// POST body when needed, then runs the inner service's future and adds the
    /// response headers (reading a JSON answer when the layer inspects it). No boxing.
    pub struct ResponseFuture<S, ReqB, R, ResB>
    where
        S: Service<Request<ReqB>>,
    {
        #[pin]
        state: State<S, ReqB, R, ResB>,
        config: Arc<HeadersConfig>,
        echo: Option<ProtocolVersion>,
        inspect: Inspect,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqB, R, ResB>
    where
        S: Service<Request<ReqB>>,
    {
        // Reading the POST body; `service` is the ready inner service taken in `call`.
        Reading {
            #[pin]
            read: ReadEnvelope<ReqB>,
            service: Option<S>,
            rejection: R,
            // A 406 or 415 decided from the head, answered once the id is known.
            deferred: Option<Rejection>,
        },
        Inner {
            #[pin]
            future: S::Future,
        },
        // Reading a JSON answer of known, bounded size.
        Collecting {
            #[pin]
            body: ResB,
            head: Option<http::response::Parts>,
            buf: BytesMut,
        },
        Rejected {
            response: Option<Response<ResB>>,
        },
    }
}

impl<S, ReqB, R, ResB> ResponseFuture<S, ReqB, R, ResB>
where
    S: Service<Request<ReqB>>,
{
    pub(super) fn inner(
        future: S::Future,
        config: Arc<HeadersConfig>,
        echo: Option<ProtocolVersion>,
        inspect: Inspect,
    ) -> Self {
        Self {
            state: State::Inner { future },
            config,
            echo,
            inspect,
        }
    }

    pub(super) fn rejected(response: Response<ResB>, config: Arc<HeadersConfig>) -> Self {
        Self {
            state: State::Rejected {
                response: Some(response),
            },
            config,
            echo: None,
            inspect: Inspect::default(),
        }
    }

    pub(super) fn reading(
        read: ReadEnvelope<ReqB>,
        service: S,
        rejection: R,
        deferred: Option<Rejection>,
        config: Arc<HeadersConfig>,
    ) -> Self {
        Self {
            state: State::Reading {
                read,
                service: Some(service),
                rejection,
                deferred,
            },
            config,
            echo: None,
            inspect: Inspect::default(),
        }
    }
}

/// Rejects through the crate's one rejection path and adds the headers every
/// response of this layer carries.
pub(super) fn rejection_response<ResB, R>(
    config: &HeadersConfig,
    parts: &Parts,
    rejection: Rejection,
    responder: &R,
) -> Response<ResB>
where
    R: RejectionResponse<ResB>,
{
    let mut response = reject(LAYER, RequestHead::of_parts(parts), rejection, responder);
    config.decorate(&mut response, None);
    response
}

/// An accepted request on its way in: the protocol goes into the extensions,
/// and a modern request loses the session-era headers ("An `Mcp-Session-Id`
/// header on a request: ignore it", "A `Last-Event-ID` header: ignore it"), so
/// an inner service that still speaks both eras cannot act on them.
pub(super) fn admit(
    parts: &mut Parts,
    config: &HeadersConfig,
    protocol: RequestProtocol,
) -> Inspect {
    if protocol.era() == Era::Modern {
        for name in [MCP_SESSION_ID, X_SESSION_ID, LAST_EVENT_ID] {
            if parts.headers.remove(&name).is_some() {
                tracing::debug!(target: TARGET, header = name.as_str(), "session-era header removed from a 2026-07-28 request");
            }
        }
    }
    let request = parts
        .extensions
        .get::<Envelope>()
        .and_then(Envelope::single)
        .filter(|m| m.kind == crate::envelope::MessageKind::Request);
    let inspect = Inspect {
        learn_tools: config.tools.learns()
            && request.and_then(|m| m.method.as_deref()) == Some("tools/list"),
        map_status: config.map_error_status && protocol.era() == Era::Modern && request.is_some(),
        tell: crate::observe::listening(&parts.extensions),
    };
    if !config.serves_legacy() {
        parts.extensions.insert(crate::order::ModernOnlyRoute);
    }
    crate::observe::protocol(&parts.extensions, protocol);
    parts.extensions.insert(protocol);
    inspect
}

impl<S, ReqB, R, ResB> Future for ResponseFuture<S, ReqB, R, ResB>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ReqB: ReplayBody,
    R: RejectionResponse<ResB>,
    ResB: Body + Default + 'static,
{
    type Output = Result<Response<ResB>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.state.as_mut().project() {
                StateProj::Reading {
                    read,
                    service,
                    rejection,
                    deferred,
                } => match ready!(read.poll(cx)) {
                    Ok(request) => {
                        let (mut parts, body) = request.into_parts();
                        let checked = match (deferred.take(), parts.extensions.get::<Envelope>()) {
                            (Some(r), _) => Err(r),
                            (None, Some(envelope)) => {
                                this.config.check_envelope(&parts.headers, envelope)
                            }
                            // ReadEnvelope always inserts it on success.
                            (None, None) => Err(Rejection::new(
                                crate::RejectionKind::InvalidRequest,
                                "Invalid Request: no JSON-RPC envelope",
                            )),
                        };
                        match (checked, service.take()) {
                            (Ok(protocol), Some(mut service)) => {
                                *this.echo = echo(&protocol);
                                *this.inspect = admit(&mut parts, this.config, protocol);
                                State::Inner {
                                    future: service.call(Request::from_parts(parts, body)),
                                }
                            }
                            (Err(r), _) => State::Rejected {
                                response: Some(rejection_response(
                                    this.config,
                                    &parts,
                                    r,
                                    rejection,
                                )),
                            },
                            (Ok(_), None) => crate::future::spent(),
                        }
                    }
                    // The head's 406/415 goes first, as it would have without a body.
                    Err((parts, r)) => State::Rejected {
                        response: Some(rejection_response(
                            this.config,
                            &parts,
                            deferred.take().unwrap_or(r),
                            rejection,
                        )),
                    },
                },
                StateProj::Inner { future } => {
                    let mut response = ready!(future.poll(cx))?;
                    this.config.decorate(&mut response, *this.echo);
                    if this.echo.is_some_and(|v| v.era() == Era::Modern) {
                        // "do not mint or echo session IDs"
                        response.headers_mut().remove(MCP_SESSION_ID);
                    }
                    if !(this.inspect.any() && inspectable(&response, this.config)) {
                        return Poll::Ready(Ok(response));
                    }
                    let (head, body) = response.into_parts();
                    State::Collecting {
                        body,
                        head: Some(head),
                        buf: BytesMut::new(),
                    }
                }
                StateProj::Collecting {
                    mut body,
                    head,
                    buf,
                } => {
                    let outcome = ready!(crate::body::poll_collect(
                        body.as_mut(),
                        buf,
                        this.config.limits.max_bytes(),
                        cx
                    ));
                    let Some(mut head) = head.take() else {
                        crate::future::spent();
                    };
                    let bytes = std::mem::take(buf).freeze();
                    let rebuilt = match outcome {
                        Ok(()) => crate::body::from_bytes::<ResB>(bytes.clone()),
                        Err(_) => None,
                    };
                    let Some(body) = rebuilt else {
                        // The inner service's own failure: a 502, never a truncated answer.
                        tracing::warn!(target: TARGET, reason = outcome.err().unwrap_or("body type"), "inner service's JSON answer could not be read");
                        let mut response = Response::new(ResB::default());
                        *response.status_mut() = StatusCode::BAD_GATEWAY;
                        return Poll::Ready(Ok(response));
                    };
                    inspect(&bytes, &mut head, *this.inspect, this.config);
                    return Poll::Ready(Ok(Response::from_parts(head, body)));
                }
                StateProj::Rejected { response } => {
                    let Some(response) = response.take() else {
                        crate::future::spent();
                    };
                    return Poll::Ready(Ok(response));
                }
            };
            this.state.set(next);
        }
    }
}

/// A 200 `application/json` answer whose body says, before it is read, that it
/// fits the body limit, in a body type the layer can rebuild. Anything else
/// (SSE, unknown length, other types) passes through unread.
fn inspectable<B: Body + 'static>(response: &Response<B>, config: &HeadersConfig) -> bool {
    response.status() == StatusCode::OK
        && media::is_json_request(response.headers())
        && response
            .body()
            .size_hint()
            .upper()
            .is_some_and(|n| n <= config.limits.max_bytes() as u64)
        && crate::body::rebuildable::<B>()
}

/// Learns tools from a `tools/list` result, and maps a modern JSON-RPC error to its status.
fn inspect(bytes: &[u8], head: &mut http::response::Parts, what: Inspect, config: &HeadersConfig) {
    let Some(answer) = Answer::parse(bytes) else {
        return;
    };
    if what.learn_tools {
        let result = answer
            .result()
            .and_then(|raw| serde_json::from_str::<serde_json::Value>(raw.get()).ok());
        if let Some(result) = result {
            let learned = config.tools.learn(&result);
            tracing::debug!(target: TARGET, learned, "tools learned from a tools/list answer");
        }
    }
    // The error is read only for the status or for telemetry.
    let error = (what.map_status || what.tell)
        .then(|| answer.error())
        .flatten();
    if what.tell {
        crate::observe::answer_read(&mut head.extensions, &answer, error.as_ref());
    }
    if what.map_status {
        let code = error.map(|error| error.code);
        let status = match code.and_then(|c| i32::try_from(c).ok()) {
            Some(error_code::METHOD_NOT_FOUND) => Some(StatusCode::NOT_FOUND),
            Some(
                error_code::INVALID_PARAMS
                | error_code::HEADER_MISMATCH
                | error_code::MISSING_REQUIRED_CLIENT_CAPABILITY
                | error_code::UNSUPPORTED_PROTOCOL_VERSION,
            ) => Some(StatusCode::BAD_REQUEST),
            _ => None,
        };
        if let Some(status) = status {
            head.status = status;
        }
    }
}

impl<S, ReqB, R, ResB> fmt::Debug for ResponseFuture<S, ReqB, R, ResB>
where
    S: Service<Request<ReqB>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
