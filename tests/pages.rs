//! The daemon's own pages (`/`, `/errors/{KEY}`), rendered in the system
//! chromium (tests/browser/page.mjs): they load with no external asset,
//! show the numbers /metrics shows, escape what the logs hold and never
//! show a userSig; in English and Japanese. The screenshots in docs/ are
//! made by the same script (`UPDATE_SCREENSHOTS=1 cargo test --test pages`).

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::daemon::{Daemon, http_get, metric};

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// What chromium shows of `url`; `None` (and a message) where it cannot
/// run, a failure under CI.
fn render(url: &str, shot: Option<&std::path::Path>) -> Option<serde_json::Value> {
    let ready = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        && std::path::Path::new("/usr/bin/chromium").is_file()
        && browser_dir().join("node_modules/puppeteer-core").is_dir();
    if !common::require((!ready).then(|| "node, chromium or puppeteer-core is missing".into())) {
        return None;
    }
    let mut cmd = Command::new("node");
    cmd.arg(browser_dir().join("page.mjs")).arg(url);
    if let Some(s) = shot {
        cmd.arg(s);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn the_pages_show_what_metrics_shows_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.ndjson");
    let (mut d, mut stdin) = Daemon::on_stdin(&events);
    for i in 0..12 {
        writeln!(
            stdin,
            "{{\"userId\":\"user{}\",\"roomId\":\"room{}\",\"sdkVersion\":\"5.17.1\",\"msg\":\"RtcError: x <ICE_TRANSPORT_ERROR 0x4003> <script>alert(1)</script> userSig=SECRETSIG\"}}",
            i % 5,
            i % 2
        )
        .unwrap();
    }
    writeln!(
        stdin,
        "{{\"userId\":\"u9\",\"msg\":\"<JOIN_ROOM_FAILED 0x4004>\"}}"
    )
    .unwrap();
    // The same failure from SDK 5: OPERATION_FAILED with extraCode 5501.
    writeln!(
        stdin,
        "{{\"userId\":\"carol\",\"sdkVersion\":\"5.17.1\",\"msg\":\"[08:40:56:001] <ERROR> enterRoom() failed 3   OPERATION_FAILED: 'enterRoom' failed, reason: ice failed\\n code:5501\"}}"
    )
    .unwrap();
    stdin.flush().unwrap();
    let ice = "trtc_errors_total{catalog=\"trtc-web-v4\",category=\"transport\",key=\"ICE_TRANSPORT_ERROR\",code=\"16387\"}";
    assert_eq!(d.wait_metric(ice, 12.0, Duration::from_secs(10)), 12.0);
    d.wait_metric(
        "trtc_affected_users{catalog=\"trtc-web-v4\",key=\"JOIN_ROOM_FAILED\",window=\"5m\"}",
        1.0,
        Duration::from_secs(10),
    );
    let m = d.metrics();
    let users = metric(
        &m,
        "trtc_affected_users{catalog=\"trtc-web-v4\",key=\"ICE_TRANSPORT_ERROR\",window=\"5m\"}",
    )
    .unwrap();
    assert_eq!(users, 5.0);
    // Over plain HTTP: escaped, redacted, unknown keys 404.
    let (code, html) = http_get(d.port, "/errors/ICE_TRANSPORT_ERROR").unwrap();
    assert_eq!(code, 200);
    assert!(
        html.contains("&lt;script&gt;") && !html.contains("<script>alert"),
        "{html}"
    );
    assert!(
        !html.contains("SECRETSIG") && html.contains("[redacted]"),
        "{html}"
    );
    assert_eq!(http_get(d.port, "/errors/NO_SUCH_KEY").unwrap().0, 404);
    // A decimal or hex code resolves to its entry, as `explain` does.
    for (asked, key) in [
        ("/errors/0x4003", "ICE_TRANSPORT_ERROR"),
        ("/errors/16387", "ICE_TRANSPORT_ERROR"),
        ("/errors/5501", "FIREWALL_RESTRICTION"),
    ] {
        let (code, html) = http_get(d.port, asked).unwrap();
        assert_eq!(code, 200, "{asked}");
        assert!(html.contains(&format!("<h1>{key}</h1>")), "{asked}: {html}");
    }
    // One failure, one group, whatever the SDK version: the group page
    // has both versions' keys, the v5 event and its user.
    d.wait_metric(
        "trtc_error_groups_total{group=\"media_connection\"}",
        13.0,
        Duration::from_secs(10),
    );
    let (code, html) = http_get(d.port, "/groups/media_connection").unwrap();
    assert_eq!(code, 200);
    for want in [
        "ICE_TRANSPORT_ERROR",
        "FIREWALL_RESTRICTION",
        "user=<a href=\"/users/carol?lang=en\">carol</a>",
        "&lt;script&gt;",
    ] {
        assert!(html.contains(want), "{want}: {html}");
    }
    // Who: carol's page has her failure, in its group; user ids are
    // escaped and encoded.
    let (code, html) = http_get(d.port, "/users/carol").unwrap();
    assert_eq!(code, 200);
    assert!(
        html.contains("OPERATION_FAILED") && html.contains("/groups/media_connection"),
        "{html}"
    );
    assert_eq!(http_get(d.port, "/users/nobody").unwrap().0, 404);
    let (code, html) = http_get(d.port, "/users/user1").unwrap();
    assert_eq!(code, 200);
    assert!(
        html.contains("ICE_TRANSPORT_ERROR") && !html.contains("SECRETSIG"),
        "{html}"
    );
    assert!(!html.contains("SECRETSIG") && !html.contains("<script>alert"));
    assert_eq!(http_get(d.port, "/groups/nope").unwrap().0, 404);
    let (_, index_html) = http_get(d.port, "/").unwrap();
    assert!(
        index_html.contains("href=\"/groups/media_connection?lang="),
        "{index_html}"
    );
    let base = format!("http://127.0.0.1:{}", d.port);
    let shots = std::env::var_os("UPDATE_SCREENSHOTS")
        .map(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs"));
    let shot = |name: &str| shots.as_ref().map(|d| d.join(name));
    // In a real browser: the index and the error page, English and Japanese.
    let Some(index) = render(
        &format!("{base}/?lang=en"),
        shot("page-index.png").as_deref(),
    ) else {
        d.kill();
        return;
    };
    assert_eq!(index["status"], 200);
    assert_eq!(index["external"], serde_json::json!([]));
    let text = index["text"].as_str().unwrap();
    // The row of ICE_TRANSPORT_ERROR: 12 in 5 min, 12 since start, 5 users.
    let row = text
        .lines()
        .find(|l| l.starts_with("ICE_TRANSPORT_ERROR"))
        .unwrap_or_else(|| panic!("{text}"));
    let cells: Vec<&str> = row.split('\t').map(str::trim).collect();
    assert_eq!(
        cells,
        [
            "ICE_TRANSPORT_ERROR",
            "trtc-web-v4",
            "media_connection",
            "12",
            "12",
            "5",
            "5"
        ],
        "{text}"
    );
    assert!(text.contains("JOIN_ROOM_FAILED"), "{text}");
    // A v5 key is in the group of its errors (by their cause), as counted.
    let v5 = text
        .lines()
        .find(|l| l.starts_with("OPERATION_FAILED"))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        v5.split('\t').nth(2).map(str::trim),
        Some("media_connection"),
        "{text}"
    );
    let group = text
        .lines()
        .find(|l| l.starts_with("media_connection"))
        .unwrap_or_else(|| panic!("{text}"));
    let cells: Vec<&str> = group.split('\t').map(str::trim).collect();
    assert_eq!(
        cells,
        ["media_connection", "13", "13", "6", "6", ""],
        "{text}"
    );
    // Each group's errors per minute over the hour, drawn: all in this
    // minute (or, at a minute's turn, the one before), the busiest full height.
    let charts = index["charts"].as_array().unwrap();
    assert!(!charts.is_empty(), "{index}");
    for c in charts {
        assert_eq!(
            (c["width"].as_f64(), c["height"].as_f64()),
            (Some(180.0), Some(24.0)),
            "{c}"
        );
        let bars = c["bars"].as_array().unwrap();
        assert!((1..=2).contains(&bars.len()), "{c}");
        assert!(
            bars.iter().all(|b| b["x"].as_f64().unwrap() >= 170.0),
            "{c}"
        );
        let tallest = bars
            .iter()
            .map(|b| b["height"].as_f64().unwrap())
            .fold(0.0, f64::max);
        assert!((22.0..=23.5).contains(&tallest), "{c}");
    }
    let gp = render(&format!("{base}/groups/media_connection?lang=en"), None).unwrap();
    assert_eq!(gp["status"], 200);
    assert_eq!(gp["external"], serde_json::json!([]));
    let gtext = gp["text"].as_str().unwrap();
    let big = &gp["charts"][0];
    assert_eq!(
        (big["width"].as_f64(), big["height"].as_f64()),
        (Some(480.0), Some(80.0)),
        "{gp}"
    );
    assert!(
        gtext.contains("carol") && gtext.contains("FIREWALL_RESTRICTION"),
        "{gtext}"
    );
    let page = render(
        &format!("{base}/errors/ICE_TRANSPORT_ERROR?lang=ja"),
        shot("page-error-ja.png").as_deref(),
    )
    .unwrap();
    let text = page["text"].as_str().unwrap();
    assert!(
        text.contains("対処方法") && text.contains("ファイアウォール"),
        "{text}"
    );
    assert!(text.contains("5.17.1"), "{text}");
    assert!(
        text.contains("<script>alert(1)</script>"),
        "shown as text: {text}"
    );
    assert!(!text.contains("SECRETSIG"), "{text}");
    let en = render(
        &format!("{base}/errors/ICE_TRANSPORT_ERROR?lang=en"),
        shot("page-error-en.png").as_deref(),
    )
    .unwrap();
    let text = en["text"].as_str().unwrap();
    assert!(
        text.contains("What to do") && text.contains("UDP"),
        "{text}"
    );
    drop(stdin);
    assert_eq!(d.child.wait().unwrap().code(), Some(0));
}
