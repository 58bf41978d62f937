//! The daemon's configuration: YAML schema, defaults, and validation that
//! points at `file:line:column` for unknown keys, bad globs, bad addresses
//! and bad durations. The compiled [`Config`] is immutable; a reload builds
//! a new one and swaps it whole.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::lines::{DEFAULT_MAX_LINE, MAX_MAX_LINE, MIN_MAX_LINE};
use crate::yaml::YamlError;

mod browser;
mod files;
pub mod flags;
mod ingest;
mod nats;
mod recognition;
mod values;

pub use browser::{BrowserConfig, DEFAULT_BROWSER_BODY, Origins};
use browser::{RawBrowser, compile_browser};
pub use files::{FileGlobs, SourceConfig, SourceKind, StartAt, glob_set};
use files::{RawSource, compile_source};
pub use ingest::{DEFAULT_INGEST_BODY, IngestConfig, TokenError, read_token};
use ingest::{RawIngest, compile_ingest};
pub use nats::NatsConfig;
use nats::{RawNats, compile_nats};
use recognition::{RawRecognition, compile_recognition};
pub use values::{ListenError, SourceError, parse_duration, resolve_addr, resolve_listen};
use values::{Names, config_dir, duration_in, in_range};

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
    /// The ingest token file cannot be used.
    #[error(transparent)]
    Token(#[from] TokenError),
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
    browser: Option<RawBrowser>,
    #[serde(default)]
    nats: Option<RawNats>,
    #[serde(default)]
    sources: Vec<RawSource>,
    #[serde(default)]
    recognition: RawRecognition,
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
    /// The browser endpoint (the SDK's own log upload), off by default.
    pub browser: Option<BrowserConfig>,
    /// NATS JetStream consumer, off by default.
    pub nats: Option<NatsConfig>,
    /// The sources.
    pub sources: Vec<SourceConfig>,
    /// The operator's own rules and ignores (`recognition:`).
    pub recognition: std::sync::Arc<crate::matcher::Recognition>,
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
            browser: None,
            nats: None,
            sources: Vec::new(),
            recognition: std::sync::Arc::default(),
        }
    }
}

/// Most events queued between the sources and the sink.
pub const MAX_QUEUE: usize = 1_000_000;

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
        let mut names = Names::default();
        for s in raw.sources {
            let src = compile_source(path, &base, s, &mut names)?;
            c.sources.push(src);
        }
        if let Some(i) = &raw.ingest {
            c.ingest = Some(compile_ingest(path, &base, i, &mut names)?);
        }
        if let Some(b) = &raw.browser {
            c.browser = Some(compile_browser(path, b, &mut names)?);
        }
        if let Some(n) = &raw.nats {
            c.nats = Some(compile_nats(path, n, &mut names)?);
        }
        c.recognition = compile_recognition(path, &raw.recognition)?;
        c.state_dir = c.state_dir.map(|d| base.join(d));
        c.events_path = c.events_path.map(|e| base.join(e));
        c.pattern_dirs = c.pattern_dirs.iter().map(|d| base.join(d)).collect();
        Ok(c)
    }

    /// Listen address, state, events, catalogs, line limit, notify.
    fn apply_general(&mut self, path: &Path, raw: &RawConfig) -> Result<(), YamlError> {
        if let Some(l) = &raw.listen {
            self.listen =
                resolve_listen(&l.value).map_err(|e| YamlError::at(path, l, e.to_string()))?;
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

    /// Every source's name with its kind, in the order they are declared:
    /// file sources and stdin, ingest, the browser endpoint, NATS.
    pub fn source_names(&self) -> Vec<(&str, &'static str)> {
        let mut v: Vec<(&str, &'static str)> = self
            .sources
            .iter()
            .map(|s| (s.name.as_str(), if s.is_stdin() { "stdin" } else { "file" }))
            .collect();
        if let Some(i) = &self.ingest {
            v.extend(i.sources.iter().map(|n| (n.as_str(), "ingest")));
        }
        if let Some(b) = &self.browser {
            v.push((b.source.as_str(), "browser"));
        }
        if let Some(n) = &self.nats {
            v.push((n.source.as_str(), "nats"));
        }
        v
    }

    /// Each source name is used once (names are metrics labels): the one
    /// check of the merged config, flags included (`--follow` adds `files`,
    /// `--stdin` `stdin`, `--ingest` `ingest`).
    fn check_names(&self) -> Result<(), ConfigError> {
        let names = self.source_names();
        for (i, (n, kind)) in names.iter().enumerate() {
            if names[..i].iter().any(|(o, _)| o == n) {
                return Err(ConfigError::Flag(format!(
                    "{kind} source {n:?} has the name of another source"
                )));
            }
        }
        Ok(())
    }

    /// The general settings `new` changes that a reload does not apply
    /// (they are read once, at start): what a SIGHUP leaves as it was until
    /// a restart. Each kind of source says the same of its own section.
    pub fn restart_only_changes(&self, new: &Config) -> Vec<&'static str> {
        let rate = |c: &Config| c.max_per_key.map(|r| (r.rate, r.per));
        [
            ("listen", self.listen != new.listen),
            ("state_dir", self.state_dir != new.state_dir),
            ("events.path", self.events_path != new.events_path),
            ("events.overflow", self.overflow != new.overflow),
            (
                "events.queue_capacity",
                self.queue_capacity != new.queue_capacity,
            ),
            ("events.max_per_key", rate(self) != rate(new)),
            (
                "checkpoint_interval",
                self.checkpoint_interval != new.checkpoint_interval,
            ),
            ("max_line_bytes", self.max_line_bytes != new.max_line_bytes),
            (
                "http",
                (self.http_max_connections, self.http_header_timeout)
                    != (new.http_max_connections, new.http_header_timeout),
            ),
        ]
        .into_iter()
        .filter_map(|(what, changed)| changed.then_some(what))
        .collect()
    }

    /// The file sources: name and globs.
    pub fn file_sources(&self) -> impl Iterator<Item = (&str, &FileGlobs)> {
        self.sources
            .iter()
            .filter_map(|s| Some((s.name.as_str(), s.files_of()?)))
    }

    /// The file source named `name`.
    pub fn file_source(&self, name: &str) -> Option<&FileGlobs> {
        self.file_sources()
            .find(|(n, _)| *n == name)
            .map(|(_, g)| g)
    }

    /// The stdin source's name, if there is one.
    pub fn stdin_source(&self) -> Option<&str> {
        self.sources
            .iter()
            .find(|s| s.is_stdin())
            .map(|s| s.name.as_str())
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
        if self.source_names().is_empty() {
            return Err(ConfigError::Flag(
                "no sources: give --follow GLOB, --stdin, --ingest ADDR, --browser ADDR, or `sources:` (or `ingest:`, `browser:`, `nats:`) in the config"
                    .into(),
            ));
        }
        if let Some(b) = &self.browser {
            b.check().map_err(ConfigError::Flag)?;
        }
        self.check_names()?;
        if let Some(t) = self.ingest.as_ref().and_then(|i| i.token_file.as_ref()) {
            read_token(t)?;
        }
        if self.sources.iter().filter(|s| s.is_stdin()).count() > 1 {
            return Err(ConfigError::Flag(
                "stdin can be read by one source only".into(),
            ));
        }
        Ok(())
    }
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
        let g = c.sources[0].files_of().unwrap();
        assert_eq!(g.start_at, StartAt::Beginning);
        assert!(g.matches(Path::new("/var/log/app/a/b/x.log")));
        assert!(!g.matches(Path::new("/var/log/app/x.log.1")));
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
    fn the_browser_section_is_checked() {
        let c = Config::from_yaml(
            Path::new("/etc/t/c.yaml"),
            "browser:\n  listen: 127.0.0.1:9897\n  origins: [\"https://app.example.com/\"]\n  sdk_app_ids: [1400000001]\n  forward: tencent\n",
        )
        .unwrap();
        let b = c.browser.unwrap();
        assert_eq!(b.source, "browser");
        assert_eq!(
            b.origins,
            Origins::Only(vec!["https://app.example.com".into()])
        );
        assert_eq!(b.sdk_app_ids, [1_400_000_001]);
        assert_eq!(b.forward.as_deref(), Some("tencent"));
        for (yaml, want) in [
            (
                "browser:\n  listen: 127.0.0.1:1\n  sdk_app_ids: [1]\n",
                "browser.origins is empty",
            ),
            (
                "browser:\n  listen: 127.0.0.1:1\n  origins: [\"*\"]\n",
                "browser.sdk_app_ids is empty",
            ),
            (
                "browser:\n  listen: 127.0.0.1:1\n  origins: [\"app.example.com\"]\n  sdk_app_ids: [1]\n",
                "c.yaml:3:13: browser.origins",
            ),
            (
                "browser:\n  listen: 127.0.0.1:1\n  origins: [\"*\"]\n  sdk_app_ids: [1]\n  forward: ftp://x\n",
                "c.yaml:5:12: browser.forward",
            ),
            (
                "browser:\n  listen: 127.0.0.1:1\n  origins: [\"*\"]\n  sdk_app_ids: [1]\n  burst: 0\n",
                "c.yaml:5:10: browser.burst",
            ),
            (
                "browser:\n  listen: 127.0.0.1:1\n  origins: [\"*\"]\n  sdk_app_ids: [1]\n  client_ip_header: \"x y\"\n",
                "browser.client_ip_header",
            ),
        ] {
            let e = Config::from_yaml(Path::new("c.yaml"), yaml)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{yaml}: {e}");
        }
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
            (
                "nats:\n  url: u\n  stream: S\n  durable: d\n  batch_bytes: 10\n",
                "c.yaml:5:16: nats.batch_bytes",
            ),
            (
                "nats:\n  url: u\n  stream: a.b\n  durable: d\n",
                "c.yaml:3:11: \"a.b\": a NATS stream or consumer name cannot hold '.'",
            ),
            (
                "nats:\n  url: u\n  stream: S\n  durable: x.>\n",
                "c.yaml:4:12: \"x.>\": a NATS stream or consumer name",
            ),
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

    #[test]
    fn a_reload_names_what_only_a_restart_applies() {
        let load = |y: &str| Config::from_yaml(Path::new("c.yaml"), y).unwrap();
        let old = load("listen: 127.0.0.1:9000\nrotate_wait: 1s\n");
        let same = load("listen: 127.0.0.1:9000\nrotate_wait: 2s\npatterns:\n  builtin: false\n");
        assert!(old.restart_only_changes(&same).is_empty());
        let new =
            load("listen: 127.0.0.1:9001\nmax_line_bytes: 4096\ningest:\n  listen: 127.0.0.1:1\n");
        assert_eq!(old.restart_only_changes(&new), ["listen", "max_line_bytes"]);
    }
}
