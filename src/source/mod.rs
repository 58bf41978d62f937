//! Sources: files found by globs and followed through rotation, and stdin.
//!
//! [`FileServer`] owns every followed file on one thread: it discovers files
//! (notify events, plus a periodic rescan as a backstop and a poll of open
//! files where notifications are missing), reads them, drains rotated files
//! for `rotate_wait`, and queues events and checkpoints for the sink.

pub mod checkpoint;
pub mod discover;
pub mod fingerprint;
pub mod watcher;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use notify::{RecursiveMode, Watcher as _};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, StartAt};
use crate::lines::LineSplitter;
use crate::matcher::Matcher;
use crate::metrics::Metrics;
use crate::scan::{Position, SourceScanner};
use crate::sink::{Emitter, SinkMsg};
use checkpoint::FileCheckpoint;
use fingerprint::FileId;
use watcher::Watched;

/// A new configuration and matcher for a running [`FileServer`].
#[derive(Debug)]
pub struct Reload {
    /// The new configuration.
    pub config: Arc<Config>,
    /// The matcher built from its catalogs.
    pub matcher: Arc<Matcher>,
}

/// Shared slot through which a reload reaches the file server.
pub type ReloadSlot = Arc<Mutex<Option<Reload>>>;

/// Follows every file of every file source.
pub struct FileServer {
    config: Arc<Config>,
    matcher: Arc<Matcher>,
    emitter: Emitter,
    metrics: Arc<Metrics>,
    files: HashMap<FileId, Watched>,
    /// Paths that matched but could not be opened (counted once each).
    failing: HashSet<PathBuf>,
    /// Checkpoints loaded at start; `None` on the first start.
    resume: Option<BTreeMap<FileId, FileCheckpoint>>,
    first_pass: bool,
    ready: Arc<AtomicBool>,
    reload: ReloadSlot,
    notify_rx: Receiver<notify::Result<notify::Event>>,
    watcher: Option<notify::RecommendedWatcher>,
    notify_tx: std::sync::mpsc::Sender<notify::Result<notify::Event>>,
}

impl std::fmt::Debug for FileServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileServer")
            .field("files", &self.files.len())
            .finish_non_exhaustive()
    }
}

impl FileServer {
    /// A server for `config`'s file sources. `resume` is the loaded
    /// checkpoint map, `None` when there was none (first start).
    pub fn new(
        config: Arc<Config>,
        matcher: Arc<Matcher>,
        emitter: Emitter,
        metrics: Arc<Metrics>,
        resume: Option<BTreeMap<FileId, FileCheckpoint>>,
        ready: Arc<AtomicBool>,
        reload: ReloadSlot,
    ) -> Self {
        let (notify_tx, notify_rx) = std::sync::mpsc::channel();
        Self {
            config,
            matcher,
            emitter,
            metrics,
            files: HashMap::new(),
            failing: HashSet::new(),
            resume,
            first_pass: true,
            ready,
            reload,
            notify_rx,
            watcher: None,
            notify_tx,
        }
    }

    fn watch_dirs(&mut self) {
        if !self.config.notify {
            self.watcher = None;
            return;
        }
        let tx = self.notify_tx.clone();
        let w = notify::recommended_watcher(move |e| {
            let _ = tx.send(e);
        });
        let mut w = match w {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!("file notifications unavailable, polling only: {e}");
                self.watcher = None;
                return;
            }
        };
        for s in self.config.sources.iter().filter(|s| !s.stdin) {
            for (dir, recursive) in discover::watch_dirs(s) {
                let mode = if recursive {
                    RecursiveMode::Recursive
                } else {
                    RecursiveMode::NonRecursive
                };
                if let Err(e) = w.watch(&dir, mode) {
                    tracing::warn!("cannot watch {}: {e}; polling it", dir.display());
                }
            }
        }
        self.watcher = Some(w);
    }

    /// Runs until `cancel`; then queues final checkpoints.
    pub fn run(mut self, cancel: &CancellationToken) {
        self.watch_dirs();
        let mut next_rescan = Instant::now();
        let mut watched_dirs_missing = true;
        while !cancel.is_cancelled() {
            self.apply_reload();
            let now = Instant::now();
            if now >= next_rescan {
                self.discover();
                if watched_dirs_missing {
                    // A base directory may have appeared since: watch again.
                    watched_dirs_missing = self.config.sources.iter().any(|s| {
                        !s.stdin && s.include.iter().any(|g| !discover::glob_base(g).0.is_dir())
                    });
                    if !watched_dirs_missing {
                        self.watch_dirs();
                    }
                }
                next_rescan = now + self.config.rescan_interval;
            }
            let more = self.read_all();
            if more {
                continue;
            }
            // Sleep until a notification or the poll interval.
            match self.notify_rx.recv_timeout(self.config.poll_interval) {
                Ok(ev) => {
                    let mut structural = is_structural(&ev);
                    while let Ok(ev) = self.notify_rx.try_recv() {
                        structural |= is_structural(&ev);
                    }
                    if structural {
                        next_rescan = Instant::now();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(self.config.poll_interval)
                }
            }
        }
        // Stop reading: what was read is queued; record where each file stands.
        self.commit_all();
    }

    fn apply_reload(&mut self) {
        let Some(r) = self.reload.lock().ok().and_then(|mut g| g.take()) else {
            return;
        };
        for w in self.files.values_mut() {
            w.set_matcher(Arc::clone(&r.matcher));
        }
        self.config = r.config;
        self.matcher = r.matcher;
        self.watch_dirs();
        self.discover();
        tracing::info!("configuration reloaded");
    }

    /// Finds the files of every source and opens the new ones; marks
    /// files no longer found as rotated.
    fn discover(&mut self) {
        let mut seen: HashMap<FileId, (PathBuf, String)> = HashMap::new();
        let mut failing = HashSet::new();
        for s in self.config.sources.iter().filter(|s| !s.stdin) {
            for p in discover::files(s) {
                match std::fs::metadata(&p) {
                    Ok(m) if m.is_file() => {
                        seen.entry(FileId::of(&m)).or_insert((p, s.name.clone()));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        if !self.failing.contains(&p) {
                            tracing::warn!("cannot open {}: {e}", p.display());
                            self.metrics.read_error(&s.name);
                        }
                        failing.insert(p);
                    }
                }
            }
        }
        self.failing = failing;
        let now = Instant::now();
        for (id, w) in self.files.iter_mut() {
            match seen.get(id) {
                Some((p, _)) => {
                    w.path.clone_from(p);
                    w.draining_since = None;
                }
                None if w.draining_since.is_none() => {
                    tracing::debug!(
                        "{} rotated away; draining for {:?}",
                        w.path.display(),
                        self.config.rotate_wait
                    );
                    w.draining_since = Some(now);
                    self.metrics.rotation(&w.source);
                }
                None => {}
            }
        }
        for (id, (path, source)) in seen {
            if self.files.contains_key(&id) {
                continue;
            }
            self.open(id, path, &source);
        }
        if self.first_pass {
            self.recover_rotated_while_down(now);
            self.first_pass = false;
            self.ready.store(true, Ordering::Relaxed);
        }
    }

    /// At start: a checkpointed file that no glob matches any more was
    /// rotated while the daemon was down (renamed beside its old path). It is
    /// found by its identity in its old directory, checked by fingerprint, and
    /// drained from its checkpoint like any rotated file, so the lines written
    /// to it before or after the rename are not lost.
    fn recover_rotated_while_down(&mut self, now: Instant) {
        let Some(resume) = self.resume.clone() else {
            return;
        };
        for (id, c) in resume {
            if self.files.contains_key(&id)
                || !self.config.sources.iter().any(|s| s.name == c.source)
            {
                continue;
            }
            let Some(dir) = c.path.parent() else { continue };
            let Ok(rd) = std::fs::read_dir(dir) else {
                continue;
            };
            let found = rd
                .flatten()
                .map(|e| e.path())
                .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && FileId::of(&m) == id));
            let Some(path) = found else { continue };
            match Watched::open(
                &c.source,
                path.clone(),
                Arc::clone(&self.matcher),
                self.config.max_line_bytes,
                Some(&c),
                false,
            ) {
                // Only a file that still fits its checkpoint is the rotated one.
                Ok(mut w) if w.id == id && w.resumed() => {
                    tracing::info!(
                        "{} was rotated while stopped; draining it from offset {}",
                        path.display(),
                        w.offset()
                    );
                    w.draining_since = Some(now);
                    self.metrics.rotation(&c.source);
                    self.files.insert(id, w);
                }
                _ => {}
            }
        }
    }

    fn open(&mut self, id: FileId, path: PathBuf, source: &str) {
        let Some(src) = self.config.sources.iter().find(|s| s.name == source) else {
            return;
        };
        let resume = self.resume.as_ref().and_then(|r| r.get(&id));
        let start = if self.first_pass && self.resume.is_none() {
            src.start_at
        } else {
            src.new_files_start_at
        };
        let at_end = start == StartAt::End;
        match Watched::open(
            source,
            path.clone(),
            Arc::clone(&self.matcher),
            self.config.max_line_bytes,
            resume,
            at_end,
        ) {
            Ok(w) if w.id == id => {
                tracing::debug!("following {} from offset {}", path.display(), w.offset());
                self.files.insert(id, w);
            }
            Ok(_) => {} // replaced between stat and open: the next pass sees it
            Err(e) => {
                tracing::warn!("cannot open {}: {e}", path.display());
                self.metrics.read_error(source);
            }
        }
    }

    /// Reads every file once (rotated ones first, so an old file is drained
    /// before its successor). Returns true when some file has more to read.
    fn read_all(&mut self) -> bool {
        let mut ids: Vec<FileId> = self.files.keys().copied().collect();
        ids.sort_by_key(|id| {
            (
                self.files[id].draining_since.is_none(),
                self.files[id].path.clone(),
            )
        });
        let mut more = false;
        let mut closed = Vec::new();
        let now = Instant::now();
        let emitter = self.emitter.clone();
        let mut emit = |ev: &crate::event::Event<'_>| emitter.event(ev);
        for id in ids {
            let Some(w) = self.files.get_mut(&id) else {
                continue;
            };
            let mut file_more = false;
            match w.read(&mut emit) {
                Ok(Ok(o)) => {
                    file_more = o.more;
                    more |= o.more;
                    if o.truncated {
                        self.metrics.truncation(&w.source);
                    }
                }
                Ok(Err(_closed)) => return false,
                Err(e) => {
                    tracing::warn!("reading {} failed: {e}", w.path.display());
                    self.metrics.read_error(&w.source);
                }
            }
            let idle = now.duration_since(w.last_data) >= self.config.idle_flush;
            let done = w
                .draining_since
                .is_some_and(|t| now.duration_since(t) >= self.config.rotate_wait);
            if (idle || done) && w.pending() > 0 && !file_more {
                let _ = w.flush_partial(&mut emit);
            }
            let delta = w.take_stats();
            self.metrics.read(&w.source, &delta);
            if let Some(c) = w.checkpoint_if_moved() {
                let _ = self.emitter.send(SinkMsg::Commit(c));
            }
            if done && !file_more {
                closed.push(id);
            }
        }
        for id in closed {
            if let Some(w) = self.files.remove(&id) {
                tracing::debug!("closed {} after rotation", w.path.display());
                let _ = self.emitter.send(SinkMsg::Forget(id));
            }
        }
        self.update_gauges();
        more
    }

    fn update_gauges(&self) {
        for s in self.config.sources.iter().filter(|s| !s.stdin) {
            let (n, lag) = self
                .files
                .values()
                .filter(|w| w.source == s.name)
                .fold((0, 0), |(n, l), w| (n + 1, l + w.lag()));
            self.metrics.files(&s.name, n, lag);
        }
    }

    fn commit_all(&mut self) {
        for w in self.files.values_mut() {
            if let Some(c) = w.checkpoint_if_moved() {
                let _ = self.emitter.send(SinkMsg::Commit(c));
            }
        }
    }
}

fn is_structural(ev: &notify::Result<notify::Event>) -> bool {
    use notify::EventKind;
    match ev {
        Ok(e) => matches!(
            e.kind,
            EventKind::Create(_)
                | EventKind::Remove(_)
                | EventKind::Modify(notify::event::ModifyKind::Name(_))
                | EventKind::Any
                | EventKind::Other
        ),
        Err(_) => true, // e.g. queue overflow: rescan
    }
}

/// Reads stdin to its end on the calling thread, queueing events.
pub fn read_stdin(
    name: &str,
    matcher: Arc<Matcher>,
    limit: usize,
    emitter: &Emitter,
    metrics: &Metrics,
    cancel: &CancellationToken,
) {
    let mut sc = SourceScanner::new(matcher, name, limit, Position::default());
    let mut split = LineSplitter::with_capacity(limit, limit + 64 * 1024);
    let mut stdin = std::io::stdin().lock();
    let mut emit = |ev: &crate::event::Event<'_>| emitter.event(ev);
    let mut reported = crate::scan::Stats::default();
    loop {
        if cancel.is_cancelled() {
            return;
        }
        let n = match stdin.read(split.spare()) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!("reading stdin failed: {e}");
                metrics.read_error(name);
                0
            }
        };
        split.filled(n);
        while let Some(c) = split.next_chunk() {
            if sc.chunk(c, &mut emit).is_err() {
                return;
            }
        }
        if n == 0 {
            while let Some(c) = split.flush_partial() {
                if sc.chunk(c, &mut emit).is_err() {
                    return;
                }
            }
        }
        metrics.read(name, &sc.stats.since(&reported));
        reported = sc.stats;
        if n == 0 {
            tracing::info!("stdin reached its end");
            return;
        }
    }
}
