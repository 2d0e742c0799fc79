//! The integration tests: one binary, so CI links once, with a module per
//! layer and area. Unit tables stay next to the pure functions in `src/`.
//!
//! | module | what |
//! |---|---|
//! | `host` | the Host allowlist: the layer alone, forged headers over TCP |
//! | `origin` | the Origin allowlist alone |
//! | `headers` | the headers layer: both eras, the 2026-07-28 rules, one parse per request |
//! | `session` | the session layer on the moka store: lifecycle, expiry, limits |
//! | `redis` | the Redis store against a real `redis-server` (feature `redis`) |
//! | `interop` | real stacks: axum, hyper, tonic, rmcp's server and client, the demo |
//! | `adversarial` | hostile clients over real TCP |
//! | `auth` | `McpAuthLayer` against a real authorization server on 127.0.0.1 (feature `auth`) |
//! | `properties` | property tests, and the fuzz corpora replayed |
//! | `ratelimit` | `McpRateLimitLayer`: exact counts on a paused clock, overlapping rules, bounded keys (feature `ratelimit`) |
//! | `telemetry` | `McpTelemetryLayer`: spans through the OpenTelemetry SDK, metrics through the Prometheus recorder, the demo's exporters (feature `telemetry`) |
//! | `readme` | README.md's programs: each block is checked against its example and served |
//!
//! Everything talks to 127.0.0.1 only, with bounded loops and timeouts.

mod adversarial;
mod auth;
mod headers;
mod host;
mod interop;
mod origin;
mod properties;
mod ratelimit;
mod readme;
mod redis;
mod session;
mod support;
mod telemetry;

/// The demo server of `examples/streamable_http.rs`, which the interop and
/// redis tests drive.
#[path = "../../examples/streamable_http/app.rs"]
mod app;
#[allow(dead_code)]
#[path = "../../examples/streamable_http/cli.rs"]
mod cli;
/// The demo's exporters (`--metrics-addr`, `--otlp-endpoint`), which the
/// telemetry tests drive.
#[cfg(feature = "telemetry")]
#[path = "../../examples/streamable_http/telemetry.rs"]
mod demo_telemetry;
/// `examples/rmcp_server.rs`, which the interop and auth tests serve.
#[allow(dead_code)]
#[path = "../../examples/rmcp_server.rs"]
mod rmcp_example;
