//! The real TRTC Web SDKs' own console records, captured by running them
//! in the system chromium (tests/browser/capture.mjs, with the npm packages
//! pinned in tests/browser/package-lock.json), and the check that each
//! record gave exactly one event with the SDK's own code.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// One console record as the browser printed it.
#[derive(Debug, Clone)]
pub struct SdkRecord {
    /// `v4` or `v5`.
    pub sdk: String,
    /// The console level (`error`, `warn`, `info`, `debug`, `log`).
    pub level: String,
    /// The record with its format applied (style arguments left out).
    pub text: String,
    /// The record as DevTools reports it (format string and arguments).
    pub raw: String,
}

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Why the capture cannot run here, if it cannot.
fn missing() -> Option<String> {
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Some("node is not installed".into());
    }
    if !chromium().is_file() {
        return Some(format!("{} is not installed", chromium().display()));
    }
    let packages = [
        "trtc-sdk-v5",
        "trtc-js-sdk",
        "trtc-sdk-v5-5.8",
        "trtc-js-sdk-4.10",
    ];
    if !packages
        .iter()
        .all(|p| browser_dir().join("node_modules").join(p).is_dir())
    {
        return Some("the SDK packages are not installed (npm ci in tests/browser)".into());
    }
    None
}

/// The records of both SDKs, captured once per test binary; `None` (and a
/// message) where node, chromium or the packages are missing, a failure
/// under CI, where scripts/install-test-deps.sh installs them.
pub fn captured() -> Option<&'static [SdkRecord]> {
    static RECORDS: OnceLock<Option<Vec<SdkRecord>>> = OnceLock::new();
    RECORDS
        .get_or_init(|| {
            if !super::require(missing()) {
                return None;
            }
            Some(run_capture(ALL, &[]))
        })
        .as_deref()
}

/// The pinned SDKs (capture.mjs `all`).
pub const ALL: &[&str] = &["v4", "v5"];
/// Older SDKs users still run (capture.mjs `old`): trtc-js-sdk 4.10.2 and
/// trtc-sdk-v5 5.8.6.
pub const OLD: &[&str] = &["v4-4.10", "v5-5.8"];

/// Runs the capture of `sdks` with `env` (capture.mjs: `LOGGER_PROXY`,
/// `PAGE_PORT`, `PAGE_HOSTS`); `None` (and a message) where it cannot run,
/// a failure under CI.
pub fn capture_with(sdks: &[&str], env: &[(&str, &str)]) -> Option<Vec<SdkRecord>> {
    if !super::require(missing()) {
        return None;
    }
    Some(run_capture(sdks, env))
}

fn run_capture(sdks: &[&str], env: &[(&str, &str)]) -> Vec<SdkRecord> {
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new("node")
        .arg(browser_dir().join("capture.mjs"))
        .arg(sdks.join(","))
        .envs(env.iter().copied())
        .env("CHROMIUM", chromium())
        .stdout(Stdio::from(out.reopen().unwrap()))
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if t.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            panic!("the SDK capture did not finish in 180 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "the SDK capture failed: {status}");
    let text = std::fs::read_to_string(out.path()).unwrap();
    let records: Vec<SdkRecord> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            SdkRecord {
                sdk: s("sdk"),
                level: s("level"),
                text: s("text"),
                raw: s("raw"),
            }
        })
        .collect();
    for &sdk in sdks {
        let errors = records
            .iter()
            .filter(|r| r.sdk == sdk && expected(&r.text).is_some())
            .count();
        // The pinned SDKs run every scenario; the older ones fewer (4.10
        // has no v5-style API failures to provoke).
        let least = if OLD.contains(&sdk) { 3 } else { 5 };
        assert!(
            errors >= least,
            "{sdk}: only {errors} error records captured"
        );
    }
    records
}

/// What the SDK itself says a record's error is, read without the
/// matcher: v4's `<KEY 0xhex>`, v5's `failed N   NAME: ...` with its
/// `code:EXTRA` line, or a thrown v5 error's `NAME: reason` (a stack's
/// nested errors left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    pub key: String,
    /// v4: the code the hex says.
    pub code: Option<i64>,
    /// v5: the extraCode of the `code:` line.
    pub extra: Option<i64>,
}

fn is_name(s: &str) -> bool {
    s.len() >= 4 && s.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
}

pub fn expected(text: &str) -> Option<Expect> {
    // Up to the first stack frame.
    let head: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim_start().starts_with("at "))
        .collect();
    let head = head.join("\n");
    if let Some(i) = head.find(" 0x") {
        let key_start = head[..i].rfind('<').map(|k| k + 1)?;
        let key = &head[key_start..i];
        let hex: String = head[i + 3..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect();
        if is_name(key) && head[i + 3 + hex.len()..].starts_with('>') {
            return Some(Expect {
                key: key.to_string(),
                code: i64::from_str_radix(&hex, 16).ok(),
                extra: None,
            });
        }
    }
    let v5 = |rest: &str| -> Option<Expect> {
        let (name, _) = rest.split_once(": ")?;
        let name = name.trim();
        is_name(name).then(|| Expect {
            key: name.to_string(),
            code: None,
            // The record's own `code:NNNN params:` line, after its first.
            extra: head.lines().skip(1).find_map(|l| {
                let l = l.trim_start();
                let l = l.strip_prefix(". ").unwrap_or(l);
                l.strip_prefix("code:")?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            }),
        })
    };
    if let Some(i) = head.find(" failed ") {
        // `api() failed N   NAME: reason`
        let rest = head[i + 8..]
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start();
        return v5(rest);
    }
    let first = head.lines().next().unwrap_or("");
    v5(first)
        .filter(|_| first.split_once(": ").is_some_and(|(n, _)| is_name(n)))
        .map(|mut e| {
            e.extra = None;
            e
        })
}

/// The 1-based first line of each record when `records` are written one
/// after the other, each ending with a newline.
pub fn first_lines(records: &[&str]) -> Vec<u64> {
    let mut at = 1;
    records
        .iter()
        .map(|r| {
            let l = at;
            at += r.split('\n').count() as u64;
            l
        })
        .collect()
}

/// Every record with an SDK code gave exactly one event, on its first
/// line, with that code (v5: the key, and the extraCode as its cause); any
/// other record at most one; no event points at a line that starts no
/// record. `what` names the form in failures. Returns how many records
/// carried a code.
pub fn check(what: &str, records: &[&str], events: &[serde_json::Value]) -> usize {
    let firsts = first_lines(records);
    let mut by_line: BTreeMap<u64, Vec<&serde_json::Value>> = BTreeMap::new();
    for e in events {
        let n = e["line_number"].as_u64().unwrap();
        assert!(
            firsts.binary_search(&n).is_ok(),
            "{what}: an event on line {n}, inside a record: {e}"
        );
        by_line.entry(n).or_default().push(e);
    }
    let mut coded = 0;
    for (r, first) in records.iter().zip(&firsts) {
        let got = by_line.get(first).map_or(&[][..], Vec::as_slice);
        match expected(r) {
            Some(want) => {
                coded += 1;
                assert_eq!(
                    got.len(),
                    1,
                    "{what}: record at line {first}: {r:?}\nevents: {got:?}"
                );
                let e = got[0];
                assert_eq!(e["key"], want.key.as_str(), "{what}: {r:?}\n{e}");
                if let Some(code) = want.code {
                    assert_eq!(e["code"], code, "{what}: {r:?}\n{e}");
                }
                if let Some(extra) = want.extra
                    && e["code"] != extra
                {
                    assert_eq!(
                        e["cause"]["code"], extra,
                        "{what}: the extraCode of {r:?}\n{e}"
                    );
                }
            }
            None => assert!(
                got.len() <= 1,
                "{what}: record at line {first}: {r:?}\n{got:?}"
            ),
        }
    }
    coded
}

/// Writes `records` one after the other, each ending with a newline.
pub fn write_log(path: &Path, records: &[&str]) {
    let mut text = String::new();
    for r in records {
        text.push_str(r);
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}
