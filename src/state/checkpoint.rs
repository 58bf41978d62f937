//! Checkpoints: per file, identity → offset just past the last complete line
//! whose events were written. Stored as versioned JSON, written atomically
//! (temp file, fsync, rename, fsync of the directory).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fingerprint::{Check, FileId, Fingerprint};

/// Format version of the checkpoint file.
pub const VERSION: u32 = 1;

/// Where one file was left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCheckpoint {
    /// Source name.
    pub source: String,
    /// Path the file had when last seen (informational).
    pub path: PathBuf,
    /// Identity.
    pub id: FileId,
    /// Fingerprint of its first bytes.
    pub fingerprint: Fingerprint,
    /// Offset just past the last complete line handled.
    pub offset: u64,
    /// Number of the next line (1-based).
    pub line_number: u64,
}

impl FileCheckpoint {
    /// True when a file of identity `id` whose first bytes are `head` is
    /// still the file this checkpoint was taken of (same identity, same
    /// first bytes: not a new file that got the old one's inode).
    pub fn fits(&self, id: FileId, head: &[u8]) -> bool {
        self.id == id && self.fingerprint.check_prefix(head) != Check::Changed
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    files: Vec<FileCheckpoint>,
}

/// The checkpoint file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading or writing `path` failed.
    #[error("{doing} {path}: {source}", path = path.display())]
    Io {
        /// What was being done.
        doing: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Another daemon holds the state directory.
    #[error("state directory {path} is in use by another trtc-logwatch ({holder}): give each daemon a state_dir of its own", path = path.display())]
    Locked {
        /// The state directory.
        path: PathBuf,
        /// Who holds it (`pid N`), as it wrote in the lock file.
        holder: String,
    },
    /// The file is not a checkpoint file this version can read.
    #[error("{path}: {message} (move the file away to start over)", path = path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

fn io_err<'p>(
    doing: &'static str,
    path: &'p Path,
) -> impl FnOnce(io::Error) -> CheckpointError + 'p {
    move |source| CheckpointError::Io {
        doing,
        path: path.to_path_buf(),
        source,
    }
}

/// The checkpoint file of a state directory.
#[derive(Debug, Clone)]
pub struct Checkpointer {
    path: PathBuf,
    /// `state_dir/lock`, locked (`flock`) while this daemon runs: the
    /// kernel lets go of it when the process ends, however it ends.
    _lock: std::sync::Arc<fs::File>,
}

/// Locks `state_dir` for this process (an exclusive `flock` of
/// `state_dir/lock`, never waited for) and writes its pid there; two daemons
/// on one state directory would write every event twice and tear each
/// other's checkpoints.
fn lock(state_dir: &Path) -> Result<fs::File, CheckpointError> {
    use std::io::{Read, Seek, Write};
    use std::os::fd::AsRawFd;
    let path = state_dir.join("lock");
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_err("opening the lock", &path))?;
    // SAFETY: flock on a descriptor this function owns.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(io_err("locking", &path)(e));
        }
        let mut holder = String::new();
        let _ = f.read_to_string(&mut holder);
        let holder = holder.trim();
        return Err(CheckpointError::Locked {
            path: state_dir.to_path_buf(),
            holder: if holder.is_empty() {
                "its pid unknown".into()
            } else {
                holder.to_string()
            },
        });
    }
    let mine = format!("pid {}\n", std::process::id());
    f.set_len(0)
        .and_then(|()| f.rewind())
        .and_then(|()| f.write_all(mine.as_bytes()))
        .map_err(io_err("writing the lock", &path))?;
    Ok(f)
}

impl Checkpointer {
    /// Checkpoints in `state_dir/checkpoints.json`; creates the directory.
    pub fn new(state_dir: &Path) -> Result<Self, CheckpointError> {
        fs::create_dir_all(state_dir).map_err(io_err("creating the state directory", state_dir))?;
        if !state_dir.is_dir() {
            return Err(CheckpointError::Unreadable {
                path: state_dir.to_path_buf(),
                message: "the state directory is not a directory".into(),
            });
        }
        Ok(Self {
            path: state_dir.join("checkpoints.json"),
            _lock: std::sync::Arc::new(lock(state_dir)?),
        })
    }

    /// The stored checkpoints; `Ok(None)` when there is no file yet (first start).
    pub fn load(&self) -> Result<Option<BTreeMap<FileId, FileCheckpoint>>, CheckpointError> {
        let text = match fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("reading checkpoints", &self.path)(e)),
        };
        let unreadable = |message: String| CheckpointError::Unreadable {
            path: self.path.clone(),
            message,
        };
        let disk: OnDisk = serde_json::from_slice(&text).map_err(|e| unreadable(e.to_string()))?;
        if disk.version != VERSION {
            return Err(unreadable(format!(
                "unknown checkpoint version {}",
                disk.version
            )));
        }
        Ok(Some(disk.files.into_iter().map(|f| (f.id, f)).collect()))
    }

    /// Writes all checkpoints atomically (temp file, fsync, rename, fsync
    /// of the directory).
    pub fn store(&self, files: &BTreeMap<FileId, FileCheckpoint>) -> Result<(), CheckpointError> {
        let disk = OnDisk {
            version: VERSION,
            files: files.values().cloned().collect(),
        };
        let tmp = self.path.with_extension("json.tmp");
        let write = |f: &mut File| -> io::Result<()> {
            serde_json::to_writer_pretty(&mut *f, &disk)?;
            f.write_all(b"\n")?;
            f.sync_all()
        };
        File::create(&tmp)
            .and_then(|mut f| write(&mut f))
            .map_err(io_err("writing checkpoints to", &tmp))?;
        fs::rename(&tmp, &self.path).map_err(io_err("renaming checkpoints to", &self.path))?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io_err("syncing", dir))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_first_start() {
        let dir = tempfile::tempdir().unwrap();
        let c = Checkpointer::new(&dir.path().join("state")).unwrap();
        assert!(c.load().unwrap().is_none());
        let id = FileId { dev: 1, ino: 2 };
        let mut m = BTreeMap::new();
        m.insert(
            id,
            FileCheckpoint {
                source: "app".into(),
                path: "/x.log".into(),
                id,
                fingerprint: Fingerprint { len: 3, hash: 9 },
                offset: 42,
                line_number: 3,
            },
        );
        c.store(&m).unwrap();
        assert_eq!(c.load().unwrap().unwrap(), m);
        std::fs::write(dir.path().join("state/checkpoints.json"), b"{oops").unwrap();
        assert!(c.load().is_err());
    }
}
