//! The NATS JetStream section (`nats:`).

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::values::{Names, duration_in, in_range};
use crate::yaml::YamlError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNats {
    url: Spanned<String>,
    stream: Spanned<String>,
    #[serde(default)]
    subjects: Vec<String>,
    durable: Spanned<String>,
    #[serde(default)]
    source: Option<Spanned<String>>,
    #[serde(default)]
    message_field: Option<String>,
    #[serde(default)]
    batch: Option<Spanned<usize>>,
    #[serde(default)]
    batch_bytes: Option<Spanned<usize>>,
    #[serde(default)]
    ack_wait: Option<Spanned<String>>,
}

/// A NATS JetStream durable pull consumer (`nats:`): replicas that bind the
/// same durable share its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConfig {
    /// Server URL (`nats://127.0.0.1:4222`).
    pub url: String,
    /// The stream to consume.
    pub stream: String,
    /// Subjects the stream captures (created if missing); empty: the stream
    /// must exist.
    pub subjects: Vec<String>,
    /// The durable consumer's name, shared by every replica.
    pub durable: String,
    /// The `source` label of what it reads.
    pub source: String,
    /// The field of a JSON message that holds the log line (`None`: the
    /// first of `log`, `message`, `msg`; a message that is not JSON is lines).
    pub message_field: Option<String>,
    /// Most messages fetched (and acknowledged) at once.
    pub batch: usize,
    /// Most bytes fetched at once: large messages make a smaller batch
    /// (without it, 400 messages of 1 MiB made the server cut the client
    /// off as a slow consumer, and redeliver).
    pub batch_bytes: usize,
    /// How long the server waits for an acknowledgement before it delivers
    /// a message again (to any replica).
    pub ack_wait: Duration,
}

/// The `nats:` section.
pub(super) fn compile_nats(
    path: &Path,
    n: &RawNats,
    names: &mut Names,
) -> Result<NatsConfig, YamlError> {
    for f in [&n.url, &n.stream, &n.durable] {
        if f.value.trim().is_empty() {
            return Err(YamlError::at(path, f, "must not be empty"));
        }
    }
    // What the server refuses in a stream or consumer name.
    for f in [&n.stream, &n.durable] {
        if let Some(c) = f.value.chars().find(|c| {
            matches!(c, '.' | '*' | '>' | '/' | '\\') || c.is_whitespace() || c.is_control()
        }) {
            return Err(YamlError::at(
                path,
                f,
                format!(
                    "{:?}: a NATS stream or consumer name cannot hold {c:?}",
                    f.value
                ),
            ));
        }
    }
    // The default name is checked with the flags' sources (`check_runnable`).
    let source = match &n.source {
        Some(s) => names.claim(path, s)?,
        None => "nats".to_string(),
    };
    let batch_bytes = match &n.batch_bytes {
        Some(b) => in_range(path, "nats.batch_bytes", b, 64 * 1024, 256 << 20)?,
        None => 4 << 20,
    };
    let batch = match &n.batch {
        Some(b) => in_range(path, "nats.batch", b, 1, 10_000)?,
        None => 500,
    };
    let ack_wait = match &n.ack_wait {
        Some(d) => duration_in(
            path,
            "nats.ack_wait",
            d,
            Duration::from_secs(1),
            Duration::from_secs(3600),
        )?,
        None => Duration::from_secs(30),
    };
    Ok(NatsConfig {
        url: n.url.value.clone(),
        stream: n.stream.value.clone(),
        subjects: n.subjects.clone(),
        durable: n.durable.value.clone(),
        source,
        message_field: n.message_field.clone(),
        batch,
        batch_bytes,
        ack_wait,
    })
}
