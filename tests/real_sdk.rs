//! The real TRTC Web SDKs (npm `trtc-js-sdk` 4.x and `trtc-sdk-v5` 5.x,
//! pinned in tests/browser/package-lock.json) run in the system chromium,
//! headless and offline, through calls that fail; every console record
//! they print is then read by trtc-logwatch in the forms apps forward it:
//! written to a text log (`scan`, and `run` following the file), its
//! format applied or as DevTools reports it, and one JSON record per
//! message over HTTP ingest (NATS: tests/nats.rs). Each record with an SDK
//! code gives exactly one event, on its first line, with that code.
//! Skipped with a message where node, chromium or the packages are
//! missing; failed under CI.

mod common;

use std::time::Duration;

use assert_cmd::Command;
use common::daemon::{Daemon, metric, write_config};
use common::sdk::{self, SdkRecord};
use serde_json::Value;

fn events_of(ndjson: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(ndjson)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn scan(path: &std::path::Path) -> Vec<Value> {
    let out = Command::cargo_bin("trtc-logwatch")
        .unwrap()
        .args(["scan", "--text", "none"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    events_of(&out.stdout)
}

fn texts(records: &[SdkRecord]) -> Vec<&str> {
    records.iter().map(|r| r.text.as_str()).collect()
}

/// The records' texts written to `app.log` in a new directory.
fn text_log(records: &[SdkRecord]) -> (tempfile::TempDir, std::path::PathBuf, Vec<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let texts = texts(records);
    sdk::write_log(&log, &texts);
    (dir, log, texts)
}

#[test]
fn every_sdk_record_in_a_text_log_is_one_event_with_its_code() {
    let Some(records) = sdk::captured() else {
        return;
    };
    let (_dir, log, texts) = text_log(records);
    let coded = sdk::check("scan, text", &texts, &scan(&log));
    assert!(coded >= 20, "{coded} records with a code");
    // As DevTools reports them: the v4 style prefix (`%cTRTC%c%s padding:
    // ...`) before the record, and an app's `console.error(e)` as the
    // error's first line only.
    let raw: Vec<&str> = records.iter().map(|r| r.raw.as_str()).collect();
    sdk::write_log(&log, &raw);
    sdk::check("scan, DevTools text", &raw, &scan(&log));
}

#[test]
fn the_daemon_following_the_log_gives_the_same_events() {
    let Some(records) = sdk::captured() else {
        return;
    };
    let (dir, log, texts) = text_log(records);
    let want = scan(&log).len();
    let events = dir.path().join("events.ndjson");
    let cfg = write_config(
        dir.path(),
        &format!(
            "events:\n  path: {}\n  text: none\nsources:\n  - name: app\n    include: [\"{}\"]\n    start_at: beginning\n",
            events.display(),
            log.display()
        ),
    );
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    let written = "trtc_logwatch_events_written_total";
    assert_eq!(
        d.wait_metric(written, want as f64, Duration::from_secs(20)),
        want as f64
    );
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    let got = events_of(&std::fs::read(&events).unwrap());
    sdk::check("run, following the log", &texts, &got);
}

#[test]
fn every_sdk_record_over_http_ingest_is_one_event_with_its_code() {
    let Some(records) = sdk::captured() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.ndjson");
    let cfg = write_config(
        dir.path(),
        &format!(
            "events:\n  path: {}\n  text: none\ningest:\n  listen: 127.0.0.1:0\n",
            events.display()
        ),
    );
    let mut d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    let port = d.bound_port("accepting POST /ingest on http://");
    // One JSON record per console message, its newlines inside the string.
    let mut body = String::new();
    for r in records {
        body.push_str(&serde_json::json!({ "log": r.text, "level": r.level }).to_string());
        body.push('\n');
    }
    let (status, answer) = common::daemon::http_post(port, "/ingest", &body);
    assert_eq!(status, 200, "{answer}");
    // A message's own final newline is not a line of the record.
    let trimmed: Vec<&str> = records
        .iter()
        .map(|r| r.text.trim_end_matches(['\n', '\r']))
        .collect();
    let got = events_of(&std::fs::read(&events).unwrap());
    let coded = sdk::check("HTTP ingest", &trimmed, &got);
    assert!(coded >= 20);
    let m = d.metrics();
    assert_eq!(
        metric(&m, "trtc_logwatch_lines_read_total{source=\"ingest\"}"),
        Some(trimmed.iter().map(|r| r.split('\n').count()).sum::<usize>() as f64)
    );
    d.stop();
}
