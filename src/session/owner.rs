//! Who mints and keeps the sessions: [`SessionOwner`]. With
//! [`SessionOwner::Server`], the inner MCP server (rmcp's
//! `LocalSessionManager`, say) owns them and the layer governs them; this
//! module holds what that takes: the server's id read off its `initialize`
//! answer, and the DELETE that tells the server when the guard closes one.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method, Request, Response, Uri};
use tower_service::Service;

use super::context::SessionContext;
use super::id::SessionId;
use super::store::close::CloseCause;
use super::store::{SessionStore, StoreCall};
use super::TARGET;
use crate::body::ReplayBody;
use crate::header_names::{MCP_PROTOCOL_VERSION, MCP_SESSION_ID};
use crate::order::WarnOnce;

/// Who mints and keeps the legacy-era sessions of an endpoint
/// ([`McpSessionLayer::owner`](super::McpSessionLayer::owner),
/// [`McpGuard::server_sessions`](crate::McpGuard::server_sessions)).
///
/// | | the guard owns them (`Guard`, the default) | the server owns them, the guard governs them (`Server`) |
/// |---|---|---|
/// | session id | minted by the guard | minted by the inner server, recorded by the guard when its `initialize` succeeds |
/// | inner server | stateless (rmcp: `with_legacy_session_mode(false)`) | keeps its sessions: pending server-to-client requests (sampling, elicitation), GET streams, resumable event logs |
/// | limits, idle and absolute expiry, principal binding, hooks, stats, Redis | the guard's | the guard's: it refuses an unknown, expired or foreign id before the server sees it, and tells the server of every close it makes with a `DELETE` |
/// | client `DELETE` | answered 204 by the guard | forwarded to the server, then closed in the store |
///
/// Requests of the 2026-07-28 era have no sessions either way. With `Server`,
/// an `initialize` that fails before the server names an id reaches the close
/// hook ([`CloseCause::InitializeFailed`]) under an id nobody saw: the slot's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionOwner {
    /// The guard mints ids and keeps the sessions; the inner service is stateless.
    #[default]
    Guard,
    /// The inner server mints ids and keeps its sessions; the guard records
    /// them and enforces limits, expiry, binding and DELETE.
    Server,
}

/// How long the guard waits for the inner server to answer a `DELETE` it
/// sends for a session it closed.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Marks the `DELETE` the guard sends to the inner server for a session it
/// closed, so the layers inside (rate limits) let it through uncounted.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GuardClose;

/// What the guard keeps for the inner server's sessions.
#[derive(Debug, Default)]
pub(crate) struct ServerSessions {
    /// The target and `Host` of the last `initialize`: where the guard's own
    /// `DELETE`s go.
    endpoint: Mutex<Option<(Uri, Option<HeaderValue>)>>,
    /// Set once the close listener is in the store.
    subscribed: AtomicBool,
    /// The sessions this process's inner server holds: with a shared store
    /// every replica hears of every close, and only the holder tells its
    /// server.
    held: Mutex<HashSet<SessionId>>,
    pub(crate) warned_no_id: WarnOnce,
    pub(crate) warned_bad_id: WarnOnce,
    warned_close_failed: WarnOnce,
    warned_cannot_subscribe: WarnOnce,
}

impl ServerSessions {
    /// Remembers where the MCP endpoint is, from an `initialize` request.
    pub(crate) fn remember(&self, uri: &Uri, headers: &HeaderMap) {
        let mut endpoint = self.endpoint.lock().unwrap_or_else(PoisonError::into_inner);
        if endpoint.as_ref().is_none_or(|(u, _)| u != uri) {
            *endpoint = Some((uri.clone(), headers.get(http::header::HOST).cloned()));
        }
    }

    /// Notes that this process's inner server holds `id`.
    pub(crate) fn hold(&self, id: SessionId) {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id);
    }

    fn release(&self, id: &SessionId) -> bool {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
    }

    fn endpoint(&self) -> Option<(Uri, Option<HeaderValue>)> {
        self.endpoint
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// On the first request: subscribes to the store's closes, with a clone
    /// of the inner service to send each `DELETE` through.
    pub(crate) fn subscribe<S, ReqB, ResB>(
        this: &Arc<Self>,
        store: &Arc<dyn SessionStore>,
        inner: &S,
    ) where
        S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: 'static,
        ReqB: ReplayBody + Send + 'static,
        ResB: Send + 'static,
    {
        // Checked on every request: a plain load once subscribed.
        if this.subscribed.load(Ordering::Acquire) || this.subscribed.swap(true, Ordering::AcqRel) {
            return;
        }
        let sessions = Arc::downgrade(this);
        let inner = Mutex::new(inner.clone());
        let subscribed =
            store.subscribe_closed(Arc::new(move |session: &SessionContext, cause| {
                let Some(sessions) = sessions.upgrade() else {
                    return;
                };
                // With a shared store every replica hears of every close;
                // only the one whose server holds the session tells it.
                if !sessions.release(session.id()) {
                    return;
                }
                // The server already knows of these, or never had the session.
                if matches!(
                    cause,
                    CloseCause::Deleted | CloseCause::ServerClosed | CloseCause::InitializeFailed
                ) {
                    return;
                }
                let service = inner.lock().unwrap_or_else(PoisonError::into_inner).clone();
                sessions.close_on_server(service, session, cause);
            }));
        if !subscribed && this.warned_cannot_subscribe.first() {
            tracing::warn!(
                target: TARGET,
                "this session store cannot report closes (SessionStore::subscribe_closed), so the inner \
                 server is not told when the guard closes one of its sessions; it keeps them until its \
                 own timeout"
            );
        }
    }

    /// Sends `DELETE` with the session's id through the inner service, the
    /// spec's way to end a session, bounded by [`CLOSE_TIMEOUT`].
    fn close_on_server<S, ReqB, ResB>(
        &self,
        mut service: S,
        session: &SessionContext,
        cause: CloseCause,
    ) where
        S: Service<Request<ReqB>, Response = Response<ResB>> + Send + 'static,
        S::Future: Send + 'static,
        S::Error: 'static,
        ReqB: ReplayBody + Send + 'static,
        ResB: Send + 'static,
    {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.close_failed(
                session.id(),
                cause,
                "no tokio runtime on the closing thread",
            );
            return;
        };
        let Some((uri, host)) = self.endpoint() else {
            return; // no initialize seen on this layer: the session is another's
        };
        let mut request = Request::new(ReqB::from_bytes(bytes::Bytes::new()));
        *request.method_mut() = Method::DELETE;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        if let Some(host) = host {
            headers.insert(http::header::HOST, host);
        }
        headers.insert(MCP_SESSION_ID, session.id().to_header_value());
        if let Some(version) = session.protocol_version() {
            headers.insert(MCP_PROTOCOL_VERSION, version.to_header_value());
        }
        request.extensions_mut().insert(GuardClose);
        let id = session.id().clone();
        let tag = id.tag();
        let sessions = self.detached_warning();
        runtime.spawn(async move {
            let call = async {
                std::future::poll_fn(|cx| service.poll_ready(cx)).await.ok()?;
                service.call(request).await.ok()
            };
            match tokio::time::timeout(CLOSE_TIMEOUT, call).await {
                // 404: the server had already let the session go.
                Ok(Some(res)) if res.status().is_success() || res.status() == http::StatusCode::NOT_FOUND => {
                    tracing::debug!(target: TARGET, session = %tag, cause = cause.as_str(), status = res.status().as_u16(), "server told of the session's close");
                }
                Ok(Some(res)) => sessions.report(&id, cause, &format!("the server answered {}", res.status())),
                Ok(None) => sessions.report(&id, cause, "the inner service failed"),
                Err(_) => sessions.report(&id, cause, "the server did not answer in time"),
            }
        });
    }

    fn detached_warning(&self) -> CloseFailure {
        CloseFailure(self.warned_close_failed.clone())
    }

    fn close_failed(&self, id: &SessionId, cause: CloseCause, why: &str) {
        self.detached_warning().report(id, cause, why);
    }
}

/// Logs a failed server close: once at warn per layer, then at debug.
struct CloseFailure(WarnOnce);

impl CloseFailure {
    fn report(&self, id: &SessionId, cause: CloseCause, why: &str) {
        if self.0.first() {
            tracing::warn!(target: TARGET, session = %id.tag(), cause = cause.as_str(), why, "could not tell the inner server that the guard closed a session (logged once; later failures at debug)");
        } else {
            tracing::debug!(target: TARGET, session = %id.tag(), cause = cause.as_str(), why, "could not tell the inner server that the guard closed a session");
        }
    }
}

/// The id the inner server put on its `initialize` answer.
pub(crate) enum ServerId {
    /// None: the server keeps no session.
    Absent,
    /// Not 1 to 256 visible ASCII characters, or the header repeated.
    Invalid,
    /// A usable id.
    Valid(SessionId),
}

/// Reads the inner server's `Mcp-Session-Id` off its answer.
pub(crate) fn server_id(headers: &HeaderMap) -> ServerId {
    match super::id::one_in(headers, &MCP_SESSION_ID) {
        Ok(None) => ServerId::Absent,
        Ok(Some((id, _))) => ServerId::Valid(id),
        Err(()) => ServerId::Invalid,
    }
}

/// Ends the guard's record of a session without waiting for the store; a
/// store that answers later finishes on its own (the moka store answers at
/// once, the Redis store runs the call on its own task).
pub(crate) fn close_record(store: &Arc<dyn SessionStore>, id: &SessionId, cause: CloseCause) {
    match store.remove(id, cause) {
        StoreCall::Ready(_) => {}
        StoreCall::Pending(call) => {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = call.await;
                });
            }
        }
    }
}
