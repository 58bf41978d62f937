//! The matcher: one Aho-Corasick pass finds candidate lines, then context
//! rules decide which keys, numbers and messages on a line are TRTC errors.
//!
//! What goes into the automaton: every SDK key and alias, every message
//! wording, and a few context tokens (`code`, `result`, `-failed-`,
//! `<ERROR>`). Hex codes are *not* patterns: they start with `0`, which would
//! defeat the prefilter; they are read after a key (`<KEY 0x4003>`) or a
//! `code` token instead. A bare number is never an error code.

use std::ops::Range;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::catalog::{CatalogSet, EntryId, EntryKind};

/// What an automaton pattern stands for.
#[derive(Debug, Clone)]
enum Pat {
    /// An SDK key or alias; the entries that carry that name.
    Key(Vec<EntryId>),
    /// A message wording of this entry.
    Message(EntryId),
    /// A token after which a number may be an error code.
    Ctx(Ctx),
}

/// Kinds of code context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// `code`, `errorCode`, `extraCode_`, `getCode()`, ... then `:`/`=` and a number.
    Code,
    /// `result: -10012` of a join failure: only room-entry and account codes.
    Result,
    /// `stat-...-failed-16387`.
    Failed,
    /// `<ERROR> [id] 70001, ...`: an SDK error line that starts with a code.
    ErrorLine,
}

/// One error found on a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// The catalog entry of the error (an SDK code, a cause code when it
    /// stands alone, or a message entry for a code-less message).
    pub entry: EntryId,
    /// The code that explains it (account, room-entry or v5 extraCode).
    pub cause: Option<EntryId>,
    /// A common-message entry found on the same line.
    pub message: Option<EntryId>,
    /// Byte range of the text that identified the error.
    pub matched: Range<usize>,
}

/// Hints from the line's surroundings that help resolve ambiguous names.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hints {
    /// Major SDK version named on the line (JSON `version`, `sdk`), if any.
    pub sdk_major: Option<u32>,
}

/// The compiled matcher. Immutable; cheap to share across threads.
#[derive(Debug, Clone)]
pub struct Matcher {
    set: Arc<CatalogSet>,
    /// Every pattern; run on candidate lines only.
    ac: AhoCorasick,
    pats: Vec<Pat>,
    /// Anchors for the block-wide search (see [`anchors`]).
    anchors: AhoCorasick,
    anchor_count: usize,
}

/// Most patterns the packed (Teddy) prefilter takes before aho-corasick
/// falls back to a far slower search (measured: 66 patterns scan at
/// 0.58 GB/s, 60 at 3.5 GB/s).
const TEDDY_LIMIT: usize = 64;

/// Picks the substrings searched for across whole blocks: every pattern
/// holds one of them, so every line with a pattern holds an anchor, and
/// there are few enough (at most [`TEDDY_LIMIT`]) for the packed prefilter.
/// An anchor is a pattern's prefix; patterns that already contain a chosen
/// anchor add none. Prefixes are shortened until the set fits.
fn anchors(words: &[String]) -> Vec<Vec<u8>> {
    let mut sorted: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
    sorted.sort_by_key(|w| w.len());
    let mut chosen: Vec<Vec<u8>> = Vec::new();
    for len in [12, 10, 8, 6, 5, 4] {
        chosen.clear();
        for w in &sorted {
            let covered = chosen.iter().any(|a| memchr::memmem::find(w, a).is_some());
            if !covered {
                chosen.push(w[..w.len().min(len)].to_vec());
            }
        }
        if chosen.len() <= TEDDY_LIMIT {
            break;
        }
    }
    chosen
}

/// The matcher could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the matcher: {0}")]
pub struct BuildError(#[from] aho_corasick::BuildError);

#[derive(Debug)]
struct KeyHit {
    entries: Vec<EntryId>,
    hex: Option<u32>,
    span: Range<usize>,
}

#[derive(Debug)]
struct NumHit {
    entries: Vec<EntryId>,
    span: Range<usize>,
}

impl Matcher {
    /// Builds the automaton over `set`.
    pub fn new(set: Arc<CatalogSet>) -> Result<Self, BuildError> {
        let mut words: Vec<String> = Vec::new();
        let mut pats: Vec<Pat> = Vec::new();
        for (id, e) in set.entries().iter().enumerate() {
            if e.kind == EntryKind::Sdk {
                for name in std::iter::once(&e.key).chain(&e.aliases) {
                    match words.iter().position(|w| w == name) {
                        Some(i) => {
                            if let Pat::Key(ids) = &mut pats[i] {
                                ids.push(id);
                            }
                        }
                        None => {
                            words.push(name.clone());
                            pats.push(Pat::Key(vec![id]));
                        }
                    }
                }
            }
            for m in &e.messages {
                if !words.contains(m) {
                    words.push(m.clone());
                    pats.push(Pat::Message(id));
                }
            }
        }
        for (w, c) in [
            ("code", Ctx::Code),
            ("Code", Ctx::Code),
            ("CODE", Ctx::Code),
            ("result", Ctx::Result),
            ("-failed-", Ctx::Failed),
            ("<ERROR>", Ctx::ErrorLine),
        ] {
            words.push(w.to_string());
            pats.push(Pat::Ctx(c));
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&words)?;
        let anchor_words = anchors(&words);
        let anchors = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&anchor_words)?;
        Ok(Self {
            set,
            ac,
            pats,
            anchors,
            anchor_count: anchor_words.len(),
        })
    }

    /// The catalogs this matcher was built from.
    pub fn catalog(&self) -> &Arc<CatalogSet> {
        &self.set
    }

    /// Number of patterns in the line automaton and anchors in the block automaton.
    pub fn pattern_counts(&self) -> (usize, usize) {
        (self.pats.len(), self.anchor_count)
    }

    /// Calls `f(line_start, line_end)` for every line of `block` that holds a
    /// candidate, in order, each line once. `line_end` excludes the `\n`.
    pub fn candidate_lines(&self, block: &[u8], mut f: impl FnMut(usize, usize)) {
        let mut at = 0;
        while at < block.len() {
            let input = aho_corasick::Input::new(block).span(at..block.len());
            let Some(m) = self.anchors.find(input) else {
                break;
            };
            let start = memchr::memrchr(b'\n', &block[..m.start()]).map_or(0, |i| i + 1);
            let end = memchr::memchr(b'\n', &block[m.end()..]).map_or(block.len(), |i| m.end() + i);
            f(start, end);
            at = end + 1;
        }
    }

    /// Finds the TRTC errors on one line (without its line terminator).
    pub fn analyze(&self, line: &[u8], hints: Hints) -> Vec<Detection> {
        let mut keys: Vec<KeyHit> = Vec::new();
        let mut nums: Vec<NumHit> = Vec::new();
        let mut msgs: Vec<(EntryId, Range<usize>)> = Vec::new();
        for m in self.ac.find_iter(line) {
            let (s, e) = (m.start(), m.end());
            match &self.pats[m.pattern().as_usize()] {
                Pat::Key(ids) => {
                    if let Some(k) = self.key_hit(line, s, e, ids) {
                        keys.push(k);
                    }
                }
                Pat::Message(id) => {
                    if s == 0 || !line[s - 1].is_ascii_alphanumeric() {
                        msgs.push((*id, s..e));
                    }
                }
                Pat::Ctx(ctx) => {
                    if let Some(n) = self.num_hit(line, s, e, *ctx) {
                        nums.push(n);
                    }
                }
            }
        }
        if keys.is_empty() && nums.is_empty() && msgs.is_empty() {
            return Vec::new();
        }
        self.resolve(line, keys, nums, msgs, hints)
    }

    fn key_hit(&self, line: &[u8], s: usize, e: usize, ids: &[EntryId]) -> Option<KeyHit> {
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        if (s > 0 && word(line[s - 1])) || line.get(e).is_some_and(|&b| word(b)) {
            return None;
        }
        let before = s.checked_sub(1).map(|i| line[i]);
        let after = line.get(e).copied();
        // `<KEY 0xhex>`
        if before == Some(b'<') && line[e..].starts_with(b" 0x") {
            let digits = &line[e + 3..];
            let n = digits.iter().take_while(|b| b.is_ascii_hexdigit()).count();
            if n > 0 && n <= 8 && digits.get(n) == Some(&b'>') {
                let hex = std::str::from_utf8(&digits[..n])
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok());
                return Some(KeyHit {
                    entries: ids.to_vec(),
                    hex,
                    span: s - 1..e + 3 + n + 1,
                });
            }
        }
        let quoted = matches!(before, Some(b'"' | b'\'')) && after == before;
        let formed = quoted || after == Some(b':') || before == Some(b'<');
        if !formed && !ids.iter().any(|&i| self.set.entry(i).bare) {
            return None;
        }
        Some(KeyHit {
            entries: ids.to_vec(),
            hex: None,
            span: s..e,
        })
    }

    fn num_hit(&self, line: &[u8], s: usize, e: usize, ctx: Ctx) -> Option<NumHit> {
        let (value, is_hex, span) = match ctx {
            Ctx::Code => {
                if !code_identifier(line, s, e) {
                    return None;
                }
                let mut i = e;
                while line
                    .get(i)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
                {
                    i += 1;
                }
                let i = skip_separator(line, i, true)?;
                let (v, h, end) = parse_number(line, i)?;
                (v, h, s..end)
            }
            Ctx::Result => {
                if s > 0 && line[s - 1].is_ascii_alphanumeric() {
                    return None;
                }
                let i = skip_separator(line, e, false)?;
                let (v, h, end) = parse_number(line, i)?;
                (v, h, s..end)
            }
            Ctx::Failed => {
                let (v, h, end) = parse_number(line, e)?;
                (v, h, s..end)
            }
            Ctx::ErrorLine => {
                let mut i = skip_spaces(line, e);
                if line.get(i) == Some(&b'[') {
                    i += memchr::memchr(b']', &line[i..(i + 64).min(line.len())])? + 1;
                }
                i = skip_spaces(line, i);
                let (v, h, end) = parse_number(line, i)?;
                if !matches!(line.get(end), Some(b',' | b':')) {
                    return None;
                }
                (v, h, i..end)
            }
        };
        let entries: Vec<EntryId> = if is_hex {
            u32::try_from(value)
                .ok()
                .and_then(|v| self.set.by_hex(v))
                .into_iter()
                .collect()
        } else {
            self.set
                .by_code(value)
                .iter()
                .copied()
                .filter(|&id| {
                    let k = self.set.entry(id).kind;
                    ctx != Ctx::Result || matches!(k, EntryKind::Account | EntryKind::RoomEntry)
                })
                .collect()
        };
        if entries.is_empty() {
            return None;
        }
        Some(NumHit { entries, span })
    }

    fn major(&self, id: EntryId) -> Option<u32> {
        self.set.entry(id).sdk_major
    }

    /// Picks one entry among those that share a name (v4 and v5
    /// `INVALID_PARAMETER`): the hex decides, then codes on the line, then
    /// the SDK version hint, then catalog order.
    fn pick(&self, k: &KeyHit, nums: &[NumHit], hints: Hints) -> EntryId {
        if k.entries.len() == 1 {
            return k.entries[0];
        }
        if let Some(h) = k.hex
            && let Some(&id) = k
                .entries
                .iter()
                .find(|&&id| self.set.entry(id).code == Some(i64::from(h)))
        {
            return id;
        }
        let line_major = nums
            .iter()
            .flat_map(|n| n.entries.iter())
            .find_map(|&id| self.major(id))
            .or(hints.sdk_major);
        line_major
            .and_then(|m| {
                k.entries
                    .iter()
                    .copied()
                    .find(|&id| self.major(id) == Some(m))
            })
            .unwrap_or(k.entries[0])
    }

    fn resolve(
        &self,
        line: &[u8],
        keys: Vec<KeyHit>,
        nums: Vec<NumHit>,
        msgs: Vec<(EntryId, Range<usize>)>,
        hints: Hints,
    ) -> Vec<Detection> {
        let mut out: Vec<Detection> = Vec::new();
        let push_primary = |out: &mut Vec<Detection>, id: EntryId, span: Range<usize>| {
            if !out.iter().any(|d| d.entry == id) {
                out.push(Detection {
                    entry: id,
                    cause: None,
                    message: None,
                    matched: span,
                });
            }
        };
        // Key hits come first on the line in the SDK's own forms; numbers may
        // come before them (JSON), so collect both and order by position.
        let mut primaries: Vec<(usize, EntryId, Range<usize>)> = Vec::new();
        for k in &keys {
            primaries.push((k.span.start, self.pick(k, &nums, hints), k.span.clone()));
        }
        let mut causes: Vec<(EntryId, Range<usize>)> = Vec::new();
        for n in &nums {
            for &id in &n.entries {
                if self.set.entry(id).kind == EntryKind::Sdk {
                    primaries.push((n.span.start, id, n.span.clone()));
                } else {
                    causes.push((id, n.span.clone()));
                }
            }
        }
        primaries.sort_by_key(|p| p.0);
        for (_, id, span) in primaries {
            push_primary(&mut out, id, span);
        }
        for (cid, span) in causes {
            let c = self.set.entry(cid);
            if out.iter().any(|d| d.cause == Some(cid) || d.entry == cid) {
                continue;
            }
            if c.kind == EntryKind::Extra {
                let parent = c.parent;
                // The extraCode refines its parent, which may stand on the line or not.
                let slot = out.iter_mut().find(|d| {
                    let e = self.set.entry(d.entry);
                    e.code == parent && e.catalog == c.catalog
                });
                match slot {
                    Some(d) if d.cause.is_none() => d.cause = Some(cid),
                    Some(_) => {}
                    None => {
                        let pid = parent.and_then(|p| {
                            self.set
                                .by_code(p)
                                .iter()
                                .copied()
                                .find(|&i| self.set.entry(i).catalog == c.catalog)
                        });
                        match pid {
                            Some(pid) if out.is_empty() => out.push(Detection {
                                entry: pid,
                                cause: Some(cid),
                                message: None,
                                matched: span,
                            }),
                            _ => {}
                        }
                    }
                }
                continue;
            }
            let has_sdk = out
                .iter()
                .any(|d| self.set.entry(d.entry).kind == EntryKind::Sdk);
            match out
                .iter_mut()
                .find(|d| d.cause.is_none() && self.set.entry(d.entry).kind == EntryKind::Sdk)
            {
                Some(d) => d.cause = Some(cid),
                None if has_sdk => {}
                None => push_primary(&mut out, cid, span),
            }
        }
        if let Some((mid, span)) = msgs.into_iter().next() {
            match out.first_mut() {
                Some(d) => d.message = Some(mid),
                None if !is_info_line(line) => out.push(Detection {
                    entry: mid,
                    cause: None,
                    message: Some(mid),
                    matched: span,
                }),
                None => {}
            }
        }
        out
    }
}

/// True when the identifier around the `code` token at `s..e` is one that
/// carries error codes: `code`, `code_`, `errorCode`, `errCode`, `extraCode`,
/// `getCode`, `error_code`, ... but not `statusCode` or `zipcode`.
fn code_identifier(line: &[u8], s: usize, e: usize) -> bool {
    let mut b = s;
    while b > 0 && (line[b - 1].is_ascii_alphabetic() || line[b - 1] == b'_') {
        b -= 1;
    }
    let mut a = e;
    while line
        .get(a)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
    {
        a += 1;
    }
    // `42code`, and URL query parameters (`?code=70001&state=...`, an OAuth
    // callback) are not error codes.
    if b > 0 && (line[b - 1].is_ascii_digit() || matches!(line[b - 1], b'?' | b'&')) {
        return false;
    }
    let prefix: Vec<u8> = line[b..s]
        .iter()
        .filter(|c| **c != b'_')
        .map(u8::to_ascii_lowercase)
        .collect();
    let suffix_ok = line[e..a].iter().all(|c| *c == b'_');
    suffix_ok
        && matches!(
            prefix.as_slice(),
            b"" | b"error" | b"err" | b"extra" | b"get" | b"rtcerror"
        )
}

fn skip_spaces(line: &[u8], mut i: usize) -> usize {
    while line.get(i).is_some_and(|b| *b == b' ' || *b == b'\t') {
        i += 1;
    }
    i
}

/// Skips `()`, a closing quote, spaces, a separator (`:`, `=`, `==`, `===`,
/// `:=`) and an opening quote. `None` if no separator is there.
fn skip_separator(line: &[u8], mut i: usize, allow_call: bool) -> Option<usize> {
    if allow_call && line[i..].starts_with(b"()") {
        i += 2;
    }
    if matches!(line.get(i), Some(b'"' | b'\'')) {
        i += 1;
    }
    i = skip_spaces(line, i);
    let sep = line[i..]
        .iter()
        .take_while(|b| matches!(b, b':' | b'='))
        .count();
    if sep == 0 || sep > 3 {
        return None;
    }
    i = skip_spaces(line, i + sep);
    if matches!(line.get(i), Some(b'"' | b'\'')) {
        i += 1;
    }
    Some(i)
}

/// Parses `-?[0-9]+` or `0x[0-9a-f]+` at `i`; the number must end at a
/// non-alphanumeric byte that is not a `.` followed by a digit.
/// Returns (value, is_hex, end).
fn parse_number(line: &[u8], i: usize) -> Option<(i64, bool, usize)> {
    let rest = line.get(i..)?;
    let (neg, digits_at) = if rest.first() == Some(&b'-') {
        (true, 1)
    } else {
        (false, 0)
    };
    let body = &rest[digits_at..];
    let (value, len, hex) = if !neg && (body.starts_with(b"0x") || body.starts_with(b"0X")) {
        let n = body[2..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if n == 0 || n > 8 {
            return None;
        }
        let v = i64::from_str_radix(std::str::from_utf8(&body[2..2 + n]).ok()?, 16).ok()?;
        (v, 2 + n, true)
    } else {
        let n = body.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        let v: i64 = std::str::from_utf8(&body[..n]).ok()?.parse().ok()?;
        (if neg { -v } else { v }, n, false)
    };
    let end = i + digits_at + len;
    match line.get(end) {
        Some(b) if b.is_ascii_alphanumeric() || *b == b'_' => None,
        Some(b'.') if line.get(end + 1).is_some_and(u8::is_ascii_digit) => None,
        _ => Some((value, hex, end)),
    }
}

/// True for SDK console lines at INFO, DEBUG or TRACE level: state reports,
/// not errors, so a message wording alone on them is not an event.
fn is_info_line(line: &[u8]) -> bool {
    let head = &line[..line.len().min(96)];
    [&b"<INFO>"[..], b"<DEBUG>", b"<TRACE>"]
        .iter()
        .any(|lvl| memchr::memmem::find(head, lvl).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> Matcher {
        Matcher::new(Arc::new(CatalogSet::builtin().unwrap())).unwrap()
    }

    fn codes(m: &Matcher, line: &str) -> Vec<(Option<i64>, Option<i64>)> {
        let set = m.catalog();
        m.analyze(line.as_bytes(), Hints::default())
            .iter()
            .map(|d| {
                (
                    set.entry(d.entry).code,
                    d.cause.and_then(|c| set.entry(c).code),
                )
            })
            .collect()
    }

    #[test]
    fn anchors_cover_every_pattern_and_fit_teddy() {
        let words: Vec<String> = [
            "SIGNAL_CHANNEL_ERROR",
            "SIGNAL_CHANNEL_SETUP_FAILED",
            "publish timeout",
            "unpublish timeout",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let a = anchors(&words);
        assert_eq!(a.len(), 2, "{a:?}");
        for w in &words {
            assert!(
                a.iter()
                    .any(|x| memchr::memmem::find(w.as_bytes(), x).is_some())
            );
        }
        let many: Vec<String> = (0..200).map(|i| format!("KEY_{i:03}_X")).collect();
        let a = anchors(&many);
        assert!(a.len() <= TEDDY_LIMIT, "{}", a.len());
        let m = m();
        assert!(m.pattern_counts().1 <= TEDDY_LIMIT);
    }

    #[test]
    fn numbers_only_in_code_context() {
        let m = m();
        for noise in [
            "size=4096",
            "port 16387",
            "*70001 upstream timed out",
            r#"{"roomId":16388,"bytes":4096}"#,
            "userId u_4099",
            "addr=0x1000",
            r#"{"statusCode":4096}"#,
            "code=4096.5",
            "zipcode: 70001",
        ] {
            assert_eq!(codes(&m, noise), vec![], "{noise}");
        }
        assert_eq!(codes(&m, "code=0x4043"), vec![(Some(16451), None)]);
        assert_eq!(
            codes(&m, "error.getCode() === 0x4043"),
            vec![(Some(16451), None)]
        );
        assert_eq!(codes(&m, r#"{"code_":16387}"#), vec![(Some(16387), None)]);
        assert_eq!(codes(&m, "'errorCode': 70001"), vec![(Some(70001), None)]);
    }

    #[test]
    fn leftmost_longest_key() {
        let m = m();
        assert_eq!(
            codes(&m, "<NOT_SUPPORTED_H264 0x4049>"),
            vec![(Some(16457), None)]
        );
        assert_eq!(codes(&m, "NOT_SUPPORTED_H264"), vec![(Some(16457), None)]);
        assert_eq!(codes(&m, "MY_ICE_TRANSPORT_ERROR_X"), vec![]);
    }

    #[test]
    fn v4_and_v5_names_resolved_by_code_form() {
        let m = m();
        assert_eq!(
            codes(&m, "<INVALID_PARAMETER 0x1000>"),
            vec![(Some(4096), None)]
        );
        assert_eq!(
            codes(&m, "INVALID_PARAMETER: bad roomId code:5016"),
            vec![(Some(5000), Some(5016))]
        );
        let v5 = Hints { sdk_major: Some(5) };
        let d = m.analyze(b"INVALID_OPERATION: not in room", v5);
        assert_eq!(m.catalog().entry(d[0].entry).code, Some(5100));
    }

    #[test]
    fn cause_attaches_to_the_sdk_error() {
        let m = m();
        assert_eq!(
            codes(
                &m,
                "SignalChannel setup failure: (errorCode: 70001 x) <SIGNAL_CHANNEL_SETUP_FAILED 0x4001>"
            ),
            vec![(Some(16385), Some(70001))]
        );
        assert_eq!(
            codes(&m, "Join room failed result: -10012 error"),
            vec![(Some(-10012), None)]
        );
        assert_eq!(codes(&m, "result: 16387"), vec![]);
    }

    #[test]
    fn info_state_report_is_not_an_error() {
        let m = m();
        assert_eq!(
            codes(
                &m,
                "[20:41:09:016] <INFO> [n|a] ICE Transport state: failed"
            ),
            vec![]
        );
        assert_eq!(
            codes(&m, "[20:41:09:016] <INFO> [n|a] join room timeout"),
            vec![]
        );
        assert_eq!(
            codes(&m, "[20:41:09:016] <WARN> [n|a] join room timeout"),
            vec![(None, None)]
        );
    }
}
