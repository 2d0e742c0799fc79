//! Bodies trickled or never finished: 408, freed bodies, closed connections,
//! and other clients still served.

use super::*;

// ======================================================= slow bodies

/// Headers of a POST whose body is `len` bytes long (but not sent yet).
fn post_head(len: usize) -> Vec<u8> {
    format!(
        "POST /mcp HTTP/1.1\r\nhost: localhost\r\naccept: application/json, text/event-stream\r\n\
         content-type: application/json\r\ncontent-length: {len}\r\n\r\n"
    )
    .into_bytes()
}

/// Reads until EOF (bounded by the caller's timeout): the server closed the connection.
async fn assert_closed(stream: &mut TcpStream, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 1024];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_trickled_body_gets_408_and_is_freed() {
    timeout(Duration::from_secs(60), async {
        let app = serve(Config {
            read_timeout: Duration::from_millis(500),
            ..Config::default()
        })
        .await;
        let body = PING.as_bytes();
        let stream = TcpStream::connect(app.addr).await.unwrap();
        let (mut rd, mut wr) = stream.into_split();
        wr.write_all(&post_head(body.len())).await.unwrap();
        // One byte every 100 ms: each gap is well under the 500 ms timeout,
        // the whole body would take 4 s. Stops when the server hangs up.
        let trickle = tokio::spawn(async move {
            for b in body.iter().take(body.len() - 1) {
                if wr.write_all(&[*b]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let mut buf = Vec::new();
        let res = read_response(&mut rd, &mut buf).await.expect("a response");
        assert_eq!(res.status, 408, "{:?}", String::from_utf8_lossy(&res.body));
        assert_eq!(res.error_code(), -32000);
        // The server drops the connection (the rest of the body is never read).
        let mut rest = Vec::new();
        let mut chunk = [0u8; 1024];
        while let Ok(n) = rd.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            rest.extend_from_slice(&chunk[..n]);
        }
        assert!(rest.is_empty(), "more bytes after the 408: {rest:?}");
        trickle.abort();
        eventually(|| app.live.get() == 0, "the slow body is dropped").await;
        // Nothing was created and the server still serves.
        assert_eq!(app.store.stats().created, 0);
        let id = initialize(app.addr, None).await;
        assert_eq!(
            exchange(app.addr, &ping_with(id.as_bytes(), None))
                .await
                .status,
            200
        );
    })
    .await
    .expect("slow body test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_finished_bodies_get_408() {
    timeout(Duration::from_secs(60), async {
        let app = serve(Config {
            read_timeout: Duration::from_millis(500),
            ..Config::default()
        })
        .await;
        // Content-Length announces 1000 bytes, 10 arrive.
        let mut a = TcpStream::connect(app.addr).await.unwrap();
        a.write_all(&post_head(1000)).await.unwrap();
        a.write_all(&INIT.as_bytes()[..10]).await.unwrap();
        // Chunked, one chunk, never the last chunk.
        let mut b = TcpStream::connect(app.addr).await.unwrap();
        b.write_all(
            b"POST /mcp HTTP/1.1\r\nhost: localhost\r\naccept: application/json, text/event-stream\r\n\
              content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\na\r\n{\"jsonrpc\"\r\n",
        )
        .await
        .unwrap();
        // Headers announce a body, no byte of it ever comes.
        let mut c = TcpStream::connect(app.addr).await.unwrap();
        c.write_all(&post_head(50)).await.unwrap();
        for stream in [&mut a, &mut b, &mut c] {
            let mut buf = Vec::new();
            let res = read_response(stream, &mut buf).await.expect("a response");
            assert_eq!(res.status, 408, "{:?}", String::from_utf8_lossy(&res.body));
            assert_eq!(res.error_code(), -32000);
            assert_closed(stream, &mut buf).await;
            assert!(buf.is_empty());
        }
        eventually(|| app.live.get() == 0, "unfinished bodies are dropped").await;
        let stats = app.store.stats();
        assert_eq!((stats.created, stats.reserved), (0, 0));
    })
    .await
    .expect("unfinished body test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_slow_bodies_do_not_starve_other_clients() {
    const SLOW: usize = 200;
    timeout(Duration::from_secs(90), async {
        let app = serve(Config {
            // Long enough that the well-behaved client finishes while the slow
            // ones are still being read; the test checks that order, not time.
            read_timeout: Duration::from_secs(5),
            ..Config::default()
        })
        .await;
        let mut slow = Vec::with_capacity(SLOW);
        for _ in 0..SLOW {
            let mut s = TcpStream::connect(app.addr).await.unwrap();
            s.write_all(&post_head(1000)).await.unwrap();
            s.write_all(b"{\"jsonrpc\":").await.unwrap();
            slow.push(s);
        }
        eventually(|| app.live.get() == SLOW, "all slow bodies are being read").await;

        // A well-behaved client: initialize, ping, delete, all served.
        let id = initialize(app.addr, None).await;
        let mut conn = Conn::open(app.addr).await;
        assert_eq!(conn.send(&ping_with(id.as_bytes(), None)).await.status, 200);
        let delete = request(
            "DELETE",
            "/mcp",
            &[("host", b"localhost"), ("mcp-session-id", id.as_bytes())],
            b"",
        );
        assert_eq!(conn.send(&delete).await.status, 204);
        // ...while no slow request has been answered yet.
        let mut pending = 0;
        for s in &slow {
            let mut probe = [0u8; 1];
            match s.try_read(&mut probe) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => pending += 1,
                other => {
                    panic!("a slow request was answered before the good client finished: {other:?}")
                }
            }
        }
        assert_eq!(pending, SLOW);

        // Then every slow request ends in 408 and its body is dropped.
        for s in &mut slow {
            let mut buf = Vec::new();
            let res = read_response(s, &mut buf).await.expect("a response");
            assert_eq!(res.status, 408);
            assert_eq!(res.error_code(), -32000);
        }
        eventually(|| app.live.get() == 0, "all slow bodies are dropped").await;
        let stats = app.store.stats();
        assert_eq!((stats.active, stats.reserved), (0, 0), "{stats:?}");
        // And the server still serves.
        let id = initialize(app.addr, None).await;
        assert_eq!(
            exchange(app.addr, &ping_with(id.as_bytes(), None))
                .await
                .status,
            200
        );
    })
    .await
    .expect("many slow bodies test timed out");
}
