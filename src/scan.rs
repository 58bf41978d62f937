//! The scanning pipeline shared by `scan` and `run`: chunks of lines in,
//! events out, with counters for everything that was read, cut or skipped.

use std::io::{self, Read};
use std::sync::Arc;

use crate::context;
use crate::event::{Event, LineInfo};
use crate::lines::{Chunk, LineSplitter};
use crate::matcher::{Hints, Matcher};

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
    matcher: Arc<Matcher>,
    name: String,
    limit: usize,
    /// Where the next chunk starts.
    pub pos: Position,
    /// Counters so far.
    pub stats: Stats,
}

impl SourceScanner {
    /// A scanner for the source `name` starting at `pos`.
    pub fn new(
        matcher: Arc<Matcher>,
        name: impl Into<String>,
        limit: usize,
        pos: Position,
    ) -> Self {
        Self {
            matcher,
            name: name.into(),
            limit,
            pos,
            stats: Stats::default(),
        }
    }

    /// Uses a new matcher from now on (after a reload).
    pub fn set_matcher(&mut self, m: Arc<Matcher>) {
        self.matcher = m;
    }

    /// The source name used in events.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Scans one chunk from a [`LineSplitter`], calling `emit` for each event.
    pub fn chunk<E>(
        &mut self,
        chunk: Chunk<'_>,
        emit: &mut impl FnMut(&Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        match chunk {
            Chunk::Lines(b) => self.lines(b, emit),
            Chunk::CutLine(b) => {
                self.stats.cut_lines += 1;
                self.stats.lines += 1;
                self.stats.bytes += b.len() as u64;
                if std::str::from_utf8(b).is_err() {
                    self.stats.invalid_utf8 += 1;
                }
                let pos = self.pos;
                self.pos.offset += b.len() as u64;
                self.line(b, pos, true, emit)
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
        let matcher = Arc::clone(&self.matcher);
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
            match (!truncated).then(|| continuation(block, s, end)).flatten() {
                Some((key_start, key_end)) => {
                    // One error printed over several physical lines (SDK 4.15).
                    let mut joined = trim_cr(&block[s..end]).to_vec();
                    joined.push(b'\n');
                    joined.extend_from_slice(trim_cr(&block[key_start..key_end]));
                    skip_until = key_end;
                    result = self.line(&joined, pos, false, emit);
                }
                _ => result = self.line(&block[s..end], pos, truncated, emit),
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
        raw: &[u8],
        pos: Position,
        truncated: bool,
        emit: &mut impl FnMut(&Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let raw = trim_cr(raw);
        // Cheap first look: most candidate lines hold no error.
        let quick = self.matcher.analyze(raw, Hints::default());
        if quick.is_empty() {
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
        let dets = if hints.sdk_major.is_some() {
            self.matcher.analyze(raw, hints)
        } else {
            quick
        };
        let ts = lifted.ts.unwrap_or_else(jiff::Timestamp::now).to_string();
        let info = LineInfo {
            source: &self.name,
            line_number: pos.line_number,
            offset: pos.offset,
            truncated,
        };
        let set = self.matcher.catalog();
        for d in &dets {
            let ev = Event::new(set, d, &text, raw, info, lifted.context.clone(), ts.clone());
            self.stats.events += 1;
            emit(&ev)?;
        }
        Ok(())
    }

    /// Reads `r` to its end, scanning every line (a final line without `\n` included).
    pub fn read_all<R: Read>(
        &mut self,
        mut r: R,
        split: &mut LineSplitter,
        emit: &mut impl FnMut(&Event<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        loop {
            let n = match r.read(split.spare()) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            split.filled(n);
            while let Some(c) = split.next_chunk() {
                self.chunk(c, emit)?;
            }
            if n == 0 {
                while let Some(c) = split.flush_partial() {
                    self.chunk(c, emit)?;
                }
                return Ok(());
            }
        }
    }
}

fn trim_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// True when `l` holds the SDK's `<KEY 0xhex>` form.
fn has_key_hex(l: &[u8]) -> bool {
    memchr::memmem::find_iter(l, b" 0x")
        .any(|i| i > 0 && (l[i - 1].is_ascii_uppercase() || l[i - 1] == b'_'))
}

/// SDK 4.15 prints `RtcError: message \nRefer to: URL\n <KEY 0xhex>`, so one
/// error arrives as two or three physical lines. For a line `s..e` of `block`
/// without its own `<KEY 0xhex>`, finds the ` <KEY 0xhex>` line that ends it
/// (after at most one `Refer to:` line) and returns its range. Lines beyond
/// the block are not looked at: such an error gives two events.
fn continuation(block: &[u8], s: usize, e: usize) -> Option<(usize, usize)> {
    if has_key_hex(&block[s..e]) {
        return None;
    }
    let mut at = e + 1;
    for _ in 0..2 {
        if at >= block.len() {
            return None;
        }
        let le = memchr::memchr(b'\n', &block[at..]).map_or(block.len(), |i| at + i);
        let l = block[at..le].trim_ascii();
        if l.starts_with(b"Refer to:") {
            at = le + 1;
            continue;
        }
        let key_only =
            l.len() < 96 && l.first() == Some(&b'<') && l.last() == Some(&b'>') && has_key_hex(l);
        return key_only.then_some((at, le));
    }
    None
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
    fn split_error_is_joined_with_its_key_line() {
        let b = b"RtcError: x (errorCode: 70001). \nRefer to: https://a\n <SIGNAL_CHANNEL_SETUP_FAILED 0x4001>\nnext\n";
        let e = memchr::memchr(b'\n', b).unwrap();
        let (ks, ke) = continuation(b, 0, e).unwrap();
        assert_eq!(&b[ks..ke], b" <SIGNAL_CHANNEL_SETUP_FAILED 0x4001>");
        assert_eq!(continuation(b"a <X_Y 0x1>\n <Z 0x2>\n", 0, 11), None);
        assert_eq!(continuation(b"a\nb\n <Z 0x2>\n", 0, 1), None);
    }

    #[test]
    fn long_line_count() {
        assert_eq!(count_long_lines(b"aaaa\nbb\n", 3), 1);
        assert_eq!(count_long_lines(b"aaa\nbbb\n", 3), 0);
        assert_eq!(count_long_lines(b"aaaaaaaa\nb\ncccccccc\n", 3), 2);
        assert_eq!(count_long_lines(b"aaaaaaaa", 3), 1);
    }
}
