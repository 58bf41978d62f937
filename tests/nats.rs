//! The NATS JetStream consumer against a real `nats-server -js` on
//! loopback (Debian's package, installed by scripts/install-test-deps.sh):
//! three replicas on one durable consumer write every message's events
//! exactly once between them; a replica killed with SIGKILL mid-stream
//! loses nothing (its unacknowledged batch comes again, to the others); a
//! restart resumes where the consumer stands. Skipped with a message where
//! nats-server is missing, failed under CI.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::daemon::{Daemon, line, metric, seqs, write_config};

fn nats_server() -> Option<PathBuf> {
    common::require_tool("nats-server")
}

/// A JetStream server on a free loopback port, killed on drop.
struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(bin: &Path) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("nats.log");
        // A port of its own choosing, read from its log: tests run side by
        // side, and a port picked here could be taken by another server.
        let child = Command::new(bin)
            .args(["-js", "-a", "127.0.0.1", "-p", "-1", "-l"])
            .arg(&log)
            .arg("-sd")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        let port = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let port = text
                .lines()
                .find_map(|l| l.split("Listening for client connections on ").nth(1))
                .and_then(|a| a.trim().rsplit(':').next()?.parse::<u16>().ok());
            if let Some(p) = port
                && std::net::TcpStream::connect(("127.0.0.1", p)).is_ok()
            {
                break p;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "nats-server did not start: {text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Server {
            child,
            port,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// Creates the stream and publishes `seqs` as Fluent Bit-like JSON records,
/// each stored (acknowledged by the server) before the next; `pause` after
/// every 100.
fn publish(url: &str, seqs: std::ops::RangeInclusive<u64>, pause: Duration) {
    let bodies =
        seqs.map(|n| serde_json::json!({ "log": line(n).trim_end(), "date": 1.7e9 }).to_string());
    publish_all(url, bodies, pause);
}

/// Creates the stream and publishes `bodies` on `trtc.app`, each stored
/// (acknowledged by the server) before the next; `pause` after every 100.
fn publish_all(url: &str, bodies: impl IntoIterator<Item = String>, pause: Duration) {
    rt().block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        js.get_or_create_stream(async_nats::jetstream::stream::Config {
            name: "TRTC".into(),
            subjects: vec!["trtc.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
        for (i, b) in bodies.into_iter().enumerate() {
            js.publish("trtc.app", b.into())
                .await
                .unwrap()
                .await
                .unwrap();
            if (i + 1) % 100 == 0 {
                tokio::time::sleep(pause).await;
            }
        }
    });
}

/// A replica writing its events to `dir/events-<i>.ndjson`.
fn replica(dir: &Path, url: &str, i: usize) -> Daemon {
    replica_with(dir, url, i, "  batch: 50\n")
}

/// [`replica`] with `nats:` settings of its own (`batch`, `batch_bytes`).
fn replica_with(dir: &Path, url: &str, i: usize, nats: &str) -> Daemon {
    let cfg = write_config(
        dir,
        &format!(
            "events:\n  path: events-{i}.ndjson\nnats:\n  url: {url}\n  stream: TRTC\n  subjects: [\"trtc.>\"]\n  durable: logwatch\n{nats}  ack_wait: 2s\n"
        ),
    );
    let cfg2 = dir.join(format!("replica-{i}.yaml"));
    std::fs::rename(cfg, &cfg2).unwrap();
    Daemon::start(&["--config", cfg2.to_str().unwrap()])
}

/// A metric summed over the replicas.
fn sum_of<'a>(replicas: impl Iterator<Item = &'a Daemon>, name: &str) -> f64 {
    replicas
        .map(|d| metric(&d.metrics(), name).unwrap_or(0.0))
        .sum()
}

/// seq → count over the events files `events-<i>.ndjson` of `dir`, i in `which`.
fn union(dir: &Path, which: std::ops::Range<usize>) -> BTreeMap<u64, usize> {
    let mut all = BTreeMap::new();
    for i in which {
        for (s, c) in seqs(&dir.join(format!("events-{i}.ndjson"))) {
            *all.entry(s).or_insert(0) += c;
        }
    }
    all
}

fn wait_for(dir: &Path, n: usize, total: u64, within: Duration) -> BTreeMap<u64, usize> {
    let t = Instant::now();
    loop {
        let u = union(dir, 0..n);
        if (1..=total).all(|s| u.contains_key(&s)) || t.elapsed() > within {
            return u;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn three_replicas_share_a_durable_consumer_and_a_restart_resumes() {
    let Some(bin) = nats_server() else { return };
    let server = Server::start(&bin);
    let dir = tempfile::tempdir().unwrap();
    publish(&server.url(), 1..=1, Duration::ZERO); // the stream exists first
    let replicas: Vec<Daemon> = (0..3)
        .map(|i| replica(dir.path(), &server.url(), i))
        .collect();
    publish(&server.url(), 2..=3000, Duration::from_millis(5));
    let u = wait_for(dir.path(), 3, 3000, Duration::from_secs(60));
    let missing = (1..=3000).filter(|s| !u.contains_key(s)).count();
    let dups: Vec<u64> = u.iter().filter(|(_, c)| **c > 1).map(|(s, _)| *s).collect();
    assert_eq!(missing, 0, "missing {missing}");
    assert!(dups.is_empty(), "every message once when all ack: {dups:?}");
    let per: Vec<usize> = (0..3)
        .map(|i| seqs(&dir.path().join(format!("events-{i}.ndjson"))).len())
        .collect();
    eprintln!("events per replica: {per:?}");
    let consumed = sum_of(
        replicas.iter(),
        "trtc_logwatch_nats_messages_total{source=\"nats\"}",
    );
    assert_eq!(consumed, 3000.0);
    let redelivered = sum_of(
        replicas.iter(),
        "trtc_logwatch_nats_redelivered_total{source=\"nats\"}",
    );
    assert_eq!(
        redelivered, 0.0,
        "no healthy replica lets a message wait out ack_wait"
    );
    for d in replicas {
        let (code, took, err) = d.stop();
        assert_eq!(code, Some(0), "{err}");
        assert!(took < Duration::from_secs(5), "clean drain took {took:?}");
    }
    // While every replica is down, more arrives; one replica started again
    // takes exactly the new messages.
    publish(&server.url(), 3001..=3500, Duration::ZERO);
    let _ = std::fs::remove_file(dir.path().join("events-0.ndjson"));
    let d = replica(dir.path(), &server.url(), 0);
    let t = Instant::now();
    let mut got = seqs(&dir.path().join("events-0.ndjson"));
    while got.len() < 500 && t.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
        got = seqs(&dir.path().join("events-0.ndjson"));
    }
    d.stop();
    assert_eq!(
        got.keys().copied().collect::<Vec<_>>(),
        (3001..=3500).collect::<Vec<_>>()
    );
    assert!(got.values().all(|&c| c == 1));
}

/// seq → count from NDJSON event lines.
fn seqs_of(lines: &[String]) -> BTreeMap<u64, usize> {
    let mut m = BTreeMap::new();
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        if let Some(s) = v["line"]
            .as_str()
            .and_then(|l| l.rsplit("seq=").next()?.parse().ok())
        {
            *m.entry(s).or_insert(0) += 1;
        }
    }
    m
}

#[test]
fn a_replica_killed_mid_stream_loses_nothing() {
    use std::io::BufRead;
    let Some(bin) = nats_server() else { return };
    let server = Server::start(&bin);
    let dir = tempfile::tempdir().unwrap();
    publish(&server.url(), 1..=1, Duration::ZERO);
    // Replica 0 writes its events into a pipe whose reader takes 120 lines
    // and then stops reading: replica 0 blocks with a batch in hand, not
    // acknowledged, and is killed so. What it did write (into the pipe's
    // buffer too) is read to the end after the kill: those are its events.
    let fifo = dir.path().join("events-0.ndjson");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let (seen_tx, seen_rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let f2 = fifo.clone();
    let reader = std::thread::spawn(move || {
        let f = std::fs::File::open(&f2).unwrap();
        let mut r = std::io::BufReader::new(f);
        // Bytes, not text: a kill mid-write may cut a character in two.
        let mut lines = Vec::new();
        let mut l = Vec::new();
        while lines.len() < 120 && r.read_until(b'\n', &mut l).unwrap() > 0 {
            lines.push(
                String::from_utf8_lossy(&std::mem::take(&mut l))
                    .trim_end()
                    .to_string(),
            );
        }
        seen_tx.send(()).unwrap();
        let _ = done_rx.recv(); // hold the pipe open, unread, until the kill
        while r.read_until(b'\n', &mut l).unwrap() > 0 {
            // A last line without its newline was cut by the kill mid-write:
            // not an event written.
            if l.ends_with(b"\n") {
                lines.push(
                    String::from_utf8_lossy(&std::mem::take(&mut l))
                        .trim_end()
                        .to_string(),
                );
            }
        }
        lines
    });
    let mut replicas: Vec<Option<Daemon>> = (0..3)
        .map(|i| Some(replica(dir.path(), &server.url(), i)))
        .collect();
    let url = server.url();
    let publisher = std::thread::spawn(move || publish(&url, 2..=3000, Duration::from_millis(20)));
    seen_rx.recv_timeout(Duration::from_secs(60)).unwrap();
    std::thread::sleep(Duration::from_millis(500)); // now blocked, batch unacked
    replicas[0].take().unwrap().kill();
    let _ = done_tx.send(());
    let written_by_0 = reader.join().unwrap();
    publisher.join().unwrap();
    let killed = seqs_of(&written_by_0);
    let t = Instant::now();
    let mut u;
    loop {
        // Replica 0's events are what its pipe's reader took.
        u = union(dir.path(), 1..3);
        for (s, c) in &killed {
            *u.entry(*s).or_insert(0) += c;
        }
        if (1..=3000).all(|s| u.contains_key(&s)) || t.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let missing: Vec<u64> = (1..=3000).filter(|s| !u.contains_key(s)).collect();
    assert!(
        missing.is_empty(),
        "missing {} (first {:?})",
        missing.len(),
        missing.first()
    );
    // Duplicates only of what the killed replica wrote but never acked.
    let dups: Vec<u64> = u.iter().filter(|(_, c)| **c > 1).map(|(s, _)| *s).collect();
    assert!(
        dups.iter().all(|s| killed.contains_key(s)),
        "a duplicate the killed replica did not write: {dups:?}"
    );
    let redelivered = sum_of(
        replicas.iter().flatten(),
        "trtc_logwatch_nats_redelivered_total{source=\"nats\"}",
    );
    eprintln!(
        "replica 0 wrote {} events; redelivered {redelivered}, duplicates {}",
        killed.len(),
        dups.len()
    );
    assert!(
        redelivered >= 1.0,
        "its unacknowledged batch came again, counted"
    );
    for d in replicas.into_iter().flatten() {
        d.stop();
    }
}

/// The real SDKs' console records (tests/common/sdk.rs), one JSON record
/// per NATS message as Vector's nats sink sends them: each record with an
/// SDK code gives exactly one event, on its first line, with that code.
#[test]
fn every_real_sdk_record_over_nats_is_one_event_with_its_code() {
    let Some(bin) = nats_server() else { return };
    let Some(records) = common::sdk::captured() else {
        return;
    };
    let server = Server::start(&bin);
    let dir = tempfile::tempdir().unwrap();
    let bodies = records
        .iter()
        .map(|r| serde_json::json!({ "message": r.text, "level": r.level }).to_string());
    publish_all(&server.url(), bodies, Duration::ZERO);
    let d = replica(dir.path(), &server.url(), 0);
    let n = records.len() as f64;
    let got = d.wait_metric(
        "trtc_logwatch_nats_messages_total{source=\"nats\"}",
        n,
        Duration::from_secs(30),
    );
    assert_eq!(got, n);
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    let text = std::fs::read_to_string(dir.path().join("events-0.ndjson")).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // A message's own final newline is not a line of the record.
    let trimmed: Vec<&str> = records
        .iter()
        .map(|r| r.text.trim_end_matches(['\n', '\r']))
        .collect();
    let coded = common::sdk::check("NATS", &trimmed, &events);
    assert!(coded >= 20, "{coded} records with a code");
}

/// Large messages: a fetch is bounded by bytes as well as messages
/// (`batch_bytes`), so 60 messages of 300 KiB with `batch: 500` come in
/// fetches of at most 1 MiB: every message once, none delivered again.
#[test]
fn large_messages_are_fetched_within_batch_bytes() {
    let Some(bin) = nats_server() else { return };
    let server = Server::start(&bin);
    let dir = tempfile::tempdir().unwrap();
    let pad = "x".repeat(300 * 1024);
    let bodies = (1..=60u64)
        .map(|n| serde_json::json!({ "log": line(n).trim_end(), "pad": pad }).to_string());
    publish_all(&server.url(), bodies, Duration::ZERO);
    let d = replica_with(
        dir.path(),
        &server.url(),
        0,
        "  batch: 500\n  batch_bytes: 1048576\n",
    );
    let got = d.wait_metric(
        "trtc_logwatch_nats_messages_total{source=\"nats\"}",
        60.0,
        Duration::from_secs(30),
    );
    assert_eq!(got, 60.0);
    let m = d.metrics();
    assert_eq!(
        metric(&m, "trtc_logwatch_nats_redelivered_total{source=\"nats\"}"),
        Some(0.0),
        "{m}"
    );
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    let s = seqs(&dir.path().join("events-0.ndjson"));
    assert_eq!(s.len(), 60);
    assert!(s.values().all(|&c| c == 1));
}

/// Runs `f` with a JetStream context on `url`.
fn with_js<F, Fut>(url: &str, f: F)
where
    F: FnOnce(async_nats::jetstream::Context) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    rt().block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        f(async_nats::jetstream::new(client)).await;
    });
}

/// Waits until `/readyz` of `d` answers `code`; the body.
fn wait_readyz(d: &Daemon, code: u16, within: Duration) -> String {
    let t = Instant::now();
    loop {
        if let Some((c, body)) = common::daemon::http_get(d.port, "/readyz")
            && (c == code || t.elapsed() > within)
        {
            assert_eq!(c, code, "{body}");
            return body;
        }
        assert!(t.elapsed() < within, "/readyz never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The attack: `$JS.API.CONSUMER.DELETE` under a running replica, then the
/// stream deleted. The replica notices (logged, counted), binds the
/// consumer again from after the last message it acked (nothing read twice,
/// nothing skipped), and creates the stream again from `subjects`; what is
/// published afterwards is read.
#[test]
fn a_deleted_consumer_or_stream_is_created_again() {
    let Some(bin) = nats_server() else { return };
    let server = Server::start(&bin);
    let dir = tempfile::tempdir().unwrap();
    publish(&server.url(), 1..=1, Duration::ZERO);
    let mut d = replica(dir.path(), &server.url(), 0);
    d.wait_ready();
    publish(&server.url(), 2..=200, Duration::ZERO);
    let u = wait_for(dir.path(), 1, 200, Duration::from_secs(30));
    assert_eq!(u.len(), 200);
    with_js(&server.url(), |js| async move {
        let s = js.get_stream("TRTC").await.unwrap();
        assert!(s.delete_consumer("logwatch").await.unwrap().success);
    });
    publish(&server.url(), 201..=400, Duration::ZERO);
    let u = wait_for(dir.path(), 1, 400, Duration::from_secs(30));
    assert!(
        (1..=400).all(|s| u.get(&s) == Some(&1)),
        "each once after the consumer was deleted: missing {:?}, twice {:?}",
        (1..=400).filter(|s| !u.contains_key(s)).collect::<Vec<_>>(),
        u.iter()
            .filter(|(_, c)| **c > 1)
            .map(|(s, _)| *s)
            .collect::<Vec<_>>()
    );
    // The stream, messages and all: the replica creates it again.
    with_js(&server.url(), |js| async move {
        assert!(js.delete_stream("TRTC").await.unwrap().success);
        let t = Instant::now();
        while js.get_stream("TRTC").await.is_err() {
            assert!(t.elapsed() < Duration::from_secs(30), "never created again");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    publish(&server.url(), 401..=500, Duration::ZERO);
    let u = wait_for(dir.path(), 1, 500, Duration::from_secs(30));
    if !(1..=500).all(|s| u.get(&s) == Some(&1)) {
        // What the server says of the stream and the consumer.
        let said = std::sync::Mutex::new(String::new());
        let said_ref = &said;
        with_js(&server.url(), |js| async move {
            let mut s = js.get_stream("TRTC").await.unwrap();
            let stream = format!("{:?}", s.info().await.cloned());
            let consumer = format!("{:?}", s.consumer_info("logwatch").await);
            *said_ref.lock().unwrap() = format!("{stream}\n{consumer}");
        });
        let said = said.into_inner().unwrap();
        panic!(
            "missing {:?}; the server: {said}\nthe replica's log:\n{}",
            (1..=500).filter(|s| !u.contains_key(s)).collect::<Vec<_>>(),
            String::from_utf8_lossy(&std::fs::read(&d.log).unwrap_or_default())
        );
    }
    let m = d.metrics();
    assert!(
        metric(&m, "trtc_logwatch_read_errors_total{source=\"nats\"}").unwrap_or(0.0) >= 2.0,
        "{m}"
    );
    wait_readyz(&d, 200, Duration::from_secs(5));
    let (code, _, log) = d.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("the consumer is gone"), "{log}");
}

/// Without `subjects` the replica cannot create a deleted stream: `/readyz`
/// says why meanwhile, and once the stream is back it binds and reads.
#[test]
fn readiness_says_when_the_stream_is_gone() {
    let Some(bin) = nats_server() else { return };
    let server = Server::start(&bin);
    let dir = tempfile::tempdir().unwrap();
    publish(&server.url(), 1..=10, Duration::ZERO);
    let url = server.url();
    let cfg = write_config(
        dir.path(),
        &format!(
            "events:\n  path: events-0.ndjson\nnats:\n  url: {url}\n  stream: TRTC\n  durable: logwatch\n  ack_wait: 2s\n"
        ),
    );
    let mut d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    d.wait_ready();
    wait_for(dir.path(), 1, 10, Duration::from_secs(30));
    with_js(&server.url(), |js| async move {
        assert!(js.delete_stream("TRTC").await.unwrap().success);
    });
    let why = wait_readyz(&d, 503, Duration::from_secs(30));
    assert!(why.contains("nats"), "{why}");
    publish(&server.url(), 11..=20, Duration::ZERO);
    wait_readyz(&d, 200, Duration::from_secs(30));
    let u = wait_for(dir.path(), 1, 20, Duration::from_secs(30));
    assert!((1..=20).all(|s| u.get(&s) == Some(&1)), "{u:?}");
    d.stop();
}
