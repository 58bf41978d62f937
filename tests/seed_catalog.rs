//! Every row of the Japanese seed catalog is in `patterns/trtc-web-v4.yaml`
//! with its Japanese text, and is found by the matcher in every form it can
//! take: key, `<KEY 0xhex>`, decimal and hex in code context, message.

mod common;

use serde_json::Value;
use trtc_logwatch::catalog::{CatalogSet, Entry, EntryKind};

struct Row {
    section: String,
    cells: Vec<String>,
}

fn rows() -> Vec<Row> {
    let text = common::data("seed-trtc-web-v4-ja.md");
    let mut section = String::new();
    let mut out = vec![];
    for line in text.lines() {
        if let Some(s) = line.strip_prefix("## ") {
            section = s.trim().to_string();
            continue;
        }
        if !line.starts_with('|')
            || line.contains("---")
            || line.starts_with("| Key")
            || line.starts_with("| エラー")
        {
            continue;
        }
        let cells = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        out.push(Row {
            section: section.clone(),
            cells,
        });
    }
    out
}

/// The seed's text with all markup removed and no line breaks, for substring checks.
fn flat(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    let s = s.replace("**", "").replace('`', "");
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            '[' => {}
            ']' if chars.peek() == Some(&'(') => out.push(' '),
            _ => out.push(c),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join("")
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join("")
}

fn check_text(e: &Entry, seed_text: &str) {
    let seed = flat(seed_text);
    let ja = e
        .description
        .ja
        .as_deref()
        .unwrap_or_else(|| panic!("{} has no ja description", e.key));
    assert!(
        seed.contains(&squash(ja)),
        "{}: ja description not from the seed:\n{ja}\n---\n{seed}",
        e.key
    );
    // An action trtc-logwatch wrote (where the seed gives none) is marked so.
    if e.action_by == trtc_logwatch::catalog::ActionBy::Tencent
        && let Some(a) = e.action.as_ref().and_then(|a| a.ja.as_deref())
    {
        assert!(
            seed.contains(&squash(a)),
            "{}: ja action not from the seed:\n{a}",
            e.key
        );
    }
    assert!(!e.description.en.is_empty());
}

fn events(input: &str) -> Vec<Value> {
    common::scan_lib(&common::matcher(), input.as_bytes(), 64 * 1024).0
}

fn assert_one(input: &str, e: &Entry) {
    let ev = events(input);
    assert_eq!(ev.len(), 1, "{input:?} gave {ev:?}");
    let ev = &ev[0];
    assert_eq!(ev["key"], e.key.as_str(), "{input:?}");
    assert_eq!(ev["code"], serde_json::json!(e.code), "{input:?}");
    assert_eq!(ev["category"], e.category.as_str(), "{input:?}");
    assert_eq!(
        ev["description"]["ja"],
        serde_json::json!(e.description.ja),
        "{input:?}"
    );
}

#[test]
fn every_seed_row_is_in_the_catalog_and_matched() {
    let set = CatalogSet::builtin().unwrap();
    let rows = rows();
    let mut counts = std::collections::BTreeMap::new();
    for r in &rows {
        *counts.entry(r.section.as_str()).or_insert(0) += 1;
        match r.section.as_str() {
            "エラーコードの定義" => {
                let (key, code, hex) = (&r.cells[0], &r.cells[1], r.cells[2].to_lowercase());
                let ids = set.lookup(key);
                let e = ids
                    .iter()
                    .map(|&i| set.entry(i))
                    .find(|e| e.catalog == "trtc-web-v4")
                    .unwrap();
                assert_eq!(e.code.unwrap().to_string(), *code);
                assert_eq!(e.hex.as_ref().map(|h| h.as_str()), Some(hex.as_str()));
                check_text(e, &r.cells[3]);
                assert_one(&format!("RtcError: something failed <{key} {hex}>"), e);
                if e.bare {
                    assert_one(
                        &format!("[12:00:00] <ERROR> [c|u] failed with {key} here"),
                        e,
                    );
                }
                assert_one(&format!("{{\"level\":\"error\",\"code\":{code}}}"), e);
                assert_one(&format!("app: errorCode={code} happened"), e);
                assert_one(&format!("player: code=0x{} userId=bob", &hex[2..]), e);
                // A log printing the comparison reports the code; the same
                // comparison in source (`if (...)`) is a mention (issue 17).
                assert_one(
                    &format!("player error: getCode() === {hex} -> reconnecting"),
                    e,
                );
            }
            "アカウントに関するエラーメッセージ" | "入室失敗に関するエラーメッセージ" =>
            {
                let code: i64 = r.cells[0].parse().unwrap();
                let e = set
                    .by_code(code)
                    .iter()
                    .map(|&i| set.entry(i))
                    .find(|e| e.kind.is_cause())
                    .unwrap();
                assert_eq!(
                    e.category.as_str(),
                    if r.section.starts_with("アカウント") {
                        "account"
                    } else {
                        "room_entry"
                    }
                );
                check_text(e, r.cells.last().unwrap());
                assert_one(
                    &format!("[08:00:12:441] <ERROR> [↑ws|alice] {code}, failure"),
                    e,
                );
                assert_one(
                    &format!("Failed to join room - get tinyid error code: {code}"),
                    e,
                );
                let ev = events(&format!(
                    "SignalChannel setup failure: (errorCode: {code}, x) <SIGNAL_CHANNEL_SETUP_FAILED 0x4001>"
                ));
                assert_eq!(ev.len(), 1);
                assert_eq!(ev[0]["code"], 16385);
                assert_eq!(ev[0]["cause"]["code"], code);
                assert_eq!(ev[0]["cause"]["key"], e.key.as_str());
            }
            "一般的なエラーと対処方法" => {
                let msg = &r.cells[0];
                let e = set
                    .entries()
                    .iter()
                    .find(|e| e.kind == EntryKind::Message && e.messages.contains(msg))
                    .unwrap_or_else(|| panic!("no message entry for {msg}"));
                let seed = flat(&r.cells[1]);
                assert_eq!(squash(e.description.ja.as_deref().unwrap()), seed, "{msg}");
                let act = e.action.as_ref().and_then(|a| a.ja.as_deref()).unwrap();
                assert_eq!(squash(act), flat(&r.cells[2]), "{msg}");
                let ev = events(&format!("[16:23:47] <ERROR> [n|user_3]  {msg}: details"));
                assert_eq!(ev.len(), 1, "{msg}: {ev:?}");
                assert_eq!(ev[0]["code"], Value::Null);
                assert_eq!(ev[0]["key"], e.key.as_str());
                assert_eq!(ev[0]["message"]["key"], e.key.as_str());
                assert_eq!(
                    ev[0]["description"]["ja"],
                    serde_json::json!(e.description.ja)
                );
                // On a line with a code, the message enriches that event instead.
                let ev = events(&format!("RtcError: {msg} <UNKNOWN 0xffff>"));
                assert_eq!(ev.len(), 1);
                assert_eq!(ev[0]["code"], 65535);
                assert_eq!(ev[0]["message"]["key"], e.key.as_str());
            }
            s => panic!("unexpected seed section {s}"),
        }
    }
    let want = [
        ("エラーコードの定義", 26),
        ("アカウントに関するエラーメッセージ", 62),
        ("入室失敗に関するエラーメッセージ", 10),
        ("一般的なエラーと対処方法", 14),
    ];
    for (s, n) in want {
        assert_eq!(counts.get(s), Some(&n), "{s}");
    }
}

#[test]
fn later_4x_codes_and_v5_codes_are_present() {
    let set = CatalogSet::builtin().unwrap();
    for (q, key, code) in [
        ("0x404b", "API_CALL_TIMEOUT", 16459),
        ("0x404c", "SCHEDULE_FAILED", 16460),
        ("0x404d", "API_CALL_ABORTED", 16461),
        ("5000", "INVALID_PARAMETER", 5000),
        ("5100", "INVALID_OPERATION", 5100),
        ("5200", "ENV_NOT_SUPPORTED", 5200),
        ("5300", "DEVICE_ERROR", 5300),
        ("5400", "SERVER_ERROR", 5400),
        ("5500", "OPERATION_FAILED", 5500),
        ("5998", "OPERATION_ABORT", 5998),
        ("5999", "UNKNOWN_ERROR", 5999),
    ] {
        let e = set.entry(set.lookup(q)[0]);
        assert_eq!((e.key.as_str(), e.code), (key, Some(code)));
    }
    for extra in [5302, 5303, 5401, -100013, 5501, 5502] {
        assert!(
            set.by_code(extra)
                .iter()
                .any(|&i| set.entry(i).kind == EntryKind::Extra),
            "{extra}"
        );
    }
}
