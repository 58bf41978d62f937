//! The browser endpoint end to end, over real HTTP: uploads as the TRTC
//! Web SDK sends them (the bodies in `tests/data/sdk-uploads/`, captured
//! from the real SDKs' uploads) become events with their user, sdkAppId,
//! SDK version, browser and OS; every refusal is answered and counted and
//! leaves the daemon up and the good uploads whole; a flood from one client
//! is limited while another still counts; the table of clients stays
//! bounded; a full queue drops the upload without waiting; bodies are
//! relayed unchanged to a stand-in of the SDK's log service; no userSig is
//! ever written. (The real SDKs in a real browser: `tests/real_sdk.rs`.)

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::daemon::{Daemon, metric, write_config};

const BROWSER_SAYS: &str = "accepting the SDK's log upload (loggerProxy) on http://";
const APP: u64 = 1_400_000_001;
const ORIGIN: &str = "https://app.example.com";
const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91";

/// One HTTP/1.1 request; the status, the answer's headers (lowercase
/// names) and its body.
fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, BTreeMap<String, String>, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let mut lines = head.lines();
    let code = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (code, headers, body.to_string())
}

fn path(cmdtype: &str, app: u64) -> String {
    format!("/trtc-logs/v5/AVQualityReportSvc/C2S?random=12345&sdkappid={app}&cmdtype={cmdtype}")
}

/// A `jssdk_log` upload as the SDK sends it.
fn log_body(user: &str, version: &str, log: &str) -> Vec<u8> {
    serde_json::json!({
        "timestamp": "11/30/2026, 8:40:56 AM",
        "sdkAppId": APP.to_string(),
        "userId": user,
        "version": version,
        "log": log,
    })
    .to_string()
    .into_bytes()
}

/// The v5 record of an `enterRoom` that failed, with the app's params
/// (and its userSig) as the SDK prints them.
fn v5_failure(n: u32) -> String {
    format!(
        "[08:40:56:{n:03}] <INFO> [\u{2191}t1|alice] Join() => joining room: 8888\n[08:40:56:{n:03}] <ERROR> [\u{2191}t1|alice] enterRoom() failed 3   OPERATION_FAILED: 'enterRoom' failed, reason: schedule failed\nRefer to: https://web.sdk.qcloud.com/trtc/webrtc/doc/en/index.html\n code:5500 params: [{{\"sdkAppId\":{APP},\"userId\":\"alice\",\"userSig\":\"eJwSECRETSIG\",\"roomId\":8888}}]"
    )
}

/// `body` posted as the SDK's `cmdtype` from the allowed origin: the status.
fn post(port: u16, cmdtype: &str, body: &[u8]) -> u16 {
    let headers = [
        ("Origin", ORIGIN),
        ("Content-Type", "text/plain;charset=UTF-8"),
    ];
    request(port, "POST", &path(cmdtype, APP), &headers, body).0
}

/// A good upload from `client` (its address in X-Forwarded-For).
fn good(port: u16, client: &str, n: u32) -> u16 {
    request(
        port,
        "POST",
        &path("jssdk_log", APP),
        &[
            ("Origin", ORIGIN),
            ("Content-Type", "text/plain;charset=UTF-8"),
            ("User-Agent", UA),
            ("X-Forwarded-For", client),
        ],
        &log_body("alice", "5.17.1", &v5_failure(n)),
    )
    .0
}

fn start(dir: &Path, extra: &str) -> (Daemon, u16) {
    let cfg = write_config(
        dir,
        &format!(
            "events:\n  path: events.ndjson\nbrowser:\n  listen: 127.0.0.1:0\n  origins: [\"{ORIGIN}\"]\n  sdk_app_ids: [{APP}]\n  client_ip_header: X-Forwarded-For\n{extra}"
        ),
    );
    let mut d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    let port = d.bound_port(BROWSER_SAYS);
    (d, port)
}

/// The endpoint with its events on a stdout pipe nobody reads (a blocked
/// output) and a queue of `capacity` events.
fn start_blocked(dir: &Path, capacity: usize, extra: &str) -> (Daemon, u16) {
    let cfg = write_config(
        dir,
        &format!(
            "events:\n  queue_capacity: {capacity}\nbrowser:\n  listen: 127.0.0.1:0\n  origins: [\"{ORIGIN}\"]\n  sdk_app_ids: [{APP}]\n  client_ip_header: X-Forwarded-For\n{extra}"
        ),
    );
    let mut d = Daemon::start_with(
        &["--config", cfg.to_str().unwrap()],
        Stdio::null(),
        Stdio::piped(),
    );
    let port = d.bound_port(BROWSER_SAYS);
    (d, port)
}

fn events(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("events.ndjson"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The clients the endpoint keeps, as `/metrics` (`m`) says.
fn assert_clients(m: &str, n: f64) {
    assert_eq!(metric(m, "trtc_logwatch_browser_clients"), Some(n), "{m}");
}

/// Clients pushed out of the full table, as `/metrics` (`m`) says.
fn pushed_out(m: &str) -> Option<f64> {
    metric(
        m,
        "trtc_logwatch_browser_clients_pushed_out_total{source=\"browser\"}",
    )
}

fn refused(m: &str, reason: &str) -> f64 {
    metric(
        m,
        &format!("trtc_logwatch_browser_refused_total{{source=\"browser\",reason=\"{reason}\"}}"),
    )
    .unwrap_or(0.0)
}

#[test]
fn a_log_upload_becomes_events_with_its_user_app_version_and_browser() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "");
    let (code, headers, body) = request(
        port,
        "POST",
        &path("jssdk_log", APP),
        &[
            ("Origin", ORIGIN),
            ("Content-Type", "text/plain;charset=UTF-8"),
            ("User-Agent", UA),
            ("X-Forwarded-For", "203.0.113.7"),
        ],
        &log_body("alice", "5.17.1", &v5_failure(1)),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(body.trim(), "{\"events\":1}");
    assert_eq!(
        headers
            .get("access-control-allow-origin")
            .map(String::as_str),
        Some(ORIGIN)
    );
    let ev = d.wait_metric(
        "trtc_errors_total{catalog=\"trtc-web-v5\",category=\"operation\",key=\"OPERATION_FAILED\",code=\"5500\"}",
        1.0,
        Duration::from_secs(10),
    );
    assert_eq!(ev, 1.0);
    // By version and browser, bounded labels, per group: a value becomes a
    // label once clients of three networks sent it (until then `other`).
    for (i, client) in ["203.0.114.8", "203.0.115.9"].iter().enumerate() {
        assert_eq!(good(port, client, 2 + i as u32), 200);
    }
    d.wait_metric(
        "trtc_errors_total{catalog=\"trtc-web-v5\",category=\"operation\",key=\"OPERATION_FAILED\",code=\"5500\"}",
        3.0,
        Duration::from_secs(10),
    );
    let m = d.metrics();
    for (series, n) in [
        (
            "trtc_errors_by_sdk_version_total{group=\"usage\",sdk_version=\"other\"}",
            2.0,
        ),
        (
            "trtc_errors_by_sdk_version_total{group=\"usage\",sdk_version=\"5.17.1\"}",
            1.0,
        ),
        (
            "trtc_errors_by_browser_total{group=\"usage\",browser=\"other\"}",
            2.0,
        ),
        (
            "trtc_errors_by_browser_total{group=\"usage\",browser=\"Edge 120\"}",
            1.0,
        ),
    ] {
        assert_eq!(metric(&m, series), Some(n), "{series}\n{m}");
    }
    let (code, _, log) = d.stop();
    assert_eq!(code, Some(0), "{log}");
    let evs = events(dir.path());
    assert_eq!(evs.len(), 3, "{evs:?}");
    let c = &evs[0]["context"];
    assert_eq!(c["userId"], "alice");
    assert_eq!(c["sdkAppId"], APP.to_string());
    assert_eq!(c["sdkVersion"], "5.17.1");
    assert_eq!(c["browser"], "Edge 120");
    assert_eq!(c["os"], "Windows");
    assert_eq!(c["roomId"], "8888");
    assert_eq!(evs[0]["source"], "browser");
    // The userSig the SDK printed is in no event and no log line.
    let written = std::fs::read_to_string(dir.path().join("events.ndjson")).unwrap();
    assert!(
        !written.contains("SECRETSIG") && written.contains("[redacted]"),
        "{written}"
    );
    assert!(!log.contains("SECRETSIG"), "{log}");
    // A CORS preflight from the page is answered.
    let (d, port) = start(dir.path(), "");
    let (code, headers, _) = request(
        port,
        "OPTIONS",
        &path("jssdk_log", APP),
        &[
            ("Origin", ORIGIN),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    );
    assert_eq!(code, 204);
    assert_eq!(
        headers
            .get("access-control-allow-origin")
            .map(String::as_str),
        Some(ORIGIN)
    );
    assert!(
        headers
            .get("access-control-allow-methods")
            .is_some_and(|m| m.contains("POST"))
    );
    d.stop();
}

/// What is sent, and what must come back: a name, the path, the headers,
/// the body, the status, the reason it is counted under.
type Case = (
    &'static str,
    String,
    Vec<(&'static str, &'static str)>,
    Vec<u8>,
    u16,
    &'static str,
);

/// Bad input, each kind answered with its status and counted under its
/// reason: the daemon stays up and a good upload after all of them is
/// whole.
#[test]
fn every_bad_upload_is_refused_counted_and_the_good_ones_are_whole() {
    use flate2::Compression;
    use flate2::write::GzEncoder;
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(
        dir.path(),
        "  max_body_bytes: 65536\n  uploads_per_minute: 100000\n  burst: 1000\n",
    );
    let ok = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        let mut h = vec![
            ("Origin", ORIGIN),
            ("Content-Type", "text/plain;charset=UTF-8"),
            ("X-Forwarded-For", "198.51.100.1"),
        ];
        h.extend_from_slice(extra);
        h
    };
    let gz = |b: &[u8]| {
        let mut e = GzEncoder::new(Vec::new(), Compression::best());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    };
    let good_log = log_body("alice", "5.17.1", &v5_failure(1));
    let huge_log = log_body("alice", "5.17.1", &"x".repeat(70_000));
    let bomb = gz(&vec![b' '; 50 << 20]);
    let cases: Vec<Case> = vec![
        (
            "no origin",
            path("jssdk_log", APP),
            vec![("X-Forwarded-For", "198.51.100.1")],
            good_log.clone(),
            403,
            "origin",
        ),
        (
            "other origin",
            path("jssdk_log", APP),
            vec![
                ("Origin", "https://evil.example.com"),
                ("X-Forwarded-For", "198.51.100.1"),
            ],
            good_log.clone(),
            403,
            "origin",
        ),
        (
            "app id not allowed",
            path("jssdk_log", 1_400_000_002),
            ok(&[]),
            good_log.clone(),
            403,
            "sdk_app_id",
        ),
        (
            "no app id",
            "/v5/AVQualityReportSvc/C2S?cmdtype=jssdk_log".into(),
            ok(&[]),
            good_log.clone(),
            403,
            "sdk_app_id",
        ),
        (
            "body's app id differs",
            path("jssdk_log", APP),
            ok(&[]),
            br#"{"sdkAppId":"1400000002","userId":"a","version":"5.17.1","log":"x"}"#.to_vec(),
            403,
            "sdk_app_id",
        ),
        (
            "unknown cmdtype",
            path("jssdk_new_thing", APP),
            ok(&[]),
            good_log.clone(),
            400,
            "cmdtype",
        ),
        (
            "not JSON",
            path("jssdk_log", APP),
            ok(&[]),
            b"\x00\xffnot json".to_vec(),
            400,
            "bad_body",
        ),
        (
            "missing sdkAppId",
            path("jssdk_log", APP),
            ok(&[]),
            br#"{"userId":"a","log":"x"}"#.to_vec(),
            400,
            "bad_body",
        ),
        (
            "sdkAppId a list",
            path("jssdk_log", APP),
            ok(&[]),
            br#"{"sdkAppId":[1],"log":"x"}"#.to_vec(),
            400,
            "bad_body",
        ),
        (
            "userId a number",
            path("jssdk_log", APP),
            ok(&[]),
            br#"{"sdkAppId":"1400000001","userId":7,"log":"x"}"#.to_vec(),
            400,
            "bad_body",
        ),
        (
            "version an object",
            path("jssdk_log", APP),
            ok(&[]),
            br#"{"sdkAppId":"1400000001","version":{},"log":"x"}"#.to_vec(),
            400,
            "bad_body",
        ),
        (
            "log a number",
            path("jssdk_log", APP),
            ok(&[]),
            br#"{"sdkAppId":"1400000001","log":1}"#.to_vec(),
            400,
            "bad_body",
        ),
        (
            "no log",
            path("jssdk_log", APP),
            ok(&[]),
            br#"{"sdkAppId":"1400000001"}"#.to_vec(),
            400,
            "bad_body",
        ),
        (
            "end report of wrong types",
            path("jssdk_new_endreport", APP),
            ok(&[]),
            br#"{"msg_path_enter_room":{"int32_end_ret":"x"}}"#.to_vec(),
            400,
            "bad_body",
        ),
        (
            "huge log",
            path("jssdk_log", APP),
            ok(&[]),
            huge_log,
            413,
            "too_large",
        ),
        (
            "gzip bomb",
            path("jssdk_log", APP),
            ok(&[("Content-Encoding", "gzip")]),
            bomb,
            413,
            "too_large",
        ),
        (
            "brotli",
            path("jssdk_log", APP),
            ok(&[("Content-Encoding", "br")]),
            good_log.clone(),
            415,
            "encoding",
        ),
        (
            "bad gzip",
            path("jssdk_log", APP),
            ok(&[("Content-Encoding", "gzip")]),
            b"not gzip".to_vec(),
            400,
            "bad_body",
        ),
        (
            "GET",
            path("jssdk_log", APP),
            ok(&[]),
            Vec::new(),
            405,
            "method",
        ),
        (
            "other path",
            "/upload?sdkappid=1400000001&cmdtype=jssdk_log".into(),
            ok(&[]),
            good_log.clone(),
            404,
            "path",
        ),
    ];
    let mut counts: BTreeMap<&str, f64> = BTreeMap::new();
    for (what, p, headers, body, want, reason) in &cases {
        let method = if *what == "GET" { "GET" } else { "POST" };
        let (code, _, answer) = request(port, method, p, headers, body);
        assert_eq!(code, *want, "{what}: {answer}");
        assert!(!answer.contains("SECRET"), "{what}: {answer}");
        *counts.entry(reason).or_default() += 1.0;
        // A good upload between bad ones is whole.
        assert_eq!(good(port, "198.51.100.2", 1), 200, "after {what}");
    }
    let m = d.metrics();
    for (reason, n) in counts {
        assert_eq!(refused(&m, reason), n, "{reason}: {m}");
    }
    assert_eq!(
        metric(
            &m,
            "trtc_logwatch_browser_uploads_total{source=\"browser\",cmdtype=\"jssdk_log\"}"
        ),
        Some(cases.len() as f64)
    );
    assert!(common::daemon::http_get(d.port, "/healthz").is_some_and(|(c, _)| c == 200));
    let (code, _, log) = d.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(!log.contains("SECRET"), "{log}");
    let evs = events(dir.path());
    assert_eq!(evs.len(), cases.len(), "one event per good upload");
    assert!(
        evs.iter()
            .all(|e| e["key"] == "OPERATION_FAILED" && e["context"]["userId"] == "alice")
    );
}

/// One client floods; another keeps uploading: the flood is limited (429,
/// counted), the other client's uploads all count.
#[test]
fn a_flood_from_one_client_is_limited_while_another_still_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "  uploads_per_minute: 6\n  burst: 5\n");
    let flood: Vec<u16> = (0..40).map(|n| good(port, "203.0.113.66", n)).collect();
    let other: Vec<u16> = (0..4).map(|n| good(port, "192.0.2.10", 100 + n)).collect();
    assert_eq!(flood.iter().filter(|&&c| c == 200).count(), 5, "{flood:?}");
    assert!(flood.iter().all(|&c| c == 200 || c == 429), "{flood:?}");
    assert_eq!(other, [200, 200, 200, 200]);
    let m = d.metrics();
    assert_eq!(refused(&m, "rate"), 35.0, "{m}");
    d.stop();
    assert_eq!(events(dir.path()).len(), 9);
}

/// Every new address is a new client: the table stays at its bound and a
/// client beyond it is refused, counted.
#[test]
fn the_table_of_clients_stays_bounded_and_never_locks_a_new_client_out() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "  max_clients: 10\n");
    let codes: Vec<u16> = (0..30)
        .map(|n| good(port, &format!("10.0.0.{n}"), n))
        .collect();
    assert!(codes.iter().all(|&c| c == 200), "{codes:?}");
    let m = d.metrics();
    assert_eq!(refused(&m, "clients"), 0.0, "{m}");
    assert_eq!(pushed_out(&m), Some(20.0), "{m}");
    assert_clients(&m, 10.0);
    d.stop();
}

/// The events output blocked (a pipe nobody reads): uploads are answered
/// at once all the same, those that find the queue full are dropped (503)
/// and counted, never held.
#[test]
fn a_full_queue_drops_the_upload_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start_blocked(dir.path(), 20, "  burst: 10000\n");
    let mut codes = Vec::new();
    for n in 0..400 {
        let t = std::time::Instant::now();
        codes.push(good(port, "192.0.2.1", n));
        assert!(t.elapsed() < Duration::from_secs(5), "an upload waited");
        if codes.last() == Some(&503) && codes.len() > 30 {
            break;
        }
    }
    assert_eq!(codes.last(), Some(&503), "{codes:?}");
    let m = d.metrics();
    assert!(refused(&m, "queue_full") >= 1.0, "{m}");
    assert!(
        metric(&m, "trtc_logwatch_events_dropped_total").unwrap_or(0.0) >= 1.0,
        "{m}"
    );
    d.kill();
}

/// `browser.forward`: each body goes unchanged, with the SDK's query, to a
/// stand-in of the SDK's log service; one that does not answer is counted
/// as failed, and the uploads are taken all the same.
#[test]
fn bodies_are_relayed_unchanged_to_the_sdk_log_service() {
    let stand_in = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let at = stand_in.local_addr().unwrap();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, Vec<u8>)>::new()));
    let seen = std::sync::Arc::clone(&got);
    std::thread::spawn(move || {
        for s in stand_in.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 65536];
            // Headers, then the body of Content-Length.
            let (head, body_start) = loop {
                let n = s.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break (String::new(), 0);
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break (String::from_utf8_lossy(&buf[..i]).into_owned(), i + 4);
                }
            };
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            while buf.len() < body_start + len {
                let n = s.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let line = head.lines().next().unwrap_or("").to_string();
            seen.lock()
                .unwrap()
                .push((line, buf[body_start..].to_vec()));
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}");
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), &format!("  forward: http://{at}\n"));
    let bodies: Vec<Vec<u8>> = (0..3)
        .map(|n| log_body("alice", "5.17.1", &v5_failure(n)))
        .collect();
    for b in &bodies {
        let (code, _, _) = request(
            port,
            "POST",
            &path("jssdk_log", APP),
            &[
                ("Origin", ORIGIN),
                ("Content-Type", "text/plain;charset=UTF-8"),
                ("X-Forwarded-For", "192.0.2.5"),
            ],
            b,
        );
        assert_eq!(code, 200);
    }
    let ok = d.wait_metric(
        "trtc_logwatch_browser_forwarded_total{source=\"browser\",result=\"ok\"}",
        3.0,
        Duration::from_secs(10),
    );
    assert_eq!(ok, 3.0);
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    for (line, body) in &got {
        assert!(
            line.starts_with("POST /v5/AVQualityReportSvc/C2S?random=12345&sdkappid=1400000001&cmdtype=jssdk_log "),
            "{line}"
        );
        assert!(bodies.contains(body), "a body changed on the way");
    }
    d.stop();
    // Nothing listens there: counted as failed, the upload still taken.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (d, port) = start(dir.path(), &format!("  forward: http://{dead}\n"));
    assert_eq!(good(port, "192.0.2.6", 1), 200);
    let failed = d.wait_metric(
        "trtc_logwatch_browser_forwarded_total{source=\"browser\",result=\"failed\"}",
        1.0,
        Duration::from_secs(15),
    );
    assert_eq!(failed, 1.0);
    d.stop();
}

/// An upload refused because its events would go over the memory budget
/// (413) writes none of them and counts none: a request is taken whole or
/// not at all.
#[test]
fn an_upload_refused_for_its_memory_writes_and_counts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(
        dir.path(),
        "  max_memory_bytes: 1048576\n  max_body_bytes: 65536\n",
    );
    // 1,100 short error records: 60 KB sent, megabytes of events.
    let log: String = (0..1100)
        .map(|n| {
            format!(
                "[08:40:56:{:03}] <ERROR> <ICE_TRANSPORT_ERROR 0x4003>\n",
                n % 1000
            )
        })
        .collect();
    let (code, _, text) = request(
        port,
        "POST",
        &path("jssdk_log", APP),
        &[
            ("Origin", ORIGIN),
            ("Content-Type", "text/plain;charset=UTF-8"),
        ],
        &log_body("mallory", "5.17.1", &log),
    );
    assert_eq!(code, 413, "{text}");
    assert_eq!(good(port, "192.0.2.7", 1), 200);
    let m = d.metrics();
    assert_eq!(refused(&m, "too_large"), 1.0, "{m}");
    d.stop();
    let evs = events(dir.path());
    assert_eq!(evs.len(), 1, "only the good upload's event");
    assert_eq!(evs[0]["key"], "OPERATION_FAILED");
    assert!(
        metric(&m, "trtc_errors_total{catalog=\"trtc-web-v4\",category=\"transport\",key=\"ICE_TRANSPORT_ERROR\",code=\"16387\"}")
            .unwrap_or(0.0)
            == 0.0,
        "{m}"
    );
}

/// Uploads refused for their sdkAppId take no place in the table of
/// clients: a flood of them from more addresses than the table holds does
/// not lock a real user out.
#[test]
fn refused_uploads_take_no_place_in_the_table_of_clients() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "  max_clients: 10\n");
    for n in 0..30u32 {
        let (code, _, _) = request(
            port,
            "POST",
            &path("jssdk_log", 1_400_000_999),
            &[
                ("Origin", ORIGIN),
                ("X-Forwarded-For", &format!("10.9.0.{n}")),
            ],
            &log_body("mallory", "5.17.1", &v5_failure(n)),
        );
        assert_eq!(code, 403);
    }
    // The query's id allowed, the body's another: refused once the body
    // is read, still before the client takes a place.
    for n in 0..30u32 {
        let mut body: serde_json::Value =
            serde_json::from_slice(&log_body("mallory", "5.17.1", &v5_failure(n))).unwrap();
        body["sdkAppId"] = "1400000002".into();
        let (code, _, _) = request(
            port,
            "POST",
            &path("jssdk_log", APP),
            &[
                ("Origin", ORIGIN),
                ("X-Forwarded-For", &format!("10.8.0.{n}")),
            ],
            body.to_string().as_bytes(),
        );
        assert_eq!(code, 403);
    }
    assert_eq!(
        good(port, "192.0.2.44", 1),
        200,
        "a real user after the flood"
    );
    let m = d.metrics();
    assert_eq!(refused(&m, "sdk_app_id"), 60.0, "{m}");
    assert_eq!(pushed_out(&m), Some(0.0), "{m}");
    assert_clients(&m, 1.0);
    d.stop();
}

/// trtc-js-sdk 4.8-4.11 upload with the placeholder `sdkappid=1` in the
/// query and the real sdkAppId in the body only: taken when the body's id
/// is allowed, refused (and given no place among the clients) when not.
#[test]
fn an_sdk_4_upload_with_the_placeholder_id_is_checked_by_its_body() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "");
    let v4 = "[12/7/2026, 3:39:11 PM] <ERROR>: RtcError: ICE/DTLS Transport connection failed <ICE_TRANSPORT_ERROR 0x4003>";
    let body = |app: u64| {
        serde_json::json!({
            "timestamp": "12/7/2026, 3:39:11 PM",
            "sdkAppId": app.to_string(),
            "userId": "bob",
            "version": "4.10.2",
            "log": v4,
        })
        .to_string()
        .into_bytes()
    };
    let post = |app: u64, client: &str| {
        request(
            port,
            "POST",
            &path("jssdk_log", 1),
            &[
                ("Origin", ORIGIN),
                ("Content-Type", "text/plain;charset=UTF-8"),
                ("X-Forwarded-For", client),
            ],
            &body(app),
        )
        .0
    };
    assert_eq!(post(APP, "192.0.2.50"), 200);
    assert_eq!(post(1_400_000_999, "192.0.2.51"), 403);
    let m = d.metrics();
    assert_eq!(refused(&m, "sdk_app_id"), 1.0, "{m}");
    assert_clients(&m, 1.0);
    d.stop();
    let evs = events(dir.path());
    assert_eq!(evs.len(), 1, "{evs:?}");
    assert_eq!(evs[0]["key"], "ICE_TRANSPORT_ERROR");
    assert_eq!(evs[0]["context"]["sdkAppId"], APP.to_string());
    assert_eq!(evs[0]["context"]["userId"], "bob");
}

/// An upload as a proxy that adds a header line sends it: the first line
/// is what the browser claimed, the second what the proxy saw.
fn via_proxy(port: u16, claimed: &str, seen: &str, n: u32) -> u16 {
    request(
        port,
        "POST",
        &path("jssdk_log", APP),
        &[
            ("Origin", ORIGIN),
            ("Content-Type", "text/plain;charset=UTF-8"),
            ("X-Forwarded-For", claimed),
            ("X-Forwarded-For", seen),
        ],
        &log_body("alice", "5.17.1", &v5_failure(n)),
    )
    .0
}

/// Behind a trusted proxy (loopback when no list is given) the client is
/// the right-most untrusted address across every line of the header: a
/// browser that makes up a new address for each upload is still one client.
#[test]
fn the_client_is_the_right_most_address_across_header_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "  uploads_per_minute: 6\n  burst: 5\n");
    let codes: Vec<u16> = (0..12)
        .map(|n| via_proxy(port, &format!("198.51.100.{n}"), "203.0.113.9", n))
        .collect();
    assert_eq!(codes.iter().filter(|&&c| c == 200).count(), 5, "{codes:?}");
    let m = d.metrics();
    assert_eq!(refused(&m, "rate"), 7.0, "{m}");
    assert_clients(&m, 1.0);
    d.stop();
}

/// A connection that is not from a trusted proxy is its own client, whatever
/// its header says.
#[test]
fn a_client_that_is_no_trusted_proxy_is_its_own_client() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(
        dir.path(),
        "  uploads_per_minute: 6\n  burst: 5\n  trusted_proxies: [\"10.0.0.0/8\"]\n",
    );
    let codes: Vec<u16> = (0..12)
        .map(|n| good(port, &format!("198.51.100.{n}"), n))
        .collect();
    assert_eq!(codes.iter().filter(|&&c| c == 200).count(), 5, "{codes:?}");
    let m = d.metrics();
    assert_clients(&m, 1.0);
    d.stop();
}

/// `n` SDK error records, one a line.
fn records(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "[08:40:56:{:03}] <ERROR> <ICE_TRANSPORT_ERROR 0x4003>\n",
                i % 1000
            )
        })
        .collect()
}

fn upload_from(port: u16, client: &str, log: &str) -> (u16, String) {
    let (code, _, text) = request(
        port,
        "POST",
        &path("jssdk_log", APP),
        &[
            ("Origin", ORIGIN),
            ("Content-Type", "text/plain;charset=UTF-8"),
            ("X-Forwarded-For", client),
        ],
        &log_body("mallory", "5.17.1", log),
    );
    (code, text)
}

/// Each upload writes at most `max_events_per_upload` events and each
/// client at most its event budget; the records beyond are counted, not
/// written and not counted as errors.
#[test]
fn a_client_writes_at_most_its_event_budget() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(
        dir.path(),
        "  events_per_minute: 1\n  events_burst: 20\n  max_events_per_upload: 15\n",
    );
    let forty = records(40);
    let a: Vec<(u16, String)> = (0..3)
        .map(|_| upload_from(port, "192.0.2.1", &forty))
        .collect();
    assert_eq!(a[0], (200, "{\"events\":15}\n".to_string()));
    assert_eq!(a[1], (200, "{\"events\":5}\n".to_string()));
    assert_eq!(a[2], (200, "{\"events\":0}\n".to_string()));
    assert_eq!(upload_from(port, "192.0.2.2", &forty).0, 200);
    let m = d.metrics();
    assert_eq!(
        metric(&m, "trtc_logwatch_browser_capped_total{source=\"browser\"}"),
        Some(125.0),
        "{m}"
    );
    let ice = "trtc_errors_total{catalog=\"trtc-web-v4\",category=\"transport\",key=\"ICE_TRANSPORT_ERROR\",code=\"16387\"}";
    assert_eq!(metric(&m, ice), Some(35.0), "{m}");
    d.stop();
    assert_eq!(events(dir.path()).len(), 35);
}

/// With the defaults, one client's flood of small uploads each holding
/// many error records (8,000 times the bytes sent) writes at most its
/// burst of events.
#[test]
fn one_clients_flood_writes_at_most_its_burst_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "");
    let many = records(1100);
    let codes: Vec<u16> = (0..30)
        .map(|_| upload_from(port, "192.0.2.66", &many).0)
        .collect();
    assert!(codes.iter().all(|&c| c == 200), "{codes:?}");
    d.stop();
    let n = events(dir.path()).len();
    assert!((1000..=1010).contains(&n), "{n} events from one client");
}

/// No spelling of a credential reaches an event: each line names an error
/// and holds a userSig or privateMapKey in one of the forms apps and SDKs
/// print (other cases, escaped twice, a space as separator, URL-encoded, a
/// full-width colon, an escaped letter).
#[test]
fn no_spelling_of_a_credential_reaches_an_event() {
    const SECRET: &str = "eJwtjEELgjAYhv_K2NkEP5G";
    let forms = [
        "USER_SiG={S}",
        "usersIg: {S}",
        r#"{\"userSig\":\"{S}\"}"#,
        "userSig {S}",
        "userSig%3D{S}",
        "%22userSig%22%3A%22{S}%22",
        "userSig：{S}",
        r#""u\u0073erSig":"{S}""#,
        "privateMapKey={S}",
        r#""private_map_key": "{S}""#,
    ];
    let log: String = forms
        .iter()
        .enumerate()
        .map(|(i, f)| {
            format!(
                "[08:40:56:{i:03}] <ERROR> {} <ICE_TRANSPORT_ERROR 0x4003>\n",
                f.replace("{S}", SECRET)
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "");
    assert_eq!(upload_from(port, "192.0.2.9", &log).0, 200);
    d.stop();
    let text = std::fs::read_to_string(dir.path().join("events.ndjson")).unwrap();
    assert_eq!(text.lines().count(), forms.len(), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(!text.contains("eJwtjEEL"), "{text}");
}

/// Bodies waiting for a relay target that never answers are charged to
/// the endpoint's memory budget and take at most half of it: the rest are
/// not relayed (counted), and uploads are still taken.
#[test]
fn a_slow_relay_target_holds_at_most_half_the_memory_budget() {
    let stand_in = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let at = stand_in.local_addr().unwrap();
    // Accepts and never answers.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in stand_in.incoming().flatten() {
            held.push(s);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(
        dir.path(),
        &format!(
            "  forward: http://{at}\n  max_memory_bytes: 1048576\n  max_body_bytes: 65536\n  uploads_per_minute: 10000\n  burst: 10000\n"
        ),
    );
    let filler = "[08:40:56:000] <INFO> still joining\n".repeat(1500);
    let log = format!("{filler}{}", v5_failure(1));
    let codes: Vec<u16> = (0..40)
        .map(|_| upload_from(port, "192.0.2.5", &log).0)
        .collect();
    assert!(codes.iter().all(|&c| c == 200), "{codes:?}");
    let m = d.metrics();
    let dropped = metric(
        &m,
        "trtc_logwatch_browser_forwarded_total{source=\"browser\",result=\"dropped\"}",
    )
    .unwrap_or(0.0);
    assert!(dropped >= 25.0, "{dropped} not relayed\n{m}");
    let held = metric(&m, "trtc_logwatch_ingest_memory_bytes").unwrap_or(0.0);
    assert!(
        held > 0.0 && held <= 524_288.0 + 65_536.0,
        "{held} bytes held\n{m}"
    );
    d.stop();
}

/// With the events output blocked (a pipe nobody reads) and room in the
/// queue, the events of uploads waiting to be written stay charged to the
/// memory budget: past it uploads are refused at once (503), never held,
/// and memory stays within the budget.
#[test]
fn events_waiting_for_a_blocked_output_stay_within_the_memory_budget() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start_blocked(
        dir.path(),
        1_000_000,
        "  max_memory_bytes: 1048576\n  max_body_bytes: 65536\n  uploads_per_minute: 100000\n  burst: 100000\n  events_burst: 1000000\n",
    );
    let log = records(60);
    let mut codes = Vec::new();
    for n in 0..300 {
        let t = std::time::Instant::now();
        codes.push(upload_from(port, &format!("192.0.2.{}", n % 200), &log).0);
        assert!(t.elapsed() < Duration::from_secs(5), "an upload waited");
    }
    assert!(codes.contains(&503), "{codes:?}");
    assert!(codes.iter().all(|&c| c == 200 || c == 503), "{codes:?}");
    let m = d.metrics();
    assert!(refused(&m, "busy") >= 1.0, "{m}");
    let held = metric(&m, "trtc_logwatch_ingest_memory_bytes").unwrap_or(0.0);
    assert!(held <= 1_048_576.0, "{held}");
    d.kill();
}

/// One client sending many browsers and versions takes no label: a value
/// is labelled once clients of three networks (/24, /48) sent it, so a flood of `Chrome/1000` ...
/// `Chrome/1029` leaves the labels to the browsers real users have.
#[test]
fn one_client_cannot_take_the_browser_and_version_labels() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "");
    let send = |client: &str, ua: &str, version: &str| {
        request(
            port,
            "POST",
            &path("jssdk_log", APP),
            &[
                ("Origin", ORIGIN),
                ("Content-Type", "text/plain;charset=UTF-8"),
                ("User-Agent", ua),
                ("X-Forwarded-For", client),
            ],
            &log_body("mallory", version, &records(1)),
        )
        .0
    };
    for i in 0..30 {
        let ua = format!(
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/{}.0.0.0 Safari/537.36",
            1000 + i
        );
        assert_eq!(send("192.0.2.66", &ua, &format!("9.{i}.0")), 200);
    }
    let real = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    // Three addresses of one network are one witness.
    for client in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        assert_eq!(send(client, real, "5.8.4"), 200);
    }
    for client in ["198.51.101.1", "198.51.102.1"] {
        assert_eq!(send(client, real, "5.8.4"), 200);
    }
    let ice = "trtc_errors_total{catalog=\"trtc-web-v4\",category=\"transport\",key=\"ICE_TRANSPORT_ERROR\",code=\"16387\"}";
    d.wait_metric(ice, 35.0, Duration::from_secs(10));
    let m = d.metrics();
    let labelled = |prefix: &str| -> Vec<String> {
        m.lines()
            .filter(|l| l.starts_with(prefix))
            .map(str::to_string)
            .collect()
    };
    let browsers = labelled("trtc_errors_by_browser_total{");
    assert_eq!(browsers.len(), 2, "{m}");
    for l in [
        "trtc_errors_by_browser_total{group=\"media_connection\",browser=\"other\"} 34",
        "trtc_errors_by_browser_total{group=\"media_connection\",browser=\"Chrome 131\"} 1",
    ] {
        assert!(browsers.iter().any(|b| b == l), "{l}\n{m}");
    }
    let versions = labelled("trtc_errors_by_sdk_version_total{");
    assert_eq!(versions.len(), 2, "{m}");
    assert!(
        versions
            .iter()
            .any(|l| l.ends_with("sdk_version=\"5.8.4\"} 1")),
        "{m}"
    );
    d.stop();
}

/// Connections that announce large bodies and send a few bytes hold
/// nothing of the memory budget (it grows with what arrived), and one
/// client has at most `uploads_in_flight` uploads at once: a real user's
/// upload is taken meanwhile.
#[test]
fn announced_bodies_hold_no_memory_and_a_client_has_few_uploads_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "  uploads_in_flight: 3\n  body_timeout: 30s\n");
    let open = |client: &str| {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let req = format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nOrigin: {ORIGIN}\r\nX-Forwarded-For: {client}\r\nContent-Length: 1048576\r\n\r\n{{\"log\":",
            path("jssdk_log", APP)
        );
        s.write_all(req.as_bytes()).unwrap();
        s
    };
    // Forty connections from forty clients, each announcing 1 MiB.
    let held: Vec<TcpStream> = (0..40).map(|n| open(&format!("10.7.0.{n}"))).collect();
    // Three from one client; its fourth is refused at once.
    let mine: Vec<TcpStream> = (0..3).map(|_| open("10.7.1.1")).collect();
    std::thread::sleep(Duration::from_millis(300));
    let m = d.metrics();
    let memory = metric(&m, "trtc_logwatch_ingest_memory_bytes").unwrap_or(-1.0);
    assert!(memory <= (43 * 16 * 1024) as f64, "{memory}\n{m}");
    let (code, _, text) = request(
        port,
        "POST",
        &path("jssdk_log", APP),
        &[("Origin", ORIGIN), ("X-Forwarded-For", "10.7.1.1")],
        &log_body("mallory", "5.17.1", &v5_failure(1)),
    );
    assert_eq!((code, text.trim()), (429, "too many uploads in flight"));
    assert_eq!(good(port, "192.0.2.80", 1), 200, "a real user meanwhile");
    assert_eq!(refused(&d.metrics(), "in_flight"), 1.0);
    drop(held);
    drop(mine);
    d.stop();
}

/// A flood of made-up catalog names from many addresses of one network
/// logs none of them; a real new name, sent from three networks, is
/// logged.
#[test]
fn made_up_names_from_one_network_do_not_take_the_drift_log() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "");
    for n in 0..100u32 {
        let log: String = (0..4)
            .map(|k| format!("[08:40:56:001] <ERROR> x <JUNK_{n}_{k} 0x4100>\n"))
            .collect();
        assert_eq!(upload_from(port, &format!("10.6.0.{n}"), &log).0, 200);
    }
    for client in ["10.6.0.1", "10.7.0.1", "10.8.0.1"] {
        let log = "[08:40:56:001] <ERROR> x <BRAND_NEW_KEY 0x4998>\n";
        assert_eq!(upload_from(port, client, log).0, 200);
    }
    let (_, _, log) = d.stop();
    assert_eq!(log.matches("catalog drift: JUNK_").count(), 0, "{log}");
    assert_eq!(
        log.matches("catalog drift: BRAND_NEW_KEY").count(),
        1,
        "{log}"
    );
}

/// A record's control characters, line separators and bidi overrides are
/// escaped in the daemon's log: a CR cannot forge a log line, an override
/// cannot reorder what the operator reads.
#[test]
fn a_records_control_characters_are_escaped_in_the_daemons_log() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "");
    let log = "[08:40:56:001] <ERROR> x\r2026-12-07T00:00:00Z  INFO forged \u{2028}line \u{202e}desrever <FORGED_NEW_KEY 0x4997>\n";
    for client in ["10.6.0.1", "10.7.0.1", "10.8.0.1"] {
        assert_eq!(upload_from(port, client, log).0, 200);
    }
    let (_, _, out) = d.stop();
    let line = out
        .lines()
        .find(|l| l.contains("catalog drift: FORGED_NEW_KEY"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("\\r2026"), "{line}");
    assert!(
        line.contains("\\u{2028}") && line.contains("\\u{202e}"),
        "{line}"
    );
    assert!(!out.contains('\r') && !out.contains('\u{2028}') && !out.contains('\u{202e}'));
}

/// Refusals show in the daemon's log, a line per reason at most a minute,
/// naming the origin and sdkAppId refused (escaped), never a body: a
/// misconfigured origin is seen, a flood writes one line.
#[test]
fn refusals_are_logged_once_a_minute_per_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "");
    for n in 0..20u32 {
        let (code, _, _) = request(
            port,
            "POST",
            &path("jssdk_log", APP),
            &[
                ("Origin", "https://staging.example.com"),
                ("X-Forwarded-For", "192.0.2.9"),
            ],
            &log_body("alice", "5.17.1", &format!("{} SECRETBODY", v5_failure(n))),
        );
        assert_eq!(code, 403);
    }
    let (code, _, _) = request(
        port,
        "POST",
        &path("jssdk_log", 1_400_000_777),
        &[("Origin", ORIGIN), ("X-Forwarded-For", "192.0.2.9")],
        &log_body("alice", "5.17.1", &v5_failure(1)),
    );
    assert_eq!(code, 403);
    assert_eq!(good(port, "192.0.2.10", 1), 200);
    // And on the daemon's own page.
    let (_, index) = common::daemon::http_get(d.port, "/").unwrap();
    assert!(
        index.contains("Browser uploads") && index.contains("origin: 20, sdk_app_id: 1"),
        "{index}"
    );
    let (_, _, log) = d.stop();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("refused")).collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].contains("for origin") && lines[0].contains("origin https://staging.example.com"),
        "{log}"
    );
    assert!(
        lines[1].contains("for sdk_app_id") && lines[1].contains("sdkappid 1400000777"),
        "{log}"
    );
    assert!(
        !log.contains("SECRETBODY") && !log.contains('\u{202e}'),
        "{log}"
    );
}

/// An upload's error carries the records before it (first lines,
/// redacted): what the SDK logged on the way to the error.
#[test]
fn an_uploaded_error_carries_the_records_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "");
    let log = "[08:40:55:001] <INFO> [\u{2191}t1|alice] enterRoom() [{\"sdkAppId\":1400000001,\"userSig\":\"eJwtjcEKgjAQRH9l2XMgMUjxWAj9gIfoIrJt1pJuYhNb\"}]\n[08:40:56:100] <WARN> [\u{2193}c1|alice] ice connection state: failed\n[08:40:56:200] <ERROR> [\u{2191}t1|alice] enterRoom() failed 3   OPERATION_FAILED: 'enterRoom' failed, reason: ice\n code:5501\n";
    let (code, text) = upload_from(port, "192.0.2.70", log);
    assert_eq!((code, text.trim()), (200, "{\"events\":1}"));
    // The group page shows them above the record.
    assert!(common::wait_until(Duration::from_secs(10), || {
        common::daemon::http_get(d.port, "/groups/media_connection")
            .is_some_and(|(_, h)| h.contains("<pre class=\"crumbs\">"))
    }));
    let (_, page) = common::daemon::http_get(d.port, "/groups/media_connection").unwrap();
    assert!(
        page.contains("ice connection state: failed") && !page.contains("eJwt"),
        "{page}"
    );
    d.stop();
    let evs = events(dir.path());
    let crumbs: Vec<&str> = evs[0]["breadcrumbs"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", evs[0]))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(crumbs.len(), 2, "{crumbs:?}");
    assert!(
        crumbs[0].contains("[redacted]") && !crumbs[0].contains("eJwt"),
        "{crumbs:?}"
    );
    assert!(
        crumbs[1].ends_with("ice connection state: failed"),
        "{crumbs:?}"
    );
    assert_eq!(evs[0]["group"], "media_connection");
}

/// An uploaded error's time is its record's: the upload's local time
/// (a browser in Tokyo, `toLocaleString` in en-US) less the arrival gives
/// the zone, the record's time of day its moment; the arrival is beside.
#[test]
fn an_uploaded_error_is_at_its_records_own_time() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "");
    let tokyo = jiff::tz::TimeZone::fixed(jiff::tz::offset(9));
    let now = jiff::Timestamp::now();
    let sent = tokyo.to_datetime(now);
    let at = now - jiff::SignedDuration::from_secs(40);
    let happened = tokyo.to_datetime(at);
    let body = serde_json::json!({
        "timestamp": sent.strftime("%-m/%-d/%Y, %-I:%M:%S %p").to_string(),
        "sdkAppId": APP.to_string(),
        "userId": "carol",
        "version": "5.17.1",
        "log": format!(
            "{} <ERROR> [\u{2191}t1|carol] enterRoom() failed 3   OPERATION_FAILED: 'enterRoom' failed, reason: ice\n code:5501",
            happened.strftime("[%H:%M:%S:%3f]")
        ),
    })
    .to_string();
    assert_eq!(post(port, "jssdk_log", body.as_bytes()), 200);
    d.stop();
    let evs = events(dir.path());
    assert_eq!(evs.len(), 1, "{evs:?}");
    let ts: jiff::Timestamp = evs[0]["ts"].as_str().unwrap().parse().unwrap();
    let received: jiff::Timestamp = evs[0]["received"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", evs[0]))
        .parse()
        .unwrap();
    let early = received.duration_since(ts).as_secs_f64();
    assert!((39.0..=42.0).contains(&early), "{} {early}", evs[0]);
    assert_eq!(ts.as_millisecond(), at.as_millisecond());
}

/// Each end report is a join attempt on the pages (the share that entered,
/// the user's own attempts) and, where the SDK measured them, the
/// session's first frames, round trip and uplink loss as histograms.
#[test]
fn end_reports_show_joins_per_user_and_the_sessions_quality() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "");
    let report = |user: &str, ret: i64, rtt: u32| {
        serde_json::json!({
            "uint32_sdk_app_id": APP,
            "msg_basic_info": {"string_sdk_version": "5.17.1", "uint32_avg_rtt": rtt, "uint32_avg_up_loss": 2},
            "msg_user_info": {"str_identifier": user, "uint64_tinyid": 1},
            "msg_path_enter_room": {"uint64_start_time": 1_765_000_000_000u64, "uint64_end_time": 1_765_000_001_500u64, "int32_end_ret": ret},
            "msg_path_recv_video": [{"uint64_start_enter_time": 1_765_000_000_000u64, "uint64_render_first_frame_time": 1_765_000_002_000u64}],
            "str_user_sig": "eJwSECRETSIGNATUREFORTHETESTeJwSECRETSIGNATURE",
        })
        .to_string()
        .into_bytes()
    };
    for (user, ret, rtt) in [("carol", 16460, 0), ("dave", 0, 120)] {
        assert_eq!(
            post(port, "jssdk_new_endreport", &report(user, ret, rtt)),
            200
        );
    }
    let m = d.metrics();
    let at = |name: &str| {
        metric(
            &m,
            &format!("{name}{{source=\"browser\",sdk_app_id=\"{APP}\"}}"),
        )
    };
    assert_eq!(
        at("trtc_browser_first_frame_seconds_count"),
        Some(2.0),
        "{m}"
    );
    assert_eq!(at("trtc_browser_first_frame_seconds_sum"), Some(4.0), "{m}");
    // carol's session measured no round trip: only dave's counts.
    assert_eq!(at("trtc_browser_rtt_seconds_count"), Some(1.0), "{m}");
    assert_eq!(at("trtc_browser_uplink_loss_ratio_sum"), Some(0.02), "{m}");
    let (_, index) = common::daemon::http_get(d.port, "/").unwrap();
    assert!(
        index.contains("Join attempts") && index.contains("50 %"),
        "{index}"
    );
    let (code, carol) = common::daemon::http_get(d.port, "/users/carol").unwrap();
    assert_eq!(code, 200);
    assert!(
        carol.contains("SCHEDULE_FAILED") && carol.contains("1.50"),
        "{carol}"
    );
    assert!(!carol.contains("eJwSECRET"), "{carol}");
    d.stop();
}
