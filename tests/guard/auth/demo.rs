//! The demo with `--auth-issuer`, `--auth-resource` and `--require-scope`,
//! against the test authorization server: the challenge, the metadata
//! document, a token, and a 403 step-up, as the README walkthrough shows.

use super::*;
use crate::{app as demo, cli};

fn demo_app(server: &AuthServer) -> Router {
    let args = [
        "--bind",
        "127.0.0.1:0",
        "--auth-issuer",
        &server.issuer,
        "--auth-resource",
        RESOURCE,
        "--require-scope",
        "*=mcp",
        "--require-scope",
        "tools/call:add=math",
    ];
    let cli::Command::Serve(config) = cli::parse(args).expect("valid flags") else {
        panic!("expected serve");
    };
    assert_eq!(config.required_scopes.len(), 2);
    demo::app(&config).expect("demo with auth").0
}

#[tokio::test]
async fn demo_with_auth_flags_challenges_serves_metadata_and_steps_up() {
    bounded(async {
        let server = AuthServer::start().await;
        let app = demo_app(&server);
        let add = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "add", "arguments": {"a": 2, "b": 3},
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}}}});
        // 1. No token: the challenge names the metadata.
        let reply = send(&app, post(&add, &[], None)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(reply.challenge().contains("resource_metadata=\"http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp\""), "{}", reply.challenge());
        // 2. The metadata document.
        let req = Request::get("/.well-known/oauth-protected-resource/mcp")
            .header("host", HOST)
            .body(Body::empty())
            .unwrap();
        let doc = send(&app, req).await;
        assert_eq!(doc.status, StatusCode::OK);
        assert_eq!(doc.body["authorization_servers"], json!([server.issuer]));
        assert_eq!(doc.body["resource_name"], "mcp-tower-guard demo");
        // ... behind the Host check too: a DNS-rebinding page cannot read it.
        let req = Request::get("/.well-known/oauth-protected-resource/mcp")
            .header("host", "evil.example")
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&app, req).await.status, StatusCode::FORBIDDEN);
        // 3. A token with `mcp` only: 403 for `add`, naming `math`.
        let token = server.token(&server.claims("alice", RESOURCE, "mcp"));
        let reply = send(&app, post(&add, &[&bearer(&token)], None)).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
        assert!(reply.challenge().contains(r#"scope="math mcp""#), "{}", reply.challenge());
        // 4. Stepped up: the tool runs.
        let token = server.token(&server.claims("alice", RESOURCE, "mcp math"));
        let reply = send(&app, post(&add, &[&bearer(&token)], None)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["id"], 3);
        server.shutdown().await;
    })
    .await;
}

#[test]
fn demo_auth_flags_are_checked() {
    for bad in [
        &["--require-scope", "tools/call=mcp"][..], // needs --auth-issuer
        &["--auth-resource", "https://mcp.example.com/mcp"], // needs --auth-issuer
        &[
            "--auth-issuer",
            "https://as.example",
            "--require-scope",
            "=mcp",
        ],
        &[
            "--auth-issuer",
            "https://as.example",
            "--require-scope",
            "tools/call:",
        ],
        &[
            "--auth-issuer",
            "https://as.example",
            "--require-scope",
            "tools/call",
        ],
    ] {
        assert!(cli::parse(bad.iter().copied()).is_err(), "{bad:?}");
    }
    let rule = cli::parse_scope_rule("tools/call:deploy=deploy:write").unwrap();
    assert_eq!(
        (
            rule.method.as_str(),
            rule.name.as_deref(),
            rule.scope.as_str()
        ),
        ("tools/call", Some("deploy"), "deploy:write")
    );
    // A NAME on a method that names nothing is refused when the app is built.
    let cli::Command::Serve(config) = cli::parse([
        "--auth-issuer",
        "https://as.example",
        "--require-scope",
        "tools/list:x=mcp",
    ])
    .unwrap() else {
        panic!("expected serve")
    };
    assert!(demo::app(&config).is_err());
}
