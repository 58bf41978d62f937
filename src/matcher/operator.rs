//! The operator's own forms, from the config's `recognition:` section:
//! **rules** (a regex whose named groups `code` (decimal or hex), `key`,
//! `extra`, `user` and `room` say what the line reports; the entry is found
//! by code or key in the catalogs) and **ignores** (lines that never give
//! an event). A rule decides the lines it matches: the built-in rules are
//! not looked at there. Patterns are the `regex` crate's (linear time),
//! compiled with size limits; each rule and ignore counts the lines it
//! took.
//!
//! Costs nothing when none is configured: the matcher holds no
//! [`Recognition`] then.

use std::sync::atomic::{AtomicU64, Ordering};

/// Most bytes a compiled pattern may take (the `regex` crate's size limit).
pub const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// Most rules and ignores, each.
pub const MAX_PATTERNS: usize = 256;

/// A pattern that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    /// Not a valid regex, or over the size limit.
    #[error("{0}")]
    Regex(String),
    /// A rule without a `code`, `key` or `extra` group.
    #[error("a rule needs a named group `code`, `key` or `extra` (for example `(?P<code>-?\\d+)`)")]
    NoCodeGroup,
    /// Too many patterns.
    #[error("at most {MAX_PATTERNS} rules and {MAX_PATTERNS} ignores")]
    TooMany,
}

/// One rule or ignore.
#[derive(Debug)]
pub struct Pattern {
    /// Its name in the config.
    pub name: String,
    /// What events' `rule` and `why` say (`recognition rule NAME`).
    pub label: &'static str,
    pub(crate) re: regex::bytes::Regex,
    taken: AtomicU64,
}

impl Pattern {
    fn new(name: &str, pattern: &str, label: String) -> Result<Self, PatternError> {
        let re = regex::bytes::RegexBuilder::new(pattern)
            .multi_line(true)
            .size_limit(PATTERN_SIZE_LIMIT)
            .dfa_size_limit(PATTERN_SIZE_LIMIT)
            .build()
            .map_err(|e| PatternError::Regex(e.to_string()))?;
        Ok(Self {
            name: name.to_string(),
            label: intern(label),
            re,
            taken: AtomicU64::new(0),
        })
    }

    /// Lines it took (a rule: that gave events; an ignore: silenced).
    pub fn taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }
}

/// Which rule or ignore (its index in the config's list) decided a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// The rule at this index gave the line's events.
    Rule(usize),
    /// The ignore at this index silenced the line.
    Ignore(usize),
}

/// The compiled `recognition:` section.
#[derive(Debug, Default)]
pub struct Recognition {
    rules: Vec<Pattern>,
    ignores: Vec<Pattern>,
}

impl Recognition {
    /// No rule and no ignore.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.ignores.is_empty()
    }

    /// Adds a rule (`pattern` needs a `code`, `key` or `extra` group).
    pub fn add_rule(&mut self, name: &str, pattern: &str) -> Result<(), PatternError> {
        if self.rules.len() >= MAX_PATTERNS {
            return Err(PatternError::TooMany);
        }
        let p = Pattern::new(name, pattern, format!("recognition rule {name}"))?;
        let names: Vec<&str> = p.re.capture_names().flatten().collect();
        if !names.iter().any(|n| matches!(*n, "code" | "key" | "extra")) {
            return Err(PatternError::NoCodeGroup);
        }
        self.rules.push(p);
        Ok(())
    }

    /// Adds an ignore.
    pub fn add_ignore(&mut self, name: &str, pattern: &str) -> Result<(), PatternError> {
        if self.ignores.len() >= MAX_PATTERNS {
            return Err(PatternError::TooMany);
        }
        self.ignores
            .push(Pattern::new(name, pattern, format!("ignored by {name}"))?);
        Ok(())
    }

    /// The rules, in the config's order.
    pub fn rules(&self) -> &[Pattern] {
        &self.rules
    }

    /// The ignores, in the config's order.
    pub fn ignores(&self) -> &[Pattern] {
        &self.ignores
    }

    /// Adds the counts of `old`'s rules and ignores to this one's of the
    /// same kind and name (a reload keeps what they counted).
    pub fn carry_from(&self, old: &Recognition) {
        for (new, old) in [(&self.rules, &old.rules), (&self.ignores, &old.ignores)] {
            for p in new {
                if let Some(o) = old.iter().find(|o| o.name == p.name) {
                    p.taken.fetch_add(o.taken(), Ordering::Relaxed);
                }
            }
        }
    }

    /// The first ignore that matches a line of `record` (a record and the
    /// lines that continue it, indented or a stack, are silenced whole:
    /// `^` and `$` are each line's), with its index.
    pub(crate) fn ignored_by(&self, record: &[u8]) -> Option<(usize, &Pattern)> {
        self.ignores
            .iter()
            .enumerate()
            .find(|(_, p)| p.re.is_match(record))
    }

    /// Counts one line for the rule or ignore `t`.
    pub(crate) fn count(&self, t: Taken) {
        let p = match t {
            Taken::Rule(i) => self.rules.get(i),
            Taken::Ignore(i) => self.ignores.get(i),
        };
        if let Some(p) = p {
            p.taken.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The lines of `block` a rule matches, as (start, end) without the
    /// `\n`, in order, each once.
    pub(crate) fn lines(&self, block: &[u8]) -> Vec<(usize, usize)> {
        let mut lines: Vec<(usize, usize)> = self
            .rules
            .iter()
            .flat_map(|p| p.re.find_iter(block))
            .map(|m| crate::bytes::line_around(block, m.start(), m.start()))
            .collect();
        lines.sort_unstable();
        lines.dedup();
        lines
    }
}

/// `label` as a `&'static str`, each distinct label leaked once: rule
/// names live as long as the process in `Rule` and `Reject`, and a reload
/// with the same names allocates nothing.
fn intern(label: String) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(n) = names.get(label.as_str()) {
        return n;
    }
    let n: &'static str = Box::leak(label.into_boxed_str());
    names.insert(n);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_need_a_code_group_and_a_valid_small_pattern() {
        let mut r = Recognition::default();
        assert!(
            r.add_rule("ok", r"告警.*错误码[:：](?P<code>-?\d+)")
                .is_ok()
        );
        assert!(matches!(
            r.add_rule("nogroup", r"告警 \d+"),
            Err(PatternError::NoCodeGroup)
        ));
        assert!(matches!(
            r.add_rule("bad", r"(?P<code>\d+"),
            Err(PatternError::Regex(_))
        ));
        // Over the size limit: refused, not compiled at any cost.
        assert!(matches!(
            r.add_ignore("huge", r"\w{1000}\w{1000}\w{1000}"),
            Err(PatternError::Regex(_))
        ));
        assert_eq!(r.rules().len(), 1);
        assert_eq!(r.rules()[0].label, "recognition rule ok");
    }

    #[test]
    fn a_reload_keeps_what_kept_rules_counted() {
        let mut old = Recognition::default();
        old.add_ignore("jest", "^PASS").unwrap();
        old.add_ignore("gone", "^x").unwrap();
        old.count(Taken::Ignore(0));
        old.count(Taken::Ignore(1));
        let mut new = Recognition::default();
        new.add_ignore("jest", "^(PASS|FAIL)").unwrap();
        new.carry_from(&old);
        assert_eq!(new.ignores()[0].taken(), 1);
    }

    #[test]
    fn the_lines_rules_match_in_a_block() {
        let mut r = Recognition::default();
        r.add_rule("a", r"rc=(?P<code>-?\d+)").unwrap();
        let block = b"x\nfoo rc=-10012\nbar\nrc=1 rc=2\n";
        assert_eq!(r.lines(block), vec![(2, 15), (20, 29)]);
    }
}
