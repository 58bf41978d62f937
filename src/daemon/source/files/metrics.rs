//! The file source's own metrics: rotations and truncations per source,
//! its files' unread bytes and counts, the files open under the cap and the
//! listings of the globs. Registered once at start, counted here.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::daemon::metrics::{Fam, GaugeFam, SourceLabel};

/// The file source's metrics.
#[derive(Debug, Default)]
pub struct FileMetrics {
    rotations: Fam<SourceLabel>,
    truncations: Fam<SourceLabel>,
    lag: GaugeFam,
    files: GaugeFam,
    matched: GaugeFam,
    open: Gauge<i64, AtomicI64>,
    listings: Counter,
}

fn label(source: &str) -> SourceLabel {
    SourceLabel {
        source: source.into(),
    }
}

impl FileMetrics {
    /// Registers the metrics on `r`.
    pub fn register(r: &mut Registry) -> Arc<Self> {
        let m = Self::default();
        r.register(
            "trtc_logwatch_rotations",
            "Files renamed or deleted (rotation) and drained",
            m.rotations.clone(),
        );
        r.register(
            "trtc_logwatch_truncations",
            "Files found shorter than their offset (copytruncate), read again from 0",
            m.truncations.clone(),
        );
        r.register(
            "trtc_logwatch_file_listings",
            "Listings of every file source's globs (at start, on notifications, every rescan_interval)",
            m.listings.clone(),
        );
        r.register(
            "trtc_logwatch_lag_bytes",
            "Bytes written to a source's files but not read yet (size minus offset, summed)",
            m.lag.clone(),
        );
        r.register(
            "trtc_logwatch_files_watched",
            "Files followed per source (open or parked)",
            m.files.clone(),
        );
        r.register(
            "trtc_logwatch_source_files",
            "Files a file source's globs matched at its last listing (0: it follows nothing)",
            m.matched.clone(),
        );
        r.register(
            "trtc_logwatch_files_open",
            "Followed files open now (at most max_open_files; the others are parked)",
            m.open.clone(),
        );
        Arc::new(m)
    }

    /// Creates the series of the file source `source` at 0.
    pub fn declare(&self, source: &str) {
        let l = label(source);
        for fam in [&self.rotations, &self.truncations] {
            drop(fam.get_or_create(&l));
        }
        for g in [&self.lag, &self.files, &self.matched] {
            drop(g.get_or_create(&l));
        }
    }

    /// A rotation (rename or delete) of one of `source`'s files.
    pub fn rotation(&self, source: &str) {
        self.rotations.get_or_create(&label(source)).inc();
    }

    /// A truncation (copytruncate) of one of `source`'s files.
    pub fn truncation(&self, source: &str) {
        self.truncations.get_or_create(&label(source)).inc();
    }

    /// `source` follows `files` files with `lag_bytes` unread.
    pub fn files(&self, source: &str, files: usize, lag_bytes: u64) {
        let l = label(source);
        self.files
            .get_or_create(&l)
            .set(i64::try_from(files).unwrap_or(i64::MAX));
        self.lag
            .get_or_create(&l)
            .set(i64::try_from(lag_bytes).unwrap_or(i64::MAX));
    }

    /// The number of files `source`'s globs matched at its last listing.
    pub fn matched(&self, source: &str, n: usize) {
        self.matched
            .get_or_create(&label(source))
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Followed files open now, all sources.
    pub fn open(&self, n: usize) {
        self.open.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// The globs were listed once more.
    pub fn listing(&self) {
        self.listings.inc();
    }
}
