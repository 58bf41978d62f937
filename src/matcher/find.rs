//! Finding hits on one line: the automaton runs once, and each match is
//! judged by the rules of [`super::rules`]: strong forms (a key with its
//! own code, a code word before a number) count at any level; weak forms (a
//! key alone, a key as `KEY:`, a message wording) only where the line is no
//! mention (not an INFO line, not a URL, not a setting, not a list of
//! names). A key with another catalog code beside it: the number decides.

use std::ops::Range;

use super::rules::{Reject, Rule, Verdict};
use super::{
    Ctx, Detection, Hints, Hits, Ids, KeyHit, Matcher, NumHit, Pat, forms, lexing, mentions,
};
use crate::catalog::{EntryId, EntryKind};

/// A key judged: taken as itself, with its cause beside it, or its number
/// decides.
enum KeyOutcome {
    Key(KeyHit),
    KeyAndCause(KeyHit, NumHit),
    Number(NumHit),
}

impl Matcher {
    /// Finds the TRTC errors on one line (without its line terminator):
    /// [`find`](Self::find) then [`resolve`](Self::resolve).
    pub fn analyze(&self, line: &[u8], hints: Hints) -> Vec<Detection> {
        let hits = self.find(line);
        if hits.is_empty() {
            return Vec::new();
        }
        self.resolve(line, &hits, hints)
    }

    /// Runs the automaton over one line and keeps the keys, numbers and
    /// message wordings that the rules take.
    pub fn find(&self, line: &[u8]) -> Hits {
        self.judge(line, None)
    }

    /// [`find`](Self::find), also saying for every candidate which rule
    /// took it or why it was not taken (`trtc-logwatch why`).
    pub fn find_explained(&self, line: &[u8]) -> (Hits, Vec<Verdict>) {
        let mut trace = Vec::new();
        let hits = self.judge(line, Some(&mut trace));
        (hits, trace)
    }

    fn judge(&self, line: &[u8], mut trace: Option<&mut Vec<Verdict>>) -> Hits {
        let mut hits = Hits::default();
        let mut note = |span: Range<usize>, outcome: Result<Rule, Reject>| {
            if let Some(t) = trace.as_deref_mut() {
                let at = memchr::memchr_iter(b'\n', &line[..span.start]).count();
                let text = String::from_utf8_lossy(&line[span]).into_owned();
                t.push(Verdict {
                    text,
                    line: at,
                    outcome,
                });
            }
        };
        if forms::is_own_output(line) {
            hits.own_output = true;
            note(0..line.len().min(60), Err(Reject::OwnOutput));
            return hits;
        }
        // The operator's ignores, then the operator's rules: a line a rule
        // matches is decided by it.
        if let Some(ops) = &self.ops {
            if let Some((i, ig)) = ops.ignored_by(line) {
                hits.op = Some(super::operator::Taken::Ignore(i));
                note(0..line.len().min(60), Err(Reject::Ignored(ig.label)));
                return hits;
            }
            for (i, rule) in ops.rules().iter().enumerate() {
                let Some(c) = rule.re.captures(line) else {
                    continue;
                };
                if self.operator_hits(rule, &c, &mut hits) {
                    hits.op = Some(super::operator::Taken::Rule(i));
                    let whole = c.get(0).map_or(0..0, |m| m.range());
                    note(whole, Ok(Rule::Operator(rule.label)));
                    return hits;
                }
                let whole = c.get(0).map_or(0..0, |m| m.range());
                note(whole, Err(Reject::NotACode));
            }
        }
        let mut form_seen = false;
        // Found once per line, however many hits are judged on it.
        let facts = forms::LineFacts::new(line);
        for m in self.ac.find_iter(line) {
            let (s, e) = (m.start(), m.end());
            let pat = &self.pats[m.pattern().as_usize()];
            // SDK 5's failure form, or an SDK `<ERROR>` record (SDK 4's
            // `<KEY 0xhex>` is printed at that level).
            form_seen |= matches!(pat, Pat::Form | Pat::Ctx(Ctx::ErrorLine));
            match pat {
                Pat::Form => {}
                Pat::Key(ids) => match self.judge_key(&facts, s, e, ids) {
                    Ok(KeyOutcome::Key(k)) => {
                        note(k.span.clone(), Ok(k.rule));
                        hits.keys.push(k);
                    }
                    Ok(KeyOutcome::KeyAndCause(k, n)) => {
                        note(k.span.start..n.span.end, Ok(k.rule));
                        hits.keys.push(k);
                        hits.nums.push(n);
                    }
                    Ok(KeyOutcome::Number(n)) => {
                        note(n.span.clone(), Ok(n.rule));
                        hits.nums.push(n);
                    }
                    Err(r) => note(s..e, Err(r)),
                },
                // An error word without a bracket after it: no candidate.
                Pat::Ctx(Ctx::Paren) if lexing::opens_at(line, e).is_none() => {}
                Pat::Reason(id) => hits.reasons.push(*id),
                Pat::Message(id) => match self.judge_message(line, s, e) {
                    Ok(()) => {
                        note(s..e, Ok(Rule::Message));
                        hits.msgs.push((*id, s..e));
                    }
                    Err(r) => note(s..e, Err(r)),
                },
                Pat::Ctx(ctx) => match self.num_hit(line, s, e, *ctx) {
                    Ok(n) => {
                        note(n.span.clone(), Ok(n.rule));
                        hits.nums.push(n);
                    }
                    Err((r, unknown_v5)) => {
                        hits.unknown_v5 = hits.unknown_v5.or(unknown_v5);
                        note(s..e, Err(r));
                    }
                },
            }
        }
        // A browser's error name alone (`NotReadableError`: every web app
        // that opens a camera meets it) is TRTC's only on a TRTC record.
        if hits.keys.is_empty()
            && hits.nums.is_empty()
            && !hits.msgs.is_empty()
            && hits
                .msgs
                .iter()
                .all(|(_, r)| line[r.clone()].iter().all(u8::is_ascii_alphanumeric))
            && !mentions::trtc_record(line)
        {
            note(0..line.len().min(60), Err(Reject::BrowserName));
            return Hits::default();
        }
        // A line about errors rather than from one: nothing on it counts.
        let last_end = (hits.keys.iter().map(|k| k.span.end))
            .chain(hits.nums.iter().map(|n| n.span.end))
            .chain(hits.msgs.iter().map(|m| m.1.end))
            .max();
        if let Some(end) = last_end
            && let Some(r) = mentions::about_something_else(line, end)
        {
            note(0..line.len().min(60), Err(r));
            return Hits::default();
        }
        if form_seen && hits.keys.is_empty() && hits.nums.is_empty() && hits.msgs.is_empty() {
            let known = |name: &[u8]| {
                std::str::from_utf8(name).is_ok_and(|n| !self.set.by_name(n).is_empty())
            };
            hits.drift = forms::unknown_sdk_form(line, known);
            if let Some((_, span)) = &hits.drift {
                note(span.clone(), Ok(Rule::CatalogDrift));
            }
        }
        hits
    }

    /// The hits a rule of the operator's config gives on a line it
    /// matched: its `key` (an SDK key or alias), its `code` (decimal or
    /// `0x` hex) and its `extra`, each found in the catalogs; `user` and
    /// `room` kept for the event's context. False when none is in the
    /// catalogs.
    fn operator_hits(
        &self,
        rule: &super::operator::Pattern,
        c: &regex::bytes::Captures<'_>,
        hits: &mut Hits,
    ) -> bool {
        let r = Rule::Operator(rule.label);
        let number = |name: &str| {
            c.name(name).and_then(|m| {
                let t = m.as_bytes();
                lexing::parse_number(t, 0)
                    .filter(|&(_, _, end)| end == t.len())
                    .map(|(v, h, _)| (v, h, m.range()))
            })
        };
        let mut found = false;
        if let Some(k) = c.name("key")
            && let Ok(name) = std::str::from_utf8(k.as_bytes())
        {
            let ids: Ids = self
                .set
                .by_name(name.trim())
                .iter()
                .copied()
                .filter(|&i| self.set.entry(i).kind == EntryKind::Sdk)
                .collect();
            if !ids.is_empty() {
                hits.keys.push(KeyHit {
                    entries: ids,
                    hex: None,
                    span: k.range(),
                    rule: r,
                });
                found = true;
            }
        }
        for group in ["code", "extra"] {
            if let Some((v, h, span)) = number(group) {
                let entries = self.code_entries(v, h);
                if !entries.is_empty() {
                    hits.nums.push(NumHit {
                        entries,
                        span,
                        rule: r,
                    });
                    found = true;
                }
            }
        }
        hits.op_user = c.name("user").map(|m| m.range());
        hits.op_room = c.name("room").map(|m| m.range());
        found
    }

    fn judge_key(
        &self,
        facts: &forms::LineFacts<'_>,
        s: usize,
        e: usize,
        ids: &[EntryId],
    ) -> Result<KeyOutcome, Reject> {
        let line = facts.line();
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        if (s > 0 && word(line[s - 1])) || line.get(e).is_some_and(|&b| word(b)) {
            return Err(Reject::NotAWord);
        }
        let before = s.checked_sub(1).map(|i| line[i]);
        let after = line.get(e).copied();
        if before == Some(b'<')
            && let Some((hex, end)) = forms::key_hex_suffix(line, e)
        {
            return Ok(KeyOutcome::Key(KeyHit {
                entries: Ids::from_slice(ids),
                hex,
                span: s - 1..end,
                rule: Rule::KeyHex,
            }));
        }
        if forms::in_url(line, s) {
            return Err(Reject::UrlFragment);
        }
        let beside = lexing::number_after(line, e)
            .map(|(v, h, end, assigned)| (v, h, s..end, assigned))
            .or_else(|| {
                lexing::number_before(line, s)
                    .filter(|&(_, _, start)| !forms::is_call_counter(line, start))
                    .map(|(v, h, start)| (v, h, start..e, false))
            });
        if let Some((value, is_hex, span, assigned)) = beside {
            if let Some(outcome) = self.key_with_number(ids, value, is_hex, span) {
                return Ok(outcome);
            }
            if assigned {
                return Err(Reject::Setting);
            }
        }
        if forms::counted_after(line, e) {
            return Err(Reject::Setting);
        }
        // The level is looked at only here, where a weak form needs it.
        if facts.is_info_at(s) {
            return Err(Reject::InfoMention);
        }
        if forms::in_list(line, s, e, facts.key_spans(|| self.key_spans(line))) {
            return Err(Reject::ListOfNames);
        }
        let quoted = matches!(before, Some(b'"' | b'\'')) && after == before;
        // `NAME: message`: how the SDK prints an error (v5's name, v4's
        // `RtcError:`); an error whose message is empty prints its name
        // alone (`enterRoom() failed  SERVER_ERROR params: [...]`,
        // `enterRoom error SERVER_ERROR`, the name above a stack).
        let named = after == Some(b':') || before == Some(b'<') || forms::name_alone(line, s, e);
        let bare = ids.iter().any(|&i| self.set.entry(i).bare);
        let rule = if named || (quoted && (bare || facts.is_error_shaped(s..e))) {
            Rule::KeyForm
        } else if bare && facts.is_prose(s..e) {
            return Err(Reject::Prose);
        } else if bare {
            Rule::KeyBare
        } else {
            return Err(Reject::GenericKey);
        };
        Ok(KeyOutcome::Key(KeyHit {
            entries: Ids::from_slice(ids),
            hex: None,
            span: s..e,
            rule,
        }))
    }

    /// True when an error name in the SDKs' form (`NAME_OF_IT:`, capitals
    /// joined by `_`) stands before `at` and no catalog knows it.
    fn named_elsewhere(&self, line: &[u8], at: usize) -> bool {
        let before = &line[..at];
        memchr::memchr_iter(b':', before).any(|colon| {
            let start = before[..colon]
                .iter()
                .rposition(|b| !(b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_'))
                .map_or(0, |i| i + 1);
            let name = &before[start..colon];
            name.len() > 3
                && name.first().is_some_and(u8::is_ascii_uppercase)
                && name.contains(&b'_')
                && std::str::from_utf8(name).is_ok_and(|n| self.set.by_name(n).is_empty())
        })
    }

    /// Where the keys on `line` are (looked up only for a weak key, to tell
    /// a list of names: the automaton runs on the line once more).
    fn key_spans(&self, line: &[u8]) -> Vec<(usize, usize)> {
        self.ac
            .find_iter(line)
            .filter(|m| matches!(self.pats[m.pattern().as_usize()], Pat::Key(_)))
            .map(|m| (m.start(), m.end()))
            .collect()
    }

    /// A key with a number beside it: its own code (or hex) makes it that
    /// entry; a cause code (account, room entry, extraCode) explains it;
    /// another SDK code decides instead of the key. `None`: no catalog code.
    fn key_with_number(
        &self,
        ids: &[EntryId],
        value: i64,
        is_hex: bool,
        span: Range<usize>,
    ) -> Option<KeyOutcome> {
        let own: Ids = ids
            .iter()
            .copied()
            .filter(|&i| self.set.entry(i).code == Some(value))
            .collect();
        if !own.is_empty() {
            return Some(KeyOutcome::Key(KeyHit {
                entries: own,
                hex: is_hex.then_some(value as u32),
                span,
                rule: Rule::KeyOwnCode,
            }));
        }
        let entries = self.code_entries(value, is_hex);
        if entries.is_empty() {
            return None;
        }
        if entries.iter().all(|&i| self.set.entry(i).kind.is_cause()) {
            // `SIGNAL_CHANNEL_SETUP_FAILED 70001`: the key with its cause.
            let key = KeyHit {
                entries: Ids::from_slice(ids),
                hex: None,
                span: span.clone(),
                rule: Rule::KeyWithCause,
            };
            let cause = NumHit {
                entries,
                span,
                rule: Rule::KeyWithCause,
            };
            return Some(KeyOutcome::KeyAndCause(key, cause));
        }
        Some(KeyOutcome::Number(NumHit {
            entries,
            span,
            rule: Rule::CodeBesideKey,
        }))
    }

    /// Entries of a decimal code, or of a hex code (SDK codes only).
    fn code_entries(&self, value: i64, is_hex: bool) -> Ids {
        if is_hex {
            u32::try_from(value)
                .ok()
                .and_then(|v| self.set.by_hex(v))
                .into_iter()
                .collect()
        } else {
            Ids::from_slice(self.set.by_code(value))
        }
    }

    fn judge_message(&self, line: &[u8], s: usize, e: usize) -> Result<(), Reject> {
        // A wording that starts with a letter starts a word; one that starts
        // with punctuation (`' got server error` after `'enterRoom`) need not.
        if s > 0 && line[s].is_ascii_alphanumeric() && line[s - 1].is_ascii_alphanumeric() {
            return Err(Reject::NotAWord);
        }
        if forms::is_setting(line, e) {
            return Err(Reject::Setting);
        }
        if forms::in_url(line, s) {
            return Err(Reject::UrlFragment);
        }
        // Kept on INFO lines too, to enrich a strong hit there; alone it
        // gives no event (see resolve).
        Ok(())
    }

    /// A number after a context token at `s..e`, when the token's form
    /// makes it a code and the catalog knows it. On failure, why, and an
    /// unknown v5 extraCode if that is what it was.
    fn num_hit(
        &self,
        line: &[u8],
        s: usize,
        e: usize,
        ctx: Ctx,
    ) -> Result<NumHit, (Reject, Option<i64>)> {
        let not_code = (Reject::NotACode, None);
        let (value, is_hex, span, rule) = match ctx {
            Ctx::Code => {
                if lexing::compared(line, e) {
                    return Err((Reject::Comparison, None));
                }
                let (name, i) = lexing::code_word(line, s, e).ok_or(not_code)?;
                let (v, h, end) = lexing::parse_number(line, i).ok_or(not_code)?;
                // Other protocols' numbers meet TRTC's only at SDK 4's
                // 4096-4102 (WebSocket close codes are 1000-4999).
                if name == "code context: code"
                    && !h
                    && (1000..5000).contains(&v)
                    && mentions::other_protocol(line, s, end)
                {
                    return Err((Reject::OtherProtocol, None));
                }
                (v, h, s..end, Rule::CodeContext(name))
            }
            Ctx::Word(name) => {
                if s > 0 && line[s - 1].is_ascii_alphabetic() {
                    return Err(not_code);
                }
                let i = lexing::skip_word_separator(line, e);
                let (v, h, end) = lexing::parse_number(line, i).ok_or(not_code)?;
                (v, h, s..end, Rule::CodeContext(name))
            }
            Ctx::Result => {
                if s > 0 && line[s - 1].is_ascii_alphanumeric() {
                    return Err(not_code);
                }
                let i = lexing::skip_separator(line, e, false).ok_or(not_code)?;
                let (v, h, end) = lexing::parse_number(line, i).ok_or(not_code)?;
                (v, h, s..end, Rule::JoinResult)
            }
            Ctx::Failed => {
                let (v, h, end) = lexing::parse_number(line, e).ok_or(not_code)?;
                (v, h, s..end, Rule::StatFailed)
            }
            Ctx::Paren => {
                let i = lexing::opens_at(line, e).ok_or(not_code)?;
                let i = lexing::skip_spaces(line, i);
                let (v, h, end) = lexing::parse_number(line, i).ok_or(not_code)?;
                let close = lexing::skip_spaces(line, end);
                if !lexing::closes_at(line, close) {
                    return Err(not_code);
                }
                (v, h, s..end, Rule::WordingParen)
            }
            Ctx::Tally => {
                // The hex code before `×`, then the count.
                let before = line[..s].trim_ascii_end();
                let start = before
                    .iter()
                    .rposition(|b| !b.is_ascii_alphanumeric())
                    .map_or(0, |i| i + 1);
                let (v, h, end) = lexing::parse_number(line, start).ok_or(not_code)?;
                let count = lexing::skip_spaces(line, e);
                if !h || end != before.len() || !line.get(count).is_some_and(u8::is_ascii_digit) {
                    return Err(not_code);
                }
                (v, h, start..end, Rule::Tally)
            }
            Ctx::ErrorLine => {
                let mut i = lexing::skip_spaces(line, e);
                if line.get(i) == Some(&b'[') {
                    let close = memchr::memchr(b']', &line[i..(i + 64).min(line.len())]);
                    i += close.ok_or(not_code)? + 1;
                }
                i = lexing::skip_spaces(line, i);
                let (v, h, end) = lexing::parse_number(line, i).ok_or(not_code)?;
                if !matches!(line.get(end), Some(b',' | b':')) {
                    return Err(not_code);
                }
                (v, h, i..end, Rule::ErrorLineCode)
            }
        };
        let entries: Ids = self
            .code_entries(value, is_hex)
            .into_iter()
            .filter(|&id| {
                let k = self.set.entry(id).kind;
                // A result names the server's answer: an account or
                // room-entry code, or a server's (negative) code.
                ctx != Ctx::Result
                    || matches!(k, EntryKind::Account | EntryKind::RoomEntry)
                    || value < 0
            })
            .collect();
        if entries.is_empty() {
            let v5 = (!is_hex && (5001..=5997).contains(&value)).then_some(value);
            return Err((Reject::NotACode, v5));
        }
        // SDK 4's codes 4096-4102 written in decimal are numbers common
        // outside TRTC (2^12, NSError and WebSocket codes): a code word in
        // text before one is TRTC's only on a TRTC record (a structured
        // log's `"code":4096` field is the app's own report).
        // The generic words (`code`, `err=`, `errno`, `error(N)`), not
        // `errorCode` or a code word of TRTC's docs; the cheap tests first.
        let generic = matches!(
            rule,
            Rule::CodeContext(
                "code context: code"
                    | "code context: err="
                    | "code context: errno"
                    | "code context: error(N)"
            )
        );
        // So is any code word on a line whose error is named, and not by
        // TRTC (`SYSCOIN_ESCROW_RPC_ERROR: ERRCODE: 4096`).
        if !is_hex
            && (4096..=4102).contains(&value)
            && (generic || self.named_elsewhere(line, span.start))
            && !crate::bytes::contains(&line[span.clone()], b"\":")
            && !mentions::trtc_record(line)
        {
            return Err((Reject::CommonNumber, None));
        }
        Ok(NumHit {
            entries,
            span,
            rule,
        })
    }
}
