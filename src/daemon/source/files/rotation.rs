//! Files rotated away: while running, a file renamed beside its old path
//! is drained from its checkpoint for `rotate_wait`; at start, a
//! checkpointed file that no glob matches any more was rotated while the
//! daemon was down and is drained the same way, or read from a compressed
//! copy (`app.log.1.gz`) found by the fingerprint of its first bytes.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use super::FileServer;
use super::table::Reading;
use super::tailer::Watched;
use crate::daemon::config::StartAt;
use crate::daemon::queue::SinkMsg;
use crate::lines::ReadError;
use crate::pipeline::Pipeline;
use crate::state::checkpoint::FileCheckpoint;
use crate::state::fingerprint::FileId;

impl FileServer {
    /// At start: a checkpointed file that no glob matches any more was
    /// rotated while the daemon was down (renamed beside its old path). It
    /// is drained from its checkpoint like any rotated file, so the lines
    /// written to it before or after the rename are not lost.
    pub(super) fn recover_rotated_while_down(&mut self, now: Instant) {
        let Some(resume) = self.resume.clone() else {
            return;
        };
        for (id, c) in resume {
            if self.config.file_source(&c.source).is_none() {
                continue;
            }
            // Found by the listing, and still the same file (a new file
            // may have been given the old one's inode).
            let listed = self.table.waiting(id).map(|w| w.path.clone());
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
    pub(super) fn drain_rotated(&mut self, id: FileId, at: &FileCheckpoint, now: Instant) -> bool {
        let found = find_by_identity(&at.path, id).and_then(|path| {
            let limit = self.ctx.max_line_bytes;
            Watched::open(&at.source, path, limit, Some(at), StartAt::Beginning).ok()
        });
        match found {
            // Only a file that still fits its checkpoint is the rotated one.
            Some(w) if w.id == id && w.resumed() => {
                self.m.rotation(&at.source);
                let r = Reading {
                    w,
                    dir: None,
                    covered: false,
                    dirty: true,
                };
                self.table.opened_draining(id, r, now);
                true
            }
            _ => {
                if !self.drain_compressed(at) {
                    tracing::info!("{} is gone (deleted or rotated away)", at.path.display());
                }
                if !self.table.contains(id) {
                    let _ = self.ctx.emitter.send(SinkMsg::Forget(id));
                }
                false
            }
        }
    }

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
                .max_line_bytes(self.ctx.max_line_bytes)
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
                self.m.rotation(&at.source);
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
        let (_, mut text) = crate::state::fingerprint::open_regular(&p)
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
    let f = crate::state::fingerprint::open_regular(path);
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
