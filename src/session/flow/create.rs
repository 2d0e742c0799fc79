//! The steps of an `initialize` without a session id: a slot is reserved
//! under the limits, the inner service answers, and the answer decides
//! whether the session is committed or its slot given back.

use super::*;

impl<R> Flow<R> {
    /// An `initialize` without a session id: mint an id and reserve a slot.
    pub(super) fn create<ReqB, ResB>(
        &self,
        req: Request<ReqB>,
        retried: bool,
    ) -> Step<ReqB, Response<ResB>>
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

    pub(super) fn after_reserve<ReqB, ResB>(
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
            let live =
                crate::session::activity::begin(&session, &self.config.store, &self.config.idle);
            parts.extensions.insert(live.clone());
            Some(live)
        };
        let creation = Box::new(Creation {
            pending: Pending::new(Arc::clone(&self.config.store), reservation, session),
            request,
            uri: parts.uri.clone(),
            tell: crate::observe::listening(&parts.extensions),
        });
        let flight = Flight {
            session: live,
            creation: Some(creation),
            echo: None,
            delete: false,
        };
        Step::Call(Request::from_parts(parts, body), flight)
    }

    /// An `initialize` was answered: commit its session only when the answer is
    /// a JSON-RPC `result` for its id (see [`initialize`]).
    pub(super) fn decide_initialize<ReqB, ResB>(
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
            tell,
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
            tell,
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

    /// An `initialize` answer read whole (`Err` when it could not be).
    pub(crate) fn after_collect<ReqB, ResB>(
        &self,
        mut head: http::response::Parts,
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
            tell,
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
            let message = crate::answer::Answer::parse(&bytes);
            if let Some(message) = message.as_ref().filter(|_| tell) {
                // Parsed once: telemetry takes what it says from here.
                crate::observe::answer_read(
                    &mut head.extensions,
                    message,
                    message.error().as_ref(),
                );
            }
            message.and_then(|message| judge_message(message, &request))
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

    pub(super) fn commit<ReqB, ResB>(
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
