//! The demo's HTTP handlers on `/mcp`: POST (JSON or a request-scoped SSE
//! stream), GET (the session's SSE stream) and DELETE.

use super::*;

/// The session context the session layer put in the request. `None` for
/// 2026-07-28 requests (stateless). On `initialize` it is the session being
/// created, stored once the handler answers with a 2xx.
fn session_view(parts: &axum::http::request::Parts) -> Option<SessionView> {
    let ctx = parts.extensions.get::<SessionContext>()?;
    Some(SessionView { ctx: ctx.clone() })
}

fn protocol_of(parts: &axum::http::request::Parts) -> (Era, ProtocolVersion) {
    match parts.extensions.get::<RequestProtocol>() {
        Some(p) => (p.era(), p.version()),
        // Every route of the demo is behind the headers layer, which puts
        // the request's protocol in the extensions; a legacy default otherwise.
        None => (Era::Legacy, ProtocolVersion::LEGACY_DEFAULT),
    }
}

/// `POST /mcp`: one JSON-RPC message (or a 2025-03-26 batch).
pub(super) async fn mcp_post(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let (era, version) = protocol_of(&parts);
    let cx = Cx {
        era,
        version,
        session: session_view(&parts),
    };
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &error_body(
                    Value::Null,
                    INVALID_REQUEST,
                    "request body could not be read",
                ),
            )
        }
    };
    let message: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &error_body(Value::Null, PARSE_ERROR, &format!("Parse error: {e}")),
            )
        }
    };
    if let Some(method) = parts
        .extensions
        .get::<Envelope>()
        .and_then(Envelope::method)
    {
        tracing::debug!(target: "demo", method, era = ?cx.era, version = %cx.version, "mcp request");
    }
    // A slow tool: the work happens while the request is in flight, so a
    // DELETE (or an expiry) can land before the tool reports to the session.
    if let Some(delay) = tool_delay(&message) {
        tokio::time::sleep(delay).await;
    }
    match message {
        Value::Array(batch) => {
            let replies: Vec<Value> = batch
                .iter()
                .filter_map(|m| handle_message(&state, &cx, m))
                .map(|(_, body)| body)
                .collect();
            if replies.is_empty() {
                accepted()
            } else {
                json_response(StatusCode::OK, &Value::Array(replies))
            }
        }
        single => match handle_message_reply(&state, &cx, &single) {
            Some(Reply::Json(status, body)) => json_response(status, &body),
            Some(Reply::Stream(events)) => request_stream(events),
            None => accepted(),
        },
    }
}

/// The `delayMs` of an `echo` call (at most [`MAX_TOOL_DELAY_MS`]).
fn tool_delay(message: &Value) -> Option<Duration> {
    if message.get("method")? != "tools/call" || message.pointer("/params/name")? != "echo" {
        return None;
    }
    let ms = message.pointer("/params/arguments/delayMs")?.as_u64()?;
    Some(Duration::from_millis(ms.min(MAX_TOOL_DELAY_MS)))
}

/// `GET /mcp`: the session's server-to-client SSE stream (legacy era only; the
/// headers layer answers 405 to a 2026-07-28 GET).
pub(super) async fn mcp_get(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _body) = req.into_parts();
    let (_, version) = protocol_of(&parts);
    let Some(session) = session_view(&parts) else {
        // Only reachable without the session layer.
        return json_response(
            StatusCode::BAD_REQUEST,
            &error_body(
                Value::Null,
                SERVER_ERROR,
                "Bad Request: Mcp-Session-Id header is required",
            ),
        );
    };
    let Some(rx) = state.open_stream(&session.ctx) else {
        return json_response(
            StatusCode::CONFLICT,
            &error_body(
                Value::Null,
                SERVER_ERROR,
                "Conflict: this session already has an open GET stream",
            ),
        );
    };
    tracing::info!(target: "demo", session = %session.ctx.id().tag(), "GET stream opened");
    let connected = json!({
        "session": session.ctx.id().tag().to_string(),
        "protocolVersion": version.to_string(),
        "timestamp": rfc3339(SystemTime::now()),
    });
    // Detached: with `streams_keep_alive` the session layer keeps the session
    // busy while this stream is open; without it, only requests count.
    let stream = sse_stream(state, session.ctx.detached(), rx, connected);
    let mut res = Sse::new(stream).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// `DELETE /mcp` without the guard (the bare router the benches measure);
/// behind it, the session layer answers DELETE (204, or 404 for an unknown
/// session) and the headers layer a 2026-07-28 DELETE (405).
pub(super) async fn mcp_delete() -> Response {
    let mut res = StatusCode::METHOD_NOT_ALLOWED.into_response();
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
    res
}

/// State of one GET stream.
struct StreamState {
    app: AppState,
    session: SessionContext,
    rx: Option<mpsc::Receiver<Value>>,
    heartbeat: tokio::time::Interval,
    connected: Option<Value>,
}

impl Drop for StreamState {
    fn drop(&mut self) {
        tracing::debug!(target: "demo", session = %self.session.id().tag(), "GET stream ended");
        if let Some(rx) = self.rx.take() {
            self.app.return_stream(&self.session, rx);
        }
        self.app
            .inner
            .live
            .0
            .streams
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// The SSE events of a GET stream:
///
/// - `event: connected` first, with the session tag, the protocol version and a timestamp;
/// - then the session's JSON-RPC notifications as plain (`message`) events;
/// - and `event: heartbeat` with a timestamp every `--heartbeat`.
///
/// Named events other than `message` are skipped by MCP clients (rmcp hands
/// them to a no-op control hook, the TypeScript and Python SDKs only dispatch
/// `message` events), so `connected` and `heartbeat` are safe; their data is
/// JSON all the same. The stream ends when the session ends (the store drops
/// the session's state, and with it the outbox's sender) or the server shuts down.
fn sse_stream(
    app: AppState,
    session: SessionContext,
    rx: mpsc::Receiver<Value>,
    connected: Value,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    let period = app.inner.heartbeat;
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    app.inner.live.0.streams.fetch_add(1, Ordering::Relaxed);
    let state = StreamState {
        app,
        session,
        rx: Some(rx),
        heartbeat,
        connected: Some(connected),
    };
    stream::unfold(state, |mut st| async move {
        if let Some(connected) = st.connected.take() {
            let event = Event::default()
                .event("connected")
                .retry(Duration::from_secs(3))
                .data(connected.to_string());
            return Some((Ok(event), st));
        }
        let rx = st.rx.as_mut()?;
        tokio::select! {
            // `None` once the session ended (its sender was dropped) and the buffer is drained.
            message = rx.recv() => message.map(|m| (Ok(Event::default().data(m.to_string())), st)),
            _ = st.heartbeat.tick() => {
                let data = json!({ "timestamp": rfc3339(SystemTime::now()) });
                Some((Ok(Event::default().event("heartbeat").data(data.to_string())), st))
            }
        }
    })
}

/// A 2026-07-28 response stream: the request's notifications, then its response, then the end.
fn request_stream(events: Vec<Value>) -> Response {
    let events = events
        .into_iter()
        .map(|event| Ok::<_, Infallible>(Event::default().data(event.to_string())));
    Sse::new(stream::iter(events)).into_response()
}

fn accepted() -> Response {
    StatusCode::ACCEPTED.into_response()
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut res = Response::new(Body::from(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}
