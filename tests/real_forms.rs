//! The real-form corpus (tests/data/real-forms.tsv): lines as the TRTC Web
//! SDK 4.15 and 5.18, its demo apps, its docs and the apps around it print
//! them, each citing its source, error lines and lines that are no error.
//! Prints recall, precision and exact-code rate, and holds them to the
//! targets of issue 9 (recall >= 0.97, precision >= 0.98, exact >= 0.95).

mod common;

use serde_json::Value;

struct Row {
    id: String,
    expected: String,
    source: String,
    text: String,
}

fn rows(file: &str) -> Vec<Row> {
    common::data(file)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.splitn(4, '\t').collect();
            Row {
                id: f[0].into(),
                expected: f[1].into(),
                source: f[2].into(),
                text: f[3].replace("\\n", "\n"),
            }
        })
        .collect()
}

/// (primary codes, cause codes) of the events.
fn codes(events: &[Value]) -> (Vec<String>, Vec<String>) {
    let p = events
        .iter()
        .map(|e| match &e["code"] {
            Value::Null => "MSG".to_string(),
            c => c.to_string(),
        })
        .collect();
    let c = events
        .iter()
        .filter_map(|e| e["cause"]["code"].as_i64().map(|c| c.to_string()))
        .collect();
    (p, c)
}

/// Whether the events give exactly the expected codes: the primary code,
/// then its causes (`?`: may be missing).
fn exact(expected: &str, prim: &[String], causes: &[String]) -> bool {
    let mut parts = expected.split('+');
    let want = parts.next().unwrap_or_default();
    if prim.len() != 1 || prim[0] != want {
        return false;
    }
    let (req, opt): (Vec<&str>, Vec<&str>) = parts.partition(|p| !p.ends_with('?'));
    let opt: Vec<&str> = opt.iter().map(|o| o.trim_end_matches('?')).collect();
    req.iter().all(|r| causes.iter().any(|c| c == r))
        && causes
            .iter()
            .all(|c| req.contains(&c.as_str()) || opt.contains(&c.as_str()))
}

/// What the matcher makes of a set: error and other lines, recall,
/// precision, exact codes, and a line for each row it got wrong.
struct Measured {
    errors: usize,
    noise: usize,
    recall: f64,
    precision: f64,
    exactness: f64,
    report: Vec<String>,
}

fn measure(file: &str) -> Measured {
    let m = common::matcher();
    let rows = rows(file);
    let (mut errors, mut found, mut exact_n, mut flagged_noise, mut noise) = (0, 0, 0, 0, 0);
    let mut report = Vec::new();
    for r in &rows {
        let (events, _) = common::scan_lib(&m, format!("{}\n", r.text).as_bytes(), 64 * 1024);
        let (prim, causes) = codes(&events);
        if r.expected == "NONE" {
            noise += 1;
            if !events.is_empty() {
                flagged_noise += 1;
                report.push(format!(
                    "false alarm #{} {prim:?} ({}): {}",
                    r.id, r.source, r.text
                ));
            }
            continue;
        }
        errors += 1;
        if events.is_empty() {
            report.push(format!(
                "missed #{} want {} ({}): {}",
                r.id, r.expected, r.source, r.text
            ));
            continue;
        }
        found += 1;
        if exact(&r.expected, &prim, &causes) {
            exact_n += 1;
        } else {
            report.push(format!(
                "inexact #{} want {} got {prim:?}+{causes:?}: {}",
                r.id, r.expected, r.text
            ));
        }
    }
    let m = Measured {
        errors,
        noise,
        recall: found as f64 / errors as f64,
        precision: found as f64 / (found + flagged_noise) as f64,
        exactness: exact_n as f64 / errors as f64,
        report,
    };
    println!(
        "{file}: {} error lines, {} other lines; recall {:.3}, precision {:.3}, exact codes {:.3}",
        m.errors, m.noise, m.recall, m.precision, m.exactness
    );
    for r in &m.report {
        println!("  {r}");
    }
    m
}

/// Holds a set to its floors.
fn holds(m: &Measured, min_lines: (usize, usize), recall: f64, precision: f64, exact: f64) {
    let why = m.report.join("\n");
    assert!(
        m.errors >= min_lines.0 && m.noise >= min_lines.1,
        "{} error, {} other lines",
        m.errors,
        m.noise
    );
    assert!(m.recall >= recall, "recall {:.3}\n{why}", m.recall);
    assert!(
        m.precision >= precision,
        "precision {:.3}\n{why}",
        m.precision
    );
    assert!(m.exactness >= exact, "exact {:.3}\n{why}", m.exactness);
}

#[test]
fn real_forms_meet_the_recall_precision_and_exactness_targets() {
    holds(&measure("real-forms.tsv"), (100, 100), 0.97, 0.98, 0.95);
}

/// The third set (issue 30): lines gathered for its principles (a failed
/// recovery, codes in brackets, URLs and URL-encoded text, code-less SDK
/// templates, empty messages; other vendors, docs, tables, changelogs,
/// test output, source code, other protocols' codes), none tuned to one
/// by one. Its floors are what the principles reach, so a change that
/// loses one fails here.
#[test]
fn the_third_set_meets_its_floors() {
    holds(&measure("real-forms-3.tsv"), (50, 40), 0.98, 0.97, 0.93);
}

/// The SDKs' own wordings without a name or code (`tests/data/sdk-templates.tsv`):
/// every message template of trtc-sdk-v5 5.17.1 that an app logs as
/// `error.message`, and the lines trtc-js-sdk 4.6-4.15 writes just before
/// it throws, read from the npm builds. Each is its code exactly.
#[test]
fn every_sdk_template_gives_its_code_exactly() {
    holds(&measure("sdk-templates.tsv"), (75, 3), 1.0, 1.0, 1.0);
}

/// The fourth set (`tests/data/real-forms-4.tsv`, 68 lines): gathered
/// this issue by someone else, from SDK builds, demo apps, issues and docs
/// the other sets never used, after the principles were built. Scored at
/// recall 0.892, precision 0.971, exact 0.811 as it came; four of its
/// failures showed principles since mended (SDK 4's reconnection texts
/// without the key, the v5 templates left out, 5201's internal message,
/// JSDoc `{@link}` lines); its floors are what it is at now.
#[test]
fn the_fourth_set_meets_its_floors() {
    holds(&measure("real-forms-4.tsv"), (35, 30), 0.91, 0.97, 0.88);
}
