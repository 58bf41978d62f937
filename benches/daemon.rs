//! Daemon benchmarks (no criterion: they time a real process over HTTP).
//!
//! 1. Latency: a line appended to a followed file → its counter on
//!    `/metrics`, 300 samples, p50 / p99 / max.
//! 2. Catch-up: a backlog file (bench-data/corpus-MB.log, from
//!    scripts/gen-corpus.py; TRTC_BENCH_MB, default 1024) read
//!    from the beginning by `run`, against `scan` on the same file.
//!
//! 3. HTTP ingest: lines/s and events/s with 1 and 2 client connections
//!    posting 2,000-line NDJSON batches (Fluent Bit's `json_lines`, 10 %
//!    error lines) as fast as answers come; then p50/p99 request latency
//!    at a steady 10,000 lines/s (100-line requests every 10 ms); peak RSS.
//!
//! 4. NATS JetStream: 200,000 messages (one record each, 10 % error lines)
//!    stored in a stream of a local `nats-server -js`, consumed by 1 and by 3
//!    replicas on one durable consumer: messages/s until all are acked, and
//!    each replica's peak RSS.
//!
//! Run: `cargo bench --bench daemon` (`-- ingest`, `-- nats` for one alone).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_trtc-logwatch");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(port: u16, path: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    let mut b = String::new();
    let _ = s.read_to_string(&mut b);
    b
}

fn metric(body: &str, prefix: &str) -> f64 {
    body.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

fn start(args: &[&str], port: u16) -> Child {
    let c = Command::new(BIN)
        .arg("run")
        .args(args)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--events",
            "/dev/null",
            "--log-level",
            "warn",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !get(port, "/readyz").contains(" 200 ") {
        assert!(t.elapsed() < Duration::from_secs(20), "not ready");
        std::thread::sleep(Duration::from_millis(5));
    }
    c
}

fn stop(mut c: Child) {
    unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
    let _ = c.wait();
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn latency() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let port = free_port();
    let glob = format!("{}/*.log", dir.path().display());
    let child = start(&["--follow", &glob], port);
    let key = "trtc_errors_total{catalog=\"trtc-web-v4\",category=\"transport\",key=\"ICE_TRANSPORT_ERROR\",code=\"16387\"}";
    let mut samples = Vec::new();
    for i in 1..=300u32 {
        let t = Instant::now();
        writeln!(
            f,
            "[10:00:00:000] <ERROR> [↑c1|u] RtcError: x <ICE_TRANSPORT_ERROR 0x4003> seq={i}"
        )
        .unwrap();
        while metric(&get(port, "/metrics"), key) < f64::from(i) {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "line {i} never counted"
            );
            std::thread::sleep(Duration::from_micros(500));
        }
        samples.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(10));
    }
    stop(child);
    let p50 = pct(&mut samples, 0.5);
    let p99 = pct(&mut samples, 0.99);
    let max = pct(&mut samples, 1.0);
    println!("latency append→/metrics (300 lines, inotify): p50 {p50:?}  p99 {p99:?}  max {max:?}");
}

fn corpus(mb: u64) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let p = root.join(format!("bench-data/gen-{mb}.log"));
    if !p.exists() {
        std::fs::create_dir_all(root.join("bench-data")).unwrap();
        let out = Command::new("python3")
            .arg(root.join("scripts/gen-corpus.py"))
            .arg(mb.to_string())
            .output()
            .unwrap();
        std::fs::write(&p, out.stdout).unwrap();
    }
    p
}

fn lines(p: &Path) -> u64 {
    let mut f = std::fs::File::open(p).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0;
    loop {
        let k = f.read(&mut buf).unwrap();
        if k == 0 {
            return n;
        }
        n += buf[..k].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

fn catch_up() {
    let mb: u64 = std::env::var("TRTC_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024);
    let file = corpus(mb);
    let total = lines(&file);
    let bytes = std::fs::metadata(&file).unwrap().len() as f64;
    // Warm the page cache, then time scan.
    let _ = Command::new(BIN)
        .args(["scan"])
        .arg(&file)
        .stdout(Stdio::null())
        .status();
    let t = Instant::now();
    let _ = Command::new(BIN)
        .args(["scan"])
        .arg(&file)
        .stdout(Stdio::null())
        .status();
    let scan = t.elapsed();
    // A directory beside the corpus holding a hard link to it (same file system).
    let dir = file.parent().unwrap().join("catchup");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::hard_link(&file, dir.join("backlog.log")).unwrap();
    let port = free_port();
    let glob = format!("{}/*.log", dir.display());
    let t = Instant::now();
    let child = start(&["--follow", &glob, "--start-at", "beginning"], port);
    let key = "trtc_logwatch_lines_read_total{source=\"files\"}";
    while metric(&get(port, "/metrics"), key) < total as f64 {
        assert!(
            t.elapsed() < Duration::from_secs(600),
            "catch-up did not finish"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let run = t.elapsed();
    stop(child);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "catch-up on a {mb} MiB backlog ({total} lines): run {:.3} s ({:.0} MB/s), scan {:.3} s ({:.0} MB/s), run/scan {:.2}",
        run.as_secs_f64(),
        bytes / run.as_secs_f64() / 1e6,
        scan.as_secs_f64(),
        bytes / scan.as_secs_f64() / 1e6,
        run.as_secs_f64() / scan.as_secs_f64()
    );
}

/// One POST on a fresh connection; the answer's status.
fn post(port: u16, path: &str, body: &[u8]) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut b = String::new();
    let _ = s.read_to_string(&mut b);
    b.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// `n` NDJSON records, one in ten an SDK error.
fn batch(n: usize, salt: usize) -> Vec<u8> {
    let mut b = Vec::new();
    for i in 0..n {
        let line = if i % 10 == 0 {
            format!(
                "[10:00:00:000] <ERROR> [↑c1|u{salt}] RtcError: ICE/DTLS Transport connection failed <ICE_TRANSPORT_ERROR 0x4003> seq={i}"
            )
        } else {
            format!(
                "[10:00:00:000] <INFO> [↑c1|u{salt}] publish stats: bitrate=1200 fps=30 size=4096 seq={i}"
            )
        };
        b.extend_from_slice(
            serde_json::json!({"log": line, "date": 1.7e9})
                .to_string()
                .as_bytes(),
        );
        b.push(b'\n');
    }
    b
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn ingest() {
    let (port, iport) = (free_port(), free_port());
    let child = start(&["--ingest", &format!("127.0.0.1:{iport}")], port);
    let body = batch(2000, 0);
    for clients in [1usize, 2] {
        let t = Instant::now();
        let run = Duration::from_secs(5);
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                let body = body.clone();
                std::thread::spawn(move || {
                    let mut n = 0u64;
                    while t.elapsed() < run {
                        assert_eq!(post(iport, "/ingest", &body), 200);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let requests: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        let secs = t.elapsed().as_secs_f64();
        let lines = requests as f64 * 2000.0;
        println!(
            "ingest, {clients} client(s): {:.0} lines/s, {:.0} events/s ({requests} requests of 2000 lines in {secs:.1} s)",
            lines / secs,
            lines / 10.0 / secs
        );
    }
    // Steady 10k lines/s: 100-line requests every 10 ms, for 5 s.
    let small = batch(100, 1);
    let mut lat = Vec::new();
    let start_t = Instant::now();
    for i in 0..500u32 {
        let due = start_t + Duration::from_millis(10) * i;
        if let Some(w) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(w);
        }
        let t = Instant::now();
        assert_eq!(post(iport, "/ingest", &small), 200);
        lat.push(t.elapsed());
    }
    let rate = 500.0 * 100.0 / start_t.elapsed().as_secs_f64();
    let (p50, p99, max) = (pct(&mut lat, 0.5), pct(&mut lat, 0.99), pct(&mut lat, 1.0));
    println!(
        "ingest at {rate:.0} lines/s (100-line requests every 10 ms): latency p50 {p50:?} p99 {p99:?} max {max:?}; peak RSS {} KiB",
        rss_kib(child.id())
    );
    stop(child);
}

fn nats_replicas(url: &str, durable: &str, n: usize, total: u64) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.yaml");
    std::fs::write(
        &cfg,
        format!("nats:\n  url: {url}\n  stream: BENCH\n  durable: {durable}\n  batch: 500\n"),
    )
    .unwrap();
    let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
    let t = Instant::now();
    let children: Vec<Child> = ports
        .iter()
        .map(|&p| start(&["--config", cfg.to_str().unwrap()], p))
        .collect();
    let key = "trtc_logwatch_nats_messages_total{source=\"nats\"}";
    loop {
        let done: f64 = ports
            .iter()
            .map(|&p| metric(&get(p, "/metrics"), key))
            .sum();
        if done >= total as f64 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "only {done} consumed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let secs = t.elapsed().as_secs_f64();
    let rss: Vec<u64> = children.iter().map(|c| rss_kib(c.id())).collect();
    println!(
        "nats, {n} replica(s): {total} messages in {secs:.2} s = {:.0} messages/s (start-up included); peak RSS per replica {rss:?} KiB",
        total as f64 / secs
    );
    for c in children {
        stop(c);
    }
}

fn nats() {
    let Some(server_bin) = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        println!("nats: nats-server is not installed (scripts/install-test-deps.sh)");
        return;
    };
    let store = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Command::new(server_bin)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(store.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("nats://127.0.0.1:{port}");
    let total = 200_000u64;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(&url).await.unwrap());
        js.get_or_create_stream(async_nats::jetstream::stream::Config {
            name: "BENCH".into(),
            subjects: vec!["bench.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
        let records: Vec<Vec<u8>> = batch(1000, 2)
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        let mut acks = Vec::new();
        for i in 0..total as usize {
            acks.push(
                js.publish("bench.app", records[i % records.len()].clone().into())
                    .await
                    .unwrap(),
            );
            if acks.len() == 1000 {
                for a in acks.drain(..) {
                    a.await.unwrap();
                }
            }
        }
        for a in acks {
            a.await.unwrap();
        }
    });
    nats_replicas(&url, "one", 1, total);
    nats_replicas(&url, "three", 3, total);
    let _ = server.kill();
    let _ = server.wait();
}

fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |n: &str| only.is_empty() || only.iter().any(|o| o == n);
    if wants("latency") {
        latency();
    }
    if wants("catch_up") {
        catch_up();
    }
    if wants("ingest") {
        ingest();
    }
    if wants("nats") {
        nats();
    }
}
