//! A line's log level, as far as its text says: the SDK's `<LEVEL>` tags,
//! a `level` (`severity`, `lvl`) field, or a level word near its start.

/// A line's log level, as far as its text says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// error, fatal, critical (and pino's 50, 60).
    Error,
    /// warn, warning (pino's 40).
    Warn,
    /// info, notice (pino's 30).
    Info,
    /// debug, trace, verbose (pino's 10, 20).
    Debug,
}

/// Level words as logs write them near the start of a line, each with the
/// level it means. Matched with a non-letter on both sides.
const LEVEL_WORDS: &[(&[u8], Level)] = &[
    (b"ERROR", Level::Error),
    (b"error", Level::Error),
    (b"Error", Level::Error),
    (b"ERR", Level::Error),
    (b"FATAL", Level::Error),
    (b"fatal", Level::Error),
    (b"CRITICAL", Level::Error),
    (b"critical", Level::Error),
    (b"WARN", Level::Warn),
    (b"warn", Level::Warn),
    (b"Warn", Level::Warn),
    (b"WARNING", Level::Warn),
    (b"warning", Level::Warn),
    (b"Warning", Level::Warn),
    (b"INFO", Level::Info),
    (b"info", Level::Info),
    (b"Info", Level::Info),
    (b"NOTICE", Level::Info),
    (b"DEBUG", Level::Debug),
    (b"debug", Level::Debug),
    (b"Debug", Level::Debug),
    (b"TRACE", Level::Debug),
    (b"trace", Level::Debug),
    (b"VERBOSE", Level::Debug),
];

/// The SDK's level tags of a line, in order.
pub(crate) fn level_tags(line: &[u8]) -> Vec<(usize, Level)> {
    use aho_corasick::AhoCorasick;
    use std::sync::LazyLock;
    const TAGS: [(&[u8], Level); 5] = [
        (b"<ERROR>", Level::Error),
        (b"<WARN>", Level::Warn),
        (b"<INFO>", Level::Info),
        (b"<DEBUG>", Level::Debug),
        (b"<TRACE>", Level::Debug),
    ];
    // Built once: this runs on candidate lines.
    static TAG_AC: LazyLock<Option<AhoCorasick>> =
        LazyLock::new(|| AhoCorasick::new(TAGS.iter().map(|t| t.0)).ok());
    TAG_AC.as_ref().map_or_else(Vec::new, |ac| {
        ac.find_iter(line)
            .map(|m| (m.start(), TAGS[m.pattern().as_usize()].1))
            .collect()
    })
}

/// The level a line gives without SDK tags: a level field, else a level
/// word near its start.
pub(crate) fn untagged_level(line: &[u8]) -> Option<Level> {
    use aho_corasick::AhoCorasick;
    use std::sync::LazyLock;
    static WORD_AC: LazyLock<Option<AhoCorasick>> =
        LazyLock::new(|| AhoCorasick::new(LEVEL_WORDS.iter().map(|t| t.0)).ok());
    if let Some(l) = level_field(line) {
        return Some(l);
    }
    let head = &line[..line.len().min(64)];
    let boundary = |b: Option<&u8>| b.is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'_');
    let ac = WORD_AC.as_ref()?;
    ac.find_overlapping_iter(head)
        .find(|m| {
            let (i, e) = (m.start(), m.end());
            boundary(i.checked_sub(1).and_then(|j| head.get(j)))
                && boundary(head.get(e))
                && head.get(e) != Some(&b':')
        })
        .map(|m| LEVEL_WORDS[m.pattern().as_usize()].1)
}

/// `"level":"error"`, `level=warn`, `"severity":"INFO"`, `"level":50`.
fn level_field(line: &[u8]) -> Option<Level> {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    static KEYS: LazyLock<[Finder<'static>; 3]> = LazyLock::new(|| {
        [
            Finder::new("level"),
            Finder::new("severity"),
            Finder::new("lvl"),
        ]
    });
    for finder in KEYS.iter() {
        let key = finder.needle();
        for i in finder.find_iter(line) {
            let mut j = i + key.len();
            if line.get(j) == Some(&b'"') {
                j += 1;
            }
            if !matches!(line.get(j), Some(b':' | b'=')) {
                continue;
            }
            j += 1;
            while matches!(line.get(j), Some(b' ' | b'"' | b'\'')) {
                j += 1;
            }
            let v = &line[j..line.len().min(j + 8)];
            let word: Vec<u8> = v
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .map(u8::to_ascii_lowercase)
                .collect();
            let lvl = match word.as_slice() {
                b"error" | b"err" | b"fatal" | b"critical" | b"crit" | b"50" | b"60" => {
                    Level::Error
                }
                b"warn" | b"warning" | b"40" => Level::Warn,
                b"info" | b"notice" | b"30" => Level::Info,
                b"debug" | b"trace" | b"verbose" | b"10" | b"20" => Level::Debug,
                _ => continue,
            };
            return Some(lvl);
        }
    }
    None
}
