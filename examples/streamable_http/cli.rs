//! Command-line flags of the demo server, parsed by hand (no extra dependency).

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use super::app::DemoConfig;

/// The usage text printed by `--help`.
pub const USAGE: &str = "\
streamable_http: an MCP Streamable HTTP server behind mcp-tower-guard's four layers

USAGE:
    cargo run --example streamable_http -- [FLAGS]

FLAGS:
    --bind ADDR            address to listen on [default: 127.0.0.1:8000]
                           a non-loopback address needs --allow-host
    --idle-timeout DUR     end a session after DUR without requests or open
                           streams [default: 30m]
    --max-lifetime DUR     end a session DUR after it was created, busy or not
                           [default: 24h]
    --max-sessions N       refuse new sessions (429) while N are open [default: 1000]
    --allow-origin ORIGIN  also accept this browser Origin (repeatable),
                           e.g. https://app.example.com or http://localhost:*
                           [default: http(s) pages on localhost, 127.0.0.1, [::1]]
    --allow-host HOST      also accept this Host (repeatable), e.g. mcp.example.com
                           [default: localhost, 127.0.0.1, [::1], any port]
    --heartbeat DUR        interval of `heartbeat` events on GET streams [default: 15s]
    --streams-keep-alive BOOL
                           whether an open GET stream keeps its session alive
                           (idle counted from the stream's close); false counts
                           only requests [default: true]
    --redis URL            keep sessions in Redis, shared with every server started
                           with the same URL, e.g. redis://127.0.0.1:6379
                           (build with --features redis) [default: in memory]
    --near-cache DUR       with --redis: answer lookups of a session confirmed
                           less than DUR ago without asking Redis [default: off]
    --auth-issuer URL      require bearer tokens (JWTs) from this OAuth issuer,
                           checked against its JWKS (build with --features auth)
                           [default: no authorization]
    --auth-resource URL    with --auth-issuer: this endpoint's canonical URI, the
                           audience tokens must name [default: http://BIND/mcp]
    --require-scope RULE   with --auth-issuer (repeatable): METHOD[:NAME]=SCOPE,
                           e.g. tools/call:deploy=deploy:write, tools/call=mcp:tools,
                           or *=mcp for every request
    --rate-limit RULE      a rate limit (repeatable; build with --features ratelimit):
                           NAME=COUNT/UNIT[,burst=N][,by=principal+session+addr+method+name]
                           [,method=M][,name=N][,notifications], e.g.
                           per-client=100/s,by=addr  or
                           sessions=20/m,by=addr,method=initialize  or, with --auth-issuer,
                           deploy=1/m,by=principal,method=tools/call,name=deploy
                           (by=principal needs --auth-issuer: without a verified user
                           every request shares one bucket)
                           (with --redis, counted in Redis: shared by every replica)
    --metrics-addr ADDR    serve Prometheus text at http://ADDR/metrics: operations,
                           requests, rejections, sessions, store calls, rate limits
                           (build with --features telemetry) [default: off]
    --otlp-endpoint URL    export a span per request over OTLP/gRPC, e.g.
                           http://127.0.0.1:4317 (build with --features telemetry)
                           [default: off]
    -h, --help             print this text

DUR is a number with a unit: 500ms, 2s, 30m, 1h (or combined: 1h30m).
Logs go to stderr; set RUST_LOG (default: info,mcp_tower_guard=debug).";

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Run the server.
    Serve(Box<DemoConfig>),
    /// Print [`USAGE`] and exit.
    Help,
}

/// A flag the parser could not use.
#[derive(Debug, PartialEq, Eq)]
pub struct CliError(String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

/// Parses the arguments after the program name. Accepts `--flag value` and `--flag=value`.
pub fn parse<I, S>(args: I) -> Result<Command, CliError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut config = DemoConfig::default();
    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, CliError> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| CliError(format!("{name} needs a value (see --help)")))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--bind" => {
                let v = value("--bind")?;
                config.bind = v.parse::<SocketAddr>().map_err(|_| {
                    CliError(format!(
                        "--bind {v:?}: expected an IP address with a port, e.g. 127.0.0.1:8000 or [::1]:8000"
                    ))
                })?;
            }
            "--idle-timeout" => {
                config.idle_timeout =
                    parse_duration_flag("--idle-timeout", &value("--idle-timeout")?)?
            }
            "--max-lifetime" => {
                config.max_lifetime = Some(parse_duration_flag(
                    "--max-lifetime",
                    &value("--max-lifetime")?,
                )?)
            }
            "--max-sessions" => {
                let v = value("--max-sessions")?;
                let n = v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    CliError(format!("--max-sessions {v:?}: expected a positive integer"))
                })?;
                config.max_sessions = n;
            }
            "--allow-origin" => config.allowed_origins.push(value("--allow-origin")?),
            "--allow-host" => config.allowed_hosts.push(value("--allow-host")?),
            "--heartbeat" => {
                config.heartbeat = parse_duration_flag("--heartbeat", &value("--heartbeat")?)?
            }
            "--streams-keep-alive" => {
                let v = value("--streams-keep-alive")?;
                config.streams_keep_alive = v.parse::<bool>().map_err(|_| {
                    CliError(format!(
                        "--streams-keep-alive {v:?}: expected true or false"
                    ))
                })?;
            }
            "--redis" => config.redis = Some(value("--redis")?),
            "--rate-limit" => config.rate_limits.push(value("--rate-limit")?),
            "--metrics-addr" => {
                let v = value("--metrics-addr")?;
                config.metrics_addr = Some(v.parse().map_err(|_| {
                    CliError(format!(
                        "--metrics-addr {v:?}: expected an IP address with a port, e.g. 127.0.0.1:9464"
                    ))
                })?);
            }
            "--otlp-endpoint" => config.otlp_endpoint = Some(value("--otlp-endpoint")?),
            "--auth-issuer" => config.auth_issuer = Some(value("--auth-issuer")?),
            "--auth-resource" => config.auth_resource = Some(value("--auth-resource")?),
            "--require-scope" => {
                let rule = value("--require-scope")?;
                config.required_scopes.push(parse_scope_rule(&rule)?);
            }
            "--near-cache" => {
                config.near_cache = Some(parse_duration_flag(
                    "--near-cache",
                    &value("--near-cache")?,
                )?)
            }
            other => return Err(CliError(format!("unknown argument {other:?} (see --help)"))),
        }
    }
    if config.auth_issuer.is_none()
        && (config.auth_resource.is_some() || !config.required_scopes.is_empty())
    {
        return Err(CliError(
            "--auth-resource and --require-scope need --auth-issuer (see --help)".to_owned(),
        ));
    }
    if !cfg!(feature = "telemetry")
        && (config.metrics_addr.is_some() || config.otlp_endpoint.is_some())
    {
        return Err(CliError(
            "--metrics-addr and --otlp-endpoint need the `telemetry` feature: \
             cargo run --features telemetry --example streamable_http -- ..."
                .to_owned(),
        ));
    }
    if config.near_cache.is_some() && config.redis.is_none() {
        return Err(CliError(
            "--near-cache needs --redis (see --help)".to_owned(),
        ));
    }
    Ok(Command::Serve(Box::new(config)))
}

/// `METHOD[:NAME]=SCOPE`, or `*=SCOPE` for every request.
pub fn parse_scope_rule(rule: &str) -> Result<super::app::ScopeRule, CliError> {
    let bad = || {
        CliError(format!(
            "--require-scope {rule:?}: expected METHOD[:NAME]=SCOPE, e.g. tools/call:deploy=deploy:write"
        ))
    };
    let (target, scope) = rule.split_once('=').ok_or_else(bad)?;
    if target.is_empty() || scope.is_empty() {
        return Err(bad());
    }
    let (method, name) = match target.split_once(':') {
        Some((method, name)) if !name.is_empty() => (method, Some(name)),
        Some(_) => return Err(bad()),
        None => (target, None),
    };
    Ok(super::app::ScopeRule {
        method: method.to_owned(),
        name: name.map(str::to_owned),
        scope: scope.to_owned(),
    })
}

fn parse_duration_flag(flag: &str, value: &str) -> Result<Duration, CliError> {
    match parse_duration(value) {
        Some(d) if !d.is_zero() => Ok(d),
        Some(_) => Err(CliError(format!(
            "{flag} {value:?}: must be longer than zero"
        ))),
        None => Err(CliError(format!(
            "{flag} {value:?}: expected a duration such as 500ms, 2s, 30m or 1h"
        ))),
    }
}

/// Parses `500ms`, `2s`, `30m`, `1h` and sums like `1h30m`. Units: `ms`, `s`, `m`, `h`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let part = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add(part)?;
    }
    Some(total)
}
