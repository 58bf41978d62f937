//! `run`: wires sources, sink, metrics and the HTTP server, and owns the
//! shutdown path. SIGTERM/SIGINT stop reading, drain the queue, flush
//! events and write checkpoints; SIGHUP reloads config and catalogs and
//! reopens the events file.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use crate::catalog;
use crate::config::Config;
use crate::matcher::Matcher;
use crate::metrics::Metrics;
use crate::server::{AppState, router};
use crate::sink::{self, Destination, SinkMsg};
use crate::source::checkpoint::Checkpointer;
use crate::source::{FileServer, Reload, ReloadSlot, read_stdin};

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Config, catalog or flags are invalid.
    #[error("{0}")]
    Invalid(String),
    /// A resource could not be set up (listen address, state dir, events file).
    #[error("{0}")]
    Setup(String),
}

/// Builds the catalog and matcher a config asks for.
pub fn build_matcher(c: &Config) -> Result<Arc<Matcher>, String> {
    let set = catalog::load(c.builtin_patterns, &c.pattern_dirs).map_err(|e| e.to_string())?;
    Matcher::new(Arc::new(set))
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// Rebuilds the configuration on SIGHUP (the config file plus the flags).
pub type Reloader = Box<dyn Fn() -> Result<Config, String> + Send + Sync>;

/// Runs the daemon until SIGTERM/SIGINT (or the end of stdin when stdin is
/// the only source).
pub async fn run(config: Config, reloader: Reloader) -> Result<(), DaemonError> {
    config
        .check_runnable()
        .map_err(|e| DaemonError::Invalid(e.to_string()))?;
    let config = Arc::new(config);
    let matcher = build_matcher(&config).map_err(DaemonError::Invalid)?;
    let metrics = Arc::new(Metrics::new());

    let checkpointer = match &config.state_dir {
        Some(d) => Some(
            Checkpointer::new(d)
                .map_err(|e| DaemonError::Setup(format!("state dir {}: {e}", d.display())))?,
        ),
        None => None,
    };
    let resume = match &checkpointer {
        Some(c) => c.load().map_err(|e| {
            DaemonError::Setup(format!(
                "cannot read checkpoints: {e} (move the file away to start over)"
            ))
        })?,
        None => None,
    };
    let dest = config
        .events_path
        .clone()
        .map_or(Destination::Stdout, Destination::File);
    let reopen = Arc::new(AtomicBool::new(false));
    let cancel = CancellationToken::new();
    let (emitter, sink) = sink::channel(
        dest,
        config.queue_capacity,
        config.overflow,
        Arc::clone(&metrics),
        checkpointer,
        resume.clone().unwrap_or_default(),
        config.checkpoint_interval,
        Arc::clone(&reopen),
        cancel.clone(),
    )
    .map_err(|e| DaemonError::Setup(format!("cannot open the events output: {e}")))?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| DaemonError::Setup(format!("cannot listen on {}: {e}", config.listen)))?;
    tracing::info!("serving /metrics on http://{}", config.listen);

    let ready = Arc::new(AtomicBool::new(false));
    let reload_slot: ReloadSlot = Arc::new(Mutex::new(None));

    let sink_thread = std::thread::Builder::new()
        .name("sink".into())
        .spawn(move || sink.run())
        .map_err(|e| DaemonError::Setup(e.to_string()))?;

    let has_files = config.sources.iter().any(|s| !s.stdin);
    let file_thread = if has_files {
        let server = FileServer::new(
            Arc::clone(&config),
            Arc::clone(&matcher),
            emitter.clone(),
            Arc::clone(&metrics),
            resume,
            Arc::clone(&ready),
            Arc::clone(&reload_slot),
        );
        let c = cancel.clone();
        Some(
            std::thread::Builder::new()
                .name("files".into())
                .spawn(move || server.run(&c))
                .map_err(|e| DaemonError::Setup(e.to_string()))?,
        )
    } else {
        ready.store(true, Ordering::Relaxed);
        None
    };

    let stdin_done = CancellationToken::new();
    if let Some(s) = config.sources.iter().find(|s| s.stdin) {
        let (name, m, limit, e, met, c, done) = (
            s.name.clone(),
            Arc::clone(&matcher),
            config.max_line_bytes,
            emitter.clone(),
            Arc::clone(&metrics),
            cancel.clone(),
            stdin_done.clone(),
        );
        // Not joined at shutdown: a blocking read of stdin cannot be interrupted.
        std::thread::Builder::new()
            .name("stdin".into())
            .spawn(move || {
                read_stdin(&name, m, limit, &e, &met, &c);
                done.cancel();
            })
            .map_err(|e| DaemonError::Setup(e.to_string()))?;
    }

    let app = router(AppState {
        metrics: Arc::clone(&metrics),
        ready: Arc::clone(&ready),
    });
    let http_cancel = cancel.clone();
    let http = tokio::spawn(async move {
        let r = axum::serve(listener, app)
            .with_graceful_shutdown(async move { http_cancel.cancelled().await })
            .await;
        if let Err(e) = r {
            tracing::error!("HTTP server failed: {e}");
        }
    });

    let mut term =
        signal(SignalKind::terminate()).map_err(|e| DaemonError::Setup(e.to_string()))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| DaemonError::Setup(e.to_string()))?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| DaemonError::Setup(e.to_string()))?;
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: shutting down"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: shutting down"); break; }
            _ = stdin_done.cancelled(), if !has_files => { tracing::info!("stdin ended: shutting down"); break; }
            _ = hup.recv() => {
                reopen.store(true, Ordering::Relaxed);
                match reloader().and_then(|c| build_matcher(&c).map(|m| (c, m))) {
                    Ok((c, m)) => {
                        if let Ok(mut slot) = reload_slot.lock() {
                            *slot = Some(Reload { config: Arc::new(c), matcher: m });
                        }
                        metrics.reload(true);
                        tracing::info!("SIGHUP: new configuration accepted");
                    }
                    Err(e) => {
                        metrics.reload(false);
                        tracing::error!("SIGHUP: new configuration refused, keeping the old one: {e}");
                    }
                }
            }
        }
    }

    // Shutdown within 5 s even when the events output is blocked (a pipe
    // nobody reads): every step has a deadline; readers give up on a full
    // queue 2 s after cancellation.
    cancel.cancel();
    let deadline = Instant::now() + Duration::from_millis(3500);
    let left = || deadline.saturating_duration_since(Instant::now());
    if let Some(t) = file_thread {
        let joined = tokio::task::spawn_blocking(move || t.join());
        if tokio::time::timeout(left(), joined).await.is_err() {
            tracing::error!("file reader did not stop in time");
        }
    }
    let e = emitter.clone();
    let until = deadline.min(Instant::now() + Duration::from_secs(1));
    let sent = tokio::task::spawn_blocking(move || e.send_until(SinkMsg::Shutdown, until)).await;
    drop(emitter);
    if matches!(sent, Ok(Ok(()))) {
        let joined = tokio::task::spawn_blocking(move || sink_thread.join());
        if tokio::time::timeout(left(), joined).await.is_err() {
            tracing::error!("events sink did not stop in time");
        }
    } else {
        tracing::error!("events output is blocked; exiting without draining the queue");
    }
    let _ = tokio::time::timeout(Duration::from_millis(200), http).await;
    Ok(())
}
