//! A record's bytes as matching sees them: without the `\r` of CRLF
//! input, and its long lines counted without visiting every line.

use std::borrow::Cow;

/// The line without a final `\r` (CRLF input).
pub(crate) fn trim_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// The record `head..end` of `block` as one text, its lines without their
/// `\r`, and where its matched part (`..matched`) ends in that text. One
/// line, or lines without `\r`, are borrowed as they are.
pub(super) fn joined(
    block: &[u8],
    head: usize,
    matched: usize,
    end: usize,
) -> (Cow<'_, [u8]>, usize) {
    let rec = &block[head..end];
    if memchr::memchr(b'\r', rec).is_none() {
        return (Cow::Borrowed(rec), matched - head);
    }
    let strip = |part: &[u8], out: &mut Vec<u8>| {
        for (i, l) in part.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                out.push(b'\n');
            }
            out.extend_from_slice(trim_cr(l));
        }
    };
    let mut out = Vec::with_capacity(rec.len());
    strip(&block[head..matched], &mut out);
    let cut = out.len();
    strip(&block[matched..end], &mut out);
    (Cow::Owned(out), cut)
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
