//! The README and docs/ stay true: every link leads somewhere (a file of
//! the repository, a heading of a page), every `trtc-logwatch` command line
//! they show names a real subcommand and real flags, and docs/metrics.md
//! lists exactly the metrics the daemon's registry serves.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::daemon::{Daemon, http_get, write_config};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README, ARCHITECTURE, BENCHMARKS, docs/*.md and deploy's READMEs.
fn pages() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md", "BENCHMARKS.md"]
        .iter()
        .map(|p| root().join(p))
        .collect();
    for dir in ["docs", "deploy/collectors"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "md") {
                v.push(p);
            }
        }
    }
    v
}

/// GitHub's anchor of a heading.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The headings of a page, as anchors (outside code blocks).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut out = BTreeSet::new();
    for l in text.lines() {
        if l.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && l.starts_with('#') {
            out.insert(slug(l.trim_start_matches('#')));
        }
    }
    out
}

/// Every `](target)` of a page.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        if let Some(end) = rest.find(')') {
            let t = &rest[..end];
            if !t.contains(char::is_whitespace) {
                out.push(t.to_string());
            }
        }
    }
    out
}

#[test]
fn every_link_of_the_readme_and_the_docs_leads_somewhere() {
    let mut bad = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for t in links(&text) {
            if t.starts_with("http://") || t.starts_with("https://") || t.starts_with("mailto:") {
                continue;
            }
            let (path, frag) = t.split_once('#').unwrap_or((&t, ""));
            let target = if path.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(path)
            };
            if !target.exists() {
                bad.push(format!("{}: {t}: no such file", page.display()));
                continue;
            }
            if !frag.is_empty() && target.extension().is_some_and(|x| x == "md") {
                let theirs = std::fs::read_to_string(&target).unwrap();
                if !anchors(&theirs).contains(frag) {
                    bad.push(format!("{}: {t}: no such heading", page.display()));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The `--long` flags a subcommand's help lists.
fn flags_of(sub: &str) -> BTreeSet<String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trtc-logwatch"))
        .args([sub, "--help"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{sub} --help");
    String::from_utf8_lossy(&out.stdout)
        .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']' || c == '=')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.trim_end_matches(['.', ':']).to_string())
        .collect()
}

#[test]
fn every_command_line_of_the_readme_and_the_docs_is_one_the_binary_takes() {
    let subs: BTreeSet<String> = [
        "scan",
        "explain",
        "run",
        "check-config",
        "why",
        "completions",
        "man",
        "healthcheck",
        "catalog",
        "help",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let global: BTreeSet<String> = ["--help", "--version"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut flags = std::collections::BTreeMap::new();
    let mut bad = Vec::new();
    let mut seen = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for line in text.lines() {
            // A command as a user types it: `trtc-logwatch SUB ...` or
            // `cargo run --release -- SUB ...`.
            let rest = if let Some(i) = line.find("cargo run --release -- ") {
                &line[i + "cargo run --release -- ".len()..]
            } else if let Some(i) = line.find("trtc-logwatch ") {
                let before = &line[..i];
                // Not a path, a unit or an image name (`/usr/local/bin/`, `trtc-logwatch.service`).
                if before.ends_with('/') || before.ends_with('-') || before.ends_with('_') {
                    continue;
                }
                &line[i + "trtc-logwatch ".len()..]
            } else {
                continue;
            };
            let words: Vec<&str> = rest
                .split(|c: char| c.is_whitespace() || c == '`' || c == '|' || c == ')')
                .take_while(|w| !w.starts_with('#') && !w.starts_with('>') && *w != "&&")
                .filter(|w| !w.is_empty())
                .collect();
            let Some(first) = words.first() else { continue };
            if first.starts_with("--") {
                if !global.contains(*first) && !first.starts_with("--version") {
                    bad.push(format!("{}: {line}", page.display()));
                }
                continue;
            }
            if !first.chars().all(|c| c.is_ascii_lowercase() || c == '-') || !subs.contains(*first)
            {
                continue; // prose ("trtc-logwatch reads ..."), not a command
            }
            seen += 1;
            let known = flags
                .entry(first.to_string())
                .or_insert_with(|| flags_of(first));
            for w in &words[1..] {
                let flag = w.split('=').next().unwrap_or(w);
                if flag.starts_with("--") && flag.len() > 2 && !known.contains(flag) {
                    bad.push(format!("{}: {flag} in {line}", page.display()));
                }
            }
        }
    }
    assert!(seen >= 10, "only {seen} command lines found");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Metric names in docs/metrics.md's tables (first column).
fn documented() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("docs/metrics.md")).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|n| n.starts_with("trtc_"))
        .map(String::from)
        .collect()
}

#[test]
fn docs_metrics_lists_exactly_what_the_registry_serves() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "").unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "t0ken\n").unwrap();
    // Every kind of input but NATS (its own test runs a server), and an
    // operator's rule: every collector the daemon registers.
    let cfg = write_config(
        dir.path(),
        &format!(
            "events:\n  path: events.ndjson\nsources:\n  - name: app\n    include: [\"{}\"]\ningest:\n  listen: 127.0.0.1:0\n  sources: [collector]\n  token_file: {}\nbrowser:\n  listen: 127.0.0.1:0\n  origins: [\"https://app.example.com\"]\n  sdk_app_ids: [1400000001]\nrecognition:\n  rules:\n    - name: r\n      pattern: 'X(?P<code>[0-9]+)'\n",
            log.display(),
            token.display()
        ),
    );
    let d = Daemon::start(&["--config", cfg.to_str().unwrap()]);
    let (code, body) = http_get(d.port, "/metrics").unwrap();
    assert_eq!(code, 200);
    d.stop();
    let mut served = BTreeSet::new();
    // An info metric's family is `X`, its one sample `X_info`.
    let samples: BTreeSet<&str> = body
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    for l in body.lines() {
        let mut w = l.split_whitespace();
        if let (Some("#"), Some("TYPE"), Some(name), Some(kind)) =
            (w.next(), w.next(), w.next(), w.next())
        {
            let name = match kind {
                "counter" if !name.ends_with("_total") => format!("{name}_total"),
                "info" => format!("{name}_info"),
                _ if samples.contains(format!("{name}_info").as_str()) => format!("{name}_info"),
                _ => name.to_string(),
            };
            served.insert(name);
        }
    }
    let docs = documented();
    let undocumented: Vec<_> = served.difference(&docs).collect();
    assert!(
        undocumented.is_empty(),
        "served, not in docs/metrics.md: {undocumented:?}"
    );
    // The rest of the docs' names are registered where a NATS source is
    // configured: they must be in the source code.
    let src = source_text(&root().join("src"));
    let missing: Vec<_> = docs
        .difference(&served)
        .filter(|n| {
            // Registered by its base name; the client adds `_total` and the
            // unit (`_seconds`) to what it serves.
            let base = n.trim_end_matches("_total");
            let bare = base.trim_end_matches("_seconds").trim_end_matches("_bytes");
            !src.contains(&format!("\"{base}\"")) && !src.contains(&format!("\"{bare}\""))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "in docs/metrics.md, registered nowhere: {missing:?}"
    );
}

fn source_text(dir: &Path) -> String {
    let mut all = String::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all.push_str(&source_text(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            all.push_str(&std::fs::read_to_string(&p).unwrap());
        }
    }
    all
}
