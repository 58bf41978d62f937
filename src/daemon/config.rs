//! The daemon's configuration: YAML schema, defaults, and validation that
//! points at `file:line:column` for unknown keys, bad globs, bad addresses
//! and bad durations. The compiled [`Config`] is immutable; a reload builds
//! a new one and swaps it whole.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::{GlobSet, GlobSetBuilder};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::lines::{DEFAULT_MAX_LINE, MAX_MAX_LINE, MIN_MAX_LINE};
use crate::yaml::YamlError;

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file cannot be read, or has a mistake at `file:line:column`.
    #[error(transparent)]
    File(#[from] YamlError),
    /// A source given on the command line is invalid.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A value given on the command line (or their combination) is invalid.
    #[error("{0}")]
    Flag(String),
}

/// A source definition that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The name is not usable as a metrics label.
    #[error("bad source name {0:?}: use letters, digits, _ and - (at most 64)")]
    BadName(String),
    /// Neither globs nor stdin.
    #[error("source {0:?} has neither include globs nor stdin: true")]
    NoInclude(String),
    /// A glob that does not compile.
    #[error("bad glob {glob:?}: {source}")]
    BadGlob {
        /// The glob as written.
        glob: String,
        /// Why it does not compile.
        source: globset::Error,
    },
}

/// Where a file is read from when it is first seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartAt {
    /// Read the whole file.
    Beginning,
    /// Only lines written from now on.
    End,
}

/// What happens when the event queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Readers wait for the sink (back-pressure). The default.
    Block,
    /// Events are dropped and counted in `trtc_logwatch_events_dropped_total`.
    Drop,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEvents {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    overflow: Option<Overflow>,
    #[serde(default)]
    queue_capacity: Option<Spanned<usize>>,
    #[serde(default)]
    text: Option<crate::render::TextMode>,
    #[serde(default)]
    max_per_key: Option<RawRate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRate {
    rate: Spanned<u32>,
    per: Spanned<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    #[serde(default)]
    max_connections: Option<Spanned<usize>>,
    #[serde(default)]
    header_timeout: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIngest {
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
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNats {
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
    /// How long the server waits for an acknowledgement before it delivers
    /// a message again (to any replica).
    pub ack_wait: Duration,
}

/// Default largest ingest request body (8 MiB).
pub const DEFAULT_INGEST_BODY: usize = 8 << 20;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPatterns {
    #[serde(default)]
    builtin: Option<bool>,
    #[serde(default)]
    dirs: Vec<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Spanned<String>,
    #[serde(default)]
    include: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    stdin: bool,
    #[serde(default)]
    start_at: Option<StartAt>,
    #[serde(default)]
    new_files_start_at: Option<StartAt>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    listen: Option<Spanned<String>>,
    #[serde(default)]
    state_dir: Option<PathBuf>,
    #[serde(default)]
    events: RawEvents,
    #[serde(default)]
    patterns: RawPatterns,
    #[serde(default)]
    max_line_bytes: Option<Spanned<usize>>,
    #[serde(default)]
    checkpoint_interval: Option<Spanned<String>>,
    #[serde(default)]
    rotate_wait: Option<Spanned<String>>,
    #[serde(default)]
    rescan_interval: Option<Spanned<String>>,
    #[serde(default)]
    poll_interval: Option<Spanned<String>>,
    #[serde(default)]
    idle_flush: Option<Spanned<String>>,
    #[serde(default)]
    notify: Option<bool>,
    #[serde(default)]
    max_open_files: Option<Spanned<usize>>,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    ingest: Option<RawIngest>,
    #[serde(default)]
    nats: Option<RawNats>,
    #[serde(default)]
    sources: Vec<RawSource>,
}

/// One configured source: a set of files, or stdin.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Name used as the `source` label.
    pub name: String,
    /// Include globs (`**` allowed).
    pub include: Vec<String>,
    /// Exclude globs.
    pub exclude: Vec<String>,
    /// Compiled include set.
    pub include_set: GlobSet,
    /// Compiled exclude set.
    pub exclude_set: GlobSet,
    /// Read stdin (to EOF) instead of files.
    pub stdin: bool,
    /// Files present at the first start (no checkpoint yet). Default: end.
    pub start_at: StartAt,
    /// Files that appear later. Default: beginning.
    pub new_files_start_at: StartAt,
}

/// The compiled configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// HTTP listen address for /metrics, /healthz, /readyz.
    pub listen: SocketAddr,
    /// Directory for checkpoints; `None` keeps no checkpoints.
    pub state_dir: Option<PathBuf>,
    /// Events destination: `None` is stdout, else a file (appended).
    pub events_path: Option<PathBuf>,
    /// Full-queue policy.
    pub overflow: Overflow,
    /// Events queued between readers and the sink.
    pub queue_capacity: usize,
    /// Which prose events carry.
    pub events_text: crate::render::TextMode,
    /// Storm sampling of events per source and key (`None`: off).
    pub max_per_key: Option<super::sampling::Rate>,
    /// Load the built-in catalogs.
    pub builtin_patterns: bool,
    /// User catalog directories.
    pub pattern_dirs: Vec<PathBuf>,
    /// Longest line kept whole.
    pub max_line_bytes: usize,
    /// How often checkpoints are written.
    pub checkpoint_interval: Duration,
    /// How long a renamed or deleted file stays open and read.
    pub rotate_wait: Duration,
    /// Full rescan of the globs (backstop for missed notifications).
    pub rescan_interval: Duration,
    /// How often open files are checked for new data without a notification.
    pub poll_interval: Duration,
    /// A final line without `\n` is read after this much quiet.
    pub idle_flush: Duration,
    /// Use file notifications (inotify); `false` polls only (NFS, FUSE).
    pub notify: bool,
    /// Most followed files open at once; `None`: from the descriptor limit.
    pub max_open_files: Option<usize>,
    /// Most HTTP connections at once; `None`: from the descriptor limit.
    pub http_max_connections: Option<usize>,
    /// Time an HTTP client has to send a request's headers.
    pub http_header_timeout: Duration,
    /// HTTP ingest, off by default.
    pub ingest: Option<IngestConfig>,
    /// NATS JetStream consumer, off by default.
    pub nats: Option<NatsConfig>,
    /// The sources.
    pub sources: Vec<SourceConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 9898)),
            state_dir: None,
            events_path: None,
            overflow: Overflow::Block,
            queue_capacity: 10_000,
            events_text: crate::render::TextMode::Both,
            max_per_key: None,
            builtin_patterns: true,
            pattern_dirs: Vec::new(),
            max_line_bytes: DEFAULT_MAX_LINE,
            checkpoint_interval: Duration::from_secs(5),
            rotate_wait: Duration::from_secs(5),
            rescan_interval: Duration::from_secs(5),
            poll_interval: Duration::from_millis(250),
            idle_flush: Duration::from_secs(5),
            notify: true,
            max_open_files: None,
            http_max_connections: None,
            http_header_timeout: Duration::from_secs(5),
            ingest: None,
            nats: None,
            sources: Vec::new(),
        }
    }
}

/// Most events queued between the sources and the sink.
pub const MAX_QUEUE: usize = 1_000_000;

/// A number within `min..=max`, or an error at its place naming the range.
fn in_range(
    path: &Path,
    name: &str,
    v: &Spanned<usize>,
    min: usize,
    max: usize,
) -> Result<usize, YamlError> {
    if (min..=max).contains(&v.value) {
        Ok(v.value)
    } else {
        Err(YamlError::at(
            path,
            v,
            format!("{name} {} is out of range ({min} to {max})", v.value),
        ))
    }
}

/// Parses `250ms`, `5s`, `2m`, `1h`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60)?),
        "h" => Duration::from_secs(n.checked_mul(3600)?),
        _ => return None,
    };
    Some(d)
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

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
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
            include_set: glob_set(&include)?,
            exclude_set: glob_set(&exclude)?,
            include,
            exclude,
            stdin: false,
            start_at: StartAt::End,
            new_files_start_at: StartAt::Beginning,
        })
    }

    /// The stdin source.
    pub fn stdin(name: &str) -> Self {
        Self {
            name: name.to_string(),
            include: Vec::new(),
            exclude: Vec::new(),
            include_set: GlobSet::empty(),
            exclude_set: GlobSet::empty(),
            stdin: true,
            start_at: StartAt::Beginning,
            new_files_start_at: StartAt::Beginning,
        }
    }

    /// True when `path` is one of this source's files.
    pub fn matches(&self, path: &Path) -> bool {
        self.include_set.is_match(path) && !self.exclude_set.is_match(path)
    }
}

impl Config {
    /// Reads and validates a YAML config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| YamlError::io(path, e))?;
        Ok(Self::from_yaml(path, &text)?)
    }

    /// Validates YAML text; `path` names it in errors.
    pub fn from_yaml(path: &Path, text: &str) -> Result<Self, YamlError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let raw: RawConfig = crate::yaml::from_str(path, text)?;
        let mut c = Self::default();
        let base = config_dir(path);
        c.apply_general(path, &raw)?;
        c.apply_durations(path, &raw)?;
        if let Some(i) = &raw.ingest {
            c.ingest = Some(compile_ingest(path, &base, i, &raw.sources)?);
        }
        if let Some(n) = &raw.nats {
            c.nats = Some(compile_nats(path, n)?);
        }
        c.state_dir = c.state_dir.map(|d| base.join(d));
        c.events_path = c.events_path.map(|e| base.join(e));
        c.pattern_dirs = c.pattern_dirs.iter().map(|d| base.join(d)).collect();
        for s in raw.sources {
            let src = compile_source(path, &base, s, &c.sources)?;
            c.sources.push(src);
        }
        Ok(c)
    }

    /// Listen address, state, events, catalogs, line limit, notify.
    fn apply_general(&mut self, path: &Path, raw: &RawConfig) -> Result<(), YamlError> {
        if let Some(l) = &raw.listen {
            self.listen = resolve_listen(&l.value).map_err(|e| YamlError::at(path, l, e))?;
        }
        self.state_dir.clone_from(&raw.state_dir);
        self.events_path = raw
            .events
            .path
            .as_ref()
            .filter(|p| *p != "-")
            .map(PathBuf::from);
        self.overflow = raw.events.overflow.unwrap_or(Overflow::Block);
        self.events_text = raw.events.text.unwrap_or_default();
        if let Some(r) = &raw.events.max_per_key {
            if r.rate.value == 0 {
                return Err(YamlError::at(
                    path,
                    &r.rate,
                    "max_per_key.rate must be at least 1",
                ));
            }
            let per = parse_duration(&r.per.value)
                .filter(|d| *d >= Duration::from_millis(10) && *d <= Duration::from_secs(86_400))
                .ok_or_else(|| {
                    YamlError::at(
                        path,
                        &r.per,
                        "max_per_key.per must be a duration from 10ms to 24h",
                    )
                })?;
            self.max_per_key = Some(super::sampling::Rate {
                rate: r.rate.value,
                per,
            });
        }
        if let Some(q) = &raw.events.queue_capacity {
            self.queue_capacity = in_range(path, "queue_capacity", q, 1, MAX_QUEUE)?;
        }
        self.builtin_patterns = raw.patterns.builtin.unwrap_or(true);
        self.notify = raw.notify.unwrap_or(true);
        self.pattern_dirs.clone_from(&raw.patterns.dirs);
        if let Some(m) = &raw.http.max_connections {
            self.http_max_connections =
                Some(in_range(path, "http.max_connections", m, 1, 100_000)?);
        }
        if let Some(m) = &raw.max_open_files {
            self.max_open_files = Some(in_range(path, "max_open_files", m, 1, MAX_QUEUE)?);
        }
        if let Some(m) = &raw.max_line_bytes {
            self.max_line_bytes = in_range(path, "max_line_bytes", m, MIN_MAX_LINE, MAX_MAX_LINE)?;
        }
        Ok(())
    }

    /// The intervals and waits, each within its bounds.
    fn apply_durations(&mut self, path: &Path, raw: &RawConfig) -> Result<(), YamlError> {
        let ms = Duration::from_millis;
        let hour = Duration::from_secs(3600);
        for (name, slot, raw, min, max) in [
            (
                "checkpoint_interval",
                &mut self.checkpoint_interval,
                &raw.checkpoint_interval,
                ms(10),
                hour,
            ),
            (
                "rotate_wait",
                &mut self.rotate_wait,
                &raw.rotate_wait,
                ms(1),
                24 * hour,
            ),
            (
                "rescan_interval",
                &mut self.rescan_interval,
                &raw.rescan_interval,
                ms(10),
                hour,
            ),
            (
                "poll_interval",
                &mut self.poll_interval,
                &raw.poll_interval,
                ms(10),
                ms(60_000),
            ),
            (
                "idle_flush",
                &mut self.idle_flush,
                &raw.idle_flush,
                ms(1),
                hour,
            ),
            (
                "http.header_timeout",
                &mut self.http_header_timeout,
                &raw.http.header_timeout,
                ms(100),
                ms(300_000),
            ),
        ] {
            if let Some(d) = raw {
                *slot = duration_in(path, name, d, min, max)?;
            }
        }
        Ok(())
    }

    /// Most followed files open at once: `max_open_files`, or half of what
    /// the descriptor limit leaves.
    pub fn open_files_cap(&self) -> usize {
        self.max_open_files
            .unwrap_or_else(|| super::limits::auto_open_files(super::limits::nofile()))
    }

    /// Most HTTP connections at once: `http.max_connections`, or a quarter
    /// of what the descriptor limit leaves.
    pub fn http_connections_cap(&self) -> usize {
        self.http_max_connections
            .unwrap_or_else(|| super::limits::auto_http_connections(super::limits::nofile()))
    }

    /// Checks what only makes sense once flags are merged: at least one source.
    pub fn check_runnable(&self) -> Result<(), ConfigError> {
        if let Some(p) = &self.events_path
            && p.is_dir()
        {
            return Err(ConfigError::Flag(format!(
                "events output {}: is a directory (give a file, or - for stdout)",
                p.display()
            )));
        }
        if let Some(d) = &self.state_dir
            && d.exists()
            && !d.is_dir()
        {
            return Err(ConfigError::Flag(format!(
                "state_dir {}: exists and is not a directory",
                d.display()
            )));
        }
        if self.sources.is_empty() && self.ingest.is_none() && self.nats.is_none() {
            return Err(ConfigError::Flag(
                "no sources: give --follow GLOB, --stdin, --ingest ADDR, or `sources:` (or `ingest:`, `nats:`) in the config"
                    .into(),
            ));
        }
        if let Some(n) = &self.nats
            && (self.sources.iter().any(|s| s.name == n.source)
                || self
                    .ingest
                    .as_ref()
                    .is_some_and(|i| i.sources.contains(&n.source)))
        {
            return Err(ConfigError::Flag(format!(
                "nats source {:?} has the name of another source",
                n.source
            )));
        }
        if let Some(i) = &self.ingest {
            if let Some(n) = i
                .sources
                .iter()
                .find(|n| self.sources.iter().any(|s| &s.name == *n))
            {
                return Err(ConfigError::Flag(format!(
                    "ingest source {n:?} has the name of another source"
                )));
            }
            if let Some(t) = &i.token_file {
                read_token(t)?;
            }
        }
        if self.sources.iter().filter(|s| s.stdin).count() > 1 {
            return Err(ConfigError::Flag(
                "stdin can be read by one source only".into(),
            ));
        }
        Ok(())
    }
}

/// The `nats:` section.
fn compile_nats(path: &Path, n: &RawNats) -> Result<NatsConfig, YamlError> {
    for f in [&n.url, &n.stream, &n.durable] {
        if f.value.trim().is_empty() {
            return Err(YamlError::at(path, f, "must not be empty"));
        }
    }
    let source = match &n.source {
        Some(s) if !valid_name(&s.value) => {
            return Err(YamlError::at(
                path,
                s,
                SourceError::BadName(s.value.clone()).to_string(),
            ));
        }
        Some(s) => s.value.clone(),
        None => "nats".to_string(),
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
        ack_wait,
    })
}

/// The bearer token in `path` (surrounding whitespace dropped).
pub fn read_token(path: &Path) -> Result<String, ConfigError> {
    let t = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Flag(format!("ingest token file {}: {e}", path.display())))?;
    let t = t.trim().to_string();
    if t.is_empty() {
        return Err(ConfigError::Flag(format!(
            "ingest token file {}: is empty",
            path.display()
        )));
    }
    Ok(t)
}

/// The `ingest:` section: its names are new source names (metrics labels).
fn compile_ingest(
    path: &Path,
    base: &Path,
    i: &RawIngest,
    files: &[RawSource],
) -> Result<IngestConfig, YamlError> {
    let mut c = IngestConfig::on(
        resolve_listen(&i.listen.value).map_err(|e| YamlError::at(path, &i.listen, e))?,
    );
    if !i.sources.is_empty() {
        c.sources.clear();
        for n in &i.sources {
            if !valid_name(&n.value) {
                return Err(YamlError::at(
                    path,
                    n,
                    SourceError::BadName(n.value.clone()).to_string(),
                ));
            }
            if c.sources.contains(&n.value) || files.iter().any(|f| f.name.value == n.value) {
                return Err(YamlError::at(
                    path,
                    n,
                    format!("duplicate source name {:?}", n.value),
                ));
            }
            c.sources.push(n.value.clone());
        }
    }
    c.token_file = i.token_file.as_ref().map(|t| base.join(t));
    if let Some(m) = &i.max_body_bytes {
        c.max_body_bytes = in_range(path, "ingest.max_body_bytes", m, 1024, 1 << 30)?;
    }
    c.message_field.clone_from(&i.message_field);
    if let Some(d) = &i.write_timeout {
        c.write_timeout = duration_in(
            path,
            "ingest.write_timeout",
            d,
            Duration::from_millis(100),
            Duration::from_secs(600),
        )?;
    }
    Ok(c)
}

/// The duration `d` of the field `name`, refused outside `min..=max`.
fn duration_in(
    path: &Path,
    name: &str,
    d: &Spanned<String>,
    min: Duration,
    max: Duration,
) -> Result<Duration, YamlError> {
    let v = parse_duration(&d.value).ok_or_else(|| {
        YamlError::at(
            path,
            d,
            format!("bad duration {:?} (want e.g. 250ms, 5s, 2m, 1h)", d.value),
        )
    })?;
    if v < min || v > max {
        return Err(YamlError::at(
            path,
            d,
            format!("{name} {:?} is out of range ({min:?} to {max:?})", d.value),
        ));
    }
    Ok(v)
}

/// `HOST:PORT` to the address to listen on: an IP address, or a name
/// (`localhost:9898`) resolved now, the first address it has.
pub fn resolve_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = s.parse() {
        return Ok(a);
    }
    use std::net::ToSocketAddrs;
    match s.to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| format!("bad listen address {s:?}: the name has no address")),
        Err(e) => Err(format!("bad listen address {s:?}: {e} (want HOST:PORT)")),
    }
}

/// The directory relative paths of the config file at `path` are taken
/// from: its own (made absolute, so a later chdir changes nothing).
fn config_dir(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new(""));
    std::path::absolute(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    })
    .unwrap_or_else(|_| dir.to_path_buf())
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

/// One `sources:` entry, checked against the sources before it; relative
/// globs are taken from `base`.
fn compile_source(
    path: &Path,
    base: &Path,
    s: RawSource,
    before: &[SourceConfig],
) -> Result<SourceConfig, YamlError> {
    let name = s.name.value.clone();
    if before.iter().any(|o| o.name == name) {
        return Err(YamlError::at(
            path,
            &s.name,
            format!("duplicate source name {name:?}"),
        ));
    }
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
    src.start_at = s.start_at.unwrap_or(StartAt::End);
    src.new_files_start_at = s.new_files_start_at.unwrap_or(StartAt::Beginning);
    Ok(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(yaml: &str) -> String {
        Config::from_yaml(Path::new("c.yaml"), yaml)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults_and_values() {
        let c = Config::from_yaml(
            Path::new("c.yaml"),
            "listen: 127.0.0.1:9000\nrotate_wait: 250ms\nsources:\n  - name: app\n    include: ['/var/log/app/**/*.log']\n    start_at: beginning\n",
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.rotate_wait, Duration::from_millis(250));
        assert_eq!(c.sources[0].start_at, StartAt::Beginning);
        assert!(c.sources[0].matches(Path::new("/var/log/app/a/b/x.log")));
        assert!(!c.sources[0].matches(Path::new("/var/log/app/x.log.1")));
    }

    #[test]
    fn mistakes_point_at_line_and_column() {
        assert!(
            err("listen: 127.0.0.1:9000\ncolour: red\n").starts_with("c.yaml:2:1: "),
            "{}",
            err("colour: red\n")
        );
        assert!(err("listen: nowhere\n").starts_with("c.yaml:1:9: bad listen address"));
        assert!(err("rotate_wait: 5 seconds\n").starts_with("c.yaml:1:14: bad duration"));
        let e = err("sources:\n  - name: a\n    include: ['[oops']\n");
        assert!(e.starts_with("c.yaml:3:15: bad glob"), "{e}");
        let e = err("sources:\n  - name: a\n    include: [x]\n  - name: a\n    include: [y]\n");
        assert!(e.starts_with("c.yaml:4:11: duplicate source"), "{e}");
    }

    #[test]
    fn numbers_and_durations_are_bounded() {
        for (yaml, want) in [
            (
                "checkpoint_interval: 5000000000000000h\n",
                "c.yaml:1:22: checkpoint_interval",
            ),
            ("rotate_wait: 0s\n", "c.yaml:1:14: rotate_wait"),
            (
                "events:\n  queue_capacity: 100000000000\n",
                "c.yaml:2:19: queue_capacity",
            ),
            (
                "events:\n  queue_capacity: 0\n",
                "c.yaml:2:19: queue_capacity",
            ),
            (
                "max_line_bytes: 100000000000\n",
                "c.yaml:1:17: max_line_bytes",
            ),
            ("max_line_bytes: 10\n", "c.yaml:1:17: max_line_bytes"),
        ] {
            let e = err(yaml);
            assert!(
                e.starts_with(want) && e.contains("out of range"),
                "{yaml}: {e}"
            );
        }
    }

    #[test]
    fn events_text() {
        let c = Config::from_yaml(Path::new("c.yaml"), "events:\n  text: none\n").unwrap();
        assert_eq!(c.events_text, crate::render::TextMode::None);
        assert!(err("events:\n  text: fr\n").starts_with("c.yaml:2:"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("x5s"), None);
    }

    #[test]
    fn ingest_and_nats_sections_are_checked() {
        let c = Config::from_yaml(
            Path::new("/etc/t/c.yaml"),
            "ingest:\n  listen: 127.0.0.1:9899\n  token_file: tok\nnats:\n  url: nats://n:4222\n  stream: S\n  durable: d\n",
        )
        .unwrap();
        let i = c.ingest.unwrap();
        assert_eq!(i.sources, ["ingest"]);
        assert_eq!(i.token_file.as_deref(), Some(Path::new("/etc/t/tok")));
        let n = c.nats.unwrap();
        assert_eq!((n.source.as_str(), n.batch), ("nats", 500));
        assert_eq!(n.ack_wait, Duration::from_secs(30));
        for (yaml, want) in [
            (
                "ingest:\n  listen: nowhere\n",
                "c.yaml:2:11: bad listen address",
            ),
            (
                "ingest:\n  listen: 127.0.0.1:1\n  sources: [\"a b\"]\n",
                "c.yaml:3:13: bad source name",
            ),
            (
                "ingest:\n  listen: 127.0.0.1:1\n  sources: [app]\nsources:\n  - name: app\n    include: [x]\n",
                "c.yaml:3:13: duplicate source name",
            ),
            (
                "ingest:\n  listen: 127.0.0.1:1\n  max_body_bytes: 10\n",
                "c.yaml:3:19: ingest.max_body_bytes",
            ),
            (
                "ingest:\n  listen: 127.0.0.1:1\n  write_timeout: 1h\n",
                "c.yaml:3:18: ingest.write_timeout",
            ),
            (
                "nats:\n  url: \"\"\n  stream: S\n  durable: d\n",
                "c.yaml:2:8: must not be empty",
            ),
            (
                "nats:\n  url: u\n  stream: S\n  durable: d\n  batch: 0\n",
                "c.yaml:5:10: nats.batch",
            ),
            (
                "nats:\n  url: u\n  stream: S\n  durable: d\n  ack_wait: 10ms\n",
                "c.yaml:5:13: nats.ack_wait",
            ),
            ("nats:\n  url: u\n  stream: S\n", "c.yaml:"),
        ] {
            let e = err(yaml);
            assert!(e.starts_with(want), "{yaml}: {e}");
        }
        // The names must differ across file sources, ingest and NATS.
        let c = Config::from_yaml(
            Path::new("c.yaml"),
            "ingest:\n  listen: 127.0.0.1:1\n  sources: [nats]\nnats:\n  url: u\n  stream: S\n  durable: d\n",
        )
        .unwrap();
        assert!(
            c.check_runnable()
                .unwrap_err()
                .to_string()
                .contains("nats source \"nats\"")
        );
    }
}
