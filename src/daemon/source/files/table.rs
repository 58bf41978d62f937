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
        self.readings().count()
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
            None => {
                self.files.insert(
                    id,
                    FileState::Waiting(Waiting {
                        path,
                        source,
                        start,
                    }),
                );
            }
        }
    }

    /// Waiting files a listing no longer found are forgotten.
    pub fn forget_waiting_unless(&mut self, mut listed: impl FnMut(FileId) -> bool) {
        self.files
            .retain(|id, s| !matches!(s, FileState::Waiting(_)) || listed(*id));
    }

    /// A waiting file that could not be opened and is not retried.
    pub fn drop_waiting(&mut self, id: FileId) {
        if matches!(self.files.get(&id), Some(FileState::Waiting(_))) {
            self.files.remove(&id);
        }
    }

    /// `id` is open (it was waiting or parked, or is new).
    pub fn opened(&mut self, id: FileId, r: Reading) {
        self.files.insert(id, FileState::Open(Box::new(r)));
        self.paths_stale = true;
    }

    /// `id` was found open beside its old path after a rotation: drained.
    pub fn opened_draining(&mut self, id: FileId, r: Reading, now: Instant) {
        self.files.insert(
            id,
            FileState::Draining {
                file: Box::new(r),
                since: now,
            },
        );
        self.paths_stale = true;
    }

    /// The open file `id` was renamed away or deleted: drained from now.
    pub fn rotated(&mut self, id: FileId, now: Instant) {
        if let Some(FileState::Open(_)) = self.files.get(&id)
            && let Some(FileState::Open(file)) = self.files.remove(&id)
        {
            self.files
                .insert(id, FileState::Draining { file, since: now });
            self.paths_stale = true;
        }
    }

    /// A draining file was listed again where its source looks: open.
    pub fn reappeared(&mut self, id: FileId) {
        if let Some(FileState::Draining { .. }) = self.files.get(&id)
            && let Some(FileState::Draining { file, .. }) = self.files.remove(&id)
        {
            self.files.insert(id, FileState::Open(file));
            self.paths_stale = true;
        }
    }

    /// The open file `id` is closed and parked (at its position: queue
    /// its checkpoint first). False when it was not open.
    pub fn park(&mut self, id: FileId) -> bool {
        if !matches!(self.files.get(&id), Some(FileState::Open(_))) {
            return false;
        }
        let Some(FileState::Open(r)) = self.files.remove(&id) else {
            return false;
        };
        let w = r.w;
        self.files.insert(
            id,
            FileState::Parked(Parked {
                at: w.position(),
                size: w.size,
                mtime: w.mtime(),
                dir: r.dir,
                covered: r.covered,
            }),
        );
        self.paths_stale = true;
        true
    }

    /// A drained (or parked and gone) file leaves the table.
    pub fn remove(&mut self, id: FileId) -> Option<FileState> {
        let s = self.files.remove(&id);
        self.paths_stale |= s.is_some();
        s
    }

    /// A path changed under a file (a rename seen by a listing).
    pub fn moved(&mut self) {
        self.paths_stale = true;
    }
}
