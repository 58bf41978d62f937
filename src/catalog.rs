//! The error catalog: YAML files in `patterns/`, validated and compiled into
//! an immutable [`CatalogSet`] with lookups by code, hex and name.
//!
//! The built-in catalogs are compiled into the binary ([`CatalogSet::builtin`]);
//! users add or replace catalogs with [`CatalogSetBuilder::add_dir`].

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

/// The catalogs shipped in the binary: (file name, YAML text).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "trtc-web-v4.yaml",
        include_str!("../patterns/trtc-web-v4.yaml"),
    ),
    (
        "trtc-web-v5.yaml",
        include_str!("../patterns/trtc-web-v5.yaml"),
    ),
];

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    catalog: Spanned<String>,
    #[serde(default)]
    sdk_major: Option<u32>,
    /// Where the Japanese text comes from when it is not the source's own.
    #[serde(default)]
    ja_source: Option<String>,
    entries: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    key: Spanned<String>,
    #[serde(default)]
    aliases: Vec<String>,
    kind: EntryKind,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    hex: Option<Spanned<String>>,
    #[serde(default)]
    parent: Option<i64>,
    category: Spanned<String>,
    severity: Severity,
    #[serde(default = "yes")]
    bare: bool,
    #[serde(default)]
    messages: Vec<String>,
    description: Text,
    #[serde(default)]
    action: Option<Text>,
    #[serde(default)]
    action_by: ActionBy,
    #[serde(default)]
    doc_url: Option<String>,
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

fn yes() -> bool {
    true
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

    fn of(index: usize) -> Self {
        Self(u32::try_from(index).unwrap_or(u32::MAX))
    }
}

/// A hex code as the SDK prints it: its value, parsed once when the
/// catalog is loaded, and its text (`0x4003`, lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hex {
    value: u32,
    text: String,
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
pub struct Category(&'static str);

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
    let own = set.entry(entry).category;
    let by_cause = cause
        .map(|c| set.entry(c).category)
        .filter(|c| c.as_str() != "unknown");
    by_cause.unwrap_or(own).group()
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
    /// Severity.
    pub severity: Severity,
    /// Whether the key alone, without `<KEY 0x..>`, `KEY:` or quotes, is an error.
    pub bare: bool,
    /// Message wordings that identify this entry.
    pub messages: Vec<String>,
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
    entries: Vec<Entry>,
    /// How many of `entries` come from catalog files.
    listed: usize,
    by_code: HashMap<i64, Vec<EntryId>>,
    by_hex: HashMap<u32, EntryId>,
    by_name: HashMap<String, Vec<EntryId>>,
    patterns: usize,
    warnings: Vec<String>,
}

impl CatalogSet {
    /// The catalogs compiled into the binary.
    pub fn builtin() -> Result<Self, CatalogError> {
        CatalogSetBuilder::new().build()
    }

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

/// The built-in catalogs (if `builtin`) plus every catalog in `dirs`.
pub fn load(builtin: bool, dirs: &[PathBuf]) -> Result<CatalogSet, CatalogError> {
    let mut b = CatalogSetBuilder::new();
    b.builtin(builtin);
    for d in dirs {
        b.add_dir(d)?;
    }
    b.build()
}

/// Builds a [`CatalogSet`] from the built-in catalogs and user directories.
#[derive(Debug)]
pub struct CatalogSetBuilder {
    builtin: bool,
    files: Vec<(PathBuf, String)>,
    /// Directories given that held no catalog, said as warnings.
    empty_dirs: Vec<PathBuf>,
}

impl Default for CatalogSetBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl CatalogSetBuilder {
    /// A builder that starts from the built-in catalogs.
    pub fn new() -> Self {
        Self {
            builtin: true,
            files: Vec::new(),
            empty_dirs: Vec::new(),
        }
    }

    /// Whether to include the built-in catalogs. By default, they are included.
    pub fn builtin(&mut self, yes: bool) -> &mut Self {
        self.builtin = yes;
        self
    }

    /// Adds a catalog from YAML text; `path` is only used in error messages.
    pub fn add_yaml(&mut self, path: impl Into<PathBuf>, yaml: impl Into<String>) -> &mut Self {
        self.files.push((path.into(), yaml.into()));
        self
    }

    /// Adds every `*.yaml` / `*.yml` file of `dir` (sorted by name), or `dir`
    /// itself if it is a file. A user catalog with the name of a built-in one
    /// replaces it.
    pub fn add_dir(&mut self, dir: &Path) -> Result<&mut Self, CatalogError> {
        let io = |source| CatalogError::io(dir, source);
        let mut paths = Vec::new();
        if dir.is_file() {
            paths.push(dir.to_path_buf());
        } else {
            for ent in std::fs::read_dir(dir).map_err(io)? {
                let p = ent.map_err(io)?.path();
                let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
                if ext == "yaml" || ext == "yml" {
                    paths.push(p);
                }
            }
            paths.sort();
            if paths.is_empty() {
                self.empty_dirs.push(dir.to_path_buf());
            }
        }
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|e| CatalogError::io(&p, e))?;
            self.files.push((p, text));
        }
        Ok(self)
    }

    /// Validates and compiles everything added.
    pub fn build(&self) -> Result<CatalogSet, CatalogError> {
        let mut parsed: Vec<(PathBuf, RawFile)> = Vec::new();
        let builtin = BUILTIN
            .iter()
            .filter(|_| self.builtin)
            .map(|(n, y)| (PathBuf::from(format!("<builtin>/{n}")), (*y).to_string()));
        for (path, text) in builtin.chain(self.files.iter().cloned()) {
            let raw: RawFile = crate::yaml::from_str(&path, &text)?;
            // A later catalog of the same name replaces the earlier one.
            parsed.retain(|(_, f)| f.catalog.value != raw.catalog.value);
            parsed.push((path, raw));
        }
        let mut set = CatalogSet {
            entries: Vec::new(),
            listed: 0,
            by_code: HashMap::new(),
            by_hex: HashMap::new(),
            by_name: HashMap::new(),
            patterns: 0,
            warnings: Vec::new(),
        };
        for d in &self.empty_dirs {
            set.warnings.push(format!(
                "{}: no catalog in it (no *.yaml or *.yml file)",
                d.display()
            ));
        }
        let empty = parsed.is_empty();
        for (path, file) in parsed {
            compile_file(&mut set, &path, file)?;
        }
        add_drift_entries(&mut set);
        if empty {
            // Nothing could ever be found: refuse rather than run blind.
            let path = self
                .empty_dirs
                .first()
                .cloned()
                .unwrap_or_else(|| PathBuf::from("<catalogs>"));
            return Err(CatalogError::io(
                &path,
                std::io::Error::other(
                    "no catalog loaded: the built-in catalogs are off and no user catalog was found",
                ),
            ));
        }
        Ok(set)
    }
}

/// One drift entry per SDK major that a catalog declares, after the
/// catalogs' entries: the event of an error in the SDK's own form whose key
/// or code the catalog does not know (README "Catalog drift").
fn add_drift_entries(set: &mut CatalogSet) {
    set.listed = set.entries.len();
    let mut majors: Vec<(u32, String)> = set
        .entries
        .iter()
        .filter_map(|e| Some((e.sdk_major?, e.catalog.clone())))
        .collect();
    majors.sort();
    majors.dedup_by_key(|m| m.0);
    for (major, catalog) in majors {
        set.entries.push(Entry {
            catalog,
            sdk_major: Some(major),
            ja_source: Some("trtc-logwatch".into()),
            key: "UNKNOWN_SDK_ERROR".into(),
            aliases: Vec::new(),
            kind: EntryKind::Drift,
            code: None,
            hex: None,
            parent: None,
            category: Category("unknown"),
            severity: Severity::Error,
            bare: false,
            messages: Vec::new(),
            description: Text {
                en: format!(
                    "An error in SDK {major}'s own form that the catalog does not know: the SDK is newer than the catalog (the unknown key or code is in `matched`)."
                ),
                ja: Some(format!(
                    "カタログにないSDK {major}のエラーです。SDKがカタログより新しい可能性があります（未知のキーまたはコードは matched にあります）。"
                )),
            },
            action: Some(Text {
                en: "Update trtc-logwatch (or add the new key to a catalog in a --patterns directory); look up the key in the SDK's error code documentation.".into(),
                ja: Some("trtc-logwatch を更新するか、--patterns のカタログに新しいキーを追加してください。SDKのエラーコード一覧でキーを確認してください。".into()),
            }),
            action_by: ActionBy::TrtcLogwatch,
            doc_url: None,
        });
    }
}

/// Longest key or alias.
pub const MAX_KEY_LEN: usize = 64;

/// Longest message wording, in bytes.
pub const MAX_MESSAGE_LEN: usize = 256;

/// Most keys, aliases and message wordings in all catalogs together: the
/// matcher's build time and memory grow with them.
pub const MAX_PATTERNS: usize = 10_000;

/// Keys shorter than this are accepted with a warning.
const SHORT_KEY: usize = 4;

fn invalid<T>(path: &Path, at: &Spanned<T>, message: String) -> CatalogError {
    CatalogError::at(path, at, message)
}

fn is_key(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

fn compile_file(set: &mut CatalogSet, path: &Path, file: RawFile) -> Result<(), CatalogError> {
    let name = file.catalog.value.clone();
    if name.is_empty() {
        return Err(invalid(path, &file.catalog, "empty catalog name".into()));
    }
    let mut seen: HashSet<String> = HashSet::new();
    for raw in file.entries {
        set.patterns += 1 + raw.aliases.len() + raw.messages.len();
        if set.patterns > MAX_PATTERNS {
            return Err(invalid(
                path,
                &raw.key,
                format!(
                    "more than {MAX_PATTERNS} keys, aliases and messages in all catalogs together"
                ),
            ));
        }
        for n in std::iter::once(&raw.key.value).chain(&raw.aliases) {
            if n.len() < SHORT_KEY {
                set.warnings.push(format!(
                    "{}:{}: key or alias {n:?} is shorter than {SHORT_KEY} characters: it will match in many lines that are no TRTC error, and slow scanning",
                    path.display(),
                    raw.key.referenced.line()
                ));
            }
        }
        let mut entry = compile_entry(path, &name, file.sdk_major, raw, &mut seen)?;
        entry.ja_source.clone_from(&file.ja_source);
        let id = EntryId::of(set.entries.len());
        if let Some(code) = entry.code {
            set.by_code.entry(code).or_default().push(id);
        }
        if let (Some(h), EntryKind::Sdk) = (&entry.hex, entry.kind) {
            set.by_hex.entry(h.value()).or_insert(id);
        }
        for n in std::iter::once(&entry.key).chain(&entry.aliases) {
            set.by_name.entry(n.clone()).or_default().push(id);
        }
        set.entries.push(entry);
    }
    Ok(())
}

fn compile_entry(
    path: &Path,
    catalog: &str,
    sdk_major: Option<u32>,
    raw: RawEntry,
    seen: &mut HashSet<String>,
) -> Result<Entry, CatalogError> {
    check_names(path, &raw, seen)?;
    let Some(category) = Category::named(&raw.category.value) else {
        return Err(invalid(
            path,
            &raw.category,
            format!(
                "unknown category {:?} (one of: {})",
                raw.category.value,
                CATEGORIES.join(", ")
            ),
        ));
    };
    check_kind(&raw).map_err(|m| invalid(path, &raw.key, m.into()))?;
    let hex = match &raw.hex {
        None => None,
        Some(h) => Some(parse_hex(h, raw.code).map_err(|m| invalid(path, h, m))?),
    };
    Ok(Entry {
        catalog: catalog.to_string(),
        sdk_major,
        ja_source: None,
        key: raw.key.value,
        aliases: raw.aliases,
        kind: raw.kind,
        code: raw.code,
        hex,
        parent: raw.parent,
        category,
        severity: raw.severity,
        bare: raw.bare,
        messages: raw.messages,
        description: raw.description,
        action: raw.action,
        action_by: raw.action_by,
        doc_url: raw.doc_url,
    })
}

/// The key and every alias: UPPER_SNAKE_CASE and unique in the catalog.
fn check_names(
    path: &Path,
    raw: &RawEntry,
    seen: &mut HashSet<String>,
) -> Result<(), CatalogError> {
    let key = &raw.key.value;
    if !is_key(key) {
        return Err(invalid(
            path,
            &raw.key,
            format!("key {key:?} is not UPPER_SNAKE_CASE"),
        ));
    }
    if let Some(n) = std::iter::once(key)
        .chain(&raw.aliases)
        .find(|n| n.len() > MAX_KEY_LEN)
    {
        return Err(invalid(
            path,
            &raw.key,
            format!(
                "key or alias of {} characters (at most {MAX_KEY_LEN})",
                n.len()
            ),
        ));
    }
    for n in std::iter::once(key).chain(&raw.aliases) {
        if !seen.insert(n.clone()) {
            return Err(invalid(
                path,
                &raw.key,
                format!("duplicate key or alias {n}"),
            ));
        }
        if !is_key(n) {
            return Err(invalid(
                path,
                &raw.key,
                format!("alias {n:?} is not UPPER_SNAKE_CASE"),
            ));
        }
    }
    Ok(())
}

/// What each kind of entry needs: a code (messages: wordings instead), a
/// parent for extraCodes, and wordings of at least 4 characters.
fn check_kind(raw: &RawEntry) -> Result<(), &'static str> {
    match (raw.kind, raw.code) {
        (EntryKind::Message, _) if raw.messages.is_empty() => {
            return Err("a message entry needs `messages`");
        }
        (EntryKind::Message, Some(_)) => return Err("a message entry has no `code`"),
        (EntryKind::Message, None) => {}
        (_, None) => return Err("this kind of entry needs a `code`"),
        (EntryKind::Extra, Some(_)) if raw.parent.is_none() => {
            return Err("an extra entry needs a `parent` code");
        }
        _ => {}
    }
    if raw.messages.iter().any(|m| m.trim().len() < 4) {
        return Err("a message must have at least 4 characters");
    }
    if raw.messages.iter().any(|m| m.len() > MAX_MESSAGE_LEN) {
        return Err("a message must have at most 256 bytes");
    }
    Ok(())
}

/// A `0x....` hex code that equals `code`, lower-cased.
fn parse_hex(h: &Spanned<String>, code: Option<i64>) -> Result<Hex, String> {
    let v = h
        .value
        .strip_prefix("0x")
        .and_then(|d| u32::from_str_radix(d, 16).ok());
    match (v, code) {
        (Some(v), Some(code)) if i64::from(v) == code => Ok(Hex {
            value: v,
            text: h.value.to_ascii_lowercase(),
        }),
        (Some(_), _) => Err(format!("hex {} does not equal code {code:?}", h.value)),
        (None, _) => Err(format!("bad hex {:?}, expected 0x....", h.value)),
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

#[cfg(test)]
mod tests {

    #[test]
    fn no_description_says_itself_twice() {
        let set = CatalogSet::builtin().unwrap();
        for e in set.all_entries() {
            assert!(
                !e.description.en.contains("Description:"),
                "{}: {}",
                e.key,
                e.description.en
            );
        }
    }

    #[test]
    fn every_entry_says_what_to_do_in_both_languages() {
        let set = CatalogSet::builtin().unwrap();
        for e in set.all_entries() {
            let a = e
                .action
                .as_ref()
                .unwrap_or_else(|| panic!("{} has no action", e.key));
            assert!(!a.en.is_empty(), "{}", e.key);
            assert!(
                a.ja.as_deref().is_some_and(|j| !j.is_empty()),
                "{} has no ja action",
                e.key
            );
        }
    }

    #[test]
    fn every_category_is_in_one_group_and_ice_and_its_v5_form_meet() {
        for c in CATEGORIES {
            let n = GROUPS.iter().filter(|(_, cats)| cats.contains(c)).count();
            assert_eq!(n, 1, "{c}");
        }
        let set = CatalogSet::builtin().unwrap();
        let id = |name: &str, major: u32| {
            *set.by_name(name)
                .iter()
                .find(|&&i| set.entry(i).sdk_major == Some(major))
                .unwrap()
        };
        let ice = id("ICE_TRANSPORT_ERROR", 4);
        assert_eq!(group_of(&set, ice, None), "media_connection");
        let op = id("OPERATION_FAILED", 5);
        let fw = id("FIREWALL_RESTRICTION", 5);
        assert_eq!(group_of(&set, op, Some(fw)), "media_connection");
        assert_eq!(group_of(&set, op, None), "usage");
    }

    use super::*;

    #[test]
    fn builtin_loads_with_lookups() {
        let set = CatalogSet::builtin().unwrap();
        let ice = set.lookup("0x4003");
        assert_eq!(set.entry(ice[0]).key, "ICE_TRANSPORT_ERROR");
        assert_eq!(set.entry(set.lookup("16387")[0]).key, "ICE_TRANSPORT_ERROR");
        assert_eq!(set.entry(set.lookup("UNKOWN")[0]).key, "UNKNOWN");
        assert_eq!(set.lookup("INVALID_PARAMETER").len(), 2);
    }

    #[test]
    fn bad_category_is_refused_with_its_place() {
        let mut b = CatalogSetBuilder::new();
        b.builtin(false).add_yaml(
            "x.yaml",
            "catalog: x\nentries:\n  - key: A_B\n    kind: sdk\n    code: 1\n    category: nope\n    severity: error\n    description: {en: a}\n",
        );
        let e = b.build().unwrap_err().to_string();
        assert!(e.starts_with("x.yaml:6:15: unknown category"), "{e}");
    }

    #[test]
    fn yaml_syntax_and_unknown_fields_are_refused() {
        for (yaml, want) in [
            ("catalog: x\nentries: [\n", "x.yaml:"),
            (
                "catalog: x\nentries:\n  - key: A\n    colour: red\n",
                "x.yaml:4:",
            ),
        ] {
            let mut b = CatalogSetBuilder::new();
            b.builtin(false).add_yaml("x.yaml", yaml);
            let e = b.build().unwrap_err().to_string();
            assert!(e.starts_with(want), "{e}");
        }
    }

    fn one_entry(key: &str, aliases: usize) -> String {
        let list: Vec<String> = (0..aliases).map(|i| format!("A_{i}")).collect();
        format!(
            "catalog: x\nentries:\n  - key: {key}\n    aliases: [{}]\n    kind: sdk\n    code: 1\n    category: room\n    severity: error\n    description: {{en: a}}\n",
            list.join(", ")
        )
    }

    #[test]
    fn sizes_are_bounded_and_short_keys_warned_about() {
        let build = |yaml: String| {
            let mut b = CatalogSetBuilder::new();
            b.builtin(false).add_yaml("x.yaml", yaml);
            b.build()
        };
        let e = build(one_entry(&"K".repeat(10_000), 0))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("x.yaml:3:") && e.contains("at most 64"),
            "{e}"
        );
        let e = build(one_entry("MANY", 20_000)).unwrap_err().to_string();
        assert!(e.contains("more than 10000"), "{e}");
        let set = build(one_entry("A", 0)).unwrap();
        assert!(
            set.warnings()[0].contains("\"A\" is shorter than 4"),
            "{:?}",
            set.warnings()
        );
        assert!(CatalogSet::builtin().unwrap().warnings().is_empty());
    }

    #[test]
    fn hex_must_equal_code() {
        let mut b = CatalogSetBuilder::new();
        b.builtin(false).add_yaml(
            "x.yaml",
            "catalog: x\nentries:\n  - key: A_B\n    kind: sdk\n    code: 1\n    hex: \"0x2\"\n    category: room\n    severity: error\n    description: {en: a}\n",
        );
        let e = b.build().unwrap_err().to_string();
        assert!(
            e.contains("x.yaml:6:") && e.contains("does not equal"),
            "{e}"
        );
    }
}
