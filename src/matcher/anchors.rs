//! The block-wide search: a few substrings ("anchors") that every pattern
//! contains, few enough for aho-corasick's packed (Teddy) prefilter.

use std::collections::{HashMap, HashSet};

use crate::bytes::contains;

/// Most patterns the packed (Teddy) prefilter takes before aho-corasick
/// falls back to a far slower search (measured: 66 patterns scan at
/// 0.58 GB/s, 60 at 3.5 GB/s).
pub const TEDDY_LIMIT: usize = 64;

/// The start of SDK 5's message templates after a parameter's name
/// (`'roomId' must be ...`, `'exitRoom' abort`): patterns that start with
/// it are found by a search of their own (one SIMD pass for two bytes)
/// instead of one anchor each, which would not fit (`' ab`, `' be`, `' ca`,
/// ...), nor merged to two bytes (the packed search compares as many
/// bytes as its shortest anchor: two bytes would find far more).
pub const QUOTED: &[u8] = b"' ";

/// The lines of `block` that hold `finder`'s needle, each once, in order
/// (`line_end` excludes the `\n`).
pub fn lines_holding(block: &[u8], finder: &memchr::memmem::Finder<'_>) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = finder.find(&block[at..]) {
        let (start, end) = crate::bytes::line_around(block, at + i, at + i);
        out.push((start, end));
        at = end + 1;
        if at >= block.len() {
            break;
        }
    }
    out
}

/// Two ordered lists of lines as one, each line once.
pub fn merge_lines(a: Vec<(usize, usize)>, b: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    if a.is_empty() {
        return b;
    }
    if b.is_empty() {
        return a;
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut x, mut y) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let next = match (x.peek(), y.peek()) {
            (Some(p), Some(q)) if p.0 <= q.0 => x.next(),
            (Some(_), Some(_)) => y.next(),
            (Some(_), None) => x.next(),
            (None, _) => y.next(),
        };
        let Some(line) = next else { break };
        if out.last() != Some(&line) {
            out.push(line);
        }
    }
    out
}

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
/// How: the parts many keys share first ([`shared_parts`]); then each
/// pattern no anchor covers yet adds its prefix ([`LONGEST`] bytes); while
/// there are more than fit, the two anchors with the longest common start
/// become that start ([`merge`]), so a rare start stays long and only
/// crowded starts get short; last, an anchor whose patterns all hold
/// another goes. A catalog too big for that (thousands of distinct
/// starts) gets its distinct [`SHORTEST`]-byte prefixes: complete, just
/// not small.
pub fn anchors(words: &[String]) -> Vec<Vec<u8>> {
    let mut sorted: Vec<&[u8]> = words
        .iter()
        .map(|w| w.as_bytes())
        .filter(|w| !w.is_empty())
        .collect();
    sorted.sort_by_key(|w| w.len());
    let mut chosen = shared_parts(&sorted);
    for w in &sorted {
        if !chosen.iter().any(|a| contains(w, a)) {
            chosen.push(w[..w.len().min(LONGEST)].to_vec());
        }
    }
    if chosen.len() <= MERGE_LIMIT {
        merge(&mut chosen);
        drop_redundant(&mut chosen, &sorted);
        if chosen.len() <= TEDDY_LIMIT {
            return chosen;
        }
    }
    let mut distinct: HashSet<&[u8]> = HashSet::new();
    sorted
        .iter()
        .map(|w| &w[..w.len().min(SHORTEST)])
        .filter(|p| distinct.insert(p))
        .map(<[u8]>::to_vec)
        .collect()
}

/// Longest anchor taken from a pattern's start.
const LONGEST: usize = 6;

/// Shortest anchor a merge makes: the packed search compares as many
/// bytes as the shortest anchor has, and two would find every `' `.
const SHORTEST: usize = 4;

/// More starts than this are not merged (the merge is quadratic).
const MERGE_LIMIT: usize = 1024;

/// Merges the two anchors with the longest common start into it until the
/// set fits, or no two share [`SHORTEST`] bytes; an anchor that holds
/// another is dropped (every pattern it covers holds the other).
fn merge(chosen: &mut Vec<Vec<u8>>) {
    chosen.sort();
    chosen.dedup();
    let snapshot = chosen.clone();
    chosen.retain(|a| !snapshot.iter().any(|b| b != a && contains(a, b)));
    while chosen.len() > TEDDY_LIMIT {
        let common = |a: &[u8], b: &[u8]| a.iter().zip(b).take_while(|(x, y)| x == y).count();
        // In sorted order, the longest common start is between neighbours.
        let Some((len, i)) = (1..chosen.len())
            .map(|i| (common(&chosen[i - 1], &chosen[i]), i))
            .max_by_key(|&(len, i)| (len, std::cmp::Reverse(i)))
        else {
            return;
        };
        if len < SHORTEST {
            return;
        }
        let merged = chosen[i][..len].to_vec();
        chosen.retain(|a| !contains(a, &merged));
        let at = chosen.partition_point(|a| a < &merged);
        chosen.insert(at, merged);
    }
}

/// Drops anchors whose every pattern holds another anchor too.
fn drop_redundant(chosen: &mut Vec<Vec<u8>>, words: &[&[u8]]) {
    let covers: Vec<Vec<usize>> = words
        .iter()
        .map(|w| {
            (0..chosen.len())
                .filter(|&a| contains(w, &chosen[a]))
                .collect()
        })
        .collect();
    let mut count: Vec<usize> = covers.iter().map(Vec::len).collect();
    let mut keep = vec![true; chosen.len()];
    // Shortest (most general) anchors are kept first: the longer go.
    let mut order: Vec<usize> = (0..chosen.len()).collect();
    order.sort_by_key(|&a| std::cmp::Reverse(chosen[a].len()));
    for a in order {
        let own = || covers.iter().enumerate().filter(|(_, c)| c.contains(&a));
        if own().all(|(w, _)| count[w] >= 2) {
            keep[a] = false;
            for (w, _) in own().collect::<Vec<_>>() {
                count[w] -= 1;
            }
        }
    }
    let mut k = keep.into_iter();
    chosen.retain(|_| k.next().unwrap_or(true));
}

/// Bytes of a shared part: a key's start, or `_` and four more.
const PART: usize = 5;

/// Keys of the SDKs are upper-case words joined by `_`, and many share a
/// part (`_FAILED`, `_ERROR`, `_NOT_`, `INVALID_`): one anchor for each
/// part that [`MIN_SHARED`] or more keys hold, most shared first, covers
/// them all where their prefixes would take one anchor each (`JOIN_`,
/// `SWITC`, `UPLIN`...). An underscore before capitals is rare in other
/// text, so these anchors are as rare as prefixes.
fn shared_parts(sorted: &[&[u8]]) -> Vec<Vec<u8>> {
    let is_key = |w: &[u8]| {
        w.contains(&b'_')
            && w.iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
    };
    let keys: Vec<&[u8]> = sorted.iter().copied().filter(|w| is_key(w)).collect();
    let parts = |w: &'_ [u8]| -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        let starts = std::iter::once(0).chain(
            memchr::memchr_iter(b'_', w)
                .filter(|&i| w.get(i + 1).is_some_and(u8::is_ascii_uppercase)),
        );
        for i in starts {
            if let Some(p) = w.get(i..i + PART)
                && !out.iter().any(|o| o == p)
            {
                out.push(p.to_vec());
            }
        }
        out
    };
    let mut covered = vec![false; keys.len()];
    let mut chosen: Vec<Vec<u8>> = Vec::new();
    while chosen.len() < TEDDY_LIMIT / 2 {
        let mut counts: HashMap<Vec<u8>, usize> = HashMap::new();
        for (w, _) in keys.iter().zip(&covered).filter(|(_, c)| !**c) {
            for p in parts(w) {
                *counts.entry(p).or_default() += 1;
            }
        }
        // Most keys first; equal counts in byte order (the same set on
        // every build).
        let Some((best, n)) = counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        else {
            break;
        };
        if n < MIN_SHARED {
            break;
        }
        for (w, c) in keys.iter().zip(covered.iter_mut()) {
            *c = *c || contains(w, &best);
        }
        chosen.push(best);
    }
    chosen
}

/// Keys that must share a part for it to be an anchor of its own.
const MIN_SHARED: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    fn covered(a: &[Vec<u8>], words: &[String]) {
        for w in words {
            assert!(a.iter().any(|x| contains(w.as_bytes(), x)), "{w} in {a:?}");
        }
    }

    #[test]
    fn anchors_cover_every_pattern_and_fit_teddy() {
        let words = strings(&[
            "SIGNAL_CHANNEL_ERROR",
            "SIGNAL_CHANNEL_SETUP_FAILED",
            "publish timeout",
            "unpublish timeout",
        ]);
        let a = anchors(&words);
        assert!(a.len() <= 3, "{a:?}");
        covered(&a, &words);
        let many: Vec<String> = (0..200).map(|i| format!("KEY_{i:03}_X")).collect();
        let a = anchors(&many);
        assert!(a.len() <= TEDDY_LIMIT, "{}", a.len());
        covered(&a, &many);
        // Too many distinct starts to fit: still one anchor in every pattern.
        let huge: Vec<String> = (0..20_000).map(|i| format!("{i:05}_KEY")).collect();
        let a = anchors(&huge);
        for w in &huge {
            assert!(a.iter().any(|x| w.as_bytes().starts_with(x)), "{w}");
        }
    }

    #[test]
    fn keys_that_share_a_part_share_one_anchor() {
        let words = strings(&[
            "JOIN_ROOM_FAILED",
            "SWITCH_ROLE_FAILED",
            "UPLINK_RECONNECTION_FAILED",
            "REJOIN_FAILED",
            "ICE_TRANSPORT_ERROR",
        ]);
        let a = anchors(&words);
        assert!(a.contains(&b"_FAIL".to_vec()), "{a:?}");
        // The one key without a shared part keeps its own start.
        assert_eq!(a.len(), 2, "{a:?}");
        covered(&a, &words);
    }

    #[test]
    fn crowded_starts_merge_and_rare_ones_stay_long() {
        // 70 wordings that start alike and one that does not: the crowded
        // start becomes one anchor of its common bytes, the rare one keeps
        // its prefix, and none is shorter than the packed search compares.
        let mut words: Vec<String> = (0..70).map(|i| format!("camera {i:02} failed")).collect();
        words.push("microphone busy".to_string());
        let a = anchors(&words);
        assert!(a.len() <= TEDDY_LIMIT, "{a:?}");
        assert!(a.iter().all(|x| x.len() >= SHORTEST), "{a:?}");
        assert!(a.contains(&b"microp".to_vec()), "{a:?}");
        covered(&a, &words);
    }

    #[test]
    fn an_anchor_whose_patterns_hold_another_goes() {
        let words = strings(&["error(", "getDisplayMedia error observed", "error"]);
        let a = anchors(&words);
        assert_eq!(a, vec![b"error".to_vec()]);
    }

    #[test]
    fn lines_holding_a_needle_once_each_and_merged_in_order() {
        let block = b"a ' b ' c\nplain\n'x' must\nlast ' ";
        let f = memchr::memmem::Finder::new(QUOTED);
        let lines = lines_holding(block, &f);
        assert_eq!(lines, vec![(0, 9), (16, 24), (25, 32)]);
        let merged = merge_lines(lines, vec![(10, 15), (16, 24)]);
        assert_eq!(merged, vec![(0, 9), (10, 15), (16, 24), (25, 32)]);
    }
}
