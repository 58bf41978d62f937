//! File and stdin sources (`sources:`, `--follow`, `--stdin`): their
//! kinds, globs and start positions, and the checks of a `sources:` entry.

use std::path::Path;

use globset::{GlobSet, GlobSetBuilder};
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::values::{Names, SourceError, valid_name};
use crate::yaml::YamlError;

/// Where a file is read from when it is first seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartAt {
    /// Read the whole file.
    Beginning,
    /// Only lines written from now on.
    End,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) name: Spanned<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    include: Vec<Spanned<String>>,
    #[serde(default, deserialize_with = "one_or_many")]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    stdin: bool,
    #[serde(default)]
    start_at: Option<StartAt>,
    #[serde(default)]
    new_files_start_at: Option<StartAt>,
}

/// A glob, or a list of them: `include: "/var/log/app/*.log"` is taken as a
/// list of one. Each glob keeps its place in the file (for errors).
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Spanned<String>>, D::Error> {
    /// One glob (its place is the value's), or globs (each with its own).
    enum OneOrMany {
        One(String),
        Many(Vec<Spanned<String>>),
    }
    struct Visit;
    impl<'de> serde::de::Visitor<'de> for Visit {
        type Value = OneOrMany;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a glob or a list of globs")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OneOrMany, E> {
            Ok(OneOrMany::One(v.to_string()))
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<OneOrMany, A::Error> {
            let mut all = Vec::new();
            while let Some(g) = seq.next_element::<Spanned<String>>()? {
                all.push(g);
            }
            Ok(OneOrMany::Many(all))
        }
    }
    impl<'de> Deserialize<'de> for OneOrMany {
        fn deserialize<D2: serde::Deserializer<'de>>(d: D2) -> Result<Self, D2::Error> {
            d.deserialize_any(Visit)
        }
    }
    let v = Spanned::<OneOrMany>::deserialize(d)?;
    Ok(match v.value {
        OneOrMany::One(s) => vec![Spanned::new(s, v.referenced, v.defined)],
        OneOrMany::Many(all) => all,
    })
}

/// One configured source: a set of files, or stdin.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Name used as the `source` label.
    pub name: String,
    /// What it reads.
    pub kind: SourceKind,
}

/// What a configured source reads.
#[derive(Debug, Clone)]
pub enum SourceKind {
    /// Files matched by globs, followed.
    Files(FileGlobs),
    /// Standard input, to its end.
    Stdin,
}

/// The files of a file source and where each is first read from.
#[derive(Debug, Clone)]
pub struct FileGlobs {
    /// Include globs (`**` allowed).
    pub include: Vec<String>,
    /// Exclude globs.
    pub exclude: Vec<String>,
    /// Compiled include set.
    pub include_set: GlobSet,
    /// Compiled exclude set.
    pub exclude_set: GlobSet,
    /// Files present at the first start (no checkpoint yet). Default: end.
    pub start_at: StartAt,
    /// Files that appear later. Default: beginning.
    pub new_files_start_at: StartAt,
}

impl FileGlobs {
    /// True when `path` is one of this source's files.
    pub fn matches(&self, path: &Path) -> bool {
        self.include_set.is_match(path) && !self.exclude_set.is_match(path)
    }
}

/// Compiles globs; the error names the bad one.
pub fn glob_set(globs: &[String]) -> Result<GlobSet, SourceError> {
    let bad = |glob: &str| {
        let glob = glob.to_string();
        move |source| SourceError::BadGlob { glob, source }
    };
    let mut b = GlobSetBuilder::new();
    for g in globs {
        let glob = globset::GlobBuilder::new(g)
            .literal_separator(true)
            .build()
            .map_err(bad(g))?;
        b.add(glob);
    }
    b.build().map_err(bad(&globs.join(" ")))
}

impl SourceConfig {
    /// A file source from globs, with the default start positions.
    pub fn files(
        name: &str,
        include: Vec<String>,
        exclude: Vec<String>,
    ) -> Result<Self, SourceError> {
        if !valid_name(name) {
            return Err(SourceError::BadName(name.to_string()));
        }
        if include.is_empty() {
            return Err(SourceError::NoInclude(name.to_string()));
        }
        Ok(Self {
            name: name.to_string(),
            kind: SourceKind::Files(FileGlobs {
                include_set: glob_set(&include)?,
                exclude_set: glob_set(&exclude)?,
                include,
                exclude,
                start_at: StartAt::End,
                new_files_start_at: StartAt::Beginning,
            }),
        })
    }

    /// The stdin source.
    pub fn stdin(name: &str) -> Self {
        Self {
            name: name.to_string(),
            kind: SourceKind::Stdin,
        }
    }

    /// The globs of a file source (`None`: stdin).
    pub fn files_of(&self) -> Option<&FileGlobs> {
        match &self.kind {
            SourceKind::Files(g) => Some(g),
            SourceKind::Stdin => None,
        }
    }

    /// The globs of a file source, to change (`None`: stdin).
    pub fn files_of_mut(&mut self) -> Option<&mut FileGlobs> {
        match &mut self.kind {
            SourceKind::Files(g) => Some(g),
            SourceKind::Stdin => None,
        }
    }

    /// True for the stdin source.
    pub fn is_stdin(&self) -> bool {
        matches!(self.kind, SourceKind::Stdin)
    }
}

/// A relative glob of the config file, anchored at the config's directory
/// (whose name is escaped, so its `[`, `*` or `?` stay literal).
fn anchored(base: &Path, glob: &str) -> String {
    if Path::new(glob).is_absolute() {
        return glob.to_string();
    }
    let dir = globset::escape(&base.to_string_lossy());
    let glob = glob.strip_prefix("./").unwrap_or(glob);
    format!("{}/{glob}", dir.trim_end_matches('/'))
}

/// One `sources:` entry, its name claimed in `names`; relative globs
/// are taken from `base`.
pub(super) fn compile_source(
    path: &Path,
    base: &Path,
    s: RawSource,
    names: &mut Names,
) -> Result<SourceConfig, YamlError> {
    let name = names.claim(path, &s.name)?;
    if s.stdin {
        if !s.include.is_empty() {
            return Err(YamlError::at(
                path,
                &s.name,
                "a stdin source has no include globs",
            ));
        }
        return Ok(SourceConfig::stdin(&name));
    }
    for g in s.include.iter().chain(&s.exclude) {
        glob_set(std::slice::from_ref(&g.value))
            .map_err(|e| YamlError::at(path, g, e.to_string()))?;
    }
    let strs = |v: &[Spanned<String>]| {
        v.iter()
            .map(|g| anchored(base, &g.value))
            .collect::<Vec<_>>()
    };
    let mut src = SourceConfig::files(&name, strs(&s.include), strs(&s.exclude))
        .map_err(|e| YamlError::at(path, &s.name, e.to_string()))?;
    if let Some(g) = src.files_of_mut() {
        g.start_at = s.start_at.unwrap_or(StartAt::End);
        g.new_files_start_at = s.new_files_start_at.unwrap_or(StartAt::Beginning);
    }
    Ok(src)
}
