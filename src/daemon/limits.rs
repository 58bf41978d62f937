//! The process's limits. The file-descriptor budget: at start the soft
//! `RLIMIT_NOFILE` is raised to the hard limit; followed files and HTTP
//! connections then share what it allows, with room left for the daemon's
//! own descriptors (runtime, listener, inotify, events file, checkpoints,
//! logs), so that neither can starve the other. And memory: large buffers
//! go back to the system when freed ([`return_large_buffers`]).

use std::io;

/// Descriptors kept for the daemon itself.
const RESERVED: u64 = 32;

/// The soft limit on open files now (1024 when it cannot be read).
pub fn nofile() -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } == 0 {
        r.rlim_cur
    } else {
        1024
    }
}

/// Raises the soft limit on open files to the hard limit; returns the soft
/// limit in force afterwards.
pub fn raise_nofile() -> io::Result<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return Err(io::Error::last_os_error());
        }
        if r.rlim_cur < r.rlim_max {
            let want = libc::rlimit {
                rlim_cur: r.rlim_max,
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) != 0 {
                return Err(io::Error::last_os_error());
            }
            r.rlim_cur = r.rlim_max;
        }
    }
    Ok(r.rlim_cur)
}

/// Followed files open at once when the config does not say: half of what
/// the limit leaves after the reserve, 8 to 8192.
pub fn auto_open_files(nofile: u64) -> usize {
    (nofile.saturating_sub(RESERVED) / 2).clamp(8, 8192) as usize
}

/// Concurrent HTTP connections when the config does not say: a quarter of
/// what the limit leaves after the reserve, 4 to 512.
pub fn auto_http_connections(nofile: u64) -> usize {
    (nofile.saturating_sub(RESERVED) / 4).clamp(4, 512) as usize
}

/// Large buffers (request bodies, records, held events) go back to the
/// system when freed: glibc's malloc otherwise raises its mmap threshold
/// after the first large free, and later large buffers stay in its arenas
/// (490 MB stayed after an ingest attack). A fixed threshold keeps buffers
/// above it in mappings of their own, unmapped on free.
pub fn return_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        /// Buffers from this size on are mapped on their own.
        const MMAP_THRESHOLD: libc::c_int = 256 * 1024;
        /// Free memory an arena keeps at its top before it gives it back.
        /// Fixing the mmap threshold also fixes this at 128 KiB, and the
        /// threads' arenas then give back and fault in again the memory of
        /// every block in a storm (278 `madvise` calls for a 64 MiB storm
        /// on stdin, about 5 % of its time).
        const TRIM_THRESHOLD: libc::c_int = 4 << 20;
        // SAFETY: mallopt changes a setting of the allocator; called once at
        // start, it has no memory-safety precondition.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_fit_under_the_limit() {
        for n in [64u64, 256, 1024, 20_000, 1 << 20] {
            let (f, h) = (auto_open_files(n) as u64, auto_http_connections(n) as u64);
            assert!(f + h + RESERVED <= n.max(64), "{n}: {f} + {h}");
        }
        assert_eq!(auto_open_files(1024), 496);
        assert!(raise_nofile().unwrap() >= nofile().min(1024));
    }
}
