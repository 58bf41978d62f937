//! Writing events as NDJSON fast: the parts of an event that come from its
//! catalog entry (key, code, hex, category, severity, descriptions, action,
//! docs link, and the entry as a cause or a message) are serialised once per
//! catalog; per event only the dynamic fields are escaped and written. In
//! `TextMode::Both` the bytes are those of `serde_json::to_vec(&event)`.

use std::io::Write;

use serde::Serialize;

use crate::catalog::{CatalogSet, Entry, EntryId, Text};
use crate::context::Context;
use crate::event::Event;

/// Which prose events carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextMode {
    /// English and Japanese (the default).
    #[default]
    Both,
    /// English only.
    En,
    /// Japanese only (null where the catalog has none).
    Ja,
    /// No prose, and compact: keys, codes, categories, severities, context
    /// and the line stay; descriptions, actions and what else `explain`
    /// gives for the key (`hex`, `doc_url`) go, as do `matched` and `rule`
    /// (`why RECORD` gives both) and fields that are null or false
    /// (`message`, `cause`, `line_truncated`).
    None,
}

/// One entry's pre-serialised parts.
#[derive(Debug)]
struct Parts {
    /// `"catalog":..,"key":..,"code":..,"hex":..,"category":..,"severity":..`
    /// (the event's `group` follows)
    head: Vec<u8>,
    /// `"description":..,"action":..,"doc_url":..` (empty in `None`).
    tail: Vec<u8>,
    /// The entry as a cause object.
    cause: Vec<u8>,
    /// The entry as a message object.
    message: Vec<u8>,
}

/// The pre-serialised parts of every entry of a catalog set.
#[derive(Debug)]
pub struct Renderer {
    parts: Vec<Parts>,
    /// `TextMode::None`: absent rather than null or false.
    compact: bool,
}

fn json<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
    // Serialising plain strings, numbers and maps of them cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

fn text(t: &Text, mode: TextMode) -> Vec<u8> {
    match mode {
        TextMode::Both | TextMode::None => json(t),
        TextMode::En => json(&serde_json::json!({ "en": t.en })),
        TextMode::Ja => json(&serde_json::json!({ "ja": t.ja })),
    }
}

/// Appends `"name":value` (with a comma before it unless it is the first).
fn field<T: Serialize + ?Sized>(out: &mut Vec<u8>, name: &str, value: &T) {
    if !matches!(out.last(), None | Some(b'{')) {
        out.push(b',');
    }
    out.extend(json(name));
    out.push(b':');
    out.extend(json(value));
}

fn parts(e: &Entry, mode: TextMode) -> Parts {
    let mut head = Vec::new();
    field(&mut head, "catalog", &e.catalog);
    field(&mut head, "key", &e.key);
    if mode != TextMode::None {
        field(&mut head, "code", &e.code);
        field(&mut head, "hex", &e.hex);
    } else if let Some(code) = e.code {
        field(&mut head, "code", &code);
    }
    field(&mut head, "category", &e.category);
    field(&mut head, "severity", e.severity.as_str());
    let mut tail = Vec::new();
    if mode != TextMode::None {
        tail.extend_from_slice(b"\"description\":");
        tail.extend(text(&e.description, mode));
        tail.extend_from_slice(b",\"action\":");
        match &e.action {
            Some(a) => tail.extend(text(a, mode)),
            None => tail.extend_from_slice(b"null"),
        }
        tail.extend_from_slice(b",\"doc_url\":");
        tail.extend(json(&e.doc_url));
    }
    let mut cause = vec![b'{'];
    field(&mut cause, "code", &e.code);
    field(&mut cause, "key", &e.key);
    field(&mut cause, "category", &e.category);
    let mut message = vec![b'{'];
    field(&mut message, "key", &e.key);
    if mode != TextMode::None {
        cause.extend_from_slice(b",\"description\":");
        cause.extend(text(&e.description, mode));
        message.extend_from_slice(b",\"description\":");
        message.extend(text(&e.description, mode));
    }
    cause.push(b'}');
    message.push(b'}');
    Parts {
        head,
        tail,
        cause,
        message,
    }
}

/// Appends `c` as a JSON object, as its `Serialize` would (fields in
/// their order, absent ones left out), without the serializer's per-field
/// calls.
fn context(out: &mut Vec<u8>, c: &Context) {
    let mut sep = b'{';
    for (name, v) in [
        (&b"\"userId\":"[..], &c.user_id),
        (b"\"roomId\":", &c.room_id),
        (b"\"sdkAppId\":", &c.sdk_app_id),
        (b"\"sdkVersion\":", &c.sdk_version),
        (b"\"browser\":", &c.browser),
        (b"\"os\":", &c.os),
    ] {
        if let Some(v) = v {
            out.push(sep);
            sep = b',';
            out.extend_from_slice(name);
            string(out, v);
        }
    }
    if sep == b'{' {
        out.push(b'{');
    }
    out.push(b'}');
}

/// Appends `s` as a JSON string.
///
/// The bytes are those `serde_json` writes (`\"`, `\\`, `\n` and the other
/// short escapes, `\u00xx` for the other control bytes, the rest as it
/// is), but the bytes that need no escape are skipped eight at a time: a
/// log line is mostly such bytes, and serde_json's byte-by-byte loop was
/// 12 % of the instructions of a storm.
pub(crate) fn string(out: &mut Vec<u8>, s: &str) {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    /// The high bit of each byte of `w` below `n` (exact for the lowest
    /// such byte; a borrow may flag bytes above it).
    fn below(w: u64, n: u64) -> u64 {
        w.wrapping_sub(n * LO) & !w & HI
    }
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut plain = 0; // the first byte not yet written
    let mut i = 0;
    while i < b.len() {
        if let Some(chunk) = b.get(i..i + 8) {
            let mut a = [0u8; 8];
            a.copy_from_slice(chunk);
            let w = u64::from_le_bytes(a);
            // A control byte, a `"` or a `\`.
            let hits = below(w, 0x20) | below(w ^ (0x22 * LO), 1) | below(w ^ (0x5c * LO), 1);
            if hits == 0 {
                i += 8;
                continue;
            }
            // The lowest flagged byte is a true one.
            i += (hits.trailing_zeros() / 8) as usize;
        }
        let c = b[i];
        let short: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..0x20 => b"",
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&b[plain..i]);
        if short.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(c >> 4)]);
            out.push(HEX[usize::from(c & 0xf)]);
        } else {
            out.extend_from_slice(short);
        }
        i += 1;
        plain = i;
    }
    out.extend_from_slice(&b[plain..]);
    out.push(b'"');
}

impl Renderer {
    /// Serialises the static parts of every entry of `set` for `mode`.
    pub fn new(set: &CatalogSet, mode: TextMode) -> Self {
        Self {
            parts: set.all_entries().iter().map(|e| parts(e, mode)).collect(),
            compact: mode == TextMode::None,
        }
    }

    /// Appends `ev` as one JSON object (without a newline).
    pub fn write(&self, ev: &Event<'_>, out: &mut Vec<u8>) {
        self.write_sampled(ev, None, out);
    }

    /// [`write`](Self::write), with `suppressed_before: n` when storm
    /// sampling left `n` events of this key out before it.
    pub fn write_sampled(&self, ev: &Event<'_>, suppressed_before: Option<u64>, out: &mut Vec<u8>) {
        let (entry, cause, message) = ev.ids;
        let p = &self.parts[entry.index()];
        out.extend_from_slice(b"{\"ts\":");
        string(out, &ev.ts);
        out.extend_from_slice(b",\"source\":");
        string(out, ev.source);
        out.extend_from_slice(b",\"path\":");
        string(out, ev.path);
        let mut n = itoa::Buffer::new();
        out.extend_from_slice(b",\"line_number\":");
        out.extend_from_slice(n.format(ev.line_number).as_bytes());
        out.extend_from_slice(b",\"offset\":");
        out.extend_from_slice(n.format(ev.offset).as_bytes());
        out.push(b',');
        out.extend_from_slice(&p.head);
        out.extend_from_slice(b",\"group\":\"");
        out.extend_from_slice(ev.group.as_bytes());
        out.push(b'"');
        if !self.compact {
            out.extend_from_slice(b",\"matched\":");
            string(out, &ev.matched);
            out.extend_from_slice(b",\"rule\":");
            string(out, ev.rule);
        }
        if let Some(x) = ev.extra_code {
            let _ = write!(out, ",\"extra_code\":{x}");
        }
        self.optional(out, b",\"message\":", message, |p| &p.message);
        // What an SDK 5 error wraps is written as `wraps`, beside no cause.
        let wraps = cause.filter(|_| ev.wraps.is_some());
        let cause = cause.filter(|_| ev.wraps.is_none());
        self.optional(out, b",\"cause\":", cause, |p| &p.cause);
        if let Some(w) = wraps {
            out.extend_from_slice(b",\"wraps\":");
            out.extend_from_slice(&self.parts[w.index()].cause);
        }
        if !p.tail.is_empty() {
            out.push(b',');
            out.extend_from_slice(&p.tail);
        }
        out.extend_from_slice(b",\"context\":");
        context(out, &ev.context);
        out.extend_from_slice(b",\"line\":");
        string(out, &ev.line);
        if ev.line_truncated {
            out.extend_from_slice(b",\"line_truncated\":true");
        } else if !self.compact {
            out.extend_from_slice(b",\"line_truncated\":false");
        }
        if !ev.breadcrumbs.is_empty() {
            out.extend_from_slice(b",\"breadcrumbs\":");
            let mut sep = b'[';
            for b in &ev.breadcrumbs {
                out.push(sep);
                sep = b',';
                string(out, b);
            }
            out.push(b']');
        }
        if let Some(r) = &ev.received {
            out.extend_from_slice(b",\"received\":");
            string(out, r);
        }
        if let Some(n) = suppressed_before {
            let _ = write!(out, ",\"suppressed_before\":{n}");
        }
        out.push(b'}');
    }

    /// Appends `name` (`,"field":`) and the entry's part, or null (absent
    /// when compact).
    fn optional(
        &self,
        out: &mut Vec<u8>,
        name: &[u8],
        id: Option<EntryId>,
        part: impl Fn(&Parts) -> &Vec<u8>,
    ) {
        match id {
            Some(i) => {
                out.extend_from_slice(name);
                out.extend_from_slice(part(&self.parts[i.index()]));
            }
            None if self.compact => {}
            None => {
                out.extend_from_slice(name);
                out.extend_from_slice(b"null");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_is_written_as_its_serialize_writes_it() {
        let vals = ["a", "é\"\\\n\u{1}", "", "user 1"];
        for mask in 0..64u32 {
            let v = |bit: u32| (mask & (1 << bit) != 0).then(|| vals[bit as usize % 4].to_string());
            let c = Context {
                user_id: v(0),
                room_id: v(1),
                sdk_app_id: v(2),
                sdk_version: v(3),
                browser: v(4),
                os: v(5),
            };
            let mut ours = Vec::new();
            context(&mut ours, &c);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&c).unwrap()
            );
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_does() {
        let mut cases: Vec<String> = (0u8..0x80)
            .map(|c| {
                let c = char::from(c);
                format!("ab{c}cdefghijklmnop{c}")
            })
            .collect();
        cases.extend(
            [
                "",
                "\"",
                "plain ascii text that needs nothing at all",
                "{\"userId\":\"a\\b\"}\r\n\t\u{1}\u{1f}\u{7f}",
                "日本語のエラー \"ICE\" \u{8}\u{c}",
                "\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}",
            ]
            .map(String::from),
        );
        // Every escaped byte at every place of an 8-byte window, alone and
        // after another (a borrow from one must not hide the next).
        for at in 0..17 {
            for c in [
                "\"", "\\", "\n", "\u{1b}", "\u{0}", "é", "\u{7f}", "\u{1}\"", "\"\u{0}",
            ] {
                cases.push(format!("{}{c}{}", "x".repeat(at), "y".repeat(9)));
            }
        }
        // And random text of every kind of byte.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..5000 {
            let bytes: Vec<u8> = (0..(x % 40))
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let b = x.to_le_bytes()[3];
                    // Mostly the bytes that matter here.
                    if x.is_multiple_of(3) {
                        b"\"\\\n\x00\x1f !"[usize::from(b % 7)]
                    } else {
                        b
                    }
                })
                .collect();
            cases.push(String::from_utf8_lossy(&bytes).into_owned());
        }
        for s in cases {
            let mut ours = Vec::new();
            string(&mut ours, &s);
            assert_eq!(ours, serde_json::to_vec(&s).unwrap(), "{s:?}");
        }
    }
}
