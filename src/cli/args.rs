//! The command line's definitions: the subcommands, their flags and
//! values (clap), the log filter, and the usage errors that exit with 2.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use trtc_logwatch::catalog;
use trtc_logwatch::daemon::{self, config::ConfigError};
use trtc_logwatch::lines::{DEFAULT_MAX_LINE, MAX_MAX_LINE, MIN_MAX_LINE};
use trtc_logwatch::render::TextMode;

/// The version and the commit it was built from (`build.rs`).
pub(crate) const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("TRTC_LOGWATCH_COMMIT"),
    ")"
);

#[derive(Parser)]
#[command(
    name = "trtc-logwatch",
    version = VERSION,
    about = "Finds TRTC Web SDK errors in logs"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) cmd: Cmd,
}

#[derive(clap::Args, Clone)]
pub(crate) struct CatalogArgs {
    /// Load catalogs (*.yaml) from DIR or FILE in addition to the built-in ones;
    /// a catalog with a built-in's name replaces it. Repeatable.
    #[arg(long = "patterns", value_name = "DIR")]
    pub(crate) patterns: Vec<PathBuf>,
    /// Do not load the built-in catalogs.
    #[arg(long)]
    pub(crate) no_builtin_patterns: bool,
}

#[derive(Args)]
pub(crate) struct ScanArgs {
    #[command(flatten)]
    pub(crate) catalogs: CatalogArgs,
    /// A config file whose `recognition:` rules and ignores apply.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Print counts per failure group and key on stderr at the end.
    #[arg(long)]
    pub(crate) summary: bool,
    /// Longest line kept whole, in bytes (256 to 67108864); longer lines are cut and counted.
    #[arg(long, default_value_t = DEFAULT_MAX_LINE, value_parser = line_limit)]
    pub(crate) max_line_bytes: usize,
    /// Prose in events: both languages, English, Japanese, or none
    /// (compact: keys, codes, categories, context and the line stay).
    #[arg(long, value_enum, default_value = "both")]
    pub(crate) text: TextArg,
    /// Exit 1 when any TRTC error was found (for CI and scripts).
    #[arg(long)]
    pub(crate) fail_on_error: bool,
    /// Threads that match a large read block (1 to 8) [default: the CPUs, at most 4].
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub(crate) threads: Option<u8>,
    /// Files to scan; none or `-` reads stdin.
    pub(crate) paths: Vec<PathBuf>,
}

#[derive(Subcommand)]
pub(crate) enum Cmd {
    /// Scan files or stdin and print one NDJSON event per TRTC error.
    Scan(ScanArgs),
    /// Explain an error by key, decimal code or hex code.
    Explain {
        #[command(flatten)]
        catalogs: CatalogArgs,
        /// Language of the description and action (default: both).
        #[arg(long, value_enum)]
        lang: Option<LangArg>,
        /// KEY, CODE (negative ones too: -10012) or 0xHEX.
        #[arg(allow_negative_numbers = true)]
        query: String,
    },
    /// Follow files and/or stdin, write events and serve Prometheus metrics.
    Run(Box<RunArgs>),
    /// Validate a config file (and its catalogs) without running.
    CheckConfig {
        /// The YAML config file.
        file: PathBuf,
    },
    /// Show, for each log record, its lines, every candidate with the line
    /// it is on and the rule that took it or why not, and the events the
    /// record gives.
    Why {
        #[command(flatten)]
        catalogs: CatalogArgs,
        /// A config file whose `recognition:` rules and ignores apply.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Records to explain (each may span lines); none or `-` reads a log
        /// from stdin and splits it into records as `scan` does.
        lines: Vec<String>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) generated from these definitions.
    Man,
    /// Ask a running daemon's /healthz (for container health checks): exit
    /// 0 when it answers 200, 1 otherwise.
    Healthcheck {
        /// Its --listen address, HOST:PORT, or a URL
        /// (http://127.0.0.1:9898/healthz: its path is asked).
        #[arg(default_value = "127.0.0.1:9898")]
        addr: String,
        /// The path to ask (`readyz` and `/readyz` alike) when ADDR has none.
        #[arg(long, default_value = "/healthz")]
        path: String,
    },
    /// List every catalog entry.
    Catalog {
        #[command(flatten)]
        catalogs: CatalogArgs,
        /// Print the entries as a JSON array.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Clone)]
pub(crate) struct RunArgs {
    /// YAML config file (see config.example.yaml). Flags below override it.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Follow files matching GLOB (`**` allowed); repeatable. Adds a source named `files`.
    #[arg(long, value_name = "GLOB")]
    pub(crate) follow: Vec<String>,
    /// Exclude files matching GLOB from --follow; repeatable.
    #[arg(long, value_name = "GLOB")]
    pub(crate) exclude: Vec<String>,
    /// Read stdin to its end (a source named `stdin`).
    #[arg(long)]
    pub(crate) stdin: bool,
    /// Accept log lines on POST /ingest at ADDR (HOST:PORT; a source named `ingest`).
    #[arg(long, value_name = "ADDR")]
    pub(crate) ingest: Option<String>,
    /// Take the TRTC Web SDK's own log upload (its `loggerProxy`) at ADDR
    /// (HOST:PORT; a source named `browser`); needs --browser-origin and
    /// --browser-app-id (or `browser:` in the config).
    #[arg(long, value_name = "ADDR")]
    pub(crate) browser: Option<String>,
    /// A page origin allowed to upload to --browser (https://app.example.com,
    /// or `*`); repeatable.
    #[arg(long, value_name = "ORIGIN")]
    pub(crate) browser_origin: Vec<String>,
    /// A TRTC sdkAppId allowed to upload to --browser; repeatable.
    #[arg(long, value_name = "ID")]
    pub(crate) browser_app_id: Vec<u64>,
    /// Address for /metrics, /healthz, /readyz [default: 127.0.0.1:9898].
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// Where events go: a file (appended) or `-` for stdout [default: -].
    #[arg(long, value_name = "PATH|-")]
    pub(crate) events: Option<String>,
    /// Directory for checkpoints (no checkpoints without it).
    #[arg(long, value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
    /// Where files present at the first start begin [default: end].
    #[arg(long, value_enum)]
    pub(crate) start_at: Option<StartArg>,
    /// Extra catalog directories; repeatable.
    #[arg(long = "patterns", value_name = "DIR")]
    pub(crate) patterns: Vec<PathBuf>,
    /// Prose in events, as `scan --text` (`events.text` in the config).
    #[arg(long, value_enum)]
    pub(crate) text: Option<TextArg>,
    /// The daemon's own log on stderr: a level (error, warn, info, debug,
    /// trace: the daemon's own messages at it, its libraries' at info at
    /// most), or a filter such as `info,trtc_logwatch::daemon::source=debug`.
    /// RUST_LOG, when set, wins.
    #[arg(
        long,
        default_value = "info",
        value_name = "LEVEL|FILTER",
        overrides_with = "log_level"
    )]
    pub(crate) log_level: String,
    /// The log's format: `text`, or `json` (one object a line, for log
    /// pipelines).
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) log_format: LogFormat,
}

/// The daemon's log format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

/// The log filter of `--log-level`: a bare level applies to the daemon's
/// own messages, its libraries (file notifications, globs, HTTP) stay at
/// info at most so that debug does not flood; anything else is a filter.
pub(crate) fn log_filter(level: &str) -> Result<tracing_subscriber::EnvFilter, UsageError> {
    use tracing_subscriber::EnvFilter;
    if let Ok(from_env) = std::env::var("RUST_LOG")
        && !from_env.trim().is_empty()
    {
        return EnvFilter::try_new(&from_env)
            .map_err(|e| UsageError::Message(format!("RUST_LOG {from_env:?}: {e}")));
    }
    let directive = match level.to_ascii_lowercase().as_str() {
        l @ ("error" | "warn") => l.to_string(),
        l @ ("info" | "debug" | "trace") => format!("info,trtc_logwatch={l}"),
        _ => level.to_string(),
    };
    EnvFilter::try_new(&directive)
        .map_err(|e| UsageError::Message(format!("--log-level {level:?}: {e}")))
}

/// A line limit within bounds.
pub(crate) fn line_limit(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("{e}"))?;
    if (MIN_MAX_LINE..=MAX_MAX_LINE).contains(&n) {
        Ok(n)
    } else {
        Err(format!("must be {MIN_MAX_LINE} to {MAX_MAX_LINE} bytes"))
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum StartArg {
    Beginning,
    End,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum TextArg {
    Both,
    En,
    Ja,
    None,
}

impl From<TextArg> for TextMode {
    fn from(t: TextArg) -> Self {
        match t {
            TextArg::Both => TextMode::Both,
            TextArg::En => TextMode::En,
            TextArg::Ja => TextMode::Ja,
            TextArg::None => TextMode::None,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum LangArg {
    En,
    Ja,
}

/// Errors that exit with status 2 (bad input from the user, or a
/// resource the daemon cannot set up); others exit with 1.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UsageError {
    #[error("{0}")]
    Message(String),
    #[error(transparent)]
    Catalog(#[from] catalog::CatalogError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Load(#[from] daemon::LoadError),
    #[error(transparent)]
    Daemon(#[from] daemon::DaemonError),
}
