//! Session enumeration: random ids never hit; unknown, foreign and deleted
//! sessions answer byte for byte alike.

use super::*;

// ================================================= session enumeration

/// A random visible-ASCII id, 1 to 64 bytes, from a small xorshift generator
/// (deterministic per seed, so a failure names its input).
fn random_id(state: &mut u64) -> Vec<u8> {
    let mut next = || {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    };
    if next() % 2 == 0 {
        // UUID-shaped, like the real ones.
        let hex = |n: u64, len: usize| format!("{:0width$x}", n, width = 16)[..len].to_owned();
        format!(
            "{}-{}-4{}-{}-{}",
            hex(next(), 8),
            hex(next(), 4),
            hex(next(), 3),
            hex(next(), 4),
            hex(next(), 12)
        )
        .into_bytes()
    } else {
        let len = (next() % 64 + 1) as usize;
        (0..len).map(|_| (next() % 94) as u8 + 0x21).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_enumeration_is_blind() {
    const GUESSES: usize = 2_000;
    timeout(Duration::from_secs(90), async {
        let app = serve(Config::default()).await;
        let addr = app.addr;
        let alice: &[u8] = b"Bearer alice-token";
        let bob: &[u8] = b"Bearer bob-token";
        let alices = initialize(addr, Some(alice)).await;
        let bobs = initialize(addr, Some(bob)).await;
        let doomed = initialize(addr, Some(alice)).await;
        let delete = |id: &[u8], auth: &[u8]| {
            request(
                "DELETE",
                "/mcp",
                &[
                    ("host", b"localhost"),
                    ("mcp-session-id", id),
                    ("authorization", auth),
                ],
                b"",
            )
        };
        assert_eq!(
            exchange(addr, &delete(doomed.as_bytes(), alice))
                .await
                .status,
            204
        );

        // Random ids, pipelined as Bob: none hits.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut guesses = Vec::new();
        for _ in 0..GUESSES {
            let id = random_id(&mut seed);
            assert_ne!(id, alices.as_bytes());
            assert_ne!(id, bobs.as_bytes());
            guesses.extend(ping_with(&id, Some(bob)));
        }
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut rd, mut wr) = stream.into_split();
        let writer = tokio::spawn(async move {
            wr.write_all(&guesses).await.unwrap();
            wr
        });
        let mut buf = Vec::new();
        let mut first: Option<Vec<u8>> = None;
        for i in 0..GUESSES {
            let res = read_response(&mut rd, &mut buf).await.expect("a response");
            assert_eq!(
                res.status,
                404,
                "guess {i} hit: {:?}",
                String::from_utf8_lossy(&res.body)
            );
            assert_eq!(res.error_code(), -32001);
            // Every miss looks the same.
            let bytes = res.without_date();
            match &first {
                None => first = Some(bytes),
                Some(f) => assert_eq!(&bytes, f, "guess {i} answered differently"),
            }
        }
        drop(writer.await.unwrap());
        let stats = app.store.stats();
        assert_eq!(stats.rejected.not_found, GUESSES as u64, "{stats:?}");
        assert_eq!((stats.active, stats.created), (2, 3), "{stats:?}");

        // Unknown, foreign and deleted: byte-identical answers, for POST, GET and DELETE.
        let unknown = b"00000000-0000-4000-8000-000000000000";
        for method in ["POST", "GET", "DELETE"] {
            let req = |id: &[u8], auth: Option<&[u8]>| {
                let mut headers: Vec<(&str, &[u8])> = vec![
                    ("host", b"localhost"),
                    ("mcp-session-id", id),
                    ("mcp-protocol-version", b"2025-06-18"),
                ];
                if let Some(auth) = auth {
                    headers.push(("authorization", auth));
                }
                match method {
                    "POST" => {
                        headers.push(("accept", ACCEPT_BOTH));
                        headers.push(("content-type", b"application/json"));
                        request(method, "/mcp", &headers, PING.as_bytes())
                    }
                    "GET" => {
                        headers.push(("accept", b"text/event-stream"));
                        request(method, "/mcp", &headers, b"")
                    }
                    _ => request(method, "/mcp", &headers, b""),
                }
            };
            let answers = [
                ("unknown", exchange(addr, &req(unknown, Some(bob))).await),
                (
                    "foreign",
                    exchange(addr, &req(alices.as_bytes(), Some(bob))).await,
                ),
                (
                    "deleted",
                    exchange(addr, &req(doomed.as_bytes(), Some(alice))).await,
                ),
                (
                    "foreign, anonymous",
                    exchange(addr, &req(bobs.as_bytes(), None)).await,
                ),
                (
                    "foreign, other credential",
                    exchange(addr, &req(bobs.as_bytes(), Some(b""))).await,
                ),
            ];
            let reference = answers[0].1.without_date();
            assert_eq!(answers[0].1.status, 404, "{method}");
            assert_eq!(answers[0].1.error_code(), -32001, "{method}");
            for (what, res) in &answers[1..] {
                assert_eq!(
                    res.without_date(),
                    reference,
                    "{method} {what}: {:?} vs {:?}",
                    String::from_utf8_lossy(&res.without_date()),
                    String::from_utf8_lossy(&reference)
                );
            }
        }
        // Bob's attempts did not touch Alice's session: she is still served,
        // and her session was not deleted by Bob's DELETE.
        assert_eq!(
            exchange(addr, &ping_with(alices.as_bytes(), Some(alice)))
                .await
                .status,
            200
        );
        assert_eq!(
            exchange(addr, &ping_with(bobs.as_bytes(), Some(bob)))
                .await
                .status,
            200
        );
        let stats = app.store.stats();
        assert_eq!((stats.active, stats.deleted), (2, 1), "{stats:?}");
        assert_eq!(stats.rejected.foreign_principal, 9, "{stats:?}");
    })
    .await
    .expect("enumeration test timed out");
}
