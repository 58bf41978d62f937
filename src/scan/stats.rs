//! The counters of a scan and the position a source has reached.

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
    /// Errors the SDK recovered from by itself (not counted in `events`).
    pub recoveries: u64,
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
            recoveries: self.recoveries - earlier.recoveries,
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
        self.recoveries += o.recoveries;
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
