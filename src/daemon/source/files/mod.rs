//! The file source: every followed file of every file source, on one
//! thread. It lists the globs' directories (at start, on notifications that
//! files came or went, and every `rescan_interval` as a backstop), reads a
//! file when a notification says it changed (or on every `poll_interval`
//! where no notification can come: `notify: false`, an unwatchable
//! directory, a symlink into an unwatched one, a rotated file), drains
//! rotated files for `rotate_wait`, and queues events and checkpoints for
//! the sink.
//!
//! What runs short never looks like a rotation: a directory that cannot be
//! listed (`EMFILE`, `EACCES`) keeps its files as they are; a file that
//! cannot be opened waits, counted and logged once per cause, and is tried
//! again with backoff. At most `max_open_files` files are open: past that,
//! the least recently active file that was read to its end is closed
//! ("parked") at its checkpoint and reopened by identity when it changes.
//!
//! Every file's state is one entry of the [`table`]. The loop is here;
//! its steps are split by job: [`listing`] (reconciling the table with
//! the globs), [`parking`] (opening and closing under the cap), [`read`]
//! (reading due files), [`rotation`] (files rotated while running or
//! stopped). Below them: [`tailer`] (one open file), [`discover`] (the
//! globs' listing), [`watcher`] (notifications), [`failures`] (backoff).

pub mod discover;
pub mod failures;
mod listing;
pub(crate) mod metrics;
mod parking;
mod read;
mod rotation;
pub mod storm;
mod table;
pub mod tailer;
pub mod watcher;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use prometheus_client::registry::Registry;

use super::{Checkpoints, Kind, Source, SourceContext, StartError, Started};
use crate::daemon::config::Config;
use crate::daemon::metrics::Metrics;
use crate::daemon::queue::SinkMsg;
use crate::daemon::source::feed::Feed;
use crate::state::checkpoint::FileCheckpoint;
use crate::state::fingerprint::FileId;
use failures::Failures;
use metrics::FileMetrics;
use table::FileTable;
use watcher::Watch;

/// With every directory watched, listings run this many times less often.
const COVERED_RESCAN_FACTOR: u32 = 12;

/// Longest wait for notifications before cancellation is looked at again.
const CANCEL_CHECK: Duration = Duration::from_millis(200);

/// How often a source that still matches no file is warned about again.
const EMPTY_WARN_EVERY: Duration = Duration::from_secs(300);

/// The kind: every file source of the config, followed by one thread.
pub(crate) fn kind(r: &mut Registry) -> Box<dyn Kind> {
    Box::new(FileKind {
        m: FileMetrics::register(r),
    })
}

struct FileKind {
    m: Arc<FileMetrics>,
}

impl Kind for FileKind {
    fn sources(&self, config: &Config, resume: &mut Checkpoints) -> Vec<Box<dyn Source>> {
        if config.file_sources().next().is_none() {
            return Vec::new();
        }
        vec![Box::new(FileSource {
            resume: resume.take(),
            m: Arc::clone(&self.m),
        })]
    }

    fn declare(&self, config: &Config, metrics: &Metrics) {
        for (name, _) in config.file_sources() {
            metrics.declare_source(name);
            self.m.declare(name);
        }
    }

    fn reloaded(&self, config: &Config, metrics: &Metrics) {
        self.declare(config, metrics);
    }
}

/// The file source as the daemon starts it.
#[derive(Debug)]
pub struct FileSource {
    /// Checkpoints loaded at start; `None` on the first start.
    resume: Checkpoints,
    m: Arc<FileMetrics>,
}

impl Source for FileSource {
    fn name(&self) -> String {
        "files".into()
    }

    fn start(self: Box<Self>, ctx: SourceContext) -> Result<Started, StartError> {
        Ok(Started::thread(move || {
            let cancel = ctx.cancel.clone();
            FileServer::new(ctx, self.resume, self.m).run(&cancel);
        }))
    }
}

/// Follows every file of every file source.
pub struct FileServer {
    ctx: SourceContext,
    m: Arc<FileMetrics>,
    config: Arc<Config>,
    table: FileTable,
    failing: Failures,
    dir_failing: Failures,
    /// Checkpoints loaded at start; `None` on the first start.
    resume: Option<BTreeMap<FileId, FileCheckpoint>>,
    first_pass: bool,
    watch: Watch,
    max_open: usize,
    /// The last listing was complete and notifications cover every
    /// directory it listed: the backstop listing can wait longer.
    all_covered: bool,
    /// Sources whose globs matched nothing, and when that was last said.
    empty: HashMap<String, Instant>,
}

impl std::fmt::Debug for FileServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileServer")
            .field("open", &self.table.open_count())
            .finish_non_exhaustive()
    }
}

fn real_dir(p: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(p)
        .ok()
        .and_then(|c| c.parent().map(Path::to_path_buf))
}

fn is_emfile(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

impl FileServer {
    /// A server for the file sources of the current configuration.
    /// `resume` is the loaded checkpoint map, `None` when there was none
    /// (first start).
    pub fn new(
        mut ctx: SourceContext,
        resume: Option<BTreeMap<FileId, FileCheckpoint>>,
        m: Arc<FileMetrics>,
    ) -> Self {
        let config = Arc::clone(&ctx.current.borrow_and_update().config);
        Self {
            m,
            watch: Watch::new(config.notify),
            max_open: config.open_files_cap(),
            ctx,
            config,
            table: FileTable::default(),
            failing: Failures::default(),
            dir_failing: Failures::default(),
            resume,
            first_pass: true,
            all_covered: false,
            empty: HashMap::new(),
        }
    }

    /// Runs until `cancel`; then queues final checkpoints.
    pub fn run(mut self, cancel: &CancellationToken) {
        let mut next_rescan = Instant::now();
        let mut next_poll = Instant::now();
        while !cancel.is_cancelled() {
            if self.apply_reload() {
                next_rescan = Instant::now();
            }
            let now = Instant::now();
            if now >= next_rescan {
                self.discover(now);
                next_rescan = now + self.rescan_every();
            }
            if now >= next_poll {
                self.poll();
                next_poll = now + self.config.poll_interval;
            }
            let opened = self.open_waiting(now);
            let more = self.read_dirty();
            if more || opened {
                continue;
            }
            // Woken at least every CANCEL_CHECK, so SIGTERM is seen at once
            // however long `poll_interval` is (60 s: shutdown missed its
            // deadline and the queue was left undrained).
            let until = next_poll.min(next_rescan).min(now + CANCEL_CHECK);
            let notes = self.watch.wait(until.saturating_duration_since(now));
            if notes.structural {
                next_rescan = Instant::now();
            }
            if notes.lost {
                for r in self.table.readings_mut() {
                    r.dirty = true;
                }
                self.check_parked(true);
            }
            for p in notes.changed {
                self.changed(&p);
            }
        }
        // Stop reading: what was read is queued; record where each file stands.
        self.commit_all();
    }

    /// How long until the next listing: `rescan_interval`, or with every
    /// directory watched (a listing then only backs notifications up)
    /// [`COVERED_RESCAN_FACTOR`] times that.
    fn rescan_every(&self) -> Duration {
        if self.all_covered {
            self.config.rescan_interval * COVERED_RESCAN_FACTOR
        } else {
            self.config.rescan_interval
        }
    }

    /// A new configuration (SIGHUP): its globs are listed at once. The
    /// matcher needs nothing here: it is read per block. True when it changed.
    fn apply_reload(&mut self) -> bool {
        if !self.ctx.current.has_changed().unwrap_or(false) {
            return false;
        }
        self.config = Arc::clone(&self.ctx.current.borrow_and_update().config);
        self.watch.set_enabled(self.config.notify);
        self.max_open = self.config.open_files_cap();
        tracing::info!("configuration reloaded");
        true
    }

    /// On every poll: files no notification covers are read (and parked
    /// ones looked at); so are rotated files, which may have left the
    /// watched directories.
    fn poll(&mut self) {
        for r in self.table.readings_mut().filter(|r| !r.covered) {
            r.dirty = true;
        }
        self.check_parked(false);
    }

    /// Whether notifications cover files in `dir`.
    fn covers(&self, dir: Option<&Path>) -> bool {
        dir.is_some_and(|d| self.watch.covers(d))
    }

    /// A notification: the file at `path` changed.
    fn changed(&mut self, path: &Path) {
        let Some(id) = self.table.by_path(path) else {
            return;
        };
        match self.table.reading_mut(id) {
            Some((r, _)) => r.dirty = true,
            None => self.unpark(id),
        }
    }

    fn update_gauges(&self) {
        for (name, _) in self.config.file_sources() {
            let open = self
                .table
                .readings()
                .filter(|(_, r, _)| r.w.source == name)
                .map(|(_, r, _)| r.w.lag());
            let parked = self
                .table
                .parked()
                .filter(|(_, p)| p.at.source == name)
                .map(|(_, p)| p.size.saturating_sub(p.at.offset));
            let (n, lag) = open.chain(parked).fold((0, 0), |(n, l), x| (n + 1, l + x));
            self.m.files(name, n, lag);
            self.ctx.board.lags.set(name, lag);
        }
        self.m.open(self.table.open_count());
    }

    fn commit_all(&mut self) {
        let ctx = &mut self.ctx;
        for r in self.table.readings_mut() {
            // A record kept back for its next lines is matched now: its
            // lines are whole, and the daemon stops reading.
            if r.w.is_holding() {
                let source = r.w.source.clone();
                let mut feed = Feed::new(&ctx.current, &mut ctx.emitter, &ctx.metrics, &source);
                if r.w.release(&mut feed).is_err() {
                    return;
                }
            }
            if let Some(c) = r.w.checkpoint_if_moved() {
                let _ = ctx.emitter.send(SinkMsg::Commit(c));
            }
        }
    }
}
