//! `run`: the daemon. Starts the sink, every source of every kind in one
//! loop and the HTTP server, serves until a signal, and shuts down within a
//! deadline.
//!
//! - [`config`]: the YAML config and its validation, one module per section.
//! - [`generation`]: config + matcher + renderer, swapped whole on reload.
//! - [`source`]: one kind per input (files, stdin, NATS, HTTP ingest, the
//!   browsers), each with its metrics, its sources started as a thread or
//!   an HTTP endpoint, each through one record pipeline into the queue.
//! - [`queue`] and [`emitter`]: the bounded queue from the sources to the
//!   sink, and what each source queues through.
//! - [`sink`]: writes events and, after them, checkpoints.
//! - [`metrics`] and [`server`]: `/metrics`, `/healthz`, `/readyz`;
//!   [`connections`]: the HTTP connection cap, where slow clients give way;
//!   [`pages`]: the daemon's own pages, fed by the [`board`]; [`clock`]:
//!   the time of the windows.
//!
//! SIGTERM/SIGINT stop reading, drain the queue, flush events and write
//! checkpoints. SIGHUP reopens the events file and reloads the config and
//! catalogs: the new [`Generation`] is built on a blocking thread, off the
//! signal loop, and swapped in whole; every source reads it before its next
//! block. A bad one is refused and the old one kept.

pub(crate) mod affected;
pub(crate) mod board;
pub mod clock;
pub mod config;
pub(crate) mod connections;
pub(crate) mod emitter;
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

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::state::checkpoint::{CheckpointError, Checkpointer};
use board::Board;
use clock::SystemClock;
use config::{Config, ConfigError};
use emitter::Emitter;
pub use generation::{Generation, LoadError};
use health::Health;
use metrics::Metrics;
use queue::SinkMsg;
use server::{AppState, HttpLimits, HttpMetrics};
use sink::{Destination, Sink, SinkOptions};
use source::{Checkpoints, Kind, SourceContext, StartError, Started};

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

impl From<StartError> for DaemonError {
    fn from(e: StartError) -> Self {
        match e {
            StartError::Setup { what, source } => DaemonError::Setup { what, source },
            StartError::Config(c) => DaemonError::Load(LoadError::from(c)),
        }
    }
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
    /// Every kind of source, for the declarations after a reload.
    kinds: Vec<Box<dyn Kind>>,
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
        let clock = SystemClock::shared();
        let (metrics, (kinds, http_metrics)) = Metrics::build(Arc::clone(&clock), |r| {
            let kinds: Vec<Box<dyn Kind>> = source::kinds::KINDS.iter().map(|k| k(r)).collect();
            (kinds, HttpMetrics::register(r))
        });
        let metrics = Arc::new(metrics);
        for k in &kinds {
            k.declare(&config, &metrics);
        }
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
        metrics.set_recognition(Arc::clone(&g.config.recognition));
        let (current, current_rx) = watch::channel(Arc::new(g));
        let cancel = CancellationToken::new();
        let board = Arc::new(Board::new(Arc::clone(&clock)));
        let ctx = SourceContext {
            current: current_rx,
            emitter: Emitter::new(tx.clone(), Arc::clone(&metrics), config.overflow)
                .with_sampling(config.max_per_key, &clock)
                .with_board(Arc::clone(&board)),
            metrics: Arc::clone(&metrics),
            board: Arc::clone(&board),
            cancel: cancel.clone(),
            ready: health.register(),
            max_line_bytes: config.max_line_bytes,
        };
        let app = server::router(AppState {
            metrics: Arc::clone(&metrics),
            health: Arc::clone(&health),
        })
        .merge(pages::router(pages::PagesState {
            current: ctx.current.clone(),
            health: Arc::clone(&health),
            board,
            affected: metrics.affected_users(),
        }));
        let limits = HttpLimits {
            max_connections: config.http_connections_cap(),
            header_timeout: config.http_header_timeout,
        };
        let http = tokio::spawn(server::serve(
            listener,
            app,
            limits,
            Arc::clone(&http_metrics),
            cancel.clone(),
        ));
        let served = Served {
            limits,
            metrics: http_metrics,
        };
        let (sources, finite_left) =
            start_sources(&kinds, &config, resume, ctx, &health, &ended_tx, &served)?;
        Ok(Self {
            current,
            metrics,
            kinds,
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
                let old = Arc::clone(&self.current.borrow().config);
                let kinds = self
                    .kinds
                    .iter()
                    .filter_map(|k| k.restart_only(&old, &g.config));
                for what in old.restart_only_changes(&g.config).into_iter().chain(kinds) {
                    tracing::warn!("SIGHUP: {what} changed; it takes effect at the next restart");
                }
                for k in &self.kinds {
                    k.reloaded(&g.config, &self.metrics);
                }
                self.metrics
                    .set_recognition(Arc::clone(&g.config.recognition));
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

/// How the daemon serves an HTTP source: the limits and counters of every
/// port it serves.
struct Served {
    limits: HttpLimits,
    metrics: Arc<HttpMetrics>,
}

/// Starts every source the config asks of every kind, in one loop: a
/// thread for a reading source, the HTTP server for an endpoint. Returns
/// the threads and how many sources end by themselves (`None` if some
/// source never does).
fn start_sources(
    kinds: &[Box<dyn Kind>],
    config: &Config,
    mut resume: Checkpoints,
    ctx: SourceContext,
    health: &Arc<Health>,
    ended: &mpsc::UnboundedSender<Ended>,
    served: &Served,
) -> Result<(Vec<Running>, Option<usize>), DaemonError> {
    let list: Vec<_> = kinds
        .iter()
        .flat_map(|k| k.sources(config, &mut resume))
        .collect();
    let mut running = Vec::new();
    let (mut finite, mut endless) = (0, false);
    // The context's own flag stands for the first source; the others get theirs.
    let mut first_ready = Some(ctx.ready.clone());
    for src in list {
        let mut c = ctx.clone();
        c.ready = first_ready.take().unwrap_or_else(|| health.register());
        let name = src.name();
        match src.start(c)? {
            Started::Thread(r) => {
                if r.finite {
                    finite += 1;
                } else {
                    endless = true;
                }
                let h = spawn_guarded(&name, r.finite, ended, r.run)?;
                running.push(Running {
                    name,
                    handle: r.joinable.then_some(h),
                });
            }
            Started::Http { listener, router } => {
                endless = true;
                tokio::spawn(server::serve(
                    listener,
                    router,
                    served.limits,
                    Arc::clone(&served.metrics),
                    ctx.cancel.clone(),
                ));
            }
        }
    }
    // No source at all: nothing to wait for.
    if let Some(r) = first_ready {
        r.set();
    }
    Ok((running, (!endless).then_some(finite)))
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
