//! `run` end to end with real files, real rotation, real signals and real
//! HTTP scrapes: every line is seen exactly once through each kind of
//! rotation, restarts lose nothing, stdin and late files are followed, and
//! bad config or unreadable files give clear errors.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::daemon::{
    Daemon, append, assert_exactly_once, assert_none_missing, fast_config, free_port, line, metric,
    seqs, write_config, write_seqs,
};

const ICE: &str = "trtc_errors_total{catalog=\"trtc-web-v4\",category=\"transport\",key=\"ICE_TRANSPORT_ERROR\",code=\"16387\"}";
const TOTAL: u64 = 1500;

/// A daemon with the test config following `dir/*.log`.
fn start_on(dir: &Path) -> Daemon {
    let cfg = config(dir, &format!("{}/*.log", dir.display()), "");
    Daemon::start(&["--config", cfg.to_str().unwrap()])
}

fn config(dir: &Path, include: &str, extra: &str) -> std::path::PathBuf {
    fast_config(dir, include, dir, extra)
}

/// Writes TOTAL numbered lines; `rotate` runs once at the middle and returns
/// the file to write to from then on (after the app "reopens").
fn writer(mut f: std::fs::File, mut rotate: impl FnMut(&mut std::fs::File) -> std::fs::File) {
    for seq in 1..=TOTAL {
        if seq == TOTAL / 2 {
            f = rotate(&mut f);
        }
        f.write_all(line(seq).as_bytes()).unwrap();
        if seq % 50 == 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The app keeps writing to its old handle for a while before it reopens.
fn linger(old: &mut std::fs::File) {
    for _ in 0..3 {
        old.flush().unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// logrotate's default: rename to `.1`, the app lingers, then reopens `log`.
fn rename_rotation(log: &Path) -> impl FnMut(&mut std::fs::File) -> std::fs::File {
    let log = log.to_path_buf();
    move |old| {
        std::fs::rename(&log, log.with_extension("log.1")).unwrap();
        linger(old);
        append(&log)
    }
}

fn check_exactly_once(d: Daemon, dir: &Path) {
    let got = d.wait_metric(ICE, TOTAL as f64, Duration::from_secs(20));
    let (code, took, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    assert_exactly_once(&dir.join("events.ndjson"), TOTAL, &err);
    assert_eq!(got, TOTAL as f64, "counter");
    // A rotation is no "source matches no file" (issue 18).
    assert!(!err.contains("matches no file"), "{err}");
}

#[test]
fn rotation_rename_and_create() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let f = append(&log);
    let d = start_on(dir.path());
    writer(f, rename_rotation(&log));
    let m = d.metrics();
    check_exactly_once(d, dir.path());
    assert!(
        metric(&m, "trtc_logwatch_rotations_total{source=\"app\"}").unwrap_or(0.0) >= 1.0,
        "{m}"
    );
}

#[test]
fn rotation_copytruncate() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let f = append(&log);
    let d = start_on(dir.path());
    let log2 = log.clone();
    // Let the daemon read the first half before the copy, as logrotate runs later than the app writes.
    writer(f, |old| {
        let half = (TOTAL / 2 - 1) as f64;
        assert_eq!(d.wait_metric(ICE, half, Duration::from_secs(10)), half);
        std::fs::copy(&log2, dir.path().join("app.log.1")).unwrap();
        old.set_len(0).unwrap();
        append(&log2)
    });
    let got = d.wait_metric(ICE, TOTAL as f64, Duration::from_secs(20));
    let m = d.metrics();
    assert!(
        metric(&m, "trtc_logwatch_truncations_total{source=\"app\"}").unwrap_or(0.0) >= 1.0,
        "{m}"
    );
    assert_eq!(got, TOTAL as f64);
    check_exactly_once(d, dir.path());
}

#[test]
fn rotation_delete_and_recreate() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let f = append(&log);
    let d = start_on(dir.path());
    let log2 = log.clone();
    writer(f, |old| {
        std::fs::remove_file(&log2).unwrap();
        linger(old);
        append(&log2)
    });
    check_exactly_once(d, dir.path());
}

#[test]
fn rotation_symlink_switch() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let a = data.join("a.log");
    let link = dir.path().join("current.log");
    let f = append(&a);
    std::os::unix::fs::symlink(&a, &link).unwrap();
    let d = start_on(dir.path());
    let dir2 = dir.path().to_path_buf();
    writer(f, |_old| {
        let b = dir2.join("data/b.log");
        let nf = append(&b);
        let tmp = dir2.join("current.tmp");
        std::os::unix::fs::symlink(&b, &tmp).unwrap();
        std::fs::rename(&tmp, dir2.join("current.log")).unwrap();
        nf
    });
    check_exactly_once(d, dir.path());
}

#[test]
fn sigterm_then_restart_loses_nothing_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let cfg = config(dir.path(), &format!("{}/*.log", dir.path().display()), "");
    let args = ["--config", cfg.to_str().unwrap()];
    let d = Daemon::start(&args);
    // The app keeps writing through the stop and the restart.
    let total = 3000;
    let mut f = append(&log);
    let w = std::thread::spawn(move || {
        for seq in 1..=total {
            f.write_all(line(seq).as_bytes()).unwrap();
            if seq % 100 == 0 {
                std::thread::sleep(Duration::from_millis(60));
            }
        }
    });
    d.wait_metric(ICE, 300.0, Duration::from_secs(10));
    let (code, took, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // Lines written while it is down.
    let down_at = std::fs::metadata(&log).unwrap().len();
    assert!(common::wait_until(Duration::from_secs(10), || {
        w.is_finished() || std::fs::metadata(&log).unwrap().len() > down_at + 10 * 1024
    }));
    let d = Daemon::start(&args);
    w.join().unwrap();
    let events = dir.path().join("events.ndjson");
    let t = std::time::Instant::now();
    while (seqs(&events).len() as u64) < total && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert_exactly_once(&events, total, &err);
}

#[test]
fn sigkill_then_restart_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut f = append(&log);
    let cfg = config(dir.path(), &format!("{}/*.log", dir.path().display()), "");
    let args = ["--config", cfg.to_str().unwrap()];
    let d = Daemon::start(&args);
    write_seqs(&mut f, 1..=TOTAL);
    d.wait_metric(ICE, TOTAL as f64, Duration::from_secs(10));
    // A checkpoint written after every line was read: the stored offset is
    // the file's length.
    let size = std::fs::metadata(&log).unwrap().len();
    let stored = dir.path().join("state/checkpoints.json");
    assert!(
        common::wait_until(Duration::from_secs(10), || {
            std::fs::read_to_string(&stored).is_ok_and(|t| {
                t.split_whitespace()
                    .collect::<String>()
                    .contains(&format!("\"offset\":{size}"))
            })
        }),
        "no checkpoint at {size}: {:?}",
        std::fs::read_to_string(&stored)
    );
    d.kill();
    write_seqs(&mut f, TOTAL + 1..=TOTAL + 200);
    let d = Daemon::start(&args);
    d.wait_metric(ICE, 200.0, Duration::from_secs(10));
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert_none_missing(&dir.path().join("events.ndjson"), TOTAL + 200);
}

#[test]
fn stdin_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.ndjson");
    let (mut d, mut stdin) = Daemon::on_stdin(&events);
    for seq in 1..=100 {
        stdin.write_all(line(seq).as_bytes()).unwrap();
    }
    stdin.write_all(b"code: 70001").unwrap(); // final line without newline
    stdin.flush().unwrap();
    assert_eq!(d.wait_metric(ICE, 100.0, Duration::from_secs(10)), 100.0);
    assert_eq!(
        metric(
            &d.metrics(),
            "trtc_logwatch_lines_read_total{source=\"stdin\"}"
        ),
        Some(100.0)
    );
    drop(stdin); // EOF: the stdin-only daemon drains and exits
    let status = d.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let s = seqs(&events);
    assert_eq!(s.len(), 100);
    let text = std::fs::read_to_string(&events).unwrap();
    assert!(text.lines().last().unwrap().contains("\"code\":70001"));
}

#[test]
fn sighup_reloads_the_catalog_of_the_stdin_reader_too() {
    let dir = tempfile::tempdir().unwrap();
    let patterns = dir.path().join("patterns");
    std::fs::create_dir(&patterns).unwrap();
    let events = dir.path().join("events.ndjson");
    let mut d = Daemon::start_with_stdin(
        &[
            "--stdin",
            "--patterns",
            patterns.to_str().unwrap(),
            "--events",
            events.to_str().unwrap(),
        ],
        Stdio::piped(),
    );
    let mut stdin = d.child.stdin.take().unwrap();
    let lines_read = "trtc_logwatch_lines_read_total{source=\"stdin\"}";
    stdin.write_all(b"MY_APP_FAILURE seq=1\n").unwrap();
    stdin.flush().unwrap();
    assert_eq!(d.wait_metric(lines_read, 1.0, Duration::from_secs(10)), 1.0);
    std::fs::write(
        patterns.join("custom.yaml"),
        "catalog: custom\nentries:\n  - key: MY_APP_FAILURE\n    kind: sdk\n    code: 90001\n    category: room\n    severity: error\n    description: {en: custom}\n",
    )
    .unwrap();
    d.signal(libc::SIGHUP);
    let reloads = "trtc_logwatch_config_reloads_total";
    assert_eq!(d.wait_metric(reloads, 1.0, Duration::from_secs(10)), 1.0);
    stdin.write_all(b"MY_APP_FAILURE seq=2\n").unwrap();
    stdin.flush().unwrap();
    let custom = "trtc_errors_total{catalog=\"custom\",category=\"room\",key=\"MY_APP_FAILURE\",code=\"90001\"}";
    assert_eq!(d.wait_metric(custom, 1.0, Duration::from_secs(10)), 1.0);
    drop(stdin);
    assert_eq!(d.child.wait().unwrap().code(), Some(0));
    assert_eq!(seqs(&events).keys().copied().collect::<Vec<_>>(), [2]);
}

#[test]
fn glob_picks_up_files_created_after_start() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&[
        "--config",
        config(
            dir.path(),
            &format!("{}/**/*.log", dir.path().display()),
            "",
        )
        .to_str()
        .unwrap(),
    ]);
    std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
    let mut f = append(&dir.path().join("a/b/late.log"));
    write_seqs(&mut f, 1..=10);
    std::fs::write(dir.path().join("a/ignored.txt"), line(99)).unwrap();
    assert_eq!(d.wait_metric(ICE, 10.0, Duration::from_secs(10)), 10.0);
    let (code, _, _) = d.stop();
    assert_eq!(code, Some(0));
    assert_eq!(seqs(&dir.path().join("events.ndjson")).len(), 10);
}

#[test]
fn follow_flags_without_a_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, line(1)).unwrap(); // present at first start: skipped (start at end)
    let events = dir.path().join("ev.ndjson");
    let glob = format!("{}/*.log", dir.path().display());
    let state = dir.path().join("st");
    let d = Daemon::start(&[
        "--follow",
        &glob,
        "--events",
        events.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
    ]);
    // Open (at its end) before anything is appended: a line written
    // between the first listing and the open counts as already there.
    d.wait_metric("trtc_logwatch_files_open", 1.0, Duration::from_secs(10));
    let mut f = append(&log);
    f.write_all(line(2).as_bytes()).unwrap();
    assert_eq!(d.wait_metric(ICE, 1.0, Duration::from_secs(10)), 1.0);
    let (code, _, _) = d.stop();
    assert_eq!(code, Some(0));
    assert_eq!(seqs(&events).keys().copied().collect::<Vec<_>>(), [2]);
    assert!(state.join("checkpoints.json").exists());
    let ev: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&events)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        ev["line_number"], 2,
        "lines before the start position are counted"
    );
    assert_eq!(ev["offset"], line(1).len());
    // `source` is the metrics label, `path` the file.
    assert_eq!(ev["source"], "files");
    assert_eq!(ev["path"], log.to_str().unwrap());
}

#[test]
fn bad_config_is_refused_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "listen: 127.0.0.1:1\nsources:\n  - name: app\n    include: [\"x/*.log\"]\n    colour: red\n",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"))
        .args(["check-config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:5:5:", cfg.display())), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"))
        .args(["run", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let good = write_config(
        dir.path(),
        "sources:\n  - name: app\n    include: [\"x/*.log\"]\n",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"))
        .args(["check-config", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"))
        .args(["run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no sources");
}

#[test]
fn unreadable_files_are_counted_and_the_rest_is_served() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/nonexistent/target.log", dir.path().join("dangling.log")).unwrap();
    let mut f = append(&dir.path().join("good.log"));
    let d = start_on(dir.path());
    write_seqs(&mut f, 1..=5);
    assert_eq!(d.wait_metric(ICE, 5.0, Duration::from_secs(10)), 5.0);
    let m = d.metrics();
    assert!(
        metric(&m, "trtc_logwatch_read_errors_total{source=\"app\"}").unwrap_or(0.0) >= 1.0,
        "{m}"
    );
    assert_eq!(common::daemon::http_get(d.port, "/healthz").unwrap().0, 200);
    d.stop();
}

#[test]
fn sighup_with_a_bad_config_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let glob = format!("{}/*.log", dir.path().display());
    let cfg = config(dir.path(), &glob, "");
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    std::fs::write(&cfg, "sources: [oops\n").unwrap();
    d.signal(libc::SIGHUP);
    assert_eq!(
        d.wait_metric(
            "trtc_logwatch_config_reload_failures_total",
            1.0,
            Duration::from_secs(5)
        ),
        1.0
    );
    let mut f = append(&dir.path().join("app.log"));
    f.write_all(line(1).as_bytes()).unwrap();
    assert_eq!(
        d.wait_metric(ICE, 1.0, Duration::from_secs(10)),
        1.0,
        "still running on the old config"
    );
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0));
    assert!(err.contains("refused"), "{err}");
}

#[test]
fn metrics_in_prometheus_text_and_openmetrics() {
    let dir = tempfile::tempdir().unwrap();
    let d = start_on(dir.path());
    let body = d.metrics();
    assert!(
        body.contains("# TYPE trtc_logwatch_events_written_total counter"),
        "{body}"
    );
    assert!(!body.contains("# EOF"));
    let mut s = std::net::TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text;version=1.0.0\r\nConnection: close\r\n\r\n").unwrap();
    let mut r = String::new();
    std::io::Read::read_to_string(&mut s, &mut r).unwrap();
    assert!(r.contains("application/openmetrics-text"), "{r}");
    assert!(r.contains("# EOF"));
    d.stop();
}

#[test]
fn overflow_drop_counts_every_dropped_event() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut f = append(&log);
    let cfg = write_config(
        dir.path(),
        &format!(
            "events:\n  path: \"-\"\n  overflow: drop\n  queue_capacity: 8\npoll_interval: 50ms\nsources:\n  - name: app\n    include: [\"{}/*.log\"]\n",
            dir.path().display()
        ),
    );
    // Nobody reads stdout: the pipe fills, the sink blocks, the queue fills.
    let mut d = Daemon::start_with(
        &["--config", cfg.to_str().unwrap()],
        Stdio::null(),
        Stdio::piped(),
    );
    // Two bursts: between them the reader has read, dropped what found no
    // room, and queued its checkpoint into a full queue, which must not
    // stop it (it did: the second burst was never read).
    let read = "trtc_logwatch_lines_read_total{source=\"app\"}";
    write_seqs(&mut f, 1..=1000);
    assert_eq!(d.wait_metric(read, 1000.0, Duration::from_secs(10)), 1000.0);
    write_seqs(&mut f, 1001..=2000);
    assert_eq!(d.wait_metric(read, 2000.0, Duration::from_secs(10)), 2000.0);
    let m = d.metrics();
    let dropped = metric(&m, "trtc_logwatch_events_dropped_total").unwrap();
    assert!(dropped > 0.0, "{m}");
    assert_eq!(
        metric(&m, ICE),
        Some(2000.0),
        "every error is counted even when its event is dropped"
    );
    // Drain stdout so the daemon can finish; written + dropped covers every event.
    let mut out = d.child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).unwrap();
        s.lines().count()
    });
    let (code, _, _) = d.stop();
    assert_eq!(code, Some(0));
    let written = reader.join().unwrap();
    assert_eq!(written as f64 + dropped, 2000.0);
}

#[test]
fn shipped_configs_validate() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for f in [
        "config.example.yaml",
        "deploy/systemd/config.yaml",
        "deploy/container/config.yaml",
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"))
            .arg("check-config")
            .arg(root.join(f))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The configs embedded in the Kubernetes ConfigMaps (the ingest
    // tier's token file is a Secret there: a stand-in here).
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "t0ken\n").unwrap();
    for f in [
        "deploy/kubernetes/sidecar.yaml",
        "deploy/kubernetes/ingest.yaml",
        "deploy/kubernetes/browser.yaml",
    ] {
        let k8s = std::fs::read_to_string(root.join(f)).unwrap();
        let start = k8s.find("  config.yaml: |\n").unwrap() + "  config.yaml: |\n".len();
        let body: String = k8s[start..]
            .lines()
            .take_while(|l| l.starts_with("    ") || l.is_empty())
            .map(|l| format!("{}\n", l.get(4..).unwrap_or("")))
            .collect::<String>()
            .replace("/etc/trtc-logwatch-token/token", token.to_str().unwrap());
        let p = write_config(dir.path(), &body);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"))
            .arg("check-config")
            .arg(&p)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{f}: {body}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn sighup_reopens_the_events_file_and_applies_a_new_config() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let events = dir.path().join("events.ndjson");
    let body = |globs: &str| {
        format!(
            "events:\n  path: {}\nrescan_interval: 200ms\npoll_interval: 50ms\nsources:\n  - name: app\n    include: [{globs}]\n    start_at: beginning\n",
            events.display()
        )
    };
    let cfg = write_config(dir.path(), &body(&format!("\"{}/*.log\"", a.display())));
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    append(&a.join("x.log"))
        .write_all(line(1).as_bytes())
        .unwrap();
    d.wait_metric(ICE, 1.0, Duration::from_secs(10));
    // logrotate moves the events file away, then sends SIGHUP; the config now follows b/ too.
    std::fs::rename(&events, dir.path().join("events.ndjson.1")).unwrap();
    write_config(
        dir.path(),
        &body(&format!(
            "\"{}/*.log\", \"{}/*.log\"",
            a.display(),
            b.display()
        )),
    );
    d.signal(libc::SIGHUP);
    assert_eq!(
        d.wait_metric(
            "trtc_logwatch_config_reloads_total",
            1.0,
            Duration::from_secs(5)
        ),
        1.0
    );
    append(&b.join("y.log"))
        .write_all(line(2).as_bytes())
        .unwrap();
    assert_eq!(d.wait_metric(ICE, 2.0, Duration::from_secs(10)), 2.0);
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        seqs(&dir.path().join("events.ndjson.1"))
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        [1]
    );
    assert_eq!(
        seqs(&events).keys().copied().collect::<Vec<_>>(),
        [2],
        "new events go to the reopened file"
    );
}

#[test]
fn sigterm_exits_in_time_even_when_the_events_output_is_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = append(&dir.path().join("app.log"));
    let glob = format!("{}/*.log", dir.path().display());
    // Events on a stdout pipe that nobody reads; the default overflow policy blocks.
    let d = Daemon::start_with(&["--follow", &glob], Stdio::null(), Stdio::piped());
    // More events than the queue holds (10000), so the reader blocks too.
    write_seqs(&mut f, 1..=20_000);
    // Nearly as many lines read as the queue holds (a block is counted once
    // queued): the queue is full and the reader waits for room.
    let read = "trtc_logwatch_lines_read_total{source=\"files\"}";
    let n = d.wait_metric(read, 9_000.0, Duration::from_secs(10));
    assert!(n >= 9_000.0, "{n} lines read");
    let (code, took, err) = d.stop();
    // In time, and saying events were read but not written (issue 18: it
    // exited 0).
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("stopped with events not written"), "{err}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn file_rotated_while_the_daemon_was_stopped_is_drained_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut f = append(&log);
    let cfg = config(dir.path(), &format!("{}/*.log", dir.path().display()), "");
    let args = ["--config", cfg.to_str().unwrap()];
    let d = Daemon::start(&args);
    write_seqs(&mut f, 1..=1000);
    d.wait_metric(ICE, 1000.0, Duration::from_secs(10));
    let (code, _, _) = d.stop();
    assert_eq!(code, Some(0));
    // While stopped: the app writes more, logrotate renames the file out of
    // the glob, the app writes to its old handle, then reopens a new file.
    write_seqs(&mut f, 1001..=1200);
    std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    write_seqs(&mut f, 1201..=1300);
    let mut f = append(&log);
    write_seqs(&mut f, 1301..=1400);
    let d = Daemon::start(&args);
    assert_eq!(d.wait_metric(ICE, 400.0, Duration::from_secs(10)), 400.0);
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert_exactly_once(&dir.path().join("events.ndjson"), 1400, &err);
    assert!(err.contains("rotated while stopped"), "{err}");
}

#[test]
fn rotation_with_polling_only() {
    // No inotify: the rescan and the poll of open files must find everything.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let f = append(&log);
    let cfg = config(
        dir.path(),
        &format!("{}/*.log", dir.path().display()),
        "notify: false\n",
    );
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    writer(f, rename_rotation(&log));
    check_exactly_once(d, dir.path());
}

#[test]
fn storm_sampling_writes_a_few_events_per_key_and_counts_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let glob = format!("{}/*.log", dir.path().display());
    let cfg = config(dir.path(), &glob, "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("events:\n", "events:\n  max_per_key: {rate: 5, per: 1h}\n");
    std::fs::write(&cfg, text).unwrap();
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    let mut f = append(&dir.path().join("app.log"));
    write_seqs(&mut f, 1..=20);
    assert_eq!(d.wait_metric(ICE, 20.0, Duration::from_secs(10)), 20.0);
    let suppressed = "trtc_logwatch_events_suppressed_total{key=\"ICE_TRANSPORT_ERROR\"}";
    assert_eq!(
        d.wait_metric(suppressed, 15.0, Duration::from_secs(10)),
        15.0
    );
    // The next window (the `per` of the config) is the feed's unit test
    // `a_storm_is_sampled_in_windows_of_the_clock`, on a clock moved by hand.
    assert_eq!(
        d.wait_metric(
            "trtc_logwatch_events_written_total",
            5.0,
            Duration::from_secs(10)
        ),
        5.0
    );
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    let text = std::fs::read_to_string(dir.path().join("events.ndjson")).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 5);
    assert!(events.iter().all(|e| e.get("suppressed_before").is_none()));
}

#[test]
fn a_closed_events_pipe_stops_the_daemon_and_a_restart_reads_on() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut f = append(&dir.path().join("app.log"));
    let total = 20_000;
    write_seqs(&mut f, 1..=total);
    let state = dir.path().join("state");
    let cfg = write_config(
        dir.path(),
        &format!(
            "state_dir: {}\ncheckpoint_interval: 200ms\nsources:\n  - name: app\n    include: [\"{}/*.log\"]\n    start_at: beginning\n",
            state.display(),
            dir.path().display()
        ),
    );
    // Events on stdout; the reader takes 100 lines and goes away.
    let mut d = Daemon::start_with(
        &["--config", cfg.to_str().unwrap()],
        Stdio::null(),
        Stdio::piped(),
    );
    let out = d.child.stdout.take().unwrap();
    let first: Vec<String> = std::io::BufReader::new(out)
        .lines()
        .take(100)
        .map(Result::unwrap)
        .collect();
    let t = std::time::Instant::now();
    let status = loop {
        if let Some(st) = d.child.try_wait().unwrap() {
            break st;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "still running");
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(&d.log).unwrap_or_default();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("broken pipe"), "{log}");
    // A restart (as a supervisor does) writes every line the reader missed.
    let events = dir.path().join("events.ndjson");
    let d = Daemon::start(&[
        "--config",
        cfg.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
    ]);
    d.wait_metric(
        "trtc_logwatch_lines_read_total{source=\"app\"}",
        1.0,
        Duration::from_secs(10),
    );
    let t = std::time::Instant::now();
    let mut s = seqs(&events);
    while !s.contains_key(&total) && t.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(100));
        s = seqs(&events);
    }
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    for l in &first {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let n: u64 = v["line"]
            .as_str()
            .unwrap()
            .rsplit("seq=")
            .next()
            .unwrap()
            .parse()
            .unwrap();
        *s.entry(n).or_insert(0) += 1;
    }
    let missing: Vec<u64> = (1..=total).filter(|n| !s.contains_key(n)).collect();
    assert!(
        missing.is_empty(),
        "missing {} lines, first {:?}",
        missing.len(),
        missing.first()
    );
}

fn run_cmd(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn check_config_refuses_what_run_refuses_and_errors_name_their_paths() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write_config(dir.path(), "");
    for sub in [&["check-config"][..], &["run", "--config"]] {
        let mut args = sub.to_vec();
        args.push(empty.to_str().unwrap());
        let out = run_cmd(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("no sources"));
    }
    let d = dir.path().to_str().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let glob = format!("{d}/*.log");
    let cases = [
        (
            vec!["--events", d],
            format!("events output {d}: is a directory"),
        ),
        (
            vec!["--state-dir", file.to_str().unwrap()],
            format!(
                "state_dir {}: exists and is not a directory",
                file.display()
            ),
        ),
        (
            vec!["--events", "/proc/nonexistent/ev.ndjson"],
            "cannot open the events output /proc/nonexistent/ev.ndjson".to_string(),
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["run", "--follow", &glob, "--listen", "127.0.0.1:0"];
        args.extend(extra.iter().copied());
        let out = run_cmd(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&want), "{args:?}: {err}");
    }
}

#[test]
fn listen_takes_a_host_name() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let glob = format!("{}/*.log", dir.path().display());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"))
        .args(["run", "--follow", &glob, "--events", "/dev/null"])
        .args(["--listen", &format!("localhost:{port}")])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    let mut ok = false;
    while t.elapsed() < Duration::from_secs(10) && !ok {
        ok = common::daemon::http_get(port, "/healthz").is_some_and(|(c, _)| c == 200);
        std::thread::sleep(Duration::from_millis(50));
    }
    let hc = run_cmd(&["healthcheck", &format!("localhost:{port}")]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "no answer on localhost:{port}");
    assert_eq!(
        hc.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&hc.stderr)
    );
    assert!(String::from_utf8_lossy(&hc.stdout).contains("200"));
}

#[test]
fn a_source_that_matches_nothing_is_loud_and_relative_globs_follow_the_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("logs")).unwrap();
    // Relative globs and paths: taken from the config file's directory,
    // whatever directory the daemon runs in.
    let cfg = write_config(
        dir.path(),
        "state_dir: state\nevents:\n  path: events.ndjson\nrescan_interval: 200ms\nsources:\n  - name: app\n    include: [\"logs/*.log\"]\n    start_at: beginning\n  - name: nothing\n    include: [\"nowhere/*.log\"]\n",
    );
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    let m = d.metrics();
    // Every per-source series exists from the first scrape, at 0.
    for name in [
        "trtc_logwatch_source_files{source=\"nothing\"} 0",
        "trtc_logwatch_source_files{source=\"app\"} 0",
        "trtc_logwatch_rotations_total{source=\"app\"} 0",
        "trtc_logwatch_read_errors_total{source=\"nothing\"} 0",
        "trtc_logwatch_lines_read_total{source=\"app\"} 0",
    ] {
        assert!(m.contains(name), "{name} in\n{m}");
    }
    let mut f = append(&dir.path().join("logs/app.log"));
    write_seqs(&mut f, 1..=3);
    assert_eq!(d.wait_metric(ICE, 3.0, Duration::from_secs(10)), 3.0);
    assert_eq!(
        d.wait_metric(
            "trtc_logwatch_source_files{source=\"app\"}",
            1.0,
            Duration::from_secs(5)
        ),
        1.0
    );
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("source \"nothing\" matches no file"), "{err}");
    assert!(
        err.contains("source \"app\" matches 1 file(s) now"),
        "{err}"
    );
    assert_eq!(seqs(&dir.path().join("events.ndjson")).len(), 3);
    assert!(dir.path().join("state/checkpoints.json").exists());
}

/// SDK 4's error record (`RtcError: ...`, `Refer to: URL`, ` <KEY 0xhex>`)
/// written one line at a time, with pauses shorter than the record wait, to
/// a followed file and to stdin: one event, at the record's first line, with
/// the key of its last line. (Read as it came, the key line was an event of
/// its own at line 3.)
#[test]
fn a_record_written_line_by_line_is_one_event() {
    let record = [
        "2026-11-30 08:00:00.000 <ERROR> RtcError: please call join() before publish().\n",
        "Refer to: https://web.sdk.qcloud.com/trtc/webrtc/doc/en/index.html\n",
        " <INVALID_OPERATION 0x1001>\n",
    ];
    let check = |events: &Path| {
        let text = std::fs::read_to_string(events).unwrap();
        let evs: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(evs.len(), 1, "{text}");
        assert_eq!(evs[0]["key"], "INVALID_OPERATION");
        assert_eq!(evs[0]["line_number"], 1);
    };
    // A followed file.
    let dir = tempfile::tempdir().unwrap();
    let d = start_on(dir.path());
    d.wait_listings(1);
    let mut f = append(&dir.path().join("app.log"));
    for l in record {
        f.write_all(l.as_bytes()).unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(60));
    }
    let key = "trtc_errors_total{catalog=\"trtc-web-v4\",category=\"operation\",key=\"INVALID_OPERATION\",code=\"4097\"}";
    assert_eq!(d.wait_metric(key, 1.0, Duration::from_secs(10)), 1.0);
    let (code, _, log) = d.stop();
    assert_eq!(code, Some(0), "{log}");
    check(&dir.path().join("events.ndjson"));
    // Standard input, a pipe.
    let events = dir.path().join("stdin.ndjson");
    let (mut d, mut stdin) = Daemon::on_stdin(&events);
    for l in record {
        stdin.write_all(l.as_bytes()).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(60));
    }
    // The writer pauses: the record is matched after the record wait, not
    // at the end of the input.
    assert_eq!(d.wait_metric(key, 1.0, Duration::from_secs(10)), 1.0);
    drop(stdin);
    assert_eq!(d.child.wait().unwrap().code(), Some(0));
    check(&events);
}

/// Who is hit: the distinct users and rooms of a key's errors over 5
/// minutes and an hour, as gauges; events without a userId are no user.
#[test]
fn affected_users_and_rooms_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.ndjson");
    let (mut d, mut stdin) = Daemon::on_stdin(&events);
    for (user, room) in [
        ("u1", "r1"),
        ("u2", "r1"),
        ("u1", "r2"),
        ("u3", "r2"),
        ("u4", "r3"),
        ("u2", "r1"),
    ] {
        writeln!(
            stdin,
            "{{\"userId\":\"{user}\",\"roomId\":\"{room}\",\"msg\":\"RtcError: x <ICE_TRANSPORT_ERROR 0x4003>\"}}"
        )
        .unwrap();
    }
    writeln!(stdin, "RtcError: no user here <ICE_TRANSPORT_ERROR 0x4003>").unwrap();
    writeln!(
        stdin,
        "{{\"userId\":\"u9\",\"msg\":\"<JOIN_ROOM_FAILED 0x4004>\"}}"
    )
    .unwrap();
    stdin.flush().unwrap();
    assert_eq!(d.wait_metric(ICE, 7.0, Duration::from_secs(10)), 7.0);
    // The last record waits for the record wait.
    d.wait_metric(
        "trtc_affected_users{catalog=\"trtc-web-v4\",key=\"JOIN_ROOM_FAILED\",window=\"5m\"}",
        1.0,
        Duration::from_secs(10),
    );
    let m = d.metrics();
    let users = |key: &str, w: &str| {
        metric(
            &m,
            &format!("trtc_affected_users{{catalog=\"trtc-web-v4\",key=\"{key}\",window=\"{w}\"}}"),
        )
    };
    assert_eq!(users("ICE_TRANSPORT_ERROR", "5m"), Some(4.0), "{m}");
    assert_eq!(users("ICE_TRANSPORT_ERROR", "1h"), Some(4.0), "{m}");
    assert_eq!(users("JOIN_ROOM_FAILED", "5m"), Some(1.0), "{m}");
    assert_eq!(
        metric(
            &m,
            "trtc_affected_rooms{catalog=\"trtc-web-v4\",key=\"ICE_TRANSPORT_ERROR\",window=\"5m\"}"
        ),
        Some(3.0),
        "{m}"
    );
    drop(stdin);
    assert_eq!(d.child.wait().unwrap().code(), Some(0));
}

/// The daemon's own log says which files it follows; `--log-format json`
/// writes one JSON object a line; `--log-level debug` does not flood with
/// its libraries' internals; RUST_LOG-style filters are taken.
#[test]
fn the_log_says_what_is_followed_in_text_or_json() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "x <ICE_TRANSPORT_ERROR 0x4003>\n").unwrap();
    let glob = format!("{}/*.log", dir.path().display());
    let events = dir.path().join("events.ndjson");
    let d = Daemon::start(&[
        "--follow",
        &glob,
        "--events",
        events.to_str().unwrap(),
        "--log-format",
        "json",
        "--log-level",
        "debug",
    ]);
    let t = std::time::Instant::now();
    while !std::fs::read_to_string(&d.log)
        .unwrap_or_default()
        .contains("following ")
        && t.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, _, text) = d.stop();
    let mut following = false;
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        let target = v["target"].as_str().unwrap_or("");
        assert!(
            target.starts_with("trtc_logwatch"),
            "a library's line at debug: {l}"
        );
        let msg = v["fields"]["message"].as_str().unwrap_or("");
        following |= msg.starts_with(&format!("following {}", log.display()));
    }
    assert!(following, "{text}");
    // A filter in RUST_LOG's syntax.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"))
        .args([
            "run",
            "--stdin",
            "--events",
            "/dev/null",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--log-level", "warn,trtc_logwatch::daemon=info"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stdin reached its end"), "{err}");
}

/// A storm in more followed files than there are large buffers to lend
/// (each file far behind its end borrows one, and gives it back when it
/// catches up): every line exactly once, a line cut between two writes
/// included, and the files are followed on after the storm.
#[test]
fn a_storm_in_many_followed_files_is_read_exactly_once() {
    const FILES: u64 = 6;
    const PER_FILE: u64 = 10_000; // ~1.3 MB: more than a storm buffer's threshold
    let dir = tempfile::tempdir().unwrap();
    let d = start_on(dir.path());
    d.wait_listings(1);
    let mut files = Vec::new();
    for i in 0..FILES {
        let first = i * PER_FILE + 1;
        let mut text = String::new();
        for seq in first..first + PER_FILE - 1 {
            text.push_str(&line(seq));
        }
        let last = line(first + PER_FILE - 1);
        let (head, tail) = last.split_at(40);
        text.push_str(head);
        let mut f = append(&dir.path().join(format!("app{i}.log")));
        f.write_all(text.as_bytes()).unwrap();
        files.push((f, tail.to_string()));
    }
    // Every whole line is read (the cut ones wait for their ends) before
    // the ends are written.
    d.wait_metric(
        ICE,
        (FILES * (PER_FILE - 1)) as f64,
        Duration::from_secs(30),
    );
    for (f, tail) in &mut files {
        f.write_all(tail.as_bytes()).unwrap();
    }
    let storm = FILES * PER_FILE;
    assert_eq!(
        d.wait_metric(ICE, storm as f64, Duration::from_secs(30)),
        storm as f64
    );
    // After the storm: small appends, as usual.
    for (i, (f, _)) in files.iter_mut().enumerate() {
        let seq = storm + 1 + i as u64;
        write_seqs(f, seq..=seq);
    }
    let total = storm + FILES;
    assert_eq!(
        d.wait_metric(ICE, total as f64, Duration::from_secs(10)),
        total as f64
    );
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert_exactly_once(&dir.path().join("events.ndjson"), total, &err);
}

/// The operator's `recognition:` rules in `run`: an ignore silences a line
/// and counts it; a reload (SIGHUP) adds a rule, which gives the event on
/// the next line; the counters carry over the reload.
#[test]
fn recognition_rules_apply_in_run_and_on_reload() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.ndjson");
    let ignore = "recognition:\n  ignore:\n    - name: selftest\n      pattern: '^SELFTEST '\n";
    let cfg = write_config(dir.path(), ignore);
    let mut d = Daemon::start_with_stdin(
        &[
            "--stdin",
            "--config",
            cfg.to_str().unwrap(),
            "--events",
            events.to_str().unwrap(),
        ],
        Stdio::piped(),
    );
    let mut stdin = d.child.stdin.take().unwrap();
    stdin
        .write_all(b"SELFTEST <ICE_TRANSPORT_ERROR 0x4003> seq=1\n")
        .unwrap();
    stdin.flush().unwrap();
    let ignored = "trtc_recognition_lines_total{kind=\"ignore\",rule=\"selftest\"}";
    assert_eq!(d.wait_metric(ignored, 1.0, Duration::from_secs(10)), 1.0);
    std::fs::write(
        &cfg,
        format!(
            "{ignore}  rules:\n    - name: alarm\n      pattern: 'ALARM rc=(?P<code>-?\\d+) seq='\n"
        ),
    )
    .unwrap();
    d.signal(libc::SIGHUP);
    let reloads = "trtc_logwatch_config_reloads_total";
    assert_eq!(d.wait_metric(reloads, 1.0, Duration::from_secs(10)), 1.0);
    stdin.write_all(b"ALARM rc=-10012 seq=2\n").unwrap();
    stdin.flush().unwrap();
    let rule = "trtc_recognition_lines_total{kind=\"rule\",rule=\"alarm\"}";
    assert_eq!(d.wait_metric(rule, 1.0, Duration::from_secs(10)), 1.0);
    // The ignore's count went over the reload.
    assert_eq!(common::daemon::metric(&d.metrics(), ignored), Some(1.0));
    drop(stdin);
    assert_eq!(d.child.wait().unwrap().code(), Some(0));
    let got = std::fs::read_to_string(&events).unwrap();
    let ev: Vec<serde_json::Value> = got
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(ev.len(), 1, "{got}");
    assert_eq!(ev[0]["code"], -10012);
    assert_eq!(ev[0]["rule"], "recognition rule alarm");
}
