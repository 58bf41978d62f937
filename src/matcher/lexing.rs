//! Reading the bytes around a hit: the identifier a `code` token belongs
//! to, separators (`:`, `=`, `===`, quotes), and numbers (decimal or hex).

/// True when the identifier around the `code` token at `s..e` is one that
/// carries error codes: `code`, `code_`, `errorCode`, `errCode`, `extraCode`,
/// `getCode`, `error_code`, ... but not `statusCode` or `zipcode`.
pub fn code_identifier(line: &[u8], s: usize, e: usize) -> bool {
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

pub fn skip_spaces(line: &[u8], mut i: usize) -> usize {
    while line.get(i).is_some_and(|b| *b == b' ' || *b == b'\t') {
        i += 1;
    }
    i
}

/// Skips `()`, a closing quote, spaces, a separator (`:`, `=`, `==`, `===`,
/// `:=`) and an opening quote. `None` if no separator is there.
pub fn skip_separator(line: &[u8], mut i: usize, allow_call: bool) -> Option<usize> {
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
pub fn parse_number(line: &[u8], i: usize) -> Option<(i64, bool, usize)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_end_at_a_word_boundary() {
        assert_eq!(parse_number(b"4096,", 0), Some((4096, false, 4)));
        assert_eq!(parse_number(b"-10012 x", 0), Some((-10012, false, 6)));
        assert_eq!(parse_number(b"0x4043)", 0), Some((0x4043, true, 6)));
        assert_eq!(parse_number(b"4096.5", 0), None);
        assert_eq!(parse_number(b"4096abc", 0), None);
        assert_eq!(parse_number(b"1234567890", 0), None);
    }

    #[test]
    fn code_identifiers() {
        let ok = |l: &str| {
            let s = l.find("ode").unwrap() - 1;
            code_identifier(l.as_bytes(), s, s + 4)
        };
        assert!(ok("errorCode: 1"));
        assert!(ok("extra_code=1"));
        assert!(ok("code_: 1"));
        assert!(!ok("statusCode: 1"));
        assert!(!ok("zipcode: 1"));
        assert!(!ok("?code=1"));
    }

    #[test]
    fn separators() {
        assert_eq!(skip_separator(b"() === 0x4043", 0, true), Some(7));
        assert_eq!(skip_separator(b"\": \"70001\"", 0, false), Some(4));
        assert_eq!(skip_separator(b" 4096", 0, false), None);
    }
}
