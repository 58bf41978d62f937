//! Bounded line splitting and the one place that reads input.
//!
//! [`LineSplitter`] turns a byte stream into blocks of complete lines, cuts
//! lines longer than the limit (keeping their first `limit` bytes) and
//! discards the rest of such a line without buffering it. Memory stays at
//! about `max(1 MiB, limit)` whatever the input size.
//!
//! [`LineReader`] puts a reader under it, the way ripgrep's
//! `LineBufferReader` is the only code that calls `read`: the record
//! pipeline ([`crate::pipeline`]) reads every stream through it, so
//! filling, `EINTR`, read budgets and the final line without `\n` are
//! handled once.

use std::io::{self, Read};

/// The default longest line kept whole: 64 KiB.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

/// The smallest line limit accepted: below it every SDK error line would be cut.
pub const MIN_MAX_LINE: usize = 256;

/// The largest line limit accepted: the buffer is allocated up front.
pub const MAX_MAX_LINE: usize = 64 * 1024 * 1024;

const MIN_CAPACITY: usize = 1024 * 1024;

/// A piece of input handed to the scanner.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// Whole lines, each ending with `\n` (the last may lack it at end of input).
    Lines(&'a [u8]),
    /// The kept first `limit` bytes of a longer line; its remaining bytes
    /// follow as [`Chunk::Skipped`] chunks.
    CutLine(&'a [u8]),
    /// Bytes of a cut line that were dropped (and its `\n` if `end`).
    Skipped {
        /// Number of bytes dropped.
        bytes: u64,
        /// True when the line's `\n` was among them.
        end: bool,
    },
}

/// Splits bytes into line blocks. Feed it with [`spare`](Self::spare) +
/// [`filled`](Self::filled), then take chunks with [`next_chunk`](Self::next_chunk).
#[derive(Debug)]
pub struct LineSplitter {
    buf: Vec<u8>,
    len: usize,
    /// Start of the not yet handed out bytes.
    start: usize,
    limit: usize,
    skipping: bool,
    /// Whole lines handed back ([`unread`](Self::unread)) wait for more
    /// input before they are handed out again.
    held: bool,
}

impl LineSplitter {
    /// A splitter that cuts lines longer than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self::with_capacity(limit, MIN_CAPACITY)
    }

    /// A splitter with a buffer of `capacity` bytes (at least `limit + 1`),
    /// for followers of many files.
    pub fn with_capacity(limit: usize, capacity: usize) -> Self {
        let limit = limit.max(1);
        Self {
            buf: vec![0; capacity.max(limit + 1)],
            len: 0,
            start: 0,
            limit,
            skipping: false,
            held: false,
        }
    }

    /// The line length limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Free space to read into; never empty.
    pub fn spare(&mut self) -> &mut [u8] {
        self.compact();
        &mut self.buf[self.len..]
    }

    /// Moves what is not yet handed out to the buffer's start.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.len, 0);
            self.len -= self.start;
            self.start = 0;
        }
    }

    /// Records that `n` bytes were written into [`spare`](Self::spare).
    pub fn filled(&mut self, n: usize) {
        self.len = (self.len + n).min(self.buf.len());
        self.held &= n == 0;
    }

    /// Hands back the last `n` bytes of the chunk just handed out (whole
    /// lines): they come again, with what follows them, after the next
    /// [`filled`](Self::filled), or with a final partial line from
    /// [`flush_partial`](Self::flush_partial).
    pub fn unread(&mut self, n: usize) {
        self.start -= n.min(self.start);
        self.held = n > 0;
    }

    /// Lines handed back by [`unread`](Self::unread) may come out now: the
    /// lines after them did not come in time.
    pub fn release(&mut self) {
        self.held = false;
    }

    /// True while lines handed back wait for what follows them.
    pub fn is_holding(&self) -> bool {
        self.held
    }

    /// The buffer's size.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Makes the buffer `capacity` bytes (at least `limit + 1`, and never
    /// less than what it holds); what it holds is kept.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.compact();
        let capacity = capacity.max(self.limit + 1).max(self.len);
        self.buf.resize(capacity, 0);
        self.buf.shrink_to_fit();
    }

    /// Bytes buffered but not yet handed out (a partial line).
    pub fn pending(&self) -> usize {
        self.len - self.start
    }

    /// The next chunk of complete lines, or `None` until more input arrives.
    pub fn next_chunk(&mut self) -> Option<Chunk<'_>> {
        let data = &self.buf[self.start..self.len];
        if data.is_empty() || self.held {
            return None;
        }
        if self.skipping {
            return Some(match memchr::memchr(b'\n', data) {
                Some(i) => {
                    self.skipping = false;
                    self.start += i + 1;
                    Chunk::Skipped {
                        bytes: (i + 1) as u64,
                        end: true,
                    }
                }
                None => {
                    let n = data.len();
                    self.start = self.len;
                    Chunk::Skipped {
                        bytes: n as u64,
                        end: false,
                    }
                }
            });
        }
        match memchr::memrchr(b'\n', data) {
            Some(i) => {
                let s = self.start;
                self.start += i + 1;
                Some(Chunk::Lines(&self.buf[s..s + i + 1]))
            }
            None if data.len() > self.limit => {
                let s = self.start;
                self.start += self.limit;
                self.skipping = true;
                Some(Chunk::CutLine(&self.buf[s..s + self.limit]))
            }
            None => None,
        }
    }

    /// Hands out a final line that has no `\n` (end of input, or idle flush).
    pub fn flush_partial(&mut self) -> Option<Chunk<'_>> {
        self.held = false;
        if self.skipping {
            let n = self.pending();
            self.start = self.len;
            self.skipping = false;
            return Some(Chunk::Skipped {
                bytes: n as u64,
                end: true,
            });
        }
        if self.pending() == 0 {
            return None;
        }
        let s = self.start;
        self.start = self.len;
        Some(Chunk::Lines(&self.buf[s..self.len]))
    }
}

/// True when standard input has bytes (or its end) to read within `wait`.
/// An error (a signal) counts as input: the read that follows tells.
pub fn stdin_within(wait: std::time::Duration) -> bool {
    let mut fd = libc::pollfd {
        fd: libc::STDIN_FILENO,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = libc::c_int::try_from(wait.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: poll reads and writes the one pollfd we own, for `ms` at most.
    let n = unsafe { libc::poll(&mut fd, 1, ms) };
    n != 0
}

/// Retries an I/O call interrupted by a signal (`EINTR`).
pub fn retry_interrupted<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// What one [`LineReader::read_pass`] saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Bytes read.
    pub bytes: u64,
    /// The reader returned 0: the end of the input, for now (files grow).
    pub eof: bool,
    /// The byte budget ran out before the end of the input.
    pub more: bool,
}

/// A read pass failed: reading, or the consumer of the chunks.
#[derive(Debug, thiserror::Error)]
pub enum ReadError<E> {
    /// Reading the input failed.
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
    /// The chunk consumer stopped the pass.
    #[error("stopped by the consumer")]
    Consumer(E),
}

/// Reads an input through a [`LineSplitter`] and hands out its chunks.
#[derive(Debug)]
pub struct LineReader {
    split: LineSplitter,
}

impl LineReader {
    /// A reader whose lines are cut at `limit` bytes, with a buffer of
    /// `capacity` bytes (at least `limit + 1`).
    pub fn new(limit: usize, capacity: usize) -> Self {
        Self {
            split: LineSplitter::with_capacity(limit, capacity),
        }
    }

    /// Makes the buffer `capacity` bytes, keeping what it holds (see
    /// [`LineSplitter::set_capacity`]).
    pub fn set_capacity(&mut self, capacity: usize) {
        self.split.set_capacity(capacity);
    }

    /// Bytes of a partial line waiting for its `\n`.
    pub fn pending(&self) -> usize {
        self.split.pending()
    }

    /// Forgets buffered bytes (the input is read again from its start).
    pub fn reset(&mut self) {
        self.split = LineSplitter::with_capacity(self.split.limit(), self.split.buf.len());
    }

    /// Reads `r` and hands every chunk of complete lines to `f`, until the
    /// reader returns 0 (`eof`), `budget` bytes were read (`more`), or a read
    /// returned less than it was offered (no more data for now: a pipe).
    pub fn read_pass<R: Read + ?Sized, E>(
        &mut self,
        r: &mut R,
        budget: usize,
        f: &mut impl FnMut(Chunk<'_>) -> Result<(), E>,
    ) -> Result<Pass, ReadError<E>> {
        self.read_pass_holding(r, budget, &|_, _, _| 0, f)
    }

    /// [`read_pass`](Self::read_pass), keeping back the last `hold(block,
    /// capacity, filled)` bytes of a block of lines (`filled`: the read
    /// filled the buffer, so more input follows at once): they come again
    /// with the lines after them, so whatever spans those lines (a log
    /// record written in pieces) is handed out whole. What is kept back is
    /// [`pending`](Self::pending) and handed out by
    /// [`finish`](Self::finish) (idle time, close) or at the end of the
    /// input.
    pub fn read_pass_holding<R: Read + ?Sized, E>(
        &mut self,
        r: &mut R,
        budget: usize,
        hold: &dyn Fn(&[u8], usize, bool) -> usize,
        f: &mut impl FnMut(Chunk<'_>) -> Result<(), E>,
    ) -> Result<Pass, ReadError<E>> {
        let mut pass = Pass::default();
        let mut left = budget;
        let cap = self.split.capacity();
        loop {
            let spare = self.split.spare();
            let want = spare.len().min(left);
            let n = retry_interrupted(|| r.read(&mut spare[..want]))?;
            if n == 0 {
                // What is kept back waits for the lines after it, or for
                // `finish` (the input's end, idle time, close).
                pass.eof = true;
                return Ok(pass);
            }
            self.split.filled(n);
            pass.bytes += n as u64;
            left -= n;
            // A full read: more is likely there at once.
            let more_follows = n == want;
            while let Some(c) = self.split.next_chunk() {
                let kept = match c {
                    Chunk::Lines(b) => {
                        let k = hold(b, cap, more_follows).min(b.len());
                        if k < b.len() {
                            f(Chunk::Lines(&b[..b.len() - k])).map_err(ReadError::Consumer)?;
                        }
                        k
                    }
                    c => {
                        f(c).map_err(ReadError::Consumer)?;
                        0
                    }
                };
                if kept > 0 {
                    self.split.unread(kept);
                }
            }
            if left == 0 {
                pass.more = true;
                return Ok(pass);
            }
            if n < want {
                return Ok(pass);
            }
        }
    }

    /// True while complete lines are kept back waiting for the lines after
    /// them (see [`read_pass_holding`](Self::read_pass_holding)).
    pub fn is_holding(&self) -> bool {
        self.split.is_holding()
    }

    /// Hands out the complete lines kept back (the lines after them did not
    /// come in time); a final partial line still waits.
    pub fn release<E>(&mut self, f: &mut impl FnMut(Chunk<'_>) -> Result<(), E>) -> Result<(), E> {
        self.split.release();
        while let Some(c) = self.split.next_chunk() {
            f(c)?;
        }
        Ok(())
    }

    /// Hands out a final line without `\n` (end of input, idle, or close).
    pub fn finish<E>(&mut self, f: &mut impl FnMut(Chunk<'_>) -> Result<(), E>) -> Result<(), E> {
        while let Some(c) = self.split.flush_partial() {
            f(c)?;
        }
        Ok(())
    }

    /// Reads `r` to its end, the final line without `\n` included.
    pub fn read_to_end<R: Read + ?Sized, E>(
        &mut self,
        r: &mut R,
        f: &mut impl FnMut(Chunk<'_>) -> Result<(), E>,
    ) -> Result<(), ReadError<E>> {
        while !self.read_pass(r, usize::MAX, f)?.eof {}
        self.finish(f).map_err(ReadError::Consumer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(sp: &mut LineSplitter, mut data: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        while !data.is_empty() {
            let spare = sp.spare();
            let n = spare.len().min(data.len());
            spare[..n].copy_from_slice(&data[..n]);
            sp.filled(n);
            data = &data[n..];
            while let Some(c) = sp.next_chunk() {
                out.push(format!("{c:?}"));
            }
        }
        out
    }

    #[test]
    fn cuts_long_lines_and_resumes_after_them() {
        let mut sp = LineSplitter::new(4);
        let mut input = b"ab\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 3 * 1024 * 1024));
        input.extend(b"\ncd\n");
        let out = feed(&mut sp, &input);
        assert_eq!(out[0], format!("{:?}", Chunk::Lines(b"ab\n")));
        assert_eq!(out[1], format!("{:?}", Chunk::CutLine(b"xxxx")));
        assert!(
            out.last().unwrap().contains("Lines([99, 100, 10])"),
            "{out:?}"
        );
        assert!(sp.flush_partial().is_none());
    }

    #[test]
    fn final_line_without_newline_waits_for_flush() {
        let mut sp = LineSplitter::new(64);
        assert!(feed(&mut sp, b"a\nb").len() == 1);
        assert_eq!(sp.pending(), 1);
        assert_eq!(sp.flush_partial(), Some(Chunk::Lines(b"b")));
    }

    #[test]
    fn a_new_capacity_keeps_what_is_buffered() {
        let mut sp = LineSplitter::with_capacity(8, 16);
        assert_eq!(feed(&mut sp, b"ab\ncd\nef").len(), 1);
        sp.set_capacity(1 << 20);
        assert_eq!(sp.capacity(), 1 << 20);
        assert_eq!(sp.pending(), 2);
        let out = feed(&mut sp, b"gh\nij\n");
        assert_eq!(out, [format!("{:?}", Chunk::Lines(b"efgh\nij\n"))]);
        // Never below the line limit, nor below what it holds.
        feed(&mut sp, b"klmnop");
        sp.set_capacity(2);
        assert_eq!(sp.capacity(), 9);
        assert_eq!(sp.flush_partial(), Some(Chunk::Lines(b"klmnop")));
    }
}

#[cfg(test)]
mod reader_tests {
    use super::*;

    /// Hands out its data a few bytes at a time, with an `EINTR` between reads.
    struct Trickle<'a> {
        data: &'a [u8],
        interrupt: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.data.len()).min(3);
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn collect(c: Chunk<'_>, out: &mut Vec<u8>) -> Result<(), ()> {
        if let Chunk::Lines(b) = c {
            out.extend_from_slice(b);
        }
        Ok(())
    }

    #[test]
    fn reads_to_the_end_through_interruptions_and_short_reads() {
        let mut r = LineReader::new(64, 1024);
        let mut out = Vec::new();
        let mut input = Trickle {
            data: b"one\ntwo\nthree",
            interrupt: false,
        };
        r.read_to_end(&mut input, &mut |c| collect(c, &mut out))
            .unwrap();
        assert_eq!(out, b"one\ntwo\nthree");
    }

    #[test]
    fn a_pass_stops_at_its_budget_and_keeps_the_partial_line() {
        let mut r = LineReader::new(64, 1024);
        let mut out = Vec::new();
        let data: &[u8] = b"aaaa\nbbbb\ncc";
        let mut input = data;
        let p = r
            .read_pass(&mut input, 7, &mut |c| collect(c, &mut out))
            .unwrap();
        assert_eq!((p.bytes, p.more, p.eof), (7, true, false));
        assert_eq!(out, b"aaaa\n");
        let p = r
            .read_pass(&mut input, 64, &mut |c| collect(c, &mut out))
            .unwrap();
        assert_eq!((p.bytes, p.more, p.eof), (5, false, false));
        assert_eq!(r.pending(), 2);
        r.finish(&mut |c| collect(c, &mut out)).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn held_lines_come_again_once_and_all_at_the_end() {
        let input: Vec<u8> = (0..300)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let mut r = LineReader::new(16, 64);
        let mut out = Vec::new();
        // Hold the last line of every block.
        let hold = |b: &[u8], _: usize, _: bool| {
            b[..b.len() - 1]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |i| b.len() - i - 1)
        };
        let mut src = &input[..];
        while !r
            .read_pass_holding(&mut src, usize::MAX, &hold, &mut |c| collect(c, &mut out))
            .unwrap()
            .eof
        {}
        // At the end of the input the last line still waits, for `finish`.
        assert_eq!(r.pending(), "line 299\n".len());
        r.finish(&mut |c| collect(c, &mut out)).unwrap();
        assert_eq!(out, input);
        assert_eq!(r.pending(), 0);
    }
}
