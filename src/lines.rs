//! Bounded line splitting: turns a byte stream into blocks of complete
//! lines, cuts lines longer than the limit (keeping their first `limit`
//! bytes) and discards the rest of such a line without buffering it.
//! Memory stays at about `max(1 MiB, limit)` whatever the input size.

/// The default longest line kept whole: 64 KiB.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

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
        }
    }

    /// The line length limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Free space to read into; never empty.
    pub fn spare(&mut self) -> &mut [u8] {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.len, 0);
            self.len -= self.start;
            self.start = 0;
        }
        &mut self.buf[self.len..]
    }

    /// Records that `n` bytes were written into [`spare`](Self::spare).
    pub fn filled(&mut self, n: usize) {
        self.len = (self.len + n).min(self.buf.len());
    }

    /// Bytes buffered but not yet handed out (a partial line).
    pub fn pending(&self) -> usize {
        self.len - self.start
    }

    /// True while the tail of a cut line is being dropped.
    pub fn skipping(&self) -> bool {
        self.skipping
    }

    /// The next chunk of complete lines, or `None` until more input arrives.
    pub fn next_chunk(&mut self) -> Option<Chunk<'_>> {
        let data = &self.buf[self.start..self.len];
        if data.is_empty() {
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
}
