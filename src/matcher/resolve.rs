//! From hits to detections: which entry a shared name means (v4 or v5),
//! which codes are primary errors and which explain them (causes), and
//! which message wording enriches them. One event per error: the same
//! entry twice on a line is one detection, and a v5 error that carries a
//! v4 `<KEY 0xhex>` inside its text is one v5 event.

use std::ops::Range;

use super::{Detection, Hints, Hits, KeyHit, Matcher, NumHit, Rule, forms};
use crate::catalog::{EntryId, EntryKind};

/// An entry, the text that identified it and the rule that took it.
type Judged = (EntryId, Range<usize>, Rule);

/// A line's judged entries, inline while few.
type Judgeds = smallvec::SmallVec<[Judged; 4]>;

impl Matcher {
    /// Turns the hits [`find`](Self::find) kept on `line` into detections.
    pub fn resolve(&self, line: &[u8], hits: &Hits, hints: Hints) -> Vec<Detection> {
        let (mut primaries, causes) = self.split_primaries(hits, hints);
        let facts = forms::LineFacts::new(line);
        // A wording of an SDK error itself (v5's `' got server error`) is an
        // error of its own, which codes on the line then explain.
        for (mid, span) in &hits.msgs {
            if self.set.entry(*mid).kind == EntryKind::Sdk && !facts.is_info_at(span.start) {
                primaries.push((*mid, span.clone(), Rule::Message));
            }
        }
        let mut out: Vec<Detection> = Vec::new();
        for (id, span, rule) in primaries {
            push_primary(&mut out, id, span, rule);
        }
        if let Some((major, span)) = &hits.drift
            && let Some(id) = self.set.drift_entry(*major)
        {
            push_primary(&mut out, id, span.clone(), Rule::CatalogDrift);
        }
        let wrapped = self.take_v4_inside_v5(&mut out);
        for (cid, span, rule) in causes {
            if out.iter().any(|d| d.cause == Some(cid) || d.entry == cid) {
                continue;
            }
            if self.set.entry(cid).kind == EntryKind::Extra {
                self.attach_extra(&mut out, cid, span, rule);
            } else {
                self.attach_cause(&mut out, cid, span, rule);
            }
        }
        if let Some((mid, span)) = hits.msgs.first() {
            self.attach_message(&mut out, *mid, span.clone(), &facts);
        }
        // What a v5 error without a cause wraps explains it (after the
        // codes: a server's code on the line explains it better).
        let wrapped = wrapped.or_else(|| hits.reasons.first().copied());
        if let Some(w) = wrapped
            && let Some(d) = out
                .iter_mut()
                .find(|d| self.major(d.entry) == Some(5) && d.cause.is_none())
        {
            d.cause = Some(w);
        }
        if let Some(x) = hits.unknown_v5 {
            // An extraCode the catalog does not know, under a v5 parent: kept.
            for d in out.iter_mut().filter(|d| self.major(d.entry) == Some(5)) {
                if d.cause.is_none() {
                    d.unknown_extra = Some(x);
                }
            }
        }
        out
    }

    /// SDK errors (keys, SDK codes) in line order, and cause codes (account,
    /// room-entry, extraCode). Key hits come first on the line in the SDK's
    /// own forms; numbers may come before them (JSON), so both are ordered
    /// by position.
    fn split_primaries(&self, hits: &Hits, hints: Hints) -> (Judgeds, Judgeds) {
        // The version a shared name means: the line's SDK version, else an
        // unknown v5 extraCode, else the catalog of a wording on the line.
        let hints = Hints {
            sdk_major: hints
                .sdk_major
                .or(hits.unknown_v5.map(|_| 5))
                .or_else(|| hits.msgs.iter().find_map(|(m, _)| self.major(*m))),
        };
        let mut primaries = Judgeds::new();
        let mut causes = Judgeds::new();
        for k in &hits.keys {
            let id = self.pick(k, &hits.nums, hints);
            let judged = (id, k.span.clone(), k.rule);
            if self.set.entry(id).kind == EntryKind::Sdk {
                primaries.push(judged);
            } else {
                causes.push(judged);
            }
        }
        for n in &hits.nums {
            for &id in &n.entries {
                if self.set.entry(id).kind == EntryKind::Sdk {
                    primaries.push((id, n.span.clone(), n.rule));
                } else {
                    causes.push((id, n.span.clone(), n.rule));
                }
            }
        }
        primaries.sort_by_key(|p| p.1.start);
        (primaries, causes)
    }

    /// A v5 error whose text carries a v4 `<KEY 0xhex>` (the SDK wraps an
    /// inner error) is one v5 event: the v4 SDK errors on its line go, the
    /// first is returned as what it wraps.
    fn take_v4_inside_v5(&self, out: &mut Vec<Detection>) -> Option<EntryId> {
        if !out.iter().any(|d| self.major(d.entry) == Some(5)) {
            return None;
        }
        let first = out
            .iter()
            .find(|d| {
                self.major(d.entry) == Some(4) && self.set.entry(d.entry).kind == EntryKind::Sdk
            })
            .map(|d| d.entry);
        out.retain(|d| self.major(d.entry) != Some(4));
        first
    }

    /// A v5 extraCode refines its parent, which may stand on the line or
    /// not: it becomes the parent's cause, or alone on the line, the parent
    /// event with it as cause.
    fn attach_extra(&self, out: &mut Vec<Detection>, cid: EntryId, span: Range<usize>, rule: Rule) {
        let c = self.set.entry(cid);
        let was_empty = out.is_empty();
        let slot = out.iter_mut().find(|d| {
            let e = self.set.entry(d.entry);
            e.code == c.parent && e.catalog == c.catalog
        });
        match slot {
            Some(d) if d.cause.is_none() => d.cause = Some(cid),
            Some(_) => {}
            None if was_empty => {
                if let Some(pid) = self.parent_of(cid) {
                    out.push(Detection {
                        entry: pid,
                        cause: Some(cid),
                        message: None,
                        matched: span,
                        rule,
                        unknown_extra: None,
                    });
                }
            }
            None => {}
        }
    }

    fn parent_of(&self, cid: EntryId) -> Option<EntryId> {
        let c = self.set.entry(cid);
        c.parent.and_then(|p| {
            self.set
                .by_code(p)
                .iter()
                .copied()
                .find(|&i| self.set.entry(i).catalog == c.catalog)
        })
    }

    /// An account or room-entry code explains the first SDK error without a
    /// cause; alone on the line it is an event itself.
    fn attach_cause(&self, out: &mut Vec<Detection>, cid: EntryId, span: Range<usize>, rule: Rule) {
        let is_sdk = |d: &Detection| self.set.entry(d.entry).kind == EntryKind::Sdk;
        let has_sdk = out.iter().any(is_sdk);
        match out.iter_mut().find(|d| d.cause.is_none() && is_sdk(d)) {
            Some(d) => d.cause = Some(cid),
            None if has_sdk => {}
            None => push_primary(out, cid, span, rule),
        }
    }

    /// A catalog wording: it enriches the first detection (an extraCode's
    /// wording becomes the cause of its parent); alone, it is an event of
    /// its own, except on INFO/DEBUG/TRACE lines (state reports).
    fn attach_message(
        &self,
        out: &mut Vec<Detection>,
        mid: EntryId,
        span: Range<usize>,
        facts: &forms::LineFacts<'_>,
    ) {
        let m = self.set.entry(mid);
        if let Some(d) = out.first_mut() {
            let parent = self.set.entry(d.entry);
            if m.kind == EntryKind::Extra && m.parent == parent.code && m.catalog == parent.catalog
            {
                if d.cause.is_none() {
                    d.cause = Some(mid);
                }
            } else if m.kind == EntryKind::Message {
                d.message = Some(mid);
            }
            return;
        }
        if m.kind == EntryKind::Sdk {
            return; // taken as a primary already (see resolve)
        }
        if facts.is_info_at(span.start) {
            return;
        }
        match m.kind {
            EntryKind::Extra => self.attach_extra(out, mid, span, Rule::Message),
            EntryKind::Message => out.push(Detection {
                entry: mid,
                cause: None,
                message: Some(mid),
                matched: span,
                rule: Rule::Message,
                unknown_extra: None,
            }),
            _ => push_primary(out, mid, span, Rule::Message),
        }
    }

    fn major(&self, id: EntryId) -> Option<u32> {
        self.set.entry(id).sdk_major
    }

    /// Picks one entry among those that share a name (v4 and v5
    /// `INVALID_PARAMETER`): the hex decides, then codes on the line, then
    /// the SDK version hint; then the form: a name written as `NAME:` or
    /// quoted is how v5 names its errors (v4's are `RtcError` with the name
    /// only in `<NAME 0xhex>`); then catalog order.
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
            .or(hints.sdk_major)
            .or_else(|| (k.rule == Rule::KeyForm).then_some(5));
        line_major
            .and_then(|m| {
                k.entries
                    .iter()
                    .copied()
                    .find(|&id| self.major(id) == Some(m))
            })
            .unwrap_or(k.entries[0])
    }
}

/// Adds a primary detection unless the same entry is already there.
fn push_primary(out: &mut Vec<Detection>, id: EntryId, span: Range<usize>, rule: Rule) {
    if !out.iter().any(|d| d.entry == id) {
        out.push(Detection {
            entry: id,
            cause: None,
            message: None,
            matched: span,
            rule,
            unknown_extra: None,
        });
    }
}
