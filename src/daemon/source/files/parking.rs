//! Opening files under the cap: waiting files are opened, and past
//! `max_open_files` the least recently active file read to its end is
//! parked at its checkpoint, then opened again by identity when it
//! changes. Out of descriptors, the cap comes down to what fits.

use std::path::Path;
use std::time::Instant;

use super::table::{FileState, Reading};
use super::tailer::Watched;
use super::{FileServer, is_emfile, real_dir};
use crate::daemon::config::StartAt;
use crate::daemon::queue::SinkMsg;
use crate::state::checkpoint::FileCheckpoint;
use crate::state::fingerprint::FileId;

impl FileServer {
    /// Opens waiting files, parking idle ones to stay under the cap. True
    /// when some file was opened.
    pub(super) fn open_waiting(&mut self, now: Instant) -> bool {
        while self.table.open_count() > self.max_open && self.park_one() {}
        let mut opened = false;
        for id in self.table.waiting_ids() {
            let Some(w) = self.table.waiting(id) else {
                continue;
            };
            if !self.failing.may_try(&w.path, now) {
                continue;
            }
            if self.table.open_count() >= self.max_open && !self.park_one() {
                break;
            }
            let Some(w) = self.table.waiting(id) else {
                continue;
            };
            let (path, source, start) = (w.path.clone(), w.source.clone(), w.start);
            let resume = self.resume.as_ref().and_then(|r| r.get(&id)).cloned();
            if self.open_file(id, &path, &source, resume.as_ref(), start) {
                opened = true;
            } else if !self.failing.is_failing(&path) {
                // Not retried: the next listing finds it again if it is there.
                self.table.drop_waiting(id);
            }
        }
        opened
    }

    /// Opens one file (from `resume` if it is this file's checkpoint). True
    /// when it is open; on failure it is logged once per cause and retried
    /// with backoff; out of descriptors, the cap comes down to what fits.
    pub(super) fn open_file(
        &mut self,
        id: FileId,
        path: &Path,
        source: &str,
        resume: Option<&FileCheckpoint>,
        start: StartAt,
    ) -> bool {
        let now = Instant::now();
        let limit = self.ctx.max_line_bytes;
        match Watched::open(source, path.to_path_buf(), limit, resume, start) {
            Ok(w) if w.id == id => {
                if self.failing.ok(path) {
                    tracing::info!("{} can be opened again", path.display());
                }
                tracing::info!(
                    "following {} (source {source:?}) from offset {}",
                    path.display(),
                    w.offset()
                );
                if w.binary && w.offset() == 0 {
                    tracing::warn!(
                        "{} looks binary (NUL bytes); followed as it is",
                        path.display()
                    );
                }
                let dir = real_dir(path);
                let covered = self.covers(dir.as_deref());
                self.table.opened(
                    id,
                    Reading {
                        w,
                        dir,
                        covered,
                        dirty: true,
                    },
                );
                true
            }
            Ok(_) => false, // replaced between stat and open: the next listing sees it
            Err(e) => {
                let open = self.table.open_count();
                if is_emfile(&e) && open <= self.max_open {
                    // Leave a quarter of what files hold to the rest of the
                    // daemon (HTTP connections, checkpoints, the events file).
                    self.max_open = (open * 3 / 4).max(1);
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
    /// (not rotated, not due to be read), keeping its checkpoint.
    pub(super) fn park_one(&mut self) -> bool {
        let Some(id) = self
            .table
            .readings()
            .filter(|(_, r, draining)| draining.is_none() && !r.dirty)
            .min_by_key(|(_, r, _)| r.w.last_data)
            .map(|(id, _, _)| id)
        else {
            return false;
        };
        let Some((r, _)) = self.table.reading_mut(id) else {
            return false;
        };
        if let Some(c) = r.w.checkpoint_if_moved() {
            let _ = self.ctx.emitter.send(SinkMsg::Commit(c));
        }
        tracing::debug!("parking {} (open files at the cap)", r.w.path.display());
        self.table.park(id)
    }

    /// Reopens the parked file `id` at its checkpoint (it stays parked if
    /// it cannot be opened now: no descriptor left).
    pub(super) fn unpark(&mut self, id: FileId) {
        let Some(FileState::Parked(p)) = self.table.get(id) else {
            return;
        };
        let at = p.at.clone();
        let room = self.table.open_count() < self.max_open || self.park_one();
        if room {
            self.open_file(id, &at.path, &at.source, Some(&at), StartAt::Beginning);
        }
    }

    /// Parked files that grew or changed are opened again (`all`: every
    /// one; else only those no notification covers).
    pub(super) fn check_parked(&mut self, all: bool) {
        let grown: Vec<FileId> = self
            .table
            .parked()
            .filter(|(_, p)| all || !p.covered)
            .filter(|(id, p)| {
                std::fs::metadata(&p.at.path).is_ok_and(|m| {
                    FileId::of(&m) == *id && (m.len() != p.size || m.modified().ok() != p.mtime)
                })
            })
            .map(|(id, _)| id)
            .collect();
        for id in grown {
            self.unpark(id);
        }
    }
}
