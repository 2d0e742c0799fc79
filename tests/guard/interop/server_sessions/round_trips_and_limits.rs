//! Sampling and elicitation round-trip through the guard; the session limit
//! holds and a failed initialize frees its slot.

use super::*;

// ------------------------------------------------------------------ tests

/// The guard never invents an id: the client holds the server's, the store
/// holds the same, and sampling and elicitation (server-to-client requests,
/// answered on later POSTs of the same session) round-trip through it.
#[tokio::test]
async fn sampling_and_elicitation_round_trip_through_the_guard() {
    bounded(async {
        let server = Guarded::start(Setup::new(MokaSessionStore::new())).await;
        let client = rmcp_client(&server.url).await;
        assert_eq!(server.server_sessions().await, 1);
        assert_eq!(server.store.stats().active, 1);
        let result = client
            .call_tool(CallToolRequestParams::new("ask_model"))
            .await
            .expect("sampling through the guard");
        assert_eq!(text_of(&result), "model said 42");
        let result = client
            .call_tool(CallToolRequestParams::new("ask_user"))
            .await
            .expect("elicitation through the guard");
        assert_eq!(text_of(&result), "user is Ada");
        // Every id that reached rmcp is the one rmcp minted (none of ours).
        let minted: Vec<String> = server
            .sessions
            .sessions
            .read()
            .await
            .keys()
            .map(|k| k.to_string())
            .collect();
        assert_eq!(minted.len(), 1);
        assert!(
            server
                .reached
                .ids()
                .iter()
                .all(|id| id == "-" || *id == minted[0]),
            "{:?}",
            server.reached.ids()
        );
        client.cancel().await.expect("client closes");
        eventually("the client's DELETE closes both tables", || async {
            server.server_sessions().await == 0 && server.store.stats().active == 0
        })
        .await;
        assert_eq!(server.store.stats().deleted, 1);
    })
    .await;
}

/// The N+1th `initialize` gets the guard's 429 before rmcp sees it; a failed
/// `initialize` (rmcp answers a JSON-RPC error) gives its slot back.
#[tokio::test]
async fn the_limit_holds_and_a_failed_initialize_frees_its_slot() {
    bounded(async {
        let store = MokaSessionStore::builder().max_sessions(2).build().unwrap();
        let server = Guarded::start(Setup::new(store)).await;
        let broken = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": 7}});
        let reply = send(post(&server.url, broken, &[])).await;
        assert!(reply.json().get("error").is_some() || !reply.status.is_success(), "{:?}", reply.body);
        let stats = server.store.stats();
        assert_eq!((stats.active, stats.reserved, stats.initialize_failed), (0, 0, 1), "{stats:?}");

        let a = raw_session(&server.url, &[]).await;
        let _b = raw_session(&server.url, &[]).await;
        let before = server.reached.ids().len();
        let third = send(post(&server.url, initialize_body(), &[])).await;
        assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(third.headers.contains_key("retry-after"));
        assert_eq!(server.reached.ids().len(), before, "rmcp never saw it");
        assert_eq!(server.server_sessions().await, 2);
        // A client's DELETE reaches rmcp and frees the slot.
        let reply = send(delete(&server.url, &a)).await;
        assert!(reply.status.is_success(), "{}", reply.status);
        raw_session(&server.url, &[]).await;
    })
    .await;
}
