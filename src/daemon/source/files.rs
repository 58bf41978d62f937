//! The file source: every followed file of every file source, on one
//! thread. It discovers files (notify events, plus a periodic rescan as a
//! backstop and a poll of open files where notifications are missing),
//! reads them, drains rotated files for `rotate_wait`, and queues events and
//! checkpoints for the sink.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Instant;

use notify::{RecursiveMode, Watcher as _};
use tokio_util::sync::CancellationToken;

use super::tailer::Watched;
use super::{Source, SourceContext, discover};
use crate::daemon::config::{Config, StartAt};
use crate::daemon::queue::SinkMsg;
use crate::lines::ReadError;
use crate::state::checkpoint::FileCheckpoint;
use crate::state::fingerprint::FileId;

/// Follows every file of every file source.
pub struct FileServer {
    ctx: SourceContext,
    config: Arc<Config>,
    files: HashMap<FileId, Watched>,
    /// Paths that matched but could not be opened (counted once each).
    failing: HashSet<PathBuf>,
    /// Checkpoints loaded at start; `None` on the first start.
    resume: Option<BTreeMap<FileId, FileCheckpoint>>,
    first_pass: bool,
    notify_rx: Receiver<notify::Result<notify::Event>>,
    watcher: Option<notify::RecommendedWatcher>,
    notify_tx: std::sync::mpsc::Sender<notify::Result<notify::Event>>,
}

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

impl std::fmt::Debug for FileServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileServer")
            .field("files", &self.files.len())
            .finish_non_exhaustive()
    }
}

impl FileServer {
    /// A server for the file sources of the current configuration.
    /// `resume` is the loaded checkpoint map, `None` when there was none
    /// (first start).
    pub fn new(mut ctx: SourceContext, resume: Option<BTreeMap<FileId, FileCheckpoint>>) -> Self {
        let (notify_tx, notify_rx) = std::sync::mpsc::channel();
        let config = Arc::clone(&ctx.current.borrow_and_update().config);
        Self {
            ctx,
            config,
            files: HashMap::new(),
            failing: HashSet::new(),
            resume,
            first_pass: true,
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

    /// A new configuration (SIGHUP): watch its directories and discover its
    /// files now. The matcher needs nothing here: it is read per pass.
    fn apply_reload(&mut self) {
        if !self.ctx.current.has_changed().unwrap_or(false) {
            return;
        }
        self.config = Arc::clone(&self.ctx.current.borrow_and_update().config);
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
                            self.ctx.metrics.read_error(&s.name);
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
                    self.ctx.metrics.rotation(&w.source);
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
            self.ctx.ready.set();
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
                    self.ctx.metrics.rotation(&c.source);
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
                self.ctx.metrics.read_error(source);
            }
        }
    }

    /// Reads every file once (rotated ones first, so an old file is drained
    /// before its successor), with the matcher current at this pass.
    /// Returns true when some file has more to read.
    fn read_all(&mut self) -> bool {
        let mut ids: Vec<FileId> = self.files.keys().copied().collect();
        ids.sort_by_key(|id| {
            (
                self.files[id].draining_since.is_none(),
                self.files[id].path.clone(),
            )
        });
        let g = self.ctx.generation();
        let mut more = false;
        let mut closed = Vec::new();
        let now = Instant::now();
        let emitter = self.ctx.emitter.clone();
        let mut emit = |ev: &crate::event::Event<'_>| emitter.event(ev);
        for id in ids {
            let Some(w) = self.files.get_mut(&id) else {
                continue;
            };
            let mut file_more = false;
            match w.read(&g.matcher, &mut emit) {
                Ok(o) => {
                    file_more = o.more;
                    more |= o.more;
                    if o.truncated {
                        self.ctx.metrics.truncation(&w.source);
                    }
                }
                Err(ReadError::Consumer(_closed)) => return false,
                Err(ReadError::Io(e)) => {
                    tracing::warn!("reading {} failed: {e}", w.path.display());
                    self.ctx.metrics.read_error(&w.source);
                }
            }
            let idle = now.duration_since(w.last_data) >= self.config.idle_flush;
            let done = w
                .draining_since
                .is_some_and(|t| now.duration_since(t) >= self.config.rotate_wait);
            if (idle || done) && w.pending() > 0 && !file_more {
                let _ = w.flush_partial(&g.matcher, &mut emit);
            }
            let delta = w.take_stats();
            self.ctx.metrics.read(&w.source, &delta);
            if delta.lines >= 10 && crate::daemon::failpoint("files") {
                panic!("failpoint: files");
            }
            if let Some(c) = w.checkpoint_if_moved() {
                let _ = self.ctx.emitter.send(SinkMsg::Commit(c));
            }
            if done && !file_more {
                closed.push(id);
            }
        }
        for id in closed {
            if let Some(w) = self.files.remove(&id) {
                tracing::debug!("closed {} after rotation", w.path.display());
                let _ = self.ctx.emitter.send(SinkMsg::Forget(id));
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
            self.ctx.metrics.files(&s.name, n, lag);
        }
    }

    fn commit_all(&mut self) {
        for w in self.files.values_mut() {
            if let Some(c) = w.checkpoint_if_moved() {
                let _ = self.ctx.emitter.send(SinkMsg::Commit(c));
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
