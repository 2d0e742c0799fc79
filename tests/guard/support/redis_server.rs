//! A throwaway `redis-server` on 127.0.0.1 for tests and benches (included
//! with `#[path]`): a free port, no persistence, killed on drop.
//!
//! When `redis-server` is not installed, [`RedisServer::start`] prints why and
//! returns `None` so the test can skip, unless `MCP_TOWER_GUARD_REQUIRE_REDIS`
//! is set (CI), where it panics instead.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = "redis-server";
const START_TIMEOUT: Duration = Duration::from_secs(10);

pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

/// Whether `redis-server` can be run; prints the skip message when not.
fn installed() -> bool {
    match Command::new(BINARY)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => true,
        Err(err) => {
            let message = format!(
                "`{BINARY}` is not installed ({err}); install it (apt-get install redis-server) to run the Redis tests"
            );
            if std::env::var_os("MCP_TOWER_GUARD_REQUIRE_REDIS").is_some() {
                panic!("{message}; MCP_TOWER_GUARD_REQUIRE_REDIS is set, so this fails");
            }
            eprintln!("SKIPPED: {message}");
            false
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// One `PING` over a raw connection.
fn pong(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut tcp) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = tcp.set_read_timeout(Some(Duration::from_millis(500)));
    if tcp.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    tcp.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

impl RedisServer {
    /// Starts a server on a free port, or `None` (after printing why) when
    /// `redis-server` is not installed.
    pub fn start() -> Option<Self> {
        if !installed() {
            return None;
        }
        for _ in 0..5 {
            let mut server = Self {
                child: None,
                port: free_port(),
                dir: std::env::temp_dir(),
            };
            if server.spawn() {
                return Some(server);
            }
        }
        panic!("redis-server did not start (5 attempts)");
    }

    /// Spawns the process on `self.port` and waits until it answers.
    fn spawn(&mut self) -> bool {
        let child = Command::new(BINARY)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--dir", &self.dir.to_string_lossy()])
            .args(["--loglevel", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_)) = child.try_wait() {
                    // Exited: the port was taken meanwhile.
                    self.child = None;
                    return false;
                }
            }
            if pong(self.port) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        false
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (as a crash would: no shutdown, data gone).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (empty).
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + START_TIMEOUT;
        while !self.spawn() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not restart on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing answers.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Undoes [`pause`](Self::pause).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("server running").id();
        let ok = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill {sig} {pid}");
    }

    /// Runs one command with `redis-cli`-free raw RESP and returns the raw reply.
    pub fn command(&self, args: &[&str]) -> String {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let mut tcp =
            TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect to redis");
        tcp.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut request = format!("*{}\r\n", args.len());
        for a in args {
            request.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        tcp.write_all(request.as_bytes()).unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let n = tcp.read(&mut buf).expect("redis reply");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    /// The integer reply of a command such as `ZCARD key`.
    pub fn integer(&self, args: &[&str]) -> i64 {
        let reply = self.command(args);
        reply
            .strip_prefix(':')
            .and_then(|r| r.trim_end().parse().ok())
            .unwrap_or_else(|| panic!("integer reply to {args:?}, got {reply:?}"))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // SIGKILL also ends a paused (SIGSTOP) server.
        self.stop();
    }
}
