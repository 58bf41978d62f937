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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use super::failures::Failures;
use super::feed::Feed;
use super::tailer::Watched;
use super::watcher::Watch;
use super::{Source, SourceContext, discover};
use crate::daemon::config::{Config, StartAt};
use crate::daemon::queue::SinkMsg;
use crate::lines::ReadError;
use crate::pipeline::Pipeline;
use crate::state::checkpoint::FileCheckpoint;
use crate::state::fingerprint::FileId;

/// With every directory watched, listings run this many times less often.
const COVERED_RESCAN_FACTOR: u32 = 12;

/// The file source as the daemon starts it.
#[derive(Debug)]
pub struct FileSource {
    /// Checkpoints loaded at start; `None` on the first start.
    pub resume: Option<BTreeMap<FileId, FileCheckpoint>>,
}

impl Source for FileSource {
    fn name(&self) -> String {
        "files".into()
    }

    fn run(self: Box<Self>, ctx: SourceContext) {
        let cancel = ctx.cancel.clone();
        FileServer::new(ctx, self.resume).run(&cancel);
    }
}

/// A followed file closed to stay under `max_open_files`.
#[derive(Debug)]
struct Parked {
    at: FileCheckpoint,
    size: u64,
    mtime: Option<SystemTime>,
    /// Its real directory, to know whether notifications cover it.
    dir: Option<PathBuf>,
    /// Notifications cover it (else it is looked at on every poll).
    covered: bool,
}

/// A file found by a listing, not open yet.
#[derive(Debug)]
struct Waiting {
    path: PathBuf,
    source: String,
    /// Where to start when it has no checkpoint: decided when it was found.
    start: StartAt,
}

/// Follows every file of every file source.
pub struct FileServer {
    ctx: SourceContext,
    config: Arc<Config>,
    open: HashMap<FileId, Watched>,
    /// Real directory of each open file (notifications cover it or not).
    dirs: HashMap<FileId, Option<PathBuf>>,
    parked: HashMap<FileId, Parked>,
    waiting: BTreeMap<FileId, Waiting>,
    /// Current path → file, for notifications.
    paths: HashMap<PathBuf, FileId>,
    /// Open files to read in the next pass.
    dirty: HashSet<FileId>,
    /// Open files no notification covers: read on every poll.
    uncovered: HashSet<FileId>,
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

/// How often a source that still matches no file is warned about again.
const EMPTY_WARN_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

impl std::fmt::Debug for FileServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileServer")
            .field("open", &self.open.len())
            .field("parked", &self.parked.len())
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
    pub fn new(mut ctx: SourceContext, resume: Option<BTreeMap<FileId, FileCheckpoint>>) -> Self {
        let config = Arc::clone(&ctx.current.borrow_and_update().config);
        Self {
            watch: Watch::new(config.notify),
            max_open: config.open_files_cap(),
            ctx,
            config,
            open: HashMap::new(),
            dirs: HashMap::new(),
            parked: HashMap::new(),
            waiting: BTreeMap::new(),
            paths: HashMap::new(),
            dirty: HashSet::new(),
            uncovered: HashSet::new(),
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
            let until = next_poll.min(next_rescan);
            let notes = self.watch.wait(until.saturating_duration_since(now));
            if notes.structural {
                next_rescan = Instant::now();
            }
            if notes.lost {
                self.dirty.extend(self.open.keys().copied());
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
    fn rescan_every(&self) -> std::time::Duration {
        if self.all_covered {
            self.config.rescan_interval * COVERED_RESCAN_FACTOR
        } else {
            self.config.rescan_interval
        }
    }

    /// A new configuration (SIGHUP): its globs are listed at once. The
    /// matcher needs nothing here: it is read per pass. True when it changed.
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
        // Rotated files and partial lines stay dirty until closed or flushed.
        self.dirty.extend(self.uncovered.iter().copied());
        self.check_parked(false);
    }

    /// Whether notifications cover the open file `id`.
    fn is_covered(&self, id: FileId) -> bool {
        self.dirs
            .get(&id)
            .and_then(Option::as_deref)
            .is_some_and(|d| self.watch.covers(d))
    }

    /// Recomputes which open files no notification covers (the watched
    /// directories may have changed).
    fn find_uncovered(&mut self) {
        self.uncovered = self
            .open
            .keys()
            .copied()
            .filter(|id| !self.is_covered(*id))
            .collect();
        for p in self.parked.values_mut() {
            p.covered = p.dir.as_deref().is_some_and(|d| self.watch.covers(d));
        }
    }

    /// A notification: the file at `path` changed.
    fn changed(&mut self, path: &Path) {
        let Some(&id) = self.paths.get(path) else {
            return;
        };
        if self.open.contains_key(&id) {
            self.dirty.insert(id);
        } else if let Some(p) = self.parked.remove(&id) {
            self.unpark(id, p);
        }
    }

    /// Parked files that grew or changed are opened again (`all`: every
    /// one; else only those no notification covers).
    fn check_parked(&mut self, all: bool) {
        let grown: Vec<FileId> = self
            .parked
            .iter()
            .filter(|(_, p)| all || !p.covered)
            .filter(|(id, p)| {
                std::fs::metadata(&p.at.path).is_ok_and(|m| {
                    FileId::of(&m) == **id && (m.len() != p.size || m.modified().ok() != p.mtime)
                })
            })
            .map(|(id, _)| *id)
            .collect();
        for id in grown {
            if let Some(p) = self.parked.remove(&id) {
                self.unpark(id, p);
            }
        }
    }

    /// Reopens a parked file at its checkpoint (it waits if it cannot be
    /// opened now).
    fn unpark(&mut self, id: FileId, p: Parked) {
        let source = p.at.source.clone();
        let path = p.at.path.clone();
        let room = self.open.len() < self.max_open || self.park_one();
        if room && self.open_file(id, &path, &source, Some(&p.at), StartAt::Beginning) {
            return;
        }
        // Not now (no descriptor left): keep it parked, try again later.
        self.parked.insert(id, p);
    }

    /// Lists every file source; opens nothing (see [`open_waiting`]), but
    /// queues new files, follows renames and marks files that are gone as
    /// rotated, only where the listing was complete.
    fn discover(&mut self, now: Instant) {
        let mut seen: HashMap<FileId, (PathBuf, String)> = HashMap::new();
        let mut incomplete: HashSet<String> = HashSet::new();
        let mut dirs: Vec<PathBuf> = Vec::new();
        let mut listed: HashSet<PathBuf> = HashSet::new();
        let mut complete = true;
        let config = Arc::clone(&self.config);
        for s in config.sources.iter().filter(|s| !s.stdin) {
            let listing = discover::files(s);
            if !listing.errors.is_empty() {
                incomplete.insert(s.name.clone());
            }
            complete &= listing.errors.is_empty() && !listing.missing_base;
            for (dir, e) in &listing.errors {
                if self.dir_failing.fail(dir, e, now) {
                    tracing::warn!(
                        "cannot list {}: {e}; keeping its files as they are",
                        dir.display()
                    );
                    self.ctx.metrics.read_error(&s.name);
                }
            }
            for d in &listing.dirs {
                if self.dir_failing.ok(d) {
                    tracing::info!("{} can be listed again", d.display());
                }
            }
            self.count_matches(s, listing.files.len(), now);
            dirs.extend(listing.dirs);
            for f in listing.files {
                listed.insert(f.path.clone());
                self.identify(f, &s.name, now, &mut seen);
            }
        }
        self.failing.retain(|p| listed.contains(p));
        dirs.sort();
        dirs.dedup();
        self.watch.update(&dirs, now);
        self.all_covered = complete && self.watch.covers_all(dirs.len());
        self.follow_renames(&seen, &incomplete, now);
        self.queue_new(seen);
        if self.first_pass {
            self.recover_rotated_while_down(now);
            self.first_pass = false;
            self.ctx.ready.set();
        }
        self.index_paths();
        self.find_uncovered();
    }

    /// The identity of a listed entry: from the listing alone when a known
    /// path still has its inode, else by `stat` (failures logged once).
    fn identify(
        &mut self,
        f: discover::Found,
        source: &str,
        now: Instant,
        seen: &mut HashMap<FileId, (PathBuf, String)>,
    ) {
        if let (Some(ino), Some(&id)) = (f.ino, self.paths.get(&f.path))
            && id.ino == ino
        {
            seen.entry(id).or_insert((f.path, source.to_string()));
            return;
        }
        if !self.failing.may_try(&f.path, now) {
            return;
        }
        match std::fs::metadata(&f.path) {
            Ok(m) if m.is_file() => {
                seen.entry(FileId::of(&m))
                    .or_insert((f.path, source.to_string()));
            }
            Ok(_) => {}
            Err(e) => {
                if self.failing.fail(&f.path, &e, now) {
                    tracing::warn!("cannot open {}: {e}", f.path.display());
                    self.ctx.metrics.read_error(source);
                }
            }
        }
    }

    /// Open and parked files take the path they were found at; a file not
    /// found where its source was listed completely was rotated away.
    fn follow_renames(
        &mut self,
        seen: &HashMap<FileId, (PathBuf, String)>,
        incomplete: &HashSet<String>,
        now: Instant,
    ) {
        let gone = |source: &str, path: &Path, failing: &Failures| {
            !incomplete.contains(source) && !failing.is_failing(path)
        };
        for (id, w) in self.open.iter_mut() {
            match seen.get(id) {
                Some((p, _)) => {
                    w.path.clone_from(p);
                    w.draining_since = None;
                }
                None if w.draining_since.is_none() && gone(&w.source, &w.path, &self.failing) => {
                    tracing::debug!(
                        "{} rotated away; draining for {:?}",
                        w.path.display(),
                        self.config.rotate_wait
                    );
                    w.draining_since = Some(now);
                    self.ctx.metrics.rotation(&w.source);
                    self.dirty.insert(*id);
                }
                None => {}
            }
        }
        let parked_gone: Vec<FileId> = self
            .parked
            .iter_mut()
            .filter_map(|(id, p)| match seen.get(id) {
                Some((path, _)) => {
                    p.at.path.clone_from(path);
                    None
                }
                None => gone(&p.at.source, &p.at.path, &self.failing).then_some(*id),
            })
            .collect();
        for id in parked_gone {
            if let Some(p) = self.parked.remove(&id) {
                self.drain_rotated(id, &p.at, now);
            }
        }
    }

    /// Files found for the first time wait to be opened.
    fn queue_new(&mut self, seen: HashMap<FileId, (PathBuf, String)>) {
        let first_start = self.first_pass && self.resume.is_none();
        self.waiting.retain(|id, _| seen.contains_key(id));
        for (id, (path, source)) in seen {
            if self.open.contains_key(&id) || self.parked.contains_key(&id) {
                continue;
            }
            let Some(src) = self.config.sources.iter().find(|s| s.name == source) else {
                continue;
            };
            let start = if first_start {
                src.start_at
            } else {
                src.new_files_start_at
            };
            let w = self.waiting.entry(id).or_insert(Waiting {
                path: PathBuf::new(),
                source,
                start,
            });
            w.path = path;
        }
    }

    /// Path → file for notifications. A rotated file's path is stale (a
    /// new file may have it now), so it is left out: rotated files are read
    /// on every wake-up until closed.
    fn index_paths(&mut self) {
        self.paths = self
            .open
            .iter()
            .filter(|(_, w)| w.draining_since.is_none())
            .map(|(id, w)| (w.path.clone(), *id))
            .chain(self.parked.iter().map(|(id, p)| (p.at.path.clone(), *id)))
            .collect();
    }

    /// At start: a checkpointed file that no glob matches any more was
    /// rotated while the daemon was down (renamed beside its old path). It
    /// is drained from its checkpoint like any rotated file, so the lines
    /// written to it before or after the rename are not lost.
    fn recover_rotated_while_down(&mut self, now: Instant) {
        let Some(resume) = self.resume.clone() else {
            return;
        };
        for (id, c) in resume {
            if !self.config.sources.iter().any(|s| s.name == c.source) {
                continue;
            }
            // Found by the listing, and still the same file (a new file
            // may have been given the old one's inode).
            let listed = self.waiting.get(&id).map(|w| w.path.clone());
            if listed.is_some_and(|p| same_file(&p, &c)) {
                continue;
            }
            if self.drain_rotated(id, &c, now) {
                tracing::info!(
                    "{} was rotated while stopped; draining it",
                    c.path.display()
                );
            }
        }
    }

    /// Finds a file by identity beside its old path and opens it, from its
    /// checkpoint, to drain it for `rotate_wait`; failing that, a compressed
    /// copy of it (read at once). False when neither is there.
    fn drain_rotated(&mut self, id: FileId, at: &FileCheckpoint, now: Instant) -> bool {
        let found = find_by_identity(&at.path, id).and_then(|path| {
            let limit = self.config.max_line_bytes;
            Watched::open(&at.source, path, limit, Some(at), StartAt::Beginning).ok()
        });
        match found {
            // Only a file that still fits its checkpoint is the rotated one.
            Some(mut w) if w.id == id && w.resumed() => {
                w.draining_since = Some(now);
                self.ctx.metrics.rotation(&at.source);
                self.dirs.insert(id, None);
                self.open.insert(id, w);
                self.dirty.insert(id);
                self.uncovered.insert(id);
                true
            }
            _ => {
                if !self.drain_compressed(at) {
                    tracing::debug!("{} is gone", at.path.display());
                }
                if !self.waiting.contains_key(&id) && !self.open.contains_key(&id) {
                    let _ = self.ctx.emitter.send(SinkMsg::Forget(id));
                }
                false
            }
        }
    }

    /// Opens waiting files, parking idle ones to stay under the cap. True
    /// when some file was opened.
    fn open_waiting(&mut self, now: Instant) -> bool {
        while self.open.len() > self.max_open && self.park_one() {}
        let ids: Vec<FileId> = self.waiting.keys().copied().collect();
        let mut opened = false;
        for id in ids {
            let Some(w) = self.waiting.get(&id) else {
                continue;
            };
            if !self.failing.may_try(&w.path, now) {
                continue;
            }
            if self.open.len() >= self.max_open && !self.park_one() {
                break;
            }
            let Some(w) = self.waiting.remove(&id) else {
                continue;
            };
            let resume = self.resume.as_ref().and_then(|r| r.get(&id)).cloned();
            if self.open_file(id, &w.path, &w.source, resume.as_ref(), w.start) {
                opened = true;
            } else if self.failing.is_failing(&w.path) {
                self.waiting.insert(id, w);
            }
        }
        if opened {
            self.index_paths();
        }
        opened
    }

    /// Opens one file (from `resume` if it is this file's checkpoint). True
    /// when it is open; on failure it is logged once per cause and retried
    /// with backoff; out of descriptors, the cap comes down to what fits.
    fn open_file(
        &mut self,
        id: FileId,
        path: &Path,
        source: &str,
        resume: Option<&FileCheckpoint>,
        start: StartAt,
    ) -> bool {
        let now = Instant::now();
        let limit = self.config.max_line_bytes;
        match Watched::open(source, path.to_path_buf(), limit, resume, start) {
            Ok(w) if w.id == id => {
                if self.failing.ok(path) {
                    tracing::info!("{} can be opened again", path.display());
                }
                tracing::debug!("following {} from offset {}", path.display(), w.offset());
                if w.binary && w.offset() == 0 {
                    tracing::warn!(
                        "{} looks binary (NUL bytes); followed as it is",
                        path.display()
                    );
                }
                self.dirs.insert(id, real_dir(path));
                self.open.insert(id, w);
                self.dirty.insert(id);
                if !self.is_covered(id) {
                    self.uncovered.insert(id);
                }
                true
            }
            Ok(_) => false, // replaced between stat and open: the next listing sees it
            Err(e) => {
                if is_emfile(&e) && self.open.len() <= self.max_open {
                    // Leave a quarter of what files hold to the rest of the
                    // daemon (HTTP connections, checkpoints, the events file).
                    self.max_open = (self.open.len() * 3 / 4).max(1);
                    tracing::warn!(
                        "out of file descriptors: following at most {} files open at once",
                        self.max_open
                    );
                }
                if self.failing.fail(path, &e, now) {
                    tracing::warn!("cannot open {}: {e}", path.display());
                    self.ctx.metrics.read_error(source);
                }
                false
            }
        }
    }

    /// Closes the least recently active open file that was read to its end
    /// (not rotated, not waiting to be read), keeping its checkpoint.
    fn park_one(&mut self) -> bool {
        let Some(id) = self
            .open
            .iter()
            .filter(|(id, w)| w.draining_since.is_none() && !self.dirty.contains(id))
            .min_by_key(|(_, w)| w.last_data)
            .map(|(id, _)| *id)
        else {
            return false;
        };
        let Some(mut w) = self.open.remove(&id) else {
            return false;
        };
        self.uncovered.remove(&id);
        if let Some(c) = w.checkpoint_if_moved() {
            let _ = self.ctx.emitter.send(SinkMsg::Commit(c));
        }
        tracing::debug!("parking {} (open files at the cap)", w.path.display());
        let covered = self.is_covered(id);
        self.parked.insert(
            id,
            Parked {
                at: w.position(),
                size: w.size,
                mtime: w.mtime(),
                dir: self.dirs.remove(&id).flatten(),
                covered,
            },
        );
        true
    }

    /// Reads every file marked dirty once (rotated ones first, so an old
    /// file is drained before its successor), with the matcher current at
    /// this pass. Returns true when some file has more to read.
    fn read_dirty(&mut self) -> bool {
        let mut ids: Vec<FileId> = self
            .dirty
            .iter()
            .copied()
            .filter(|id| self.open.contains_key(id))
            .collect();
        ids.sort_by_key(|id| {
            let w = &self.open[id];
            (w.draining_since.is_none(), w.path.clone())
        });
        self.dirty.clear();
        let now = Instant::now();
        let mut more = false;
        for id in ids {
            match self.read_one(id, now) {
                Some(true) => {
                    more = true;
                    self.dirty.insert(id);
                }
                Some(false) => {}
                None => return false, // the sink has stopped
            }
        }
        self.update_gauges();
        more
    }

    /// Reads one file; flushes its final partial line when idle or drained;
    /// queues its checkpoint; closes it when drained. `Some(more)`, or
    /// `None` when the sink has stopped.
    fn read_one(&mut self, id: FileId, now: Instant) -> Option<bool> {
        let w = self.open.get_mut(&id)?;
        let source = w.source.clone();
        let ctx = &mut self.ctx;
        let mut feed = Feed::new(&ctx.current, &mut ctx.emitter, &ctx.metrics, &source);
        let mut more = false;
        match w.read(&mut feed) {
            Ok(o) => {
                more = o.more;
                if o.truncated {
                    ctx.metrics.truncation(&w.source);
                }
            }
            Err(ReadError::Consumer(_closed)) => return None,
            Err(ReadError::Io(e)) => {
                tracing::warn!("reading {} failed: {e}", w.path.display());
                ctx.metrics.read_error(&w.source);
            }
        }
        let idle = now.duration_since(w.last_data) >= self.config.idle_flush;
        let done = w
            .draining_since
            .is_some_and(|t| now.duration_since(t) >= self.config.rotate_wait);
        if (idle || done) && w.pending() > 0 && !more && w.flush_partial(&mut feed).is_err() {
            return None;
        }
        if w.stats().lines >= 10 && crate::daemon::failpoint::hit("files") {
            panic!("failpoint: files");
        }
        if let Some(c) = w.checkpoint_if_moved() {
            let _ = self.ctx.emitter.send(SinkMsg::Commit(c));
        }
        if done && !more {
            if let Some(w) = self.open.remove(&id) {
                tracing::debug!("closed {} after rotation", w.path.display());
                self.dirs.remove(&id);
                self.uncovered.remove(&id);
                let _ = self.ctx.emitter.send(SinkMsg::Forget(id));
            }
        } else if w.draining_since.is_some() || w.pending() > 0 {
            // Rotated files are read until closed; a partial line until flushed.
            self.dirty.insert(id);
        }
        Some(more)
    }

    /// Sets `trtc_logwatch_source_files`; warns when a source matches no
    /// file (at once, then at most every [`EMPTY_WARN_EVERY`]) and says so
    /// when it matches some again.
    fn count_matches(&mut self, s: &crate::daemon::config::SourceConfig, n: usize, now: Instant) {
        self.ctx.metrics.source_files(&s.name, n);
        if n > 0 {
            if self.empty.remove(&s.name).is_some() {
                tracing::info!("source {:?} matches {n} file(s) now", s.name);
            }
            return;
        }
        let due = self
            .empty
            .get(&s.name)
            .is_none_or(|t| now.duration_since(*t) >= EMPTY_WARN_EVERY);
        if due {
            tracing::warn!(
                "source {:?} matches no file: include {:?}{}; looking again at every rescan",
                s.name,
                s.include,
                if s.exclude.is_empty() {
                    String::new()
                } else {
                    format!(", exclude {:?}", s.exclude)
                }
            );
            self.empty.insert(s.name.clone(), now);
        }
    }

    fn update_gauges(&self) {
        for s in self.config.sources.iter().filter(|s| !s.stdin) {
            let open = self
                .open
                .values()
                .filter(|w| w.source == s.name)
                .map(|w| w.lag());
            let parked = self
                .parked
                .values()
                .filter(|p| p.at.source == s.name)
                .map(|p| p.size.saturating_sub(p.at.offset));
            let (n, lag) = open.chain(parked).fold((0, 0), |(n, l), x| (n + 1, l + x));
            self.ctx.metrics.files(&s.name, n, lag);
        }
        self.ctx.metrics.files_open(self.open.len());
    }

    fn commit_all(&mut self) {
        for w in self.open.values_mut() {
            if let Some(c) = w.checkpoint_if_moved() {
                let _ = self.ctx.emitter.send(SinkMsg::Commit(c));
            }
        }
    }
}

impl FileServer {
    /// A file rotated and compressed while the daemon was stopped
    /// (`app.log` → `app.log.1.gz`): found beside its old path by the
    /// fingerprint of its decompressed first bytes, and read from its
    /// checkpoint to its end. True when one was found and read.
    fn drain_compressed(&mut self, at: &FileCheckpoint) -> bool {
        let Some((path, mut text)) = open_compressed(at) else {
            return false;
        };
        let mut read = || -> io::Result<()> {
            let rest = at.offset.saturating_sub(u64::from(at.fingerprint.len));
            io::copy(&mut (&mut text).take(rest), &mut io::sink())?;
            let mut pipeline = Pipeline::builder(&*at.source)
                .path(path.display().to_string())
                .max_line_bytes(self.config.max_line_bytes)
                .start(crate::scan::Position {
                    line_number: at.line_number,
                    offset: at.offset,
                })
                .build();
            match pipeline.read_to_end(&mut text, &mut self.ctx.feed(&at.source)) {
                Err(ReadError::Io(e)) => Err(e),
                _ => Ok(()),
            }
        };
        match read() {
            Ok(()) => {
                tracing::info!(
                    "{} was rotated and compressed while stopped; read {} from offset {}",
                    at.path.display(),
                    path.display(),
                    at.offset
                );
                self.ctx.metrics.rotation(&at.source);
                true
            }
            Err(e) => {
                tracing::warn!("reading {} failed: {e}", path.display());
                self.ctx.metrics.read_error(&at.source);
                false
            }
        }
    }
}

/// The decompressed text of a file `at` was taken of, read past its first
/// bytes, and its path: among the compressed files beside `at`'s old path
/// whose name starts with its name (`app.log.1.gz`, `app.log-20261127.gz`),
/// newest first, the first whose decompressed start fits the checkpoint's
/// fingerprint.
fn open_compressed(at: &FileCheckpoint) -> Option<(PathBuf, Box<dyn Read>)> {
    let name = at.path.file_name()?.to_str()?.to_string();
    let dir = at.path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    let mut found: Vec<(SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with(&name) && n.ends_with(".gz")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found.into_iter().take(5).find_map(|(_, p)| {
        let (_, mut text) = std::fs::File::open(&p)
            .and_then(crate::decode::decoded)
            .ok()?;
        let mut head = vec![0; at.fingerprint.len as usize];
        text.read_exact(&mut head).ok()?;
        at.fingerprint.matches_prefix(&head).then_some((p, text))
    })
}

/// True when `path` is still the file `at` was taken of (same identity,
/// same first bytes).
fn same_file(path: &Path, at: &FileCheckpoint) -> bool {
    let f = std::fs::File::open(path);
    f.is_ok_and(|f| {
        let id = f.metadata().map(|m| FileId::of(&m));
        let head = crate::state::fingerprint::read_prefix(&f, crate::state::fingerprint::FP_LEN);
        matches!((id, head), (Ok(id), Ok(head)) if at.fits(id, &head))
    })
}

/// The file with identity `id` in the directory of `old` (renamed beside
/// its old path by a rotation).
fn find_by_identity(old: &Path, id: FileId) -> Option<PathBuf> {
    let dir = old.parent()?;
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && FileId::of(&m) == id))
}
