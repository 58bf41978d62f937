//! The catalogs as the matcher and the pages use them: entries, their
//! kinds, categories and groups, and a [`CatalogSet`]'s lookups by code,
//! hex and name.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The documented category taxonomy; every entry has exactly one.
pub const CATEGORIES: &[&str] = &[
    "parameter",
    "operation",
    "environment",
    "device",
    "browser",
    "signaling",
    "transport",
    "room",
    "media",
    "cdn",
    "server",
    "account",
    "room_entry",
    "unknown",
];

/// A catalog that could not be loaded: the YAML error type shared with the config.
pub use crate::yaml::YamlError as CatalogError;

/// What an entry is: an SDK error code, a cause code, or a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// An SDK error code (`RtcError` code, v5 `ERROR_CODE`): an event of its own.
    Sdk,
    /// A Tencent Cloud account-system code: usually the cause of an SDK error.
    Account,
    /// A room-entry result code: usually the cause of JOIN_ROOM_FAILED.
    RoomEntry,
    /// A v5 `extraCode`: refines its `parent` code.
    Extra,
    /// A common error message without a code.
    Message,
    /// Not in any catalog file: an error in the SDK's own form whose key or
    /// code the catalog does not know (catalog drift), one per SDK major.
    Drift,
}

impl EntryKind {
    /// The name the catalog YAML uses (`sdk`, `room_entry`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Sdk => "sdk",
            EntryKind::Account => "account",
            EntryKind::RoomEntry => "room_entry",
            EntryKind::Extra => "extra",
            EntryKind::Message => "message",
            EntryKind::Drift => "drift",
        }
    }

    /// True for codes that explain another error (account, room entry, extraCode).
    pub fn is_cause(self) -> bool {
        matches!(self, Self::Account | Self::RoomEntry | Self::Extra)
    }
}

/// How bad an error is for the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The call cannot go on (no media, no room).
    Critical,
    /// A feature failed.
    Error,
    /// Expected in normal operation or needs only a user gesture.
    Warning,
}

impl Severity {
    /// The lower-case name used in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// A text in English and (where the source gives it) Japanese.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// English (trtc-logwatch's own wording).
    pub en: String,
    /// Japanese, as the catalog source writes it; `None` where it has none.
    #[serde(default)]
    pub ja: Option<String>,
}

/// Who wrote an entry's action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionBy {
    /// Tencent's error-handling advice (the seed catalog, the SDK's docs and
    /// source), reworded.
    #[default]
    Tencent,
    /// trtc-logwatch, where Tencent gives none (`action_by: trtc-logwatch`).
    TrtcLogwatch,
}

/// Index of an entry inside a [`CatalogSet`] (a catalog holds at most
/// 10,000 keys, aliases and messages, so a `u32` is room enough).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId(u32);

impl EntryId {
    /// The entry's position in [`CatalogSet::entries`].
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub(super) fn of(index: usize) -> Self {
        Self(u32::try_from(index).unwrap_or(u32::MAX))
    }
}

/// A hex code as the SDK prints it: its value, parsed once when the
/// catalog is loaded, and its text (`0x4003`, lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hex {
    pub(super) value: u32,
    pub(super) text: String,
}

impl Hex {
    /// The code's value.
    pub fn value(&self) -> u32 {
        self.value
    }

    /// The code as printed (`0x4003`).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Serialize for Hex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// One of [`CATEGORIES`]: checked when the catalog is loaded, so no other
/// value can be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Category(pub(super) &'static str);

impl Category {
    /// The category named `name`, if it is one of [`CATEGORIES`].
    pub fn named(name: &str) -> Option<Self> {
        CATEGORIES.iter().find(|c| **c == name).map(|c| Self(c))
    }

    /// Its name (`transport`).
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// The groups alerts watch, the same whatever the SDK version: what an
/// error means for the users and who acts on it. An event's group is its
/// cause's (a v5 extraCode, a v4 account or room-entry code) where it has
/// one, else its own: so a v5 `OPERATION_FAILED` whose extraCode is 5501
/// (`FIREWALL_RESTRICTION`) is a `media_connection` failure, as v4's
/// `ICE_TRANSPORT_ERROR` is.
pub const GROUPS: &[(&str, &[&str])] = &[
    ("media_connection", &["transport"]),
    ("signaling", &["signaling"]),
    ("auth", &["account"]),
    ("room_entry", &["room", "room_entry"]),
    ("device", &["device"]),
    ("permission", &["browser"]),
    ("parameters", &["parameter"]),
    ("usage", &["operation"]),
    ("environment", &["environment"]),
    ("media", &["media", "cdn"]),
    ("server", &["server"]),
    ("unknown", &["unknown"]),
];

impl Category {
    /// The group of [`GROUPS`] this category belongs to.
    pub fn group(self) -> &'static str {
        GROUPS
            .iter()
            .find(|(_, cats)| cats.contains(&self.0))
            .map_or("unknown", |(g, _)| g)
    }
}

/// The group of an event of `entry` with `cause` (see [`GROUPS`]).
pub fn group_of(set: &CatalogSet, entry: EntryId, cause: Option<EntryId>) -> &'static str {
    let by_cause = cause
        .map(|c| set.entry(c))
        .filter(|c| c.category.as_str() != "unknown");
    by_cause.unwrap_or_else(|| set.entry(entry)).group
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Category {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

/// One compiled catalog entry.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Name of the catalog it belongs to (`trtc-web-v4`).
    pub catalog: String,
    /// Major SDK version of that catalog, if declared.
    #[serde(skip)]
    pub sdk_major: Option<u32>,
    /// Where its Japanese text comes from, when it is a translation of
    /// trtc-logwatch's rather than the source's (`None`: the source's own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja_source: Option<String>,
    /// Canonical key (`ICE_TRANSPORT_ERROR`, `ACCOUNT_70001`, `MSG_PUBLISH_TIMEOUT`).
    pub key: String,
    /// Other spellings printed by some SDK versions.
    pub aliases: Vec<String>,
    /// What the entry is.
    pub kind: EntryKind,
    /// Decimal code, `None` for messages.
    pub code: Option<i64>,
    /// Hex form as the SDK prints it (lower case), if any.
    pub hex: Option<Hex>,
    /// For v5 extraCodes: the `ERROR_CODE` they refine.
    pub parent: Option<i64>,
    /// One of [`CATEGORIES`].
    pub category: Category,
    /// Its category's group ([`Category::group`]), found once.
    #[serde(skip)]
    pub group: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Whether the key alone, without `<KEY 0x..>`, `KEY:` or quotes, is an error.
    pub bare: bool,
    /// Message wordings that identify this entry.
    pub messages: Vec<String>,
    /// How SDK 5 words this SDK 4 error when it wraps it (its `convertFrom`
    /// turns every inner error without a v5 code of its own into
    /// `OPERATION_FAILED`, the inner message after `reason:`): never an
    /// event alone, they make it what the v5 error wraps, so the failure
    /// keeps its group whatever the version.
    pub v5_reasons: Vec<String>,
    /// What went wrong.
    pub description: Text,
    /// What to do about it.
    pub action: Option<Text>,
    /// Who wrote `action`.
    pub action_by: ActionBy,
    /// Documentation link.
    pub doc_url: Option<String>,
}

/// All loaded catalogs, compiled: immutable once built.
#[derive(Debug, Clone)]
pub struct CatalogSet {
    /// The catalogs' entries, then the drift entries (see [`EntryKind::Drift`]).
    pub(super) entries: Vec<Entry>,
    /// How many of `entries` come from catalog files.
    pub(super) listed: usize,
    pub(super) by_code: HashMap<i64, Vec<EntryId>>,
    pub(super) by_hex: HashMap<u32, EntryId>,
    pub(super) by_name: HashMap<String, Vec<EntryId>>,
    pub(super) patterns: usize,
    pub(super) warnings: Vec<String>,
}

impl CatalogSet {
    /// Every catalog entry, in load order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries[..self.listed]
    }

    /// Every entry an event can have: the catalog entries, then the drift
    /// entries (one per SDK major: an SDK error the catalog does not know).
    pub fn all_entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The drift entry of SDK `major` (the catalog does not know an error
    /// printed in that SDK's own form).
    pub fn drift_entry(&self, major: u32) -> Option<EntryId> {
        self.entries[self.listed..]
            .iter()
            .position(|e| e.sdk_major == Some(major))
            .map(|i| EntryId::of(self.listed + i))
    }

    /// Every catalog entry with its id, in load order.
    pub fn iter(&self) -> impl Iterator<Item = (EntryId, &Entry)> {
        self.entries()
            .iter()
            .enumerate()
            .map(|(i, e)| (EntryId::of(i), e))
    }

    /// What is allowed but unwise (keys so short they match everywhere).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The entry with this id.
    pub fn entry(&self, id: EntryId) -> &Entry {
        &self.entries[id.index()]
    }

    /// Entries with this decimal code (v4 and v5 never share one, but user catalogs may).
    pub fn by_code(&self, code: i64) -> &[EntryId] {
        self.by_code.get(&code).map_or(&[], Vec::as_slice)
    }

    /// The SDK entry with this hex value (`0x4003` → ICE_TRANSPORT_ERROR).
    pub fn by_hex(&self, hex: u32) -> Option<EntryId> {
        self.by_hex.get(&hex).copied()
    }

    /// Entries whose key or alias is `name` (exact, case-sensitive).
    pub fn by_name(&self, name: &str) -> &[EntryId] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// Looks up `KEY`, a decimal code or a `0x` hex code, as `explain` does.
    pub fn lookup(&self, query: &str) -> Vec<EntryId> {
        let q = query.trim();
        if let Some(h) = q.strip_prefix("0x").or_else(|| q.strip_prefix("0X")) {
            return u32::from_str_radix(h, 16)
                .ok()
                .and_then(|v| self.by_hex(v))
                .into_iter()
                .collect();
        }
        if let Ok(code) = q.parse::<i64>() {
            return self.by_code(code).to_vec();
        }
        let upper = q.to_ascii_uppercase();
        let mut ids = self.by_name(&upper).to_vec();
        if ids.is_empty() {
            ids = self.by_name(q).to_vec();
        }
        ids
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.key)?;
        if let Some(c) = self.code {
            write!(f, " {c}")?;
        }
        if let Some(h) = &self.hex {
            write!(f, " {}", h.as_str())?;
        }
        write!(f, " [{}/{}]", self.catalog, self.category)
    }
}
