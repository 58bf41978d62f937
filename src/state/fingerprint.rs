//! File identity: device + inode, plus a fingerprint of the first bytes so
//! that a reused inode (a new file that got a deleted file's inode) and a
//! truncated-then-rewritten file are told apart.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};

use serde::{Deserialize, Serialize};

use crate::lines::retry_interrupted;

/// Opens `path` for reading only if it is a regular file, without ever
/// waiting: a FIFO (or a device) at a followed or rotated path would block
/// `open` until a writer comes, and with it the whole file source. Opened
/// with `O_NONBLOCK`, checked, then set back to blocking reads.
pub fn open_regular(path: &std::path::Path) -> io::Result<File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let f = retry_interrupted(|| {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
    })?;
    if !f.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, socket or device is not followed)",
        ));
    }
    let fd = f.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function owns, with plain flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(f)
}

/// Bytes hashed for the fingerprint.
pub const FP_LEN: usize = 256;

/// Device and inode of an open file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileId {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

impl FileId {
    /// The identity of `meta`.
    pub fn of(meta: &std::fs::Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// FNV-1a hash of the first `len` bytes of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// How many bytes were hashed (less than [`FP_LEN`] for a short file).
    pub len: u32,
    /// The hash.
    pub hash: u64,
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The first `len` bytes of `file` (fewer if it is shorter).
pub fn read_prefix(file: &File, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; len];
    let mut got = 0;
    while got < len {
        match retry_interrupted(|| file.read_at(&mut buf[got..], got as u64))? {
            0 => break,
            n => got += n,
        }
    }
    buf.truncate(got);
    Ok(buf)
}

/// How a file compares with a fingerprint taken earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// It starts with the same bytes, and no more of them.
    Same,
    /// It starts with the same bytes and has grown: keep this longer one.
    Grown(Fingerprint),
    /// Its first bytes changed: truncated and rewritten, or another file.
    Changed,
}

impl Fingerprint {
    /// The fingerprint of `file` now.
    pub fn of(file: &File) -> io::Result<Self> {
        Ok(Self::of_prefix(&read_prefix(file, FP_LEN)?))
    }

    /// The fingerprint of a file whose first bytes are `head` (any length:
    /// only the first [`FP_LEN`] count).
    pub fn of_prefix(head: &[u8]) -> Self {
        let p = &head[..head.len().min(FP_LEN)];
        Self {
            len: p.len() as u32,
            hash: fnv(p),
        }
    }

    /// Whether `prefix` (a stream's first bytes) starts with the bytes this
    /// fingerprint was made from.
    pub fn matches_prefix(&self, prefix: &[u8]) -> bool {
        prefix.len() >= self.len as usize && fnv(&prefix[..self.len as usize]) == self.hash
    }

    /// Whether `file` still starts with the bytes this fingerprint was made from.
    pub fn check(&self, file: &File) -> io::Result<Check> {
        Ok(self.check_prefix(&read_prefix(file, FP_LEN)?))
    }

    /// [`check`](Self::check) against a file's first bytes `head`.
    pub fn check_prefix(&self, head: &[u8]) -> Check {
        let p = &head[..head.len().min(FP_LEN)];
        if !self.matches_prefix(p) {
            return Check::Changed;
        }
        if p.len() > self.len as usize {
            return Check::Grown(Self::of_prefix(p));
        }
        Check::Same
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn grows_and_detects_rewrites() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"line 1\n").unwrap();
        let f = File::open(&p).unwrap();
        let fp = Fingerprint::of(&f).unwrap();
        assert_eq!(fp.len, 7);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"line 2\n")
            .unwrap();
        let Check::Grown(grown) = fp.check(&f).unwrap() else {
            panic!("not grown")
        };
        assert_eq!(grown.len, 14);
        assert_eq!(grown.check(&f).unwrap(), Check::Same);
        std::fs::write(&p, b"line 3\n").unwrap();
        assert_eq!(grown.check(&f).unwrap(), Check::Changed);
    }
}
