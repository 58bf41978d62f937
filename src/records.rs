//! Log records that span lines: which line starts a record, which lines
//! continue it, and where its matched part ends.
//!
//! The TRTC Web SDK prints one error as one console record of several
//! lines, and apps forward records as they are:
//!
//! ```text
//! [10:00:01:002] <ERROR> [↑t1|alice] startLocalVideo() failed 2   DEVICE_ERROR: NotFoundError, ...
//! Refer to: https://web.sdk.qcloud.com/trtc/webrtc/doc/en/index.html
//! . code:5301 params: [{"view":"view"}]
//! TRTC[10:00:01:003] <ERROR> RtcError: please call join() before publish().
//! Refer to: https://web.sdk.qcloud.com/trtc/webrtc/doc/en/index.html
//!  <INVALID_OPERATION 0x1001>
//! ```
//!
//! In text, a line continues the record above it when it starts no record
//! of its own (no timestamp, no SDK level tag, no JSON object) and has a
//! continuation's shape: indented (` <KEY 0xhex>`, ` code:5500`), a stack
//! frame, empty, a docs line (`Refer to: URL`, `请查看文档: URL`), a
//! `code:` line, or any line right after a docs line (SDK 4.15 prints the
//! message again there on a Chinese browser). Anything else starts a
//! record. A record has at most [`MAX_RECORD_LINES`] lines after its first.
//!
//! A record is matched up to its first stack frame: a stack holds the
//! nested error the SDK wrapped (`<INITIALIZE_FAILED 0x1004>` below a v5
//! `DEVICE_ERROR`), which is the cause of the record's error, not a second
//! one.
//!
//! In bodies of records (HTTP ingest, NATS) the decoder knows where each
//! record starts: [`Bounds::Starts`] gives those offsets and the shapes are
//! not looked at.

use crate::matcher::forms;

/// Most lines a record has after its first: a run of continuation lines
/// longer than that starts a new record, so memory and work stay bounded.
pub const MAX_RECORD_LINES: usize = 32;

/// Where records start in a block.
#[derive(Debug, Clone, Copy)]
pub enum Bounds<'a> {
    /// Records are told by their lines' shapes (text input). A line longer
    /// than `limit` (the longest line matched whole) starts a record of its
    /// own, as it does in a stream, where it comes alone.
    Shapes {
        /// The longest line kept whole.
        limit: usize,
    },
    /// Records start at these offsets of the block, ascending (bodies of
    /// records, whose decoder knows them); a line at no such offset
    /// continues the record above it.
    Starts(&'a [usize]),
}

/// What a line is, as far as records go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Starts a record of its own: a timestamp, a level tag, a JSON object.
    Start,
    /// Indented, `code:`, or a `<KEY 0xhex>` alone.
    Continuation,
    /// A docs line: a short label and a URL.
    Doc,
    /// Nothing but white space.
    Empty,
    /// Anything else.
    Plain,
    /// A plain line that opens a statement (see [`opens_statement`]).
    Statement,
}

/// True when a line opens a statement of its own: an error's name and a
/// colon (`OPERATION_FAILED: ...`, `RtcError: ...`, `Error: ...`) or
/// `Uncaught`, as an app's `console.error(e)` prints it. After a blank
/// line it is a new record, not SDK 4's message printed again below its
/// docs line.
fn opens_statement(t: &[u8]) -> bool {
    if t.starts_with(b"Uncaught ") {
        return true;
    }
    let n = t
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    let name = &t[..n];
    t.get(n) == Some(&b':')
        && n >= 3
        && (name.iter().all(|b| !b.is_ascii_lowercase())
            || name.ends_with(b"Error")
            || name.ends_with(b"Exception"))
}

fn shape(line: &[u8]) -> Shape {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let t = line.trim_ascii();
    if t.is_empty() {
        return Shape::Empty;
    }
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Shape::Continuation;
    }
    if forms::starts_record(t) {
        return Shape::Start;
    }
    if forms::is_doc_line(t) {
        return Shape::Doc;
    }
    if is_v5_code_line(t) || forms::is_key_only(t) || is_stack_frame(t) {
        return Shape::Continuation;
    }
    if opens_statement(t) {
        return Shape::Statement;
    }
    Shape::Plain
}

/// The third line of an SDK 5 failure: `code:5301 params: [...]`, after the
/// `.` that ends the message when the reason ends with one.
fn is_v5_code_line(t: &[u8]) -> bool {
    let t = t.strip_prefix(b". ").unwrap_or(t);
    let Some(rest) = t.strip_prefix(b"code:") else {
        return false;
    };
    let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    n > 0 && (rest.len() == n || rest[n..].starts_with(b" params:"))
}

/// Whether a line of shape `s` continues a record whose previous line had
/// shape `prev` (and the one before it `before`).
fn continues(s: Shape, prev: Shape, before: Shape) -> bool {
    match s {
        Shape::Start => false,
        Shape::Continuation | Shape::Doc | Shape::Empty => true,
        Shape::Plain => prev == Shape::Doc || (prev == Shape::Empty && before == Shape::Doc),
        Shape::Statement => prev == Shape::Doc,
    }
}

/// The end of the line that starts at `at` (its `\n`, or the block's end).
fn line_end(block: &[u8], at: usize) -> usize {
    memchr::memchr(b'\n', &block[at..]).map_or(block.len(), |i| at + i)
}

/// The start of the line before the one that starts at `at` (> 0).
fn prev_line(block: &[u8], at: usize) -> usize {
    memchr::memrchr(b'\n', &block[..at - 1]).map_or(0, |i| i + 1)
}

/// The record around the line `s..e` of `block`: its first line's start and
/// its last line's end. Records start at or after `floor` (the end of the
/// record before). A line that no record above reaches is a record's first.
pub fn extent(block: &[u8], s: usize, e: usize, floor: usize, b: Bounds<'_>) -> (usize, usize) {
    let head = match b {
        Bounds::Shapes { limit } => head_by_shape(block, s, floor, limit),
        Bounds::Starts(starts) => head_by_start(starts, s, floor),
    };
    let end = end_from(block, head, b);
    if end < e {
        // The record above ends before this line: this line starts its own.
        return (s, end_from(block, s, b).max(e));
    }
    (head, end)
}

fn head_by_start(starts: &[usize], s: usize, floor: usize) -> usize {
    let i = starts.partition_point(|&x| x <= s);
    match i.checked_sub(1).map(|i| starts[i]) {
        Some(h) if h >= floor => h,
        _ => s.max(floor),
    }
}

/// Walks up from the line at `s` over lines that continue a record, at most
/// [`MAX_RECORD_LINES`], not above `floor`; a line longer than `limit`
/// starts a record.
fn head_by_shape(block: &[u8], s: usize, floor: usize, limit: usize) -> usize {
    let mut head = s;
    for _ in 0..MAX_RECORD_LINES {
        if head <= floor {
            return floor.max(head);
        }
        let le = line_end(block, head);
        if le - head > limit {
            return head;
        }
        let sh = shape(&block[head..le]);
        let up = prev_line(block, head);
        let continued = match sh {
            Shape::Start => false,
            Shape::Continuation | Shape::Doc | Shape::Empty => true,
            Shape::Plain => {
                let p = shape(&block[up..head - 1]);
                p == Shape::Doc
                    || (p == Shape::Empty
                        && up > floor
                        && shape(&block[prev_line(block, up)..up - 1]) == Shape::Doc)
            }
            Shape::Statement => shape(&block[up..head - 1]) == Shape::Doc,
        };
        if !continued {
            return head;
        }
        head = up;
    }
    head
}

/// The end of the last line of the record whose first line starts at
/// `head` (trailing empty lines left out).
fn end_from(block: &[u8], head: usize, b: Bounds<'_>) -> usize {
    let mut end = line_end(block, head);
    let mut last = end;
    let (mut prev, mut before) = (Shape::Plain, Shape::Plain);
    let (next_start, limit) = match b {
        Bounds::Starts(starts) => {
            let i = starts.partition_point(|&x| x <= head);
            (
                Some(starts.get(i).copied().unwrap_or(block.len())),
                usize::MAX,
            )
        }
        Bounds::Shapes { limit } => (None, limit),
    };
    for _ in 0..MAX_RECORD_LINES {
        let at = end + 1;
        if at >= block.len() {
            break;
        }
        let le = line_end(block, at);
        let sh = match next_start {
            Some(n) if at >= n => break,
            Some(_) => Shape::Continuation,
            None if le - at > limit => Shape::Start,
            None => shape(&block[at..le]),
        };
        if !continues(sh, prev, before) {
            break;
        }
        if sh != Shape::Empty {
            last = le;
        }
        (before, prev) = (prev, sh);
        end = le;
    }
    last
}

/// Where a stream is in the lines that continue a record whose first line
/// came alone, cut at the line limit: those lines belong to that record
/// (past its limit, so not matched), as they do in a text held whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CutRecord {
    prev: Shape,
    before: Shape,
    lines: usize,
}

impl CutRecord {
    /// The record of a line just cut.
    pub fn new() -> Self {
        Self {
            prev: Shape::Plain,
            before: Shape::Plain,
            lines: 0,
        }
    }

    /// How many bytes at the start of `block` (whole lines) continue the
    /// record, and whether it may go on past the block. A line longer than
    /// `limit` starts a record of its own.
    pub fn continued_in(&mut self, block: &[u8], limit: usize) -> (usize, bool) {
        let mut at = 0;
        while at < block.len() {
            if self.lines >= MAX_RECORD_LINES {
                return (at, false);
            }
            let le = line_end(block, at);
            let sh = if le - at > limit {
                Shape::Start
            } else {
                shape(&block[at..le])
            };
            if !continues(sh, self.prev, self.before) {
                return (at, false);
            }
            (self.before, self.prev) = (self.prev, sh);
            self.lines += 1;
            at = (le + 1).min(block.len());
        }
        (at, true)
    }
}

impl Default for CutRecord {
    fn default() -> Self {
        Self::new()
    }
}

/// Every record of a text, in order (its lines' shapes tell them): the
/// first line's start and the last line's end of each.
pub fn split(text: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let end = end_from(text, at, Bounds::Shapes { limit: usize::MAX });
        out.push((at, end));
        at = end + 1;
    }
    out
}

/// Where the matched part of the record `head..end` ends: before its first
/// stack frame line (`    at f (file.js:1:2)`, `f@https://...`).
pub fn match_end(block: &[u8], head: usize, end: usize) -> usize {
    let first = line_end(block, head);
    let mut at = first + 1;
    while at < end {
        let le = line_end(block, at).min(end);
        if is_stack_frame(block[at..le].trim_ascii()) {
            return at.saturating_sub(1).max(first);
        }
        at = le + 1;
    }
    end
}

fn is_stack_frame(t: &[u8]) -> bool {
    (t.starts_with(b"at ") && (t.ends_with(b")") || crate::bytes::contains(t, b"://")))
        || crate::bytes::contains(t, b"@http")
}

/// How many bytes at the end of `block` (whole lines) belong to a record
/// that the lines after the block may continue: the last record, when it
/// takes at most a quarter of `room`, and is not the whole block when the
/// buffer is `filled` (the block must then make room for what follows).
pub fn tail_to_hold(block: &[u8], room: usize, filled: bool) -> usize {
    let Some(last_nl) = block.len().checked_sub(1) else {
        return 0;
    };
    // The last line's start.
    let last = memchr::memrchr(b'\n', &block[..last_nl]).map_or(0, |i| i + 1);
    let head = head_by_shape(block, last, 0, usize::MAX);
    let hold = block.len() - head;
    if (head == 0 && filled) || hold > room / 4 {
        return 0;
    }
    hold
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(text: &str, line: usize) -> (usize, usize) {
        let b = text.as_bytes();
        let s = b
            .split_inclusive(|&c| c == b'\n')
            .take(line)
            .map(<[u8]>::len)
            .sum();
        let e = line_end(b, s);
        let (h, end) = extent(b, s, e, 0, Bounds::Shapes { limit: usize::MAX });
        // As line numbers (0-based) of the first and last line.
        let ln = |o: usize| b[..o].iter().filter(|&&c| c == b'\n').count();
        (ln(h), ln(end.saturating_sub(1).max(h)))
    }

    const V5: &str = "[10:00:01:001] <INFO> [↑t1] startLocalVideo() 2\n\
[10:00:01:002] <ERROR> [↑t1] startLocalVideo() failed 2   DEVICE_ERROR: NotFoundError, no camera detected. \n\
Refer to: https://web.sdk.qcloud.com/trtc/webrtc/doc/en/index.html\n\
. code:5301 params: [{\"view\":\"view\"}]\n\
[10:00:01:003] <INFO> [↑t1] startLocalAudio() 3\n";

    #[test]
    fn a_v5_failure_is_one_record_of_three_lines() {
        assert_eq!(ext(V5, 1), (1, 3));
        assert_eq!(ext(V5, 3), (1, 3));
        assert_eq!(ext(V5, 0), (0, 0));
        assert_eq!(ext(V5, 4), (4, 4));
    }

    #[test]
    fn a_v4_error_with_its_key_and_stack_and_the_app_record_after_it() {
        let t = "TRTC[10:00:01:002] <ERROR> RtcError: please call join() before publish(). \n\
Refer to: https://web.sdk.qcloud.com/trtc/webrtc/doc/en/index.html\n\
\x20<INVALID_OPERATION 0x1001>\n\
RtcError: please call join() before publish(). \n\
Refer to: https://web.sdk.qcloud.com/trtc/webrtc/doc/en/index.html\n\
 <INVALID_OPERATION 0x1001>\n\
\x20   at Client.validate (http://127.0.0.1:1/v4.js:1:329206)\n\
\x20   at Client.qG (http://127.0.0.1:1/v4.js:1:340341)\n\
next plain line\n";
        assert_eq!(ext(t, 2), (0, 2));
        assert_eq!(ext(t, 3), (3, 7));
        assert_eq!(ext(t, 6), (3, 7));
        assert_eq!(ext(t, 8), (8, 8));
        let b = t.as_bytes();
        let head = b
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == b'\n')
            .nth(2)
            .unwrap()
            .0
            + 1;
        let (h, end) = extent(
            b,
            head,
            line_end(b, head),
            0,
            Bounds::Shapes { limit: usize::MAX },
        );
        let m = match_end(b, h, end);
        assert!(
            std::str::from_utf8(&b[h..m])
                .unwrap()
                .ends_with("<INVALID_OPERATION 0x1001>")
        );
    }

    #[test]
    fn the_chinese_split_form_is_one_record() {
        let t = "RtcError: 中文说明\n请查看文档: https://x.example/doc\n\nmessage text \nRefer to: https://x.example/doc\n <JOIN_ROOM_FAILED 0x4004>\nplain again\n";
        assert_eq!(ext(t, 5), (0, 5));
        assert_eq!(ext(t, 0), (0, 5));
        assert_eq!(ext(t, 6), (6, 6));
    }

    #[test]
    fn after_a_blank_line_a_statement_is_a_record_of_its_own() {
        // The SDK's record with its docs line, a blank line, then the
        // app's `console.error(e)`: two records (issue 30).
        let t = "[15:02:11:873] <ERROR> enterRoom() failed 1   OPERATION_FAILED: 'enterRoom' failed, reason: x\nRefer to: https://x.example/doc\n\nOPERATION_FAILED: 'enterRoom' failed, reason: x\n    at e.convertFrom (https://x/trtc.js:1:2)\n";
        assert_eq!(ext(t, 0), (0, 1));
        assert_eq!(ext(t, 3), (3, 4));
        assert_eq!(ext(t, 4), (3, 4));
        for statement in [
            "RtcError: x",
            "Error: x",
            "Uncaught TypeError: x",
            "SERVER_ERROR: x",
        ] {
            assert!(opens_statement(statement.as_bytes()), "{statement}");
        }
        for plain in ["message text", "ok: done", "Refer to: x", "a: b"] {
            assert!(!opens_statement(plain.as_bytes()), "{plain}");
        }
    }

    #[test]
    fn a_key_line_joins_the_record_it_follows_and_no_other() {
        let t = "RtcError: x (errorCode: 70001). \nRefer to: https://a\n <SIGNAL_CHANNEL_SETUP_FAILED 0x4001>\nnext\n";
        assert_eq!(ext(t, 0), (0, 2));
        assert_eq!(ext(t, 3), (3, 3));
        // A plain line between: the key line belongs to it, not to the first.
        assert_eq!(ext("a\nb\n <Z 0x2>\n", 0), (0, 0));
        assert_eq!(ext("a\nb\n <Z 0x2>\n", 2), (1, 2));
        // A new record between: never reached over.
        let t = "a\n[10:00:00:000] <ERROR> x\nRefer to: https://x\n <Z 0x2>\n";
        assert_eq!(ext(t, 0), (0, 0));
        assert_eq!(ext(t, 3), (1, 3));
    }

    #[test]
    fn plain_lines_are_records_of_their_own() {
        let t = "first ICE_TRANSPORT_ERROR\nsecond line\nthird\n";
        assert_eq!(ext(t, 0), (0, 0));
        assert_eq!(ext(t, 1), (1, 1));
    }

    #[test]
    fn a_run_of_continuations_is_bounded() {
        let mut t = String::from("head\n");
        for _ in 0..100 {
            t.push_str("  more\n");
        }
        let (h, e) = ext(&t, 90);
        assert!(e - h <= MAX_RECORD_LINES, "{h}..{e}");
    }

    #[test]
    fn decoded_bodies_say_where_records_start() {
        let t = b"a\n[10:00] b\nc\nd\n";
        let starts = [0, 2];
        assert_eq!(extent(t, 2, 10, 0, Bounds::Starts(&starts)), (2, 15));
        assert_eq!(extent(t, 0, 1, 0, Bounds::Starts(&starts)), (0, 1));
    }

    #[test]
    fn the_last_record_is_held_for_the_next_block() {
        let b = V5.as_bytes();
        // Cut after the first line of the v5 record.
        let cut = b
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == b'\n')
            .nth(1)
            .unwrap()
            .0
            + 1;
        let hold = tail_to_hold(&b[..cut], 1 << 20, true);
        assert_eq!(
            &V5[cut - hold..cut],
            V5.lines().nth(1).unwrap().to_string() + "\n"
        );
        assert_eq!(tail_to_hold(b"only one line\n", 1 << 20, true), 0);
        assert_eq!(tail_to_hold(&b[..cut], 64, true), 0);
        // A read that did not fill the buffer: the writer may be between
        // the lines of one record, so even a block of one record waits.
        assert_eq!(tail_to_hold(b"only one line\n", 1 << 20, false), 14);
    }
}
