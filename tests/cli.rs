//! The command line, end to end: each subcommand and each error exit.

mod common;

use assert_cmd::Command;
use std::io::Write;

fn bin() -> Command {
    Command::cargo_bin("trtc-logwatch").unwrap()
}

const ICE: &str = "[20:41:09:016] <ERROR> [↑n|alice] RtcError: ICE/DTLS Transport connection failed <ICE_TRANSPORT_ERROR 0x4003>\n";

fn events(stdout: &[u8]) -> Vec<serde_json::Value> {
    stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

#[test]
fn scan_file_prints_events_with_source_line_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    std::fs::write(&p, format!("size=4096\n{ICE}")).unwrap();
    let out = bin().arg("scan").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let ev = events(&out.stdout);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["source"], p.display().to_string());
    assert_eq!(ev[0]["path"], p.display().to_string());
    assert_eq!(ev[0]["line_number"], 2);
    assert_eq!(ev[0]["offset"], 10);
    assert_eq!(ev[0]["key"], "ICE_TRANSPORT_ERROR");
    assert_eq!(ev[0]["context"]["userId"], "alice");
}

#[test]
fn scan_stdin_with_no_path_and_with_dash() {
    for args in [vec!["scan"], vec!["scan", "-"]] {
        let out = bin().args(&args).write_stdin(ICE).output().unwrap();
        assert!(out.status.success());
        let ev = events(&out.stdout);
        assert_eq!(ev.len(), 1, "{args:?}");
        assert_eq!(ev[0]["source"], "stdin");
    }
}

#[test]
fn scan_without_errors_exits_zero_and_prints_nothing() {
    let out = bin()
        .arg("scan")
        .write_stdin("size=4096\nport 16387\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn scan_summary_counts_per_group_and_key_on_stderr() {
    let input = format!(
        "{ICE}{ICE}code: 70001\n[08:40:56:001] <ERROR> enterRoom() failed 3   OPERATION_FAILED: 'enterRoom' failed, reason: ice\n code:5501\n"
    );
    let out = bin()
        .args(["scan", "--summary"])
        .write_stdin(input)
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("lines 5 "), "{err}");
    assert!(err.contains("events 4"), "{err}");
    // The v5 firewall failure is in the v4 ICE error's group.
    let media = err
        .lines()
        .find(|l| l.starts_with("media_connection"))
        .unwrap();
    assert!(media.ends_with(" 3"), "{err}");
    let auth = err.lines().find(|l| l.starts_with("auth")).unwrap();
    assert!(auth.ends_with(" 1"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.trim_start().starts_with("ACCOUNT_70001") && l.ends_with(" 1")),
        "{err}"
    );
}

#[test]
fn scan_unreadable_path_exits_2_with_one_line() {
    let out = bin()
        .args(["scan", "/nonexistent/app.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("cannot open /nonexistent/app.log"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let out = bin().arg("scan").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn scan_reads_every_good_path_and_names_each_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    std::fs::write(&a, ICE).unwrap();
    std::fs::write(&b, ICE).unwrap();
    let missing = dir.path().join("missing.log");
    let out = bin()
        .arg("scan")
        .args([&a, &missing, dir.path(), &b])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(events(&out.stdout).len(), 2, "both good files are scanned");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!("cannot open {}", missing.display())),
        "{err}"
    );
    assert!(err.contains("is a directory"), "{err}");
    assert!(err.contains("2 of 4 input(s) could not be read"), "{err}");
}

#[test]
fn scan_fail_on_error_exits_1_when_errors_are_found() {
    let out = bin()
        .args(["scan", "--fail-on-error"])
        .write_stdin(ICE)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(events(&out.stdout).len(), 1);
    let quiet = bin()
        .args(["scan", "--fail-on-error"])
        .write_stdin("size=4096\n")
        .output()
        .unwrap();
    assert_eq!(quiet.status.code(), Some(0));
    let plain = bin().arg("scan").write_stdin(ICE).output().unwrap();
    assert_eq!(plain.status.code(), Some(0), "without the flag: 0");
}

#[test]
fn scan_refuses_a_line_limit_below_256() {
    for n in ["0", "10", "255"] {
        let out = bin()
            .args(["scan", "--max-line-bytes", n])
            .write_stdin(ICE)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{n}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("256"));
    }
}

#[test]
fn bad_catalog_exits_2_with_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mine.yaml");
    std::fs::write(
        &p,
        "catalog: mine\nentries:\n  - key: MY_ERROR\n    kind: sdk\n    code: 9001\n    category: weather\n    severity: error\n    description: {en: x}\n",
    )
    .unwrap();
    for sub in [vec!["scan"], vec!["catalog"], vec!["explain", "1"]] {
        let out = bin()
            .args(&sub)
            .arg("--patterns")
            .arg(dir.path())
            .write_stdin("")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{sub:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("{}:6:15: unknown category", p.display())),
            "{err}"
        );
    }
}

#[test]
fn user_catalog_adds_entries_and_can_replace_a_builtin() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = std::fs::File::create(dir.path().join("mine.yaml")).unwrap();
    writeln!(
        f,
        "catalog: my-app\nentries:\n  - key: MY_APP_MEDIA_STALL\n    kind: sdk\n    code: 90001\n    category: media\n    severity: warning\n    description: {{en: Media stalled.}}"
    )
    .unwrap();
    let out = bin()
        .args(["scan", "--patterns"])
        .arg(dir.path())
        .write_stdin(format!("x MY_APP_MEDIA_STALL y\ncode=90001\n{ICE}"))
        .output()
        .unwrap();
    let ev = events(&out.stdout);
    let keys: Vec<_> = ev
        .iter()
        .map(|e| e["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        keys,
        [
            "MY_APP_MEDIA_STALL",
            "MY_APP_MEDIA_STALL",
            "ICE_TRANSPORT_ERROR"
        ]
    );
    assert_eq!(ev[0]["catalog"], "my-app");

    // Only the user's catalogs.
    let out = bin()
        .args(["scan", "--no-builtin-patterns", "--patterns"])
        .arg(dir.path())
        .write_stdin(ICE)
        .output()
        .unwrap();
    assert!(out.stdout.is_empty());
}

#[test]
fn explain_hex_prints_ice_transport_error_in_both_languages() {
    let out = bin().args(["explain", "0x4003"]).output().unwrap();
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(
        s.starts_with("ICE_TRANSPORT_ERROR  code 16387  hex 0x4003"),
        "{s}"
    );
    assert!(s.contains("category:    transport"));
    assert!(s.contains("ICE transport connection error"));
    assert!(s.contains("[ja] ICE Transportの接続エラー"));
    assert!(s.contains("docs:        https://intl.cloud.tencent.com/document/product/647/35164"));
}

#[test]
fn explain_by_key_code_alias_and_language() {
    let ja = bin()
        .args(["explain", "70001", "--lang", "ja"])
        .output()
        .unwrap();
    let s = String::from_utf8(ja.stdout).unwrap();
    assert!(
        s.contains("UserSigが期限切れです。") && !s.contains("has expired"),
        "{s}"
    );
    let en = bin()
        .args(["explain", "UNKOWN", "--lang", "en"])
        .output()
        .unwrap();
    let s = String::from_utf8(en.stdout).unwrap();
    assert!(s.starts_with("UNKNOWN  code 65535  hex 0xffff"), "{s}");
    let both = bin()
        .args(["explain", "invalid_parameter"])
        .output()
        .unwrap();
    let s = String::from_utf8(both.stdout).unwrap();
    assert!(s.contains("code 4096") && s.contains("code 5000"), "{s}");
    let none = bin().args(["explain", "NO_SUCH_KEY"]).output().unwrap();
    assert_eq!(none.status.code(), Some(2));
}

#[test]
fn catalog_lists_every_entry_in_text_and_json() {
    let out = bin().args(["catalog", "--json"]).output().unwrap();
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let v4 = all.iter().filter(|e| e["catalog"] == "trtc-web-v4").count();
    assert_eq!(v4, 112 + 3);
    assert!(
        all.iter()
            .any(|e| e["catalog"] == "trtc-web-v5" && e["code"] == 5999)
    );
    let text = String::from_utf8(bin().arg("catalog").output().unwrap().stdout).unwrap();
    let mut rows = text.lines().filter(|l| !l.starts_with(' '));
    assert!(rows.next().unwrap().starts_with("CATALOG"), "a header row");
    assert_eq!(rows.count(), all.len());
    // A description of several lines is shown whole, indented.
    let at = text.find("CLIENT_BANNED").unwrap();
    let next = text[at..].lines().nth(1).unwrap();
    assert!(next.starts_with(' ') && !next.trim().is_empty(), "{next}");
    assert!(
        text.contains(" sdk ") && text.contains(" room_entry "),
        "kinds as in the YAML"
    );
}

#[test]
fn explain_takes_negative_codes_in_any_flag_order() {
    for args in [
        &["explain", "-10012"][..],
        &["explain", "-10012", "--lang", "en"],
        &["explain", "--lang", "en", "-10012"],
    ] {
        let out = bin().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("code -10012"), "{args:?}: {text}");
        assert!(text.contains("(room_entry)"), "{text}");
    }
}

#[test]
fn explain_suggests_a_key_for_a_misspelt_one_and_marks_missing_japanese() {
    let out = bin()
        .args(["explain", "ICE_TRANSPORT_EROR"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("did you mean ICE_TRANSPORT_ERROR?"), "{err}");
    // A key's start, or a part of it, names it too.
    for (q, want) in [
        ("ICE", "did you mean ICE_TRANSPORT_ERROR?"),
        ("transport", "ICE_TRANSPORT_ERROR"),
    ] {
        let out = bin().args(["explain", q]).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(want), "{q}: {err}");
    }
    // A user catalog entry with English only: `--lang ja` says so.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.yaml"),
        "catalog: mine\nentries:\n  - key: MY_APP_FAILURE\n    kind: sdk\n    code: 90002\n    category: media\n    severity: error\n    description: {en: Only English here.}\n",
    )
    .unwrap();
    let out = bin()
        .args(["explain", "--lang", "ja", "MY_APP_FAILURE", "--patterns"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[en: no Japanese text] Only English here."),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The browser flags: the endpoint needs its origins and sdkAppIds, and
/// the lists need the endpoint; each refusal says what is missing.
#[test]
fn browser_flags_say_what_is_missing() {
    for (args, want) in [
        (
            &["run", "--browser", "127.0.0.1:0"][..],
            "browser.origins is empty",
        ),
        (
            &["run", "--browser", "127.0.0.1:0", "--browser-origin", "*"][..],
            "browser.sdk_app_ids is empty",
        ),
        (
            &["run", "--browser-origin", "https://a.example"][..],
            "need --browser ADDR",
        ),
        (
            &[
                "run",
                "--browser",
                "127.0.0.1:0",
                "--browser-origin",
                "a.example",
                "--browser-app-id",
                "1",
            ][..],
            "is no page origin",
        ),
    ] {
        let out = bin().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        bin().arg("frobnicate").output().unwrap().status.code(),
        Some(2)
    );
    assert_eq!(
        bin().args(["explain"]).output().unwrap().status.code(),
        Some(2)
    );
}

#[test]
fn why_reads_records_and_says_which_line_each_rule_used() {
    let input = "[10:00:01:002] <ERROR> [↑t1] startLocalVideo() failed 2   DEVICE_ERROR: NotFoundError, no camera detected. \nRefer to: https://web.sdk.qcloud.com/trtc/webrtc/doc/en/index.html\n. code:5301 params: []\nOPERATION_FAILED: 'enterRoom' failed \nRefer to: https://x.example/doc\n\n    at e.convertFrom (https://app.example/trtc.js:1:2)\n <SCHEDULE_FAILED 0x404c>\n";
    let out = Command::cargo_bin("trtc-logwatch")
        .unwrap()
        .arg("why")
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.matches("record of ").count(), 2, "{text}");
    assert!(
        text.contains("\"code:5301\"") && text.contains("(line 3)"),
        "{text}"
    );
    assert!(text.contains("cause DEVICE_NOT_FOUND_ERROR"), "{text}");
    assert!(text.contains("(not matched: a stack from here)"), "{text}");
    assert!(!text.contains("SCHEDULE_FAILED 16460"), "{text}");
    assert_eq!(text.matches("=> event").count(), 2, "{text}");
}

#[test]
fn why_shows_each_candidate_with_its_rule_or_reason() {
    let out = Command::cargo_bin("trtc-logwatch")
        .unwrap()
        .args([
            "why",
            "size=4096 <INFO> retry on [ICE_TRANSPORT_ERROR, SIGNAL_CHANNEL_ERROR]",
            "[ERROR] 进房失败，错误码：-10012",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "mention in an INFO line",
        "bare number",
        "=> no event",
        "code context: 错误码",
        "=> event ROOM_ENTRY_N10012 -10012",
    ] {
        assert!(text.contains(want), "{want} missing in:\n{text}");
    }
    let out = Command::cargo_bin("trtc-logwatch")
        .unwrap()
        .arg("why")
        .write_stdin("RtcError: x <ICE_TRANSPORT_ERROR 0x4003>\n")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("key with its own hex"), "{text}");
}

#[test]
fn scan_text_none_drops_the_prose_and_keeps_the_codes() {
    let out = Command::cargo_bin("trtc-logwatch")
        .unwrap()
        .args(["scan", "--text", "none"])
        .write_stdin("RtcError: x (errorCode: 70001) <SIGNAL_CHANNEL_SETUP_FAILED 0x4001>\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["code"], 16385);
    assert_eq!(v["cause"]["code"], 70001);
    assert!(v.get("description").is_none() && v.get("action").is_none());
    assert!(v["cause"].get("description").is_none());
}

#[test]
fn version_names_the_commit_and_completions_and_man_are_generated() {
    let out = bin().arg("--version").output().unwrap();
    let v = String::from_utf8(out.stdout).unwrap();
    assert!(
        v.starts_with(&format!("trtc-logwatch {} (", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef"),
        ("fish", "complete -c trtc-logwatch"),
    ] {
        let out = bin().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains(marker),
            "{shell}: {}",
            &text[..200.min(text.len())]
        );
        assert!(text.contains("fail-on-error"), "{shell}: every flag");
    }
    let man = String::from_utf8(bin().arg("man").output().unwrap().stdout).unwrap();
    assert!(
        man.starts_with(".ie") || man.contains(".TH trtc-logwatch 1"),
        "{man}"
    );
    for sub in ["SCAN", "RUN", "EXPLAIN", "CHECK-CONFIG", "WHY", "CATALOG"] {
        assert!(man.contains(&format!(".SH \"{sub}\"")), "{sub}");
    }
    assert!(
        man.contains("max\\-line\\-bytes"),
        "options of the subcommands"
    );
    // No page that does not exist is named; the exit statuses are said.
    assert!(!man.contains("trtc\\-logwatch\\-scan(1)"), "{man}");
    assert!(man.contains(".SH \"EXIT STATUS\""), "{man}");
}

#[test]
fn healthcheck_fails_without_a_daemon() {
    let out = bin().args(["healthcheck", "127.0.0.1:1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect to 127.0.0.1:1"));
}

#[test]
fn an_empty_catalog_directory_is_said_and_no_catalog_at_all_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .arg("scan")
        .arg("--patterns")
        .arg(dir.path())
        .write_stdin(ICE)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        events(&out.stdout).len(),
        1,
        "the built-in catalogs still work"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no catalog in it"), "{err}");
    let out = bin()
        .args(["scan", "--no-builtin-patterns", "--patterns"])
        .arg(dir.path())
        .write_stdin(ICE)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no catalog loaded"));
}

#[test]
fn an_error_says_its_cause_once() {
    for args in [
        &["scan", "/nonexistent/app.log"][..],
        &["check-config", "/nonexistent/c.yaml"],
        &["scan", "--patterns", "/nonexistent/dir"],
    ] {
        let out = bin().args(args).write_stdin("").output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            err.matches("No such file or directory").count(),
            1,
            "{args:?}: {err}"
        );
    }
}

/// The Dockerfile's HEALTHCHECK command, as written there (only its port
/// is this test daemon's), against a running daemon: exit 0. The other
/// forms: HOST:PORT, `--path readyz` without its slash.
#[test]
fn the_dockerfiles_health_check_passes_against_a_running_daemon() {
    let docker =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    let line = docker
        .lines()
        .find(|l| l.starts_with("HEALTHCHECK"))
        .expect("a HEALTHCHECK in the Dockerfile");
    let json = &line[line.find('[').unwrap()..=line.rfind(']').unwrap()];
    let argv: Vec<String> = serde_json::from_str(json).unwrap();
    assert_eq!(argv[0], "trtc-logwatch");
    let mut d = common::daemon::Daemon::start_with_stdin(
        &["--stdin", "--events", "/dev/null"],
        std::process::Stdio::piped(),
    );
    let port = d.port.to_string();
    let args: Vec<String> = argv[1..].iter().map(|a| a.replace("9898", &port)).collect();
    let out = bin().args(&args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let addr = format!("127.0.0.1:{port}");
    for args in [
        vec!["healthcheck", addr.as_str()],
        vec!["healthcheck", addr.as_str(), "--path", "readyz"],
        vec!["healthcheck", &format!("http://{addr}")],
    ] {
        let out = bin().args(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(!said.contains(&format!("{port}readyz")), "{said}");
    }
    let out = bin()
        .args(["healthcheck", "https://127.0.0.1:1/healthz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    drop(d.child.stdin.take());
    let _ = d.child.wait();
}

/// check-config: one glob as a string is a list of one; a glob whose
/// directory does not exist is a warning; the output names every source,
/// ingest and browser ones too; a wrong type says what it wants.
#[test]
fn check_config_takes_one_glob_warns_of_missing_directories_and_names_sources() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.yaml");
    std::fs::write(
        &cfg,
        "sources:\n  - name: app\n    include: \"/nonexistent-dir-for-test/*.log\"\ningest:\n  listen: 127.0.0.1:9899\n",
    )
    .unwrap();
    let out = bin().arg("check-config").arg(&cfg).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(
        said.contains("warning: source \"app\": /nonexistent-dir-for-test does not exist (yet)"),
        "{said}"
    );
    assert!(
        said.contains("ok (2 sources: file app, ingest ingest)"),
        "{said}"
    );
    std::fs::write(&cfg, "sources:\n  - name: app\n    include: 5\n").unwrap();
    let out = bin().arg("check-config").arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("c.yaml:3:") && err.contains("expected a glob or a list of globs"),
        "{err}"
    );
}

/// `run` takes the events' text mode as scan does.
#[test]
fn run_takes_the_text_mode_as_a_flag() {
    let out = bin()
        .args([
            "run",
            "--stdin",
            "--text",
            "none",
            "--listen",
            "127.0.0.1:0",
        ])
        .write_stdin("x <ICE_TRANSPORT_ERROR 0x4003>\n")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ev["key"], "ICE_TRANSPORT_ERROR");
    assert!(ev.get("description").is_none(), "{ev}");
}

/// The README's example commands run as written (the daemon's with its
/// `listen` port made free: tests run side by side).
#[test]
fn the_readmes_example_commands_run() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    for cmd in [
        "trtc-logwatch --version",
        "trtc-logwatch completions bash",
        "trtc-logwatch man",
        "cargo run --release -- scan examples/logs/app.log",
        "cargo run --release -- scan --summary",
        "cargo run --release -- run --config config.example.yaml",
        "scripts/test.sh",
    ] {
        assert!(readme.contains(cmd), "the README no longer shows {cmd:?}");
    }
    let alerting = std::fs::read_to_string(format!("{root}/docs/alerting.md")).unwrap();
    assert!(alerting.contains("sudo trtc-logwatch check-config /etc/trtc-logwatch/config.yaml"));
    let ok = |args: &[&str], stdin: &str| {
        let out = bin()
            .current_dir(root)
            .args(args)
            .write_stdin(stdin.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(ok(&["--version"], "").contains("trtc-logwatch"));
    assert!(ok(&["completions", "bash"], "").contains("trtc-logwatch"));
    let man = ok(&["man"], "");
    for section in [
        ".TH",
        ".SH SIGNALS",
        ".SH FILES",
        ".SH ENVIRONMENT",
        "SIGHUP",
        "RUST_LOG",
    ] {
        assert!(man.contains(section), "the man page lacks {section}");
    }
    assert!(ok(&["scan", "examples/logs/app.log"], "").contains("\"key\""));
    ok(
        &["scan", "--summary"],
        "RtcError: x <ICE_TRANSPORT_ERROR 0x4003>\n",
    );
    ok(&["check-config", "deploy/systemd/config.yaml"], "");
    // The daemon of the example config starts, serves and stops on SIGTERM.
    let d = common::daemon::Daemon::start(&["--config", &format!("{root}/config.example.yaml")]);
    assert!(common::daemon::http_get(d.port, "/metrics").is_some_and(|(c, _)| c == 200));
    let (code, _, log) = d.stop();
    assert_eq!(code, Some(0), "{log}");
}

/// `tail -f app.log | trtc-logwatch scan`: an error is written when it is
/// read (after the record wait), not at the end of the input.
#[test]
fn scan_of_a_pipe_that_pauses_writes_each_error_at_once() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"))
        .args(["scan", "--text", "none"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    writeln!(input, "RtcError: x <ICE_TRANSPORT_ERROR 0x4003>").unwrap();
    input.flush().unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    // stdin is still open: the event must come without its end.
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("no event while the pipe was open");
    assert!(line.contains("ICE_TRANSPORT_ERROR"), "{line}");
    drop(input);
    assert!(child.wait().unwrap().success());
}

/// `why` shows the record as the events do: credentials replaced.
#[test]
fn why_never_prints_a_credential() {
    let out = bin()
        .args([
            "why",
            r#"{\"userSig\":\"eJwtjEELgjAYhv_K2NkEP5G\"} usersIg: eJwtjEELgjAYhv_K2NkEP5G <ICE_TRANSPORT_ERROR 0x4003>"#,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
    assert!(!text.contains("eJwtjEEL"), "{text}");
}

/// The operator's own forms (issue 30): a rule gives the event on a line
/// nothing built in reads, with its user and room, and says so; an ignore
/// silences a test runner's line; `why` names both; `--summary` counts them.
#[test]
fn recognition_rules_and_ignores_of_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("trtc.yaml");
    std::fs::write(
        &cfg,
        "recognition:\n  rules:\n    - name: cn-alarm\n      pattern: '【告警】.*房间(?P<room>\\d+).*用户(?P<user>\\w+).*返回值=(?P<code>-?\\d+)'\n  ignore:\n    - name: vitest\n      pattern: '^\\[vitest\\] '\n",
    )
    .unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(
        &log,
        "【告警】进房异常 房间8801 用户alice 返回值=-10012\n[vitest] expected the error <ICE_TRANSPORT_ERROR 0x4003>\n【告警】进房异常 房间8802 用户bob 返回值=-10012 userSig=eJwtzEELgjAYxvHv8p49OH8bHQhUwRlAbcDEF3qr4Mf\n",
    )
    .unwrap();
    // Without the config: the alarm is no event (`返回值` names no code),
    // the test runner's line is one.
    let out = bin().arg("scan").arg(&log).output().unwrap();
    let ev = events(&out.stdout);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["line_number"], 2);
    // With it: the alarm on line 1, the runner's line silenced.
    let out = bin()
        .args(["scan", "--summary", "--config"])
        .arg(&cfg)
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let ev = events(&out.stdout);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(ev[0]["line_number"], 1);
    assert_eq!(ev[0]["code"], -10012);
    assert_eq!(ev[0]["rule"], "recognition rule cn-alarm");
    assert_eq!(ev[0]["context"]["userId"], "alice");
    assert_eq!(ev[0]["context"]["roomId"], "8801");
    // A record with a credential is matched again once it is replaced:
    // still one line for its rule.
    assert_eq!(ev[1]["line_number"], 3);
    assert!(!ev[1]["line"].as_str().unwrap_or_default().contains("eJw"));
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(
        summary
            .lines()
            .any(|l| l.contains("rule cn-alarm") && l.trim_end().ends_with(" 2")),
        "{summary}"
    );
    assert!(
        summary
            .lines()
            .any(|l| l.contains("ignore vitest") && l.trim_end().ends_with(" 1")),
        "{summary}"
    );
    let why = bin()
        .args(["why", "--config"])
        .arg(&cfg)
        .arg("-")
        .write_stdin(std::fs::read(&log).unwrap())
        .output()
        .unwrap();
    let why = String::from_utf8_lossy(&why.stdout);
    assert!(why.contains("recognition rule cn-alarm"), "{why}");
    assert!(why.contains("ignored by vitest"), "{why}");
}

/// A bad pattern is refused at its place, before anything runs.
#[test]
fn check_config_points_at_a_bad_recognition_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.yaml");
    std::fs::write(
        &cfg,
        "recognition:\n  rules:\n    - name: broken\n      pattern: '错误码(?P<code>\\d+'\n",
    )
    .unwrap();
    let out = bin().arg("check-config").arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml:4:"), "{err}");
    assert!(err.contains("broken"), "{err}");
    // A rule that names no code cannot give an event: refused too.
    std::fs::write(
        &cfg,
        "recognition:\n  rules:\n    - name: nocode\n      pattern: 'alarm \\d+'\n",
    )
    .unwrap();
    let out = bin().arg("check-config").arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yaml:4:"));
}

/// Bash completes a subcommand's options (`run --fol<TAB>` → `--follow`)
/// with the script `completions bash` prints, in a real bash.
#[test]
fn bash_completes_a_subcommands_options() {
    let Some(bash) = common::require_tool("bash") else {
        return;
    };
    let out = bin().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("trtc-logwatch.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let complete = |words: &[&str]| -> String {
        let line = words.join(" ");
        let probe = format!(
            "source '{}'\nCOMP_WORDS=({line}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}\n\
             f=$(complete -p trtc-logwatch | sed -E 's/.* -F ([^ ]+) .*/\\1/')\n\
             $f trtc-logwatch '{}' '{}'\necho \"${{COMPREPLY[*]}}\"\n",
            script.display(),
            words.len() - 1,
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let out = std::process::Command::new(&bash)
            .args(["--norc", "--noprofile", "-c", &probe])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(complete(&["trtc-logwatch", "run", "--fol"]), "--follow");
    assert!(complete(&["trtc-logwatch", "scan", "--sum"]).contains("--summary"));
    assert!(complete(&["trtc-logwatch", "check-co"]).contains("check-config"));
}
