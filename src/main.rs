//! The `trtc-logwatch` command line: parses arguments and wires the library.

mod cli;

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::Parser;

use cli::args::*;
use cli::errors::{is_broken_pipe, load, report};
use cli::scan::scan;
use trtc_logwatch::daemon::config::flags::Flags;
use trtc_logwatch::daemon::config::{Config, ConfigError, StartAt};
use trtc_logwatch::daemon::{self, Generation, Reloader};
use trtc_logwatch::render::TextMode;
use trtc_logwatch::report::{self, Lang};

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

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Scan(a) => scan(&a),
        Cmd::Explain {
            catalogs,
            lang,
            query,
        } => explain(&catalogs, lang, &query),
        Cmd::Run(args) => run_daemon(*args),
        Cmd::Why {
            catalogs,
            config,
            lines,
        } => why(&catalogs, config.as_deref(), &lines),
        Cmd::CheckConfig { file } => check_config(&file),
        Cmd::Healthcheck { addr, path } => healthcheck(&addr, &path),
        Cmd::Completions { shell } => completions(shell),
        Cmd::Man => man(),
        Cmd::Catalog { catalogs, json } => catalog(&catalogs, json),
    }
}

/// `completions SHELL`: the completion script of clap_complete. Its bash
/// script names the states of a hyphenated binary two ways (`trtc__logwatch`
/// where it walks the words, `trtc__subcmd__logwatch` in the arms that
/// complete), so no subcommand's options complete (`run --fol<TAB>`): the
/// arms are renamed to match (clap-rs/clap, the bash generator's name
/// escaping). Tested in bash (`tests/cli.rs`).
fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "trtc-logwatch", &mut script);
    let mut script = String::from_utf8(script)?;
    if shell == clap_complete::Shell::Bash {
        script = script.replace("trtc__subcmd__logwatch", "trtc__logwatch");
    }
    io::stdout().write_all(script.as_bytes())?;
    Ok(())
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
fn why(catalogs: &CatalogArgs, config: Option<&std::path::Path>, lines: &[String]) -> Result<()> {
    let matcher = cli::errors::matcher(load(catalogs)?, config)?;
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
    writeln!(
        out,
        ".SH SIGNALS\n.TP\nSIGTERM, SIGINT\nrun stops reading, writes every event it has read, writes its checkpoints and exits 0.\n.TP\nSIGHUP\nrun reopens the events file (after logrotate) and reloads the config file: sources, catalogs, limits and recognition rules; a config with an error is refused, named on stderr and counted in trtc_logwatch_config_reload_failures_total, and the old one is kept; listen addresses take effect at the next restart."
    )?;
    writeln!(
        out,
        ".SH FILES\n.TP\n/etc/trtc\\-logwatch/config.yaml\nThe config of the systemd unit and of the container image (run \\-\\-config FILE; check\\-config FILE checks one).\n.TP\nSTATE_DIR/checkpoints.json\nWhere each followed file was read to (state_dir in the config; kept across restarts, written atomically).\n.TP\npatterns/*.yaml\nThe built\\-in catalogs are compiled in; \\-\\-patterns DIR adds or replaces catalogs from DIR.\n.TP\n/metrics, /healthz, /readyz, /\nServed on the config's listen address (127.0.0.1:9898 by default)."
    )?;
    writeln!(
        out,
        ".SH ENVIRONMENT\n.TP\nRUST_LOG\nThe daemon's log filter (tracing's syntax, e.g. info or trtc_logwatch=debug); when set it wins over \\-\\-log\\-level.\n.TP\nNO_COLOR\nNot read: the output has no colour.\n.TP\nTRTC_LOGWATCH_FAILPOINT\nFor the fault tests only (an injected failure); never set it in production."
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
    let base = match &a.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    base.with_flags(&a.flags())
}

impl RunArgs {
    /// What the flags say, for [`Config::with_flags`].
    fn flags(&self) -> Flags {
        Flags {
            follow: self.follow.clone(),
            exclude: self.exclude.clone(),
            start_at: self.start_at.map(start),
            stdin: self.stdin,
            listen: self.listen.clone(),
            ingest: self.ingest.clone(),
            browser: self.browser.clone(),
            browser_origin: self.browser_origin.clone(),
            browser_app_id: self.browser_app_id.clone(),
            events: self.events.clone(),
            text: self.text.map(TextMode::from),
            state_dir: self.state_dir.clone(),
            patterns: self.patterns.clone(),
        }
    }
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
