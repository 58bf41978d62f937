//! HTTP ingest end to end: real HTTP requests in the bodies Fluent Bit and
//! Vector send; the answer comes only after the events are written (read
//! back at once); bearer token, unknown sources, body limits and a full
//! queue answer as documented, each counted.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

use common::daemon::{Daemon, assert_exactly_once, line, metric, seqs, write_config};

/// One HTTP/1.1 request; the status and the body of the answer.
fn post(port: u16, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let code = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (code, body)
}

fn json_lines(seqs: std::ops::RangeInclusive<u64>, field: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for n in seqs {
        let rec = serde_json::json!({ field: line(n).trim_end(), "date": 1.7e9 });
        b.extend_from_slice(rec.to_string().as_bytes());
        b.push(b'\n');
    }
    b
}

fn start(dir: &std::path::Path, extra: &str) -> (Daemon, u16) {
    let cfg = write_config(
        dir,
        &format!(
            "events:\n  path: events.ndjson\ningest:\n  listen: 127.0.0.1:0\n  sources: [web, backend]\n{extra}"
        ),
    );
    let mut d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    let ingest = d.bound_port(INGEST_SAYS);
    (d, ingest)
}

/// The daemon's log line that names the ingest address.
const INGEST_SAYS: &str = "accepting POST /ingest on http://";

#[test]
fn collector_bodies_are_written_before_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "");
    let events = dir.path().join("events.ndjson");
    // Fluent Bit `http` output, format json_lines: `log` and `date`.
    let (code, body) = post(
        port,
        "/ingest",
        &[("Content-Type", "application/json")],
        &json_lines(1..=100, "log"),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(seqs(&events).len(), 100, "written before the answer");
    assert!(body.contains("\"events\":100"), "{body}");
    // Vector `http` sink, codec json, newline framing: `message`; gzip.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&json_lines(101..=200, "message")).unwrap();
    let (code, _) = post(
        port,
        "/ingest/backend",
        &[
            ("Content-Type", "application/x-ndjson"),
            ("Content-Encoding", "gzip"),
        ],
        &gz.finish().unwrap(),
    );
    assert_eq!(code, 200);
    assert_eq!(seqs(&events).len(), 200);
    // Plain text lines.
    let text: String = (201..=210).map(line).collect();
    let (code, _) = post(
        port,
        "/ingest/web",
        &[("Content-Type", "text/plain")],
        text.as_bytes(),
    );
    assert_eq!(code, 200);
    let s = seqs(&events);
    assert_eq!(s.len(), 210);
    assert!(s.values().all(|&n| n == 1), "each once");
    // The source label is the ingest source.
    let m = d.metrics();
    assert_eq!(
        metric(&m, "trtc_logwatch_lines_read_total{source=\"web\"}"),
        Some(110.0)
    );
    assert_eq!(
        metric(&m, "trtc_logwatch_lines_read_total{source=\"backend\"}"),
        Some(100.0)
    );
    assert_eq!(
        metric(&m, "trtc_logwatch_ingest_requests_total{code=\"200\"}"),
        Some(3.0)
    );
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&events)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (first["source"].as_str(), first["path"].as_str()),
        (Some("web"), Some("http"))
    );
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn token_unknown_source_and_body_limit_are_refused_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "s3cret\n").unwrap();
    let (d, port) = start(dir.path(), "  token_file: token\n  max_body_bytes: 4096\n");
    let body = json_lines(1..=3, "log");
    let (code, answer) = post(port, "/ingest", &[], &body);
    assert_eq!(
        (code, answer.trim()),
        (401, "bearer token required (Authorization: Bearer ...)")
    );
    let (code, answer) = post(port, "/ingest", &[("Authorization", "Bearer wrong")], &body);
    assert_eq!((code, answer.trim()), (401, "wrong bearer token"));
    let auth = [("Authorization", "Bearer s3cret")];
    assert_eq!(post(port, "/ingest/nope", &auth, &body).0, 404);
    assert_eq!(
        post(port, "/ingest", &auth, &json_lines(1..=100, "log")).0,
        413
    );
    // A small gzip body that inflates past the limit.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b'a'; 100_000]).unwrap();
    let gz = gz.finish().unwrap();
    assert!(gz.len() < 4096);
    let mut h = auth.to_vec();
    h.push(("Content-Encoding", "gzip"));
    assert_eq!(post(port, "/ingest", &h, &gz).0, 413);
    // A body that says gzip and is not.
    assert_eq!(post(port, "/ingest", &h, b"not gzip at all").0, 400);
    assert_eq!(post(port, "/ingest", &auth, &body).0, 200);
    let m = d.metrics();
    for (code, n) in [
        ("401", 2.0),
        ("404", 1.0),
        ("413", 2.0),
        ("400", 1.0),
        ("200", 1.0),
        ("503", 0.0),
    ] {
        assert_eq!(
            metric(
                &m,
                &format!("trtc_logwatch_ingest_requests_total{{code=\"{code}\"}}")
            ),
            Some(n),
            "{code}"
        );
    }
    assert_eq!(
        seqs(&dir.path().join("events.ndjson")).len(),
        3,
        "only the accepted request"
    );
    d.stop();
}

#[test]
fn a_full_queue_answers_503_and_queues_nothing_of_the_request() {
    let dir = tempfile::tempdir().unwrap();
    // Events on a stdout pipe nobody reads: the queue (100) fills and stays full.
    let cfg = write_config(
        dir.path(),
        "events:\n  queue_capacity: 100\ningest:\n  listen: 127.0.0.1:0\n  write_timeout: 1s\n",
    );
    let mut d = Daemon::start_with(
        &["--config", cfg.to_str().unwrap()],
        Stdio::null(),
        Stdio::piped(),
    );
    let ingest = d.bound_port(INGEST_SAYS);
    let mut answers = Vec::new();
    for i in 0..40u64 {
        let (code, _) = post(
            ingest,
            "/ingest",
            &[],
            &json_lines(i * 50 + 1..=i * 50 + 50, "log"),
        );
        answers.push(code);
        if code == 503 {
            break;
        }
    }
    assert_eq!(answers.last(), Some(&503), "{answers:?}");
    // Now read what the daemon wrote: exactly the accepted requests' events
    // (200 written, 202 queued past the write timeout).
    let accepted = answers.iter().filter(|&&c| c == 200 || c == 202).count();
    assert!(answers.contains(&202), "{answers:?}");
    let mut out = d.child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let (code, _, err) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    let written = reader.join().unwrap();
    let n = written.lines().count();
    // Refused requests (503: queue full) write nothing; accepted ones all.
    assert_eq!(
        n,
        accepted * 50,
        "{n} events for {accepted} accepted requests"
    );
}

/// A WARN record saying the SDK retries or falls back, quoting an error:
/// no error event, counted per key as a recovery.
#[test]
fn recoveries_are_counted_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "");
    let body = "[10:00:00:000] <WARN> [↑t1|alice] ICE_TRANSPORT_ERROR, retrying with TURN over TCP\n[10:00:00:001] <WARN> [↑t1|alice] 网络异常 ICE_TRANSPORT_ERROR，正在重连\n[10:00:00:002] <ERROR> [↑t1|alice] RtcError: ICE/DTLS Transport connection failed <ICE_TRANSPORT_ERROR 0x4003>\n";
    let (code, answer) = post(
        port,
        "/ingest",
        &[("Content-Type", "text/plain")],
        body.as_bytes(),
    );
    assert_eq!(code, 200, "{answer}");
    assert!(answer.contains("\"events\":1"), "{answer}");
    let m = d.metrics();
    let key = "{catalog=\"trtc-web-v4\",category=\"transport\",key=\"ICE_TRANSPORT_ERROR\",code=\"16387\"}";
    assert_eq!(
        metric(&m, &format!("trtc_recoveries_total{key}")),
        Some(2.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, &format!("trtc_errors_total{key}")),
        Some(1.0),
        "{m}"
    );
    d.stop();
}

/// After an SDK upgrade: an error in the SDK's own form whose key the
/// catalog does not know is an event of its own (UNKNOWN_SDK_ERROR),
/// counted per form, its first record logged once per name.
#[test]
fn catalog_drift_is_an_event_counted_per_form_and_logged_once() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "");
    let v4 = "TRTC[10:00:00:000] <ERROR> RtcError: a new failure. \nRefer to: https://x.example/doc\n <NEW_FANCY_ERROR 0x4099>\n";
    let v5 = "[10:00:00:001] <ERROR> [↑t1|alice] startLocalVideo() failed 7   BRAND_NEW_ERROR: x. \nRefer to: https://x.example/doc\n. code:5301 params: []\n";
    // A new name without a code line: only the form says it is an error.
    let v5_bare =
        "[10:00:00:002] <ERROR> [↑t1|alice] startLocalAudio() failed 8   BRAND_NEW_ERROR: y.\n";
    let body = format!("{v4}{v4}{v5}{v5_bare}");
    let (code, answer) = post(
        port,
        "/ingest",
        &[("Content-Type", "text/plain")],
        body.as_bytes(),
    );
    assert_eq!(code, 200, "{answer}");
    // The v5 record with a known extraCode is that code's error.
    assert!(answer.contains("\"events\":4"), "{answer}");
    let m = d.metrics();
    let drift = |form: &str| {
        metric(
            &m,
            &format!("trtc_logwatch_catalog_drift_total{{form=\"{form}\"}}"),
        )
    };
    assert_eq!(drift("v4_key"), Some(2.0), "{m}");
    assert_eq!(drift("v5_name"), Some(1.0), "{m}");
    let text = std::fs::read_to_string(dir.path().join("events.ndjson")).unwrap();
    let keys: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["key"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        keys.iter().filter(|k| *k == "UNKNOWN_SDK_ERROR").count(),
        3,
        "{keys:?}"
    );
    assert!(keys.iter().any(|k| k == "DEVICE_ERROR"), "{keys:?}");
    let (_, _, log) = d.stop();
    assert_eq!(
        log.matches("catalog drift: NEW_FANCY_ERROR").count(),
        1,
        "{log}"
    );
}

/// What collectors send is decoded whole, and what cannot be decoded is
/// refused (415), never answered 200 with its events lost: a body of
/// several gzip members, `x-gzip`, `deflate`, nested arrays of strings; `br`
/// and `zstd` are refused and counted. The bearer scheme's case is free.
#[test]
fn every_encoding_is_decoded_whole_or_refused() {
    use flate2::Compression;
    use flate2::write::{GzEncoder, ZlibEncoder};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "s3cret\n").unwrap();
    let (d, port) = start(dir.path(), "  token_file: token\n");
    let events = dir.path().join("events.ndjson");
    let auth = ("Authorization", "bearer s3cret");
    let gz = |b: &[u8]| {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    };
    // Two gzip members, one after the other.
    let mut two = gz(&json_lines(1..=50, "log"));
    two.extend(gz(&json_lines(51..=100, "log")));
    let (code, answer) = post(port, "/ingest", &[auth, ("Content-Encoding", "gzip")], &two);
    assert_eq!(code, 200, "{answer}");
    assert_eq!(seqs(&events).len(), 100, "both members");
    let (code, _) = post(
        port,
        "/ingest",
        &[auth, ("Content-Encoding", "x-gzip")],
        &gz(&json_lines(101..=110, "log")),
    );
    assert_eq!(code, 200);
    let mut z = ZlibEncoder::new(Vec::new(), Compression::fast());
    z.write_all(&json_lines(111..=120, "log")).unwrap();
    let (code, _) = post(
        port,
        "/ingest",
        &[auth, ("Content-Encoding", "deflate")],
        &z.finish().unwrap(),
    );
    assert_eq!(code, 200);
    // Nested arrays of strings.
    let nested = serde_json::json!([[line(121).trim_end()], [[line(122).trim_end(), 1.7e9]]]);
    let (code, _) = post(port, "/ingest", &[auth], nested.to_string().as_bytes());
    assert_eq!(code, 200);
    assert_eq!(seqs(&events).len(), 122);
    // zstd, two frames one after the other (what Vector and Fluent Bit send).
    let mut zs = zstd::encode_all(&json_lines(123..=130, "log")[..], 3).unwrap();
    zs.extend(zstd::encode_all(&json_lines(131..=140, "log")[..], 3).unwrap());
    let (code, answer) = post(port, "/ingest", &[auth, ("Content-Encoding", "zstd")], &zs);
    assert_eq!(code, 200, "{answer}");
    assert_eq!(seqs(&events).len(), 140, "both frames");
    // A zstd frame asking for a window larger than any body may need is
    // refused, not allocated.
    let mut big = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    big.set_parameter(zstd::zstd_safe::CParameter::WindowLog(27))
        .unwrap();
    big.set_pledged_src_size(None).unwrap();
    big.write_all(&json_lines(141..=142, "log")).unwrap();
    let big = big.finish().unwrap();
    let (code, answer) = post(port, "/ingest", &[auth, ("Content-Encoding", "zstd")], &big);
    assert_eq!(code, 400, "{answer}");
    assert!(answer.contains("zstd"), "{answer}");
    for enc in ["br", "compress"] {
        let (code, answer) = post(
            port,
            "/ingest",
            &[auth, ("Content-Encoding", enc)],
            &json_lines(200..=201, "log"),
        );
        assert_eq!(code, 415, "{enc}: {answer}");
    }
    assert!(seqs(&events).values().all(|&n| n == 1));
    assert_eq!(seqs(&events).len(), 140, "nothing of a refused body");
    let m = d.metrics();
    assert_eq!(
        metric(&m, "trtc_logwatch_ingest_requests_total{code=\"415\"}"),
        Some(2.0),
        "{m}"
    );
    d.stop();
}

/// A client that sends its body a byte at a time no longer holds its
/// connection: the whole body comes within `ingest.body_timeout` or the
/// answer is 408, counted; a client that sends at once is served meanwhile.
#[test]
fn a_slow_body_is_answered_408_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "  body_timeout: 1s\n");
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        slow,
        "POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nabc"
    )
    .unwrap();
    // Served while the slow one waits.
    let (code, _) = post(
        port,
        "/ingest",
        &[("Content-Type", "text/plain")],
        line(1).as_bytes(),
    );
    assert_eq!(code, 200);
    // The body never completes: only the timeout can answer it.
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert_eq!(
        metric(
            &d.metrics(),
            "trtc_logwatch_ingest_requests_total{code=\"408\"}"
        ),
        Some(1.0)
    );
    d.stop();
}

/// A `/proc/PID/status` figure of the daemon, in KiB.
fn status_kib(d: &Daemon, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{}/status", d.child.id())).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The attack: 8 KiB of gzip that expands to an 8 MiB JSON array of
/// numbers, 64 requests at once (it took the daemon to 6.7 GB and left
/// 490 MB behind). Requests in flight share one memory budget: beyond it
/// 503, a request that alone needs more 413; the memory comes back, and a
/// well-formed request is served after.
#[test]
fn requests_in_flight_share_one_memory_budget() {
    use flate2::Compression;
    use flate2::write::GzEncoder;
    let dir = tempfile::tempdir().unwrap();
    let (mut d, port) = start(dir.path(), "  max_memory_bytes: 33554432\n");
    d.wait_ready();
    let events = dir.path().join("events.ndjson");
    let gz = |b: &[u8]| {
        let mut e = GzEncoder::new(Vec::new(), Compression::best());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    };
    let mut numbers = b"[".to_vec();
    while numbers.len() < (8 << 20) - 4 {
        numbers.extend_from_slice(b"1,");
    }
    numbers.extend_from_slice(b"1]");
    let bomb = gz(&numbers);
    assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
    let before = status_kib(&d, "VmRSS:");
    let answers: Vec<u16> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..64)
            .map(|_| s.spawn(|| post(port, "/ingest", &[("Content-Encoding", "gzip")], &bomb).0))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        answers.iter().all(|c| *c == 200 || *c == 503),
        "{answers:?}"
    );
    assert!(answers.contains(&200), "{answers:?}");
    // Many small errors: 8 MiB of them make events that alone need more
    // than the budget: 413, nothing written.
    let mut storm = b"[".to_vec();
    while storm.len() < (8 << 20) - 64 {
        storm.extend_from_slice(b"\"RtcError: x <ICE_TRANSPORT_ERROR 0x4003>\",");
    }
    storm.extend_from_slice(b"\"\"]");
    let (code, answer) = post(port, "/ingest", &[], &storm);
    assert_eq!(code, 413, "{answer}");
    assert!(answer.contains("max_memory_bytes"), "{answer}");
    assert!(!events.exists() || seqs(&events).is_empty());
    // Within the budget (32 MiB) and the process around it; it was 6.7 GB.
    let peak = status_kib(&d, "VmHWM:");
    assert!(
        peak < 128 * 1024,
        "peak RSS {peak} KiB (at start {before} KiB)"
    );
    // Given back: nothing charged, and a good request is served.
    let m = d.metrics();
    assert_eq!(
        metric(&m, "trtc_logwatch_ingest_memory_bytes"),
        Some(0.0),
        "{m}"
    );
    let (code, _) = post(port, "/ingest", &[], &json_lines(1..=10, "log"));
    assert_eq!(code, 200);
    assert_exactly_once(&events, 10, "");
    let after = status_kib(&d, "VmRSS:");
    eprintln!("RSS at start {before} KiB, peak {peak} KiB, after {after} KiB");
    assert!(
        after < before + 32 * 1024,
        "RSS after {after} KiB, at start {before} KiB"
    );
    d.stop();
}

/// A client that sends part of a request's headers and stops is answered
/// 408 once `http.header_timeout` passes (it was closed without a word); an
/// idle connection is closed without an answer.
#[test]
fn half_sent_headers_are_answered_408() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "events:\n  path: events.ndjson\nhttp:\n  header_timeout: 1s\ningest:\n  listen: 127.0.0.1:0\n",
    );
    let mut d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    let port = d.bound_port(INGEST_SAYS);
    let mut half = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for s in [&half, &idle] {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    half.write_all(b"POST /ingest HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = half.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(
        answer.contains("headers did not come in time"),
        "{answer:?}"
    );
    let mut nothing = Vec::new();
    let _ = idle.read_to_end(&mut nothing);
    assert!(
        nothing.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&nothing)
    );
    d.stop();
}

/// The attack: slow clients take every connection (each sends a body a byte
/// at a time). A well-behaved client is still served: at the cap, a new
/// connection takes the slot of the one that has waited longest on its
/// client; the slow ones only push each other out (counted).
#[test]
fn slow_clients_at_the_connection_cap_leave_room_for_well_behaved_ones() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "events:\n  path: events.ndjson\nhttp:\n  max_connections: 8\ningest:\n  listen: 127.0.0.1:0\n  body_timeout: 60s\n",
    );
    let mut d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    let port = d.bound_port(INGEST_SAYS);
    let mut slow = Vec::new();
    for _ in 0..8 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nabc"
        )
        .unwrap();
        slow.push(s);
    }
    // The slow ones have waited on their bodies for more than a second.
    std::thread::sleep(Duration::from_millis(1500));
    for s in &mut slow {
        let _ = s.write_all(b"d");
    }
    for n in 1..=3 {
        let (code, answer) = post(
            port,
            "/ingest",
            &[("Content-Type", "text/plain")],
            line(n).as_bytes(),
        );
        assert_eq!(code, 200, "{answer}");
    }
    assert_exactly_once(&dir.path().join("events.ndjson"), 3, "");
    let m = d.metrics();
    assert!(
        // One for the first request; a later one may find its predecessor's
        // slot not yet given back.
        (1.0..=3.0).contains(
            &metric(&m, "trtc_logwatch_http_connections_pushed_out_total").unwrap_or(0.0)
        ),
        "{m}"
    );
    // Each slow one pushed out was told so.
    let pushed =
        metric(&m, "trtc_logwatch_http_connections_pushed_out_total").unwrap_or(0.0) as usize;
    let mut told = 0;
    for s in &mut slow {
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        told += usize::from(answer.starts_with("HTTP/1.1 408"));
    }
    assert_eq!(told, pushed, "each pushed-out client gets its 408");
    d.stop();
}

/// A collector's own time of each record (Fluent Bit's `date`, Vector's
/// `timestamp`) is the event's `ts` when the line has none of its own, and
/// the arrival time is beside it as `received`; a line's own time wins.
#[test]
fn events_carry_the_collectors_time_of_their_record() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "");
    let body = concat!(
        r#"{"date":1767225600.5,"log":"RtcError: x <ICE_TRANSPORT_ERROR 0x4003> seq=1"}"#,
        "\n",
        r#"{"timestamp":"2026-01-02T03:04:05Z","message":"RtcError: x <ICE_TRANSPORT_ERROR 0x4003> seq=2"}"#,
        "\n",
        r#"{"log":"RtcError: x <ICE_TRANSPORT_ERROR 0x4003> seq=3"}"#,
        "\n",
        r#"{"date":1767225600,"log":"2026-03-04 05:06:07.000 <ERROR> RtcError: x <ICE_TRANSPORT_ERROR 0x4003> seq=4"}"#,
        "\n",
        r#"{"date":"not a time","log":"RtcError: x <ICE_TRANSPORT_ERROR 0x4003> seq=5"}"#,
        "\n",
    );
    let (code, answer) = post(port, "/ingest", &[], body.as_bytes());
    assert_eq!(code, 200, "{answer}");
    d.stop();
    let text = std::fs::read_to_string(dir.path().join("events.ndjson")).unwrap();
    let evs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(evs.len(), 5, "{text}");
    assert_eq!(evs[0]["ts"], "2026-01-01T00:00:00.5Z");
    assert!(
        evs[0]["received"]
            .as_str()
            .is_some_and(|r| r.starts_with("20")),
        "{}",
        evs[0]
    );
    assert_eq!(evs[1]["ts"], "2026-01-02T03:04:05Z");
    assert!(evs[1]["received"].is_string());
    // No collector time: read time, nothing beside.
    assert!(evs[2].get("received").is_none(), "{}", evs[2]);
    // The line's own time wins.
    assert!(
        evs[3]["ts"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-04T05:06:07"),
        "{}",
        evs[3]
    );
    assert!(evs[3].get("received").is_none());
    assert!(evs[4].get("received").is_none());
}

/// A real collector: syslog-ng (Debian's package, from
/// scripts/install-test-deps.sh) runs the shipped recipe
/// `deploy/collectors/syslog-ng-http.conf` (its file path and URL pointed
/// here) against a growing log: every line arrives once, as an event with
/// its user and syslog-ng's time. Skipped with a message where syslog-ng is
/// missing, failed under CI.
#[test]
fn a_real_collector_runs_the_shipped_recipe_end_to_end() {
    let Some(bin) = ["/usr/sbin/syslog-ng", "/usr/bin/syslog-ng"]
        .iter()
        .map(std::path::Path::new)
        .find(|p| p.is_file())
    else {
        common::require(Some("syslog-ng is not installed".into()));
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(dir.path(), "");
    let app = dir.path().join("app.log");
    std::fs::write(&app, "").unwrap();
    let recipe = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/collectors/syslog-ng-http.conf"
    ))
    .unwrap()
    .replace("/var/log/my-trtc-app/app.log", app.to_str().unwrap())
    .replace(
        "http://127.0.0.1:9899/ingest",
        &format!("http://127.0.0.1:{port}/ingest/web"),
    )
    .replace("follow-freq(1)", "follow-freq(0.2)")
    .replace("batch-timeout(1000)", "batch-timeout(200)");
    let conf = dir.path().join("syslog-ng.conf");
    std::fs::write(&conf, recipe).unwrap();
    let mut collector = std::process::Command::new(bin)
        .args(["-F", "--no-caps", "-f"])
        .arg(&conf)
        .arg("-R")
        .arg(dir.path().join("persist"))
        .arg("-p")
        .arg(dir.path().join("pid"))
        .arg("-c")
        .arg(dir.path().join("ctl"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // syslog-ng is up once its control socket is.
    assert!(common::wait_until(Duration::from_secs(10), || dir
        .path()
        .join("ctl")
        .exists()));
    let mut f = std::fs::OpenOptions::new().append(true).open(&app).unwrap();
    for n in 1..=30 {
        writeln!(f, "{}", line(n).trim_end()).unwrap();
        if n % 10 == 0 {
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    let events = dir.path().join("events.ndjson");
    let t = std::time::Instant::now();
    while seqs(&events).len() < 30 && t.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = collector.kill();
    let _ = collector.wait();
    d.stop();
    assert_exactly_once(&events, 30, "through syslog-ng");
    let text = std::fs::read_to_string(&events).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["source"], "web");
    assert!(
        first["received"].is_string(),
        "syslog-ng's time is the event's: {first}"
    );
}

/// A request refused because its events would go over the memory budget
/// (413) writes none of them and counts none, and the next request is
/// answered at once.
#[test]
fn a_request_refused_for_its_memory_writes_and_counts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (d, port) = start(
        dir.path(),
        "  max_memory_bytes: 1048576\n  max_body_bytes: 524288\n",
    );
    // 3,000 error records: 340 KB sent, megabytes of events.
    let body: String = (1000..4000).map(line).collect();
    let (code, answer) = post(
        port,
        "/ingest/web",
        &[("Content-Type", "text/plain")],
        body.as_bytes(),
    );
    assert_eq!(code, 413, "{answer}");
    let (code, answer) = post(
        port,
        "/ingest/web",
        &[("Content-Type", "text/plain")],
        line(1).as_bytes(),
    );
    assert_eq!(code, 200, "{answer}");
    let m = d.metrics();
    let (code, _, log) = d.stop();
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(seqs(&dir.path().join("events.ndjson")).len(), 1);
    assert_eq!(
        metric(&m, "trtc_logwatch_lines_read_total{source=\"web\"}"),
        Some(1.0),
        "{m}"
    );
}
