//! Reconciling the file table with a listing of the globs: new files wait
//! to be opened, open and parked files take the path they were found at,
//! and a file no longer found where its source was listed completely was
//! rotated away. Also the per-source "matches no file" warning.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::failures::Failures;
use super::table::FileState;
use super::{EMPTY_WARN_EVERY, FileServer, discover};
use crate::daemon::config::FileGlobs;
use crate::state::fingerprint::FileId;

/// What a listing found: each file's path and source.
type Seen = HashMap<FileId, (PathBuf, String)>;

impl FileServer {
    /// Lists every file source; opens nothing (see `open_waiting`), but
    /// queues new files, follows renames and marks files that are gone as
    /// rotated, only where the listing was complete.
    pub(super) fn discover(&mut self, now: Instant) {
        let mut seen = Seen::new();
        let mut incomplete: HashSet<String> = HashSet::new();
        let mut dirs: Vec<PathBuf> = Vec::new();
        let mut listed: HashSet<PathBuf> = HashSet::new();
        let mut complete = true;
        let config = Arc::clone(&self.config);
        for (name, globs) in config.file_sources() {
            let listing = discover::files(globs);
            if !listing.errors.is_empty() {
                incomplete.insert(name.to_string());
            }
            complete &= listing.errors.is_empty() && !listing.missing_base;
            for (dir, e) in &listing.errors {
                if self.dir_failing.fail(dir, e, now) {
                    tracing::warn!(
                        "cannot list {}: {e}; keeping its files as they are",
                        dir.display()
                    );
                    self.ctx.metrics.read_error(name);
                }
            }
            for d in &listing.dirs {
                if self.dir_failing.ok(d) {
                    tracing::info!("{} can be listed again", d.display());
                }
            }
            self.count_matches(name, globs, listing.files.len(), now);
            dirs.extend(listing.dirs);
            for f in listing.files {
                listed.insert(f.path.clone());
                self.identify(f, name, now, &mut seen);
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
        self.find_uncovered();
        self.m.listing();
    }

    /// The identity of a listed entry: from the listing alone when a known
    /// path still has its inode, else by `stat` (failures logged once).
    fn identify(&mut self, f: discover::ListedFile, source: &str, now: Instant, seen: &mut Seen) {
        if let (Some(ino), Some(id)) = (f.ino, self.table.by_path(&f.path))
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
    fn follow_renames(&mut self, seen: &Seen, incomplete: &HashSet<String>, now: Instant) {
        let gone = |source: &str, path: &Path, failing: &Failures| {
            !incomplete.contains(source) && !failing.is_failing(path)
        };
        for id in self.table.ids() {
            let found = seen.get(&id).map(|(p, _)| p);
            match self.table.get(id) {
                Some(FileState::Open(_) | FileState::Draining { .. }) => {
                    let Some((r, draining)) = self.table.reading_mut(id) else {
                        continue;
                    };
                    match found {
                        Some(p) => {
                            r.w.path.clone_from(p);
                            self.table.reappeared(id);
                            self.table.moved();
                        }
                        None if draining.is_none()
                            && gone(&r.w.source, &r.w.path, &self.failing) =>
                        {
                            tracing::debug!(
                                "{} rotated away; draining for {:?}",
                                r.w.path.display(),
                                self.config.rotate_wait
                            );
                            r.dirty = true;
                            self.m.rotation(&r.w.source);
                            self.table.rotated(id, now);
                        }
                        None => {}
                    }
                }
                Some(FileState::Parked(p)) => {
                    let gone_now = found.is_none() && gone(&p.at.source, &p.at.path, &self.failing);
                    if let Some(path) = found {
                        if let Some(p) = self.table.parked_one_mut(id) {
                            p.at.path.clone_from(path);
                        }
                        self.table.moved();
                    } else if gone_now && let Some(FileState::Parked(p)) = self.table.remove(id) {
                        self.drain_rotated(id, &p.at, now);
                    }
                }
                _ => {}
            }
        }
    }

    /// Files found for the first time wait to be opened.
    fn queue_new(&mut self, seen: Seen) {
        let first_start = self.first_pass && self.resume.is_none();
        self.table
            .forget_waiting_unless(|id| seen.contains_key(&id));
        for (id, (path, source)) in seen {
            let Some(src) = self.config.file_source(&source) else {
                continue;
            };
            let start = if first_start {
                src.start_at
            } else {
                src.new_files_start_at
            };
            self.table.found(id, path, source, start);
        }
    }

    /// Recomputes which files notifications cover (the watched
    /// directories may have changed).
    fn find_uncovered(&mut self) {
        let watch = &self.watch;
        let covers = |d: Option<&Path>| d.is_some_and(|d| watch.covers(d));
        for r in self.table.readings_mut() {
            r.covered = covers(r.dir.as_deref());
        }
        for (_, p) in self.table.parked_mut() {
            p.covered = covers(p.dir.as_deref());
        }
    }

    /// Sets `trtc_logwatch_source_files`; warns when a source matches no
    /// file (at once, then at most every [`EMPTY_WARN_EVERY`]) and says so
    /// when it matches some again.
    fn count_matches(&mut self, name: &str, s: &FileGlobs, n: usize, now: Instant) {
        self.m.matched(name, n);
        // Between a rename and the new file (a rotation), the globs match
        // nothing for a moment while the old file is still followed: no
        // warning for that.
        let following = self.table.readings().any(|(_, r, _)| r.w.source == name)
            || self.table.parked().any(|(_, p)| p.at.source == name);
        if n > 0 || (following && !self.empty.contains_key(name)) {
            if self.empty.remove(name).is_some() {
                tracing::info!("source {name:?} matches {n} file(s) now");
            }
            return;
        }
        let due = self
            .empty
            .get(name)
            .is_none_or(|t| now.duration_since(*t) >= EMPTY_WARN_EVERY);
        if due {
            tracing::warn!(
                "source {name:?} matches no file: include {:?}{}; looking again at every rescan",
                s.include,
                if s.exclude.is_empty() {
                    String::new()
                } else {
                    format!(", exclude {:?}", s.exclude)
                }
            );
            self.empty.insert(name.to_string(), now);
        }
    }
}
