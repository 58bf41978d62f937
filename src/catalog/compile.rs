//! The catalogs' YAML schema and its compilation: files read and checked
//! (keys, codes, hex, categories, names unique across catalogs), each
//! mistake at `file:line:column`, into a [`CatalogSet`]
//! ([`CatalogSetBuilder`]).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::model::*;

/// The catalogs shipped in the binary: (file name, YAML text).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "trtc-web-v4.yaml",
        include_str!("../../patterns/trtc-web-v4.yaml"),
    ),
    (
        "trtc-web-v5.yaml",
        include_str!("../../patterns/trtc-web-v5.yaml"),
    ),
];

impl CatalogSet {
    /// The catalogs compiled into the binary.
    pub fn builtin() -> Result<Self, CatalogError> {
        CatalogSetBuilder::new().build()
    }
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
    #[serde(default)]
    v5_reasons: Vec<String>,
    description: Text,
    #[serde(default)]
    action: Option<Text>,
    #[serde(default)]
    action_by: ActionBy,
    #[serde(default)]
    doc_url: Option<String>,
}

fn yes() -> bool {
    true
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
/// or code the catalog does not know (docs/recognition.md, "Catalog drift").
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
            group: Category("unknown").group(),
            severity: Severity::Error,
            bare: false,
            messages: Vec::new(),
            v5_reasons: Vec::new(),
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
        set.patterns += 1 + raw.aliases.len() + raw.messages.len() + raw.v5_reasons.len();
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
    check_kind(&raw, sdk_major).map_err(|m| invalid(path, &raw.key, m.into()))?;
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
        group: category.group(),
        severity: raw.severity,
        bare: raw.bare,
        messages: raw.messages,
        v5_reasons: raw.v5_reasons,
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
fn check_kind(raw: &RawEntry, sdk_major: Option<u32>) -> Result<(), &'static str> {
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
    if !raw.v5_reasons.is_empty() && (raw.kind != EntryKind::Sdk || sdk_major == Some(5)) {
        return Err("`v5_reasons` are for an SDK 4 error (kind: sdk) that SDK 5 wraps");
    }
    let wordings = || raw.messages.iter().chain(&raw.v5_reasons);
    if wordings().any(|m| m.trim().len() < 4) {
        return Err("a message or reason must have at least 4 characters");
    }
    if wordings().any(|m| m.len() > MAX_MESSAGE_LEN) {
        return Err("a message or reason must have at most 256 bytes");
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
