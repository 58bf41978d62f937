//! The block-wide search: a few substrings ("anchors") that every pattern
//! contains, few enough for aho-corasick's packed (Teddy) prefilter.

use std::collections::HashSet;

/// Most patterns the packed (Teddy) prefilter takes before aho-corasick
/// falls back to a far slower search (measured: 66 patterns scan at
/// 0.58 GB/s, 60 at 3.5 GB/s).
pub const TEDDY_LIMIT: usize = 64;

/// Picks the substrings searched for across whole blocks: every pattern
/// holds one of them, so every line with a pattern holds an anchor, and
/// there are few enough (at most [`TEDDY_LIMIT`]) for the packed prefilter.
///
/// Anchors are prefixes: the prefilter looks at an anchor's first bytes,
/// and a pattern's start (the capital of a key, the first word of a
/// wording) is where it is least like other text. Measured on the
/// benchmark corpus (`cargo bench --bench matcher -- candidate_lines`):
/// 12-byte prefixes search at 7.5 GiB/s; cut to 4 bytes because a bigger
/// catalog did not fit, 5.3 GiB/s; merged where they share a start
/// (`INVALID_`), 4.0 GiB/s; a set cover by windows inside the patterns,
/// 3.0 GiB/s. Single anchors matter too (a `got server error` anchor alone
/// took it to 3.1 GiB/s), so the built-in catalogs keep their wordings few
/// and distinctive (BENCHMARKS.md).
///
/// Linear in the number of patterns: each pattern's
/// prefix (12 bytes, shortened until the set fits); patterns that already
/// contain a chosen anchor add none. Once a length has more anchors than
/// fit, the rest of its patterns only add their distinct prefixes (no
/// containment search), so a huge catalog still gets a complete set, just
/// not a small one.
pub fn anchors(words: &[String]) -> Vec<Vec<u8>> {
    let mut sorted: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
    sorted.sort_by_key(|w| w.len());
    let mut chosen: Vec<Vec<u8>> = Vec::new();
    for len in [12, 10, 8, 6, 5, 4] {
        chosen.clear();
        let mut distinct: HashSet<&[u8]> = HashSet::new();
        for w in &sorted {
            let prefix = &w[..w.len().min(len)];
            if chosen.len() > TEDDY_LIMIT {
                if distinct.insert(prefix) {
                    chosen.push(prefix.to_vec());
                }
                continue;
            }
            let covered = chosen.iter().any(|a| memchr::memmem::find(w, a).is_some());
            if !covered {
                distinct.insert(prefix);
                chosen.push(prefix.to_vec());
            }
        }
        if chosen.len() <= TEDDY_LIMIT {
            break;
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(a.len() <= 3, "{a:?}");
        for w in &words {
            assert!(
                a.iter()
                    .any(|x| memchr::memmem::find(w.as_bytes(), x).is_some())
            );
        }
        let many: Vec<String> = (0..200).map(|i| format!("KEY_{i:03}_X")).collect();
        let a = anchors(&many);
        assert!(a.len() <= TEDDY_LIMIT, "{}", a.len());
        // Too many distinct prefixes to fit: still one anchor in every pattern.
        let huge: Vec<String> = (0..20_000).map(|i| format!("{i:05}_KEY")).collect();
        let a = anchors(&huge);
        for w in &huge {
            assert!(a.iter().any(|x| w.as_bytes().starts_with(x)), "{w}");
        }
    }
}
