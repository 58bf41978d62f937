//! The file table: every known file's whole state, one entry per file
//! identity, changed only by the named transitions below (Vector's
//! `fp_map`, with the states made explicit). So a file is waiting, open,
//! draining or parked, never two of them; an open file carries its
//! directory, whether notifications cover it and whether it is due to be
//! read. The path index used for notifications is a view rebuilt from it.
//!
//! ```text
//!  found ──▶ Waiting ──opened──▶ Open ──rotated──▶ Draining ──closed──▶ (gone)
//!               ▲                │  ▲      ◀──reappeared──┘
//!               │          parked│  │opened
//!               │                ▼  │
//!               └─(listed)─      Parked ──(gone: drained or forgotten)
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use super::tailer::Watched;
use crate::daemon::config::StartAt;
use crate::state::checkpoint::FileCheckpoint;
use crate::state::fingerprint::FileId;

/// A file found by a listing, not open yet.
#[derive(Debug)]
pub(super) struct Waiting {
    pub path: PathBuf,
    pub source: String,
    /// Where to start when it has no checkpoint: decided when it was found.
    pub start: StartAt,
}

/// An open file.
#[derive(Debug)]
pub(super) struct Reading {
    pub w: Watched,
    /// Its real directory (`None`: a rotated file found beside its old path).
    pub dir: Option<PathBuf>,
    /// Notifications cover its directory (else it is read on every poll).
    pub covered: bool,
    /// To be read in the next pass.
    pub dirty: bool,
}

/// A followed file closed to stay under `max_open_files`.
#[derive(Debug)]
pub(super) struct Parked {
    pub at: FileCheckpoint,
    pub size: u64,
    pub mtime: Option<SystemTime>,
    /// Its real directory, to know whether notifications cover it.
    pub dir: Option<PathBuf>,
    /// Notifications cover it (else it is looked at on every poll).
    pub covered: bool,
}

/// One file's state.
#[derive(Debug)]
pub(super) enum FileState {
    Waiting(Waiting),
    Open(Box<Reading>),
    /// Renamed away or deleted: read until `rotate_wait` after `since`.
    Draining {
        file: Box<Reading>,
        since: Instant,
    },
    Parked(Parked),
}

/// Every known file by identity (see the module docs).
#[derive(Debug, Default)]
pub(super) struct FileTable {
    files: HashMap<FileId, FileState>,
    /// Current path → file, for notifications: open (not draining) and
    /// parked files. Derived; rebuilt on the first look after a change.
    paths: HashMap<PathBuf, FileId>,
    paths_stale: bool,
    /// Open or draining entries, kept by [`FileTable::put`] and
    /// [`FileTable::remove`]: counted at every open, so not by a walk.
    open: usize,
}

fn is_open(s: &FileState) -> bool {
    matches!(s, FileState::Open(_) | FileState::Draining { .. })
}

impl FileTable {
    pub fn get(&self, id: FileId) -> Option<&FileState> {
        self.files.get(&id)
    }

    pub fn contains(&self, id: FileId) -> bool {
        self.files.contains_key(&id)
    }

    pub fn ids(&self) -> Vec<FileId> {
        self.files.keys().copied().collect()
    }

    /// Files open now (reading or draining).
    pub fn open_count(&self) -> usize {
        self.open
    }

    /// Sets `id`'s state (every transition ends here or in `remove`).
    fn put(&mut self, id: FileId, state: FileState) {
        self.open += usize::from(is_open(&state));
        if let Some(old) = self.files.insert(id, state) {
            self.open -= usize::from(is_open(&old));
        }
        self.paths_stale = true;
    }

    /// Every open file, with when it began draining.
    pub fn readings(&self) -> impl Iterator<Item = (FileId, &Reading, Option<Instant>)> {
        self.files.iter().filter_map(|(id, s)| match s {
            FileState::Open(r) => Some((*id, &**r, None)),
            FileState::Draining { file, since } => Some((*id, &**file, Some(*since))),
            _ => None,
        })
    }

    /// An open file, with when it began draining.
    pub fn reading_mut(&mut self, id: FileId) -> Option<(&mut Reading, Option<Instant>)> {
        match self.files.get_mut(&id)? {
            FileState::Open(r) => Some((r, None)),
            FileState::Draining { file, since } => Some((file, Some(*since))),
            _ => None,
        }
    }

    pub fn readings_mut(&mut self) -> impl Iterator<Item = &mut Reading> {
        self.files.values_mut().filter_map(|s| match s {
            FileState::Open(r) | FileState::Draining { file: r, .. } => Some(&mut **r),
            _ => None,
        })
    }

    pub fn parked(&self) -> impl Iterator<Item = (FileId, &Parked)> {
        self.files.iter().filter_map(|(id, s)| match s {
            FileState::Parked(p) => Some((*id, p)),
            _ => None,
        })
    }

    pub fn parked_mut(&mut self) -> impl Iterator<Item = (FileId, &mut Parked)> {
        self.files.iter_mut().filter_map(|(id, s)| match s {
            FileState::Parked(p) => Some((*id, p)),
            _ => None,
        })
    }

    pub fn parked_one_mut(&mut self, id: FileId) -> Option<&mut Parked> {
        match self.files.get_mut(&id)? {
            FileState::Parked(p) => Some(p),
            _ => None,
        }
    }

    /// Waiting files in identity order.
    pub fn waiting_ids(&self) -> Vec<FileId> {
        let mut ids: Vec<FileId> = self
            .files
            .iter()
            .filter(|(_, s)| matches!(s, FileState::Waiting(_)))
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        ids
    }

    pub fn waiting(&self, id: FileId) -> Option<&Waiting> {
        match self.files.get(&id)? {
            FileState::Waiting(w) => Some(w),
            _ => None,
        }
    }

    /// The file at `path`, for a notification.
    pub fn by_path(&mut self, path: &Path) -> Option<FileId> {
        if self.paths_stale {
            self.paths = self
                .files
                .iter()
                .filter_map(|(id, s)| match s {
                    FileState::Open(r) => Some((r.w.path.clone(), *id)),
                    FileState::Parked(p) => Some((p.at.path.clone(), *id)),
                    _ => None,
                })
                .collect();
            self.paths_stale = false;
        }
        self.paths.get(path).copied()
    }

    /// Open files due to be read, no longer due: draining ones first (an
    /// old file is drained before its successor), then by path.
    pub fn take_dirty(&mut self) -> Vec<FileId> {
        let mut due: Vec<(bool, PathBuf, FileId)> = Vec::new();
        for (id, s) in self.files.iter_mut() {
            let (r, draining) = match s {
                FileState::Open(r) => (r, false),
                FileState::Draining { file, .. } => (file, true),
                _ => continue,
            };
            if std::mem::take(&mut r.dirty) {
                due.push((!draining, r.w.path.clone(), *id));
            }
        }
        due.sort();
        due.into_iter().map(|(_, _, id)| id).collect()
    }

    // The transitions.

    /// A listing found `id` at `path`: it waits to be opened (a file
    /// already waiting takes the new path and keeps its start).
    pub fn found(&mut self, id: FileId, path: PathBuf, source: String, start: StartAt) {
        match self.files.get_mut(&id) {
            Some(FileState::Waiting(w)) => w.path = path,
            Some(_) => {}
            None => self.put(
                id,
                FileState::Waiting(Waiting {
                    path,
                    source,
                    start,
                }),
            ),
        }
    }

    /// Waiting files a listing no longer found are forgotten.
    pub fn forget_waiting_unless(&mut self, mut listed: impl FnMut(FileId) -> bool) {
        // Waiting files are not open: the count stays.
        self.files
            .retain(|id, s| !matches!(s, FileState::Waiting(_)) || listed(*id));
    }

    /// A waiting file that could not be opened and is not retried.
    pub fn drop_waiting(&mut self, id: FileId) {
        if matches!(self.files.get(&id), Some(FileState::Waiting(_))) {
            self.remove(id);
        }
    }

    /// `id` is open (it was waiting or parked, or is new).
    pub fn opened(&mut self, id: FileId, r: Reading) {
        self.put(id, FileState::Open(Box::new(r)));
    }

    /// `id` was found open beside its old path after a rotation: drained.
    pub fn opened_draining(&mut self, id: FileId, r: Reading, now: Instant) {
        let file = Box::new(r);
        self.put(id, FileState::Draining { file, since: now });
    }

    /// The open file `id` was renamed away or deleted: drained from now.
    pub fn rotated(&mut self, id: FileId, now: Instant) {
        if let Some(FileState::Open(_)) = self.files.get(&id)
            && let Some(FileState::Open(file)) = self.remove(id)
        {
            self.put(id, FileState::Draining { file, since: now });
        }
    }

    /// A draining file was listed again where its source looks: open.
    pub fn reappeared(&mut self, id: FileId) {
        if let Some(FileState::Draining { .. }) = self.files.get(&id)
            && let Some(FileState::Draining { file, .. }) = self.remove(id)
        {
            self.put(id, FileState::Open(file));
        }
    }

    /// The open file `id` is closed and parked (at its position: queue
    /// its checkpoint first). False when it was not open.
    pub fn park(&mut self, id: FileId) -> bool {
        if !matches!(self.files.get(&id), Some(FileState::Open(_))) {
            return false;
        }
        let Some(FileState::Open(r)) = self.remove(id) else {
            return false;
        };
        let w = r.w;
        let parked = Parked {
            at: w.position(),
            size: w.size,
            mtime: w.mtime(),
            dir: r.dir,
            covered: r.covered,
        };
        self.put(id, FileState::Parked(parked));
        true
    }

    /// A drained (or parked and gone) file leaves the table.
    pub fn remove(&mut self, id: FileId) -> Option<FileState> {
        let s = self.files.remove(&id)?;
        self.open -= usize::from(is_open(&s));
        self.paths_stale = true;
        Some(s)
    }

    /// A path changed under a file (a rename seen by a listing).
    pub fn moved(&mut self) {
        self.paths_stale = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(path: &Path) -> (FileId, Reading) {
        std::fs::write(path, "a line\n").unwrap();
        let w = Watched::open("t", path.to_path_buf(), 1024, None, StartAt::Beginning).unwrap();
        let r = Reading {
            w,
            dir: None,
            covered: false,
            dirty: true,
        };
        (r.w.id, r)
    }

    #[test]
    fn transitions_keep_one_state_per_file_and_the_views_in_step() {
        let dir = tempfile::tempdir().unwrap();
        let (a_path, b_path) = (dir.path().join("a.log"), dir.path().join("b.log"));
        let (a, ra) = reading(&a_path);
        let (b, rb) = reading(&b_path);
        let mut t = FileTable::default();
        t.found(a, a_path.clone(), "t".into(), StartAt::Beginning);
        t.found(b, b_path.clone(), "t".into(), StartAt::End);
        assert_eq!((t.open_count(), t.waiting_ids().len()), (0, 2));
        // A waiting file is not in the path index: no notification opens it.
        assert_eq!(t.by_path(&a_path), None);
        t.opened(a, ra);
        t.opened(b, rb);
        assert_eq!((t.open_count(), t.waiting_ids().len()), (2, 0));
        assert_eq!(t.by_path(&a_path), Some(a));
        // Found again while open: nothing changes.
        t.found(a, a_path.clone(), "t".into(), StartAt::End);
        assert!(matches!(t.get(a), Some(FileState::Open(_))));
        // Due files come out once, then are no longer due.
        assert_eq!(t.take_dirty().len(), 2);
        assert!(t.take_dirty().is_empty());
        // Rotated: still open, out of the path index (its path is stale).
        let now = Instant::now();
        t.rotated(a, now);
        assert_eq!(t.open_count(), 2);
        assert_eq!(t.by_path(&a_path), None);
        assert!(
            t.reading_mut(a)
                .is_some_and(|(_, since)| since == Some(now))
        );
        t.reappeared(a);
        assert_eq!(t.by_path(&a_path), Some(a));
        // Parked: closed, still found by its path, never both.
        assert!(t.park(b));
        assert!(!t.park(b));
        assert_eq!(t.open_count(), 1);
        assert_eq!(t.by_path(&b_path), Some(b));
        assert!(t.reading_mut(b).is_none());
        assert_eq!(t.parked().count(), 1);
        // Reopened from parked, then drained and closed.
        let (_, rb) = reading(&b_path);
        t.opened(b, rb);
        assert_eq!((t.open_count(), t.parked().count()), (2, 0));
        t.rotated(b, now);
        assert!(t.remove(b).is_some());
        assert!(t.remove(b).is_none());
        assert_eq!(t.open_count(), 1);
        assert_eq!(t.by_path(&b_path), None);
        // A waiting file the listing no longer finds is forgotten; open ones stay.
        let c_path = dir.path().join("c.log");
        let (c, _) = reading(&c_path);
        t.found(c, c_path, "t".into(), StartAt::Beginning);
        t.forget_waiting_unless(|_| false);
        assert!(!t.contains(c) && t.contains(a));
    }
}
