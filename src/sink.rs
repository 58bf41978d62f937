//! The events sink: one thread that writes NDJSON events (stdout or an
//! appended file, reopened on request for logrotate) in queue order and owns
//! the checkpoints, so a checkpoint never runs ahead of the events written.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::config::Overflow;
use crate::event::Event;
use crate::metrics::Metrics;
use crate::source::checkpoint::{Checkpointer, FileCheckpoint};
use crate::source::fingerprint::FileId;

/// What travels from the readers to the sink, in order.
#[derive(Debug)]
pub enum SinkMsg {
    /// One serialized event (without its newline).
    Event(Vec<u8>),
    /// A file's position: everything before it has been queued.
    Commit(FileCheckpoint),
    /// A file that is closed for good (drained after rotation).
    Forget(FileId),
    /// Flush, write checkpoints and stop.
    Shutdown,
}

/// The sending side used by readers: counts, serializes and queues events.
#[derive(Debug, Clone)]
pub struct Emitter {
    tx: SyncSender<SinkMsg>,
    metrics: Arc<Metrics>,
    overflow: Overflow,
    depth: Arc<AtomicUsize>,
    cancel: CancellationToken,
    /// When a reader first saw the cancellation while the queue was full.
    gave_up: Arc<std::sync::OnceLock<Instant>>,
}

/// How long a reader keeps waiting for room in the queue after shutdown
/// began. A healthy sink drains far faster; a blocked one (an events pipe
/// nobody reads) must not keep the process from exiting.
const GIVE_UP_AFTER_CANCEL: Duration = Duration::from_millis(1500);

/// The sink has stopped; nothing more can be queued.
#[derive(Debug, thiserror::Error)]
#[error("the events sink has stopped")]
pub struct SinkClosed;

impl Emitter {
    /// Counts the event in the metrics and queues it.
    pub fn event(&self, ev: &Event<'_>) -> Result<(), SinkClosed> {
        self.metrics.error_event(ev);
        let bytes = serde_json::to_vec(ev).map_err(|_| SinkClosed)?;
        match self.overflow {
            Overflow::Block => self.send_blocking(SinkMsg::Event(bytes)),
            Overflow::Drop => match self.tx.try_send(SinkMsg::Event(bytes)) {
                Ok(()) => {
                    self.depth.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
                Err(TrySendError::Full(_)) => {
                    self.metrics.event_dropped();
                    Ok(())
                }
                Err(TrySendError::Disconnected(_)) => Err(SinkClosed),
            },
        }
    }

    /// Queues a message if there is room, retrying until `deadline`.
    pub fn send_until(&self, m: SinkMsg, deadline: Instant) -> Result<(), SinkClosed> {
        self.retry_send(m, || Instant::now() >= deadline)
    }

    /// Queues a message, waiting for room (back-pressure); gives up
    /// [`GIVE_UP_AFTER_CANCEL`] after shutdown began.
    pub fn send(&self, m: SinkMsg) -> Result<(), SinkClosed> {
        self.send_blocking(m)
    }

    fn send_blocking(&self, m: SinkMsg) -> Result<(), SinkClosed> {
        self.retry_send(m, || {
            self.cancel.is_cancelled()
                && self.gave_up.get_or_init(Instant::now).elapsed() >= GIVE_UP_AFTER_CANCEL
        })
    }

    /// Tries to queue `m` until it fits or `give_up()` says to stop.
    fn retry_send(&self, mut m: SinkMsg, give_up: impl Fn() -> bool) -> Result<(), SinkClosed> {
        loop {
            match self.tx.try_send(m) {
                Ok(()) => {
                    self.depth.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err(TrySendError::Full(back)) if !give_up() => {
                    m = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => return Err(SinkClosed),
            }
        }
    }
}

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
        Destination::File(p) => Box::new(OpenOptions::new().create(true).append(true).open(p)?),
    })
}

/// The sink thread's state.
pub struct Sink {
    rx: Receiver<SinkMsg>,
    dest: Destination,
    out: BufWriter<Box<dyn Write + Send>>,
    metrics: Arc<Metrics>,
    depth: Arc<AtomicUsize>,
    checkpointer: Option<Checkpointer>,
    committed: BTreeMap<FileId, FileCheckpoint>,
    interval: Duration,
    reopen: Arc<AtomicBool>,
    dirty: bool,
    stored_once: bool,
}

/// Builds the queue: the readers' [`Emitter`] and the [`Sink`] to run on its own thread.
#[allow(clippy::too_many_arguments)]
pub fn channel(
    dest: Destination,
    capacity: usize,
    overflow: Overflow,
    metrics: Arc<Metrics>,
    checkpointer: Option<Checkpointer>,
    initial: BTreeMap<FileId, FileCheckpoint>,
    interval: Duration,
    reopen: Arc<AtomicBool>,
    cancel: CancellationToken,
) -> io::Result<(Emitter, Sink)> {
    let (tx, rx) = std::sync::mpsc::sync_channel(capacity);
    let depth = Arc::new(AtomicUsize::new(0));
    let out = BufWriter::with_capacity(64 * 1024, open(&dest)?);
    Ok((
        Emitter {
            tx,
            metrics: Arc::clone(&metrics),
            overflow,
            depth: Arc::clone(&depth),
            cancel,
            gave_up: Arc::new(std::sync::OnceLock::new()),
        },
        Sink {
            rx,
            dest,
            out,
            metrics,
            depth,
            checkpointer,
            committed: initial,
            interval,
            reopen,
            dirty: false,
            stored_once: false,
        },
    ))
}

impl Sink {
    /// Runs until [`SinkMsg::Shutdown`] or until every sender is gone.
    pub fn run(mut self) {
        let mut next_checkpoint = Instant::now() + self.interval;
        loop {
            let wait = next_checkpoint
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(200));
            let msg = self.rx.recv_timeout(wait);
            // A reopen request (SIGHUP) applies before the next event is written.
            if self.reopen.swap(false, Ordering::Relaxed) {
                self.reopen_output();
            }
            if msg.is_ok() {
                let d = self.depth.fetch_sub(1, Ordering::Relaxed);
                self.metrics.queue_depth(d.saturating_sub(1));
            }
            match msg {
                Ok(SinkMsg::Event(bytes)) => self.write(&bytes),
                Ok(SinkMsg::Commit(c)) => {
                    self.committed.insert(c.id, c);
                    self.dirty = true;
                    if !self.stored_once {
                        // The first positions are written at once: a crash before the
                        // first interval must not make the next start a "first start".
                        self.checkpoint();
                    }
                }
                Ok(SinkMsg::Forget(id)) => {
                    self.dirty |= self.committed.remove(&id).is_some();
                }
                Ok(SinkMsg::Shutdown) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.out.flush();
                }
            }
            if Instant::now() >= next_checkpoint {
                self.checkpoint();
                next_checkpoint = Instant::now() + self.interval;
            }
        }
        self.checkpoint();
    }

    fn write(&mut self, bytes: &[u8]) {
        let r = self
            .out
            .write_all(bytes)
            .and_then(|()| self.out.write_all(b"\n"));
        match r {
            Ok(()) => self.metrics.event_written(),
            Err(e) => tracing::error!("writing an event failed: {e}"),
        }
    }

    fn reopen_output(&mut self) {
        let _ = self.out.flush();
        match open(&self.dest) {
            Ok(w) => {
                self.out = BufWriter::with_capacity(64 * 1024, w);
                tracing::info!("events output reopened");
            }
            Err(e) => {
                tracing::error!("reopening the events output failed, keeping the old one: {e}")
            }
        }
    }

    /// Flushes the events, then writes the checkpoints of what was flushed.
    fn checkpoint(&mut self) {
        if let Err(e) = self.out.flush() {
            tracing::error!("flushing events failed: {e}; checkpoints not written");
            self.metrics.checkpoint(false);
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
            }
            Err(e) => {
                tracing::error!("writing checkpoints failed: {e}");
                self.metrics.checkpoint(false);
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
