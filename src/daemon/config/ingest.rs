//! The HTTP ingest section (`ingest:`, `run --ingest ADDR`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::values::{Names, duration_in, in_range, resolve_listen};
use crate::yaml::YamlError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIngest {
    listen: Spanned<String>,
    #[serde(default)]
    sources: Vec<Spanned<String>>,
    #[serde(default)]
    token_file: Option<PathBuf>,
    #[serde(default)]
    max_body_bytes: Option<Spanned<usize>>,
    #[serde(default)]
    message_field: Option<String>,
    #[serde(default)]
    write_timeout: Option<Spanned<String>>,
    #[serde(default)]
    body_timeout: Option<Spanned<String>>,
    #[serde(default)]
    max_memory_bytes: Option<Spanned<usize>>,
    #[serde(default)]
    workers: Option<Spanned<usize>>,
}

/// HTTP ingest (`ingest:`, `run --ingest ADDR`): collectors POST lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestConfig {
    /// Where `POST /ingest` is served.
    pub listen: SocketAddr,
    /// Source names a request may name (`/ingest/{source}`); the first is
    /// the source of `POST /ingest`.
    pub sources: Vec<String>,
    /// A file holding the bearer token requests must carry (`None`: none).
    pub token_file: Option<PathBuf>,
    /// Largest request body, compressed and decompressed.
    pub max_body_bytes: usize,
    /// The field of a JSON record that holds the log line (`None`: the
    /// first of `log`, `message`, `msg`).
    pub message_field: Option<String>,
    /// How long a request waits for its events to be written (a blocked
    /// output) before it is answered 503.
    pub write_timeout: Duration,
    /// How long a client has to send a request's whole body (408 after).
    pub body_timeout: Duration,
    /// The memory all requests in flight hold together (bodies as received
    /// and decoded, records, events until written): beyond it 503, or 413
    /// for a request that alone needs more.
    pub max_memory_bytes: usize,
    /// Requests decoded and matched at once; the others wait.
    pub workers: usize,
}

impl IngestConfig {
    /// Ingest on `listen` with the defaults: one source, `ingest`.
    pub fn on(listen: SocketAddr) -> Self {
        Self {
            listen,
            sources: vec!["ingest".into()],
            token_file: None,
            max_body_bytes: DEFAULT_INGEST_BODY,
            message_field: None,
            write_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(10),
            max_memory_bytes: DEFAULT_INGEST_MEMORY,
            workers: default_workers(),
        }
    }
}

/// Default largest ingest request body (8 MiB).
pub const DEFAULT_INGEST_BODY: usize = 8 << 20;

/// Default memory of all ingest requests in flight together (64 MiB).
pub const DEFAULT_INGEST_MEMORY: usize = 64 << 20;

/// One ingest worker per core.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// The bearer token in `path` (surrounding whitespace dropped).
pub fn read_token(path: &Path) -> Result<String, TokenError> {
    let bad = |why: String| TokenError {
        path: path.display().to_string(),
        why,
    };
    let t = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let t = t.trim().to_string();
    if t.is_empty() {
        return Err(bad("is empty".into()));
    }
    Ok(t)
}

/// An ingest token file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("ingest token file {path}: {why}")]
pub struct TokenError {
    path: String,
    why: String,
}

/// The `ingest:` section: its names are new source names (metrics labels).
pub(super) fn compile_ingest(
    path: &Path,
    base: &Path,
    i: &RawIngest,
    names: &mut Names,
) -> Result<IngestConfig, YamlError> {
    let mut c = IngestConfig::on(
        resolve_listen(&i.listen.value)
            .map_err(|e| YamlError::at(path, &i.listen, e.to_string()))?,
    );
    if !i.sources.is_empty() {
        c.sources = i
            .sources
            .iter()
            .map(|n| names.claim(path, n))
            .collect::<Result<_, _>>()?;
    }
    c.token_file = i.token_file.as_ref().map(|t| base.join(t));
    if let Some(m) = &i.max_body_bytes {
        c.max_body_bytes = in_range(path, "ingest.max_body_bytes", m, 1024, 1 << 30)?;
    }
    if let Some(m) = &i.max_memory_bytes {
        c.max_memory_bytes =
            in_range(path, "ingest.max_memory_bytes", m, 1 << 20, usize::MAX >> 1)?;
    }
    if c.max_memory_bytes < 2 * c.max_body_bytes {
        let at = i.max_memory_bytes.as_ref().or(i.max_body_bytes.as_ref());
        let why = format!(
            "ingest.max_memory_bytes ({}) must be at least twice ingest.max_body_bytes ({}): a body is held as received and as decoded",
            c.max_memory_bytes, c.max_body_bytes
        );
        return Err(match at {
            Some(a) => YamlError::at(path, a, why),
            None => YamlError::at(path, &i.listen, why),
        });
    }
    if let Some(w) = &i.workers {
        c.workers = in_range(path, "ingest.workers", w, 1, 64)?;
    }
    c.message_field.clone_from(&i.message_field);
    let (min, max) = (Duration::from_millis(100), Duration::from_secs(600));
    for (name, slot, raw) in [
        (
            "ingest.write_timeout",
            &mut c.write_timeout,
            &i.write_timeout,
        ),
        ("ingest.body_timeout", &mut c.body_timeout, &i.body_timeout),
    ] {
        if let Some(d) = raw {
            *slot = duration_in(path, name, d, min, max)?;
        }
    }
    Ok(c)
}
