//! File identity and checkpoints: what the file reader and the events sink
//! share. [`fingerprint`] tells one file from another (device + inode +
//! first bytes); [`checkpoint`] stores, per file, the offset just past the
//! last line whose events were written.

pub mod checkpoint;
pub mod fingerprint;
