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

/// The older SDKs users still run (trtc-js-sdk 4.10.2, trtc-sdk-v5 5.8.6),
/// their console records in a text log: each with a code is one event
/// with that code (issue 30).
#[test]
fn every_older_sdk_record_in_a_text_log_is_one_event_with_its_code() {
    let Some(records) = sdk::capture_with(sdk::OLD, &[]) else {
        return;
    };
    let (_dir, log, texts) = text_log(&records);
    let coded = sdk::check("scan, text, older SDKs", &texts, &scan(&log));
    assert!(coded >= 6, "{coded} records with a code");
    let raw: Vec<&str> = records.iter().map(|r| r.raw.as_str()).collect();
    sdk::write_log(&log, &raw);
    sdk::check("scan, DevTools text, older SDKs", &raw, &scan(&log));
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

/// What the SDKs uploaded to the browser endpoint: the events written, the
/// endpoint's metrics and the daemon's log.
struct Uploaded {
    text: String,
    counts: std::collections::BTreeMap<(String, String), i32>,
    metrics: String,
    log: String,
}

/// Runs the pages of `sdks` with their log upload pointed at a daemon's
/// browser endpoint (loaded from the allowed origin and from another one);
/// checks every event's context (the upload's user and sdkAppId, Chrome on
/// Linux); `None` where the capture cannot run.
fn upload_to_the_endpoint(sdks: &[&str]) -> Option<Uploaded> {
    let dir = tempfile::tempdir().unwrap();
    let page_port = common::daemon::free_port();
    let cfg = write_config(
        dir.path(),
        &format!(
            "events:\n  path: events.ndjson\nbrowser:\n  listen: 127.0.0.1:0\n  origins: [\"http://127.0.0.1:{page_port}\"]\n  sdk_app_ids: [1400000001]\n"
        ),
    );
    let mut d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    let port = d.bound_port("accepting the SDK's log upload (loggerProxy) on http://");
    let proxy = format!("http://127.0.0.1:{port}/trtc");
    let page_port = page_port.to_string();
    // The browser in Tokyo: its upload and records say local times only.
    let began = jiff::Timestamp::now();
    let Some(records) = sdk::capture_with(
        sdks,
        &[
            ("LOGGER_PROXY", proxy.as_str()),
            ("PAGE_PORT", page_port.as_str()),
            ("PAGE_HOSTS", "127.0.0.1,localhost"),
            ("TZ", "Asia/Tokyo"),
        ],
    ) else {
        d.stop();
        return None;
    };
    for sdk in sdks {
        assert!(records.iter().any(|r| r.sdk == *sdk), "no {sdk} records");
    }
    // Uploads are answered once queued: the queue empties once the last
    // events are written.
    assert!(common::wait_until(Duration::from_secs(10), || {
        metric(&d.metrics(), "trtc_logwatch_queue_depth") == Some(0.0)
    }));
    let metrics = d.metrics();
    let (code, _, log) = d.stop();
    assert_eq!(code, Some(0), "{log}");
    let text = std::fs::read_to_string(dir.path().join("events.ndjson")).unwrap_or_default();
    let mut counts = std::collections::BTreeMap::new();
    for e in &events_of(text.as_bytes()) {
        let c = &e["context"];
        assert_eq!(c["userId"], "alice", "{e}");
        assert_eq!(c["sdkAppId"], "1400000001", "{e}");
        assert!(
            c["browser"]
                .as_str()
                .is_some_and(|b| b.starts_with("Chrome ")),
            "{e}"
        );
        assert_eq!(c["os"], "Linux", "{e}");
        assert_eq!(e["source"], "browser");
        // At its record's own time (in UTC), within the run, arrival beside.
        let at = |f: &str| -> jiff::Timestamp {
            e[f].as_str()
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("{f}: {e}"))
        };
        let (ts, received) = (at("ts"), at("received"));
        assert!(
            began - jiff::SignedDuration::from_secs(2) <= ts && ts <= received,
            "{e}"
        );
        *counts
            .entry((
                c["sdkVersion"].as_str().unwrap_or("").to_string(),
                e["key"].as_str().unwrap_or("").to_string(),
            ))
            .or_insert(0) += 1;
    }
    // The SDKs print their enterRoom/createClient params, userSig and all.
    assert!(!text.contains("\"userSig\":\"sig\""), "{text}");
    assert!(!text.contains("userSig=sig"), "{text}");
    assert!(!log.contains("\"userSig\":\"sig\""), "{log}");
    let refused = metric(
        &metrics,
        "trtc_logwatch_browser_refused_total{source=\"browser\",reason=\"origin\"}",
    )
    .unwrap_or(0.0);
    assert!(
        refused >= 2.0 * sdks.len() as f64,
        "the other origin's uploads: {metrics}"
    );
    Some(Uploaded {
        text,
        counts,
        metrics,
        log,
    })
}

impl Uploaded {
    /// Join attempts that failed for the schedule, as the end reports say.
    fn failed_joins(&self) -> Option<f64> {
        metric(
            &self.metrics,
            "trtc_browser_join_attempts_total{source=\"browser\",sdk_app_id=\"1400000001\",result=\"failed\",key=\"SCHEDULE_FAILED\"}",
        )
    }
}

fn want(pairs: &[((&str, &str), i32)]) -> std::collections::BTreeMap<(String, String), i32> {
    pairs
        .iter()
        .map(|((v, k), n)| ((v.to_string(), k.to_string()), *n))
        .collect()
}

/// The SDKs' own log upload pointed at the browser endpoint, as an app does
/// with one option (v5 `proxy.loggerProxy` in `enterRoom`, v4
/// `setProxyServer({ loggerProxy })`), the pages loaded from the allowed
/// origin and from another one: each SDK's errors arrive as events with the
/// upload's user, sdkAppId and SDK version and the browser's family and OS,
/// the counts per key pinned to the SDK versions of
/// tests/browser/package-lock.json (an upgrade that changes what or how the
/// SDKs upload fails here); the other origin's uploads are refused; the
/// end reports count the failed sessions; no userSig is written.
#[test]
fn the_sdks_own_log_upload_reaches_the_browser_endpoint() {
    let Some(up) = upload_to_the_endpoint(sdk::ALL) else {
        return;
    };
    let want = want(&[
        (("4.15.22", "SCHEDULE_FAILED"), 1),
        (("5.17.1", "DEVICE_ERROR"), 2),
        (("5.17.1", "OPERATION_FAILED"), 1),
    ]);
    assert_eq!(up.counts, want, "{}", up.text);
    assert_eq!(up.failed_joins(), Some(2.0), "{}", up.metrics);
    // How long each join attempt took, from its end report.
    assert_eq!(
        metric(
            &up.metrics,
            "trtc_browser_join_duration_seconds_count{source=\"browser\",sdk_app_id=\"1400000001\",result=\"failed\"}"
        ),
        Some(2.0),
        "{}",
        up.metrics
    );
}

/// The same for SDK versions users still run: trtc-js-sdk 4.10.2 uploads
/// with the placeholder `sdkappid=1` in its URL (the real id in the body),
/// trtc-sdk-v5 5.8.6 as the pinned 5.x does; their offline joins do not
/// end within the pages' steps (4.10 retries its signal channel 30 times,
/// 5.8 stops uploading its log once its join failed). Every upload is
/// taken: 4.10's one error record (its warnings are reconnect attempts) is
/// one event, 5.8's end reports count its failed join attempts.
#[test]
fn older_sdks_uploads_reach_the_browser_endpoint() {
    let Some(up) = upload_to_the_endpoint(sdk::OLD) else {
        return;
    };
    assert_eq!(
        up.counts,
        want(&[(("4.10.2", "DEVICE_NOT_FOUND"), 1)]),
        "{}",
        up.text
    );
    let refused: Vec<&str> = up
        .metrics
        .lines()
        .filter(|l| {
            l.starts_with("trtc_logwatch_browser_refused_total{")
                && !l.contains("reason=\"origin\"")
        })
        .collect();
    assert!(refused.is_empty(), "{refused:?}\n{}", up.log);
    let logs = metric(
        &up.metrics,
        "trtc_logwatch_browser_uploads_total{source=\"browser\",cmdtype=\"jssdk_log\"}",
    )
    .unwrap_or(0.0);
    assert!(logs >= 6.0, "{}", up.metrics);
    assert_eq!(up.failed_joins(), Some(2.0), "{}", up.metrics);
}
