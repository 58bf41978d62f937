//! Matching inside the record pipeline ([`crate::pipeline`]): chunks of
//! lines in, events out, with counters for everything that was read, cut or
//! skipped.
//!
//! A [`SourceScanner`] holds one source's position and counters, not the
//! matcher: the matcher is passed with every chunk, so a reload reaches
//! every source before its next block.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use crate::context;
use crate::event::{Event, LineInfo};
use crate::lines::Chunk;
use crate::matcher::{Hints, Matcher, forms};
use crate::records::{self, Bounds};

mod split;
mod stats;
mod text;

pub use split::default_workers;
use split::{
    HEAD_SHARE, HEAD_SHARE_MAX, HEAD_SHARE_MIN, LineFindings, SPLIT_ALWAYS, SPLIT_EVENTS,
    SPLIT_MIN, helpers, recycle,
};
pub use stats::{Position, Stats};
pub use text::count_long_lines;
use text::joined;
pub(crate) use text::trim_cr;

/// How a [`SourceScanner`] is set up.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// The source's name (the events' `source`).
    pub name: String,
    /// The events' `path` (the file, or `stdin`); `None`: the name.
    pub path: Option<String>,
    /// Most bytes of a line matched.
    pub limit: usize,
    /// Where the first chunk starts.
    pub start: Position,
    /// Threads that match a large chunk (this one and helpers): 1 to 8.
    pub workers: usize,
    /// Context known from outside the text (an upload's user, sdkAppId,
    /// SDK version, browser, OS): in every event, over what the text says.
    pub known: Option<crate::context::Context>,
}

/// Scans chunks of one source. Holds the source's position and counters.
///
/// With more than one worker ([`ScanOptions::workers`]), a
/// large chunk is cut at a line that starts a new log record and its later
/// part is analysed (matching, resolution, context) on a scoped helper
/// thread while this thread does the first part; the helper's findings are
/// turned into events here, after the first part's, so events come in line
/// order and are exactly those of a sequential scan.
#[derive(Debug)]
pub struct SourceScanner {
    name: String,
    path: String,
    limit: usize,
    workers: usize,
    /// Events of the last chunk: a storm keeps both threads busy.
    recent_events: u64,
    /// The share of a split block this thread keeps, in thousandths: set
    /// from the last blocks' times so that both threads finish together.
    head_share: u32,
    /// False while a block without a `%` is scanned: none of its records
    /// is URL-encoded (one search per block, not one per record).
    escapes: bool,
    /// Where the next chunk starts.
    pos: Position,
    /// Counters so far.
    stats: Stats,
    /// Counters as of the last [`take_delta`](Self::take_delta).
    reported: Stats,
    /// After a line cut at the limit (which comes alone): the lines that
    /// continue its record, not matched on their own.
    cut_record: Option<records::CutRecord>,
    /// Context known from outside the text (an upload's body), over what
    /// the lines say.
    known: Option<Box<crate::context::Context>>,
    /// The collector's times of the records being scanned: (offset of each
    /// record, its time), ascending.
    record_times: Vec<(u64, jiff::Timestamp)>,
    /// The helper's findings of the last block, emptied: their memory
    /// serves the next block. A storm's is about 1 MiB a block; allocated
    /// afresh, it would be mapped, faulted in and unmapped every block
    /// (large buffers are mapped on their own in the daemon: 8-10 % of a
    /// storm on stdin).
    found: Vec<LineFindings<'static>>,
}

impl SourceScanner {
    /// A scanner set up by `o` (the pipeline's builder fills it).
    pub fn new(o: ScanOptions) -> Self {
        Self {
            path: o.path.unwrap_or_else(|| o.name.clone()),
            name: o.name,
            limit: o.limit,
            workers: o.workers.clamp(1, 8),
            recent_events: 0,
            head_share: HEAD_SHARE,
            escapes: true,
            pos: o.start,
            stats: Stats::default(),
            reported: Stats::default(),
            cut_record: None,
            known: o.known.map(Box::new),
            record_times: Vec::new(),
            found: Vec::new(),
        }
    }

    /// Where the next chunk starts.
    pub fn position(&self) -> Position {
        self.pos
    }

    /// Starts the next chunk at `pos` (a truncated file read again).
    pub fn set_position(&mut self, pos: Position) {
        self.pos = pos;
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The times a collector gave the records about to be scanned (`times`
    /// beside `starts`, offsets in the next block); empty: none.
    pub fn record_times(&mut self, starts: &[usize], times: &[Option<jiff::Timestamp>]) {
        let base = self.pos.offset;
        self.record_times = starts
            .iter()
            .zip(times)
            .filter_map(|(s, t)| Some((base + *s as u64, (*t)?)))
            .collect();
    }

    /// The counters added since the last call (for metrics).
    pub fn take_delta(&mut self) -> Stats {
        let d = self.stats.since(&self.reported);
        self.reported = self.stats;
        d
    }

    /// Scans one chunk from a [`LineReader`] with `m`, calling `emit` for each event.
    pub fn chunk<E>(
        &mut self,
        m: &Matcher,
        chunk: Chunk<'_>,
        emit: &mut impl FnMut(&Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut now = Now::default();
        match chunk {
            Chunk::Lines(b) => {
                let bounds = Bounds::Shapes { limit: self.limit };
                // The lines that continue a cut line's record are part of
                // it: counted, not matched on their own (as in a text held
                // whole, where they come after the record's limit).
                let skip = match &mut self.cut_record {
                    Some(cut) => {
                        let (n, goes_on) = cut.continued_in(b, self.limit);
                        if !goes_on {
                            self.cut_record = None;
                        }
                        n
                    }
                    None => 0,
                };
                if skip > 0 {
                    self.count_unmatched(&b[..skip]);
                }
                if skip < b.len() {
                    self.block(m, &b[skip..], bounds, &mut now, emit)?;
                }
                Ok(())
            }
            Chunk::CutLine(b) => {
                self.cut_record = Some(records::CutRecord::new());
                self.stats.cut_lines += 1;
                self.stats.lines += 1;
                self.stats.bytes += b.len() as u64;
                if std::str::from_utf8(b).is_err() {
                    self.stats.invalid_utf8 += 1;
                }
                let pos = self.pos;
                self.pos.offset += b.len() as u64;
                let b = trim_cr(b);
                match self.analyze(m, Cow::Borrowed(b), None, b.len(), pos, true) {
                    Some(f) => self.emit(m, f, &mut now, emit),
                    None => Ok(()),
                }
            }
            Chunk::Skipped { bytes, end } => {
                self.stats.bytes += bytes;
                self.pos.offset += bytes;
                if end {
                    self.pos.line_number += 1;
                }
                Ok(())
            }
        }
    }

    /// Scans a body of records whose starts its decoder knows (offsets in
    /// `text`, ascending), calling `emit` for each event.
    pub fn records<E>(
        &mut self,
        m: &Matcher,
        text: &[u8],
        starts: &[usize],
        emit: &mut impl FnMut(&Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.block(m, text, Bounds::Starts(starts), &mut Now::default(), emit)
    }

    fn block<E>(
        &mut self,
        m: &Matcher,
        b: &[u8],
        bounds: Bounds<'_>,
        now: &mut Now,
        emit: &mut impl FnMut(&Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let before = self.stats.events;
        let r = self.lines(m, b, bounds, now, emit);
        self.recent_events = self.stats.events - before;
        r
    }

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

    fn lines<E>(
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
            ..SourceScanner::new(ScanOptions {
                limit: self.limit,
                start: helper_at,
                ..ScanOptions::default()
            })
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
    fn rebalance(&mut self, head: usize, tail: usize, t_head: Duration, t_tail: Duration) {
        let per_byte = |t: Duration, n: usize| t.as_nanos() as f64 / n.max(1) as f64;
        let (here, there) = (per_byte(t_head, head), per_byte(t_tail, tail));
        if here + there <= 0.0 {
            return;
        }
        let want = (1000.0 * there / (here + there)) as u32;
        self.head_share = ((3 * self.head_share + want) / 4).clamp(HEAD_SHARE_MIN, HEAD_SHARE_MAX);
    }

    /// Scans a block of whole lines on this thread, handing each record
    /// with errors to `found`. A record is found from any of its lines that
    /// the block-wide search flags, and matched once, as a whole.
    fn lines_here<'b, E>(
        &mut self,
        matcher: &Matcher,
        block: &'b [u8],
        bounds: Bounds<'_>,
        found: &mut impl FnMut(&mut Self, LineFindings<'b>) -> Result<(), E>,
    ) -> Result<(), E> {
        let base = self.pos;
        // The block as text when it is all UTF-8 (most are): its records
        // are then slices of it, not validated again.
        let block_text = self.count_bytes(block);
        let mut counted_to = 0;
        let mut line_number = base.line_number;
        let mut result = Ok(());
        // The first byte after the last record matched.
        let mut next = 0;
        self.escapes = memchr::memchr(b'%', block).is_some();
        matcher.candidate_lines(block, |s, e| {
            if result.is_err() || s < next {
                return;
            }
            let (head, end) = records::extent(block, s, e, next, bounds);
            next = end + 1;
            line_number += memchr::memchr_iter(b'\n', &block[counted_to..head]).count() as u64;
            counted_to = head;
            let pos = Position {
                line_number,
                offset: base.offset + head as u64,
            };
            let truncated = end - head > self.limit;
            let end = if truncated { head + self.limit } else { end };
            let matched = records::match_end(block, head, end).min(end);
            let (raw, matched) = joined(block, head, matched, end);
            let text = match raw {
                Cow::Borrowed(_) => block_text.and_then(|t| t.get(head..end)),
                Cow::Owned(_) => None,
            };
            if let Some(f) = self.analyze(matcher, raw, text, matched, pos, truncated) {
                result = found(self, f);
            }
        });
        self.escapes = true;
        result?;
        // Lines up to the last candidate are counted; count the rest.
        let nl = line_number - base.line_number
            + memchr::memchr_iter(b'\n', &block[counted_to..]).count() as u64;
        let partial = u64::from(block.last().is_some_and(|&b| b != b'\n'));
        self.stats.lines += nl + partial;
        self.pos.line_number = base.line_number + nl + partial;
        self.pos.offset = base.offset + block.len() as u64;
        Ok(())
    }

    /// Counts the bytes of a block of whole lines: cut lines, invalid UTF-8.
    /// The block as text, if it is all valid UTF-8.
    fn count_bytes<'b>(&mut self, block: &'b [u8]) -> Option<&'b str> {
        self.stats.bytes += block.len() as u64;
        self.stats.cut_lines += count_long_lines(block, self.limit);
        let text = std::str::from_utf8(block).ok();
        if text.is_none() {
            self.stats.invalid_utf8 += block
                .split(|&b| b == b'\n')
                .filter(|l| std::str::from_utf8(l).is_err())
                .count() as u64;
        }
        text
    }

    /// Counts whole lines as read without matching them (they continue a
    /// record matched before).
    fn count_unmatched(&mut self, block: &[u8]) {
        self.count_bytes(block);
        let nl = memchr::memchr_iter(b'\n', block).count() as u64;
        let partial = u64::from(block.last().is_some_and(|&b| b != b'\n'));
        self.stats.lines += nl + partial;
        self.pos.line_number += nl + partial;
        self.pos.offset += block.len() as u64;
    }

    /// Matches a record's first `matched` bytes and lifts its context;
    /// `None` when it holds no error. `text`: `raw` as text, when it is
    /// known to be valid UTF-8 (a slice of a valid block).
    fn analyze<'b>(
        &mut self,
        matcher: &Matcher,
        raw: Cow<'b, [u8]>,
        text: Option<&'b str>,
        matched: usize,
        pos: Position,
        truncated: bool,
    ) -> Option<LineFindings<'b>> {
        // Cheap first look: most candidate records hold no error.
        let mut hits = matcher.find(&raw[..matched]);
        if hits.own_output() {
            self.stats.own_output += 1;
        }
        // A record sent URL-encoded (a query, a form body) is read as it
        // was written, when that is where its error is.
        let (mut raw, mut matched, mut text) = (raw, matched, text);
        if let Some(decoded) = (self.escapes && !hits.ignored())
            .then(|| forms::url_decoded(&raw))
            .flatten()
        {
            let cut = forms::url_decoded(&raw[..matched]).map_or(matched, |d| d.len());
            let cut = cut.min(decoded.len());
            let found = matcher.find(&decoded[..cut]);
            if !found.is_empty() {
                (hits, matched, text) = (found, cut, None);
                raw = Cow::Owned(decoded);
            }
        }
        if hits.is_empty() {
            matcher.count_taken(&hits);
            return None;
        }
        // A credential in the record (a userSig the SDK or the app logged)
        // is replaced before anything is built from it.
        if let (Cow::Owned(clean), shift) = crate::redact::redact(&raw) {
            matched = shift.map(matched).min(clean.len());
            hits = matcher.find(&clean[..matched]);
            raw = Cow::Owned(clean);
            if hits.is_empty() {
                matcher.count_taken(&hits);
                return None;
            }
        }
        // The record's final hits: its operator's rule (if one) counts it.
        matcher.count_taken(&hits);
        let text = match (&raw, text) {
            (Cow::Borrowed(_), Some(t)) => Cow::Borrowed(t),
            (Cow::Borrowed(b), None) => String::from_utf8_lossy(b),
            (Cow::Owned(v), _) => Cow::Owned(String::from_utf8_lossy(v).into_owned()),
        };
        let mut lifted = context::lift(&text);
        // The user and room an operator's rule found on the line.
        let (user, room) = hits.operator_context();
        let part = |r: std::ops::Range<usize>| {
            raw.get(r)
                .map(|b| String::from_utf8_lossy(b).trim().to_string())
                .filter(|v| !v.is_empty())
        };
        if let Some(u) = user.and_then(part) {
            lifted.context.user_id = Some(u);
        }
        if let Some(r) = room.and_then(part) {
            lifted.context.room_id = Some(r);
        }
        if lifted.bad_json {
            self.stats.bad_json += 1;
        }
        let hints = Hints {
            sdk_major: lifted
                .context
                .sdk_major()
                .or_else(|| self.known.as_ref().and_then(|k| k.sdk_major())),
        };
        let dets = matcher.resolve(&raw[..matched], &hits, hints);
        Some(LineFindings {
            recovered: forms::is_recovery(&raw[..matched]),
            raw,
            text,
            pos,
            truncated,
            dets,
            lifted,
        })
    }

    /// Builds and hands on the events of one line.
    fn emit<E>(
        &mut self,
        matcher: &Matcher,
        f: LineFindings<'_>,
        now: &mut Now,
        emit: &mut impl FnMut(&Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        // The line's own time, else its record's as the collector gave it
        // (with when it arrived), else when it was read.
        let record_time = || {
            let i = self
                .record_times
                .partition_point(|(o, _)| *o <= f.pos.offset)
                .checked_sub(1)?;
            let (at, t) = self.record_times.get(i)?;
            (*at == f.pos.offset).then_some(*t)
        };
        let (ts, received) = match (f.lifted.ts, record_time()) {
            (Some(t), _) => (Cow::Owned(t.to_string()), None),
            (None, Some(t)) => (Cow::Owned(t.to_string()), Some(now.get().to_string())),
            // The time the block was read, formatted once for all its events.
            (None, None) => (Cow::Borrowed(now.get()), None),
        };
        let info = LineInfo {
            source: &self.name,
            path: &self.path,
            line_number: f.pos.line_number,
            offset: f.pos.offset,
            truncated: f.truncated,
        };
        let set = matcher.catalog();
        let n = f.dets.len();
        let mut lifted = f.lifted.context;
        if let Some(k) = &self.known {
            lifted.overlay(k);
        }
        let mut context = Some(lifted);
        let mut ts = Some(ts);
        for (i, d) in f.dets.iter().enumerate() {
            // The last event takes the line's context and time, the others copies.
            let (c, t) = if i + 1 == n {
                (context.take(), ts.take())
            } else {
                (context.clone(), ts.clone())
            };
            let mut ev = Event::new(
                set,
                d,
                &f.text,
                &f.raw,
                info,
                c.unwrap_or_default(),
                t.unwrap_or_default(),
            );
            ev.recovered = f.recovered;
            ev.received.clone_from(&received);
            if f.recovered {
                self.stats.recoveries += 1;
            } else {
                self.stats.events += 1;
            }
            emit(&ev)?;
        }
        Ok(())
    }
}

/// Ingest time, read from the clock once per chunk (for lines without a
/// time of their own).
#[derive(Default)]
struct Now(Option<String>);

impl Now {
    fn get(&mut self) -> &str {
        self.0
            .get_or_insert_with(|| jiff::Timestamp::now().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_moves_to_where_both_threads_take_as_long() {
        let mut sc = SourceScanner::new(ScanOptions {
            name: "t".into(),
            limit: 1024,
            ..ScanOptions::default()
        });
        let ms = Duration::from_millis;
        // This thread took 3 ms a byte-share, the helper 1: keep less here.
        sc.rebalance(400, 600, ms(12), ms(6));
        assert!(sc.head_share < HEAD_SHARE, "{}", sc.head_share);
        for _ in 0..50 {
            sc.rebalance(400, 600, ms(12), ms(6));
        }
        assert_eq!(sc.head_share, 250);
        // Never all on one side, whatever the times.
        for _ in 0..50 {
            sc.rebalance(400, 600, ms(1000), ms(0));
        }
        assert_eq!(sc.head_share, HEAD_SHARE_MIN);
        for _ in 0..50 {
            sc.rebalance(400, 600, ms(0), ms(1000));
        }
        assert_eq!(sc.head_share, HEAD_SHARE_MAX);
        sc.rebalance(0, 0, ms(0), ms(0));
        assert_eq!(sc.head_share, HEAD_SHARE_MAX);
    }

    #[test]
    fn findings_of_the_next_block_reuse_the_memory_of_the_last() {
        let v: Vec<LineFindings<'static>> = Vec::with_capacity(4096);
        let (cap, at) = (v.capacity(), v.as_ptr() as usize);
        let w: Vec<LineFindings<'_>> = recycle(v);
        assert_eq!((w.capacity(), w.as_ptr() as usize), (cap, at));
    }

    #[test]
    fn long_line_count() {
        assert_eq!(count_long_lines(b"aaaa\nbb\n", 3), 1);
        assert_eq!(count_long_lines(b"aaa\nbbb\n", 3), 0);
        assert_eq!(count_long_lines(b"aaaaaaaa\nb\ncccccccc\n", 3), 2);
        assert_eq!(count_long_lines(b"aaaaaaaa", 3), 1);
    }
}
