//! `run`: the daemon. Starts the sink, the sources and the HTTP server,
//! serves until a signal, and shuts down within a deadline.
//!
//! - [`config`]: the YAML config and its validation, one module per source.
//! - [`generation`]: config + matcher + renderer, swapped whole on reload.
//! - [`source`]: where lines come from (files, stdin, HTTP ingest, NATS, the browsers),
//!   each through one record pipeline into the queue.
//! - [`queue`]: the bounded queue from the sources to the sink.
//! - [`sink`]: writes events and, after them, checkpoints.
//! - [`metrics`] and [`server`]: `/metrics`, `/healthz`, `/readyz`;
//!   [`connections`]: the HTTP connection cap, where slow clients give way.
//!
//! SIGTERM/SIGINT stop reading, drain the queue, flush events and write
//! checkpoints. SIGHUP reopens the events file and reloads the config and
//! catalogs: the new [`Generation`] is built on a blocking thread, off the
//! signal loop, and swapped in whole; every source reads it before its next
//! block. A bad one is refused and the old one kept.

pub(crate) mod affected;
pub mod config;
pub(crate) mod connections;
pub(crate) mod failpoint;
pub mod generation;
pub(crate) mod health;
pub(crate) mod limits;
pub(crate) mod metrics;
pub(crate) mod pages;
pub(crate) mod queue;
pub(crate) mod recent;
pub(crate) mod sampling;
pub(crate) mod server;
pub(crate) mod sink;
pub(crate) mod source;

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::state::checkpoint::{CheckpointError, Checkpointer, FileCheckpoint};
use crate::state::fingerprint::FileId;
use config::{Config, ConfigError};
pub use generation::{Generation, LoadError};
use health::Health;
use metrics::Metrics;
use queue::{Emitter, SinkMsg};
use server::{AppState, router};
use sink::{Destination, Sink, SinkOptions};
use source::files::FileSource;
use source::stdin::StdinSource;
use source::{Source, SourceContext};

/// Why the daemon could not start, or stopped with a failure.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Config, catalogs or flags are invalid.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The checkpoint file or state directory cannot be used.
    #[error("{0}")]
    Checkpoint(#[from] CheckpointError),
    /// The events output cannot be opened.
    #[error(transparent)]
    Output(#[from] sink::OpenError),
    /// A resource could not be set up (listen address, threads, signals).
    #[error("{what}: {source}")]
    Setup {
        /// What was being set up.
        what: String,
        /// The cause.
        source: io::Error,
    },
    /// A worker thread ended while the daemon was running.
    #[error("the {0} thread stopped unexpectedly")]
    WorkerDied(String),
    /// Stopped with events read but not written (the output was blocked).
    #[error("stopped with events not written: {0}")]
    NotDrained(&'static str),
}

fn setup(what: impl Into<String>) -> impl FnOnce(io::Error) -> DaemonError {
    let what = what.into();
    move |source| DaemonError::Setup { what, source }
}

/// Rebuilds the configuration on SIGHUP (the config file plus the flags).
pub type Reloader = Arc<dyn Fn() -> Result<Config, ConfigError> + Send + Sync>;

/// Runs the daemon until SIGTERM/SIGINT, or until every source has ended
/// when all of them end by themselves (stdin).
pub async fn run(config: Config, reloader: Reloader) -> Result<(), DaemonError> {
    config.check_runnable().map_err(LoadError::from)?;
    match limits::raise_nofile() {
        Ok(n) => tracing::info!("open files limit: {n}"),
        Err(e) => tracing::warn!("cannot raise the open files limit: {e}"),
    }
    limits::return_large_buffers();
    let generation = tokio::task::spawn_blocking(move || Generation::build(config))
        .await
        .map_err(|e| setup("building the matcher")(io::Error::other(e)))??;
    let mut daemon = Daemon::start(generation).await?;
    let stopped = daemon.serve(reloader).await;
    let drained = daemon.shutdown().await;
    stopped.and(drained)
}

/// A worker thread (source or sink) that ended, told by its guard.
#[derive(Debug)]
struct Ended {
    name: String,
    finite: bool,
    panicked: bool,
}

/// Sends [`Ended`] when its thread ends, by return or by panic.
struct EndGuard {
    tx: mpsc::UnboundedSender<Ended>,
    name: String,
    finite: bool,
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        let _ = self.tx.send(Ended {
            name: std::mem::take(&mut self.name),
            finite: self.finite,
            panicked: std::thread::panicking(),
        });
    }
}

/// A started source thread.
struct Running {
    name: String,
    /// `None` for a source that cannot be waited for (stdin).
    handle: Option<JoinHandle<()>>,
}

/// Everything `run` started, for `serve` and `shutdown`.
struct Daemon {
    current: watch::Sender<Arc<Generation>>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    cancel: CancellationToken,
    tx: queue::Sender,
    reopen: Arc<AtomicBool>,
    sink: Option<JoinHandle<()>>,
    sources: Vec<Running>,
    /// Sources that end by themselves and have not yet; `None` when some
    /// source never ends by itself.
    finite_left: Option<usize>,
    ended: mpsc::UnboundedReceiver<Ended>,
    http: tokio::task::JoinHandle<()>,
}

impl Daemon {
    /// Opens the checkpoints and the events output, binds the listener and
    /// starts the sink, the sources and the HTTP server.
    async fn start(g: Generation) -> Result<Self, DaemonError> {
        let config = Arc::clone(&g.config);
        let metrics = Arc::new(Metrics::new());
        declare_sources(&metrics, &config);
        let health = Arc::new(Health::default());
        let (checkpointer, resume) = match &config.state_dir {
            Some(d) => {
                let c = Checkpointer::new(d)?;
                let resume = c.load()?;
                (Some(c), resume)
            }
            None => (None, None),
        };
        let (tx, rx) = queue::bounded(config.queue_capacity);
        let reopen = Arc::new(AtomicBool::new(false));
        let sink = Sink::new(
            rx,
            SinkOptions {
                dest: config
                    .events_path
                    .clone()
                    .map_or(Destination::Stdout, Destination::File),
                checkpointer,
                initial: resume.clone().unwrap_or_default(),
                interval: config.checkpoint_interval,
            },
            Arc::clone(&metrics),
            Arc::clone(&health),
            Arc::clone(&reopen),
        )?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(setup(format!("cannot listen on {}", config.listen)))?;
        let bound = listener.local_addr().unwrap_or(config.listen);
        tracing::info!("serving /metrics on http://{bound}");

        let (ended_tx, ended) = mpsc::unbounded_channel();
        let sink = spawn_guarded("sink", false, &ended_tx, move || sink.run())?;
        let (current, current_rx) = watch::channel(Arc::new(g));
        let cancel = CancellationToken::new();
        let ctx = SourceContext {
            current: current_rx,
            emitter: Emitter::new(tx.clone(), Arc::clone(&metrics), config.overflow)
                .with_sampling(config.max_per_key),
            metrics: Arc::clone(&metrics),
            cancel: cancel.clone(),
            ready: health.register(),
            max_line_bytes: config.max_line_bytes,
        };
        let (sources, finite_left) = start_sources(&config, resume, &ctx, &health, &ended_tx)?;
        // Ingest never ends by itself: the daemon then runs until a signal.
        let finite_left =
            finite_left.filter(|_| config.ingest.is_none() && config.browser.is_none());

        let app = router(AppState {
            metrics: Arc::clone(&metrics),
            health: Arc::clone(&health),
            current: ctx.current.clone(),
        });
        let limits = server::HttpLimits {
            max_connections: config.http_connections_cap(),
            header_timeout: config.http_header_timeout,
        };
        let http = tokio::spawn(server::serve(
            listener,
            app,
            limits,
            Arc::clone(&metrics),
            cancel.clone(),
        ));
        if let Some(b) = &config.browser {
            start_browser(b, &ctx, limits).await?;
        }
        if let Some(i) = &config.ingest {
            start_ingest(i, &ctx, limits).await?;
        }
        Ok(Self {
            current,
            metrics,
            health,
            cancel,
            tx,
            reopen,
            sink: Some(sink),
            sources,
            finite_left,
            ended,
            http,
        })
    }

    /// Serves until a signal, the end of every finite source, or a worker
    /// that died (an error).
    async fn serve(&mut self, reloader: Reloader) -> Result<(), DaemonError> {
        let sig = |k: SignalKind| -> Result<Signal, DaemonError> {
            signal(k).map_err(setup("installing a signal handler"))
        };
        let (mut term, mut int, mut hup) = (
            sig(SignalKind::terminate())?,
            sig(SignalKind::interrupt())?,
            sig(SignalKind::hangup())?,
        );
        let (reload_tx, mut reload_rx) = mpsc::channel(1);
        let (mut reloading, mut again) = (false, false);
        loop {
            tokio::select! {
                _ = term.recv() => { tracing::info!("SIGTERM: shutting down"); return Ok(()); }
                _ = int.recv() => { tracing::info!("SIGINT: shutting down"); return Ok(()); }
                _ = hup.recv() => {
                    // The events file is reopened before the next event.
                    self.reopen.store(true, Ordering::Relaxed);
                    if reloading {
                        again = true;
                    } else {
                        reloading = true;
                        spawn_reload(&reloader, &reload_tx);
                    }
                }
                Some(r) = reload_rx.recv() => {
                    self.apply_reload(r);
                    if std::mem::take(&mut again) {
                        spawn_reload(&reloader, &reload_tx);
                    } else {
                        reloading = false;
                    }
                }
                Some(e) = self.ended.recv() => {
                    if let Some(stop) = self.worker_ended(e) {
                        return stop;
                    }
                }
            }
        }
    }

    fn apply_reload(&self, r: Result<Generation, LoadError>) {
        match r {
            Ok(g) => {
                for what in self.current.borrow().config.restart_only_changes(&g.config) {
                    tracing::warn!("SIGHUP: {what} changed; it takes effect at the next restart");
                }
                declare_sources(&self.metrics, &g.config);
                self.current.send_replace(Arc::new(g));
                self.metrics.reload(true);
                tracing::info!("SIGHUP: new configuration accepted");
            }
            Err(e) => {
                self.metrics.reload(false);
                tracing::error!("SIGHUP: new configuration refused, keeping the old one: {e}");
            }
        }
    }

    /// `Some` when the daemon must stop: every finite source has ended
    /// (`Ok`), or a thread ended that should not have (`Err`).
    fn worker_ended(&mut self, e: Ended) -> Option<Result<(), DaemonError>> {
        if e.finite && !e.panicked {
            let left = self.finite_left.as_mut().map(|n| {
                *n = n.saturating_sub(1);
                *n
            });
            if left == Some(0) {
                tracing::info!("every source has ended: shutting down");
                return Some(Ok(()));
            }
            return None;
        }
        let how = if e.panicked { "panicked" } else { "returned" };
        tracing::error!(
            "the {} thread {how} while the daemon was running; stopping",
            e.name
        );
        self.health
            .set_problem("worker", format!("the {} thread stopped", e.name));
        Some(Err(DaemonError::WorkerDied(e.name)))
    }

    /// Stops within about 5 s even when the events output is blocked (a pipe
    /// nobody reads): every step has a deadline; sources waiting for room in
    /// the queue give up [`queue::GIVE_UP_AFTER_SHUTDOWN`] after it begins.
    async fn shutdown(&mut self) -> Result<(), DaemonError> {
        self.cancel.cancel();
        self.tx.begin_shutdown();
        let deadline = Instant::now() + Duration::from_millis(3500);
        for s in self.sources.iter_mut() {
            let Some(h) = s.handle.take() else { continue };
            if !join_before(h, deadline).await {
                tracing::error!("the {} source did not stop in time", s.name);
            }
        }
        let until = deadline.min(Instant::now() + Duration::from_secs(1));
        let tx = self.tx.clone();
        let sent =
            tokio::task::spawn_blocking(move || tx.send_before(SinkMsg::Shutdown, until)).await;
        let drained = match (sent, self.sink.take()) {
            (Ok(Ok(())), Some(sink)) => {
                if join_before(sink, deadline).await {
                    Ok(())
                } else {
                    tracing::error!("events sink did not stop in time");
                    Err(DaemonError::NotDrained(
                        "the events sink did not stop in time",
                    ))
                }
            }
            _ => {
                tracing::error!("events output is blocked; exiting without draining the queue");
                Err(DaemonError::NotDrained("the events output was blocked"))
            }
        };
        let _ = tokio::time::timeout(Duration::from_millis(200), &mut self.http).await;
        drained
    }
}

/// The series of the config's file and stdin sources, at 0 (at start and
/// after a reload that may add sources).
fn declare_sources(metrics: &Metrics, config: &Config) {
    metrics.declare_sources(
        config
            .sources
            .iter()
            .map(|s| (s.name.as_str(), !s.is_stdin())),
    );
}

/// Binds the HTTP ingest listener and serves `POST /ingest` on it, each
/// request through a pipeline of its own into `ctx`'s queue.
async fn start_ingest(
    i: &config::IngestConfig,
    ctx: &SourceContext,
    limits: server::HttpLimits,
) -> Result<(), DaemonError> {
    let token = match &i.token_file {
        Some(t) => Some(config::read_token(t).map_err(LoadError::from)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(i.listen)
        .await
        .map_err(setup(format!("cannot listen for ingest on {}", i.listen)))?;
    let bound = listener.local_addr().unwrap_or(i.listen);
    tracing::info!("accepting POST /ingest on http://{bound}");
    ctx.metrics
        .declare_sources(i.sources.iter().map(|n| (n.as_str(), false)));
    ctx.metrics.declare_ingest();
    let app = source::ingest::router(source::ingest::IngestState {
        current: ctx.current.clone(),
        emitter: ctx.emitter.clone(),
        metrics: Arc::clone(&ctx.metrics),
        config: i.clone(),
        token,
        max_line_bytes: ctx.max_line_bytes,
        budget: source::budget::Budget::new(i.max_memory_bytes, Arc::clone(&ctx.metrics)),
        workers: Arc::new(tokio::sync::Semaphore::new(i.workers)),
    });
    tokio::spawn(server::serve(
        listener,
        app,
        limits,
        Arc::clone(&ctx.metrics),
        ctx.cancel.clone(),
    ));
    Ok(())
}

/// Binds the browser endpoint's listener and serves the SDK's log upload
/// on it (README "From the browsers").
async fn start_browser(
    b: &config::BrowserConfig,
    ctx: &SourceContext,
    limits: server::HttpLimits,
) -> Result<(), DaemonError> {
    let listener = tokio::net::TcpListener::bind(b.listen)
        .await
        .map_err(setup(format!("cannot listen for browsers on {}", b.listen)))?;
    let bound = listener.local_addr().unwrap_or(b.listen);
    tracing::info!("accepting the SDK's log upload (loggerProxy) on http://{bound}");
    ctx.metrics
        .declare_sources(std::iter::once((b.source.as_str(), false)));
    let app = source::browser::router(source::browser::BrowserState::new(
        ctx.current.clone(),
        ctx.emitter.clone(),
        Arc::clone(&ctx.metrics),
        b.clone(),
        ctx.max_line_bytes,
        ctx.cancel.clone(),
    ));
    tokio::spawn(server::serve(
        listener,
        app,
        limits,
        Arc::clone(&ctx.metrics),
        ctx.cancel.clone(),
    ));
    Ok(())
}

/// Starts a thread for each kind of source the config has; returns them
/// and how many end by themselves (`None` if some source never does).
fn start_sources(
    config: &Config,
    resume: Option<BTreeMap<FileId, FileCheckpoint>>,
    ctx: &SourceContext,
    ready: &Arc<Health>,
    ended: &mpsc::UnboundedSender<Ended>,
) -> Result<(Vec<Running>, Option<usize>), DaemonError> {
    let mut list: Vec<Box<dyn Source>> = Vec::new();
    if config.file_sources().next().is_some() {
        list.push(Box::new(FileSource { resume }));
    }
    if let Some(name) = config.stdin_source() {
        list.push(Box::new(StdinSource::new(name)));
    }
    if let Some(n) = &config.nats {
        ctx.metrics.declare_nats(&n.source);
        list.push(Box::new(source::nats::NatsSource::new(n.clone())));
    }
    let finite = list.iter().all(|s| s.is_finite()).then_some(list.len());
    let mut running = Vec::new();
    // The context's own flag stands for the first source; the others get theirs.
    let mut first_ready = Some(ctx.ready.clone());
    for src in list {
        let mut c = ctx.clone();
        c.ready = first_ready.take().unwrap_or_else(|| ready.register());
        let name = src.name();
        let joinable = src.joinable();
        let finite = src.is_finite();
        let h = spawn_guarded(&name, finite, ended, move || src.run(c))?;
        running.push(Running {
            name,
            handle: joinable.then_some(h),
        });
    }
    // No reading source (ingest only): nothing to wait for.
    if let Some(r) = first_ready {
        r.set();
    }
    Ok((running, finite))
}

/// Spawns a named thread whose end (return or panic) is reported on `ended`.
fn spawn_guarded(
    name: &str,
    finite: bool,
    ended: &mpsc::UnboundedSender<Ended>,
    f: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, DaemonError> {
    let guard = EndGuard {
        tx: ended.clone(),
        name: name.to_string(),
        finite,
    };
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let _guard = guard;
            f();
        })
        .map_err(setup(format!("starting the {name} thread")))
}

/// Builds the next generation on a blocking thread and sends it to the
/// signal loop.
fn spawn_reload(reloader: &Reloader, tx: &mpsc::Sender<Result<Generation, LoadError>>) {
    let (reloader, tx) = (Arc::clone(reloader), tx.clone());
    tokio::task::spawn_blocking(move || {
        let r = reloader()
            .map_err(LoadError::from)
            .and_then(Generation::build);
        let _ = tx.blocking_send(r);
    });
}

/// Waits for a thread until `deadline`; false if it is still running.
async fn join_before(h: JoinHandle<()>, deadline: Instant) -> bool {
    let left = deadline.saturating_duration_since(Instant::now());
    let joined = tokio::task::spawn_blocking(move || h.join());
    tokio::time::timeout(left, joined).await.is_ok()
}
