//! The events sink: one thread that writes NDJSON events (stdout or an
//! appended file, reopened on request for logrotate) in queue order and owns
//! the checkpoints, so a checkpoint never runs ahead of the events written.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::metrics::Metrics;
use super::queue::{Receiver, RecvError, SinkMsg};
use crate::state::checkpoint::{Checkpointer, FileCheckpoint};
use crate::state::fingerprint::FileId;

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
    out: BufWriter<Box<dyn Write + Send>>,
    metrics: Arc<Metrics>,
    checkpointer: Option<Checkpointer>,
    committed: BTreeMap<FileId, FileCheckpoint>,
    interval: Duration,
    reopen: Arc<AtomicBool>,
    dirty: bool,
    stored_once: bool,
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
        reopen: Arc<AtomicBool>,
    ) -> Result<Self, OpenError> {
        let out = open(&opts.dest).map_err(|source| OpenError {
            dest: match &opts.dest {
                Destination::Stdout => "stdout".into(),
                Destination::File(p) => p.display().to_string(),
            },
            source,
        })?;
        Ok(Self {
            rx,
            dest: opts.dest,
            out: BufWriter::with_capacity(64 * 1024, out),
            metrics,
            checkpointer: opts.checkpointer,
            committed: opts.initial,
            interval: opts.interval,
            reopen,
            dirty: false,
            stored_once: false,
        })
    }

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
                self.metrics.queue_depth(self.rx.len());
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
                Ok(SinkMsg::Shutdown) | Err(RecvError::Disconnected) => break,
                Err(RecvError::Timeout) => {
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
