//! `initialize` floods against the session cap over keep-alive connections.

use super::*;

/// Writes `count` copies of `req` back to back on one connection (HTTP/1.1
/// pipelining) while reading the answers; returns them in order.
async fn pipeline(addr: SocketAddr, req: Vec<u8>, count: usize) -> Vec<Resp> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        let batch: Vec<u8> = req.repeat(100);
        let mut left = count;
        while left > 0 {
            let n = left.min(100);
            wr.write_all(&batch[..req.len() * n]).await.unwrap();
            left -= n;
        }
        wr
    });
    let mut buf = Vec::new();
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(
            read_response(&mut rd, &mut buf)
                .await
                .expect("pipelined response"),
        );
    }
    drop(writer.await.unwrap());
    out
}

// ============================================================ floods

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initialize_flood_holds_the_cap_exactly() {
    const MAX: usize = 50;
    const CONNECTIONS: usize = 4;
    const PER_CONNECTION: usize = 5_000;
    timeout(Duration::from_secs(120), async {
        let app = serve(Config {
            max_sessions: MAX,
            ..Config::default()
        })
        .await;
        let addr = app.addr;

        // A well-behaved client with a session made before the flood.
        let mine = initialize(addr, None).await;
        let ping = ping_with(mine.as_bytes(), None);
        let mut conn = Conn::open(addr).await;
        assert_eq!(conn.send(&ping).await.status, 200);

        let flooding = Arc::new(std::sync::atomic::AtomicBool::new(true));
        // The well-behaved client keeps pinging on its own connection during the flood.
        let pinger = {
            let flooding = Arc::clone(&flooding);
            let ping = ping.clone();
            tokio::spawn(async move {
                let mut served = 0usize;
                while flooding.load(Ordering::SeqCst) {
                    let res = conn.send(&ping).await;
                    assert_eq!(res.status, 200, "existing session refused during the flood");
                    served += 1;
                    tokio::task::yield_now().await;
                }
                (served, conn)
            })
        };
        // The store never holds more than MAX slots, reservations included.
        let sampler = {
            let flooding = Arc::clone(&flooding);
            let store = app.store.clone();
            tokio::spawn(async move {
                let mut samples = 0usize;
                while flooding.load(Ordering::SeqCst) {
                    let s = store.stats();
                    assert!(s.active <= MAX as u64, "{s:?}");
                    assert!(s.active + s.reserved <= MAX as u64, "{s:?}");
                    samples += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                samples
            })
        };

        let floods: Vec<_> = (0..CONNECTIONS)
            .map(|_| tokio::spawn(pipeline(addr, legacy_post(INIT, &[]), PER_CONNECTION)))
            .collect();
        let mut ok_ids = std::collections::HashSet::new();
        let (mut ok, mut limited) = (0usize, 0usize);
        let mut checked_body = false;
        for f in floods {
            for res in f.await.unwrap() {
                match res.status {
                    200 => {
                        ok += 1;
                        let id = res
                            .header("mcp-session-id")
                            .expect("id on a created session");
                        assert!(SessionId::parse(id).is_ok());
                        assert!(ok_ids.insert(id.to_vec()), "id minted twice");
                    }
                    429 => {
                        limited += 1;
                        assert!(
                            res.header("retry-after").is_some(),
                            "429 without Retry-After"
                        );
                        assert!(res.header("mcp-session-id").is_none());
                        if !checked_body {
                            assert_eq!(res.error_code(), -32000);
                            checked_body = true;
                        }
                    }
                    other => panic!(
                        "flood answered {other}: {:?}",
                        String::from_utf8_lossy(&res.body)
                    ),
                }
            }
        }
        flooding.store(false, Ordering::SeqCst);
        let (served, mut conn) = pinger.await.unwrap();
        let samples = sampler.await.unwrap();

        let total = CONNECTIONS * PER_CONNECTION;
        assert_eq!(ok, MAX - 1, "exactly the free slots were handed out");
        assert_eq!(limited, total - (MAX - 1));
        let stats = app.store.stats();
        assert_eq!(stats.active, MAX as u64, "{stats:?}");
        assert_eq!(stats.created, MAX as u64, "{stats:?}");
        assert_eq!(stats.reserved, 0, "leaked reservations: {stats:?}");
        assert_eq!(
            stats.rejected.global_limit,
            (total - (MAX - 1)) as u64,
            "{stats:?}"
        );
        assert!(
            served >= 1 && samples >= 1,
            "served {served}, samples {samples}"
        );

        // After the flood: the existing session is still served, a freed slot
        // can be taken once, and the cap still holds.
        assert_eq!(conn.send(&ping).await.status, 200);
        let victim = ok_ids.iter().next().unwrap().clone();
        let delete = request(
            "DELETE",
            "/mcp",
            &[("host", b"localhost"), ("mcp-session-id", &victim)],
            b"",
        );
        assert_eq!(conn.send(&delete).await.status, 204);
        assert_eq!(conn.send(&legacy_post(INIT, &[])).await.status, 200);
        assert_eq!(conn.send(&legacy_post(INIT, &[])).await.status, 429);
        let stats = app.store.stats();
        assert_eq!((stats.active, stats.reserved), (MAX as u64, 0), "{stats:?}");
        eventually(
            || app.live.get() == 0,
            "request bodies are dropped with their requests",
        )
        .await;
    })
    .await
    .expect("flood test timed out");
}
