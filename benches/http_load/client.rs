//! The load client: keep-alive HTTP/1.1 connections that initialize once,
//! then call `add` until the run ends, and the statistics of a run.

use super::*;

// ---------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------

const LEGACY: &str = "2025-11-25";
const MCP_SESSION_ID: http::HeaderName = http::HeaderName::from_static("mcp-session-id");
const MCP_PROTOCOL_VERSION: http::HeaderName =
    http::HeaderName::from_static("mcp-protocol-version");

fn initialize_body() -> Bytes {
    Bytes::from_static(
        br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"http_load","version":"1.0"}}}"#,
    )
}

fn initialized_body() -> Bytes {
    Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
}

fn call_body(id: u64) -> Bytes {
    Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"add","arguments":{{"a":{id},"b":1}}}}}}"#
    ))
}

fn post(
    host: &HeaderValue,
    body: Bytes,
    session: Option<&HeaderValue>,
    version: Option<&HeaderValue>,
) -> Request<Full<Bytes>> {
    let mut req = Request::new(Full::new(body));
    *req.method_mut() = http::Method::POST;
    *req.uri_mut() = http::Uri::from_static("/mcp");
    let h = req.headers_mut();
    h.insert(header::HOST, host.clone());
    static USER_AGENT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *USER_AGENT.get_or_init(|| std::env::var_os("LOAD_NO_USER_AGENT").is_none()) {
        h.insert(
            header::USER_AGENT,
            HeaderValue::from_static("http_load/1.0"),
        );
    }
    h.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(id) = session {
        h.insert(MCP_SESSION_ID, id.clone());
    }
    if let Some(v) = version {
        h.insert(MCP_PROTOCOL_VERSION, v.clone());
    }
    req
}

type Sender = http1::SendRequest<Full<Bytes>>;

/// One request; the status and the whole body (JSON or an SSE stream that ends).
async fn send(
    sender: &mut Sender,
    req: Request<Full<Bytes>>,
) -> Result<(StatusCode, http::HeaderMap, Bytes), String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((parts.status, parts.headers, bytes))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The `protocolVersion` of an initialize result, in a JSON or SSE body.
fn negotiated(body: &[u8]) -> Option<String> {
    let key = br#""protocolVersion":""#;
    let at = body.windows(key.len()).position(|w| w == key)? + key.len();
    let end = body[at..].iter().position(|&b| b == b'"')? + at;
    String::from_utf8(body[at..end].to_vec()).ok()
}

/// A connection with an initialized session.
pub(super) struct Conn {
    sender: Sender,
    host: HeaderValue,
    session: Option<HeaderValue>,
    version: HeaderValue,
}

pub(super) async fn connect(addr: SocketAddr) -> Result<Conn, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, conn) = http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let host = HeaderValue::from_str(&addr.to_string()).expect("host");
    let mut conn = Conn {
        sender,
        host,
        session: None,
        version: HeaderValue::from_static(LEGACY),
    };
    conn.initialize().await?;
    Ok(conn)
}

impl Conn {
    /// `initialize` + `notifications/initialized`: a new session on this connection.
    pub(super) async fn initialize(&mut self) -> Result<(), String> {
        let req = post(&self.host, initialize_body(), None, None);
        let (status, headers, body) = send(&mut self.sender, req).await?;
        if status != StatusCode::OK {
            return Err(format!(
                "initialize: {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        // The unguarded handler has no session layer: no id, and none is needed.
        self.session = headers.get("mcp-session-id").cloned();
        let version = negotiated(&body).ok_or("initialize: no protocolVersion")?;
        self.version = HeaderValue::from_str(&version).map_err(|e| e.to_string())?;
        let req = post(
            &self.host,
            initialized_body(),
            self.session.as_ref(),
            Some(&self.version),
        );
        let (status, _, body) = send(&mut self.sender, req).await?;
        if status != StatusCode::ACCEPTED {
            return Err(format!(
                "notifications/initialized: {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        Ok(())
    }

    /// One `tools/call`; `Ok(false)` for a wrong answer.
    async fn call(&mut self, id: u64) -> Result<bool, String> {
        let req = post(
            &self.host,
            call_body(id),
            self.session.as_ref(),
            Some(&self.version),
        );
        let (status, _, body) = send(&mut self.sender, req).await?;
        let ok = status == StatusCode::OK && contains(&body, b"\"result\"");
        if !ok {
            eprintln!(
                "unexpected answer: {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        Ok(ok)
    }
}

/// CPU time (user + system) of this process's threads named `name`, from
/// `/proc/self/task/*/stat` (clock ticks of 10 ms).
fn thread_cpu(name: &str) -> Duration {
    const TICK: Duration = Duration::from_millis(10);
    let mut ticks = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid ... utime stime ...": fields after the comm.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            if &stat[open + 1..close] != name {
                continue;
            }
            let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
            // utime and stime are fields 14 and 15 of stat(5); the comm is field 2.
            let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
            ticks += field(14).unwrap_or(0) + field(15).unwrap_or(0);
        }
    }
    TICK * ticks as u32
}

/// `conns` connections, each with its own session, calling until the run ends.
pub(super) async fn load(addr: SocketAddr, s: &Settings) -> RunStats {
    let start = Instant::now();
    let record_from = start + Duration::from_secs_f64(s.warmup);
    let end = record_from + Duration::from_secs_f64(s.secs);
    let limit = s.requests;
    let mut tasks = Vec::new();
    for c in 0..s.conns {
        tasks.push(tokio::spawn(async move {
            let mut stats = RunStats::default();
            let mut conn = match connect(addr).await {
                Ok(conn) => conn,
                Err(err) => {
                    eprintln!("connection {c}: {err}");
                    stats.errors += 1;
                    return stats;
                }
            };
            let mut id = 1u64;
            loop {
                let t0 = Instant::now();
                let done = match limit {
                    Some(limit) => id > limit,
                    None => t0 >= end,
                };
                if done {
                    break;
                }
                let ok = conn.call(id).await;
                id += 1;
                if t0 < record_from && limit.is_none() {
                    continue;
                }
                stats.latencies_ns.push(t0.elapsed().as_nanos() as u64);
                match ok {
                    Ok(true) => stats.requests += 1,
                    Ok(false) => stats.errors += 1,
                    Err(err) => {
                        eprintln!("connection {c}: {err}");
                        stats.errors += 1;
                        break;
                    }
                }
            }
            stats
        }));
    }
    // Server CPU over the measured window (the clients start recording at `record_from`).
    if limit.is_none() {
        tokio::time::sleep_until(record_from.into()).await;
    }
    let cpu_start = thread_cpu("server");
    if limit.is_none() {
        tokio::time::sleep_until(end.into()).await;
    }
    let mut total = RunStats::default();
    for task in tasks {
        total.merge(task.await.expect("client task"));
    }
    let server_cpu = thread_cpu("server").saturating_sub(cpu_start);
    total.elapsed = match limit {
        Some(_) => start.elapsed(),
        None => end.saturating_duration_since(record_from),
    };
    total.server_cpu = server_cpu;
    total
}
