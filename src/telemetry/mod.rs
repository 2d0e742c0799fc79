//! Observability at the edge (feature `telemetry`): [`McpTelemetryLayer`]
//! opens one span per request, named and attributed as the OpenTelemetry
//! semantic conventions for MCP say, and records metrics through the
//! [`metrics`](https://docs.rs/metrics) facade.
//!
//! Place it outermost, outside the Host check: a request refused for a bad
//! Host or Origin is measured too. [`McpGuard`](crate::McpGuard) does this
//! whenever the feature is on.
//!
//! # The span
//!
//! A `SERVER` span (tracing name `mcp.server`, target
//! `mcp_tower_guard::telemetry`) named `{mcp.method.name} {target}`
//! (`tools/call get_weather`, `prompts/get greet`), or `{mcp.method.name}`
//! when there is no low-cardinality target, or the HTTP method for a request
//! without a JSON-RPC method (a legacy GET stream, a DELETE, a body refused
//! before it was parsed). Its attributes are the conventions':
//! `mcp.method.name`, `gen_ai.tool.name`, `gen_ai.prompt.name`,
//! `gen_ai.operation.name` (`execute_tool`), `mcp.resource.uri`,
//! `jsonrpc.request.id`, `mcp.protocol.version`, `rpc.response.status_code`,
//! `mcp.task.id` (the `params.taskId` of `tasks/get`, `tasks/update` and
//! `tasks/cancel`: on the span only, never in its name or a metric label),
//! `error.type` (the [`RejectionKind`](crate::RejectionKind) of a refusal,
//! the status of a 5xx, or, read from an `application/json` answer of up to
//! 64 KiB or an SSE answer event by event, a JSON-RPC error code or `tool_error` for a tool result with
//! `isError: true`; the codes the conventions call the caller's, such as
//! -32602, set only `rpc.response.status_code`), `network.*`, `client.address`/`client.port`, and
//! `mcp.session.id` as a keyed hash when
//! [`record_session_id`](McpTelemetryLayer::record_session_id) opts in.
//!
//! The span stays open until the response body ends (or is dropped), so a
//! streamed (SSE) answer is measured to its end.
//!
//! **Trace context.** The parent comes from the W3C `traceparent` /
//! `tracestate` of the body's `params._meta` (SEP-414, reserved by
//! 2026-07-28) when they are valid, and from the `traceparent` /
//! `tracestate` HTTP headers otherwise. When both are present, `_meta` wins
//! and the header's context becomes a span link. That is the MCP semantic
//! conventions' rule: `_meta` names the client's MCP operation and travels
//! with each message through any transport, while the header names the HTTP
//! hop, which may be a proxy's span or the client's HTTP client span. The
//! link keeps the transport trace one click away. Because the parent may be
//! in the body, a POST's span is entered only once the body is parsed: the
//! Host, Origin and Accept checks before that log beside the span, and the
//! span records their outcome.
//!
//! Parents and links reach OpenTelemetry through `tracing-opentelemetry`;
//! without its layer in the subscriber the span is a plain `tracing` span.
//!
//! # Metrics
//!
//! Through the `metrics` crate: the Rust ecosystem's facade (what `tracing`
//! is to logs), so the application picks the exporter (Prometheus, OTLP,
//! StatsD) and this crate pulls in none. Nothing is recorded, and no clock
//! is read, when no recorder is installed.
//!
//! | name | kind | labels |
//! |---|---|---|
//! | [`OPERATION_DURATION`] `mcp.server.operation.duration` | histogram, s | `mcp.method.name`, `gen_ai.tool.name` / `gen_ai.prompt.name`, `gen_ai.operation.name`, `error.type`, `rpc.response.status_code`, `mcp.protocol.version`, `network.*` |
//! | [`REQUESTS`] `mcp_tower_guard.requests` | counter | `mcp.era`, `mcp.method.name`, `http.request.method` |
//! | [`REJECTIONS`] `mcp_tower_guard.rejections` | counter | `layer`, `kind`, `status` |
//! | [`SESSIONS_ACTIVE`] `mcp_tower_guard.sessions.active` | gauge | |
//! | [`SESSIONS_OPENED`] `mcp_tower_guard.sessions.opened` | counter | |
//! | [`SESSIONS_CLOSED`] `mcp_tower_guard.sessions.closed` | counter | `cause` |
//! | [`SESSION_DURATION`] `mcp.server.session.duration` | histogram, s | `mcp.protocol.version`, `error.type` |
//! | [`STORE_DURATION`] `mcp_tower_guard.session_store.duration` | histogram, s | `store`, `operation`, `outcome` |
//! | [`RATE_LIMIT_DECISIONS`] `mcp_tower_guard.rate_limit.decisions` | counter | `rule`, `outcome` |
//! | [`AUTH_DECISIONS`] `mcp_tower_guard.auth.decisions` | counter | `outcome` |
//!
//! Labels are bounded. Methods outside the MCP method list become `_OTHER`;
//! tool and prompt names come from [`known_targets`](McpTelemetryLayer::known_targets),
//! or else the first [`target_cap`](McpTelemetryLayer::target_cap) (64)
//! distinct names seen, and `_OTHER` after that. Session ids and principals
//! are never labels. The semantic conventions' histogram buckets are
//! [`DURATION_BUCKETS`]; give them to the exporter (the Prometheus one
//! renders a summary otherwise).
//!
//! ```
//! use axum::{routing::post, Router};
//! use mcp_tower_guard::telemetry::McpTelemetryLayer;
//! use mcp_tower_guard::McpGuard;
//!
//! # fn main() -> Result<(), mcp_tower_guard::ConfigError> {
//! let mcp = Router::new().route("/", post(|| async { "..." }));
//! let guarded = McpGuard::local("127.0.0.1:8000".parse().unwrap())?
//!     .telemetry(McpTelemetryLayer::new().known_targets(["get_weather", "deploy"]))
//!     .into_service(mcp);
//! let app: Router = Router::new().route_service("/mcp", guarded);
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

mod answer;
mod body;
mod config;
mod context;
mod future;
mod labels;
mod layer;
mod slot;
mod span;

#[cfg(test)]
mod tests;

pub use crate::observe::metrics::{
    AUTH_DECISIONS, DURATION_BUCKETS, OPERATION_DURATION, RATE_LIMIT_DECISIONS, REJECTIONS,
    REQUESTS, SESSIONS_ACTIVE, SESSIONS_CLOSED, SESSIONS_OPENED, SESSION_DURATION, STORE_DURATION,
};
pub use body::TelemetryBody;
pub use future::ResponseFuture;
pub use layer::{McpTelemetry, McpTelemetryLayer, DEFAULT_TARGET_CAP};

/// The `tracing` target of the layer's span.
pub(crate) const TARGET: &str = "mcp_tower_guard::telemetry";
