//! File notifications: one non-recursive inotify watch per directory the
//! globs list, so a directory that cannot be watched is polled alone (not
//! the whole tree), and so the file source reads a file when it changes
//! instead of checking every file on every poll.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher as _};

use super::failures::Failures;

type NotifyResult = notify::Result<notify::Event>;

/// What notifications said while [`Watch::wait`] waited.
#[derive(Debug, Default)]
pub struct Notes {
    /// Paths whose content changed.
    pub changed: Vec<PathBuf>,
    /// Files appeared, went or were renamed, or notifications were lost:
    /// list the directories again.
    pub structural: bool,
    /// Notifications were lost (queue overflow): read every file again.
    pub lost: bool,
}

/// The watcher and the directories it covers.
pub struct Watch {
    enabled: bool,
    watcher: Option<notify::RecommendedWatcher>,
    /// Watched directories, as listed and canonical.
    watched: HashSet<PathBuf>,
    canonical: HashSet<PathBuf>,
    failing: Failures,
    tx: Sender<NotifyResult>,
    rx: Receiver<NotifyResult>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("enabled", &self.enabled)
            .field("watched", &self.watched.len())
            .finish_non_exhaustive()
    }
}

impl Watch {
    /// A watch that uses notifications when `enabled` (else polls only).
    pub fn new(enabled: bool) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        Self {
            enabled,
            watcher: None,
            watched: HashSet::new(),
            canonical: HashSet::new(),
            failing: Failures::default(),
            tx,
            rx,
        }
    }

    /// Turns notifications on or off (a reload); off drops every watch.
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
        if !enabled {
            self.watcher = None;
            self.watched.clear();
            self.canonical.clear();
        }
    }

    /// Watches every directory of `dirs` not watched yet and drops the
    /// watches of directories no longer listed. Failures are logged once
    /// per directory and cause; those directories are polled.
    pub fn update(&mut self, dirs: &[PathBuf], now: Instant) {
        if !self.enabled {
            return;
        }
        if self.watcher.is_none() && self.failing.may_try(Path::new(""), now) {
            let tx = self.tx.clone();
            match notify::recommended_watcher(move |e| {
                let _ = tx.send(e);
            }) {
                Ok(w) => {
                    if self.failing.ok(Path::new("")) {
                        tracing::info!("file notifications available again");
                    }
                    self.watcher = Some(w);
                }
                Err(e) => {
                    if self.failing.fail(Path::new(""), &to_io(&e), now) {
                        tracing::warn!("file notifications unavailable, polling: {e}");
                    }
                }
            }
        }
        let Some(w) = self.watcher.as_mut() else {
            return;
        };
        let listed: HashSet<&PathBuf> = dirs.iter().collect();
        let gone: Vec<PathBuf> = self
            .watched
            .iter()
            .filter(|d| !listed.contains(d))
            .cloned()
            .collect();
        for d in gone {
            let _ = w.unwatch(&d);
            self.watched.remove(&d);
        }
        for d in dirs {
            if self.watched.contains(d) || !self.failing.may_try(d, now) {
                continue;
            }
            match w.watch(d, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    if self.failing.ok(d) {
                        tracing::info!("watching {} again", d.display());
                    }
                    self.watched.insert(d.clone());
                }
                Err(e) => {
                    if self.failing.fail(d, &to_io(&e), now) {
                        tracing::warn!("cannot watch {}: {e}; polling it", d.display());
                    }
                }
            }
        }
        self.failing
            .retain(|p| p.as_os_str().is_empty() || listed.contains(&p.to_path_buf()));
        self.canonical = self
            .watched
            .iter()
            .filter_map(|d| std::fs::canonicalize(d).ok())
            .collect();
    }

    /// True when every directory of the last [`update`](Self::update) is watched.
    pub fn covers_all(&self, dirs: usize) -> bool {
        self.watcher.is_some() && self.watched.len() == dirs
    }

    /// True when changes to files in `dir` (a canonical directory) arrive
    /// as notifications.
    pub fn covers(&self, dir: &Path) -> bool {
        self.watcher.is_some() && self.canonical.contains(dir)
    }

    /// Waits up to `timeout` for notifications and says what they told.
    pub fn wait(&mut self, timeout: Duration) -> Notes {
        let mut notes = Notes::default();
        let first = match self.rx.recv_timeout(timeout) {
            Ok(ev) => ev,
            Err(RecvTimeoutError::Timeout) => return notes,
            // Never: `self.tx` keeps the channel open.
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(timeout);
                return notes;
            }
        };
        let mut next = Some(first);
        while let Some(ev) = next {
            note(ev, &mut notes);
            next = self.rx.try_recv().ok();
        }
        notes
    }
}

fn to_io(e: &notify::Error) -> std::io::Error {
    match &e.kind {
        notify::ErrorKind::Io(io) => std::io::Error::new(io.kind(), io.to_string()),
        other => std::io::Error::other(format!("{other:?}")),
    }
}

/// Sorts one notification into `notes`.
fn note(ev: NotifyResult, notes: &mut Notes) {
    use notify::event::{AccessKind, AccessMode, ModifyKind};
    let Ok(ev) = ev else {
        // Lost notifications (queue overflow): look at everything again.
        notes.structural = true;
        notes.lost = true;
        return;
    };
    match ev.kind {
        EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any | ModifyKind::Metadata(_))
        | EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
            notes.changed.extend(ev.paths.into_iter().map(normal));
        }
        EventKind::Access(_) => {}
        _ => notes.structural = true,
    }
}

/// A notification path as the globs name it (`./a.log` is `a.log`).
fn normal(p: PathBuf) -> PathBuf {
    match p.strip_prefix(".") {
        Ok(rest) if !rest.as_os_str().is_empty() => rest.to_path_buf(),
        _ => p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_is_a_change_and_a_new_file_is_structural() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.log");
        std::fs::write(&log, b"x\n").unwrap();
        let mut w = Watch::new(true);
        w.update(&[dir.path().to_path_buf()], Instant::now());
        assert!(w.covers(&std::fs::canonicalize(dir.path()).unwrap()));
        std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"y\n"))
            .unwrap();
        // Notifications come in batches (an open, then the write): a wait
        // returns after the first, so look for the write over several.
        let t = Instant::now();
        let mut changed = false;
        while !changed && t.elapsed() < Duration::from_secs(5) {
            changed = w.wait(Duration::from_millis(500)).changed.contains(&log);
        }
        assert!(changed, "no change noted for {}", log.display());
        std::fs::write(dir.path().join("b.log"), b"").unwrap();
        let mut structural = false;
        for _ in 0..10 {
            structural |= w.wait(Duration::from_millis(200)).structural;
        }
        assert!(structural);
        w.update(&[], Instant::now());
        assert!(!w.covers(&std::fs::canonicalize(dir.path()).unwrap()));
    }
}
