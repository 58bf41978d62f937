//! Running the real daemon in tests: it listens on port 0 and the tests
//! read the bound address from its log; a tiny HTTP client, a writer of
//! numbered error lines, and readers of the events file. `free_port` is
//! for the other servers the tests start (nats-server, Prometheus).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET http://127.0.0.1:port/path → (status, body); None if not reachable.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, dechunk(&body)))
}

/// POST a JSON `body` to http://127.0.0.1:port/path → (status, body).
pub fn http_post(port: u16, path: &str, body: &str) -> (u16, String) {
    http_post_with(port, path, &[("Content-Type", "application/json")], body)
}

/// POST `body` with `headers` to http://127.0.0.1:port/path → (status, body).
pub fn http_post_with(
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let headers: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, dechunk(&body))
}

fn dechunk(body: &str) -> String {
    // axum answers with a content-length for these bodies; chunked is handled for safety.
    if !body.contains("\r\n") {
        return body.to_string();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            return body.to_string();
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// The value of the first sample whose line starts with `prefix`.
pub fn metric(body: &str, prefix: &str) -> Option<f64> {
    body.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

pub struct Daemon {
    pub child: Child,
    pub port: u16,
    /// The daemon's own log (stderr), in a file so a full pipe never blocks it.
    pub log: PathBuf,
}

impl Daemon {
    pub fn start(args: &[&str]) -> Daemon {
        Self::start_with_stdin(args, Stdio::null())
    }

    pub fn start_with_stdin(args: &[&str], stdin: Stdio) -> Daemon {
        Self::start_with(args, stdin, Stdio::null())
    }

    /// `run --stdin` writing its events to `events`, and the pipe to its
    /// standard input.
    pub fn on_stdin(events: &Path) -> (Daemon, std::process::ChildStdin) {
        let mut d = Self::start_with_stdin(
            &["--stdin", "--events", events.to_str().unwrap()],
            Stdio::piped(),
        );
        let stdin = d.child.stdin.take().unwrap();
        (d, stdin)
    }

    pub fn start_with(args: &[&str], stdin: Stdio, stdout: Stdio) -> Daemon {
        Self::start_cmd(
            Command::new(env!("CARGO_BIN_EXE_trtc-logwatch")),
            args,
            stdin,
            stdout,
        )
    }

    /// A daemon whose limit on open files (soft and hard) is `nofile`.
    pub fn start_limited(args: &[&str], nofile: u64) -> Daemon {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"));
        // SAFETY: only setrlimit runs between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let r = libc::rlimit {
                    rlim_cur: nofile,
                    rlim_max: nofile,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &r) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Self::start_cmd(cmd, args, Stdio::null(), Stdio::null())
    }

    /// A daemon run as the unprivileged user `nobody` (the caller is root).
    pub fn start_as_nobody(args: &[&str]) -> Daemon {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"));
        cmd.uid(65534).gid(65534);
        Self::start_cmd(cmd, args, Stdio::null(), Stdio::null())
    }

    fn start_cmd(mut cmd: Command, args: &[&str], stdin: Stdio, stdout: Stdio) -> Daemon {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log =
            std::env::temp_dir().join(format!("trtc-logwatch-test-{}-{n}.log", std::process::id()));
        let err = std::fs::File::create(&log).unwrap();
        let child = cmd
            .arg("run")
            .args(args)
            .args(["--listen", "127.0.0.1:0", "--log-level", "debug"])
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap();
        let mut d = Daemon {
            child,
            port: 0,
            log,
        };
        d.port = d.bound_port("serving /metrics on http://");
        d.wait_ready();
        d
    }

    /// The port of the address the daemon's log names after `says`
    /// (`serving /metrics on http://`, `accepting POST /ingest on http://`).
    pub fn bound_port(&mut self, says: &str) -> u16 {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(20) {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let port = text.lines().find_map(|l| {
                // The address alone, whatever follows it (text or JSON logs).
                let addr: String = l
                    .split(says)
                    .nth(1)?
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || ".:[]-".contains(*c))
                    .collect();
                addr.rsplit(':').next()?.parse().ok()
            });
            if let Some(p) = port {
                return p;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("daemon exited with {st}: {text}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the daemon never said {says:?}");
    }

    pub fn wait_ready(&mut self) {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(20) {
            if let Some((200, _)) = http_get(self.port, "/readyz") {
                return;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!(
                    "daemon exited with {st}: {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("daemon not ready on port {}", self.port);
    }

    pub fn metrics(&self) -> String {
        http_get(self.port, "/metrics")
            .map(|(_, b)| b)
            .unwrap_or_default()
    }

    /// Waits until `prefix`'s value reaches `want`; returns the last value.
    /// Fails the test when the metric has not reached `want` within
    /// `timeout` (the last page in the message).
    pub fn wait_metric(&self, prefix: &str, want: f64, timeout: Duration) -> f64 {
        let t = Instant::now();
        let mut page = String::new();
        while t.elapsed() < timeout {
            page = self.metrics();
            let last = metric(&page, prefix).unwrap_or(0.0);
            if last >= want {
                return last;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{prefix} did not reach {want} within {timeout:?}; the last page:\n{page}");
    }

    /// Waits until the daemon has listed its globs `n` more times (each
    /// listing also polls and reads what is due).
    pub fn wait_listings(&self, n: u32) {
        const LISTINGS: &str = "trtc_logwatch_file_listings_total";
        let from = metric(&self.metrics(), LISTINGS).unwrap_or(0.0);
        let want = from + f64::from(n);
        let got = self.wait_metric(LISTINGS, want, Duration::from_secs(30));
        assert!(got >= want, "{got} listings of {want}");
    }

    pub fn signal(&self, sig: i32) {
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    /// SIGTERM and wait; returns the exit code and how long it took.
    pub fn stop(mut self) -> (Option<i32>, Duration, String) {
        let t = Instant::now();
        self.signal(libc::SIGTERM);
        let status = self.child.wait().unwrap();
        let err = std::fs::read_to_string(&self.log).unwrap_or_default();
        (status.code(), t.elapsed(), err)
    }

    pub fn kill(mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// One numbered error line.
pub fn line(seq: u64) -> String {
    format!(
        "[10:00:00:000] <ERROR> [↑c1|u{seq}] RtcError: ICE/DTLS Transport connection failed <ICE_TRANSPORT_ERROR 0x4003> seq={seq}\n"
    )
}

/// Appends the numbered lines `seqs` to `f`.
pub fn write_seqs(f: &mut std::fs::File, seqs: std::ops::RangeInclusive<u64>) {
    for seq in seqs {
        f.write_all(line(seq).as_bytes()).unwrap();
    }
}

/// seq → how many events carry it, from an NDJSON events file. A last
/// line without its newline is one the daemon is still writing (or, on a
/// full disk, has written part of and will finish): not counted yet.
pub fn seqs(events: &Path) -> BTreeMap<u64, usize> {
    let mut m = BTreeMap::new();
    // Bytes up to the last newline: a file cut by a kill mid-write may end
    // inside a character, which must not hide the whole events before it.
    let bytes = std::fs::read(events).unwrap_or_default();
    let end = bytes.iter().rposition(|&b| b == b'\n').unwrap_or(0);
    let text = String::from_utf8_lossy(&bytes[..end]);
    let complete: &str = &text;
    for l in complete.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let line = v["line"].as_str().unwrap();
        if let Some(s) = line.rsplit("seq=").next().and_then(|s| s.parse().ok()) {
            *m.entry(s).or_insert(0) += 1;
        }
    }
    m
}

/// The one exactly-once check: every seq of `1..=total` in the events file
/// once, none missing, none doubled; `context` (the daemon's log) is shown
/// when it fails.
pub fn assert_exactly_once(events: &Path, total: u64, context: &str) {
    let s = seqs(events);
    let missing: Vec<u64> = (1..=total).filter(|n| !s.contains_key(n)).collect();
    let dups: Vec<u64> = s.iter().filter(|(_, c)| **c > 1).map(|(n, _)| *n).collect();
    assert!(
        missing.is_empty() && dups.is_empty(),
        "missing {} {missing:?}, doubled {} {dups:?}\n{context}",
        missing.len(),
        dups.len()
    );
}

/// At least once: every seq of `1..=total` in the events file (where a
/// crash may repeat what was read after the last checkpoint).
pub fn assert_none_missing(events: &Path, total: u64) {
    let s = seqs(events);
    let missing: Vec<u64> = (1..=total).filter(|n| !s.contains_key(n)).collect();
    assert!(missing.is_empty(), "missing {} {missing:?}", missing.len());
}

pub fn append(path: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
}

/// The config most daemon tests run with, written to `at/config.yaml`: one
/// source `app` reading `include` from the beginning, events to
/// `out/events.ndjson`, checkpoints in `out/state`, and every wait short
/// (listings every 200 ms, polls every 50 ms, checkpoints every 200 ms,
/// `rotate_wait` and `idle_flush` 1 s). `extra` is YAML put before the sources.
pub fn fast_config(at: &Path, include: &str, out: &Path, extra: &str) -> PathBuf {
    write_config(
        at,
        &format!(
            "state_dir: {state}\nevents:\n  path: {events}\nrotate_wait: 1s\nrescan_interval: 200ms\npoll_interval: 50ms\ncheckpoint_interval: 200ms\nidle_flush: 1s\n{extra}sources:\n  - name: app\n    include: [\"{include}\"]\n    start_at: beginning\n",
            state = out.join("state").display(),
            events = out.join("events.ndjson").display(),
        ),
    )
}

pub fn write_config(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("config.yaml");
    std::fs::write(&p, body).unwrap();
    p
}
