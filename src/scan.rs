//! The scanning pipeline shared by `scan` and `run`: chunks of lines in,
//! events out, with counters for everything that was read, cut or skipped.
//!
//! A [`SourceScanner`] holds one source's position and counters, not the
//! matcher: the matcher is passed with every chunk, so a reload reaches
//! every source before its next block.

use std::io::{self, Read};

use crate::context;
use crate::event::{Event, LineInfo};
use crate::lines::{Chunk, LineReader, ReadError};
use crate::matcher::{Hints, Matcher, forms};

/// Counters of one source (or one scan).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Lines read.
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Events produced.
    pub events: u64,
    /// Lines longer than the limit (cut, still matched in their kept part).
    pub cut_lines: u64,
    /// Lines that were not valid UTF-8.
    pub invalid_utf8: u64,
    /// Candidate lines that looked like JSON but did not parse.
    pub bad_json: u64,
    /// trtc-logwatch's own output read back (its events, its metrics), skipped.
    pub own_output: u64,
}

impl Stats {
    /// What was counted since `earlier` (an older copy of these counters).
    pub fn since(&self, earlier: &Stats) -> Stats {
        Stats {
            lines: self.lines - earlier.lines,
            bytes: self.bytes - earlier.bytes,
            events: self.events - earlier.events,
            cut_lines: self.cut_lines - earlier.cut_lines,
            invalid_utf8: self.invalid_utf8 - earlier.invalid_utf8,
            bad_json: self.bad_json - earlier.bad_json,
            own_output: self.own_output - earlier.own_output,
        }
    }

    /// Adds another set of counters.
    pub fn add(&mut self, o: &Stats) {
        self.lines += o.lines;
        self.bytes += o.bytes;
        self.events += o.events;
        self.cut_lines += o.cut_lines;
        self.invalid_utf8 += o.invalid_utf8;
        self.bad_json += o.bad_json;
        self.own_output += o.own_output;
    }
}

/// Position in a source: the next line's number and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based number of the next line.
    pub line_number: u64,
    /// Byte offset of the next line.
    pub offset: u64,
}

impl Default for Position {
    fn default() -> Self {
        Self {
            line_number: 1,
            offset: 0,
        }
    }
}

/// Scans chunks of one source. Holds the source's position and counters.
#[derive(Debug)]
pub struct SourceScanner {
    name: String,
    limit: usize,
    /// Where the next chunk starts.
    pub pos: Position,
    /// Counters so far.
    pub stats: Stats,
    /// Counters as of the last [`take_delta`](Self::take_delta).
    reported: Stats,
}

impl SourceScanner {
    /// A scanner for the source `name` (the events' `source`) starting at
    /// `pos`, matching at most `limit` bytes of a line.
    pub fn new(name: impl Into<String>, limit: usize, pos: Position) -> Self {
        Self {
            name: name.into(),
            limit,
            pos,
            stats: Stats::default(),
            reported: Stats::default(),
        }
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
        match chunk {
            Chunk::Lines(b) => self.lines(m, b, emit),
            Chunk::CutLine(b) => {
                self.stats.cut_lines += 1;
                self.stats.lines += 1;
                self.stats.bytes += b.len() as u64;
                if std::str::from_utf8(b).is_err() {
                    self.stats.invalid_utf8 += 1;
                }
                let pos = self.pos;
                self.pos.offset += b.len() as u64;
                self.line(m, b, pos, true, emit)
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

    fn lines<E>(
        &mut self,
        matcher: &Matcher,
        block: &[u8],
        emit: &mut impl FnMut(&Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let base = self.pos;
        self.stats.bytes += block.len() as u64;
        self.stats.cut_lines += count_long_lines(block, self.limit);
        if std::str::from_utf8(block).is_err() {
            self.stats.invalid_utf8 += block
                .split(|&b| b == b'\n')
                .filter(|l| std::str::from_utf8(l).is_err())
                .count() as u64;
        }
        let mut counted_to = 0;
        let mut line_number = base.line_number;
        let mut result = Ok(());
        let mut skip_until = 0;
        matcher.candidate_lines(block, |s, e| {
            if result.is_err() || s < skip_until {
                return;
            }
            line_number += memchr::memchr_iter(b'\n', &block[counted_to..s]).count() as u64;
            counted_to = s;
            let truncated = e - s > self.limit;
            let end = if truncated { s + self.limit } else { e };
            let pos = Position {
                line_number,
                offset: base.offset + s as u64,
            };
            match (!truncated)
                .then(|| forms::continuation(block, s, end))
                .flatten()
            {
                Some((_, key_end)) => {
                    // One error printed over several physical lines (SDK 4.15).
                    let mut joined = Vec::with_capacity(key_end - s);
                    for (i, l) in block[s..key_end].split(|&b| b == b'\n').enumerate() {
                        if i > 0 {
                            joined.push(b'\n');
                        }
                        joined.extend_from_slice(trim_cr(l));
                    }
                    skip_until = key_end;
                    result = self.line(matcher, &joined, pos, false, emit);
                }
                _ => result = self.line(matcher, &block[s..end], pos, truncated, emit),
            }
        });
        result?;
        let nl = memchr::memchr_iter(b'\n', block).count() as u64;
        let partial = u64::from(block.last().is_some_and(|&b| b != b'\n'));
        self.stats.lines += nl + partial;
        self.pos.line_number = base.line_number + nl + partial;
        self.pos.offset = base.offset + block.len() as u64;
        Ok(())
    }

    fn line<E>(
        &mut self,
        matcher: &Matcher,
        raw: &[u8],
        pos: Position,
        truncated: bool,
        emit: &mut impl FnMut(&Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let raw = trim_cr(raw);
        // Cheap first look: most candidate lines hold no error.
        let hits = matcher.find(raw);
        if hits.own_output() {
            self.stats.own_output += 1;
        }
        if hits.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(raw);
        let lifted = context::lift(&text);
        if lifted.bad_json {
            self.stats.bad_json += 1;
        }
        let hints = Hints {
            sdk_major: lifted.context.sdk_major(),
        };
        let dets = matcher.resolve(raw, &hits, hints);
        let ts = lifted.ts.unwrap_or_else(jiff::Timestamp::now).to_string();
        let info = LineInfo {
            source: &self.name,
            line_number: pos.line_number,
            offset: pos.offset,
            truncated,
        };
        let set = matcher.catalog();
        for d in &dets {
            let ev = Event::new(set, d, &text, raw, info, lifted.context.clone(), ts.clone());
            self.stats.events += 1;
            emit(&ev)?;
        }
        Ok(())
    }

    /// Reads `r` to its end through `reader`, scanning every line with `m`
    /// (a final line without `\n` included).
    pub fn read_all<R: Read>(
        &mut self,
        m: &Matcher,
        mut r: R,
        reader: &mut LineReader,
        emit: &mut impl FnMut(&Event<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        reader
            .read_to_end(&mut r, &mut |c| self.chunk(m, c, emit))
            .map_err(|e| match e {
                ReadError::Io(e) | ReadError::Consumer(e) => e,
            })
    }
}

/// The line without a final `\r` (CRLF input).
pub(crate) fn trim_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// Counts lines longer than `limit` in a block of whole lines without
/// visiting every line: each step looks for the last `\n` in the next
/// `limit + 1` bytes, so short lines cost one backward scan per window.
pub fn count_long_lines(block: &[u8], limit: usize) -> u64 {
    let mut count = 0;
    let mut at = 0;
    while block.len() - at > limit {
        let window = &block[at..at + limit + 1];
        match memchr::memrchr(b'\n', window) {
            Some(i) => at += i + 1,
            None => {
                count += 1;
                match memchr::memchr(b'\n', &block[at + limit..]) {
                    Some(i) => at += limit + i + 1,
                    None => break,
                }
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_line_count() {
        assert_eq!(count_long_lines(b"aaaa\nbb\n", 3), 1);
        assert_eq!(count_long_lines(b"aaa\nbbb\n", 3), 0);
        assert_eq!(count_long_lines(b"aaaaaaaa\nb\ncccccccc\n", 3), 2);
        assert_eq!(count_long_lines(b"aaaaaaaa", 3), 1);
    }
}
