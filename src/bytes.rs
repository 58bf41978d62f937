//! Substring search within one line: short haystacks, short needles, many
//! calls. `memchr::memmem::find` builds a searcher (with its prefilter) on
//! every call, which costs more than the search itself on a 150-byte line;
//! here each call is a `memchr` of the needle's first byte and a compare.
//! And the line of a block around a match.

/// The line of `block` that holds `start..end`, as (start, end) without
/// its `\n`.
pub fn line_around(block: &[u8], start: usize, end: usize) -> (usize, usize) {
    let s = memchr::memrchr(b'\n', &block[..start]).map_or(0, |i| i + 1);
    let e = memchr::memchr(b'\n', &block[end..]).map_or(block.len(), |i| end + i);
    (s, e)
}

/// The offsets where `needle` starts in `hay`, in order (overlapping).
pub fn find_iter<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let first = needle.first().copied();
    let starts = first.map(|b| memchr::memchr_iter(b, hay));
    starts
        .into_iter()
        .flatten()
        .filter(move |&i| hay[i..].starts_with(needle))
}

/// The first offset where `needle` starts in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    find_iter(hay, needle).next()
}

/// True when `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_memmem() {
        let hay = b"aab aab, a <KEY 0x4003> 0x http://x.html";
        for needle in [
            &b"aab"[..],
            b"a",
            b" 0x",
            b"://",
            b".html",
            b"zz",
            b"",
            b"aab, a <",
        ] {
            let want: Vec<usize> = (0..hay.len())
                .filter(|&i| !needle.is_empty() && hay[i..].starts_with(needle))
                .collect();
            assert_eq!(find_iter(hay, needle).collect::<Vec<_>>(), want);
            assert_eq!(find(hay, needle), want.first().copied());
        }
    }
}
