//! The steps of a request that names a session: the id is read, the
//! session looked up, held to its negotiated protocol and principal, and
//! closed on DELETE or when the inner server no longer knows it.

use super::*;

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

impl<R> Flow<R> {
    /// The era is known (and for POST, the envelope): apply the session rules.
    pub(super) fn classify<ReqB, ResB>(&self, req: Request<ReqB>) -> Step<ReqB, Response<ResB>>
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
            // Alone, this layer supports every known legacy revision, as the
            // headers layer does by default.
            let requested = envelope.and_then(Envelope::requested_legacy_version);
            let resolved = resolve_legacy(header, SupportedVersions::every_known(), requested);
            let protocol = match resolved {
                LegacyVersion::Served(protocol) => protocol,
                // Missing cannot happen here (every known revision includes
                // the legacy ones); it is refused like an unsupported value.
                LegacyVersion::Unsupported(_) | LegacyVersion::Missing => {
                    let shown = match resolved {
                        LegacyVersion::Unsupported(shown) => shown,
                        _ => String::new(),
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
            IdHeader::Present { id, sent } => {
                let principal = self.resolve(&parts);
                let lookup = Lookup {
                    id,
                    sent,
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

    pub(super) fn after_get<ReqB, ResB>(
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
        let echo = match lookup.sent {
            Some(value) => value,
            None => {
                let value = lookup.id.to_header_value();
                parts.headers.insert(MCP_SESSION_ID, value.clone());
                value
            }
        };
        let live = crate::session::activity::begin(&session, &self.config.store, &self.config.idle);
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
    pub(super) fn after_remove<ReqB, ResB>(
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

    /// The replica that holds `session`, when the inner server owns the
    /// sessions and that replica is not this one: only its server knows the
    /// session.
    pub(super) fn other_replica(&self, session: &SessionContext) -> Option<HeaderValue> {
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
    pub(super) fn server_answered(&self, id: &SessionId, delete: bool, status: StatusCode) {
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
}
