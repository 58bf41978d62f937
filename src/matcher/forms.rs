//! What the SDK's own output looks like, as far as matching needs it: the
//! `<KEY 0xhex>` form, the lines that start a log record (the records that
//! span lines are [`crate::records`]'), and the console levels whose lines
//! are state reports, not errors.

pub use super::levels::Level;
use super::levels::{level_tags, untagged_level};

/// True when `l` holds the SDK's `<KEY 0xhex>` form.
pub fn has_key_hex(l: &[u8]) -> bool {
    crate::bytes::find_iter(l, b" 0x")
        .any(|i| i > 0 && (l[i - 1].is_ascii_uppercase() || l[i - 1] == b'_'))
}

/// The `0xhex>` after a key that ends at `e`, when the key started right
/// after a `<`: returns the hex value (if it parses) and the end of the form.
pub fn key_hex_suffix(line: &[u8], e: usize) -> Option<(Option<u32>, usize)> {
    let digits = line.get(e..)?.strip_prefix(b" 0x")?;
    let n = digits.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if n == 0 || n > 8 || digits.get(n) != Some(&b'>') {
        return None;
    }
    let hex = std::str::from_utf8(&digits[..n])
        .ok()
        .and_then(|h| u32::from_str_radix(h, 16).ok());
    Some((hex, e + 3 + n + 1))
}

/// A line start at or after `from` where a block can be cut without
/// cutting a record ([`crate::records`]): the line there starts a new log
/// record (and is neither a key-only line nor a docs line), so no record
/// before it reaches past it. `None` when no such line is found within a
/// few lines.
pub fn record_boundary(block: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    for _ in 0..64 {
        at += memchr::memchr(b'\n', block.get(at..)?)? + 1;
        let le = memchr::memchr(b'\n', &block[at..]).map_or(block.len(), |i| at + i);
        let l = block[at..le].trim_ascii();
        if !l.is_empty() && starts_record(l) && !is_key_only(l) && !is_doc_line(l) {
            return Some(at);
        }
    }
    None
}

/// ` <KEY 0xhex>` alone on its line.
pub(crate) fn is_key_only(l: &[u8]) -> bool {
    l.len() < 96 && l.first() == Some(&b'<') && l.last() == Some(&b'>') && has_key_hex(l)
}

/// A docs line: a short label and a URL (`Refer to: https://...`,
/// `请查看文档: https://...`), or a URL alone.
pub(crate) fn is_doc_line(l: &[u8]) -> bool {
    let Some(u) = crate::bytes::find(l, b"http") else {
        return false;
    };
    let label = l[..u].trim_ascii();
    label.is_empty()
        || (label.len() <= 40 && (label.ends_with(b":") || label.ends_with("：".as_bytes())))
}

/// An error in the SDK's own form whose name `known` does not know: SDK 4's
/// `<NEW_KEY 0xhex>` (4) or SDK 5's `api() failed N   NEW_NAME: reason` (5),
/// with the name's span.
pub fn unknown_sdk_form(
    line: &[u8],
    known: impl Fn(&[u8]) -> bool,
) -> Option<(u32, std::ops::Range<usize>)> {
    let name_at = |i: usize| {
        let n = line[i..]
            .iter()
            .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || **b == b'_')
            .count();
        ((4..=64).contains(&n) && line[i].is_ascii_uppercase()).then_some(i + n)
    };
    for lt in memchr::memchr_iter(b'<', line) {
        if let Some(e) = name_at(lt + 1)
            && key_hex_suffix(line, e).is_some()
            && !known(&line[lt + 1..e])
        {
            return Some((4, lt + 1..e));
        }
    }
    for f in crate::bytes::find_iter(line, b") failed ") {
        let mut i = f + 9;
        let digits = line[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            continue;
        }
        i += digits;
        while line.get(i) == Some(&b' ') {
            i += 1;
        }
        if let Some(e) = name_at(i)
            && line.get(e) == Some(&b':')
            && !known(&line[i..e])
        {
            return Some((5, i..e));
        }
    }
    None
}

/// True when the number at `start` is the call counter of an SDK 5
/// failure, `startLocalVideo() failed 4096   DEVICE_ERROR: ...`: the SDK
/// numbers its API calls, and a long session reaches any code's value.
pub fn is_call_counter(line: &[u8], start: usize) -> bool {
    line[..start].trim_ascii_end().ends_with(b") failed")
}

/// The record with its URL escapes decoded (`%3A` is `:`, `+` a space;
/// twice for a text encoded twice), when it holds at least two: an error
/// sent in a URL's query or a form body (`msg=INVALID_OPERATION%3A%20...`)
/// reads as it was written. `None` for a record without them.
pub fn url_decoded(t: &[u8]) -> Option<Vec<u8>> {
    let escapes = |t: &[u8]| {
        memchr::memchr_iter(b'%', t)
            .filter(|&i| {
                t.get(i + 1..i + 3)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
            })
            .count()
    };
    if escapes(t) < 2 {
        return None;
    }
    let decode = |t: &[u8]| {
        let mut out = Vec::with_capacity(t.len());
        let mut i = 0;
        while i < t.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            match (
                t[i],
                t.get(i + 1).copied().and_then(hex),
                t.get(i + 2).copied().and_then(hex),
            ) {
                (b'%', Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                }
                (b'+', _, _) => {
                    out.push(b' ');
                    i += 1;
                }
                (b, _, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        out
    };
    let once = decode(t);
    Some(if escapes(&once) >= 2 {
        decode(&once)
    } else {
        once
    })
}

/// True when the key at `s..e` is an error printed with an empty message:
/// its name alone after the SDK's failure form or an error word
/// (`enterRoom() failed  SERVER_ERROR params: [...]`, `enterRoom error
/// SERVER_ERROR`), or alone on its line above a stack (`SERVER_ERROR\n
/// at ...`).
pub fn name_alone(line: &[u8], s: usize, e: usize) -> bool {
    let line_start = memchr::memrchr(b'\n', &line[..s]).map_or(0, |i| i + 1);
    let line_end = memchr::memchr(b'\n', &line[e..]).map_or(line.len(), |i| e + i);
    let rest = line[e..line_end].trim_ascii();
    let ends = rest.is_empty() || rest.starts_with(b"params:") || rest == b".";
    if !ends {
        return false;
    }
    let before = line[line_start..s].trim_ascii_end();
    // The call counter of SDK 5's failure form (`failed 2   NAME`).
    let digits = before
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let before_counter = before[..before.len() - digits].trim_ascii_end();
    let after_error_word = [
        &b") failed"[..],
        b" failed",
        b" error",
        b" Error",
        b"Error:",
        b"error:",
    ]
    .iter()
    .any(|w| before.ends_with(w) || (digits > 0 && before_counter.ends_with(w)));
    // The name alone on its line: an error's `toString()` with an empty
    // message (above its stack, which the record's matched part leaves out).
    let alone = before.is_empty() && rest.is_empty();
    after_error_word || alone
}

/// True when a line starts a new log record (a timestamp, a JSON object,
/// an SDK level tag), so it cannot continue the error before it.
pub(crate) fn starts_record(l: &[u8]) -> bool {
    let head = &l[..l.len().min(48)];
    // SDK 4's console prefix as DevTools reports it (`%cTRTC%c%s padding:
    // ...`), or with its format applied (`TRTC[10:00:00:000] <ERROR>`).
    l.starts_with(b"%cTRTC")
        || matches!(l.first(), Some(b'{'))
        || l.first().is_some_and(u8::is_ascii_digit)
        || (l.first() == Some(&b'[') && l.get(1).is_some_and(u8::is_ascii_digit))
        || [
            &b"<INFO>"[..],
            b"<WARN>",
            b"<ERROR>",
            b"<DEBUG>",
            b"<TRACE>",
        ]
        .iter()
        .any(|t| crate::bytes::contains(head, t))
}

/// True when the text at `s` is inside a URL or a docs anchor:
/// `ErrorCode.html#.ICE_TRANSPORT_ERROR`, `https://x/y?err=KEY`.
pub fn in_url(line: &[u8], s: usize) -> bool {
    if s > 0 && matches!(line[s - 1], b'#' | b'/' | b'?' | b'&') {
        return true;
    }
    if s > 1 && line[s - 2..s] == *b"#." {
        return true;
    }
    // The whitespace-delimited token the text is in.
    let start = line[..s]
        .iter()
        .rposition(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'(' | b'<'))
        .map_or(0, |i| i + 1);
    let token = &line[start..s];
    crate::bytes::contains(token, b"://") || crate::bytes::contains(token, b".html")
}

/// True when the key at `s..e` is one of several key names listed together
/// (`[ICE_TRANSPORT_ERROR, SIGNAL_CHANNEL_SETUP_FAILED]`, `A|B`, `"A","B"`):
/// another key is next to it with only list punctuation between.
pub fn in_list(line: &[u8], s: usize, e: usize, keys: &[(usize, usize)]) -> bool {
    let list_gap = |g: &[u8]| {
        !g.is_empty()
            && g.len() <= 4
            && g.iter()
                .all(|b| matches!(b, b',' | b'|' | b' ' | b'"' | b'\'' | b'/'))
            && g.iter().any(|b| matches!(b, b',' | b'|' | b'/'))
    };
    // `keys` are in order: only the key just before and the one just after
    // can be 4 bytes away.
    let i = keys.partition_point(|&(ks, _)| ks < s);
    let before = keys[..i].iter().rev().find(|&&(_, ke)| ke <= s);
    let after = keys[i..].iter().find(|&&(ks, _)| ks >= e);
    before.is_some_and(|&(_, ke)| list_gap(&line[ke..s]))
        || after.is_some_and(|&(ks, _)| list_gap(&line[e..ks]))
}

/// True when a wording that ends at `e` is a setting's name: a number is
/// assigned to it (`publish timeout=10000ms`, `"join room timeout": 3`).
pub fn is_setting(line: &[u8], e: usize) -> bool {
    let mut i = e;
    if matches!(line.get(i), Some(b'"' | b'\'')) {
        i += 1;
    }
    while matches!(line.get(i), Some(b' ')) {
        i += 1;
    }
    if !matches!(line.get(i), Some(b'=' | b':')) {
        return false;
    }
    i += 1;
    while matches!(line.get(i), Some(b' ' | b'"' | b'\'')) {
        i += 1;
    }
    line.get(i).is_some_and(u8::is_ascii_digit)
}

/// The level that applies at byte `pos` of a line: the last SDK `<LEVEL>`
/// tag before it anywhere on the line (the SDK uploads many console lines
/// joined in one JSON string, and collectors put long metadata first),
/// else a `level` field or a level word near the start.
pub fn level_at(line: &[u8], pos: usize) -> Option<Level> {
    LineFacts::new(line).level_at(pos)
}

/// What a line says about itself (its levels, error words, changelog
/// words, key spans), each found in one pass at its first use and kept,
/// however many hits on the line are judged: judging stays linear in the
/// line's length (a 64 KiB line of repeated keys was quadratic).
#[derive(Debug)]
pub struct LineFacts<'l> {
    line: &'l [u8],
    tags: std::cell::OnceCell<Vec<(usize, Level)>>,
    untagged: std::cell::OnceCell<Option<Level>>,
    error_words: std::cell::OnceCell<Vec<usize>>,
    prose: std::cell::OnceCell<bool>,
    key_spans: std::cell::OnceCell<Vec<(usize, usize)>>,
}

impl<'l> LineFacts<'l> {
    /// Facts of `line`, none found yet.
    pub fn new(line: &'l [u8]) -> Self {
        Self {
            line,
            tags: std::cell::OnceCell::new(),
            untagged: std::cell::OnceCell::new(),
            error_words: std::cell::OnceCell::new(),
            prose: std::cell::OnceCell::new(),
            key_spans: std::cell::OnceCell::new(),
        }
    }

    /// The line.
    pub fn line(&self) -> &'l [u8] {
        self.line
    }

    /// The level that applies at `pos`: the last SDK `<LEVEL>` tag before
    /// it, else a level field or a level word near the line's start.
    pub fn level_at(&self, pos: usize) -> Option<Level> {
        let tags = self.tags.get_or_init(|| level_tags(self.line));
        let i = tags.partition_point(|&(s, _)| s <= pos);
        if i > 0 {
            return Some(tags[i - 1].1);
        }
        *self.untagged.get_or_init(|| untagged_level(self.line))
    }

    /// True when the level at `pos` is INFO, DEBUG or TRACE: state reports,
    /// not errors, so only a strong form (a key with its code, a code word)
    /// counts there.
    pub fn is_info_at(&self, pos: usize) -> bool {
        matches!(self.level_at(pos), Some(Level::Info | Level::Debug))
    }

    /// True when the line reads as an error: an error or warn level, or
    /// (with no level) an error word outside `skip` (the hit being judged,
    /// whose own name may hold `ERROR`).
    pub fn is_error_shaped(&self, skip: std::ops::Range<usize>) -> bool {
        match self.level_at(skip.start) {
            Some(Level::Error | Level::Warn) => true,
            Some(Level::Info | Level::Debug) => false,
            None => {
                // Starts of every error word, in order (at most 9 bytes long).
                let starts = self.error_words.get_or_init(|| {
                    let mut v: Vec<usize> = ERROR_WORDS
                        .iter()
                        .flat_map(|w| crate::bytes::find_iter(self.line, w))
                        .collect();
                    v.sort_unstable();
                    v
                });
                // Words starting before `skip.start - 9` end before it; words
                // starting at or after `skip.end` are after it: only those
                // in between need a look.
                let lo = starts.partition_point(|&i| i + 9 < skip.start);
                let hi = starts.partition_point(|&i| i < skip.end);
                if lo > 0 || hi < starts.len() {
                    return true;
                }
                ERROR_WORDS.iter().any(|w| {
                    starts[lo..hi].iter().any(|&i| {
                        self.line[i..].starts_with(w)
                            && (i + w.len() <= skip.start || i >= skip.end)
                    })
                })
            }
        }
    }

    /// True when the line names the key at `key` in prose (a changelog, a
    /// commit, release notes: `fixed ICE_TRANSPORT_ERROR handling`): it has
    /// no error shape of its own and a changelog word.
    pub fn is_prose(&self, key: std::ops::Range<usize>) -> bool {
        !self.is_error_shaped(key) && *self.prose.get_or_init(|| has_prose_word(self.line))
    }

    /// The spans of the keys on the line, from `find` at the first call.
    pub fn key_spans(&self, find: impl FnOnce() -> Vec<(usize, usize)>) -> &[(usize, usize)] {
        self.key_spans.get_or_init(find)
    }
}

/// Words that make a line without a level read as an error.
const ERROR_WORDS: &[&[u8]] = &[
    b"rror",
    b"RROR",
    b"fail",
    b"Fail",
    b"FAIL",
    b"xception",
    b"reject",
    b"denied",
    b"banned",
    b"kicked",
    b"abort",
    b"timeout",
    b"Timeout",
    "错误".as_bytes(),
    "失败".as_bytes(),
    "异常".as_bytes(),
    "エラー".as_bytes(),
    "失敗".as_bytes(),
];

/// True when a counter follows the key that ends at `e`: `KEY count=0`,
/// `KEY total: 3`, `KEY times=12` (a metric or a summary, not an error).
pub fn counted_after(line: &[u8], e: usize) -> bool {
    const COUNTERS: &[&[u8]] = &[b"count", b"total", b"times", b"num", b"cnt", b"hits"];
    let mut i = e;
    while line.get(i) == Some(&b' ') {
        i += 1;
    }
    let w = line[i..]
        .iter()
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    if !COUNTERS
        .iter()
        .any(|c| c.eq_ignore_ascii_case(&line[i..i + w]))
    {
        return false;
    }
    i += w;
    while line.get(i) == Some(&b' ') {
        i += 1;
    }
    if !matches!(line.get(i), Some(b'=' | b':')) {
        return false;
    }
    i += 1;
    while line.get(i) == Some(&b' ') {
        i += 1;
    }
    line.get(i).is_some_and(u8::is_ascii_digit)
}

/// Words of changelogs and commit messages, as whole words.
const PROSE_WORDS: &[&[u8]] = &[
    b"fix",
    b"fixed",
    b"fixes",
    b"Fix",
    b"Fixed",
    b"Fixes",
    b"handle",
    b"handling",
    b"Handle",
    b"support",
    b"supported",
    b"Support",
    b"added",
    b"Added",
    b"improve",
    b"improved",
    b"Improve",
    b"optimize",
    b"optimized",
    b"Optimize",
    b"refactor",
    b"Refactor",
    b"document",
    b"documented",
];

/// Changelog words of Chinese and Japanese release notes.
const PROSE_WORDS_CJK: &[&str] = &["修复", "优化", "支持", "新增", "修正", "対応"];

/// True when the line has a changelog or commit word (see
/// [`LineFacts::is_prose`]).
fn has_prose_word(line: &[u8]) -> bool {
    let word = |i: usize, n: usize| {
        (i == 0 || !line[i - 1].is_ascii_alphanumeric())
            && line.get(i + n).is_none_or(|b| !b.is_ascii_alphanumeric())
    };
    PROSE_WORDS
        .iter()
        .any(|w| crate::bytes::find_iter(line, w).any(|i| word(i, w.len())))
        || PROSE_WORDS_CJK
            .iter()
            .any(|w| crate::bytes::contains(line, w.as_bytes()))
}

/// Words that say the SDK goes on by itself: it retries, reconnects or
/// falls back (matched without regard to case).
const RECOVERY_WORDS: &[&str] = &[
    "retry",
    "retries",
    "retrying",
    "reconnect",
    "fallback",
    "fall back",
    "falling back",
    "switch to",
    "switching to",
    "downgrad",
    "重试",
    "重连",
    "降级",
    "リトライ",
    "再接続",
];

/// Words that say a retry, reconnect or fallback did not work: after a
/// recovery word they undo it (`reconnect failed`, `tried 3 times, but all
/// failed`, `gave up`).
const FAILURE_WORDS: &[&str] = &[
    "fail",
    "gave up",
    "give up",
    "giving up",
    "exhausted",
    "exceeded",
    "abort",
    "timed out",
    "失败",
    "失敗",
    "放弃",
    "超时",
    "できません",
];

/// Keys that are themselves a recovery that failed.
const FAILED_RECOVERY_KEYS: &[&[u8]] = &[b"RECONNECTION_FAILED", b"RECONNECT_FAILED"];

/// True when a record is a WARN record saying the SDK recovers by itself
/// (`<WARN> ICE_TRANSPORT_ERROR, retrying with TURN over TCP`): the error it
/// quotes is a recovery, not an error event. A recovery that failed is the
/// error: a recovery word that a failure word follows (`uplink reconnect
/// failed`, `reconnect tried 3 times, but all failed`), with no recovery
/// word after it, or a key that names a failed recovery
/// (`UPLINK_RECONNECTION_FAILED`), is no recovery.
pub fn is_recovery(record: &[u8]) -> bool {
    use std::sync::LazyLock;
    // One pass for every word, whatever its case; the level is looked at
    // only where a word is there (most records have none).
    static WORDS: LazyLock<Option<aho_corasick::AhoCorasick>> = LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(RECOVERY_WORDS.iter().chain(FAILURE_WORDS))
            .ok()
    });
    let Some(words) = WORDS.as_ref() else {
        return false;
    };
    // A warn level says `warn` in some case (`<WARN>`, `[warn]`,
    // `level=Warn`, `WARNING`): most records are out at one quick look.
    let says_warn = memchr::memchr2_iter(b'w', b'W', record).any(|i| {
        record
            .get(i + 1..i + 4)
            .is_some_and(|r| r.eq_ignore_ascii_case(b"arn"))
    });
    if !says_warn {
        return false;
    }
    // A word of the text, not part of a key (`DOWNLINK_RECONNECTION_FAILED`).
    let word = |i: usize, n: usize| {
        let at = &record[i..i + n];
        !at.is_ascii()
            || ((i == 0 || !(record[i - 1].is_ascii_alphanumeric() || record[i - 1] == b'_'))
                && at.iter().any(u8::is_ascii_lowercase))
    };
    if level_at(record, 0) != Some(Level::Warn) {
        return false;
    }
    // Whether the last recovery word is still standing: no failure word
    // after it.
    let mut live = false;
    for m in words.find_iter(record) {
        if !word(m.start(), m.end() - m.start()) {
            continue;
        }
        live = m.pattern().as_usize() < RECOVERY_WORDS.len();
    }
    live && !FAILED_RECOVERY_KEYS
        .iter()
        .any(|k| crate::bytes::contains(record, k))
}

/// True for trtc-logwatch's own output read back: its NDJSON events (also
/// inside a collector's JSON string) and its metrics exposition. Such lines
/// are skipped, so a loop between it and a collector never doubles counts.
pub fn is_own_output(line: &[u8]) -> bool {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    // Searchers built once: this runs on every candidate line.
    static METRIC: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("trtc_error"));
    static EVENT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("line_number"));
    let head = &line[..line.len().min(16)];
    if head.starts_with(b"# HELP trtc_") || head.starts_with(b"# TYPE trtc_") {
        return true;
    }
    let has = |n: &[u8]| crate::bytes::contains(line, n);
    if METRIC.find(line).is_some()
        && (has(b"trtc_errors_total{") || has(b"trtc_error_causes_total{"))
    {
        return true;
    }
    // Events in every text mode (`--text none` has no null or false
    // fields) carry line_number, catalog and key (and offset, which a
    // collector's copy may have dropped); inside a collector's JSON string
    // their quotes are escaped.
    EVENT.find(line).is_some()
        && (has(b"\"line_number\":")
            && has(b"\"catalog\":")
            && (has(b"\"offset\":") || has(b"\"key\":"))
            || has(b"line_number\\\":")
                && has(b"catalog\\\":")
                && (has(b"offset\\\":") || has(b"key\\\":")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_split_error_reaches_past_a_record_boundary() {
        let b = concat!(
            "[10:00:00:000] <ERROR> RtcError: x (errorCode: 70001). \n",
            "Refer to: https://a\n",
            " <SIGNAL_CHANNEL_SETUP_FAILED 0x4001>\n",
            "RtcError: 加入房间失败\n请查看文档: https://web.sdk.qcloud.com/zh\n\n",
            "Failed to join room - invalid roomId code: -10012 \n",
            "Refer to: https://web.sdk.qcloud.com/en\n",
            " <JOIN_ROOM_FAILED 0x4004>\n",
            "{\"level\":\"info\"}\n",
            "https://x\n",
            "<ERROR> <ICE_TRANSPORT_ERROR 0x4003>\n",
            "2024-05-13 next\n",
            "[10:00:00:001] <INFO> last\n",
        )
        .as_bytes();
        let starts: Vec<usize> = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', b).map(|i| i + 1))
            .filter(|&i| i < b.len())
            .collect();
        let mut cuts = 0;
        for from in 0..b.len() {
            let Some(cut) = record_boundary(b, from) else {
                continue;
            };
            cuts += 1;
            assert!(cut > from && starts.contains(&cut), "{from} -> {cut}");
            for &s in starts.iter().filter(|&&s| s < cut) {
                let e = memchr::memchr(b'\n', &b[s..]).map_or(b.len(), |i| s + i);
                let (_, end) = crate::records::extent(
                    b,
                    s,
                    e,
                    0,
                    crate::records::Bounds::Shapes { limit: usize::MAX },
                );
                assert!(end < cut, "the record at {s} reaches past the cut at {cut}");
            }
        }
        assert!(cuts > 0);
        // The lines a cut lands on: records, never a continuation line.
        let at = |from| record_boundary(b, from).map(|c| &b[c..c + 10]);
        assert_eq!(at(0), Some(&b"{\"level\":\""[..]));
    }

    #[test]
    fn the_sdk_forms_name_keys_the_catalog_may_not_know() {
        let known = |n: &[u8]| n == b"ICE_TRANSPORT_ERROR" || n == b"DEVICE_ERROR";
        let found =
            |l: &str| unknown_sdk_form(l.as_bytes(), known).map(|(m, r)| (m, l[r].to_string()));
        assert_eq!(
            found("RtcError: x <NEW_KEY_1 0x4099>"),
            Some((4, "NEW_KEY_1".into()))
        );
        assert_eq!(found("RtcError: x <ICE_TRANSPORT_ERROR 0x4003>"), None);
        assert_eq!(
            found("startLocalVideo() failed 12   SOME_NEW_ERROR: x"),
            Some((5, "SOME_NEW_ERROR".into()))
        );
        assert_eq!(found("startLocalVideo() failed 2   DEVICE_ERROR: x"), None);
        // Not the forms: no hex, lower case, too short, no `:` after the name.
        for l in [
            "<NEW_KEY 0x>",
            "<new_key 0x1>",
            "<ABC 0x1>",
            "f() failed 2   NEW_NAME x",
        ] {
            assert_eq!(found(l), None, "{l}");
        }
    }

    #[test]
    fn url_encoded_records_read_as_written() {
        assert_eq!(
            url_decoded(b"msg=INVALID_OPERATION%3A%20cannot+x").as_deref(),
            Some(&b"msg=INVALID_OPERATION: cannot x"[..])
        );
        // Encoded twice.
        assert_eq!(
            url_decoded(b"a%253Ab%2520c").as_deref(),
            Some(&b"a:b c"[..])
        );
        // One escape, or none: not a URL-encoded text.
        assert_eq!(url_decoded(b"100% sure, 50%"), None);
        assert_eq!(url_decoded(b"x%2"), None);
    }

    #[test]
    fn a_name_alone_is_an_error_with_an_empty_message() {
        for (line, want) in [
            ("enterRoom() failed  SERVER_ERROR params: [{}]", true),
            ("enterRoom() failed 3   SERVER_ERROR params: []", true),
            ("enterRoom error SERVER_ERROR", true),
            ("SERVER_ERROR", true),
            ("retry on SERVER_ERROR", false),
            ("SERVER_ERROR count", false),
        ] {
            let s = line.find("SERVER_ERROR").unwrap_or(0);
            assert_eq!(name_alone(line.as_bytes(), s, s + 12), want, "{line}");
        }
    }

    proptest::proptest! {
        #[test]
        fn decoding_and_names_take_any_bytes(
            line in proptest::collection::vec(
                proptest::sample::select(&b"%3A%2+ABf0 failed SERVER_ERROR\n"[..]),
                0..50,
            ),
            at in 0usize..60,
            len in 0usize..14,
        ) {
            let _ = url_decoded(&line);
            let s = at.min(line.len());
            let _ = name_alone(&line, s, (s + len).min(line.len()));
        }
    }

    #[test]
    fn recoveries_are_warn_records_that_say_the_sdk_goes_on() {
        for (record, want) in [
            (
                "[10:00] <WARN> ICE_TRANSPORT_ERROR, retrying with TURN over TCP",
                true,
            ),
            (
                "[10:00] <WARN> 网络异常 ICE_TRANSPORT_ERROR，正在重连",
                true,
            ),
            (
                "[10:00] <WARN> fall back to relay after ICE_TRANSPORT_ERROR",
                true,
            ),
            ("[10:00] <ERROR> ICE_TRANSPORT_ERROR, retrying", false),
            // The word inside a key is no recovery.
            (
                "[10:00] <WARN> RtcError: x <DOWNLINK_RECONNECTION_FAILED 0x4008>",
                false,
            ),
            (
                "[10:00] <WARN> getUserMedia error: RtcError: no camera <DEVICE_NOT_FOUND 0x1003>",
                false,
            ),
            // A recovery that failed is the error: its words or its key
            // say so.
            (
                r#"[10:00] <WARN> onError errCode=0x4007 msg="uplink reconnect failed, tried 5 times""#,
                false,
            ),
            ("[10:00] <WARN> SignalChannel reconnect failed", false),
            (
                "[10:00] <WARN> reconnect tried 3 times, but all failed <DOWNLINK_RECONNECTION_FAILED 0x4008>",
                false,
            ),
            ("[10:00] <WARN> Retry limit exceeded, giving up", false),
            ("[10:00] <WARN> 重连失败 SIGNAL_CHANNEL_ERROR", false),
            (
                "[10:00] <WARN> ICE_TRANSPORT_ERROR x <UPLINK_RECONNECTION_FAILED 0x4007>, retrying",
                false,
            ),
            // A failure before the recovery word is what it recovers from.
            (
                "[10:00] <WARN> ICE failed (ICE_TRANSPORT_ERROR), retrying",
                true,
            ),
            (
                "[10:00] <WARN> reconnect failed (SIGNAL_CHANNEL_ERROR), retrying 2/5",
                true,
            ),
        ] {
            assert_eq!(is_recovery(record.as_bytes()), want, "{record}");
        }
    }

    #[test]
    fn levels() {
        for (line, want) in [
            ("[20:41:09:016] <INFO> [↑n|alice] x", Some(Level::Info)),
            (r#"{"level":"error","msg":"x"}"#, Some(Level::Error)),
            (r#"{"level":50,"msg":"x"}"#, Some(Level::Error)),
            ("time=1 level=info msg=x", Some(Level::Info)),
            ("2024-05-13 20:41:09 WARN app x", Some(Level::Warn)),
            ("May 13 20:41:09 host app[1]: [error] x", Some(Level::Error)),
            ("RtcError: x <ICE_TRANSPORT_ERROR 0x4003>", None),
            ("Error: x", None),
        ] {
            assert_eq!(level_at(line.as_bytes(), 128), want, "{line}");
        }
        // The SDK's upload: several console lines in one JSON string.
        let up = br#"{"log":"[1] <INFO> [a] joined
[2] <ERROR> [a] join room timeout"}"#;
        assert_eq!(level_at(up, 20), Some(Level::Info));
        assert_eq!(level_at(up, 60), Some(Level::Error));
    }

    #[test]
    fn mentions() {
        let l = b"see https://web.sdk.qcloud.com/x/module-ErrorCode.html#.ICE_TRANSPORT_ERROR for";
        let s = memchr::memmem::find(l, b"ICE_").unwrap();
        assert!(in_url(l, s));
        let l = b"x ICE_TRANSPORT_ERROR y";
        assert!(!in_url(l, 2));
        let l = b"retryOn=[ICE_TRANSPORT_ERROR, SIGNAL_CHANNEL_ERROR]";
        let (a, b) = (9, 30);
        assert!(in_list(l, a, a + 19, &[(a, a + 19), (b, b + 20)]));
        assert!(!in_list(l, a, a + 19, &[(a, a + 19)]));
        assert!(is_setting(b"publish timeout=10000ms", 15));
        assert!(is_setting(br#""join room timeout": 3"#, 18));
        assert!(!is_setting(b"publish timeout (10s)", 15));
    }

    #[test]
    fn own_output() {
        assert!(is_own_output(br#"trtc_errors_total{catalog="trtc-web-v4",category="transport",key="ICE_TRANSPORT_ERROR",code="16387"} 3"#));
        assert!(is_own_output(br#"{"ts":"x","source":"a","line_number":1,"offset":0,"catalog":"trtc-web-v4","key":"K","line_truncated":false}"#));
        assert!(is_own_output(br#"{"log":"{\"ts\":\"x\",\"line_number\":1,\"offset\":0,\"catalog\":\"trtc-web-v4\",\"line_truncated\":false}"}"#));
        // `--text none`: no line_truncated, no matched.
        assert!(is_own_output(br#"{"ts":"x","source":"a","line_number":3,"offset":340,"catalog":"trtc-web-v4","key":"MSG_PUBLISH_TIMEOUT","category":"media","severity":"error","context":{},"line":"publish timeout"}"#));
        assert!(!is_own_output(
            br#"{"line_number":3,"msg":"ICE_TRANSPORT_ERROR"}"#
        ));
        assert!(!is_own_output(b"RtcError: x <ICE_TRANSPORT_ERROR 0x4003>"));
    }

    #[test]
    fn key_hex_form() {
        let l = b"<ICE_TRANSPORT_ERROR 0x4003> x";
        assert_eq!(key_hex_suffix(l, 20), Some((Some(0x4003), 28)));
        assert_eq!(key_hex_suffix(b"<K 0x>", 2), None);
        assert_eq!(key_hex_suffix(b"<K 0x123456789>", 2), None);
    }
}
