//! What the SDK's own output looks like, as far as matching needs it: the
//! `<KEY 0xhex>` form, SDK 4.15's errors split over several physical lines,
//! and the console levels whose lines are state reports, not errors.

/// True when `l` holds the SDK's `<KEY 0xhex>` form.
pub fn has_key_hex(l: &[u8]) -> bool {
    memchr::memmem::find_iter(l, b" 0x")
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

/// SDK 4.15 prints `RtcError: message \nRefer to: URL\n <KEY 0xhex>`, so one
/// error arrives as two or three physical lines. For a line `s..e` of `block`
/// without its own `<KEY 0xhex>`, finds the ` <KEY 0xhex>` line that ends it
/// (after at most one `Refer to:` line) and returns its range. Lines beyond
/// the block are not looked at: such an error gives two events.
pub fn continuation(block: &[u8], s: usize, e: usize) -> Option<(usize, usize)> {
    if has_key_hex(&block[s..e]) {
        return None;
    }
    let mut at = e + 1;
    for _ in 0..2 {
        if at >= block.len() {
            return None;
        }
        let le = memchr::memchr(b'\n', &block[at..]).map_or(block.len(), |i| at + i);
        let l = block[at..le].trim_ascii();
        if l.starts_with(b"Refer to:") {
            at = le + 1;
            continue;
        }
        let key_only =
            l.len() < 96 && l.first() == Some(&b'<') && l.last() == Some(&b'>') && has_key_hex(l);
        return key_only.then_some((at, le));
    }
    None
}

/// True for SDK console lines at INFO, DEBUG or TRACE level: state reports,
/// not errors, so a message wording alone on them is not an event.
pub fn is_info_line(line: &[u8]) -> bool {
    let head = &line[..line.len().min(96)];
    [&b"<INFO>"[..], b"<DEBUG>", b"<TRACE>"]
        .iter()
        .any(|lvl| memchr::memmem::find(head, lvl).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_error_is_joined_with_its_key_line() {
        let b = b"RtcError: x (errorCode: 70001). \nRefer to: https://a\n <SIGNAL_CHANNEL_SETUP_FAILED 0x4001>\nnext\n";
        let e = memchr::memchr(b'\n', b).unwrap();
        let (ks, ke) = continuation(b, 0, e).unwrap();
        assert_eq!(&b[ks..ke], b" <SIGNAL_CHANNEL_SETUP_FAILED 0x4001>");
        assert_eq!(continuation(b"a <X_Y 0x1>\n <Z 0x2>\n", 0, 11), None);
        assert_eq!(continuation(b"a\nb\n <Z 0x2>\n", 0, 1), None);
    }

    #[test]
    fn key_hex_form() {
        let l = b"<ICE_TRANSPORT_ERROR 0x4003> x";
        assert_eq!(key_hex_suffix(l, 20), Some((Some(0x4003), 28)));
        assert_eq!(key_hex_suffix(b"<K 0x>", 2), None);
        assert_eq!(key_hex_suffix(b"<K 0x123456789>", 2), None);
    }
}
