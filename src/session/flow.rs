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

use super::close::CloseCause;
use super::config::SessionConfig;
use super::context::{ClientInfo, SessionContext};
use super::id::{self, generate_valid, SessionId, Tag};
use super::initialize::{self, judge, Answer, Pending, Scan, SseScan, MAX_ANSWER_BYTES};
use super::keep_alive::KeepAlive;
use super::owner::{self, ServerId, SessionOwner};
use super::principal::Principal;
use super::stats::RejectReason;
use super::store::{LimitScope, Reservation, StoreCall, StoreError};
use crate::body::ReplayBody;
use crate::envelope::Envelope;
use crate::header_names::{MCP_SESSION_ID, MCP_SESSION_REPLICA, X_SESSION_ID};
use crate::jsonrpc::RequestId;
use crate::protocol::{
    era_with, request_era, Era, ProtocolVersion, RequestProtocol, VersionHeader, VersionSource,
};
use crate::read::{ReadEnvelope, ReadRejected};
use crate::rejection::{reject, Rejection, RejectionKind, RejectionResponse, RequestHead};

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
    pub(crate) via_alias: bool,
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
}

/// An `initialize` answer being read whole.
pub(crate) struct Collect {
    pub(crate) pending: Pending,
    pub(crate) request: RequestId,
    /// The answer is an event stream (in a body type already in memory).
    pub(crate) sse: bool,
    pub(crate) uri: Uri,
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
    Present { id: SessionId, via_alias: bool },
    Malformed,
}

/// Reads `Mcp-Session-Id` (and `X-Session-Id` when `alias`): one value, valid.
fn read_session_id(headers: &HeaderMap, alias: bool) -> IdHeader {
    let Ok(canonical) = id::one_in(headers, &MCP_SESSION_ID) else {
        return IdHeader::Malformed;
    };
    let aliased = if alias {
        match id::one_in(headers, &X_SESSION_ID) {
            Ok(v) => v,
            Err(()) => return IdHeader::Malformed,
        }
    } else {
        None
    };
    match (canonical, aliased) {
        (Some(id), None) => IdHeader::Present {
            id,
            via_alias: false,
        },
        (Some(id), Some(other)) if id == other => IdHeader::Present {
            id,
            via_alias: false,
        },
        (Some(_), Some(_)) => IdHeader::Malformed,
        (None, Some(id)) => IdHeader::Present {
            id,
            via_alias: true,
        },
        (None, None) => IdHeader::Absent,
    }
}

/// What [`hold_negotiated`] found.
enum Negotiated {
    /// The request is judged under the session's version.
    Held,
    /// The request's header named another supported revision: it is served,
    /// judged under the session's version, and the session keeps its own.
    OtherVersionServed {
        requested: ProtocolVersion,
        negotiated: ProtocolVersion,
    },
}

/// The version a session negotiated rules each of its requests. A request
/// without `MCP-Protocol-Version` is judged under it, and so is one whose
/// header names another supported legacy revision: the spec allows 400 only
/// for an "invalid or unsupported" version, and says only that the client
/// SHOULD send the negotiated one. Either way a batch is refused where the
/// negotiated version forbids it (the headers layer has already refused one
/// the header's own version forbids), and the session does not change. A
/// session that knows no version takes the first legacy header it sees.
fn hold_negotiated(parts: &mut Parts, session: &SessionContext) -> Result<Negotiated, Rejection> {
    // The version the request sent, as the layer before decided it: the
    // header is not read again.
    let header = parts
        .extensions
        .get::<RequestProtocol>()
        .filter(|p| p.source() == VersionSource::Header && p.version().era() == Era::Legacy)
        .map(RequestProtocol::version);
    let Some(negotiated) = session.protocol_version() else {
        if let Some(version) = header {
            session.set_protocol_version(version);
        }
        return Ok(Negotiated::Held);
    };
    let mut held = Negotiated::Held;
    if let Some(requested) = header.filter(|v| *v != negotiated) {
        // With the headers layer outside, the header names a version it
        // supports; alone, this layer supports the known legacy revisions.
        if !ProtocolVersion::KNOWN.contains(&requested) {
            // "the server MUST respond with 400 Bad Request" to an invalid or
            // unsupported MCP-Protocol-Version.
            return Err(Rejection::new(
                RejectionKind::UnsupportedProtocolVersion,
                format!("Bad Request: unsupported MCP-Protocol-Version {requested}"),
            )
            .with_data(serde_json::json!({
                "requested": requested.to_string(),
                "negotiated": negotiated.to_string(),
            })));
        }
        held = Negotiated::OtherVersionServed {
            requested,
            negotiated,
        };
    }
    // A batch needs the negotiated version's leave, and the header's (which
    // the headers layer, when outside, has already asked).
    let forbidding = [Some(negotiated), header]
        .into_iter()
        .flatten()
        .find(|v| !v.allows_batch());
    let batch = parts.method == Method::POST
        && parts
            .extensions
            .get::<Envelope>()
            .is_some_and(Envelope::is_batch);
    if let Some(forbidding) = forbidding.filter(|_| batch) {
        return Err(Rejection::new(
            RejectionKind::BatchNotAllowed,
            if forbidding == negotiated {
                format!(
                    "Invalid Request: JSON-RPC batches are not allowed in protocol version {negotiated}, which this session negotiated"
                )
            } else {
                format!("Invalid Request: JSON-RPC batches are not allowed in protocol version {forbidding}")
            },
        ));
    }
    if let Some(protocol) = parts.extensions.get_mut::<RequestProtocol>() {
        match held {
            Negotiated::OtherVersionServed { .. } => *protocol = protocol.over_header(negotiated),
            Negotiated::Held if protocol.assumed() => *protocol = protocol.negotiated(negotiated),
            Negotiated::Held => {}
        }
    }
    Ok(held)
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
        if reason == RejectReason::ForeignPrincipal {
            tracing::warn!(
                target: TARGET,
                session,
                reason = reason.as_str(),
                method = request.method.as_str(),
                "session used by another principal; answered as not found"
            );
        } else {
            tracing::debug!(
                target: TARGET,
                session,
                reason = reason.as_str(),
                method = request.method.as_str(),
                "session request rejected"
            );
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
            let limits = self.config.body_limits;
            if let Err(rejection) = limits.check_content_length(req.headers()) {
                let (parts, _) = req.into_parts();
                return Step::Respond(reject(LAYER, head(&parts), rejection, &self.rejection));
            }
            return Step::Read(ReadEnvelope::new(req, limits));
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

    /// The era is known (and for POST, the envelope): apply the session rules.
    fn classify<ReqB, ResB>(&self, req: Request<ReqB>) -> Step<ReqB, Response<ResB>>
    where
        R: RejectionResponse<ResB>,
        ResB: Default,
    {
        let (mut parts, body) = req.into_parts();
        let envelope = parts.extensions.get::<Envelope>();
        let initialize =
            parts.method == Method::POST && envelope.is_some_and(Envelope::is_initialize);
        if parts.extensions.get::<RequestProtocol>().is_none() {
            // Alone, without the headers layer: decide the protocol here, from
            // one read of the header, as the headers layer would.
            let header = VersionHeader::read(&parts.headers);
            let meta_version = envelope.is_some_and(Envelope::has_meta_protocol_version);
            if era_with(header, &parts.method, &parts.headers, meta_version) == Era::Modern {
                return Step::Call(Request::from_parts(parts, body), Flight::default());
            }
            let protocol = match header {
                VersionHeader::Valid(version) if ProtocolVersion::KNOWN.contains(&version) => {
                    RequestProtocol::new(version, Era::Legacy, VersionSource::Header)
                }
                // "If the server receives a request with an invalid or
                // unsupported MCP-Protocol-Version, it MUST respond with 400
                // Bad Request": alone, this layer supports the known legacy
                // revisions, as the headers layer does by default.
                VersionHeader::Valid(_) | VersionHeader::Invalid(_) => {
                    let shown = match header {
                        VersionHeader::Valid(version) => version.to_string(),
                        VersionHeader::Invalid(raw) => String::from_utf8_lossy(raw).into_owned(),
                        VersionHeader::Absent => String::new(),
                    };
                    let rejection = Rejection::new(
                        RejectionKind::UnsupportedProtocolVersion,
                        format!("Bad Request: unsupported MCP-Protocol-Version {shown:?}"),
                    );
                    return Step::Respond(self.refuse(
                        head(&parts),
                        RejectReason::NegotiatedVersion,
                        rejection,
                        None,
                    ));
                }
                VersionHeader::Absent => {
                    match envelope.and_then(Envelope::requested_legacy_version) {
                        Some(version) => {
                            RequestProtocol::new(version, Era::Legacy, VersionSource::Initialize)
                        }
                        None => RequestProtocol::new(
                            ProtocolVersion::LEGACY_DEFAULT,
                            Era::Legacy,
                            VersionSource::Assumed,
                        ),
                    }
                }
            };
            crate::observe::protocol(&parts.extensions, protocol);
            parts.extensions.insert(protocol);
        }
        if parts.method == Method::DELETE && !self.config.allow_delete {
            let rejection = Rejection::new(
                RejectionKind::MethodNotAllowed,
                "Method Not Allowed: session termination is not supported",
            )
            .with_allow(HeaderValue::from_static("GET, POST"));
            return Step::Respond(self.refuse(
                head(&parts),
                RejectReason::DeleteDisabled,
                rejection,
                None,
            ));
        }
        match read_session_id(&parts.headers, self.config.legacy_alias) {
            IdHeader::Malformed => {
                let rejection = Rejection::new(
                    RejectionKind::MalformedSessionId,
                    "Bad Request: invalid Mcp-Session-Id header",
                );
                Step::Respond(self.refuse(head(&parts), RejectReason::MalformedId, rejection, None))
            }
            IdHeader::Absent if initialize => self.create(Request::from_parts(parts, body), false),
            IdHeader::Absent => {
                let rejection = Rejection::new(
                    RejectionKind::MissingSessionId,
                    "Bad Request: Mcp-Session-Id header is required",
                );
                Step::Respond(self.refuse(head(&parts), RejectReason::MissingId, rejection, None))
            }
            IdHeader::Present { id, via_alias } => {
                let principal = self.resolve(&parts);
                let lookup = Lookup {
                    id,
                    via_alias,
                    principal,
                    initialize,
                };
                let req = Request::from_parts(parts, body);
                match self.config.store.get(&lookup.id) {
                    StoreCall::Ready(found) => self.after_get(req, lookup, found),
                    StoreCall::Pending(call) => Step::Wait(Wait::new(req, call, |result| {
                        Answered::Found { result, lookup }
                    })),
                }
            }
        }
    }

    /// An `initialize` without a session id: mint an id and reserve a slot.
    fn create<ReqB, ResB>(&self, req: Request<ReqB>, retried: bool) -> Step<ReqB, Response<ResB>>
    where
        R: RejectionResponse<ResB>,
        ResB: Default,
    {
        let (parts, body) = req.into_parts();
        let principal = self.resolve(&parts);
        let req = Request::from_parts(parts, body);
        // A server that owns its sessions chooses the id: the slot is held
        // under one nobody sees until its answer names it.
        let id = if retried || self.config.owner == SessionOwner::Server {
            SessionId::new_random()
        } else {
            generate_valid(&*self.config.ids)
        };
        match self.config.store.reserve(&id, principal.as_ref()) {
            StoreCall::Ready(result) => self.after_reserve(req, id, principal, retried, result),
            StoreCall::Pending(call) => {
                Step::Wait(Wait::new(req, call, move |result| Answered::Reserved {
                    result,
                    id,
                    principal,
                    retried,
                }))
            }
        }
    }

    fn after_reserve<ReqB, ResB>(
        &self,
        req: Request<ReqB>,
        id: SessionId,
        principal: Option<Principal>,
        retried: bool,
        result: Result<Reservation, StoreError>,
    ) -> Step<ReqB, Response<ResB>>
    where
        R: RejectionResponse<ResB>,
        ResB: Default,
    {
        let reservation = match result {
            Ok(reservation) => reservation,
            Err(StoreError::IdInUse) if !retried => return self.create(req, true),
            Err(error) => {
                let (parts, _) = req.into_parts();
                return Step::Respond(self.store_error(head(&parts), error));
            }
        };
        let (mut parts, body) = req.into_parts();
        let envelope = parts.extensions.get::<Envelope>();
        let version = envelope.and_then(Envelope::requested_legacy_version);
        let request = envelope
            .and_then(Envelope::single)
            .and_then(|m| m.id.clone());
        let session = SessionContext::new(id, principal, ClientInfo::from_parts(&parts), version);
        // The handler sees the pending session, unless the server owns the
        // sessions: it has not chosen the id yet.
        let live = if self.config.owner == SessionOwner::Server {
            self.config.server.remember(&parts.uri, &parts.headers);
            None
        } else {
            let live = super::activity::begin(&session, &self.config.store);
            parts.extensions.insert(live.clone());
            Some(live)
        };
        let creation = Box::new(Creation {
            pending: Pending::new(Arc::clone(&self.config.store), reservation, session),
            request,
            uri: parts.uri.clone(),
        });
        let flight = Flight {
            session: live,
            creation: Some(creation),
            echo: None,
            delete: false,
        };
        Step::Call(Request::from_parts(parts, body), flight)
    }

    fn after_get<ReqB, ResB>(
        &self,
        req: Request<ReqB>,
        lookup: Lookup,
        found: Result<Option<SessionContext>, StoreError>,
    ) -> Step<ReqB, Response<ResB>>
    where
        R: RejectionResponse<ResB>,
        ResB: Default,
    {
        let (mut parts, body) = req.into_parts();
        let session = match found {
            Err(error) => return Step::Respond(self.store_error(head(&parts), error)),
            Ok(None) => {
                return Step::Respond(self.not_found(
                    head(&parts),
                    RejectReason::NotFound,
                    &lookup.id,
                ))
            }
            Ok(Some(session)) => session,
        };
        if session.principal() != lookup.principal.as_ref() {
            self.config.store.lookup_refused(&lookup.id);
            return Step::Respond(self.not_found(
                head(&parts),
                RejectReason::ForeignPrincipal,
                &lookup.id,
            ));
        }
        if let Some(owner) = self.other_replica(&session) {
            self.config.store.lookup_refused(&lookup.id);
            let rejection = Rejection::new(
                RejectionKind::SessionOnOtherReplica,
                "Misdirected Request: this session is served by another replica",
            )
            .with_header(MCP_SESSION_REPLICA, owner);
            return Step::Respond(self.refuse(
                head(&parts),
                RejectReason::OtherReplica,
                rejection,
                Some(lookup.id.tag()),
            ));
        }
        if lookup.initialize {
            self.config.store.lookup_refused(&lookup.id);
            let rejection = Rejection::new(
                RejectionKind::InvalidRequest,
                "Invalid Request: session already initialized",
            );
            return Step::Respond(self.refuse(
                head(&parts),
                RejectReason::AlreadyInitialized,
                rejection,
                Some(lookup.id.tag()),
            ));
        }
        match hold_negotiated(&mut parts, &session) {
            Ok(Negotiated::Held) => {}
            Ok(Negotiated::OtherVersionServed {
                requested,
                negotiated,
            }) => {
                self.config.store.note_other_version();
                tracing::debug!(
                    target: TARGET,
                    session = %lookup.id.tag(),
                    requested = %requested,
                    negotiated = %negotiated,
                    "MCP-Protocol-Version names a supported revision other than the negotiated one; \
                     served under the negotiated version"
                );
            }
            Err(rejection) => {
                self.config.store.lookup_refused(&lookup.id);
                return Step::Respond(self.refuse(
                    head(&parts),
                    RejectReason::NegotiatedVersion,
                    rejection,
                    Some(lookup.id.tag()),
                ));
            }
        }
        let server_delete =
            parts.method == Method::DELETE && self.config.owner == SessionOwner::Server;
        if parts.method == Method::DELETE && !server_delete {
            let req = Request::from_parts(parts, body);
            return match self.config.store.remove(&lookup.id, CloseCause::Deleted) {
                StoreCall::Ready(result) => self.after_remove(req, &lookup.id, result),
                StoreCall::Pending(call) => {
                    let id = lookup.id;
                    Step::Wait(Wait::new(req, call, |result| Answered::Removed {
                        result,
                        id,
                    }))
                }
            };
        }
        // The echo is the request's own header value (a reference count, no
        // copy); the id is encoded only when it came in the alias header.
        let sent = parts
            .headers
            .get(MCP_SESSION_ID)
            .filter(|_| !lookup.via_alias)
            .cloned();
        let echo = match sent {
            Some(value) => value,
            None => {
                let value = lookup.id.to_header_value();
                parts.headers.insert(MCP_SESSION_ID, value.clone());
                value
            }
        };
        let live = super::activity::begin(&session, &self.config.store);
        parts.extensions.insert(live.clone());
        let flight = Flight {
            session: Some(live),
            creation: None,
            echo: Some(echo),
            delete: server_delete,
        };
        Step::Call(Request::from_parts(parts, body), flight)
    }

    /// DELETE: answered here with 204, without calling the inner service.
    fn after_remove<ReqB, ResB>(
        &self,
        req: Request<ReqB>,
        id: &SessionId,
        result: Result<bool, StoreError>,
    ) -> Step<ReqB, Response<ResB>>
    where
        R: RejectionResponse<ResB>,
        ResB: Default,
    {
        let (parts, _) = req.into_parts();
        match result {
            Ok(true) => {
                let mut response = Response::new(ResB::default());
                *response.status_mut() = StatusCode::NO_CONTENT;
                Step::Respond(response)
            }
            // Closed by someone else between the lookup and the removal.
            Ok(false) => Step::Respond(self.not_found(head(&parts), RejectReason::NotFound, id)),
            Err(error) => Step::Respond(self.store_error(head(&parts), error)),
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
        if !server_owned && response.headers().contains_key(MCP_SESSION_ID) {
            warn_inner_sessions(&self.config);
        }
        if let Some(creation) = creation {
            // In-flight work is over (unless the handler kept a clone of the context).
            drop(session);
            return self.decide_initialize(response, *creation);
        }
        if server_owned {
            if let Some(session) = &session {
                self.server_answered(session.id(), delete, response.status());
            }
        }
        if let Some(id) = echo {
            response.headers_mut().insert(MCP_SESSION_ID, id);
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

    /// An `initialize` was answered: commit its session only when the answer is
    /// a JSON-RPC `result` for its id (see [`initialize`]).
    fn decide_initialize<ReqB, ResB>(
        &self,
        mut response: Response<ResB>,
        creation: Creation,
    ) -> Step<ReqB, Response<ResB>>
    where
        R: RejectionResponse<ResB>,
        ResB: Body + Default + 'static,
    {
        let Creation {
            pending,
            request,
            uri,
        } = creation;
        if !response.status().is_success() {
            pending.fail("the handler answered with an error status");
            return Step::Respond(response);
        }
        let Some(request) = request else {
            pending.fail("the initialize request has no id");
            return Step::Respond(response);
        };
        let pending = if self.config.owner == SessionOwner::Server {
            match owner::server_id(response.headers()) {
                ServerId::Valid(id) => {
                    self.config.server.hold(id.clone());
                    pending.rekey(id, self.config.store.replica_id())
                }
                ServerId::Absent => {
                    if self.config.server.warned_no_id.first() {
                        tracing::warn!(
                            target: TARGET,
                            "the inner server set no Mcp-Session-Id on a successful initialize, but the \
                             session layer expects it to own the sessions (SessionOwner::Server): no \
                             session was recorded. Keep the server's sessions on (rmcp: the default \
                             LocalSessionManager), or use SessionOwner::Guard"
                        );
                    }
                    pending.fail("the inner server set no session id");
                    return Step::Respond(response);
                }
                ServerId::Invalid => {
                    if self.config.server.warned_bad_id.first() {
                        tracing::warn!(
                            target: TARGET,
                            "the inner server answered initialize with an Mcp-Session-Id that is not 1 to 256 \
                             visible ASCII characters, or with two: no session was recorded, and the answer \
                             is replaced by 502"
                        );
                    }
                    pending.fail("the inner server set an invalid session id");
                    let mut response = Response::new(ResB::default());
                    *response.status_mut() = StatusCode::BAD_GATEWAY;
                    return Step::Respond(response);
                }
            }
        } else {
            pending
        };
        let json = crate::headers::media::is_json_request(response.headers());
        let sse = !json && crate::headers::media::is_event_stream(response.headers());
        if !json && !sse {
            pending.fail("the answer is neither JSON nor an event stream");
            return Step::Respond(response);
        }
        let collect = |pending, sse| Collect {
            pending,
            request: request.clone(),
            sse,
            uri: uri.clone(),
        };
        let in_memory = crate::body::rebuildable::<ResB>();
        if json && in_memory {
            return Step::Collect(response, collect(pending, false));
        }
        let pending = if sse {
            let Some(id) = pending.id().cloned() else {
                return Step::Respond(response);
            };
            let (head, body) = response.into_parts();
            match initialize::watch(body, pending, request.clone()) {
                Ok(body) => {
                    // The id leaves with the head; the session exists once the
                    // stream answers (the watcher holds that event back until then).
                    let mut response = Response::from_parts(head, body);
                    response
                        .headers_mut()
                        .insert(MCP_SESSION_ID, id.to_header_value());
                    return Step::Respond(response);
                }
                Err((body, pending)) => {
                    response = Response::from_parts(head, body);
                    let exact = response.body().size_hint().exact();
                    if in_memory && exact.is_some_and(|n| n <= MAX_ANSWER_BYTES as u64) {
                        return Step::Collect(response, collect(pending, true));
                    }
                    pending
                }
            }
        } else {
            pending
        };
        // A body type this crate cannot read without changing it: trust the status.
        warn_uninspectable::<ResB>();
        self.commit(response, pending, None, uri)
    }

    /// The replica that holds `session`, when the inner server owns the
    /// sessions and that replica is not this one: only its server knows the
    /// session.
    fn other_replica(&self, session: &SessionContext) -> Option<HeaderValue> {
        if self.config.owner != SessionOwner::Server {
            return None;
        }
        let owner = session.replica()?;
        let me = self.config.store.replica_id()?;
        (owner != &*me)
            .then(|| HeaderValue::from_str(owner).ok())
            .flatten()
    }

    /// A server that owns its sessions answered a request on `id`: a 2xx to
    /// a client's DELETE closes the record as `Deleted`; a 404 means the
    /// server no longer has the session (its own keep-alive ended it), so
    /// the record closes as `ServerClosed`.
    fn server_answered(&self, id: &SessionId, delete: bool, status: StatusCode) {
        let cause = if status == StatusCode::NOT_FOUND {
            CloseCause::ServerClosed
        } else if delete && status.is_success() {
            CloseCause::Deleted
        } else {
            return;
        };
        tracing::debug!(
            target: TARGET,
            session = %id.tag(),
            cause = cause.as_str(),
            status = status.as_u16(),
            "the inner server ended the session; closing its record"
        );
        owner::close_record(&self.config.store, id, cause);
    }

    /// An `initialize` answer read whole (`Err` when it could not be).
    pub(crate) fn after_collect<ReqB, ResB>(
        &self,
        head: http::response::Parts,
        read: Result<bytes::Bytes, &'static str>,
        collect: Collect,
    ) -> Step<ReqB, Response<ResB>>
    where
        R: RejectionResponse<ResB>,
        ResB: Default + 'static,
    {
        let Collect {
            pending,
            request,
            sse,
            uri,
        } = collect;
        let rebuilt = read.and_then(|bytes| {
            let body = crate::body::from_bytes::<ResB>(bytes.clone()).ok_or("body type")?;
            Ok((bytes, body))
        });
        let (bytes, body) = match rebuilt {
            Ok(read) => read,
            Err(why) => {
                // The inner service's own failure: a 502, never a truncated answer.
                tracing::warn!(target: TARGET, why, "initialize answer could not be read");
                pending.fail("the answer could not be read");
                let mut response = Response::new(ResB::default());
                *response.status_mut() = StatusCode::BAD_GATEWAY;
                return Step::Respond(response);
            }
        };
        let answer = if sse {
            match SseScan::default().feed(&bytes, &request) {
                Scan::Answered(answer) => Some(answer),
                Scan::Pending | Scan::TooLarge => None,
            }
        } else {
            judge(&bytes, &request)
        };
        let response = Response::from_parts(head, body);
        match answer {
            Some(Answer::Result { version }) => self.commit(response, pending, version, uri),
            Some(Answer::Error) => {
                pending.fail("the handler answered with a JSON-RPC error");
                Step::Respond(response)
            }
            None => {
                pending.fail("the answer names no result for the initialize id");
                Step::Respond(response)
            }
        }
    }

    fn commit<ReqB, ResB>(
        &self,
        response: Response<ResB>,
        pending: Pending,
        version: Option<ProtocolVersion>,
        uri: Uri,
    ) -> Step<ReqB, Response<ResB>>
    where
        R: RejectionResponse<ResB>,
        ResB: Default,
    {
        let Some(id) = pending.id().cloned() else {
            return Step::Respond(response);
        };
        match pending.commit(version) {
            Some(StoreCall::Ready(result)) => self.after_commit(response, id, &uri, result),
            Some(StoreCall::Pending(call)) => Step::Commit(Commit {
                call,
                response,
                id,
                uri,
            }),
            None => Step::Respond(response),
        }
    }

    pub(crate) fn after_commit<ReqB, ResB>(
        &self,
        mut response: Response<ResB>,
        id: SessionId,
        uri: &Uri,
        result: Result<(), StoreError>,
    ) -> Step<ReqB, Response<ResB>>
    where
        R: RejectionResponse<ResB>,
        ResB: Default,
    {
        match result {
            Ok(()) => {
                response
                    .headers_mut()
                    .insert(MCP_SESSION_ID, id.to_header_value());
                Step::Respond(response)
            }
            Err(error) => {
                // The handler answered, but the session could not be stored: never
                // hand out an id that would 404.
                let request = RequestHead {
                    method: &Method::POST,
                    uri,
                    envelope: None,
                };
                Step::Respond(self.store_error(request, error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_bytes(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn session_id_header_table() {
        use IdHeader::*;
        type Case<'a> = (&'a [(&'a str, &'a [u8])], bool, &'a str);
        let cases: &[Case<'_>] = &[
            (&[], false, "absent"),
            (&[("mcp-session-id", b"abc")], false, "present"),
            (&[("mcp-session-id", b"")], false, "malformed"),
            (&[("mcp-session-id", b"a b")], false, "malformed"),
            (&[("mcp-session-id", b"\x80abc")], false, "malformed"),
            (
                &[("mcp-session-id", b"a"), ("mcp-session-id", b"a")],
                false,
                "malformed",
            ),
            (&[("x-session-id", b"abc")], false, "absent"),
            (&[("x-session-id", b"abc")], true, "alias"),
            (
                &[("mcp-session-id", b"abc"), ("x-session-id", b"abc")],
                true,
                "present",
            ),
            (
                &[("mcp-session-id", b"abc"), ("x-session-id", b"xyz")],
                true,
                "malformed",
            ),
            (
                &[("x-session-id", b"a"), ("x-session-id", b"b")],
                true,
                "malformed",
            ),
        ];
        let long = vec![b'a'; 257];
        assert!(matches!(
            read_session_id(&headers(&[("mcp-session-id", &long)]), false),
            Malformed
        ));
        for (pairs, alias, expect) in cases {
            let got = match read_session_id(&headers(pairs), *alias) {
                Absent => "absent",
                Present {
                    via_alias: false, ..
                } => "present",
                Present {
                    via_alias: true, ..
                } => "alias",
                Malformed => "malformed",
            };
            assert_eq!(got, *expect, "{pairs:?} alias={alias}");
        }
    }
}
