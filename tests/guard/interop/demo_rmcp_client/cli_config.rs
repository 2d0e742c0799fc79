//! The demo's command line and its bind checks.

use super::*;

#[test]
fn non_loopback_bind_needs_allow_host() {
    let config = DemoConfig {
        bind: "0.0.0.0:8000".parse().unwrap(),
        ..DemoConfig::default()
    };
    let err = app::app(&config).map(|_| ()).expect_err("refused");
    assert!(
        matches!(err, mcp_tower_guard::ConfigError::UnsafeBind { .. }),
        "{err}"
    );
    // The store's maintenance task needs a runtime; build the accepted case inside one.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let config = DemoConfig {
            allowed_hosts: vec!["mcp.example.com".into()],
            ..config
        };
        assert!(app::app(&config).is_ok());
    });
}

#[test]
fn cli_flags() {
    let cli::Command::Serve(c) = cli::parse([
        "--bind",
        "127.0.0.1:9000",
        "--idle-timeout",
        "2s",
        "--max-lifetime=1h30m",
        "--max-sessions",
        "7",
        "--allow-origin",
        "https://a.example",
        "--allow-host",
        "mcp.example.com",
        "--heartbeat",
        "500ms",
    ])
    .expect("valid flags") else {
        panic!("expected serve")
    };
    assert_eq!(c.bind, "127.0.0.1:9000".parse::<SocketAddr>().unwrap());
    assert_eq!(c.idle_timeout, Duration::from_secs(2));
    assert_eq!(c.max_lifetime, Some(Duration::from_secs(5400)));
    assert_eq!(c.max_sessions, 7);
    assert_eq!(c.allowed_origins, ["https://a.example"]);
    assert_eq!(c.allowed_hosts, ["mcp.example.com"]);
    assert_eq!(c.heartbeat, Duration::from_millis(500));
    assert!(matches!(cli::parse(["-h"]), Ok(cli::Command::Help)));
    for bad in [
        &["--idle-timeout", "5"][..],
        &["--idle-timeout", "0s"],
        &["--max-sessions", "0"],
        &["--bind", "localhost"],
        &["--bogus"],
        &["--heartbeat"],
    ] {
        assert!(cli::parse(bad.iter().copied()).is_err(), "{bad:?}");
    }
    assert_eq!(cli::parse_duration("1h"), Some(Duration::from_secs(3600)));
}
