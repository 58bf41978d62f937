//! Writing events as NDJSON fast: the parts of an event that come from its
//! catalog entry (key, code, hex, category, severity, descriptions, action,
//! docs link, and the entry as a cause or a message) are serialised once per
//! catalog; per event only the dynamic fields are escaped and written. In
//! `TextMode::Both` the bytes are those of `serde_json::to_vec(&event)`.

use std::io::Write;

use serde::Serialize;

use crate::catalog::{CatalogSet, Entry, EntryId, Text};
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

/// Appends `s` as a JSON string.
fn string(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
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
        let _ = write!(
            out,
            ",\"line_number\":{},\"offset\":{},",
            ev.line_number, ev.offset
        );
        out.extend_from_slice(&p.head);
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
        self.optional(out, b",\"cause\":", cause, |p| &p.cause);
        if !p.tail.is_empty() {
            out.push(b',');
            out.extend_from_slice(&p.tail);
        }
        out.extend_from_slice(b",\"context\":");
        let _ = serde_json::to_writer(&mut *out, &ev.context);
        out.extend_from_slice(b",\"line\":");
        string(out, &ev.line);
        if ev.line_truncated {
            out.extend_from_slice(b",\"line_truncated\":true");
        } else if !self.compact {
            out.extend_from_slice(b",\"line_truncated\":false");
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
