//! The shipped Prometheus rules and Grafana dashboard, proven with the real
//! tools: promtool checks and unit tests, then a real Prometheus scraping a
//! real `trtc-logwatch run` that follows a log file and takes browser
//! uploads and end reports, where the ICE_TRANSPORT_ERROR spike alert goes
//! pending then firing, then the join-failure alert fires, and every
//! dashboard query (the browser panels too) returns data; the threshold
//! panels draw the alerts' own expressions.
//!
//! Prometheus and promtool come from Debian's `prometheus` package
//! (`scripts/install-test-deps.sh`). Without them the tests fail under CI and
//! are skipped with a message elsewhere.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::daemon::{Daemon, append, free_port, http_get};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tool(name: &str) -> Option<PathBuf> {
    common::require_tool(name)
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn promtool_checks_and_tests_the_shipped_rules() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let dir = root().join("deploy/prometheus");
    let out = run_ok(
        Command::new(&promtool)
            .args(["check", "rules"])
            .arg(dir.join("rules.yml")),
    );
    assert!(out.contains("SUCCESS: 17 rules found"), "{out}");
    let out = run_ok(
        Command::new(&promtool)
            .args(["test", "rules"])
            .arg(dir.join("rules.test.yml")),
    );
    assert!(out.contains("SUCCESS"), "{out}");
    run_ok(
        Command::new(&promtool)
            .args(["check", "config"])
            .arg(dir.join("prometheus.example.yml")),
    );
}

/// Kills the child when dropped, pass or fail.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn api(port: u16, path: &str) -> Value {
    let (status, body) = http_get(port, path).unwrap_or((0, String::new()));
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn query(port: u16, q: &str) -> Vec<Value> {
    let v = api(port, &format!("/api/v1/query?query={}", enc(q)));
    assert_eq!(v["status"], "success", "{q}: {v}");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// The shipped rules with windows and `for:` durations made short enough
/// for a test; everything else (floors, factors, expressions) is unchanged.
fn test_rules() -> String {
    let shipped = std::fs::read_to_string(root().join("deploy/prometheus/rules.yml")).unwrap();
    let mut s = shipped.clone();
    for (from, to) in [
        ("[1h] offset 5m", "[1m] offset 10s"),
        ("[5m]", "[10s]"),
        ("for: 5m", "for: 3s"),
        ("for: 10m", "for: 3s"),
        ("for: 2m", "for: 3s"),
        ("for: 15m", "for: 3s"),
    ] {
        assert!(s.contains(from), "rules.yml no longer contains {from}");
        s = s.replace(from, to);
    }
    s
}

fn start_prometheus(prometheus: &Path, dir: &Path, target_port: u16, port: u16) -> Guard {
    std::fs::write(dir.join("rules.yml"), test_rules()).unwrap();
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [rules.yml]\nscrape_configs:\n  - job_name: trtc-logwatch\n    static_configs:\n      - targets: [\"127.0.0.1:{target_port}\"]\n"
        ),
    )
    .unwrap();
    let child = Command::new(prometheus)
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("prometheus.log")).unwrap(),
        ))
        .spawn()
        .unwrap();
    let g = Guard(child);
    let t = Instant::now();
    while http_get(port, "/-/ready").map(|r| r.0) != Some(200) {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "prometheus not ready: {}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    g
}

const ORIGIN: &str = "https://app.example.com";

/// One step of browser traffic to the endpoint at `port`: a log upload
/// with an SDK 5 error of a name the catalog does not know (drift) and a
/// recovery, an upload from another origin (refused), and an end report:
/// every other one a join that failed for the schedule, with its first
/// frame and round trip.
fn browser_traffic(port: u16, n: u64) {
    let path =
        |cmd: &str| format!("/trtc/v5/AVQualityReportSvc/C2S?sdkappid=1400000001&cmdtype={cmd}");
    let headers = [
        ("Origin", ORIGIN),
        ("Content-Type", "text/plain;charset=UTF-8"),
    ];
    let log = serde_json::json!({
        "sdkAppId": "1400000001",
        "userId": format!("user{}", n % 7),
        "version": "5.17.1",
        "log": format!("[10:00:00:001] <ERROR> [↑t1|u] startLocalVideo() failed 7   BRAND_NEW_ERROR_{}: x.\n[10:00:00:002] <WARN> [↑t1|u] ICE_TRANSPORT_ERROR, retrying with TURN over TCP", n % 3),
    })
    .to_string();
    let (code, text) = common::daemon::http_post_with(port, &path("jssdk_log"), &headers, &log);
    assert_eq!(code, 200, "{text}");
    let other = [("Origin", "https://elsewhere.example"), headers[1]];
    let (code, _) = common::daemon::http_post_with(port, &path("jssdk_log"), &other, &log);
    assert_eq!(code, 403);
    let start = 1_765_000_000_000u64;
    let report = serde_json::json!({
        "uint32_sdk_app_id": 1_400_000_001u64,
        "msg_basic_info": {"string_sdk_version": "5.17.1", "uint32_avg_rtt": 80, "uint32_avg_up_loss": 1},
        "msg_user_info": {"str_identifier": format!("user{}", n % 7)},
        "msg_path_enter_room": {"uint64_start_time": start, "uint64_end_time": start + 1500, "int32_end_ret": if n.is_multiple_of(2) { 16460 } else { 0 }},
        "msg_path_recv_video": [{"uint64_start_enter_time": start, "uint64_render_first_frame_time": start + 2000}],
    })
    .to_string();
    let (code, text) =
        common::daemon::http_post_with(port, &path("jssdk_new_endreport"), &headers, &report);
    assert_eq!(code, 200, "{text}");
}

/// The states alert `name` went through (each once, in order) while
/// `step` ran every 200 ms, until it fired or a minute passed.
fn states_until_firing(port: u16, name: &str, mut step: impl FnMut()) -> Vec<String> {
    let mut states: Vec<String> = Vec::new();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(60) {
        step();
        if let Some(s) = alert_state(port, name) {
            if states.last() != Some(&s) {
                states.push(s.clone());
            }
            if s == "firing" {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    states
}

fn alert_state(port: u16, name: &str) -> Option<String> {
    let v = api(port, "/api/v1/alerts");
    v["data"]["alerts"]
        .as_array()?
        .iter()
        .find(|a| a["labels"]["alertname"] == name)
        .and_then(|a| a["state"].as_str().map(str::to_string))
}

#[test]
fn ice_spike_alert_fires_in_real_prometheus_and_dashboard_queries_return_data() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let mut log = append(&logs.join("app.log"));
    let glob = format!("{}/*.log", logs.display());
    let state = dir.path().join("state");
    let events = dir.path().join("events.ndjson");
    // The browser endpoint too: uploads, refusals and end reports feed the
    // dashboard's browser panels and the join alert.
    let cfg = common::daemon::write_config(
        dir.path(),
        &format!(
            "browser:\n  listen: 127.0.0.1:0\n  origins: [\"{ORIGIN}\"]\n  sdk_app_ids: [1400000001]\n  events_per_minute: 100000\n  events_burst: 100000\n  uploads_per_minute: 100000\n"
        ),
    );
    let mut daemon = Daemon::start(&[
        "--config",
        cfg.to_str().unwrap(),
        "--follow",
        &glob,
        "--state-dir",
        state.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
    ]);
    let bport = daemon.bound_port("accepting the SDK's log upload (loggerProxy) on http://");
    let pdir = dir.path().join("prom");
    std::fs::create_dir(&pdir).unwrap();
    let pport = free_port();
    let _prom = start_prometheus(&prometheus, &pdir, daemon.port, pport);

    // Spike: 25 ICE_TRANSPORT_ERROR lines a second from 7 users (one user
    // alone pages nobody), and a few signalling failures with an account
    // cause, until the alert fires.
    let mut n = 0u64;
    let states = states_until_firing(pport, "TrtcIceTransportErrorSpike", || {
        browser_traffic(bport, n);
        for _ in 0..5 {
            n += 1;
            let user = n % 7;
            writeln!(log, "[10:00:00:000] <ERROR> [↑c1|user{user}] RtcError: ICE/DTLS Transport connection failed <ICE_TRANSPORT_ERROR 0x4003> seq={n}").unwrap();
        }
        if n.is_multiple_of(50) {
            writeln!(log, "RtcError: SignalChannel setup failure: (errorCode: 70001, errorMsg: userSig expired }}) <SIGNAL_CHANNEL_SETUP_FAILED 0x4001>").unwrap();
            // An app's JSON log with the SDK version and the browser.
            writeln!(log, "{{\"level\":\"error\",\"userId\":\"user1\",\"sdkVersion\":\"4.15.22\",\"userAgent\":\"Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/120.0.0.0 Safari/537.36\",\"msg\":\"RtcError: x <ICE_TRANSPORT_ERROR 0x4003>\"}}").unwrap();
        }
    });
    assert_eq!(states, ["pending", "firing"], "alert states seen, in order");
    // Half the join attempts fail (the schedule is unreachable): the join
    // alert goes pending, then fires, for the app's sdkAppId.
    let join_states = states_until_firing(pport, "TrtcJoinFailureRateHigh", || {
        n += 5;
        browser_traffic(bport, n);
    });
    assert_eq!(
        join_states.last().map(String::as_str),
        Some("firing"),
        "{join_states:?}"
    );
    let joins = api(pport, "/api/v1/alerts");
    let join = joins["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["alertname"] == "TrtcJoinFailureRateHigh")
        .unwrap()
        .clone();
    assert_eq!(join["labels"]["sdk_app_id"], "1400000001", "{join}");
    assert!(
        join["annotations"]["runbook_url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/groups/room_entry")),
        "{join}"
    );
    // Who is hit: 7 users, in the gauge and in the page.
    let users = query(
        pport,
        r#"trtc_group_affected_users{group="media_connection",window="5m"}"#,
    );
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0]["value"][1], "7", "{users:?}");
    let keyed = query(
        pport,
        r#"trtc_affected_users{key="ICE_TRANSPORT_ERROR",window="1h"}"#,
    );
    assert_eq!(keyed[0]["value"][1], "7", "{keyed:?}");
    let alerts = api(pport, "/api/v1/alerts");
    let ice = alerts["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["alertname"] == "TrtcIceTransportErrorSpike")
        .unwrap()
        .clone();
    assert_eq!(
        ice["annotations"]["affected_users"], "7 in the last 5 minutes",
        "{ice}"
    );
    assert!(
        ice["annotations"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("/s, above 0.2/s")),
        "{ice}"
    );
    assert_eq!(ice["labels"]["group"], "media_connection", "{ice}");

    // The counter arrived with the catalog's labels and the scrape job's.
    let r = query(pport, r#"trtc_errors_total{key="ICE_TRANSPORT_ERROR"}"#);
    assert_eq!(r.len(), 1, "{r:?}");
    let m = &r[0]["metric"];
    assert_eq!(
        (
            m["catalog"].as_str(),
            m["category"].as_str(),
            m["code"].as_str(),
            m["job"].as_str()
        ),
        (
            Some("trtc-web-v4"),
            Some("transport"),
            Some("16387"),
            Some("trtc-logwatch")
        )
    );
    assert!(r[0]["value"][1].as_str().unwrap().parse::<f64>().unwrap() > 0.0);
    let causes = query(
        pport,
        r#"trtc_error_causes_total{category="account",code="70001"}"#,
    );
    assert_eq!(causes.len(), 1);

    let dash: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("deploy/grafana/trtc-logwatch.json")).unwrap(),
    )
    .unwrap();
    let mut exprs = Vec::new();
    for p in dash["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            exprs.push(t["expr"].as_str().unwrap().to_string());
        }
    }
    assert!(exprs.len() >= 10, "{exprs:?}");
    let queries: Vec<String> = exprs
        .iter()
        .map(|e| {
            e.replace("$__rate_interval", "10s")
                .replace("$instance", ".*")
                .replace("$app", ".*")
        })
        .collect();
    // The recording rules and the windowed queries have data once
    // Prometheus has evaluated them a few times: wait for it.
    common::wait_until(Duration::from_secs(30), || {
        queries.iter().all(|q| !query(pport, q).is_empty())
            && !query(pport, "trtc_key:errors:rate5m").is_empty()
    });
    for q in &queries {
        let r = query(pport, q);
        assert!(!r.is_empty(), "dashboard query returned no data: {q}");
    }
    // The instance variable's query.
    let v = api(
        pport,
        &format!(
            "/api/v1/label/instance/values?match[]={}",
            enc("trtc_logwatch_build_info")
        ),
    );
    assert!(!v["data"].as_array().unwrap().is_empty(), "{v}");
    // And the recording rules work on the real data.
    assert!(!query(pport, "trtc_key:errors:rate5m").is_empty());
    daemon.stop();
}

/// The Prometheus Operator's PodMonitor names the job as the rules and the
/// dashboard expect, from a label the sidecar's pods carry.
#[test]
fn the_pod_monitor_and_the_sidecar_agree_with_the_rules() {
    let read = |p: &str| std::fs::read_to_string(root().join(p)).unwrap();
    let pm = read("deploy/kubernetes/podmonitor.yaml");
    let sidecar = read("deploy/kubernetes/sidecar.yaml");
    let rules = read("deploy/prometheus/rules.yml");
    assert!(pm.contains("kind: PodMonitor") && pm.contains("jobLabel: trtc-logwatch-job"));
    assert!(pm.contains("matchLabels: {trtc-logwatch-job: trtc-logwatch}"));
    assert!(sidecar.contains("trtc-logwatch-job: trtc-logwatch"));
    assert!(rules.contains(r#"up{job=~"(.*/)?trtc-logwatch"}"#));
    let _: serde_json::Value = serde_saphyr::from_str(&pm).expect("valid YAML");
    // Every workload in deploy/kubernetes/ is selected by the monitor, and
    // names its alerts' app by the label the monitor copies (not its own
    // `app`, which names an ingest or browser tier).
    assert!(pm.contains("__meta_kubernetes_pod_label_trtc_logwatch_app"));
    let mut workloads = 0;
    for entry in std::fs::read_dir(root().join("deploy/kubernetes")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in text.split("\n---\n") {
            let v: serde_json::Value = serde_saphyr::from_str(doc).expect("valid YAML");
            if !matches!(
                v["kind"].as_str(),
                Some("Deployment" | "DaemonSet" | "StatefulSet")
            ) {
                continue;
            }
            workloads += 1;
            let labels = &v["spec"]["template"]["metadata"]["labels"];
            assert_eq!(
                labels["trtc-logwatch-job"],
                "trtc-logwatch",
                "{}",
                path.display()
            );
            assert!(
                labels["trtc-logwatch-app"].is_string(),
                "{}",
                path.display()
            );
        }
    }
    assert!(workloads >= 3, "{workloads}");
    // The browser endpoint runs behind a Service that keeps a client on one
    // replica.
    let browser = read("deploy/kubernetes/browser.yaml");
    assert!(browser.contains("kind: Service") && browser.contains("sessionAffinity: ClientIP"));
    assert!(browser.contains("targetPort: browser") && browser.contains("trusted_proxies"));
}

#[test]
fn dashboard_is_importable_shape() {
    let d: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("deploy/grafana/trtc-logwatch.json")).unwrap(),
    )
    .unwrap();
    assert!(
        d["schemaVersion"].as_u64().unwrap() >= 36,
        "a current dashboard schema"
    );
    assert_eq!(d["uid"], "trtc-logwatch");
    let vars = d["templating"]["list"].as_array().unwrap();
    let ds = vars.iter().find(|v| v["name"] == "datasource").unwrap();
    assert_eq!(
        (ds["type"].as_str(), ds["query"].as_str()),
        (Some("datasource"), Some("prometheus"))
    );
    // Importable: the data source is asked for on import.
    assert_eq!(d["__inputs"][0]["name"], "DS_PROMETHEUS");
    assert_eq!(ds["current"]["value"], "${DS_PROMETHEUS}");
    // The alerts group by app: so does the dashboard.
    assert!(vars.iter().any(|v| v["name"] == "app"), "no app variable");
    for p in d["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            let e = t["expr"].as_str().unwrap();
            assert!(
                !e.contains("$instance") || e.contains("app=~\"$app\""),
                "a panel without the app filter: {e}"
            );
        }
    }
    let mut ids = std::collections::HashSet::new();
    for p in d["panels"].as_array().unwrap() {
        assert!(ids.insert(p["id"].as_u64().unwrap()), "duplicate panel id");
        let g = &p["gridPos"];
        assert!(
            g["x"].as_u64().unwrap() + g["w"].as_u64().unwrap() <= 24,
            "{p}"
        );
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{}", p["title"]);
        for t in p["targets"].as_array().unwrap() {
            assert_eq!(t["datasource"]["uid"], "${datasource}");
            assert!(!t["expr"].as_str().unwrap().is_empty());
        }
    }
    // Without state_dir the timestamp is 0: the panel says so instead of
    // showing 57 years.
    let cp = d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == "Checkpoint age")
        .unwrap();
    assert!(cp["targets"][0]["expr"].as_str().unwrap().contains("> 0)"));
    assert_eq!(cp["fieldConfig"]["defaults"]["noValue"], "checkpoints off");
    // The threshold panels draw the alerts' own expressions, per app.
    let rules = std::fs::read_to_string(root().join("deploy/prometheus/rules.yml")).unwrap();
    let rules: String = rules.split_whitespace().collect::<Vec<_>>().join(" ");
    for (title, n) in [
        (
            "Media connection failures (v4 ICE, v5 5501) vs alert threshold, per app",
            3,
        ),
        (
            "Share of join attempts failed, per app (the alert's expression)",
            1,
        ),
    ] {
        let p = d["panels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["title"] == title)
            .unwrap();
        let targets = p["targets"].as_array().unwrap();
        for t in targets
            .iter()
            .take(n)
            .filter(|t| !t["expr"].as_str().unwrap().starts_with("vector"))
        {
            let e = t["expr"]
                .as_str()
                .unwrap()
                .replace(",app=~\"$app\"", "")
                .replace("{app=~\"$app\"}", "");
            let inner = e
                .strip_prefix("3 * (")
                .and_then(|e| e.strip_suffix(')'))
                .unwrap_or(&e);
            for part in inner.split(" / ").flat_map(|p| p.split(" or ")) {
                assert!(
                    rules.contains(part.trim()),
                    "{title}: {part} is not the alert's"
                );
            }
        }
    }
    let titles: Vec<&str> = d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["title"].as_str())
        .collect();
    for want in [
        "Errors per second by category",
        "Top error keys (last 5m)",
        "Media connection failures (v4 ICE, v5 5501) vs alert threshold, per app",
        "Browser uploads taken and refused per second",
        "Join attempts by result (5m)",
        "Share of join attempts failed, per app (the alert's expression)",
        "Join time (p50, p95)",
        "Session quality: first remote frame and round trip (p95)",
        "Catalog drift and recoveries per second",
        "Affected users by group (last 5m)",
        "Affected users by key (last hour, top 10)",
        "Errors per second by key",
        "Errors by SDK version (last hour)",
        "Errors by browser (last hour)",
        "Causes: account and room-entry codes",
        "Lines read per second",
        "Lag (bytes not read yet)",
        "Dropped events per second",
        "Checkpoint age",
    ] {
        assert!(titles.contains(&want), "missing panel {want}");
    }
}

/// The Alertmanager example routes by app and severity and its
/// notification template renders, checked by a real `amtool`.
#[test]
fn alertmanager_example_routes_by_app_and_severity() {
    let Some(amtool) = common::require_tool("amtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tmpl = root().join("deploy/alertmanager/trtc-logwatch.tmpl");
    let config =
        std::fs::read_to_string(root().join("deploy/alertmanager/alertmanager.example.yml"))
            .unwrap()
            .replace(
                "/etc/alertmanager/trtc-logwatch.tmpl",
                tmpl.to_str().unwrap(),
            );
    let file = dir.path().join("alertmanager.yml");
    std::fs::write(&file, config).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&amtool)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let file = file.to_str().unwrap();
    run(&["check-config", file]);
    let route = |labels: &[&str]| {
        let mut args = vec!["config", "routes", "test", "--config.file", file];
        args.extend_from_slice(labels);
        run(&args)
    };
    assert_eq!(
        route(&["severity=page", "app=classroom"]),
        "classroom-pager"
    );
    assert_eq!(route(&["severity=page", "app=shop"]), "pager");
    assert_eq!(route(&["severity=ticket", "app=shop"]), "tickets");
    let text = run(&[
        "template",
        "render",
        "--template.glob",
        tmpl.to_str().unwrap(),
        "--template.text",
        r#"{{ template "trtc.title" . }}|{{ template "trtc.text" . }}"#,
    ]);
    assert!(
        text.contains("Users affected") && text.contains("Labels:"),
        "{text}"
    );
}
