//! Every decision the session layer makes for a request, and the states a
//! request moves through: the service starts a [`Flow`], the
//! [`ResponseFuture`](super::ResponseFuture) polls what a step waits for and
//! hands the result back here.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body::Body;

use super::config::SessionConfig;
use super::id::{self, generate_valid, SessionId, Tag};
use super::owner::{self, ServerId, SessionOwner};
use super::principal::Principal;
use super::store::close::CloseCause;
use super::store::stats::RejectReason;
use super::store::{LimitScope, Reservation, StoreCall, StoreError};
use super::{client_info::ClientInfo, context::SessionContext};
use crate::body::ReplayBody;
use crate::envelope::Envelope;
use crate::header_names::{MCP_SESSION_ID, MCP_SESSION_REPLICA, X_SESSION_ID};
use crate::jsonrpc::RequestId;
use crate::protocol::{
    era_with, request_era, resolve_legacy, Era, LegacyVersion, ProtocolVersion, RequestProtocol,
    SupportedVersions, VersionHeader, VersionSource,
};
use crate::read::{read_post, BodyLimits, ReadEnvelope, ReadRejected};
use crate::rejection::{reject, Rejection, RejectionKind, RejectionResponse, RequestHead};
use initialize::{judge_message, Answer, Pending, Scan, SseScan, MAX_ANSWER_BYTES};
use keep_alive::KeepAlive;

use super::TARGET;
const LAYER: &str = "session";

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What the layer does next with a request.
pub(crate) enum Step<ReqB, Res> {
    /// Read and parse the POST body first.
    Read(ReadEnvelope<ReqB>),
    /// Wait for the store.
    Wait(Wait<ReqB>),
    /// Call the inner service.
    Call(Request<ReqB>, Flight),
    /// Read an `initialize` answer whole, then decide.
    Collect(Res, Collect),
    /// Wait for the store to commit a new session.
    Commit(Commit<Res>),
    /// Answer now.
    Respond(Res),
}

/// A request waiting for a store answer. `answer` yields the store's result
/// together with what the layer needs to go on, so the answer cannot be paired
/// with the wrong continuation.
pub(crate) struct Wait<ReqB> {
    pub(crate) req: Request<ReqB>,
    pub(crate) answer: BoxFuture<Answered>,
}

/// A store answer, with its continuation.
pub(crate) enum Answered {
    Reserved {
        result: Result<Reservation, StoreError>,
        id: SessionId,
        principal: Option<Principal>,
        retried: bool,
    },
    Found {
        result: Result<Option<SessionContext>, StoreError>,
        lookup: Lookup,
    },
    Removed {
        result: Result<bool, StoreError>,
        id: SessionId,
    },
}

impl<ReqB> Wait<ReqB> {
    /// Waits for `call`, then continues with `then`. Only async stores get
    /// here, and they box their call already; this adds one small box.
    fn new<T: Send + 'static>(
        req: Request<ReqB>,
        call: BoxFuture<T>,
        then: impl FnOnce(T) -> Answered + Send + 'static,
    ) -> Self {
        Self {
            req,
            answer: Box::pin(async move { then(call.await) }),
        }
    }
}

/// A request that named a session.
pub(crate) struct Lookup {
    pub(crate) id: SessionId,
    /// The request's `Mcp-Session-Id` value, echoed on the answer (`None`
    /// when the id came in the alias header).
    pub(crate) sent: Option<HeaderValue>,
    pub(crate) principal: Option<Principal>,
    pub(crate) initialize: bool,
}

/// What the future keeps while the inner service runs.
#[derive(Default)]
pub(crate) struct Flight {
    /// This request's activity mark on its session.
    pub(crate) session: Option<SessionContext>,
    /// For an `initialize` that reserved a session (boxed: rare, and large).
    pub(crate) creation: Option<Box<Creation>>,
    /// The session id header to put on the response.
    pub(crate) echo: Option<HeaderValue>,
    /// A client's DELETE forwarded to a server that owns its sessions: its
    /// answer decides whether the record closes.
    pub(crate) delete: bool,
}

/// A session being created: its slot is reserved until the answer decides.
pub(crate) struct Creation {
    pub(crate) pending: Pending,
    /// The `initialize` request's id, which the answer must name.
    pub(crate) request: Option<RequestId>,
    /// For the log line of a late rejection (the method is POST).
    pub(crate) uri: Uri,
    /// A telemetry layer listens: what a read answer says is handed on.
    pub(crate) tell: bool,
}

/// An `initialize` answer being read whole.
pub(crate) struct Collect {
    pub(crate) pending: Pending,
    pub(crate) request: RequestId,
    /// The answer is an event stream (in a body type already in memory).
    pub(crate) sse: bool,
    pub(crate) uri: Uri,
    pub(crate) tell: bool,
}

/// A committed-on-success response waiting for the store.
pub(crate) struct Commit<Res> {
    pub(crate) call: BoxFuture<Result<(), StoreError>>,
    pub(crate) response: Res,
    pub(crate) id: SessionId,
    pub(crate) uri: Uri,
}

/// The session header of a request.
enum IdHeader {
    Absent,
    /// `sent` is the `Mcp-Session-Id` value itself (`None` when the id came
    /// in the alias header): the answer echoes it without a second lookup.
    Present {
        id: SessionId,
        sent: Option<HeaderValue>,
    },
    Malformed,
}

/// Reads `Mcp-Session-Id` (and `X-Session-Id` when `alias`): one value, valid.
fn read_session_id(headers: &HeaderMap, alias: bool) -> IdHeader {
    let Ok(canonical) = id::one_in(headers, &MCP_SESSION_ID) else {
        return IdHeader::Malformed;
    };
    let aliased = if alias {
        match id::one_in(headers, &X_SESSION_ID) {
            Ok(v) => v.map(|(id, _)| id),
            Err(()) => return IdHeader::Malformed,
        }
    } else {
        None
    };
    match (canonical, aliased) {
        (Some((id, sent)), None) => IdHeader::Present {
            id,
            sent: Some(sent.clone()),
        },
        (Some((id, sent)), Some(other)) if id == other => IdHeader::Present {
            id,
            sent: Some(sent.clone()),
        },
        (Some(_), Some(_)) => IdHeader::Malformed,
        (None, Some(id)) => IdHeader::Present { id, sent: None },
        (None, None) => IdHeader::Absent,
    }
}

fn head(parts: &Parts) -> RequestHead<'_> {
    RequestHead::of_parts(parts)
}

/// Warns once per layer that the inner service mints session ids of its
/// own: two session tables, and every request after `initialize` fails in it
/// (rmcp's default configuration answers `404 Session not found`). Found on
/// the first answer that carries one.
fn warn_inner_sessions(config: &SessionConfig) {
    if config.warned_inner_sessions.first() {
        tracing::warn!(
            target: TARGET,
            "the inner service sets its own Mcp-Session-Id under McpSessionLayer: it keeps sessions \
             itself, and its ids are replaced by the layer's. Let the server own them and the layer \
             govern them (McpGuard::server_sessions, or McpSessionLayer::owner(SessionOwner::Server)), \
             or leave sessions to the layer (rmcp: StreamableHttpServerConfig::default().with_legacy_session_mode(false))"
        );
    }
}

/// Warns once per layer that it sits behind a headers layer serving only
/// 2026-07-28, which has no sessions, so no request will use its store.
/// Found on the first request (the preset names it when it is built).
fn warn_modern_only(config: &SessionConfig) {
    if config.warned_modern_only.first() {
        tracing::warn!(
            target: "mcp_tower_guard::order",
            "McpSessionLayer sits behind an McpHeadersLayer that serves only 2026-07-28, which has no \
             sessions: no request will use its store. Drop McpSessionLayer from this route, or allow a \
             legacy revision in McpHeadersLayer::supported_versions"
        );
    }
}

/// Warns once per process that `initialize` answers of body type `B` are
/// committed on their status alone.
fn warn_uninspectable<B>() {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(
            target: TARGET,
            body = std::any::type_name::<B>(),
            "initialize answers in this body type cannot be read; sessions are committed on a 2xx status \
             (use axum's Body, Full<Bytes> or BoxBody<Bytes, _> to commit only on a JSON-RPC result)"
        );
    }
}

/// The per-request decisions, shared by the service and its future.
#[derive(Clone)]
pub(crate) struct Flow<R> {
    pub(crate) config: Arc<SessionConfig>,
    pub(crate) rejection: R,
}

impl<R> Flow<R> {
    /// The request's principal: the configured resolver's, else the
    /// identity an `McpAuthLayer` outside verified (its issuer and subject).
    fn resolve(&self, parts: &Parts) -> Option<Principal> {
        let resolved = self
            .config
            .principal
            .as_ref()
            .and_then(|resolver| resolver.resolve(parts));
        // The verified identity when the resolver finds none: behind an
        // auth layer, which removes `Authorization`, a resolver that reads it
        // (`Principal::authorization_hash`) finds nothing, and the session
        // would be bound to nobody (issue 26, finding 10).
        #[cfg(feature = "auth")]
        let resolved = resolved.or_else(|| {
            parts
                .extensions
                .get::<crate::auth::AuthContext>()
                .map(|auth| Principal::new(auth.principal_arc().clone()))
        });
        resolved
    }

    /// Rejects with a session reason: counts it, logs it, builds the response.
    fn refuse<ResB>(
        &self,
        request: RequestHead<'_>,
        reason: RejectReason,
        rejection: Rejection,
        session: Option<Tag>,
    ) -> Response<ResB>
    where
        R: RejectionResponse<ResB>,
    {
        self.config.store.note_rejected(reason);
        let session = session.map(|t| t.to_string());
        let method = request.method.as_str();
        // One event, at warn for the case an operator must see.
        macro_rules! rejected {
            ($level:ident, $message:literal) => {
                tracing::$level!(target: TARGET, session, reason = reason.as_str(), method, $message)
            };
        }
        if reason == RejectReason::ForeignPrincipal {
            rejected!(
                warn,
                "session used by another principal; answered as not found"
            );
        } else {
            rejected!(debug, "session request rejected");
        }
        reject(LAYER, request, rejection, &self.rejection)
    }

    fn not_found<ResB>(
        &self,
        request: RequestHead<'_>,
        reason: RejectReason,
        id: &SessionId,
    ) -> Response<ResB>
    where
        R: RejectionResponse<ResB>,
    {
        // One rejection for unknown, expired, deleted and foreign: byte-identical answers.
        let rejection = Rejection::new(RejectionKind::SessionNotFound, "Session not found");
        self.refuse(request, reason, rejection, Some(id.tag()))
    }

    fn store_error<ResB>(&self, request: RequestHead<'_>, error: StoreError) -> Response<ResB>
    where
        R: RejectionResponse<ResB>,
    {
        match error {
            StoreError::LimitReached { scope, retry_after } => {
                let reason = match scope {
                    LimitScope::Principal => RejectReason::PrincipalLimit,
                    _ => RejectReason::GlobalLimit,
                };
                let rejection = Rejection::new(RejectionKind::TooManySessions, "Too many sessions")
                    .with_retry_after(retry_after);
                self.refuse(request, reason, rejection, None)
            }
            StoreError::Unavailable {
                retry_after,
                reason,
            } => {
                tracing::warn!(target: TARGET, reason, "session store unavailable");
                let rejection =
                    Rejection::new(RejectionKind::StoreUnavailable, "Session store unavailable")
                        .with_retry_after(retry_after);
                self.refuse(request, RejectReason::StoreUnavailable, rejection, None)
            }
            StoreError::IdInUse => {
                let rejection =
                    Rejection::new(RejectionKind::StoreUnavailable, "Session store unavailable")
                        .with_retry_after(std::time::Duration::from_secs(1));
                self.refuse(request, RejectReason::StoreUnavailable, rejection, None)
            }
        }
    }

    /// First look at a request: pass it, read its body, or go on to the session checks.
    pub(crate) fn begin<ReqB, ResB>(&self, req: Request<ReqB>) -> Step<ReqB, Response<ResB>>
    where
        ReqB: Body + ReplayBody,
        R: RejectionResponse<ResB>,
        ResB: Default,
    {
        if !matches!(*req.method(), Method::POST | Method::GET | Method::DELETE) {
            return Step::Call(req, Flight::default());
        }
        let known = req.extensions().get::<RequestProtocol>().copied();
        if known.is_some_and(|p| p.era() == Era::Modern) {
            if req
                .extensions()
                .get::<crate::order::ModernOnlyRoute>()
                .is_some()
            {
                warn_modern_only(&self.config);
            }
            return Step::Call(req, Flight::default());
        }
        if req.method() == Method::POST && req.extensions().get::<Envelope>().is_none() {
            if known.is_none() && request_era(req.method(), req.headers(), false) == Era::Modern {
                return Step::Call(req, Flight::default());
            }
            // Alone, without the headers layer: the one read, default limits.
            return match read_post(req, BodyLimits::default()) {
                Ok(read) => Step::Read(read),
                Err((parts, rejection)) => {
                    Step::Respond(reject(LAYER, head(&parts), rejection, &self.rejection))
                }
            };
        }
        self.classify(req)
    }

    pub(crate) fn after_read<ReqB, ResB>(
        &self,
        read: Result<Request<ReqB>, ReadRejected>,
    ) -> Step<ReqB, Response<ResB>>
    where
        ReqB: Body + ReplayBody,
        R: RejectionResponse<ResB>,
        ResB: Default,
    {
        match read {
            Ok(req) => self.classify(req),
            Err((parts, rejection)) => {
                Step::Respond(reject(LAYER, head(&parts), rejection, &self.rejection))
            }
        }
    }

    /// A store answered.
    pub(crate) fn after_wait<ReqB, ResB>(
        &self,
        req: Request<ReqB>,
        answered: Answered,
    ) -> Step<ReqB, Response<ResB>>
    where
        R: RejectionResponse<ResB>,
        ResB: Default,
    {
        match answered {
            Answered::Reserved {
                result,
                id,
                principal,
                retried,
            } => self.after_reserve(req, id, principal, retried, result),
            Answered::Found { result, lookup } => self.after_get(req, lookup, result),
            Answered::Removed { result, id } => self.after_remove(req, &id, result),
        }
    }

    /// The inner service answered: decide a new session, or echo the id.
    pub(crate) fn after_inner<ReqB, ResB>(
        &self,
        mut response: Response<ResB>,
        flight: Flight,
    ) -> Step<ReqB, Response<ResB>>
    where
        R: RejectionResponse<ResB>,
        ResB: Body + Default + 'static,
    {
        let Flight {
            session,
            creation,
            echo,
            delete,
        } = flight;
        let server_owned = self.config.owner == SessionOwner::Server;
        if let Some(creation) = creation {
            if !server_owned && response.headers().contains_key(MCP_SESSION_ID) {
                warn_inner_sessions(&self.config);
            }
            // In-flight work is over (unless the handler kept a clone of the context).
            drop(session);
            return self.decide_initialize(response, *creation);
        }
        if server_owned {
            if let Some(session) = &session {
                self.server_answered(session.id(), delete, response.status());
            }
        }
        // One lookup both sets the echo and notices an id of the inner
        // service's own (the value the echo replaced).
        let headers = response.headers_mut();
        let theirs = match echo {
            Some(id) => headers.insert(MCP_SESSION_ID, id).is_some(),
            None => headers.contains_key(MCP_SESSION_ID),
        };
        if theirs && !server_owned {
            warn_inner_sessions(&self.config);
        }
        match session {
            // A stream on the session keeps it busy until the stream ends.
            Some(session)
                if self.config.streams_keep_alive
                    && crate::headers::media::is_event_stream(response.headers()) =>
            {
                let (head, body) = response.into_parts();
                let body = match crate::body::rewrap!(body, session, |inner, session| {
                    KeepAlive::new(inner, session)
                }) {
                    Ok(body) | Err((body, _)) => body,
                };
                Step::Respond(Response::from_parts(head, body))
            }
            // In-flight work is over (unless the handler kept a clone of the context).
            _ => Step::Respond(response),
        }
    }
}

mod create;
mod existing;
pub(crate) mod initialize;
pub(crate) mod keep_alive;

#[cfg(test)]
mod tests;
