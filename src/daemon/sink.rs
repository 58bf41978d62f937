//! The events sink: one thread that writes NDJSON events (stdout or an
//! appended file, reopened on request for logrotate) in queue order and owns
//! the checkpoints, so a checkpoint never runs ahead of the events written.
//!
//! A write that fails (disk full, `EFBIG`, a closed pipe) loses nothing:
//! the bytes not written stay in the sink's buffer, the sink stops taking
//! messages from the queue (back-pressure on the sources, or counted drops
//! with `overflow: drop`), `/readyz` says why, and the write is retried
//! with backoff until it goes through. Checkpoints are stored only after
//! every event before them is written, so a restart in the meantime reads
//! the unwritten lines again.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::health::Health;
use super::metrics::Metrics;
use super::queue::{Batch, Receiver, RecvError, SinkMsg};
use crate::state::checkpoint::{Checkpointer, FileCheckpoint};
use crate::state::fingerprint::FileId;

/// Bytes buffered before a write to the output.
const BUFFER: usize = 64 * 1024;

/// First and longest wait between retries of a failed write.
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(1);

/// Where events go.
#[derive(Debug, Clone)]
pub enum Destination {
    /// Standard output.
    Stdout,
    /// A file, appended to.
    File(PathBuf),
}

fn open(dest: &Destination) -> io::Result<Box<dyn Write + Send>> {
    Ok(match dest {
        Destination::Stdout => Box::new(io::stdout()),
        Destination::File(p) => {
            // Its directory is made if missing, as the state directory is.
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            Box::new(OpenOptions::new().create(true).append(true).open(p)?)
        }
    })
}

impl Destination {
    fn name(&self) -> String {
        match self {
            Destination::Stdout => "stdout".into(),
            Destination::File(p) => p.display().to_string(),
        }
    }
}

/// The events output with its own buffer: what a failed write did not take
/// stays buffered, in order, for the next try.
struct Output {
    w: Box<dyn Write + Send>,
    buf: Vec<u8>,
    /// Events in `buf` (counted as written once they all are).
    events: u64,
}

impl Output {
    fn new(w: Box<dyn Write + Send>) -> Self {
        Self {
            w,
            buf: Vec::with_capacity(BUFFER + 4096),
            events: 0,
        }
    }

    /// Takes a batch: written straight from its own buffer when nothing
    /// else is waiting and it is large, else appended to the buffer.
    fn push(&mut self, batch: Batch) {
        if self.buf.is_empty() && batch.bytes.len() >= BUFFER {
            self.buf = batch.bytes;
        } else {
            self.buf.extend_from_slice(&batch.bytes);
        }
        self.events += u64::from(batch.events);
    }

    /// Writes everything buffered; on failure keeps what was not written.
    /// Returns the number of events that went out.
    fn flush(&mut self) -> io::Result<u64> {
        let mut done = 0;
        let r = loop {
            if done == self.buf.len() {
                break self.w.flush();
            }
            match self.w.write(&self.buf[done..]) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.buf.drain(..done);
        r?;
        Ok(std::mem::take(&mut self.events))
    }
}

/// How the sink is set up.
#[derive(Debug)]
pub struct SinkOptions {
    /// Where events go.
    pub dest: Destination,
    /// Where checkpoints go; `None` keeps none.
    pub checkpointer: Option<Checkpointer>,
    /// The checkpoints loaded at start (kept until their files are forgotten).
    pub initial: BTreeMap<FileId, FileCheckpoint>,
    /// How often checkpoints are written.
    pub interval: Duration,
}

/// The sink thread's state.
pub struct Sink {
    rx: Receiver,
    dest: Destination,
    out: Output,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    checkpointer: Option<Checkpointer>,
    committed: BTreeMap<FileId, FileCheckpoint>,
    interval: Duration,
    reopen: Arc<AtomicBool>,
    dirty: bool,
    stored_once: bool,
    /// Set while the output refuses writes: the wait before the next try.
    retry: Option<Duration>,
    /// The reader of the events pipe is gone (EPIPE): no retry can succeed.
    broken_pipe: bool,
    /// Acknowledgements waiting for the events before them to be written.
    acks: Vec<tokio::sync::oneshot::Sender<()>>,
}

/// The events output could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the events output {dest}: {source}")]
pub struct OpenError {
    dest: String,
    source: io::Error,
}

impl Sink {
    /// A sink reading `rx`; `reopen` asks it to reopen the events file
    /// (SIGHUP) before the next event.
    pub fn new(
        rx: Receiver,
        opts: SinkOptions,
        metrics: Arc<Metrics>,
        health: Arc<Health>,
        reopen: Arc<AtomicBool>,
    ) -> Result<Self, OpenError> {
        let out = open(&opts.dest).map_err(|source| OpenError {
            dest: opts.dest.name(),
            source,
        })?;
        Ok(Self {
            rx,
            dest: opts.dest,
            out: Output::new(out),
            metrics,
            health,
            checkpointer: opts.checkpointer,
            committed: opts.initial,
            interval: opts.interval,
            reopen,
            dirty: false,
            stored_once: false,
            retry: None,
            broken_pipe: false,
            acks: Vec::new(),
        })
    }

    /// Runs until [`SinkMsg::Shutdown`] or until every sender is gone.
    pub fn run(mut self) {
        let mut next_checkpoint = Instant::now() + self.interval;
        loop {
            if self.broken_pipe {
                // Whoever read the events is gone for good; a supervisor
                // restarts the daemon with a new reader, and checkpoints
                // (never past an unwritten event) make it read again.
                tracing::error!(
                    "the reader of the events output {} is gone (broken pipe); stopping",
                    self.dest.name()
                );
                return;
            }
            if let Some(wait) = self.retry {
                // The output refused the last write: take nothing more from
                // the queue until it takes what is buffered.
                std::thread::sleep(wait);
                if self.reopen.swap(false, Ordering::Relaxed) {
                    self.reopen_output();
                }
                self.flush();
                continue;
            }
            let wait = next_checkpoint
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(200));
            let msg = self.rx.recv_timeout(wait);
            // A reopen request (SIGHUP) applies before the next event is written.
            if self.reopen.swap(false, Ordering::Relaxed) {
                self.reopen_output();
            }
            if msg.is_ok() {
                self.metrics.queue_depth(self.rx.len());
            }
            match msg {
                Ok(SinkMsg::Events(batch)) => {
                    self.out.push(batch);
                    if self.out.events >= 10 && super::failpoint::hit("sink") {
                        panic!("failpoint: sink");
                    }
                    if self.out.buf.len() >= BUFFER {
                        self.flush();
                    }
                }
                Ok(SinkMsg::Commit(c)) => {
                    self.committed.insert(c.id, c);
                    self.dirty = true;
                    if !self.stored_once {
                        // The first positions are written at once: a crash before the
                        // first interval must not make the next start a "first start".
                        self.checkpoint();
                    }
                }
                Ok(SinkMsg::Ack(ack)) => {
                    // Written first, then acknowledged.
                    self.acks.push(ack);
                    self.flush();
                }
                Ok(SinkMsg::Forget(id)) => {
                    self.dirty |= self.committed.remove(&id).is_some();
                }
                Ok(SinkMsg::Shutdown) | Err(RecvError::Disconnected) => break,
                Err(RecvError::Timeout) => {
                    self.flush();
                }
            }
            if Instant::now() >= next_checkpoint {
                self.checkpoint();
                next_checkpoint = Instant::now() + self.interval;
            }
        }
        self.checkpoint();
    }

    /// Writes what is buffered; on failure, schedules a retry with backoff
    /// and says why on `/readyz`. True when everything is written.
    fn flush(&mut self) -> bool {
        match self.out.flush() {
            Ok(n) => {
                self.metrics.events_written(n);
                for ack in self.acks.drain(..) {
                    let _ = ack.send(());
                }
                if self.retry.take().is_some() {
                    self.health.clear_problem("events output");
                    self.metrics.output_blocked(false);
                    tracing::info!("events output writable again");
                }
                true
            }
            Err(e) => {
                self.metrics.output_error();
                self.broken_pipe |= e.kind() == io::ErrorKind::BrokenPipe;
                let next = match self.retry {
                    None => {
                        tracing::error!(
                            "writing events to {} failed: {e}; keeping them and retrying",
                            self.dest.name()
                        );
                        self.metrics.output_blocked(true);
                        RETRY_FIRST
                    }
                    Some(w) => (w * 2).min(RETRY_MAX),
                };
                self.health
                    .set_problem("events output", format!("{}: {e}", self.dest.name()));
                self.retry = Some(next);
                false
            }
        }
    }

    fn reopen_output(&mut self) {
        match open(&self.dest) {
            Ok(w) => {
                // What the old output did not take goes to the new one.
                let _ = self.out.flush();
                self.out.w = w;
                tracing::info!("events output reopened");
                if self.retry.is_some() {
                    self.flush();
                }
            }
            Err(e) => {
                tracing::error!("reopening the events output failed, keeping the old one: {e}")
            }
        }
    }

    /// Flushes the events, then writes the checkpoints of what was flushed.
    fn checkpoint(&mut self) {
        if !self.flush() {
            return;
        }
        let Some(c) = &self.checkpointer else { return };
        if !self.dirty {
            return;
        }
        match c.store(&self.committed) {
            Ok(()) => {
                self.dirty = false;
                self.stored_once = true;
                self.metrics.checkpoint(true);
                self.health.clear_problem("checkpoints");
            }
            Err(e) => {
                tracing::error!("writing checkpoints failed: {e}");
                self.metrics.checkpoint(false);
                self.health.set_problem("checkpoints", e.to_string());
            }
        }
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("dest", &self.dest)
            .finish_non_exhaustive()
    }
}
