//! The one error type of the YAML files a user writes (catalogs and the
//! daemon's config): a file that cannot be read, or a mistake at
//! `file:line:column`.

use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

/// A YAML file that could not be used, with the place of the mistake.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    /// The file (or directory) could not be read.
    // The cause is part of the message, not a `source`: a report that
    // prints the chain (`{e:#}`) would say it twice.
    #[error("{path}: {cause}", path = path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// The file is not valid YAML or does not fit the schema.
    #[error("{path}:{line}:{column}: {message}", path = path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// What is wrong.
        message: String,
    },
}

impl YamlError {
    /// A mistake at the place of `at` in `path`.
    pub(crate) fn at<T>(path: &Path, at: &Spanned<T>, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_path_buf(),
            line: at.referenced.line(),
            column: at.referenced.column(),
            message: message.into(),
        }
    }

    /// A file that could not be read.
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            cause: source,
        }
    }

    /// A parse error of `path`, without the parser's own `error: line N
    /// column M:` prefix (the place comes first, as `file:line:column:`).
    pub(crate) fn parse(path: &Path, e: &serde_saphyr::Error) -> Self {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        let text = e.to_string();
        let mut msg = text.lines().next().unwrap_or("").trim();
        msg = msg.strip_prefix("error:").unwrap_or(msg).trim_start();
        let prefix = format!("line {line} column {column}:");
        msg = msg
            .strip_prefix(prefix.as_str())
            .unwrap_or(msg)
            .trim_start();
        Self::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message: msg.to_string(),
        }
    }
}

/// Parses YAML text into `T`; errors name `path`.
pub(crate) fn from_str<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, YamlError> {
    serde_saphyr::from_str(text).map_err(|e| YamlError::parse(path, &e))
}
