//! Every labelled line of samples/sdk-forms.tsv, through the library, `scan
//! FILE` and `scan` on stdin: each record gives exactly its expected codes.

mod common;

use std::collections::BTreeMap;

use assert_cmd::Command;
use serde_json::Value;

#[derive(Debug)]
struct Record {
    tier: String,
    expected: String,
    lines: Vec<String>,
}

fn records() -> BTreeMap<u32, Record> {
    let text = common::data("sdk-forms.tsv");
    let mut recs: BTreeMap<u32, Record> = BTreeMap::new();
    for l in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut f = l.splitn(4, '\t');
        let (n, tier, exp, line) = (
            f.next().unwrap(),
            f.next().unwrap(),
            f.next().unwrap(),
            f.next().unwrap(),
        );
        let r = recs.entry(n.parse().unwrap()).or_insert(Record {
            tier: tier.into(),
            expected: exp.into(),
            lines: vec![],
        });
        r.lines.push(line.to_string());
    }
    recs
}

/// Expected (role, code) pairs: the first code is the event's own code
/// (`p`), the others its cause (`c`); then optional pairs, and whether a
/// code-less message event is expected.
type Pairs = Vec<(char, String)>;

fn expected(spec: &str) -> (Pairs, Pairs, bool) {
    match spec {
        "NONE" => (vec![], vec![], false),
        "MSG" => (vec![], vec![], true),
        s => {
            let (mut req, mut opt) = (vec![], vec![]);
            for (i, c) in s.split('+').enumerate() {
                let role = if i == 0 { 'p' } else { 'c' };
                match c.strip_suffix('?') {
                    Some(c) => opt.push((role, c.to_string())),
                    None => req.push((role, c.to_string())),
                }
            }
            (req, opt, false)
        }
    }
}

/// Reported (role, code) pairs: each event's code, each event's cause.
fn reported(events: &[Value]) -> (Pairs, usize) {
    let mut codes = vec![];
    let mut msg_only = 0;
    for e in events {
        match &e["code"] {
            Value::Null => msg_only += 1,
            c => codes.push(('p', c.to_string())),
        }
        if let Some(c) = e["cause"]["code"].as_i64() {
            codes.push(('c', c.to_string()));
        }
    }
    (codes, msg_only)
}

struct Score {
    tp: usize,
    fp: usize,
    fn_: usize,
    failures: Vec<String>,
}

fn score(tier: &str, run: &dyn Fn(&str) -> Vec<Value>) -> Score {
    let mut s = Score {
        tp: 0,
        fp: 0,
        fn_: 0,
        failures: vec![],
    };
    for (n, r) in records().iter().filter(|(_, r)| r.tier == tier) {
        let input = r.lines.join("\n") + "\n";
        let events = run(&input);
        let (req, opt, want_msg) = expected(&r.expected);
        let (got, msg_only) = reported(&events);
        let (mut tp, mut fp) = (0, 0);
        for g in &got {
            if req.contains(g) {
                tp += 1;
            } else if !opt.contains(g) {
                fp += 1;
            }
        }
        let fn_ = req.iter().filter(|c| !got.contains(c)).count();
        let (mtp, mfp, mfn) = match (want_msg, msg_only) {
            (true, 1) => (1, 0, 0),
            (true, 0) => (0, 0, 1),
            (true, k) => (1, k - 1, 0),
            (false, k) => (0, k, 0),
        };
        s.tp += tp + mtp;
        s.fp += fp + mfp;
        s.fn_ += fn_ + mfn;
        if fp + mfp + fn_ + mfn > 0 {
            s.failures.push(format!(
                "record {n} want {} got {got:?} (+{msg_only} msg-only)",
                r.expected
            ));
        }
    }
    s
}

fn check(tier: &str, run: &dyn Fn(&str) -> Vec<Value>) {
    let s = score(tier, run);
    let precision = s.tp as f64 / (s.tp + s.fp).max(1) as f64;
    let recall = s.tp as f64 / (s.tp + s.fn_).max(1) as f64;
    eprintln!(
        "{tier}: tp {} fp {} fn {} precision {precision:.3} recall {recall:.3}",
        s.tp, s.fp, s.fn_
    );
    assert!(
        s.failures.is_empty(),
        "{tier} tier failures:\n{}",
        s.failures.join("\n")
    );
}

fn lib(input: &str) -> Vec<Value> {
    common::scan_lib(&common::matcher(), input.as_bytes(), 64 * 1024).0
}

fn cli_stdin(input: &str) -> Vec<Value> {
    let out = Command::cargo_bin("trtc-logwatch")
        .unwrap()
        .arg("scan")
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    parse_ndjson(&out.stdout)
}

fn cli_file(input: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    std::fs::write(&p, input).unwrap();
    let out = Command::cargo_bin("trtc-logwatch")
        .unwrap()
        .arg("scan")
        .arg(&p)
        .output()
        .unwrap();
    assert!(out.status.success());
    parse_ndjson(&out.stdout)
}

fn parse_ndjson(b: &[u8]) -> Vec<Value> {
    b.split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

#[test]
fn core_tier_through_the_library() {
    check("core", &lib);
}

#[test]
fn ext_tier_through_the_library() {
    check("ext", &lib);
}

#[test]
fn both_tiers_through_scan_on_stdin_and_on_a_file() {
    for tier in ["core", "ext"] {
        check(tier, &cli_stdin);
        check(tier, &cli_file);
    }
}

#[test]
fn every_record_is_run() {
    let recs = records();
    assert_eq!(recs.len(), 36);
    assert!(recs.values().all(|r| r.tier == "core" || r.tier == "ext"));
}
