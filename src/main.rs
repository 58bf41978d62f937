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
use trtc_logwatch::lines::{DEFAULT_MAX_LINE, LineReader, MAX_MAX_LINE, MIN_MAX_LINE};
use trtc_logwatch::matcher::Matcher;
use trtc_logwatch::render::{Renderer, TextMode};
use trtc_logwatch::report::{self, Lang, Summary};
use trtc_logwatch::scan::{self, Position, SourceScanner, Stats};

#[derive(Parser)]
#[command(
    name = "trtc-logwatch",
    version,
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
        /// KEY, CODE or 0xHEX.
        query: String,
    },
    /// Follow files and/or stdin, write events and serve Prometheus metrics.
    Run(RunArgs),
    /// Validate a config file (and its catalogs) without running.
    CheckConfig {
        /// The YAML config file.
        file: PathBuf,
    },
    /// Show, for each line, every candidate with the rule that took it or
    /// why not, and the events the line gives.
    Why {
        #[command(flatten)]
        catalogs: CatalogArgs,
        /// Lines to explain; none or `-` reads lines from stdin.
        lines: Vec<String>,
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
    /// Log level of the daemon's own log on stderr.
    #[arg(long, default_value = "info")]
    log_level: tracing::Level,
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
            eprintln!("trtc-logwatch: {e:#}");
            if e.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Scan(a) => scan(&a),
        Cmd::Explain {
            catalogs,
            lang,
            query,
        } => {
            let set = load(&catalogs)?;
            let ids = set.lookup(&query);
            if ids.is_empty() {
                return Err(UsageError::Message(format!("no catalog entry for {query:?}")).into());
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
        Cmd::Run(args) => run_daemon(args),
        Cmd::Why { catalogs, lines } => {
            let set = load(&catalogs)?;
            let matcher = Matcher::new(set).context("building the matcher")?;
            let mut out = io::stdout().lock();
            if lines.is_empty() || lines == ["-"] {
                for l in io::BufRead::lines(io::stdin().lock()) {
                    out.write_all(report::why(&matcher, &l?).as_bytes())?;
                }
            } else {
                for l in &lines {
                    out.write_all(report::why(&matcher, l).as_bytes())?;
                }
            }
            Ok(())
        }
        Cmd::CheckConfig { file } => {
            let c = Config::load(&file).map_err(UsageError::from)?;
            let g = Generation::build(c).map_err(UsageError::from)?;
            for w in g.matcher.catalog().warnings() {
                println!("warning: {w}");
            }
            println!(
                "{}: ok ({} sources)",
                file.display(),
                g.config.sources.len()
            );
            Ok(())
        }
        Cmd::Catalog { catalogs, json } => {
            let set = load(&catalogs)?;
            let mut out = io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(&mut out, set.entries())?;
                out.write_all(b"\n")?;
            } else {
                out.write_all(report::catalog_table(&set).as_bytes())?;
            }
            Ok(())
        }
    }
}

/// The config file (if any) with the flags applied on top.
fn build_config(a: &RunArgs) -> Result<Config, ConfigError> {
    let mut c = match &a.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if !a.follow.is_empty() {
        let mut s = SourceConfig::files("files", a.follow.clone(), a.exclude.clone())?;
        if c.sources.iter().any(|o| o.name == s.name) {
            return Err(ConfigError::Flag(
                "a config source is already named `files`; rename it to use --follow".into(),
            ));
        }
        if let Some(st) = a.start_at {
            s.start_at = start(st);
        }
        c.sources.push(s);
    }
    if let Some(st) = a.start_at {
        for s in c.sources.iter_mut() {
            s.start_at = start(st);
        }
    }
    if a.stdin && !c.sources.iter().any(|s| s.stdin) {
        c.sources.push(SourceConfig::stdin("stdin"));
    }
    if let Some(l) = &a.listen {
        c.listen = l
            .parse()
            .map_err(|e| ConfigError::Flag(format!("bad --listen {l:?}: {e} (want HOST:PORT)")))?;
    }
    if let Some(e) = &a.events {
        c.events_path = (e != "-").then(|| PathBuf::from(e));
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
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_max_level(args.log_level)
        .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
        .init();
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
        Err(e @ daemon::DaemonError::WorkerDied(_)) => Err(e.into()),
        Err(e) => Err(UsageError::from(e).into()),
    }
}

enum Input {
    Stdin,
    File(PathBuf, File),
}

/// Bytes `scan` reads at a time: large enough that handing part of a block
/// to a second thread costs little beside the block's work.
const SCAN_BLOCK: usize = 1 << 20;

fn scan(a: &ScanArgs) -> Result<()> {
    let (summary, limit, paths) = (a.summary, a.max_line_bytes, &a.paths);
    let workers = a.threads.map_or_else(scan::default_workers, usize::from);
    let set = load(&a.catalogs)?;
    let renderer = Renderer::new(&set, a.text.into());
    let mut buf = Vec::with_capacity(4096);
    let matcher = Matcher::new(set).context("building the matcher")?;
    let mut inputs = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            inputs.push(Input::Stdin);
        } else {
            let f = File::open(p)
                .map_err(|e| UsageError::Message(format!("cannot read {}: {e}", p.display())))?;
            if f.metadata().is_ok_and(|m| m.is_dir()) {
                return Err(UsageError::Message(format!(
                    "cannot read {}: is a directory",
                    p.display()
                ))
                .into());
            }
            inputs.push(Input::File(p.clone(), f));
        }
    }
    if inputs.is_empty() {
        inputs.push(Input::Stdin);
    }
    let mut out = BufWriter::with_capacity(256 * 1024, io::stdout().lock());
    let mut reader = LineReader::new(limit, SCAN_BLOCK.max(limit * 2));
    let mut total = Stats::default();
    let mut sum = Summary::default();
    for input in inputs {
        let (name, raw): (String, Box<dyn io::Read>) = match input {
            Input::Stdin => ("stdin".into(), Box::new(io::stdin().lock())),
            Input::File(p, f) => (p.display().to_string(), Box::new(f)),
        };
        let (encoding, input_reader) =
            decode::decoded(raw).with_context(|| format!("reading {name}"))?;
        if encoding == Encoding::Binary {
            eprintln!("trtc-logwatch: warning: {name} looks binary (NUL bytes); scanned as it is");
        }
        let mut sc =
            SourceScanner::new(name.clone(), limit, Position::default()).with_workers(workers);
        let mut emit = |ev: &trtc_logwatch::event::Event<'_>| -> io::Result<()> {
            if summary {
                sum.add(ev.category, ev.key);
            }
            renderer.write(ev, &mut buf);
            buf.push(b'\n');
            if buf.len() >= 256 * 1024 {
                out.write_all(&buf)?;
                buf.clear();
            }
            Ok(())
        };
        sc.read_all(&matcher, input_reader, &mut reader, &mut emit)
            .with_context(|| format!("reading {name}"))?;
        total.add(&sc.stats);
    }
    out.write_all(&buf)?;
    out.flush()?;
    if summary {
        eprint!("{}", sum.render(&total));
    }
    Ok(())
}
