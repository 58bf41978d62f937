//! Human-readable output: `explain`, `catalog` and the `scan --summary` table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::catalog::{CatalogSet, Entry, Text};
use crate::matcher::{Hints, Matcher, Reject};
use crate::scan::Stats;

/// Language of `explain` text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English only.
    En,
    /// Japanese only (English, marked `[en: no Japanese text]`, where the
    /// catalog has no Japanese).
    Ja,
    /// Both.
    Both,
}

fn text(t: &Text, lang: Lang) -> String {
    let ja = t.ja.as_deref();
    match (lang, ja) {
        (Lang::En, _) => t.en.clone(),
        (Lang::Ja, None) => format!("[en: no Japanese text] {}", t.en),
        (Lang::Ja, Some(j)) => j.to_string(),
        (Lang::Both, Some(j)) => format!("{}\n  [ja] {}", t.en, j.replace('\n', "\n       ")),
        (Lang::Both, None) => t.en.clone(),
    }
}

/// The `explain` view of one entry.
pub fn explain(e: &Entry, lang: Lang) -> String {
    let mut s = String::new();
    let code = e.code.map_or("-".to_string(), |c| c.to_string());
    let _ = writeln!(
        s,
        "{}  code {}  hex {}",
        e.key,
        code,
        e.hex.as_ref().map_or("-", |h| h.as_str())
    );
    if !e.aliases.is_empty() {
        let _ = writeln!(s, "aliases:     {}", e.aliases.join(", "));
    }
    let _ = writeln!(s, "catalog:     {} ({})", e.catalog, e.kind.as_str());
    let _ = writeln!(s, "category:    {}", e.category);
    let _ = writeln!(s, "severity:    {}", e.severity.as_str());
    if let Some(p) = e.parent {
        let _ = writeln!(s, "refines:     {p}");
    }
    let _ = writeln!(
        s,
        "description: {}",
        text(&e.description, lang).replace('\n', "\n  ")
    );
    if let Some(a) = &e.action {
        let _ = writeln!(s, "action:      {}", text(a, lang).replace('\n', "\n  "));
    }
    if !e.messages.is_empty() {
        let _ = writeln!(s, "messages:    {}", e.messages.join(" | "));
    }
    if let Some(d) = &e.doc_url {
        let _ = writeln!(s, "docs:        {d}");
    }
    s
}

/// One line per entry under a header row, for `catalog`. A description of
/// several lines is shown whole, its later lines indented under the first.
pub fn catalog_table(set: &CatalogSet) -> String {
    let mut s = String::new();
    let row = |s: &mut String, cols: [&str; 8]| {
        let _ = writeln!(
            s,
            "{:<12} {:<11} {:<36} {:>8} {:<7} {:<12} {:<8} {}",
            cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7]
        );
    };
    row(
        &mut s,
        [
            "CATALOG",
            "KIND",
            "KEY",
            "CODE",
            "HEX",
            "CATEGORY",
            "SEVERITY",
            "DESCRIPTION",
        ],
    );
    let indent = " ".repeat(12 + 11 + 36 + 8 + 7 + 12 + 8 + 7);
    for e in set.entries() {
        let code = e.code.map_or("-".to_string(), |c| c.to_string());
        let description = e.description.en.replace('\n', &format!("\n{indent}"));
        row(
            &mut s,
            [
                &e.catalog,
                e.kind.as_str(),
                &e.key,
                &code,
                e.hex.as_ref().map_or("-", |h| h.as_str()),
                e.category.as_str(),
                e.severity.as_str(),
                &description,
            ],
        );
    }
    s
}

/// Catalog keys and aliases close to `query` (a misspelt key), closest
/// first: at most three, each within a third of the query's length in
/// edits.
pub fn did_you_mean(set: &CatalogSet, query: &str) -> Vec<String> {
    let q = query.to_ascii_uppercase();
    let limit = (q.chars().count() / 3).max(1);
    let names = || {
        set.entries().iter().flat_map(|e| {
            std::iter::once(e.key.as_str()).chain(e.aliases.iter().map(String::as_str))
        })
    };
    // Keys the query starts, then keys that hold it (`ICE` names
    // ICE_TRANSPORT_ERROR), then keys a few edits away: the rank first.
    let mut near: Vec<(usize, usize, &str)> = names()
        .filter_map(|k| {
            let up = k.to_ascii_uppercase();
            if q.len() >= 3 && up.starts_with(&q) {
                Some((0, up.len(), k))
            } else if q.len() >= 3 && up.contains(&q) {
                Some((1, up.len(), k))
            } else {
                let d = edit_distance(&q, &up);
                (d <= limit).then_some((2, d, k))
            }
        })
        .collect();
    near.sort();
    near.dedup_by(|a, b| a.2 == b.2);
    // Keys the query starts are what was meant, if there are any.
    let best = near.first().map_or(2, |n| n.0);
    near.into_iter()
        .filter(|n| best > 0 || n.0 == 0)
        .take(5)
        .map(|(_, _, k)| k.to_string())
        .collect()
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Counts per failure group and per key, for `scan --summary`: a group is
/// what an event means whatever the SDK version (a v5 firewall failure is
/// `media_connection`, as v4's `ICE_TRANSPORT_ERROR`).
#[derive(Debug, Default)]
pub struct Summary {
    by_group: BTreeMap<&'static str, u64>,
    by_key: BTreeMap<(&'static str, String), u64>,
}

impl Summary {
    /// Counts one event of `key` in `group`.
    pub fn add(&mut self, group: &'static str, key: &str) {
        *self.by_group.entry(group).or_default() += 1;
        *self.by_key.entry((group, key.to_string())).or_default() += 1;
    }

    /// The table printed on stderr.
    pub fn render(&self, stats: &Stats) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "lines {}  bytes {}  events {}  recoveries {}  cut_lines {}  invalid_utf8 {}  bad_json {}  own_output {}",
            stats.lines,
            stats.bytes,
            stats.events,
            stats.recoveries,
            stats.cut_lines,
            stats.invalid_utf8,
            stats.bad_json,
            stats.own_output
        );
        for (group, n) in &self.by_group {
            let _ = writeln!(s, "{group:<18} {n:>10}");
            for ((_, key), n) in self.by_key.iter().filter(|((g, _), _)| g == group) {
                let _ = writeln!(s, "  {key:<38} {n:>8}");
            }
        }
        s
    }
}

/// The `why` view of one line: every candidate with the rule that took it
/// or why it was not taken, bare catalog numbers the rules ignored, and the
/// events the line gives.
pub fn why(m: &Matcher, record: &str) -> String {
    // What it shows has its credentials replaced, as the events do.
    let clean = crate::redact::redact_text(record);
    // A record sent URL-encoded is explained as it was written, where that
    // is where its error is (as the scanner does).
    let decoded = if m.find(clean.as_bytes()).ignored() {
        None
    } else {
        crate::matcher::forms::url_decoded(clean.as_bytes())
            .map(|d| crate::redact::redact_text(&String::from_utf8_lossy(&d)).into_owned())
            .filter(|d| !m.find(d.as_bytes()).is_empty())
    };
    let decoded_note = decoded.is_some();
    let record = decoded
        .as_deref()
        .unwrap_or(&clean)
        .trim_end_matches(['\n', '\r']);
    let whole = record.as_bytes();
    // As the scanner does: matched up to the first stack frame.
    let raw = &whole[..crate::records::match_end(whole, 0, whole.len())];
    let (hits, verdicts) = m.find_explained(raw);
    let mut s = String::new();
    let lines: Vec<&str> = record.split('\n').collect();
    let matched_lines = raw.iter().filter(|&&b| b == b'\n').count() + 1;
    let shown = |l: &str| {
        l.trim_end_matches('\r')
            .chars()
            .take(160)
            .collect::<String>()
    };
    if decoded_note {
        let _ = writeln!(s, "(URL-decoded: read as it was written)");
    }
    if lines.len() == 1 {
        let _ = writeln!(s, "line: {}", shown(record));
    } else {
        let _ = writeln!(s, "record of {} lines:", lines.len());
        for (i, l) in lines.iter().enumerate() {
            let note = if i == matched_lines {
                "   (not matched: a stack from here)"
            } else {
                ""
            };
            let _ = writeln!(s, "  {:>2}| {}{note}", i + 1, shown(l));
        }
    }
    let at = |v: &crate::matcher::Verdict| {
        if lines.len() > 1 {
            format!(" (line {})", v.line + 1)
        } else {
            String::new()
        }
    };
    let mut covered: Vec<&str> = Vec::new();
    for v in &verdicts {
        match v.outcome {
            Ok(rule) => {
                let _ = writeln!(
                    s,
                    "  accepted  {:<40} {}{}",
                    quote(&v.text),
                    rule.name(),
                    at(v)
                );
                covered.push(&v.text);
            }
            Err(r) => {
                let _ = writeln!(
                    s,
                    "  rejected  {:<40} {}{}",
                    quote(&v.text),
                    r.name(),
                    at(v)
                );
            }
        }
    }
    for n in bare_codes(m, raw) {
        if !covered.iter().any(|c| c.contains(&n)) {
            let _ = writeln!(
                s,
                "  rejected  {:<40} {}",
                quote(&n),
                Reject::BareNumber.name()
            );
        }
    }
    let hints = Hints {
        sdk_major: crate::context::lift(&String::from_utf8_lossy(raw))
            .context
            .sdk_major(),
    };
    let dets = if hits.is_empty() {
        Vec::new()
    } else {
        m.resolve(raw, &hits, hints)
    };
    if dets.is_empty() {
        let _ = writeln!(s, "  => no event");
    }
    let set = m.catalog();
    let what = if crate::matcher::forms::is_recovery(raw) {
        "recovery (the SDK retries or falls back: counted, no error event)"
    } else {
        "event"
    };
    for d in dets {
        let e = set.entry(d.entry);
        let code = e.code.map_or("-".to_string(), |c| c.to_string());
        let cause = d
            .cause
            .map(|c| {
                let c = set.entry(c);
                let how = if c.kind.is_cause() { "cause" } else { "wraps" };
                format!(
                    ", {how} {} (group {})",
                    c.key,
                    crate::catalog::group_of(set, d.entry, d.cause)
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  => {what} {} {code} [{}]{cause} (rule: {})",
            e.key,
            e.catalog,
            d.rule.name()
        );
    }
    s
}

fn quote(t: &str) -> String {
    let short: String = t.chars().take(38).collect();
    format!("{short:?}")
}

/// Standalone numbers on the line that are catalog codes.
fn bare_codes(m: &Matcher, line: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(line);
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts = (bytes[i].is_ascii_digit() || bytes[i] == b'-')
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric());
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
        let tok = &text[i..j];
        if let Ok(v) = tok.parse::<i64>()
            && !m.catalog().by_code(v).is_empty()
            && !bytes.get(j).is_some_and(u8::is_ascii_alphanumeric)
        {
            out.push(tok.to_string());
        }
        i = j;
    }
    out
}
