//! The demo: an MCP Streamable HTTP server behind all four mcp-tower-guard layers.
//!
//! ```text
//! cargo run --example streamable_http -- --help
//! cargo run --example streamable_http                      # http://127.0.0.1:8000/mcp
//! RUST_LOG=debug cargo run --example streamable_http -- --idle-timeout 2m --heartbeat 5s
//! # Prometheus text at :9464/metrics, spans to an OTLP/gRPC collector:
//! cargo run --features telemetry --example streamable_http -- --metrics-addr 127.0.0.1:9464 --otlp-endpoint http://127.0.0.1:4317
//! # two replicas sharing sessions through Redis:
//! cargo run --features redis --example streamable_http -- --bind 127.0.0.1:8001 --redis redis://127.0.0.1:6379
//! cargo run --features redis --example streamable_http -- --bind 127.0.0.1:8002 --redis redis://127.0.0.1:6379
//! ```
//!
//! It prints `listening on http://ADDR/mcp` once the socket is bound. The
//! README walks through it with curl; `tests/guard/interop/demo_rmcp_client/`
//! drives it with rmcp's client.

#[path = "streamable_http/app.rs"]
mod app;
#[path = "streamable_http/cli.rs"]
mod cli;
#[cfg(feature = "telemetry")]
#[path = "streamable_http/telemetry.rs"]
mod telemetry;

use std::io::Write;
use std::process::ExitCode;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match cli::parse(std::env::args().skip(1)) {
        Ok(cli::Command::Serve(config)) => config,
        Ok(cli::Command::Help) => {
            // `--help | head` closes the pipe early: not an error.
            let _ = writeln!(std::io::stdout(), "{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };

    // Spans to an OTLP receiver, when asked (feature `telemetry`).
    #[cfg(feature = "telemetry")]
    let otlp = match config
        .otlp_endpoint
        .as_deref()
        .map(telemetry::otlp_provider)
    {
        None => None,
        Some(Ok(provider)) => Some(provider),
        Some(Err(err)) => {
            eprintln!("error: --otlp-endpoint: {err}");
            return ExitCode::from(2);
        }
    };
    let subscriber = tracing_subscriber::registry()
        .with(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,mcp_tower_guard=debug")),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        );
    #[cfg(feature = "telemetry")]
    let subscriber = subscriber.with(otlp.as_ref().map(telemetry::otel_layer));
    subscriber.init();

    // Prometheus text at --metrics-addr (feature `telemetry`).
    #[cfg(feature = "telemetry")]
    if let Some(addr) = config.metrics_addr {
        let recorder = match telemetry::prometheus_recorder() {
            Ok(recorder) => recorder,
            Err(err) => {
                eprintln!("error: {err}");
                return ExitCode::FAILURE;
            }
        };
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            eprintln!("error: a metrics recorder is already installed");
            return ExitCode::FAILURE;
        }
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(err) => {
                eprintln!("error: cannot listen on {addr} for metrics: {err}");
                return ExitCode::FAILURE;
            }
        };
        let bound = listener.local_addr().map_or(addr, |a| a);
        tokio::spawn(async move {
            if let Err(err) = telemetry::serve_metrics(listener, handle).await {
                tracing::warn!(target: "demo", %err, "metrics endpoint stopped");
            }
        });
        let _ = writeln!(std::io::stdout(), "metrics on http://{bound}/metrics");
    }

    let (router, store) = match app::app_for(&config).await {
        Ok(built) => built,
        Err(err) => {
            eprintln!("error: {err}");
            if !config.bind.ip().to_canonical().is_loopback() && config.allowed_hosts.is_empty() {
                eprintln!(
                    "hint: to serve on {} pass the names clients use, e.g. --allow-host mcp.example.com",
                    config.bind
                );
            }
            return ExitCode::from(2);
        }
    };

    let listener = match tokio::net::TcpListener::bind(config.bind).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("error: cannot listen on {}: {err}", config.bind);
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        target: "demo",
        %addr,
        idle_timeout = ?config.idle_timeout,
        streams_keep_alive = config.streams_keep_alive,
        max_lifetime = ?config.max_lifetime,
        max_sessions = config.max_sessions,
        heartbeat = ?config.heartbeat,
        sessions = store.kind(),
        "server ready"
    );
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on http://{addr}/mcp");
    let _ = stdout.flush();

    let shutdown = async move {
        wait_for_signal().await;
        tracing::info!(target: "demo", "shutting down: closing sessions");
        store.shutdown();
    };
    if let Err(err) = app::serve(listener, router, shutdown).await {
        eprintln!("error: {err}");
        return ExitCode::FAILURE;
    }
    #[cfg(feature = "telemetry")]
    if let Some(provider) = otlp {
        // Send what the batch still holds.
        let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    }
    tracing::info!(target: "demo", "bye");
    ExitCode::SUCCESS
}

/// Ctrl-C, or SIGTERM on Unix.
async fn wait_for_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(target: "demo", %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
