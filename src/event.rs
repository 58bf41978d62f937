//! The event: one NDJSON object per TRTC error found, schema in the README.

use std::borrow::Cow;

use serde::Serialize;

use crate::catalog::{CatalogSet, Entry, EntryId, Text};
use crate::context::Context;
use crate::matcher::Detection;

/// A code that explains the event (account, room-entry or v5 extraCode).
#[derive(Debug, Clone, Serialize)]
pub struct Cause<'a> {
    /// Decimal code.
    pub code: Option<i64>,
    /// Catalog key.
    pub key: &'a str,
    /// Category of the cause.
    pub category: &'a str,
    /// What it means.
    pub description: &'a Text,
}

/// A common-message entry seen on the line.
#[derive(Debug, Clone, Serialize)]
pub struct MessageRef<'a> {
    /// Catalog key (`MSG_...`).
    pub key: &'a str,
    /// What it means.
    pub description: &'a Text,
}

/// One error event.
#[derive(Debug, Clone, Serialize)]
pub struct Event<'a> {
    /// The line's own timestamp when recognised, else the collector's time
    /// of the record (ingest, NATS), else the time it was read (RFC 3339).
    pub ts: Cow<'a, str>,
    /// When `ts` is the collector's time of the record: when it arrived
    /// here (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<String>,
    /// The source's name: the metrics label (`scan`: the path; `run`: the
    /// configured source name, `files` for `--follow`, `stdin`).
    pub source: &'a str,
    /// The file the line was read from, or `stdin`.
    pub path: &'a str,
    /// 1-based line number in the source.
    pub line_number: u64,
    /// Byte offset of the line's first byte in the source.
    pub offset: u64,
    /// Catalog name.
    pub catalog: &'a str,
    /// Canonical key.
    pub key: &'a str,
    /// Decimal code, or null for a code-less message.
    pub code: Option<i64>,
    /// Hex code as the SDK prints it, or null.
    pub hex: Option<&'a str>,
    /// Category label.
    pub category: &'a str,
    /// `critical`, `error` or `warning`.
    pub severity: &'a str,
    /// What the failure means for the users, the same whatever the SDK
    /// version: its cause's group where it has one, else its own
    /// ([`crate::catalog::GROUPS`]).
    pub group: &'static str,
    /// The text that identified the error.
    pub matched: Cow<'a, str>,
    /// The rule that took it (docs/recognition.md).
    pub rule: &'static str,
    /// A v5 extraCode the catalog does not know, as written (else absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_code: Option<i64>,
    /// The common-message entry on the line, if any.
    pub message: Option<MessageRef<'a>>,
    /// The code that explains this error, if any.
    pub cause: Option<Cause<'a>>,
    /// The SDK 4 error an SDK 5 error wraps (its `<KEY 0xhex>` or SDK 5's
    /// wording of it after `reason:`), where no code explains it: it gives
    /// the event its group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wraps: Option<Cause<'a>>,
    /// What went wrong.
    pub description: &'a Text,
    /// What to do.
    pub action: Option<&'a Text>,
    /// Documentation link.
    pub doc_url: Option<&'a str>,
    /// userId, roomId, sdkAppId, sdkVersion when present.
    pub context: Context,
    /// The raw line (invalid UTF-8 replaced), cut at the length limit.
    pub line: Cow<'a, str>,
    /// True when `line` was cut at the length limit.
    pub line_truncated: bool,
    /// The records before it in the same body (a browser's upload): the
    /// first line of each, redacted, oldest first (at most
    /// [`crate::breadcrumbs::MAX`]); what the SDK logged on the way to the
    /// error (`ice connection state: failed`, `cameras: []`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub breadcrumbs: Vec<String>,
    /// The entries of the event, its cause and its message (for [`crate::render`]).
    #[serde(skip)]
    pub ids: (EntryId, Option<EntryId>, Option<EntryId>),
    /// The SDK recovered from it by itself (a WARN record saying it
    /// retries or falls back): counted per key as a recovery, not written
    /// as an error event.
    #[serde(skip)]
    pub recovered: bool,
}

/// Where a line came from.
#[derive(Debug, Clone, Copy)]
pub struct LineInfo<'a> {
    /// Source name (the metrics label).
    pub source: &'a str,
    /// File path or `stdin`.
    pub path: &'a str,
    /// 1-based line number.
    pub line_number: u64,
    /// Byte offset of the line.
    pub offset: u64,
    /// Whether the line was cut at the length limit.
    pub truncated: bool,
}

impl<'a> Event<'a> {
    /// Builds the event for `det` found on `line` (already UTF-8, lossy).
    pub fn new(
        set: &'a CatalogSet,
        det: &Detection,
        line: &'a str,
        raw: &'a [u8],
        info: LineInfo<'a>,
        context: Context,
        ts: Cow<'a, str>,
    ) -> Self {
        let e: &'a Entry = set.entry(det.entry);
        // `line` is often `raw` itself, seen as text (the same bytes in
        // the same place): then the matched part is a slice of it.
        let same = std::ptr::eq(line.as_bytes(), raw);
        let matched = match same.then(|| line.get(det.matched.clone())).flatten() {
            Some(m) => Cow::Borrowed(m),
            None => raw
                .get(det.matched.clone())
                .map_or(Cow::Borrowed(""), String::from_utf8_lossy),
        };
        // A cause that is no cause code (an SDK error) is what it wraps.
        let (cause, wraps) = match det.cause.map(|c| set.entry(c)) {
            None => (None, None),
            Some(c) => {
                let explains = Some(Cause {
                    code: c.code,
                    key: &c.key,
                    category: c.category.as_str(),
                    description: &c.description,
                });
                if c.kind.is_cause() {
                    (explains, None)
                } else {
                    (None, explains)
                }
            }
        };
        let message = det.message.map(|m| {
            let m = set.entry(m);
            MessageRef {
                key: &m.key,
                description: &m.description,
            }
        });
        Self {
            ts,
            received: None,
            source: info.source,
            path: info.path,
            line_number: info.line_number,
            offset: info.offset,
            catalog: &e.catalog,
            key: &e.key,
            code: e.code,
            hex: e.hex.as_ref().map(crate::catalog::Hex::as_str),
            category: e.category.as_str(),
            severity: e.severity.as_str(),
            group: crate::catalog::group_of(set, det.entry, det.cause),
            matched,
            rule: det.rule.name(),
            extra_code: det.unknown_extra,
            message,
            cause,
            wraps,
            description: &e.description,
            action: e.action.as_ref(),
            doc_url: e.doc_url.as_deref(),
            context,
            line: Cow::Borrowed(line),
            line_truncated: info.truncated,
            breadcrumbs: Vec::new(),
            recovered: false,
            ids: (det.entry, det.cause, det.message),
        }
    }
}
