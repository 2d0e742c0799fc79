//! Memory per session: resident memory before and after opening sessions.

use super::*;

// ---------------------------------------------------------------------------
// Memory per session
// ---------------------------------------------------------------------------

/// Resident set size of this process, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Gives freed heap pages back to the OS (glibc), so RSS deltas count live memory.
fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: glibc's malloc_trim has no preconditions.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// `n` sessions opened (initialize + initialized) over 8 connections, then dropped
/// from the client side (the server keeps the sessions).
async fn open_sessions(addr: SocketAddr, n: usize) -> Result<(), String> {
    const CONNS: usize = 8;
    let mut tasks = Vec::new();
    for c in 0..CONNS {
        let count = n / CONNS + usize::from(c < n % CONNS);
        tasks.push(tokio::spawn(async move {
            let mut conn = connect(addr).await?;
            for _ in 1..count {
                conn.initialize().await?;
            }
            Ok::<_, String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// Bytes of RSS per session after `n` initializes against `target` (a fresh server).
pub(super) fn memory_per_session(
    server_rt: &Runtime,
    client_rt: &Runtime,
    target: Target,
    n: usize,
) -> (f64, Server) {
    let server = start(server_rt, target, n + 1_000);
    let addr = server.addr;
    client_rt
        .block_on(open_sessions(addr, 64))
        .expect("warm-up sessions");
    std::thread::sleep(Duration::from_millis(200));
    trim();
    let before = rss();
    client_rt
        .block_on(open_sessions(addr, n))
        .expect("sessions");
    std::thread::sleep(Duration::from_millis(300));
    trim();
    let after = rss();
    if let Some(store) = &server.store {
        let active = store.stats().active;
        assert!(
            active as usize >= n,
            "{}: {active} sessions open",
            target.name()
        );
    }
    (after.saturating_sub(before) as f64 / n as f64, server)
}
