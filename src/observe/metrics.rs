//! Every metric the crate records, by name, and the one check that decides
//! whether anything is recorded at all.
//!
//! Each function here returns at once when no recorder is installed, so the
//! layers call them unconditionally (with the feature on).

use std::time::Duration;

use metrics::{Label, Unit};

/// `mcp.server.operation.duration`: an MCP request or notification, from its
/// arrival until the end of its response body (semantic conventions).
pub const OPERATION_DURATION: &str = "mcp.server.operation.duration";
/// `mcp.server.session.duration`: a legacy-era session, from its
/// `initialize` until it closes (semantic conventions).
pub const SESSION_DURATION: &str = "mcp.server.session.duration";
/// `mcp_tower_guard.requests`: requests by era and method.
pub const REQUESTS: &str = "mcp_tower_guard.requests";
/// `mcp_tower_guard.rejections`: refusals by layer, kind and status.
pub const REJECTIONS: &str = "mcp_tower_guard.rejections";
/// `mcp_tower_guard.sessions.active`: sessions this process opened minus
/// those it closed. With Redis a session may close on another replica, so
/// one replica's value can go below zero: sum over replicas.
pub const SESSIONS_ACTIVE: &str = "mcp_tower_guard.sessions.active";
/// `mcp_tower_guard.sessions.opened`: sessions committed.
pub const SESSIONS_OPENED: &str = "mcp_tower_guard.sessions.opened";
/// `mcp_tower_guard.sessions.closed`: sessions closed, by cause.
pub const SESSIONS_CLOSED: &str = "mcp_tower_guard.sessions.closed";
/// `mcp_tower_guard.session_store.duration`: one session store call.
pub const STORE_DURATION: &str = "mcp_tower_guard.session_store.duration";
/// `mcp_tower_guard.rate_limit.decisions`: rate-limit checks, by rule and outcome.
pub const RATE_LIMIT_DECISIONS: &str = "mcp_tower_guard.rate_limit.decisions";
/// `mcp_tower_guard.auth.decisions`: authorization outcomes.
pub const AUTH_DECISIONS: &str = "mcp_tower_guard.auth.decisions";

/// The bucket boundaries, in seconds, the semantic conventions advise for
/// the MCP duration histograms. For the Prometheus exporter:
/// `PrometheusBuilder::new().set_buckets_for_metric(Matcher::Prefix("mcp.server".into()), DURATION_BUCKETS)`.
pub const DURATION_BUCKETS: &[f64] = &[
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Whether a recorder is installed (a thread-local one, or the global one).
/// When none is, `metrics` hands out its `NoopRecorder`, a unit struct: a
/// recorder of size zero records nothing, so this costs a thread-local read
/// and an atomic load, and spares every label and clock read after it.
pub(crate) fn recording() -> bool {
    metrics::with_recorder(|recorder| std::mem::size_of_val(recorder) != 0)
}

/// Gives the installed recorder each metric's unit and description (shown
/// as Prometheus `# HELP`). Harmless to repeat.
pub(crate) fn describe() {
    if !recording() {
        return;
    }
    metrics::describe_histogram!(
        OPERATION_DURATION,
        Unit::Seconds,
        "MCP request or notification duration, from arrival to the end of the response body"
    );
    metrics::describe_histogram!(
        SESSION_DURATION,
        Unit::Seconds,
        "MCP session duration, from initialize to close"
    );
    metrics::describe_counter!(REQUESTS, "MCP requests, by era and method");
    metrics::describe_counter!(
        REJECTIONS,
        "Requests refused at the edge, by layer, kind and status"
    );
    metrics::describe_gauge!(
        SESSIONS_ACTIVE,
        "Legacy-era sessions opened minus closed by this process (sum over replicas)"
    );
    metrics::describe_counter!(SESSIONS_OPENED, "Legacy-era sessions opened");
    metrics::describe_counter!(SESSIONS_CLOSED, "Legacy-era sessions closed, by cause");
    metrics::describe_histogram!(STORE_DURATION, Unit::Seconds, "Session store call latency");
    metrics::describe_counter!(
        RATE_LIMIT_DECISIONS,
        "Rate-limit checks, by rule and outcome"
    );
    metrics::describe_counter!(AUTH_DECISIONS, "Authorization outcomes");
}

/// A refusal, from the one place every layer rejects.
pub(crate) fn rejection(layer: &'static str, kind: &'static str, status: http::StatusCode) {
    if !recording() {
        return;
    }
    let labels = [
        Label::from_static_parts("layer", layer),
        Label::from_static_parts("kind", kind),
        Label::new("status", status.as_u16().to_string()),
    ];
    metrics::counter!(REJECTIONS, labels.iter()).increment(1);
}

/// A session committed.
#[cfg(feature = "session")]
pub(crate) fn session_opened() {
    if !recording() {
        return;
    }
    metrics::counter!(SESSIONS_OPENED).increment(1);
    metrics::gauge!(SESSIONS_ACTIVE).increment(1.0);
}

#[cfg(feature = "session")]
/// A committed session closed after `lifetime`, for `cause`.
pub(crate) fn session_closed(
    cause: &'static str,
    lifetime: Duration,
    version: Option<&'static str>,
) {
    if !recording() {
        return;
    }
    metrics::counter!(SESSIONS_CLOSED, "cause" => cause).increment(1);
    metrics::gauge!(SESSIONS_ACTIVE).decrement(1.0);
    let mut labels = Vec::with_capacity(3);
    labels.push(Label::from_static_parts("network.protocol.name", "http"));
    if let Some(version) = version {
        labels.push(Label::from_static_parts("mcp.protocol.version", version));
    }
    metrics::histogram!(SESSION_DURATION, labels).record(lifetime.as_secs_f64());
}

/// One session store call.
#[cfg(feature = "session")]
pub(crate) fn store_call(
    store: &'static str,
    operation: &'static str,
    ok: bool,
    elapsed: Duration,
) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::histogram!(STORE_DURATION, "store" => store, "operation" => operation, "outcome" => outcome)
        .record(elapsed.as_secs_f64());
}

/// One rate-limit check of `rule`.
#[cfg(feature = "ratelimit")]
pub(crate) fn rate_limit(rule: &str, outcome: &'static str) {
    if !recording() {
        return;
    }
    metrics::counter!(RATE_LIMIT_DECISIONS, "rule" => rule.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// One authorization decision: `allowed`, or the refusal's kind.
#[cfg(feature = "auth")]
pub(crate) fn auth(outcome: &'static str) {
    if !recording() {
        return;
    }
    metrics::counter!(AUTH_DECISIONS, "outcome" => outcome).increment(1);
}
