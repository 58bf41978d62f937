//! What the two-thread split of a large block works with: the helper pool
//! that lives with the process, when a block is worth splitting and the
//! share each thread starts with, and the findings a helper hands back
//! (their memory reused block after block). The split itself is
//! `SourceScanner::lines`.

use std::borrow::Cow;

use super::stats::Position;
use crate::context;
use crate::matcher::Detection;

/// An empty vector for findings of another block, with the memory of `v`
/// (collecting into a vector of the same layout reuses its allocation).
#[allow(
    clippy::unnecessary_filter_map,
    reason = "the item type changes (its lifetime), which `filter` cannot do"
)]
pub(super) fn recycle<'b>(mut v: Vec<LineFindings<'_>>) -> Vec<LineFindings<'b>> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

/// The threads a scanner uses by default: the CPUs available, at most 4.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// The helper threads every scanner hands the later part of a large block
/// to: one pool for the process, started on first use, with a thread per
/// CPU but one (at least one). `None` if its threads could not be started
/// (a limit on processes): blocks are then scanned on one thread.
pub(super) fn helpers() -> Option<&'static rayon_core::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon_core::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let n = default_workers().saturating_sub(1).max(1);
        rayon_core::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("scan-helper-{i}"))
            .build()
            .inspect_err(|e| {
                tracing::warn!("no helper threads ({e}): large blocks are scanned on one thread");
            })
            .ok()
    })
    .as_ref()
}

/// A chunk is cut in two for the helper thread from this size when the
/// previous one held [`SPLIT_EVENTS`] events, and from [`SPLIT_ALWAYS`]
/// whatever it held: below that, the thread costs more than it saves.
pub(super) const SPLIT_MIN: usize = 32 * 1024;
pub(super) const SPLIT_EVENTS: u64 = 32;
pub(super) const SPLIT_ALWAYS: usize = 512 * 1024;

/// The share of a split block this thread keeps at first, in thousandths:
/// it also builds and writes every event, so the helper takes more. Later
/// blocks move it between [`HEAD_SHARE_MIN`] and [`HEAD_SHARE_MAX`] by the
/// times both threads took.
pub(super) const HEAD_SHARE: u32 = 400;
pub(super) const HEAD_SHARE_MIN: u32 = 100;
pub(super) const HEAD_SHARE_MAX: u32 = 700;

/// What one record with errors gave, before its events are built.
#[derive(Debug)]
pub(super) struct LineFindings<'b> {
    /// The record's text (lines joined by `\n`, at most the line limit).
    pub(super) raw: Cow<'b, [u8]>,
    pub(super) text: Cow<'b, str>,
    pub(super) pos: Position,
    pub(super) truncated: bool,
    /// A WARN record saying the SDK retries or falls back.
    pub(super) recovered: bool,
    pub(super) dets: Vec<Detection>,
    pub(super) lifted: context::Lifted,
}
