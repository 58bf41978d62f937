//! The two-thread split of a large block: the later part, cut at a record
//! start, is matched on a helper of one pool that lives with the process
//! while this thread does the first; where to cut follows the times both
//! took on the blocks before. Events come out in line order, the same as
//! on one thread.

use std::time::{Duration, Instant};

use super::{LineFindings, Now, Position, SourceScanner};
use crate::event::Event;
use crate::matcher::{Matcher, forms};
use crate::records::Bounds;

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
fn helpers() -> Option<&'static rayon_core::ThreadPool> {
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
const SPLIT_MIN: usize = 32 * 1024;
const SPLIT_EVENTS: u64 = 32;
const SPLIT_ALWAYS: usize = 512 * 1024;

/// The share of a split block this thread keeps at first, in thousandths:
/// it also builds and writes every event, so the helper takes more. Later
/// blocks move it between [`HEAD_SHARE_MIN`] and [`HEAD_SHARE_MAX`] by the
/// times both threads took.
pub(super) const HEAD_SHARE: u32 = 400;
pub(super) const HEAD_SHARE_MIN: u32 = 100;
pub(super) const HEAD_SHARE_MAX: u32 = 700;

impl SourceScanner {
    /// Where to cut `block` for a helper, if it is worth one: at the start
    /// of a record, so no record is cut in two.
    fn split_at(&self, block: &[u8], bounds: Bounds<'_>) -> Option<usize> {
        let worth = block.len() >= SPLIT_ALWAYS
            || (block.len() >= SPLIT_MIN && self.recent_events >= SPLIT_EVENTS);
        if self.workers < 2 || !worth {
            return None;
        }
        let from = (block.len() as u64 * u64::from(self.head_share) / 1000) as usize;
        match bounds {
            Bounds::Shapes { .. } => forms::record_boundary(block, from),
            Bounds::Starts(starts) => starts.get(starts.partition_point(|&x| x <= from)).copied(),
        }
        .filter(|&c| c > 0 && c < block.len())
    }

    pub(super) fn lines<E>(
        &mut self,
        matcher: &Matcher,
        block: &[u8],
        bounds: Bounds<'_>,
        now: &mut Now,
        emit: &mut impl FnMut(&Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let (Some(cut), Some(pool)) = (self.split_at(block, bounds), helpers()) else {
            return self.lines_here(matcher, block, bounds, &mut |sc, f| {
                sc.emit(matcher, f, now, emit)
            });
        };
        let (head, tail) = block.split_at(cut);
        // The helper's starts, from its own first byte.
        let tail_starts: Vec<usize> = match bounds {
            Bounds::Starts(starts) => starts
                .iter()
                .filter(|&&x| x >= cut)
                .map(|&x| x - cut)
                .collect(),
            Bounds::Shapes { .. } => Vec::new(),
        };
        let (head_bounds, tail_bounds) = match bounds {
            Bounds::Starts(starts) => (
                Bounds::Starts(&starts[..starts.partition_point(|&x| x < cut)]),
                Bounds::Starts(&tail_starts[..]),
            ),
            Bounds::Shapes { limit } => (Bounds::Shapes { limit }, Bounds::Shapes { limit }),
        };
        // The helper numbers its lines from 0; they are shifted once the
        // lines of `head` are counted here.
        let helper_at = Position {
            line_number: 0,
            offset: self.pos.offset + cut as u64,
        };
        let mut helper = SourceScanner {
            known: self.known.clone(),
            record_times: self.record_times.clone(),
            ..SourceScanner::new(String::new(), self.limit, helper_at)
        };
        let mut found = recycle(std::mem::take(&mut self.found));
        // The later part goes to a helper thread of the pool that lives as
        // long as the process (no thread started per block, its caches
        // stay warm), the first part is done here meanwhile.
        let mut done = None;
        let start = Instant::now();
        let mut head_time = Duration::ZERO;
        pool.in_place_scope(|scope| {
            let done = &mut done;
            let found = &mut found;
            scope.spawn(move |_| {
                let r: Result<(), std::convert::Infallible> =
                    helper.lines_here(matcher, tail, tail_bounds, &mut |_, f| {
                        found.push(f);
                        Ok(())
                    });
                let Ok(()) = r;
                *done = Some((helper, start.elapsed()));
            });
            let r = self.lines_here(matcher, head, head_bounds, &mut |sc, f| {
                sc.emit(matcher, f, now, emit)
            });
            head_time = start.elapsed();
            r
        })?;
        // (A helper that panicked has re-raised its panic at the end of the
        // scope: `done` is set once the scope ends.)
        let Some((helper, tail_time)) = done else {
            return self.lines_here(matcher, tail, tail_bounds, &mut |sc, f| {
                sc.emit(matcher, f, now, emit)
            });
        };
        self.rebalance(cut, block.len() - cut, head_time, tail_time);
        let shift = self.pos.line_number;
        self.stats.add(&helper.stats);
        self.pos = Position {
            line_number: shift + helper.pos.line_number,
            offset: helper.pos.offset,
        };
        for mut f in found.drain(..) {
            f.pos.line_number += shift;
            self.emit(matcher, f, now, emit)?;
        }
        self.found = recycle(found);
        Ok(())
    }

    /// Moves the share of the next split block this thread keeps towards
    /// the one at which both threads would have taken as long as each
    /// other on this one (`head` bytes here in `t_head`, `tail` bytes on
    /// the helper in `t_tail`), a quarter of the way each block.
    pub(super) fn rebalance(
        &mut self,
        head: usize,
        tail: usize,
        t_head: Duration,
        t_tail: Duration,
    ) {
        let per_byte = |t: Duration, n: usize| t.as_nanos() as f64 / n.max(1) as f64;
        let (here, there) = (per_byte(t_head, head), per_byte(t_tail, tail));
        if here + there <= 0.0 {
            return;
        }
        let want = (1000.0 * there / (here + there)) as u32;
        self.head_share = ((3 * self.head_share + want) / 4).clamp(HEAD_SHARE_MIN, HEAD_SHARE_MAX);
    }
}
