//! The `recognition:` section: the operator's own rules and ignores (see
//! [`crate::matcher::operator`]), each pattern's mistakes pointed at by
//! `file:line:column`.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::matcher::Recognition;
use crate::yaml::YamlError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRecognition {
    #[serde(default)]
    rules: Vec<RawPattern>,
    #[serde(default)]
    ignore: Vec<RawPattern>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPattern {
    name: Spanned<String>,
    pattern: Spanned<String>,
}

/// Compiles the section; a bad pattern or a name given twice is an error
/// at its place.
pub(super) fn compile_recognition(
    path: &Path,
    raw: &RawRecognition,
) -> Result<Arc<Recognition>, YamlError> {
    let mut r = Recognition::default();
    let mut seen = std::collections::HashSet::new();
    for (kind, list) in [("rules", &raw.rules), ("ignore", &raw.ignore)] {
        for p in list {
            let name = p.name.value.trim();
            if name.is_empty() || name.len() > 64 {
                return Err(YamlError::at(
                    path,
                    &p.name,
                    "a recognition name must have 1 to 64 characters",
                ));
            }
            if !seen.insert((kind, name.to_string())) {
                return Err(YamlError::at(
                    path,
                    &p.name,
                    format!("recognition.{kind}: `{name}` is named twice"),
                ));
            }
            let added = if kind == "rules" {
                r.add_rule(name, &p.pattern.value)
            } else {
                r.add_ignore(name, &p.pattern.value)
            };
            added.map_err(|e| {
                YamlError::at(
                    path,
                    &p.pattern,
                    format!("recognition.{kind} `{name}`: bad pattern: {e}"),
                )
            })?;
        }
    }
    Ok(Arc::new(r))
}
