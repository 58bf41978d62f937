//! Faults: the machine runs short (file descriptors, disk space), clients
//! misbehave, a worker thread dies, the config asks for the impossible.
//! Each test counts every line by its sequence number: none lost, none
//! counted twice (except where docs/operating.md says a crash replays).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::daemon::{
    Daemon, append, assert_exactly_once, fast_config, free_port, http_get, metric, seqs,
    write_config, write_seqs,
};

const ICE: &str = "trtc_errors_total{catalog=\"trtc-web-v4\",category=\"transport\",key=\"ICE_TRANSPORT_ERROR\",code=\"16387\"}";
const WRITTEN: &str = "trtc_logwatch_events_written_total";

/// Skips a test whose tool or privilege is missing, except under CI.
fn skip(why: &str) {
    common::require(Some(why.to_string()));
}

/// A config following `dir/*.log` from the beginning, events and state in `out`.
fn config(dir: &Path, out: &Path, extra: &str) -> PathBuf {
    fast_config(dir, &format!("{}/*.log", dir.display()), out, extra)
}

use common::wait_until;

#[test]
fn values_out_of_range_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    for (body, want) in [
        (
            "checkpoint_interval: 5000000000000000h\n",
            "checkpoint_interval",
        ),
        (
            "events:\n  queue_capacity: 100000000000\n",
            "queue_capacity",
        ),
        ("max_line_bytes: 100000000000\n", "max_line_bytes"),
    ] {
        let cfg = write_config(
            dir.path(),
            &format!("{body}sources:\n  - name: a\n    include: [\"/x/*.log\"]\n"),
        );
        let c = cfg.to_str().unwrap();
        for cmd in [
            vec!["check-config", c],
            vec!["run", "--config", c, "--listen", "127.0.0.1:0"],
        ] {
            let out = Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"))
                .args(&cmd)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd:?} {body}: {err}");
            assert!(err.contains(want) && err.contains("out of range"), "{err}");
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"))
        .args(["scan", "--max-line-bytes", "18446744073709551615"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A worker thread that panics stops the daemon with a failure; a restart
/// reads every line the dead run did not checkpoint. The fail points that
/// make a worker panic are compiled into debug builds only, so these tests
/// are too (`cargo test --release` builds neither).
#[cfg(debug_assertions)]
fn worker_death(failpoint: &str) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), dir.path(), "");
    let mut f = append(&dir.path().join("app.log"));
    write_seqs(&mut f, 1..=100);
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"))
        .args(["run", "--config", cfg.to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("TRTC_LOGWATCH_FAILPOINT", failpoint)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "still running");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("the {failpoint} thread panicked")),
        "{err}"
    );
    // The restart reads what the dead run did not checkpoint: nothing lost.
    write_seqs(&mut f, 101..=200);
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    d.wait_metric(WRITTEN, 1.0, Duration::from_secs(10));
    wait_until(Duration::from_secs(10), || {
        seqs(&dir.path().join("events.ndjson")).len() == 200
    });
    let (code, _, log) = d.stop();
    assert_eq!(code, Some(0), "{log}");
    let s = seqs(&dir.path().join("events.ndjson"));
    let missing: Vec<u64> = (1..=200).filter(|n| !s.contains_key(n)).collect();
    assert!(missing.is_empty(), "missing {missing:?}");
    // Replayed only what the dead run had written after its last checkpoint.
    assert!(s.range(101..).all(|(_, c)| *c == 1));
}

#[cfg(debug_assertions)]
#[test]
fn a_dying_sink_thread_stops_the_daemon_with_a_failure_and_loses_nothing() {
    worker_death("sink");
}

#[cfg(debug_assertions)]
#[test]
fn a_dying_file_thread_stops_the_daemon_with_a_failure_and_loses_nothing() {
    worker_death("files");
}

/// A tmpfs mounted for one test, unmounted when dropped. The tests mount
/// 32 MiB: once the filler is gone every event of a test must fit (an
/// event with both languages' description and action is about 3 KB).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }

    /// Fills the file system but for about `leave` bytes.
    fn fill(&self, leave: u64) -> PathBuf {
        let filler = self.0.join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while free_bytes(&self.0) > leave + block.len() as u64 {
            if f.write_all(&block).is_err() {
                break;
            }
        }
        f.sync_all().unwrap();
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn free_bytes(p: &Path) -> u64 {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut s) }, 0);
    s.f_bavail * s.f_frsize
}

#[test]
fn disk_full_holds_events_and_checkpoints_back_and_resumes_without_loss() {
    const TOTAL: u64 = 3500;
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&dir.path().join("full"), "32m") else {
        return skip("cannot mount a tmpfs (needs root)");
    };
    let cfg = config(dir.path(), &fs.0, "");
    let events = fs.0.join("events.ndjson");
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    let filler = fs.fill(200 * 1024);
    let mut f = append(&dir.path().join("app.log"));
    write_seqs(&mut f, 1..=TOTAL);
    f.flush().unwrap();
    // The disk fills up: /readyz says why, the sink holds back.
    assert!(
        wait_until(Duration::from_secs(20), || {
            http_get(d.port, "/readyz")
                .is_some_and(|(c, b)| c == 503 && b.contains("events output"))
        }),
        "{:?}",
        http_get(d.port, "/readyz")
    );
    let body = d.metrics();
    assert_eq!(metric(&body, "trtc_logwatch_output_blocked"), Some(1.0));
    assert!(metric(&body, "trtc_logwatch_output_errors_total").unwrap() >= 1.0);
    let written = metric(&body, WRITTEN).unwrap_or(0.0);
    assert!(written < TOTAL as f64, "the disk was not full: {written}");
    // A checkpoint never covers a line whose event is not in the file.
    let ckpt = std::fs::read_to_string(fs.0.join("state/checkpoints.json")).unwrap_or_default();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&ckpt) {
        let next_line = v["files"][0]["line_number"].as_u64().unwrap_or(1);
        let s = seqs(&events);
        let lost: Vec<u64> = (1..next_line).filter(|n| !s.contains_key(n)).collect();
        assert!(lost.is_empty(), "checkpoint ahead of the events: {lost:?}");
    }
    // Space returns: everything held back is written, once.
    std::fs::remove_file(filler).unwrap();
    assert_eq!(
        d.wait_metric(WRITTEN, TOTAL as f64, Duration::from_secs(30)),
        TOTAL as f64
    );
    assert!(wait_until(Duration::from_secs(10), || {
        http_get(d.port, "/readyz").is_some_and(|(c, _)| c == 200)
    }));
    assert_eq!(
        metric(&d.metrics(), "trtc_logwatch_output_blocked"),
        Some(0.0)
    );
    let (code, _, log) = d.stop();
    assert_eq!(code, Some(0), "{log}");
    assert_exactly_once(&events, TOTAL, "");
    // A restart finds every line checkpointed: nothing again.
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    // Listed again after the files were opened at their checkpoints.
    d.wait_listings(1);
    assert_eq!(metric(&d.metrics(), ICE), None);
    d.stop();
    assert_exactly_once(&events, TOTAL, "");
}

/// The attack: the events output on a full disk (a write cut inside an
/// event), the events file rotated and SIGHUP sent. The old file ended
/// mid-event and the new one began with the rest. Now the old file is cut
/// back to its last whole event and that event goes whole to the new file:
/// every line of both files is one whole event, each line's event once.
#[test]
fn an_event_is_never_split_across_a_reopen_on_a_full_disk() {
    const TOTAL: u64 = 3000;
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&dir.path().join("full"), "32m") else {
        return skip("cannot mount a tmpfs (needs root)");
    };
    let cfg = config(dir.path(), &fs.0, "");
    let events = fs.0.join("events.ndjson");
    let rotated = fs.0.join("events.ndjson.1");
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    // Room left that no multiple of an event's size fills exactly.
    let filler = fs.fill(100 * 1024 + 333);
    let mut f = append(&dir.path().join("app.log"));
    write_seqs(&mut f, 1..=TOTAL);
    f.flush().unwrap();
    assert!(
        wait_until(Duration::from_secs(20), || {
            metric(&d.metrics(), "trtc_logwatch_output_blocked") == Some(1.0)
        }),
        "the disk never filled"
    );
    let before = std::fs::read(&events).unwrap();
    std::fs::rename(&events, &rotated).unwrap();
    d.signal(libc::SIGHUP);
    // The reload is done (the events file is reopened before the next
    // event) while the disk is still full.
    d.wait_metric(
        "trtc_logwatch_config_reloads_total",
        1.0,
        Duration::from_secs(10),
    );
    std::fs::remove_file(filler).unwrap();
    assert_eq!(
        d.wait_metric(WRITTEN, TOTAL as f64, Duration::from_secs(30)),
        TOTAL as f64
    );
    let (code, _, log) = d.stop();
    assert_eq!(code, Some(0), "{log}");
    for p in [&rotated, &events] {
        let text = std::fs::read_to_string(p).unwrap();
        assert!(text.is_empty() || text.ends_with('\n'), "{}", p.display());
        for (i, l) in text.lines().enumerate() {
            assert!(
                serde_json::from_str::<serde_json::Value>(l).is_ok(),
                "{} line {}: not one whole event: {l:?}",
                p.display(),
                i + 1
            );
        }
    }
    let old = std::fs::read(&rotated).unwrap();
    assert!(
        !before.ends_with(b"\n") || old.len() == before.len(),
        "the cut was taken back"
    );
    let mut all = seqs(&rotated);
    for (s, c) in seqs(&events) {
        *all.entry(s).or_insert(0) += c;
    }
    assert!(
        (1..=TOTAL).all(|s| all.get(&s) == Some(&1)),
        "each once: missing {:?}",
        (1..=TOTAL)
            .filter(|s| !all.contains_key(s))
            .collect::<Vec<_>>()
    );
}

/// A daemon following `dir/logs/*.log` from the beginning under a limit of
/// `nofile` descriptors, with `config` as its config file; returns it and
/// its events file.
fn follow_limited(dir: &Path, config: &str, nofile: u64) -> (Daemon, PathBuf) {
    let events = dir.join("events.ndjson");
    let glob = format!("{}/*.log", dir.join("logs").display());
    let cfg = write_config(dir, config);
    let d = Daemon::start_limited(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--follow",
            &glob,
            "--start-at",
            "beginning",
            "--events",
            events.to_str().unwrap(),
        ],
        nofile,
    );
    (d, events)
}

/// `files` files of `per` numbered lines each, in `dir`; returns the total.
fn many_files(dir: &Path, files: u64, per: u64) -> u64 {
    for i in 0..files {
        let mut f = append(&dir.join(format!("f{i:05}.log")));
        write_seqs(&mut f, i * per + 1..=i * per + per);
    }
    files * per
}

/// Many unchanging files under a low descriptor limit: every line once,
/// no rotation seen, and each failure cause logged once, not per pass.
fn out_of_descriptors(files: u64, nofile: u64, max_open: Option<u64>) {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let total = many_files(&logs, files, 3);
    let extra = max_open.map_or(String::new(), |n| format!("max_open_files: {n}\n"));
    let (d, events) = follow_limited(dir.path(), &extra, nofile);
    assert_eq!(
        d.wait_metric(WRITTEN, total as f64, Duration::from_secs(60)),
        total as f64
    );
    // Polls go on: nothing more, nothing rotated. (Not a synchronisation:
    // time for a few polls to find nothing.)
    std::thread::sleep(Duration::from_millis(1500));
    let body = d.metrics();
    assert_eq!(metric(&body, ICE), Some(total as f64));
    assert_eq!(
        metric(&body, "trtc_logwatch_rotations_total{source=\"files\"}").unwrap_or(0.0),
        0.0
    );
    assert_eq!(
        metric(&body, "trtc_logwatch_files_watched{source=\"files\"}"),
        Some(files as f64)
    );
    let open = metric(&body, "trtc_logwatch_files_open").unwrap();
    assert!(
        open < nofile as f64,
        "{open} files open under a limit of {nofile}"
    );
    let (code, _, log) = d.stop();
    assert_eq!(code, Some(0), "{log}");
    assert_exactly_once(&events, total, "");
    let warnings = log.matches("WARN").count();
    assert!(warnings < 20, "{warnings} warnings:\n{log}");
}

#[test]
fn a_hundred_files_under_a_limit_of_64_descriptors_are_read_once_each() {
    out_of_descriptors(100, 64, None);
}

#[test]
fn a_cap_set_above_the_descriptor_limit_comes_down_without_loss() {
    out_of_descriptors(300, 64, Some(1000));
}

#[test]
fn two_thousand_files_under_a_limit_of_256_descriptors_are_read_once_each() {
    out_of_descriptors(2000, 256, None);
}

/// Descriptors the process `pid` holds.
fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

#[test]
fn slow_and_idle_http_clients_cannot_take_the_descriptors_of_the_readers() {
    const FILES: u64 = 20;
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let first = many_files(&logs, FILES, 3);
    let (d, events) = follow_limited(dir.path(), "http:\n  header_timeout: 1s\n", 1024);
    let port = d.port;
    // 1100 clients send half a request and wait.
    let mut clients = Vec::new();
    for _ in 0..1100 {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            continue;
        };
        let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n");
        clients.push(s);
    }
    let held = fds(d.child.id());
    assert!(held < 600, "the daemon holds {held} descriptors");
    // The files are still followed: the lines written now are read, once.
    for i in 0..FILES {
        let mut f = append(&logs.join(format!("f{i:05}.log")));
        write_seqs(&mut f, first + i * 2 + 1..=first + i * 2 + 2);
    }
    let total = first + FILES * 2;
    // Slow clients are cut off after the header timeout; scrapes work again.
    assert!(
        wait_until(Duration::from_secs(15), || {
            metric(&d.metrics(), WRITTEN) == Some(total as f64)
        }),
        "{:?}",
        metric(&d.metrics(), WRITTEN)
    );
    let body = d.metrics();
    assert!(
        metric(&body, "trtc_logwatch_http_connections_rejected_total").unwrap() > 0.0,
        "{body}"
    );
    for s in clients.iter_mut().take(50) {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 512];
        let n = std::io::Read::read(s, &mut buf).unwrap_or(0);
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "{text}");
    }
    drop(clients);
    let (code, _, log) = d.stop();
    assert_eq!(code, Some(0), "{log}");
    assert_exactly_once(&events, total, "");
}

#[test]
fn a_file_that_cannot_be_opened_is_warned_about_and_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/nonexistent/x.log", dir.path().join("dangling.log")).unwrap();
    let cfg = config(dir.path(), dir.path(), "");
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    // Two more listings later: still one warning, one count.
    d.wait_listings(2);
    let body = d.metrics();
    assert_eq!(
        metric(&body, "trtc_logwatch_read_errors_total{source=\"app\"}"),
        Some(1.0),
        "{body}"
    );
    let (_, _, log) = d.stop();
    assert_eq!(log.matches("cannot open").count(), 1, "{log}");
}

#[test]
fn an_unreadable_directory_is_skipped_once_and_the_others_keep_their_notifications() {
    use std::os::unix::fs::PermissionsExt;
    if unsafe { libc::geteuid() } != 0 {
        return skip("needs root to run the daemon as another user");
    }
    let dir = tempfile::tempdir().unwrap();
    let perm = |p: &Path, mode| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    perm(dir.path(), 0o777).unwrap();
    let logs = dir.path().join("logs");
    for d in ["a", "secret"] {
        std::fs::create_dir_all(logs.join(d)).unwrap();
    }
    let log = logs.join("a/app.log");
    let mut f = append(&log);
    write_seqs(&mut f, 1..=5);
    perm(&log, 0o644).unwrap();
    for d in [&logs, &logs.join("a")] {
        perm(d, 0o755).unwrap();
    }
    perm(&logs.join("secret"), 0o000).unwrap();
    // Polls and rescans far apart: only notifications can be this quick.
    let cfg = write_config(
        dir.path(),
        &format!(
            "events:\n  path: {}\npoll_interval: 60s\nrescan_interval: 1h\nsources:\n  - name: app\n    include: [\"{}/**/*.log\"]\n    start_at: beginning\n",
            dir.path().join("events.ndjson").display(),
            logs.display()
        ),
    );
    perm(&cfg, 0o644).unwrap();
    let d = Daemon::start_as_nobody(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(d.wait_metric(ICE, 5.0, Duration::from_secs(10)), 5.0);
    write_seqs(&mut f, 6..=10);
    assert_eq!(
        d.wait_metric(ICE, 10.0, Duration::from_secs(5)),
        10.0,
        "a write was not noticed without polling"
    );
    let body = d.metrics();
    assert_eq!(
        metric(&body, "trtc_logwatch_read_errors_total{source=\"app\"}"),
        Some(1.0),
        "{body}"
    );
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err.matches("cannot list").count(), 1, "{err}");
    assert!(!err.contains("polling it"), "{err}");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn utf16(text: &str, bom: bool, big_endian: bool) -> Vec<u8> {
    let mut v = Vec::new();
    let units = std::iter::once(0xfeff_u16)
        .filter(|_| bom)
        .chain(text.encode_utf16());
    for u in units {
        v.extend(if big_endian {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        });
    }
    v
}

fn numbered(range: std::ops::RangeInclusive<u64>) -> String {
    range.map(common::daemon::line).collect()
}

#[test]
fn utf16_and_gzip_logs_are_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let text = numbered(1..=29);
    let inputs = [
        ("le-bom.log", utf16(&text, true, false)),
        ("be.log", utf16(&text, false, true)),
        ("app.log.gz", gzip(text.as_bytes())),
        ("utf16.log.gz", gzip(&utf16(&text, true, false))),
    ];
    for (name, bytes) in inputs {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"))
            .arg("scan")
            .arg(&p)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}");
        let events = String::from_utf8(out.stdout).unwrap();
        assert_eq!(events.lines().count(), 29, "{name}: {events}");
        assert!(events.contains("\"key\":\"ICE_TRANSPORT_ERROR\""), "{name}");
    }
    // Anything else binary: scanned as it is, with one warning.
    let p = dir.path().join("core.bin");
    let mut bin = b"\x7fELF\x00\x00\x00".to_vec();
    bin.extend(numbered(1..=2).as_bytes());
    std::fs::write(&p, bin).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"))
        .arg("scan")
        .arg(&p)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("looks binary").count(), 1, "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
}

#[test]
fn a_file_rotated_and_compressed_while_stopped_is_read_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), dir.path(), "");
    let log = dir.path().join("app.log");
    let mut f = append(&log);
    write_seqs(&mut f, 1..=100);
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(d.wait_metric(ICE, 100.0, Duration::from_secs(10)), 100.0);
    let (code, _, _) = d.stop();
    assert_eq!(code, Some(0));
    // While stopped: more lines, then logrotate renames and compresses.
    write_seqs(&mut f, 101..=150);
    drop(f);
    let rotated = dir.path().join("app.log.1.gz");
    std::fs::write(&rotated, gzip(&std::fs::read(&log).unwrap())).unwrap();
    std::fs::remove_file(&log).unwrap();
    let mut f = append(&log);
    write_seqs(&mut f, 151..=170);
    // A UTF-16 file beside it is not followed: one warning, one count.
    std::fs::write(
        dir.path().join("win.log"),
        utf16(&numbered(900..=901), true, false),
    )
    .unwrap();
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(d.wait_metric(ICE, 70.0, Duration::from_secs(10)), 70.0);
    // Listed and tried again: still one error, one warning.
    d.wait_listings(2);
    let body = d.metrics();
    assert_eq!(
        metric(&body, "trtc_logwatch_read_errors_total{source=\"app\"}"),
        Some(1.0),
        "{body}"
    );
    let (code, _, log) = d.stop();
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(
        log.matches("UTF-16LE file is not followed").count(),
        1,
        "{log}"
    );
    assert_exactly_once(&dir.path().join("events.ndjson"), 170, "");
}

#[test]
fn disk_full_with_overflow_drop_counts_every_dropped_event() {
    const TOTAL: u64 = 3000;
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&dir.path().join("full"), "32m") else {
        return skip("cannot mount a tmpfs (needs root)");
    };
    // The events file on the full disk, a small queue that drops.
    let cfg = config(dir.path(), &fs.0, "");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!(
            "events:\n  path: {}\n",
            fs.0.join("events.ndjson").display()
        ),
        &format!(
            "events:\n  path: {}\n  overflow: drop\n  queue_capacity: 100\n",
            fs.0.join("events.ndjson").display()
        ),
    );
    std::fs::write(&cfg, text).unwrap();
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    let filler = fs.fill(100 * 1024);
    let mut f = append(&dir.path().join("app.log"));
    write_seqs(&mut f, 1..=TOTAL);
    f.flush().unwrap();
    assert_eq!(
        d.wait_metric(ICE, TOTAL as f64, Duration::from_secs(20)),
        TOTAL as f64,
        "every error is counted, written or not"
    );
    let dropped = "trtc_logwatch_events_dropped_total";
    assert!(wait_until(Duration::from_secs(10), || {
        metric(&d.metrics(), dropped).unwrap_or(0.0) > 0.0
    }));
    std::fs::remove_file(filler).unwrap();
    // Written + dropped = every event, once space returns.
    assert!(
        wait_until(Duration::from_secs(20), || {
            let b = d.metrics();
            metric(&b, WRITTEN).unwrap_or(0.0) + metric(&b, dropped).unwrap_or(0.0) == TOTAL as f64
        }),
        "{}",
        d.metrics()
    );
    let body = d.metrics();
    let written = metric(&body, WRITTEN).unwrap() as usize;
    let (code, _, log) = d.stop();
    assert_eq!(code, Some(0), "{log}");
    let s = seqs(&fs.0.join("events.ndjson"));
    assert_eq!(
        s.len(),
        written,
        "the events file holds what was counted written"
    );
    assert!(s.values().all(|&c| c == 1), "no event written twice");
}

fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a plain libc call with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

/// A FIFO where a rotated copy is looked for at start (`app.log.1.gz`
/// beside a checkpointed file that is gone), and a FIFO renamed over a
/// followed path: neither is opened, so the file source never waits on
/// them; the other files are read and SIGTERM stops the daemon in time.
#[test]
fn a_fifo_at_a_rotated_or_followed_path_never_blocks_the_file_source() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), out.path(), "");
    let events = out.path().join("events.ndjson");
    let log = dir.path().join("app.log");
    let mut f = append(&log);
    write_seqs(&mut f, 1..=10);
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(d.wait_metric(ICE, 10.0, Duration::from_secs(10)), 10.0);
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    // While stopped: the file is gone, a FIFO has the name a compressed
    // copy would have, a new file comes.
    std::fs::remove_file(&log).unwrap();
    drop(f);
    mkfifo(&dir.path().join("app.log.1.gz"));
    let mut f = append(&log);
    write_seqs(&mut f, 11..=20);
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(d.wait_metric(ICE, 10.0, Duration::from_secs(10)), 10.0);
    // A FIFO renamed over the followed path; another file goes on.
    let fifo = dir.path().join("incoming.fifo");
    mkfifo(&fifo);
    std::fs::rename(&fifo, &log).unwrap();
    let mut other = append(&dir.path().join("other.log"));
    write_seqs(&mut other, 21..=30);
    assert_eq!(d.wait_metric(ICE, 20.0, Duration::from_secs(10)), 20.0);
    let (code, took, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_exactly_once(&events, 30, &err);
}

/// Two daemons on one state directory would write every event twice and
/// tear each other's checkpoints: the second exits 2 naming the holder; a
/// daemon killed with SIGKILL leaves no stale lock behind.
#[test]
fn a_state_directory_is_used_by_one_daemon_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), out.path(), "");
    let mut f = append(&dir.path().join("app.log"));
    write_seqs(&mut f, 1..=10);
    let a = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(a.wait_metric(ICE, 10.0, Duration::from_secs(10)), 10.0);
    let second = Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"))
        .args([
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{err}");
    assert!(
        err.contains("in use by another trtc-logwatch")
            && err.contains(&format!("pid {}", a.child.id())),
        "{err}"
    );
    a.kill();
    // SIGKILL: the kernel let go of the lock; the next start takes it.
    write_seqs(&mut f, 11..=20);
    let b = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    assert!(b.wait_metric(ICE, 10.0, Duration::from_secs(10)) >= 10.0);
    let (code, _, err) = b.stop();
    assert_eq!(code, Some(0), "{err}");
    common::daemon::assert_none_missing(&out.path().join("events.ndjson"), 20);
}
