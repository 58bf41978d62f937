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
    // callback) are not error codes, unless the query reports an error
    // (`?event=trtc_error&code=5300&extraCode=5302`).
    if b > 0 && line[b - 1].is_ascii_digit() {
        return false;
    }
    if b > 0 && matches!(line[b - 1], b'?' | b'&') && !query_reports_error(line, b) {
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

/// Whether the URL query or form body around `at` reports an error: a
/// parameter's name or value says `error`, `err` or `fail`, or it carries
/// SDK 5's `extraCode`.
fn query_reports_error(line: &[u8], at: usize) -> bool {
    let start = line[..at]
        .iter()
        .rposition(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\''))
        .map_or(0, |i| i + 1);
    let end = line[at..]
        .iter()
        .position(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\''))
        .map_or(line.len(), |i| at + i);
    let q = line[start..end].to_ascii_lowercase();
    [&b"error"[..], b"err=", b"fail", b"extracode"]
        .iter()
        .any(|w| crate::bytes::contains(&q, w))
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

/// Bytes of a full-width separator (`：`, `，`, `（`, `）`, `【`, `】`).
const FULL_WIDTH: &[&[u8]] = &[
    "：".as_bytes(),
    "，".as_bytes(),
    "（".as_bytes(),
    "）".as_bytes(),
    "【".as_bytes(),
    "】".as_bytes(),
    "［".as_bytes(),
    "］".as_bytes(),
    "「".as_bytes(),
    "」".as_bytes(),
    "〔".as_bytes(),
    "〕".as_bytes(),
];

/// Closing brackets of any script, after a code in brackets.
/// Brackets of any script that open a code after a wording (`进房失败【-10016】`,
/// `ICE error (0x4003)`).
const OPENERS: &[&str] = &["(", "（", "【", "[", "［", "「", "〔"];

/// After the bracket that opens at `i`, or one space later: `None` when
/// no bracket opens there.
pub fn opens_at(line: &[u8], i: usize) -> Option<usize> {
    let i = if line.get(i) == Some(&b' ') { i + 1 } else { i };
    let rest = line.get(i..)?;
    OPENERS
        .iter()
        .find(|o| rest.starts_with(o.as_bytes()))
        .map(|o| i + o.len())
}

const CLOSERS: &[&str] = &[")", "]", "）", "】", "］", "」", "〕"];

/// True when a closing bracket (of any script) is at `i`.
pub fn closes_at(line: &[u8], i: usize) -> bool {
    CLOSERS.iter().any(|c| line[i..].starts_with(c.as_bytes()))
}

/// The length of a full-width separator at `i`, if one is there.
fn full_width_at(line: &[u8], i: usize) -> Option<usize> {
    FULL_WIDTH
        .iter()
        .find(|f| line[i..].starts_with(f))
        .map(|f| f.len())
}

/// True when the identifier ending at `e` (a `code` token, `getCode()`)
/// is compared in source or docs, not reported: `=== 5501`, `== 0x4043`,
/// `!== 5501` on a line that reads as code (a condition, a code span).
/// An app's log that prints a comparison (`err.getCode() === 0x4003 ->
/// reconnecting`) still reports its code.
pub fn compared(line: &[u8], e: usize) -> bool {
    const SOURCE: &[&[u8]] = &[
        b"if (",
        b"if(",
        b"while (",
        b"switch (",
        b"case ",
        b"&&",
        b"||",
        b"`",
        b" ? ",
    ];
    compares(line, e) && SOURCE.iter().any(|m| crate::bytes::contains(line, m))
}

fn compares(line: &[u8], e: usize) -> bool {
    let mut i = e;
    while line
        .get(i)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        i += 1;
    }
    if line[i..].starts_with(b"()") {
        i += 2;
    }
    let i = skip_spaces(line, i);
    line[i..].starts_with(b"==") || line[i..].starts_with(b"!=")
}

/// The code word around a `code` token at `s..e` and where its number
/// starts: `code:`, `errorCode=`, `extraCode_`, `getCode() ===`, `"code":`,
/// `error code 16390`, `Error Code：4099`, `code（16386）`. The name is the
/// rule name; `None` when the token is no code word or no number follows.
pub fn code_word(line: &[u8], s: usize, e: usize) -> Option<(&'static str, usize)> {
    if !code_identifier(line, s, e) {
        return two_word_code(line, s, e);
    }
    let mut b = s;
    while b > 0 && (line[b - 1].is_ascii_alphabetic() || line[b - 1] == b'_') {
        b -= 1;
    }
    let prefix: Vec<u8> = line[b..s]
        .iter()
        .filter(|c| **c != b'_')
        .map(u8::to_ascii_lowercase)
        .collect();
    let name = match prefix.as_slice() {
        b"" if ends_with_error_word(&line[..b]) => return two_word_code(line, s, e),
        b"" => "code context: code",
        b"error" | b"rtcerror" => "code context: errorCode",
        b"err" => "code context: errCode",
        b"extra" => "code context: extraCode",
        _ => "code context: getCode()",
    };
    let mut i = e;
    while line
        .get(i)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        i += 1;
    }
    let i = skip_separator(line, i, true)
        .or_else(|| {
            // Full-width colon or parenthesis: `code：16386`, `code（16386）`.
            let j = skip_spaces(line, i);
            full_width_at(line, j).map(|n| skip_spaces(line, j + n))
        })
        .or_else(|| {
            // Spaces alone after a word that can only name an error code
            // (`errorCode 16387`), or after `code` opening a parenthesis
            // (`(code 16387)`).
            let opens = line[..b].trim_ascii_end().ends_with(b"(");
            let j = skip_spaces(line, i);
            let number = line
                .get(j)
                .is_some_and(|c| c.is_ascii_digit() || *c == b'-');
            (j > i && number && (name != "code context: code" || opens)).then_some(j)
        })?;
    Some((name, i))
}

/// `error code 16390`, `Error Code: 4099`, `ERROR CODE #16386`: the words
/// "error code" may be followed by a number after spaces alone.
fn two_word_code(line: &[u8], s: usize, e: usize) -> Option<(&'static str, usize)> {
    if !ends_with_error_word(&line[..s]) || line.get(e).is_some_and(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let mut i = skip_spaces(line, e);
    if matches!(line.get(i), Some(b':' | b'=' | b'#' | b'(')) {
        i = skip_spaces(line, i + 1);
    } else if let Some(n) = full_width_at(line, i) {
        i = skip_spaces(line, i + n);
    }
    Some(("code context: error code", i))
}

/// True when `before` ends with the word "error" (or "err") and a space.
fn ends_with_error_word(before: &[u8]) -> bool {
    [&b"error "[..], b"Error ", b"ERROR ", b"err "]
        .iter()
        .any(|w| {
            before.ends_with(w)
                && before
                    .len()
                    .checked_sub(w.len() + 1)
                    .is_none_or(|i| !before[i].is_ascii_alphanumeric())
        })
}

/// After a word that names an error number (`errno`, `错误码`, `err=`):
/// spaces, one separator (`:`, `=`, `为`, `是`, `は`, a full-width one),
/// spaces, an opening bracket or quote.
pub fn skip_word_separator(line: &[u8], e: usize) -> usize {
    let mut i = skip_spaces(line, e);
    if matches!(line.get(i), Some(b':' | b'=')) {
        i += 1;
    } else if let Some(n) = full_width_at(line, i) {
        i += n;
    } else if ["为", "是", "は"]
        .iter()
        .any(|w| line[i..].starts_with(w.as_bytes()))
    {
        i += 3;
    }
    i = skip_spaces(line, i);
    if matches!(line.get(i), Some(b'(' | b'[' | b'"' | b'\'')) {
        i += 1;
    } else if let Some(n) = full_width_at(line, i) {
        i += n;
    }
    i
}

/// A number right after a key that ends at `e`: `KEY 0x1001`, `KEY (4097)`,
/// `KEY: 4097`, `KEY,0x1001`, `"KEY":5`, `KEY（4097）`. Returns (value,
/// is_hex, end, assigned), `assigned` when `=` or `:` stood between (a
/// counter or setting if the number is no code).
pub fn number_after(line: &[u8], e: usize) -> Option<(i64, bool, usize, bool)> {
    let mut i = e;
    let mut assigned = false;
    let mut gap = 0;
    let mut worded = false;
    while i < line.len() && gap < 4 {
        // `KEY code 5500`, `KEY (code: 16387)`: the word `code` once.
        if !worded
            && i > e
            && line[i..].len() > 4
            && line[i..i + 4].eq_ignore_ascii_case(b"code")
            && !line[i + 4].is_ascii_alphanumeric()
        {
            worded = true;
            i += 4;
            continue;
        }
        match line[i] {
            b' ' | b'\t' | b',' | b'(' | b'[' | b'"' | b'\'' | b'#' | b'/' | b'|' => i += 1,
            b':' | b'=' => {
                assigned = true;
                i += 1;
            }
            _ => match full_width_at(line, i) {
                Some(n) => {
                    assigned |= line[i..].starts_with("：".as_bytes());
                    i += n;
                }
                None => break,
            },
        }
        gap += 1;
    }
    if i == e {
        return None;
    }
    let (v, h, end) = parse_number(line, i)?;
    Some((v, h, end, assigned))
}

/// A number right before a key that starts at `s`: `4097 KEY`,
/// `(4097) KEY`, `0x1001: KEY`, `4097，KEY`. The number must stand alone
/// (not inside an id like `[c1|16388]`). Returns (value, is_hex, start).
pub fn number_before(line: &[u8], s: usize) -> Option<(i64, bool, usize)> {
    let mut i = s;
    let mut gap = 0;
    while i > 0 && gap < 3 {
        match line[i - 1] {
            b' ' | b'\t' | b':' | b',' | b'=' | b')' | b'-' => i -= 1,
            _ => match FULL_WIDTH.iter().find(|f| line[..i].ends_with(f)) {
                Some(f) => i -= f.len(),
                None => break,
            },
        }
        gap += 1;
    }
    if i == s {
        return None;
    }
    let end = i;
    while i > 0 && line[i - 1].is_ascii_hexdigit() {
        i -= 1;
    }
    if i >= 2 && (line[i - 2..i] == *b"0x" || line[i - 2..i] == *b"0X") {
        i -= 2;
    } else if i > 0 && line[i - 1] == b'-' {
        i -= 1;
    }
    let standalone = i == 0 || matches!(line[i - 1], b' ' | b'\t' | b'(' | b'"' | b'\'' | b',');
    if !standalone || i == end {
        return None;
    }
    let (v, h, num_end) = parse_number(line, i)?;
    (num_end == end).then_some((v, h, i))
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
    fn numbers_beside_keys() {
        assert_eq!(
            number_after(b"K 0x1001 x", 1),
            Some((0x1001, true, 8, false))
        );
        assert_eq!(number_after(b"K (4097)", 1), Some((4097, false, 7, false)));
        assert_eq!(number_after(b"K=0", 1), Some((0, false, 3, true)));
        assert_eq!(
            number_after("K（4097）".as_bytes(), 1),
            Some((4097, false, 8, false))
        );
        assert_eq!(number_after(b"K failed", 1), None);
        assert_eq!(number_before(b"4097 K", 5), Some((4097, false, 0)));
        assert_eq!(number_before(b"x (4097) K", 9), Some((4097, false, 3)));
        assert_eq!(number_before(b"[c1|16388] K", 11), None);
        assert_eq!(number_before(b"u_4099 K", 7), None);
    }

    #[test]
    fn code_words() {
        fn at(l: &str) -> Option<(&'static str, &str)> {
            let s = l.find("ode").unwrap() - 1;
            code_word(l.as_bytes(), s, s + 4).map(|(n, i)| (n, &l[i..]))
        }
        assert_eq!(at("errorCode: 1"), Some(("code context: errorCode", "1")));
        assert_eq!(
            at("error code 16390"),
            Some(("code context: error code", "16390"))
        );
        assert_eq!(
            at("Error Code：4099"),
            Some(("code context: error code", "4099"))
        );
        assert_eq!(at("code（16386）"), Some(("code context: code", "16386）")));
        assert_eq!(at("zipcode 1"), None);
        assert_eq!(at("the code is"), None);
    }

    #[test]
    fn separators() {
        assert_eq!(skip_separator(b"() === 0x4043", 0, true), Some(7));
        assert_eq!(skip_separator(b"\": \"70001\"", 0, false), Some(4));
        assert_eq!(skip_separator(b" 4096", 0, false), None);
    }
}
