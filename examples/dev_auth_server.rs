//! A development OAuth authorization server on 127.0.0.1, for trying the
//! demo's `--auth-issuer` by hand: RFC 8414 metadata, a JWKS, RFC 7662
//! introspection, and `GET /dev/token` minting RS256 tokens without any
//! login. It is the server the test suite runs (`tests/guard/support/`),
//! with test keys: never use it beyond your machine.
//!
//! ```text
//! cargo run --example dev_auth_server                     # http://127.0.0.1:9000
//! cargo run --example dev_auth_server -- --bind 127.0.0.1:9100
//! curl -s 'http://127.0.0.1:9000/dev/token?sub=alice&scope=mcp&aud=http://127.0.0.1:8000/mcp'
//! ```

#[path = "../tests/guard/support/keys.rs"]
mod keys;

#[path = "../tests/guard/support/auth_server.rs"]
#[allow(dead_code)]
mod auth_server;

use std::net::SocketAddr;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let mut bind = SocketAddr::from(([127, 0, 0, 1], 9000));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().map(|v| v.parse::<SocketAddr>())) {
            ("--bind", Some(Ok(addr))) if addr.ip().is_loopback() => bind = addr,
            _ => {
                eprintln!("usage: dev_auth_server [--bind 127.0.0.1:PORT]   (loopback only; default 127.0.0.1:9000)");
                return ExitCode::from(2);
            }
        }
    }
    let server = auth_server::AuthServer::start_on(bind).await;
    println!("issuer: {}", server.issuer);
    println!(
        "a token: curl -s '{}/dev/token?sub=alice&scope=mcp&aud=http://127.0.0.1:8000/mcp'",
        server.issuer
    );
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}
