//! The `trtc-logwatch` command line: parses arguments and wires the library.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use trtc_logwatch::catalog::{self, CatalogSet};
use trtc_logwatch::daemon::config::{Config, ConfigError, SourceConfig, StartAt};
use trtc_logwatch::daemon::{self, Generation, Reloader};
use trtc_logwatch::decode::{self, Encoding};
use trtc_logwatch::lines::{DEFAULT_MAX_LINE, MAX_MAX_LINE, MIN_MAX_LINE, ReadError};
use trtc_logwatch::matcher::Matcher;
use trtc_logwatch::pipeline::{BufferKind, EventSink, Pipeline};
use trtc_logwatch::render::{Renderer, TextMode};
use trtc_logwatch::report::{self, Lang, Summary};
use trtc_logwatch::scan::{self, Stats};

/// The version and the commit it was built from (`build.rs`).
const VERSION: &str = concat!(
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
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args, Clone)]
struct CatalogArgs {
    /// Load catalogs (*.yaml) from DIR or FILE in addition to the built-in ones;
    /// a catalog with a built-in's name replaces it. Repeatable.
    #[arg(long = "patterns", value_name = "DIR")]
    patterns: Vec<PathBuf>,
    /// Do not load the built-in catalogs.
    #[arg(long)]
    no_builtin_patterns: bool,
}

#[derive(Args)]
struct ScanArgs {
    #[command(flatten)]
    catalogs: CatalogArgs,
    /// Print counts per category and key on stderr at the end.
    #[arg(long)]
    summary: bool,
    /// Longest line kept whole, in bytes (256 to 67108864); longer lines are cut and counted.
    #[arg(long, default_value_t = DEFAULT_MAX_LINE, value_parser = line_limit)]
    max_line_bytes: usize,
    /// Prose in events: both languages, English, Japanese, or none
    /// (compact: keys, codes, categories, context and the line stay).
    #[arg(long, value_enum, default_value = "both")]
    text: TextArg,
    /// Exit 1 when any TRTC error was found (for CI and scripts).
    #[arg(long)]
    fail_on_error: bool,
    /// Threads that match a large read block (1 to 8) [default: the CPUs, at most 4].
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=8))]
    threads: Option<u8>,
    /// Files to scan; none or `-` reads stdin.
    paths: Vec<PathBuf>,
}

#[derive(Subcommand)]
enum Cmd {
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
struct RunArgs {
    /// YAML config file (see config.example.yaml). Flags below override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Follow files matching GLOB (`**` allowed); repeatable. Adds a source named `files`.
    #[arg(long, value_name = "GLOB")]
    follow: Vec<String>,
    /// Exclude files matching GLOB from --follow; repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Read stdin to its end (a source named `stdin`).
    #[arg(long)]
    stdin: bool,
    /// Accept log lines on POST /ingest at ADDR (HOST:PORT; a source named `ingest`).
    #[arg(long, value_name = "ADDR")]
    ingest: Option<String>,
    /// Take the TRTC Web SDK's own log upload (its `loggerProxy`) at ADDR
    /// (HOST:PORT; a source named `browser`); needs --browser-origin and
    /// --browser-app-id (or `browser:` in the config).
    #[arg(long, value_name = "ADDR")]
    browser: Option<String>,
    /// A page origin allowed to upload to --browser (https://app.example.com,
    /// or `*`); repeatable.
    #[arg(long, value_name = "ORIGIN")]
    browser_origin: Vec<String>,
    /// A TRTC sdkAppId allowed to upload to --browser; repeatable.
    #[arg(long, value_name = "ID")]
    browser_app_id: Vec<u64>,
    /// Address for /metrics, /healthz, /readyz [default: 127.0.0.1:9898].
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Where events go: a file (appended) or `-` for stdout [default: -].
    #[arg(long, value_name = "PATH|-")]
    events: Option<String>,
    /// Directory for checkpoints (no checkpoints without it).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Where files present at the first start begin [default: end].
    #[arg(long, value_enum)]
    start_at: Option<StartArg>,
    /// Extra catalog directories; repeatable.
    #[arg(long = "patterns", value_name = "DIR")]
    patterns: Vec<PathBuf>,
    /// Prose in events, as `scan --text` (`events.text` in the config).
    #[arg(long, value_enum)]
    text: Option<TextArg>,
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
    log_level: String,
    /// The log's format: `text`, or `json` (one object a line, for log
    /// pipelines).
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

/// The daemon's log format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// The log filter of `--log-level`: a bare level applies to the daemon's
/// own messages, its libraries (file notifications, globs, HTTP) stay at
/// info at most so that debug does not flood; anything else is a filter.
fn log_filter(level: &str) -> Result<tracing_subscriber::EnvFilter, UsageError> {
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
fn line_limit(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("{e}"))?;
    if (MIN_MAX_LINE..=MAX_MAX_LINE).contains(&n) {
        Ok(n)
    } else {
        Err(format!("must be {MIN_MAX_LINE} to {MAX_MAX_LINE} bytes"))
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum StartArg {
    Beginning,
    End,
}

#[derive(Clone, Copy, ValueEnum)]
enum TextArg {
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
enum LangArg {
    En,
    Ja,
}

/// Errors that exit with status 2 (bad input from the user, or a
/// resource the daemon cannot set up); others exit with 1.
#[derive(Debug, thiserror::Error)]
enum UsageError {
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

fn load(c: &CatalogArgs) -> Result<Arc<CatalogSet>> {
    let set = catalog::load(!c.no_builtin_patterns, &c.patterns).map_err(UsageError::from)?;
    for w in set.warnings() {
        eprintln!("trtc-logwatch: warning: {w}");
    }
    Ok(Arc::new(set))
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trtc-logwatch: {}", report(&e));
            if e.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The error and its causes on one line; a cause whose text the message
/// already carries (an error that prints its own source) is not repeated.
fn report(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Scan(a) => scan(&a),
        Cmd::Explain {
            catalogs,
            lang,
            query,
        } => explain(&catalogs, lang, &query),
        Cmd::Run(args) => run_daemon(*args),
        Cmd::Why { catalogs, lines } => why(&catalogs, &lines),
        Cmd::CheckConfig { file } => check_config(&file),
        Cmd::Healthcheck { addr, path } => healthcheck(&addr, &path),
        Cmd::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "trtc-logwatch", &mut io::stdout());
            Ok(())
        }
        Cmd::Man => man(),
        Cmd::Catalog { catalogs, json } => catalog(&catalogs, json),
    }
}

/// `explain QUERY`: the entries a key, code or hex names, or a did-you-mean.
fn explain(catalogs: &CatalogArgs, lang: Option<LangArg>, query: &str) -> Result<()> {
    let set = load(catalogs)?;
    let ids = set.lookup(query);
    if ids.is_empty() {
        let near = report::did_you_mean(&set, query);
        let hint = if near.is_empty() {
            String::new()
        } else {
            format!("; did you mean {}?", near.join(", "))
        };
        return Err(UsageError::Message(format!("no catalog entry for {query:?}{hint}")).into());
    }
    let lang = match lang {
        None => Lang::Both,
        Some(LangArg::En) => Lang::En,
        Some(LangArg::Ja) => Lang::Ja,
    };
    let text: Vec<String> = ids
        .iter()
        .map(|&i| report::explain(set.entry(i), lang))
        .collect();
    io::stdout().write_all(text.join("\n").as_bytes())?;
    Ok(())
}

/// `why RECORD...` (or a text on stdin, split into records): each hit, the
/// line of the record it is on, and the rule that decided it.
fn why(catalogs: &CatalogArgs, lines: &[String]) -> Result<()> {
    let set = load(catalogs)?;
    let matcher = Matcher::new(set).context("building the matcher")?;
    let mut out = io::stdout().lock();
    if lines.is_empty() || lines == ["-"] {
        // Standard input is text: its records are told by their lines.
        let mut text = Vec::new();
        io::Read::read_to_end(&mut io::stdin().lock(), &mut text)?;
        for (head, end) in trtc_logwatch::records::split(&text) {
            let record = String::from_utf8_lossy(&text[head..end]);
            out.write_all(report::why(&matcher, &record).as_bytes())?;
        }
    } else {
        for l in lines {
            out.write_all(report::why(&matcher, l).as_bytes())?;
        }
    }
    Ok(())
}

/// `check-config FILE`: the validation `run` does, file, catalogs and all.
fn check_config(file: &std::path::Path) -> Result<()> {
    let c = Config::load(file).map_err(UsageError::from)?;
    c.check_runnable().map_err(UsageError::from)?;
    let g = Generation::build(c).map_err(UsageError::from)?;
    for w in g.matcher.catalog().warnings() {
        println!("warning: {w}");
    }
    // A glob whose directory is not there (yet) matches nothing: legal (it
    // is watched for), but most often a typo.
    for s in &g.config.sources {
        let trtc_logwatch::daemon::config::SourceKind::Files(files) = &s.kind else {
            continue;
        };
        for glob in &files.include {
            let dir = glob_dir(glob);
            if !dir.as_os_str().is_empty() && !dir.exists() {
                println!(
                    "warning: source {:?}: {} does not exist (yet): {glob:?} matches nothing until it does",
                    s.name,
                    dir.display()
                );
            }
        }
    }
    let names: Vec<String> = g
        .config
        .source_names()
        .iter()
        .map(|(n, kind)| format!("{kind} {n}"))
        .collect();
    println!(
        "{}: ok ({} source{}: {})",
        file.display(),
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        names.join(", ")
    );
    Ok(())
}

/// The directory part of a glob before its first wildcard (`/var/log/app`
/// of `/var/log/app/*.log`).
fn glob_dir(glob: &str) -> std::path::PathBuf {
    let cut = glob.find(['*', '?', '[', '{']).unwrap_or(glob.len());
    let fixed = &glob[..cut];
    match fixed.rfind('/') {
        Some(i) => std::path::PathBuf::from(&fixed[..i.max(1)]),
        None => std::path::PathBuf::new(),
    }
}

/// `man`: the manual page, one section per subcommand so it documents
/// every flag.
fn man() -> Result<()> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let mut out = io::stdout().lock();
    let top = clap_mangen::Man::new(cmd.clone());
    top.render_title(&mut out)?;
    top.render_name_section(&mut out)?;
    top.render_synopsis_section(&mut out)?;
    top.render_description_section(&mut out)?;
    top.render_options_section(&mut out)?;
    // The subcommands are sections of this page (there is no page of each).
    writeln!(out, ".SH COMMANDS")?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        writeln!(out, ".TP\n\\fB{}\\fR", sub.get_name())?;
        writeln!(
            out,
            "{} (section {} below)",
            sub.get_about()
                .map(ToString::to_string)
                .unwrap_or_default()
                .replace('-', "\\-"),
            sub.get_name().to_uppercase()
        )?;
    }
    writeln!(
        out,
        ".SH \"EXIT STATUS\"\n.TP\n0\nSuccess (scan: whether or not errors were found; run: stopped by a signal after writing everything, or every finite source ended).\n.TP\n1\nscan \\-\\-fail\\-on\\-error found an error; run stopped with events not written or a worker thread died; healthcheck got no 200.\n.TP\n2\nA usage error: a bad flag, config, catalog, address or path (named on stderr), a state directory in use by another daemon, or a path scan could not read."
    )?;
    top.render_version_section(&mut out)?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        writeln!(out, ".SH \"{}\"", sub.get_name().to_uppercase())?;
        let page = clap_mangen::Man::new(sub.clone());
        page.render_description_section(&mut out)?;
        page.render_synopsis_section(&mut out)?;
        page.render_options_section(&mut out)?;
    }
    Ok(())
}

/// `catalog [--json]`: every entry, as a table or JSON.
fn catalog(catalogs: &CatalogArgs, json: bool) -> Result<()> {
    let set = load(catalogs)?;
    let mut out = io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, set.entries())?;
        out.write_all(b"\n")?;
    } else {
        out.write_all(report::catalog_table(&set).as_bytes())?;
    }
    Ok(())
}

/// Where a health check asks: `HOST:PORT` with `path`, or an
/// `http://HOST:PORT[/PATH]` URL (its path wins over `path`); the path
/// always starts with `/`.
fn health_target(addr: &str, path: &str) -> Result<(String, String), UsageError> {
    let (hostport, url_path) = match addr.strip_prefix("http://") {
        Some(rest) => match rest.split_once('/') {
            Some((h, p)) => (h, Some(format!("/{p}"))),
            None => (rest, None),
        },
        None if addr.contains("://") => {
            return Err(UsageError::Message(format!(
                "healthcheck {addr}: only http:// URLs (the daemon serves plain HTTP)"
            )));
        }
        None => (addr, None),
    };
    let path = url_path
        .filter(|p| p != "/")
        .unwrap_or_else(|| format!("/{}", path.trim_start_matches('/')));
    Ok((hostport.to_string(), path))
}

/// One HTTP/1.0 GET with a 5 s budget; Ok when the answer is 200.
fn healthcheck(addr: &str, path: &str) -> Result<()> {
    use std::io::Read;
    use std::net::TcpStream;
    use std::time::Duration;
    let (addr, path) = health_target(addr, path)?;
    let (addr, path) = (addr.as_str(), path.as_str());
    let target = trtc_logwatch::daemon::config::resolve_addr(addr, "address")
        .map_err(|e| UsageError::Message(e.to_string()))?;
    let budget = Duration::from_secs(5);
    let mut s = TcpStream::connect_timeout(&target, budget)
        .with_context(|| format!("cannot connect to {target}"))?;
    s.set_read_timeout(Some(budget))?;
    s.set_write_timeout(Some(budget))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut head = [0u8; 64];
    let n = s
        .read(&mut head)
        .with_context(|| format!("no answer from {target}"))?;
    let status = String::from_utf8_lossy(&head[..n]);
    let line = status.lines().next().unwrap_or("");
    if line.split_whitespace().nth(1) == Some("200") {
        println!("{target}{path}: {line}");
        Ok(())
    } else {
        anyhow::bail!("{target}{path}: {line}")
    }
}

/// The config file (if any) with the flags applied on top.
fn build_config(a: &RunArgs) -> Result<Config, ConfigError> {
    let mut c = match &a.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if !a.follow.is_empty() {
        // Its name is checked with the others' by `check_runnable`.
        c.sources.push(SourceConfig::files(
            "files",
            a.follow.clone(),
            a.exclude.clone(),
        )?);
    }
    if let Some(st) = a.start_at {
        for g in c.sources.iter_mut().filter_map(SourceConfig::files_of_mut) {
            g.start_at = start(st);
        }
    }
    if a.stdin && c.stdin_source().is_none() {
        c.sources.push(SourceConfig::stdin("stdin"));
    }
    if let Some(l) = &a.listen {
        c.listen = trtc_logwatch::daemon::config::resolve_listen(l)
            .map_err(|e| ConfigError::Flag(format!("--listen: {e}")))?;
    }
    if let Some(l) = &a.ingest {
        let addr = trtc_logwatch::daemon::config::resolve_listen(l)
            .map_err(|e| ConfigError::Flag(format!("--ingest: {e}")))?;
        match &mut c.ingest {
            Some(i) => i.listen = addr,
            None => c.ingest = Some(trtc_logwatch::daemon::config::IngestConfig::on(addr)),
        }
    }
    if let Some(l) = &a.browser {
        let addr = trtc_logwatch::daemon::config::resolve_listen(l)
            .map_err(|e| ConfigError::Flag(format!("--browser: {e}")))?;
        match &mut c.browser {
            Some(b) => b.listen = addr,
            None => c.browser = Some(trtc_logwatch::daemon::config::BrowserConfig::on(addr)),
        }
    }
    if !a.browser_origin.is_empty() || !a.browser_app_id.is_empty() {
        use trtc_logwatch::daemon::config::Origins;
        let Some(b) = &mut c.browser else {
            return Err(ConfigError::Flag(
                "--browser-origin and --browser-app-id need --browser ADDR (or `browser:` in the config)".into(),
            ));
        };
        if a.browser_origin.iter().any(|o| o == "*") {
            b.origins = Origins::Any;
        } else if !a.browser_origin.is_empty() {
            let mut list = match &b.origins {
                Origins::Only(l) => l.clone(),
                Origins::Any => Vec::new(),
            };
            list.extend(
                a.browser_origin
                    .iter()
                    .map(|o| o.trim_end_matches('/').to_string()),
            );
            b.origins = Origins::Only(list);
        }
        b.sdk_app_ids.extend(a.browser_app_id.iter().copied());
    }
    if let Some(e) = &a.events {
        c.events_path = (e != "-").then(|| PathBuf::from(e));
    }
    if let Some(t) = a.text {
        c.events_text = t.into();
    }
    if let Some(d) = &a.state_dir {
        c.state_dir = Some(d.clone());
    }
    c.pattern_dirs.extend(a.patterns.iter().cloned());
    c.check_runnable()?;
    Ok(c)
}

fn start(s: StartArg) -> StartAt {
    match s {
        StartArg::Beginning => StartAt::Beginning,
        StartArg::End => StartAt::End,
    }
}

fn run_daemon(args: RunArgs) -> Result<()> {
    let filter = log_filter(&args.log_level)?;
    let log = tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(filter);
    match args.log_format {
        LogFormat::Text => log
            .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
            .init(),
        LogFormat::Json => log.json().with_current_span(false).init(),
    }
    let config = build_config(&args).map_err(UsageError::from)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let reloader: Reloader = Arc::new(move || build_config(&args));
    let result = rt.block_on(daemon::run(config, reloader));
    // Do not wait for blocking tasks stuck on a blocked output (or a reload
    // still building): shutdown has drained what it could within its deadline.
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => Ok(()),
        // A worker that died is a failure of the daemon, not of the user's input.
        Err(e @ (daemon::DaemonError::WorkerDied(_) | daemon::DaemonError::NotDrained(_))) => {
            Err(e.into())
        }
        Err(e) => Err(UsageError::from(e).into()),
    }
}

/// `scan` found errors and `--fail-on-error` was given (exit 1).
#[derive(Debug, thiserror::Error)]
#[error("{0} TRTC error(s) found")]
struct ErrorsFound(u64);

fn scan(a: &ScanArgs) -> Result<()> {
    let workers = a.threads.map_or_else(scan::default_workers, usize::from);
    let set = load(&a.catalogs)?;
    let renderer = Renderer::new(&set, a.text.into());
    let matcher = Arc::new(Matcher::new(set).context("building the matcher")?);
    let stdin_only = [PathBuf::from("-")];
    let paths = if a.paths.is_empty() {
        &stdin_only[..]
    } else {
        &a.paths[..]
    };
    let mut out = ScanOutput {
        w: BufWriter::with_capacity(256 * 1024, io::stdout().lock()),
        buf: Vec::with_capacity(512 * 1024),
        summary: a.summary.then(Summary::default),
    };
    let mut total = Stats::default();
    let mut failed = Vec::new();
    for p in paths {
        match scan_one(a, &matcher, &renderer, workers, p, &mut out) {
            Ok(stats) => total.add(&stats),
            // Our own output closed (`| head`): stop quietly, as before.
            Err(e) if is_broken_pipe(&e) => return Err(e),
            Err(e) => {
                eprintln!("trtc-logwatch: {}", report(&e));
                failed.push(p.display().to_string());
            }
        }
    }
    out.finish()?;
    if let Some(sum) = &out.summary {
        eprint!("{}", sum.render(&total));
    }
    if !failed.is_empty() {
        return Err(UsageError::Message(format!(
            "{} of {} input(s) could not be read: {}",
            failed.len(),
            paths.len(),
            failed.join(", ")
        ))
        .into());
    }
    if a.fail_on_error && total.events > 0 {
        return Err(ErrorsFound(total.events).into());
    }
    Ok(())
}

/// Where `scan` writes events (and counts them for `--summary`).
struct ScanOutput<W: Write> {
    w: W,
    buf: Vec<u8>,
    summary: Option<Summary>,
}

impl<W: Write> ScanOutput<W> {
    #[inline]
    fn event(&mut self, r: &Renderer, ev: &trtc_logwatch::event::Event<'_>) -> io::Result<()> {
        if let Some(s) = &mut self.summary {
            s.add(ev.category, ev.key);
        }
        r.write(ev, &mut self.buf);
        self.buf.push(b'\n');
        if self.buf.len() >= 256 * 1024 {
            self.w.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        self.w.flush()
    }
}

/// Scans one path (`-`: stdin); an error names the path and what failed.
fn scan_one<W: Write>(
    a: &ScanArgs,
    matcher: &Arc<Matcher>,
    renderer: &Renderer,
    workers: usize,
    p: &std::path::Path,
    out: &mut ScanOutput<W>,
) -> Result<Stats> {
    let from_stdin = p.as_os_str() == "-";
    let (name, raw, size): (String, Box<dyn io::Read>, Option<u64>) = if from_stdin {
        ("stdin".into(), Box::new(io::stdin().lock()), None)
    } else {
        let f = File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
        let meta = f
            .metadata()
            .with_context(|| format!("cannot stat {}", p.display()))?;
        if meta.is_dir() {
            anyhow::bail!("cannot scan {}: is a directory", p.display());
        }
        (p.display().to_string(), Box::new(f), Some(meta.len()))
    };
    let (encoding, mut input) =
        decode::decoded(raw).with_context(|| format!("cannot read {name}"))?;
    if encoding == Encoding::Binary {
        eprintln!("trtc-logwatch: warning: {name} looks binary (NUL bytes); scanned as it is");
    }
    let mut pipeline = Pipeline::builder(name.clone())
        .max_line_bytes(a.max_line_bytes)
        .buffer(BufferKind::Stream)
        .workers(workers)
        .build();
    let mut sink = ScanSink {
        out,
        matcher,
        renderer,
        progress: Progress::new(&name, size),
        read: Stats::default(),
        live: from_stdin,
    };
    // A pipe may pause after a record: matched after the record wait, not
    // only at the end of the input (`tail -f app.log | trtc-logwatch scan`).
    let r = if from_stdin {
        pipeline.read_to_end_live(
            &mut input,
            &mut trtc_logwatch::lines::stdin_within,
            &mut sink,
        )
    } else {
        pipeline.read_to_end(&mut input, &mut sink)
    };
    sink.progress.done();
    match r {
        Ok(()) => Ok(pipeline.stats()),
        // Writing our output failed: not this input's fault.
        Err(ReadError::Consumer(e)) => Err(e.into()),
        Err(ReadError::Io(e)) => Err(anyhow::Error::new(e).context(format!(
            "reading {name} failed after {} bytes",
            pipeline.stats().bytes
        ))),
    }
}

/// One input's events on their way to [`ScanOutput`], with its progress.
struct ScanSink<'a, W: Write> {
    out: &'a mut ScanOutput<W>,
    matcher: &'a Arc<Matcher>,
    renderer: &'a Renderer,
    progress: Progress<'a>,
    read: Stats,
    /// Reading standard input: events are written after each block.
    live: bool,
}

impl<W: Write> EventSink for ScanSink<'_, W> {
    type Error = io::Error;

    fn matcher(&mut self) -> Arc<Matcher> {
        Arc::clone(self.matcher)
    }

    #[inline]
    fn event(&mut self, ev: &trtc_logwatch::event::Event<'_>) -> io::Result<()> {
        self.out.event(self.renderer, ev)
    }

    fn block_done(&mut self, delta: &Stats) -> io::Result<()> {
        self.read.add(delta);
        self.progress.tick(self.read.bytes, self.read.events);
        // A pipe that pauses (`tail -f app.log | trtc-logwatch scan`): what
        // was found is written at once, not at the end of the input.
        if self.live && !self.out.buf.is_empty() {
            self.out.finish()?;
        }
        Ok(())
    }
}

/// A progress line on stderr for long scans, only when stderr is a
/// terminal: redrawn at most every 250 ms once a scan has run a second.
struct Progress<'a> {
    name: &'a str,
    size: Option<u64>,
    on: bool,
    start: std::time::Instant,
    last: Option<std::time::Instant>,
}

impl<'a> Progress<'a> {
    fn new(name: &'a str, size: Option<u64>) -> Self {
        Self {
            name,
            size,
            on: io::IsTerminal::is_terminal(&io::stderr()),
            start: std::time::Instant::now(),
            last: None,
        }
    }

    fn tick(&mut self, bytes: u64, events: u64) {
        if !self.on || self.start.elapsed() < std::time::Duration::from_secs(1) {
            return;
        }
        if self
            .last
            .is_some_and(|t| t.elapsed() < std::time::Duration::from_millis(250))
        {
            return;
        }
        self.last = Some(std::time::Instant::now());
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let of = match self.size {
            Some(s) if s > 0 => format!(
                " of {:.0} MiB ({:.0} %)",
                mib(s),
                100.0 * bytes as f64 / s as f64
            ),
            _ => String::new(),
        };
        eprint!(
            "\r\x1b[K{}: {:.0} MiB{of}, {events} events",
            self.name,
            mib(bytes)
        );
    }

    fn done(&self) {
        if self.last.is_some() {
            eprint!("\r\x1b[K");
        }
    }
}
