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
use super::queue::{Batch, Held, Receiver, RecvError, SinkMsg};
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

/// The events output: standard output, or a file appended to.
enum Out {
    Stdout(io::Stdout),
    File(std::fs::File),
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Out::Stdout(o) => o.write(buf),
            Out::File(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Out::Stdout(o) => o.flush(),
            Out::File(f) => f.flush(),
        }
    }
}

impl Out {
    /// Takes back the last `n` bytes written (a file only: a pipe cannot).
    fn unwrite(&mut self, n: usize) -> io::Result<()> {
        match self {
            Out::File(f) => {
                let len = f.metadata()?.len();
                f.set_len(len.saturating_sub(n as u64))
            }
            Out::Stdout(_) => Err(io::Error::other("standard output cannot take bytes back")),
        }
    }
}

fn open(dest: &Destination) -> io::Result<Out> {
    Ok(match dest {
        Destination::Stdout => Out::Stdout(io::stdout()),
        Destination::File(p) => {
            // Its directory is made if missing, as the state directory is.
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .read(true)
                .open(p)?;
            let cut = end_at_an_event(&f)?;
            if cut > 0 {
                tracing::warn!(
                    "{} ended inside an event (a write cut short by a crash or a full disk): its last {cut} bytes are cut off; that event is written again, whole",
                    p.display()
                );
            }
            Out::File(f)
        }
    })
}

/// Cuts an events file that ends inside an event (a write cut short) back
/// to the end of its last whole event; returns the bytes cut. The event is
/// not lost: nothing acknowledges or checkpoints it before it is written
/// whole, so it comes again (from the checkpoint, a collector's retry, a
/// redelivery).
fn end_at_an_event(f: &std::fs::File) -> io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let len = f.metadata()?.len();
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let part = &mut chunk[..(end - start) as usize];
        f.read_exact_at(part, start)?;
        if end == len && part.last() == Some(&b'\n') {
            return Ok(0);
        }
        if let Some(i) = part.iter().rposition(|&b| b == b'\n') {
            let keep = start + i as u64 + 1;
            f.set_len(keep)?;
            return Ok(len - keep);
        }
        end = start;
    }
    if len > 0 {
        f.set_len(0)?;
    }
    Ok(len)
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
    w: Out,
    buf: Vec<u8>,
    /// Events in `buf` (counted as written once they all are).
    events: u64,
    /// The start of the first event in `buf` that a short write put out
    /// already: the output ends inside that event until the rest goes out.
    head: Vec<u8>,
}

impl Output {
    fn new(w: Out) -> Self {
        Self {
            w,
            buf: Vec::with_capacity(BUFFER + 4096),
            events: 0,
            head: Vec::new(),
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
        let out = &self.buf[..done];
        match memchr::memrchr(b'\n', out) {
            Some(i) => {
                self.head.clear();
                self.head.extend_from_slice(&out[i + 1..]);
            }
            None => self.head.extend_from_slice(out),
        }
        self.buf.drain(..done);
        r?;
        Ok(std::mem::take(&mut self.events))
    }

    /// Moves to the output `w`. An event the old output holds only the
    /// start of is taken back from it and written whole to the new one;
    /// where the old output cannot take bytes back (a pipe), `w` is handed
    /// back and the move waits until that event is finished.
    fn replace(&mut self, w: Out) -> Result<(), (Out, io::Error)> {
        if !self.head.is_empty() {
            if let Err(e) = self.w.unwrite(self.head.len()) {
                return Err((w, e));
            }
            self.buf.splice(0..0, self.head.drain(..));
        }
        self.w = w;
        Ok(())
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
    /// Dropped once the events before them are written.
    held: Vec<Held>,
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
            held: Vec::new(),
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
                Ok(SinkMsg::Hold(h)) => {
                    self.held.push(h);
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
                self.held.clear();
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
        if !self.out.head.is_empty() && matches!(self.out.w, Out::Stdout(_)) {
            // A pipe cannot take the event's start back: reopen once the
            // event is finished.
            self.reopen.store(true, Ordering::Relaxed);
            return;
        }
        match open(&self.dest) {
            Ok(w) => {
                // What the old output takes goes there; an event it holds
                // only the start of goes whole to the new one.
                let _ = self.out.flush();
                match self.out.replace(w) {
                    Ok(()) => tracing::info!("events output reopened"),
                    Err((_, e)) => {
                        tracing::warn!(
                            "events output: the old output ends inside an event and cannot take it back ({e}); reopening once that event is written"
                        );
                        self.reopen.store(true, Ordering::Relaxed);
                    }
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A file holding `text`, opened as the sink opens its output.
    fn file_with(dir: &std::path::Path, name: &str, text: &[u8]) -> std::fs::File {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        OpenOptions::new().append(true).read(true).open(p).unwrap()
    }

    #[test]
    fn a_file_cut_inside_an_event_is_cut_back_to_its_last_whole_event() {
        let dir = tempfile::tempdir().unwrap();
        for (text, cut) in [
            (&b"{\"a\":1}\n{\"b\":2}\n"[..], 0),
            (b"{\"a\":1}\n{\"b\":", 5),
            (b"{\"a", 3),
            (b"", 0),
        ] {
            let f = file_with(dir.path(), "e", text);
            assert_eq!(end_at_an_event(&f).unwrap(), cut);
            let left = std::fs::read(dir.path().join("e")).unwrap();
            assert_eq!(left, &text[..text.len() - cut as usize]);
        }
        // Longer than one chunk back to the last newline.
        let mut long = b"{\"a\":1}\n".to_vec();
        long.extend(std::iter::repeat_n(b'x', 200_000));
        let f = file_with(dir.path(), "e", &long);
        assert_eq!(end_at_an_event(&f).unwrap(), 200_000);
    }

    #[test]
    fn an_event_begun_on_the_old_output_goes_whole_to_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let old = file_with(dir.path(), "old", b"");
        let mut out = Output::new(Out::File(old));
        out.buf.extend_from_slice(b"{\"n\":1}\n{\"n\":2}\n");
        out.events = 2;
        // A short write: the old file takes the first event and part of
        // the second.
        let taken = 11;
        out.w.write_all(&out.buf[..taken]).unwrap();
        out.head.extend_from_slice(&out.buf[8..taken]);
        out.buf.drain(..taken);
        let new = file_with(dir.path(), "new", b"");
        assert!(out.replace(Out::File(new)).is_ok());
        assert_eq!(out.flush().unwrap(), 2);
        assert_eq!(
            std::fs::read(dir.path().join("old")).unwrap(),
            b"{\"n\":1}\n"
        );
        assert_eq!(
            std::fs::read(dir.path().join("new")).unwrap(),
            b"{\"n\":2}\n"
        );
        // A pipe cannot take bytes back: the move waits.
        let again = file_with(dir.path(), "again", b"");
        let mut piped = Output::new(Out::Stdout(io::stdout()));
        piped.head.extend_from_slice(b"{\"n\":");
        assert!(piped.replace(Out::File(again)).is_err());
    }
}
