//! The record pipeline: bytes in, events out, for every source.
//!
//! A [`Pipeline`] owns one source's whole way from bytes to events:
//! reading (a [`Read`]er, or a body held in memory), splitting into
//! bounded lines, the matcher call, the position and the counters. Where
//! the events go is the caller's [`EventSink`], in the spirit of
//! ripgrep's `grep_searcher::Sink`: `scan` writes them to stdout, the
//! daemon's sources queue them for its sink. So a source is one call:
//! [`Pipeline::read_pass`] for what grows (followed files, stdin),
//! [`Pipeline::read_to_end`] for a stream read once, [`Pipeline::text`]
//! for a body in memory (HTTP ingest, a batch of NATS messages).
//!
//! The unit handed on is the log record: today a record is one line (a
//! split SDK 4.15 error being joined by the scanner); a record that spans
//! lines is held back by the pipeline until its end is seen, the next
//! record's start or [`Pipeline::finish`], so no source changes for it.

use std::io::Read;
use std::sync::Arc;

use crate::event::Event;
use crate::lines::{Chunk, LineReader, Pass, ReadError};
use crate::matcher::Matcher;
use crate::scan::{Position, ScanOptions, SourceScanner, Stats};

/// Where a pipeline's events go, and the matcher it uses.
pub trait EventSink {
    /// What stops the pipeline (a closed output, a stopped queue).
    type Error;

    /// The matcher for the next block of input, asked once per block after
    /// its bytes arrived: a reload reaches every source at its next block.
    fn matcher(&mut self) -> Arc<Matcher>;

    /// One event, in input order.
    fn event(&mut self, ev: &Event<'_>) -> Result<(), Self::Error>;

    /// An error the SDK recovered from by itself (a WARN record saying it
    /// retries or falls back): no error event, but worth counting per key.
    /// By default, nothing is done with it.
    fn recovered(&mut self, ev: &Event<'_>) -> Result<(), Self::Error> {
        let _ = ev;
        Ok(())
    }

    /// After each block's events: `delta` is what the block added to the
    /// counters (queue the events, count them, show progress).
    fn block_done(&mut self, delta: &Stats) -> Result<(), Self::Error> {
        let _ = delta;
        Ok(())
    }
}

/// An [`EventSink`] from a matcher and a closure called with each event.
pub struct FnSink<F> {
    matcher: Arc<Matcher>,
    f: F,
}

impl<F> FnSink<F> {
    /// Matches with `matcher`, hands each event to `f`.
    pub fn new(matcher: Arc<Matcher>, f: F) -> Self {
        Self { matcher, f }
    }
}

impl<F, E> EventSink for FnSink<F>
where
    F: FnMut(&Event<'_>) -> Result<(), E>,
{
    type Error = E;

    fn matcher(&mut self) -> Arc<Matcher> {
        Arc::clone(&self.matcher)
    }

    fn event(&mut self, ev: &Event<'_>) -> Result<(), E> {
        (self.f)(ev)
    }
}

/// How large a pipeline's read buffer is: the block it matches at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferKind {
    /// One input read at a time (`scan`, stdin, NATS, a compressed file):
    /// 1 MiB, or twice the line limit, so large blocks can be matched on
    /// two threads.
    Stream,
    /// One of many followed files: the line limit plus 64 KiB.
    Follow,
    /// A followed file far behind its end (a storm): as large as
    /// [`Stream`](Self::Stream)'s, so its blocks are matched on two
    /// threads. Lent to a few files at a time (see
    /// `daemon::source::files::storm`).
    Storm,
}

impl BufferKind {
    /// The buffer's size in bytes for lines cut at `limit`.
    pub fn bytes(self, limit: usize) -> usize {
        match self {
            Self::Stream | Self::Storm => (1 << 20).max(limit * 2),
            Self::Follow => limit + 64 * 1024,
        }
    }
}

/// Builds a [`Pipeline`].
#[derive(Debug, Clone)]
pub struct PipelineBuilder {
    name: String,
    path: Option<String>,
    limit: usize,
    buffer: BufferKind,
    workers: usize,
    start: Position,
    known: Option<crate::context::Context>,
}

impl PipelineBuilder {
    /// The events' `path` (the file, `stdin`, `http`) when it is not the
    /// source's name.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Lines longer than `limit` bytes are cut (their first `limit` bytes
    /// matched). Default: [`crate::lines::DEFAULT_MAX_LINE`].
    pub fn max_line_bytes(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The read buffer. Default: [`BufferKind::Stream`].
    pub fn buffer(mut self, kind: BufferKind) -> Self {
        self.buffer = kind;
        self
    }

    /// Threads that match a large block (this one and `n - 1` scoped
    /// helpers). Default: 1.
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Where the input starts (a checkpoint). Default: line 1, offset 0.
    pub fn start(mut self, pos: Position) -> Self {
        self.start = pos;
        self
    }

    /// Context known from outside the text (an upload's user, sdkAppId,
    /// SDK version, browser, OS): in every event, over what the text says.
    pub fn context(mut self, known: crate::context::Context) -> Self {
        self.known = Some(known);
        self
    }

    /// The pipeline.
    pub fn build(self) -> Pipeline {
        let scanner = SourceScanner::new(ScanOptions {
            name: self.name,
            path: self.path,
            limit: self.limit,
            start: self.start,
            workers: self.workers,
            known: self.known,
        });
        Pipeline {
            reader: None,
            limit: self.limit,
            buffer: self.buffer,
            scanner,
        }
    }
}

/// How long the lines of a record that a read ended in are kept back for
/// the lines that may continue it (a writer that writes one record in
/// several writes) before they are matched as they are.
pub const RECORD_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

/// One source's bytes-to-events pipeline (see the module docs).
#[derive(Debug)]
pub struct Pipeline {
    /// Allocated at the first read: a pipeline of bodies in memory has none.
    reader: Option<LineReader>,
    limit: usize,
    buffer: BufferKind,
    scanner: SourceScanner,
}

impl Pipeline {
    /// A pipeline for the source `name` (the events' `source`).
    pub fn builder(name: impl Into<String>) -> PipelineBuilder {
        PipelineBuilder {
            name: name.into(),
            path: None,
            limit: crate::lines::DEFAULT_MAX_LINE,
            buffer: BufferKind::Stream,
            workers: 1,
            start: Position::default(),
            known: None,
        }
    }

    /// Reads `r` until it returns 0 (`eof`), `budget` bytes were read
    /// (`more`) or a read returned less than offered (a pipe with nothing
    /// more for now), handing the events of every complete line to `sink`.
    pub fn read_pass<R: Read + ?Sized, S: EventSink>(
        &mut self,
        r: &mut R,
        budget: usize,
        sink: &mut S,
    ) -> Result<Pass, ReadError<S::Error>> {
        let reader = self
            .reader
            .get_or_insert_with(|| LineReader::new(self.limit, self.buffer.bytes(self.limit)));
        let scanner = &mut self.scanner;
        // A record that the next read may continue waits for it.
        reader.read_pass_holding(r, budget, &crate::records::tail_to_hold, &mut |c| {
            block(scanner, c, sink)
        })
    }

    /// True while a record's lines are kept back, waiting for the lines
    /// that may continue it (a writer between the lines of one record).
    pub fn is_holding(&self) -> bool {
        self.reader.as_ref().is_some_and(LineReader::is_holding)
    }

    /// Matches the lines kept back: what would continue their record did
    /// not come in time ([`RECORD_WAIT`]). A final partial line still waits.
    pub fn release<S: EventSink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        let Some(reader) = &mut self.reader else {
            return Ok(());
        };
        let scanner = &mut self.scanner;
        reader.release(&mut |c| block(scanner, c, sink))
    }

    /// Hands on a final line without `\n` (end of input, idle, close).
    pub fn finish<S: EventSink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        let Some(reader) = &mut self.reader else {
            return Ok(());
        };
        let scanner = &mut self.scanner;
        reader.finish(&mut |c| block(scanner, c, sink))
    }

    /// Reads `r` to its end, its final line without `\n` included.
    pub fn read_to_end<R: Read + ?Sized, S: EventSink>(
        &mut self,
        r: &mut R,
        sink: &mut S,
    ) -> Result<(), ReadError<S::Error>> {
        self.read_to_end_live(r, &mut |_| true, sink)
    }

    /// [`read_to_end`](Self::read_to_end) of an input that may pause (a
    /// pipe): `input_within(RECORD_WAIT)` says whether more input comes in
    /// time; when it does not, a record kept back for its next lines is
    /// matched at once instead of at the input's end.
    pub fn read_to_end_live<R: Read + ?Sized, S: EventSink>(
        &mut self,
        r: &mut R,
        input_within: &mut dyn FnMut(std::time::Duration) -> bool,
        sink: &mut S,
    ) -> Result<(), ReadError<S::Error>> {
        loop {
            if self.is_holding() && !input_within(RECORD_WAIT) {
                self.release(sink).map_err(ReadError::Consumer)?;
            }
            if self.read_pass(r, usize::MAX, sink)?.eof {
                break;
            }
        }
        self.finish(sink).map_err(ReadError::Consumer)
    }

    /// A body held in memory, to its end: matched where it lies, without
    /// a read buffer (a line over the limit is matched in its first
    /// `max_line_bytes` and counted as cut, as in a stream).
    pub fn text<S: EventSink>(&mut self, text: &[u8], sink: &mut S) -> Result<(), S::Error> {
        if text.is_empty() {
            return Ok(());
        }
        block(&mut self.scanner, Chunk::Lines(text), sink)
    }

    /// [`text`](Self::text) whose records starting at `starts` (offsets
    /// in `text`, ascending) have a time beside them (`times`; `None`:
    /// none): an event of such a record without a time of its own carries
    /// it, and when it arrived as `received`.
    pub fn text_at<S: EventSink>(
        &mut self,
        text: &[u8],
        starts: &[usize],
        times: &[Option<jiff::Timestamp>],
        sink: &mut S,
    ) -> Result<(), S::Error> {
        self.at_times(starts, times, |p| p.text(text, sink))
    }

    /// `read` with the records at `starts` given `times` for its length.
    fn at_times<E>(
        &mut self,
        starts: &[usize],
        times: &[Option<jiff::Timestamp>],
        read: impl FnOnce(&mut Self) -> Result<(), E>,
    ) -> Result<(), E> {
        if times.iter().all(Option::is_none) {
            return read(self);
        }
        self.scanner.record_times(starts, times);
        let r = read(self);
        self.scanner.record_times(&[], &[]);
        r
    }

    /// A body of records held in memory whose decoder knows where each
    /// record starts (offsets in `text`, ascending): each is matched as one
    /// record, whatever its lines look like.
    pub fn records<S: EventSink>(
        &mut self,
        text: &[u8],
        starts: &[usize],
        sink: &mut S,
    ) -> Result<(), S::Error> {
        if text.is_empty() {
            return Ok(());
        }
        let m = sink.matcher();
        self.scanner
            .records(&m, text, starts, &mut |ev| dispatch(sink, ev))?;
        sink.block_done(&self.scanner.take_delta())
    }

    /// [`records`](Self::records) whose collector gave some records a time
    /// (`times`, beside `starts`; shorter: the rest have none): an event of
    /// such a record without a time of its own carries that time, and
    /// when it arrived as `received`.
    pub fn records_at<S: EventSink>(
        &mut self,
        text: &[u8],
        starts: &[usize],
        times: &[Option<jiff::Timestamp>],
        sink: &mut S,
    ) -> Result<(), S::Error> {
        self.at_times(starts, times, |p| p.records(text, starts, sink))
    }

    /// The buffer the next reads go into (what it holds is kept).
    pub fn set_buffer(&mut self, kind: BufferKind) {
        if kind != self.buffer {
            self.buffer = kind;
            if let Some(r) = &mut self.reader {
                r.set_capacity(kind.bytes(self.limit));
            }
        }
    }

    /// Where the next line starts.
    pub fn position(&self) -> Position {
        self.scanner.position()
    }

    /// Counters since the pipeline was built.
    pub fn stats(&self) -> Stats {
        self.scanner.stats()
    }

    /// Bytes of a partial line waiting for its `\n`.
    pub fn pending(&self) -> usize {
        self.reader.as_ref().map_or(0, LineReader::pending)
    }

    /// Starts over at `pos`, forgetting buffered bytes (a truncated file).
    pub fn restart(&mut self, pos: Position) {
        if let Some(r) = &mut self.reader {
            r.reset();
        }
        self.scanner.set_position(pos);
    }
}

/// Matches one chunk with the sink's matcher and reports what it added.
fn block<S: EventSink>(sc: &mut SourceScanner, c: Chunk<'_>, sink: &mut S) -> Result<(), S::Error> {
    let m = sink.matcher();
    sc.chunk(&m, c, &mut |ev| dispatch(sink, ev))?;
    sink.block_done(&sc.take_delta())
}

/// An event to the sink as what it is: an error, or a recovery.
fn dispatch<S: EventSink>(sink: &mut S, ev: &Event<'_>) -> Result<(), S::Error> {
    if ev.recovered {
        sink.recovered(ev)
    } else {
        sink.event(ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CatalogSet;

    /// An SDK 5 failure (one record of three lines) and an INFO line.
    fn v5_record(n: usize) -> String {
        format!(
            "[10:00:00:{:03}] <ERROR> [↑t1|u{n}] startLocalVideo() failed {n}   DEVICE_ERROR: NotFoundError, no camera detected. \nRefer to: https://web.sdk.qcloud.com/trtc/webrtc/doc/en/index.html\n. code:5301 params: [{{\"view\":\"v{n}\"}}]\n[10:00:00:{:03}] <INFO> [↑t1] filler line {n} of some length to move the boundaries around\n",
            n % 1000,
            n % 1000
        )
    }

    #[test]
    fn records_across_read_blocks_are_matched_whole() {
        let m = Arc::new(Matcher::new(Arc::new(CatalogSet::builtin().unwrap())).unwrap());
        let mut text = String::new();
        let mut firsts = Vec::new();
        let mut line = 1;
        for n in 0..20_000 {
            firsts.push(line);
            let r = v5_record(n);
            line += r.matches('\n').count() as u64;
            text.push_str(&r);
        }
        for (kind, workers) in [(BufferKind::Stream, 1), (BufferKind::Follow, 2)] {
            let mut got = Vec::new();
            let mut sink = FnSink::new(Arc::clone(&m), |ev: &Event<'_>| {
                got.push((ev.line_number, ev.cause.as_ref().map(|c| c.code)));
                Ok::<_, ()>(())
            });
            let mut p = Pipeline::builder("t").buffer(kind).workers(workers).build();
            p.read_to_end(&mut text.as_bytes(), &mut sink).unwrap();
            assert_eq!(got.len(), firsts.len(), "{kind:?}: one event per record");
            let bad = got
                .iter()
                .zip(&firsts)
                .find(|((l, c), f)| l != *f || *c != Some(Some(5301)));
            assert!(
                bad.is_none(),
                "{kind:?}: each on its record's first line, with its extraCode: {bad:?}"
            );
            assert_eq!(p.stats().lines, line - 1);
        }
    }
}
