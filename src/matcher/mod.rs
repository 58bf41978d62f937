//! The matcher: one Aho-Corasick pass finds candidate lines, then context
//! rules decide which keys, numbers and messages on a line are TRTC errors.
//!
//! What goes into the automaton: every SDK key and alias, every message
//! wording, and a few context tokens (`code`, `result`, `-failed-`,
//! `<ERROR>`). Hex codes are *not* patterns: they start with `0`, which would
//! defeat the prefilter; they are read after a key (`<KEY 0x4003>`) or a
//! `code` token instead. A bare number is never an error code.
//!
//! Matching a line has two halves: [`Matcher::find`] runs the automaton
//! once and keeps the hits that stand in an error-shaped context;
//! [`Matcher::resolve`] turns hits into detections (which entry, its cause,
//! its message), with hints from the line's context (the SDK version), so
//! the automaton never runs twice on a line.
//!
//! Submodules: [`anchors`] (the block-wide search), [`lexing`] (identifiers,
//! separators, numbers), [`forms`] (the SDK's own output forms),
//! [`mentions`] (lines about errors rather than from them, another vendor's
//! errors) and `resolve` (from hits to detections).

mod anchors;
mod find;
pub mod forms;
mod levels;
mod lexing;
mod mentions;
pub mod operator;
mod resolve;
pub mod rules;

pub use operator::{PatternError, Recognition};
pub use rules::{Reject, Rule, Verdict};

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use smallvec::SmallVec;

use crate::catalog::{CatalogSet, EntryId, EntryKind};

/// What an automaton pattern stands for.
#[derive(Debug, Clone)]
enum Pat {
    /// An SDK key or alias; the entries that carry that name.
    Key(Vec<EntryId>),
    /// A message wording of this entry.
    Message(EntryId),
    /// SDK 5's wording of this SDK 4 error when it wraps it.
    Reason(EntryId),
    /// A token after which a number may be an error code.
    Ctx(Ctx),
    /// A token of SDK 5's failure form (`) failed `): where nothing on the
    /// line is in the catalog, the form may name an error the catalog does
    /// not know (catalog drift). SDK 4's `<KEY 0xhex>` is looked at on the
    /// SDK's `<ERROR>` records, already candidates: another block-wide
    /// anchor (`RtcError`, on a quarter of a storm's lines) cost 12 % more
    /// instructions on the 50 % corpus.
    Form,
}

/// Tokens of the SDK's own error forms (see [`Pat::Form`]).
const FORM_TOKENS: &[&str] = &[") failed "];

/// Kinds of code context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// `code`, `errorCode`, `extraCode_`, `getCode()`, `error code`, ... then
    /// a separator and a number.
    Code,
    /// A word that names an error number by itself (`err=`, `errno`,
    /// `error(`, `错误码`, `エラーコード`); holds the rule name.
    Word(&'static str),
    /// `result: -10012` of a join failure: only room-entry and account codes.
    Result,
    /// `stat-...-failed-16387`.
    Failed,
    /// `<ERROR> [id] 70001, ...`: an SDK error line that starts with a code.
    ErrorLine,
    /// An error wording, in any language, with the code in brackets of
    /// any script right after it: `进房失败(-10020)`, `join failed (16387)`,
    /// `进房失败【-10016】`, `ICE error (0x4003)`.
    Paren,
    /// A tally of an SDK hex code: `0x4003 ×2` (a summary of errors seen).
    Tally,
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
    /// The rule that took it.
    pub rule: Rule,
    /// A v5 extraCode the catalog does not know, kept as it was written.
    pub unknown_extra: Option<i64>,
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
    /// The search for patterns that start with [`anchors::QUOTED`], when
    /// the catalogs have any.
    quoted: Option<memchr::memmem::Finder<'static>>,
    /// The operator's rules and ignores, when the config has any.
    ops: Option<Arc<Recognition>>,
}

/// Tokens after which a number may be an error code.
const CONTEXT_TOKENS: &[(&str, Ctx)] = &[
    ("code", Ctx::Code),
    ("Code", Ctx::Code),
    ("CODE", Ctx::Code),
    ("result", Ctx::Result),
    // Japanese and Korean result words (`入室結果: -10012`, `결과 코드: 70001`).
    ("結果", Ctx::Result),
    ("결과 코드", Ctx::Result),
    ("-failed-", Ctx::Failed),
    ("<ERROR>", Ctx::ErrorLine),
    ("err=", Ctx::Word("code context: err=")),
    ("errno", Ctx::Word("code context: errno")),
    ("error(", Ctx::Word("code context: error(N)")),
    ("错误码", Ctx::Word("code context: 错误码")),
    ("错误代码", Ctx::Word("code context: 错误代码")),
    ("エラーコード", Ctx::Word("code context: エラーコード")),
    (TALLY_TOKEN, Ctx::Tally),
];

/// The token after a tallied code (`0x4003 ×2`).
const TALLY_TOKEN: &str = " ×";

/// Error wordings, in any language, that a code in brackets may follow
/// (`进房失败【-10016】`, `ICE failed (0x4003)`): the word is the pattern,
/// the bracket is looked for after it (see `lexing::opens_at`).
const PAREN_WORDS: &[&str] = &["失败", "失敗", "错误", "异常", "エラー", "failed"];

/// Up to this many patterns the line automaton is a DFA.
const DFA_PATTERNS: usize = 500;

/// The matcher could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the matcher: {0}")]
pub struct BuildError(#[from] aho_corasick::BuildError);

/// The entries a name or code stands for: almost always one or two, kept
/// inline (a storm matches tens of thousands of lines a second, and each
/// allocation is a malloc and a free).
type Ids = SmallVec<[EntryId; 4]>;

/// A key or alias taken as an error.
#[derive(Debug)]
struct KeyHit {
    entries: Ids,
    hex: Option<u32>,
    span: Range<usize>,
    rule: Rule,
}

/// A number taken as a catalog code.
#[derive(Debug)]
struct NumHit {
    entries: Ids,
    span: Range<usize>,
    rule: Rule,
}

/// What [`Matcher::find`] saw on a line, for [`Matcher::resolve`].
#[derive(Debug, Default)]
pub struct Hits {
    keys: SmallVec<[KeyHit; 2]>,
    nums: SmallVec<[NumHit; 2]>,
    msgs: SmallVec<[(EntryId, Range<usize>); 2]>,
    /// SDK 4 errors in SDK 5's wording of an error it wraps (never an
    /// event alone).
    reasons: SmallVec<[EntryId; 1]>,
    /// A v5 extraCode (5001-5999) in code context that the catalog does not know.
    unknown_v5: Option<i64>,
    /// Nothing else on the line, and an SDK error form whose key the
    /// catalog does not know: its SDK major and where it is.
    drift: Option<(u32, Range<usize>)>,
    /// The line is trtc-logwatch's own output.
    own_output: bool,
    /// The operator's rule or ignore that decided the line, if one did.
    op: Option<operator::Taken>,
    /// Where an operator's rule found the user and the room.
    op_user: Option<Range<usize>>,
    op_room: Option<Range<usize>>,
}

impl Hits {
    /// True when nothing on the line can be an error.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.nums.is_empty() && self.msgs.is_empty() && self.drift.is_none()
    }

    /// True when the line is trtc-logwatch's own output read back.
    pub fn own_output(&self) -> bool {
        self.own_output
    }

    /// True when an ignore of the operator's config silenced the line.
    pub fn ignored(&self) -> bool {
        matches!(self.op, Some(operator::Taken::Ignore(_)))
    }

    /// Where an operator's rule found the user and the room (`user`,
    /// `room` groups), in the line.
    pub fn operator_context(&self) -> (Option<Range<usize>>, Option<Range<usize>>) {
        (self.op_user.clone(), self.op_room.clone())
    }
}

impl Matcher {
    /// Builds the automaton over `set`.
    pub fn new(set: Arc<CatalogSet>) -> Result<Self, BuildError> {
        let mut words: Vec<String> = Vec::new();
        let mut pats: Vec<Pat> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (id, e) in set.iter() {
            // SDK errors and extraCodes are known by name (`JOIN_ROOM_FAILED`,
            // `REJOIN_FAILED / 5502`): an extraCode's name is its parent's
            // cause (see `resolve`). Older names of extraCodes (5.0's
            // `ENV_5201`) are looked up, not searched for.
            if matches!(e.kind, EntryKind::Sdk | EntryKind::Extra) {
                let aliases = if e.kind == EntryKind::Sdk {
                    &e.aliases[..]
                } else {
                    &[]
                };
                for name in std::iter::once(&e.key).chain(aliases) {
                    match index.get(name.as_str()) {
                        Some(&i) => {
                            if let Pat::Key(ids) = &mut pats[i] {
                                ids.push(id);
                            }
                        }
                        None => {
                            index.insert(name, words.len());
                            words.push(name.clone());
                            pats.push(Pat::Key(vec![id]));
                        }
                    }
                }
            }
            // A wording is a pattern once, of the first entry that has it.
            let wordings = e.messages.iter().map(|m| (m, Pat::Message(id)));
            let reasons = e.v5_reasons.iter().map(|r| (r, Pat::Reason(id)));
            for (w, pat) in wordings.chain(reasons) {
                if !index.contains_key(w.as_str()) {
                    index.insert(w, words.len());
                    words.push(w.clone());
                    pats.push(pat);
                }
            }
        }
        for (w, c) in CONTEXT_TOKENS {
            words.push(w.to_string());
            pats.push(Pat::Ctx(*c));
        }
        for w in PAREN_WORDS {
            words.push(w.to_string());
            pats.push(Pat::Ctx(Ctx::Paren));
        }
        for w in FORM_TOKENS {
            words.push(w.to_string());
            pats.push(Pat::Form);
        }
        // A DFA scans fastest but takes time and memory that grow with the
        // square of a big catalog: past a few hundred patterns, an NFA.
        let kind = if words.len() > DFA_PATTERNS {
            AhoCorasickKind::ContiguousNFA
        } else {
            AhoCorasickKind::DFA
        };
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(kind))
            .prefilter(false)
            .build(&words)?;
        // A tally's ` ×` is no anchor (a space first would make the block
        // search stop at every space): a tally counts on a line that says
        // what it counts (`rtc errors (last 5 min): 0x4003 ×2`), and that
        // word is searched for instead. Patterns that start with `' ` have
        // a search of their own (`quoted`).
        let anchored: Vec<String> = words
            .iter()
            .filter(|w| !TALLY_TOKEN.eq(w.as_str()))
            .filter(|w| !w.as_bytes().starts_with(anchors::QUOTED))
            .cloned()
            .chain(std::iter::once("error".to_string()))
            .collect();
        let quoted = (words
            .iter()
            .any(|w| w.as_bytes().starts_with(anchors::QUOTED)))
        .then(|| memchr::memmem::Finder::new(anchors::QUOTED).into_owned());
        let anchor_words = anchors::anchors(&anchored);

        let anchors = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&anchor_words)?;
        Ok(Self {
            set,
            ac,
            pats,
            anchors,
            anchor_count: anchor_words.len(),
            quoted,
            ops: None,
        })
    }

    /// This matcher with the operator's rules and ignores (none: as it was).
    pub fn with_recognition(mut self, r: Arc<Recognition>) -> Self {
        self.ops = (!r.is_empty()).then_some(r);
        self
    }

    /// The operator's rules and ignores, if any.
    pub fn recognition(&self) -> Option<&Recognition> {
        self.ops.as_deref()
    }

    /// Counts the line for the rule or ignore that decided `hits`, if one
    /// did: called once per record with its final hits (`find` runs again
    /// on a record decoded or with a credential replaced, and `why` runs
    /// it without counting).
    pub fn count_taken(&self, hits: &Hits) {
        if let (Some(ops), Some(t)) = (&self.ops, hits.op) {
            ops.count(t);
        }
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
        // The lines the operator's rules match, merged in order.
        let mut extra = match &self.ops {
            Some(ops) if !ops.rules().is_empty() => ops.lines(block),
            _ => Vec::new(),
        };
        // The lines with a pattern that starts with `' ` (no anchor).
        if let Some(f) = &self.quoted {
            extra = anchors::merge_lines(extra, anchors::lines_holding(block, f));
        }
        let mut next_extra = extra.into_iter().peekable();
        let mut at = 0;
        while at < block.len() {
            let input = aho_corasick::Input::new(block).span(at..block.len());
            let anchored = self
                .anchors
                .find(input)
                .map(|m| crate::bytes::line_around(block, m.start(), m.end()));
            while next_extra.peek().is_some_and(|&(s, _)| s < at) {
                next_extra.next();
            }
            let line = match (anchored, next_extra.peek().copied()) {
                (Some(a), Some(x)) => a.min(x),
                (a, x) => match a.or(x) {
                    Some(l) => l,
                    None => break,
                },
            };
            f(line.0, line.1);
            at = line.1 + 1;
        }
    }
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
    fn builtin_anchors_fit_teddy() {
        let (patterns, anchors) = m().pattern_counts();
        println!("{patterns} patterns, {anchors} anchors");
        assert!(anchors <= anchors::TEDDY_LIMIT);
    }

    #[test]
    fn common_numbers_are_trtc_codes_only_where_trtc_is_named() {
        let m = m();
        for other in [
            "socket closed, code 4096",
            "SYSCOIN_ESCROW_RPC_ERROR: ERRCODE: 4096 - Could not sign escrow transaction",
            "PAYMENT_GATEWAY_FAILED: errCode: 4100",
        ] {
            assert!(codes(&m, other).is_empty(), "{other}");
        }
        for trtc in [
            "[10:00:00] <ERROR> FOO_BAR_ERROR: errCode: 4097",
            "INVALID_PARAMETER: errCode: 4096",
            "RtcError: x ERRCODE: 4096",
        ] {
            assert!(!codes(&m, trtc).is_empty(), "{trtc}");
        }
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
        // A log that prints a comparison reports its code; a comparison in
        // source or docs (a condition, a code span) is a mention (issue 17).
        assert_eq!(
            codes(&m, "error.getCode() === 0x4043"),
            vec![(Some(16451), None)]
        );
        for mention in [
            "if (error.extraCode === 5501) showTip()",
            "if (err.code != 16387) return",
            "check `error.getCode() === 0x4043` first",
            "const retry = err.code === 16387 && online;",
        ] {
            assert_eq!(codes(&m, mention), vec![], "{mention}");
        }
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

    #[test]
    fn a_key_beside_its_own_code_in_any_wrapping() {
        let m = m();
        for line in [
            "客户端被踢出 CLIENT_BANNED 0x4040",
            "CLIENT_BANNED (16448) kicked",
            "CLIENT_BANNED: 16448",
            "16448 CLIENT_BANNED",
            "CLIENT_BANNED，0x4040",
            "ルームから退出 CLIENT_BANNED（16448）",
        ] {
            assert_eq!(codes(&m, line), vec![(Some(16448), None)], "{line}");
        }
        // Another SDK code beside it: the number decides.
        assert_eq!(
            codes(&m, "INVALID_OPERATION 16388 x"),
            vec![(Some(16388), None)]
        );
        // A cause code beside it: the key, with that cause.
        assert_eq!(
            codes(&m, "SIGNAL_CHANNEL_SETUP_FAILED 70001"),
            vec![(Some(16385), Some(70001))]
        );
        // A number beside a generic key that is no code: nothing.
        assert_eq!(codes(&m, "UNKNOWN 42 times"), vec![]);
    }

    #[test]
    fn code_words_in_other_languages_and_wrappers() {
        let m = m();
        for (line, code) in [
            ("进房失败，错误码：-10012", -10012),
            ("错误代码=16390", 16390),
            ("エラーコード：70001", 70001),
            ("app error code 16390", 16390),
            ("failed: error(16386)", 16386),
            ("level=error err=16386", 16386),
            ("errno 16390", 16390),
        ] {
            let got = codes(&m, line);
            assert_eq!(
                got.first().map(|c| c.0),
                Some(Some(code)),
                "{line}: {got:?}"
            );
        }
        for noise in [
            "port 16387",
            "error code 1045 access denied",
            "error(42)",
            "errno 2",
        ] {
            assert_eq!(codes(&m, noise), vec![], "{noise}");
        }
    }

    #[test]
    fn mentions_are_no_errors() {
        let m = m();
        for line in [
            "[15:03:43:004] <INFO> [↑t1|alice] retry on [ICE_TRANSPORT_ERROR, SIGNAL_CHANNEL_SETUP_FAILED]",
            "counters ICE_TRANSPORT_ERROR=0 JOIN_ROOM_FAILED=0",
            "see https://x/module-ErrorCode.html#.ICE_TRANSPORT_ERROR",
            "publish timeout=10000ms",
            "retryOn=ICE_TRANSPORT_ERROR,SIGNAL_CHANNEL_ERROR",
            r#"trtc_errors_total{catalog="trtc-web-v4",key="ICE_TRANSPORT_ERROR",code="16387"} 3"#,
            "state UNKNOWN",
        ] {
            assert_eq!(codes(&m, line), vec![], "{line}");
        }
    }

    #[test]
    fn v5_as_the_sdk_prints_it() {
        let m = m();
        // A v5 error wrapping a v4 one is one v5 event, with the server's cause.
        assert_eq!(
            codes(
                &m,
                "SERVER_ERROR: 'enterRoom' got server error: RtcError: x code: 70001 <JOIN_ROOM_FAILED 0x4004>"
            ),
            vec![(Some(5400), Some(70001))]
        );
        // A code-less v5 wording.
        assert_eq!(
            codes(
                &m,
                "Reason: media connection failure due to firewall restrictions, please try to change your network."
            ),
            vec![(Some(5500), Some(5501))]
        );
        // An extraCode the catalog does not know stays with its v5 parent.
        let d = m.analyze(b"INVALID_PARAMETER: x code:5099", Hints::default());
        assert_eq!(m.catalog().entry(d[0].entry).code, Some(5000));
        assert_eq!(d[0].unknown_extra, Some(5099));
        // The extraCode 5021.
        assert_eq!(
            codes(
                &m,
                "INVALID_PARAMETER: 'quickStart.remoteUserId' cannot be the same as the local userId 'a'. code:5021"
            ),
            vec![(Some(5000), Some(5021))]
        );
    }

    #[test]
    fn an_sdk5_error_keeps_the_group_of_the_sdk4_error_it_wraps() {
        let m = m();
        let set = m.catalog();
        let group = |line: &str| -> Vec<&str> {
            m.analyze(line.as_bytes(), Hints::default())
                .iter()
                .map(|d| crate::catalog::group_of(set, d.entry, d.cause))
                .collect()
        };
        // SDK 5 words the inner error (its convertFrom gives no v5 code):
        // the schedule, the signaling channel, a timeout.
        for (line, want) in [
            (
                "[06:28:37:316] <ERROR> enterRoom() failed 4   OPERATION_FAILED: 'enterRoom' failed, reason: Failed to join room - schedule failed: Failed to fetch code: 0 code:5500 params: []",
                (5500, 16460, "signaling"),
            ),
            (
                "OPERATION_FAILED: 'enterRoom' failed, reason: SignalChannel setup failure: (errorCode: 1006, errorMsg: x }). code:5500",
                (5500, 16385, "signaling"),
            ),
            (
                "OPERATION_FAILED: 'switchRole' failed, reason: websocket onerror",
                (5500, 16385, "signaling"),
            ),
            (
                "OPERATION_FAILED: 'enterRoom' failed, reason: join timeout observed.",
                (5500, 16459, "usage"),
            ),
            // Its `<KEY 0xhex>` where the inner error's text is printed.
            (
                "OPERATION_FAILED: 'enterRoom' failed, reason: x <SCHEDULE_FAILED 0x404c>",
                (5500, 16460, "signaling"),
            ),
        ] {
            assert_eq!(
                codes(&m, line),
                vec![(Some(want.0), Some(want.1))],
                "{line}"
            );
            assert_eq!(group(line), vec![want.2], "{line}");
        }
        // A code on the line explains it better than what it wraps.
        assert_eq!(
            codes(
                &m,
                "SERVER_ERROR: 'enterRoom' got server error: RtcError: x code: 70001 <JOIN_ROOM_FAILED 0x4004>"
            ),
            vec![(Some(5400), Some(70001))]
        );
        // The wording alone is no event: the SDK logs the error itself after it.
        for line in [
            "[06:28:37:284] <ERROR> Failed to join room - schedule failed: Failed to fetch 0",
            "[06:28:37:284] <WARN> websocket onclose, reconnecting",
        ] {
            assert_eq!(codes(&m, line), vec![], "{line}");
        }
        // An SDK 4 error stays itself.
        assert_eq!(
            group("RtcError: Failed to join room - schedule failed <SCHEDULE_FAILED 0x404c>"),
            vec!["signaling"]
        );
    }

    #[test]
    fn the_call_counter_of_an_sdk5_failure_is_no_code() {
        let m = m();
        // The SDK numbers its API calls: a long session reaches 4096 (the
        // v4 INVALID_PARAMETER code) and beyond.
        for n in [2, 4096, 16387, 70001] {
            let line = format!(
                "[10:00:00:096] <ERROR> [↑t1|u] startLocalVideo() failed {n}   DEVICE_ERROR: NotFoundError, no camera detected. code:5301 params: []"
            );
            assert_eq!(codes(&m, &line), [(Some(5300), Some(5301))], "{line}");
        }
    }

    #[test]
    fn what_real_apps_write() {
        let m = m();
        // A bare code in parentheses right after an error wording, in any
        // language; a code word that can only name a code, then spaces.
        for (line, code) in [
            ("进房失败(-10020)", -10020),
            ("加入房间失败（-10012）", -10012),
            ("入室に失敗(-10012)", -10012),
            ("join room failed (code 16387)", 16387),
            ("join failed (16387)", 16387),
            ("enterRoom error, errorCode 16387", 16387),
            ("errCode 70001 while entering", 70001),
            ("入室結果: -10012（invalid roomId）", -10012),
            ("입장 실패 결과 코드: 70001 (userSig 만료)", 70001),
            ("进房失败【-10016】", -10016),
            ("信令重连失败〔0x4006〕", 16390),
            ("rtc errors: failed 0x4003 ×2", 16387),
        ] {
            let got = codes(&m, line);
            assert_eq!(
                got.first().map(|c| c.0),
                Some(Some(code)),
                "{line}: {got:?}"
            );
        }
        // Mentions: a counter after a key, a key in a changelog or commit,
        // numbers in parentheses that are no error's, `code` and spaces.
        for line in [
            "ICE_TRANSPORT_ERROR count=0",
            "stats: ICE_TRANSPORT_ERROR total: 3",
            "fixed ICE_TRANSPORT_ERROR handling in reconnect",
            "v4.15.2: Fix CLIENT_BANNED not emitted after kick",
            "修复 ICE_TRANSPORT_ERROR 的重连问题",
            "upload failed (3 retries)",
            "zip code 16387",
            "source code 16387 lines",
        ] {
            assert_eq!(codes(&m, line), vec![], "{line}");
        }
        // A key on an error-shaped line is still an error, changelog word or not.
        assert_eq!(
            codes(
                &m,
                "[ERROR] reconnect failed: ICE_TRANSPORT_ERROR, will fix later"
            ),
            [(Some(16387), None)]
        );
    }
}
