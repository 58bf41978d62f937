//! Credentials a log line may hold, replaced before anything is built
//! from it: the TRTC `userSig` (the SDK prints its `enterRoom` params, and
//! apps log their own; the end report's `str_user_sig`) and the room's
//! `privateMapKey`. One normaliser over
//!
//! - the names, in any case, with `_` or `-` between their words or none,
//!   any letter of them written as a JSON escape (`\u0053`);
//! - what stands between a name and its value: its closing quote (escaped
//!   at any depth: `\"`, `\\\"`, or URL-encoded: `%22`), then `=` or `:`
//!   (full-width `：` `＝` too, or URL-encoded `%3D` `%3A`), or whitespace
//!   alone (`console.log('userSig', sig)` prints `userSig eJw...`: then only
//!   a value of 16 or more credential characters is taken for one), then an
//!   opening quote in any of those forms;
//! - the value, up to a quote, a separator or a space (URL-encoded bytes
//!   within it kept in it).
//!
//! Every source goes through it (files, stdin, ingest, NATS, the browser
//! endpoint) before an event is built; `why` and `scan` show what it left.
//! The value never reaches an event, the events output, the pages or the
//! daemon's own log. The forms are listed in the README ("Nothing secret is
//! written").

use std::borrow::Cow;
use std::sync::OnceLock;

/// What a credential's value becomes.
pub const REDACTED: &str = "[redacted]";

/// The names of credentials, as words (joined by `_`, `-` or nothing).
const NAMES: &[&[&str]] = &[
    &["str", "user", "sig"],
    &["user", "sig"],
    &["private", "map", "key"],
];

/// A pattern for `word`, each letter in any case or as a JSON `\uXXXX`
/// escape (at any escaping depth).
fn word_pattern(word: &str) -> String {
    word.chars()
        .map(|c| {
            let (lo, up) = (c.to_ascii_lowercase(), c.to_ascii_uppercase());
            format!(
                r"(?:[{lo}{up}]|\\+u00(?:{:02x}|{:02x}))",
                lo as u32, up as u32
            )
        })
        .collect()
}

/// The pattern for `text`: names with escaped letters only where the text
/// has a `\\u00` escape at all (the smaller pattern is much faster).
fn pattern_for(text: &[u8]) -> &'static regex::bytes::Regex {
    static PLAIN: OnceLock<regex::bytes::Regex> = OnceLock::new();
    static ESCAPED: OnceLock<regex::bytes::Regex> = OnceLock::new();
    let escaped = memchr::memmem::find(text, b"\\u00").is_some()
        || memchr::memmem::find(text, b"\\U00").is_some();
    if escaped {
        ESCAPED.get_or_init(|| build(true))
    } else {
        PLAIN.get_or_init(|| build(false))
    }
}

/// The credentials pattern, its names' letters also as JSON escapes when
/// `escapes`.
fn build(escapes: bool) -> regex::bytes::Regex {
    let names: Vec<String> = NAMES
        .iter()
        .map(|words| {
            words
                .iter()
                .map(|w| {
                    if escapes {
                        word_pattern(w)
                    } else {
                        (*w).to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("[_-]?")
        })
        .collect();
    // A quote: plain, escaped at any depth, or URL-encoded.
    let quote = r#"(?:\\*["']|%2[27])"#;
    // The value: no quote, separator or space; URL-encoded bytes other
    // than a quote, `&` or `,` belong to it.
    let value = r#"(?:[^"'\\&,;\s})\]%<>]|%[013-9A-Fa-f][0-9A-Fa-f]|%2[013-589ABDEFabdef])+"#;
    let p = format!(
        r#"(?i)(?:^|[^A-Za-z0-9]|%[0-9A-F]{{2}})({names})(?:({quote}?[ \t]*(?:[:=]|：|＝|%3[AD])[ \t]*{quote}?)({value})|({quote}?[ \t]+{quote}?)([A-Za-z0-9*_+/=.\-]{{16,}}))"#,
        names = names.join("|"),
    );
    regex::bytes::Regex::new(&p).unwrap_or_else(|e| panic!("the credentials pattern: {e}"))
}

/// True when `text` may hold a credential (a cheap test before [`redact`]):
/// `sig` or `key` (every name holds one) in any case, or a JSON escape
/// (`\\u00`) that may spell a name's letters. A few vectorised byte
/// searches: the last letter of each word, then the two before it.
pub fn may_hold(text: &[u8]) -> bool {
    fn ends_word(text: &[u8], last: (u8, u8), word: &[u8; 2]) -> bool {
        memchr::memchr2_iter(last.0, last.1, text).any(|i| {
            i >= 2
                && text[i - 2].eq_ignore_ascii_case(&word[0])
                && text[i - 1].eq_ignore_ascii_case(&word[1])
        })
    }
    ends_word(text, (b'g', b'G'), b"si")
        || ends_word(text, (b'y', b'Y'), b"ke")
        || memchr::memchr_iter(b'\\', text).any(|i| {
            text.get(i + 1..i + 4)
                .is_some_and(|t| t[0].eq_ignore_ascii_case(&b'u') && &t[1..] == b"00")
        })
}

/// `text` with every credential's value replaced by [`REDACTED`], and a
/// map from offsets in `text` to offsets in the result (for offsets at or
/// after a replaced value, shifted by what the replacements changed).
pub fn redact(text: &[u8]) -> (Cow<'_, [u8]>, Shift) {
    if !may_hold(text) {
        return (Cow::Borrowed(text), Shift::default());
    }
    let mut out = Vec::new();
    let mut last = 0;
    let mut shift = Shift::default();
    for c in pattern_for(text).captures_iter(text) {
        let Some(v) = c.get(3).or_else(|| c.get(5)) else {
            continue;
        };
        out.extend_from_slice(&text[last..v.start()]);
        out.extend_from_slice(REDACTED.as_bytes());
        shift
            .at
            .push((v.end(), REDACTED.len() as isize - v.len() as isize));
        last = v.end();
    }
    if last == 0 {
        return (Cow::Borrowed(text), shift);
    }
    out.extend_from_slice(&text[last..]);
    (Cow::Owned(out), shift)
}

/// How offsets move when values are replaced.
#[derive(Debug, Default)]
pub struct Shift {
    /// The end of each replaced value and what its replacement added.
    at: Vec<(usize, isize)>,
}

impl Shift {
    /// Where offset `o` of the original text is in the redacted text.
    pub fn map(&self, o: usize) -> usize {
        let d: isize = self
            .at
            .iter()
            .take_while(|(end, _)| *end <= o)
            .map(|(_, d)| d)
            .sum();
        o.saturating_add_signed(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        String::from_utf8(redact(s.as_bytes()).0.into_owned()).unwrap()
    }

    #[test]
    fn every_form_of_a_user_sig_is_replaced() {
        assert_eq!(
            r(r#"params: [{"sdkAppId":1,"userId":"alice","userSig":"eJw1jt.x-y_z=","roomId":8}]"#),
            r#"params: [{"sdkAppId":1,"userId":"alice","userSig":"[redacted]","roomId":8}]"#
        );
        assert_eq!(
            r("{ userSig: 'abc123', roomId: 1 }"),
            "{ userSig: '[redacted]', roomId: 1 }"
        );
        assert_eq!(
            r("wss://x/?sdkappid=1&identifier=a&usersig=eJyrVkrOz&roomid=2"),
            "wss://x/?sdkappid=1&identifier=a&usersig=[redacted]&roomid=2"
        );
        assert_eq!(
            r(r#"{\"userSig\":\"abc\"}"#),
            r#"{\"userSig\":\"[redacted]\"}"#
        );
        assert_eq!(r("USER_SIG = s3cr3t"), "USER_SIG = [redacted]");
        assert_eq!(
            r(r#""str_user_sig":"SECRET""#),
            r#""str_user_sig":"[redacted]""#
        );
        // Nothing to replace: the text as it was.
        assert!(matches!(redact(b"signal lost").0, Cow::Borrowed(_)));
        assert_eq!(r("userSig is required"), "userSig is required");
        assert_eq!(r("the userSignature field"), "the userSignature field");
    }

    const SECRET: &str = "eJwtjEELgjAYhv_K2NkEP5G";

    /// The spellings an attack day found leaking, each with the secret.
    #[test]
    fn the_spellings_that_leaked_are_replaced() {
        for form in [
            "USER_SiG={S}",
            "usersIg: {S}",
            r#"{\"userSig\":\"{S}\"}"#,
            r#"{\\\"userSig\\\":\\\"{S}\\\"}"#,
            "userSig {S}",
            "console: userSig\t{S}",
            "userSig%3D{S}",
            "%22userSig%22%3A%22{S}%22",
            "userSig：{S}",
            "userSig ＝ {S}",
            r#""u\u0073erSig":"{S}""#,
            r#""\u0055SERSIG":"{S}""#,
            "privateMapKey={S}",
            r#""private_map_key": "{S}""#,
            "PRIVATE-MAP-KEY: '{S}'",
            "str_user_sig={S}",
            "user-sig={S}&x=1",
        ] {
            let line = form.replace("{S}", SECRET);
            let out = r(&line);
            assert!(!out.contains(SECRET), "{line} -> {out}");
            assert!(out.contains(REDACTED), "{line} -> {out}");
        }
        // URL-encoded bytes of the value are the value's.
        let out = r("usersig=eJw%2Bab%2Fcd%3D%3D&roomid=2");
        assert_eq!(out, "usersig=[redacted]&roomid=2");
    }

    proptest::proptest! {
        /// Whatever the spelling of the name (case, word joints, escaped
        /// letters), the separator and the quotes, the value is gone.
        #[test]
        fn no_spelling_leaks(
            name in 0usize..3,
            case in proptest::collection::vec(proptest::bool::ANY, 16),
            escape in proptest::collection::vec(0u8..8, 16),
            joint in 0usize..3,
            sep in 0usize..8,
            quote in 0usize..5,
            depth in 0usize..3,
        ) {
            let words: &[&str] = NAMES[name];
            let joint = ["", "_", "-"][joint];
            let mut spelled = String::new();
            let mut i = 0;
            for (wi, w) in words.iter().enumerate() {
                if wi > 0 {
                    spelled.push_str(joint);
                }
                for c in w.chars() {
                    let c = if case[i % 16] { c.to_ascii_uppercase() } else { c };
                    if escape[i % 16] == 0 {
                        spelled.push_str(&"\\".repeat(depth + 1).replacen("\\", "", 0));
                        spelled.push_str(&format!("u{:04x}", c as u32));
                    } else {
                        spelled.push(c);
                    }
                    i += 1;
                }
            }
            let q = match quote {
                0 => String::new(),
                1 => "\"".to_string(),
                2 => format!("{}\"", "\\".repeat(depth)),
                3 => "'".to_string(),
                _ => "%22".to_string(),
            };
            let sep = ["=", ":", " : ", "：", "＝", "%3D", "%3A", " "][sep];
            let line = format!("before {q}{spelled}{q}{sep}{q}{SECRET}{q} after");
            let out = r(&line);
            proptest::prop_assert!(!out.contains(SECRET), "{} -> {}", line, out);
        }
    }

    #[test]
    fn offsets_after_a_value_move_with_it() {
        let t = b"userSig=abcdef <ICE_TRANSPORT_ERROR 0x4003>";
        let (out, shift) = redact(t);
        let at = t.iter().position(|&b| b == b'<').unwrap();
        assert_eq!(out[shift.map(at)], b'<');
        assert_eq!(shift.map(3), 3);
    }

    #[test]
    fn the_cheap_test_sees_every_case_and_escape() {
        for t in [
            "usersIg=x",
            "USER_SIG:x",
            "PrivateMapKEY=x",
            "kEy",
            "Sig",
            "u\\u0073erSig",
            "user\\U0053ig",
            "a\\\\u0067",
        ] {
            assert!(may_hold(t.as_bytes()), "{t}");
        }
        // `monkey` holds a word: the test lets it through, the pattern
        // decides.
        assert!(may_hold(b"monkey"));
        for t in ["", "g", "ig", "ky", "SI G", "k-ey", "\\u01", "\\x00"] {
            assert!(!may_hold(t.as_bytes()), "{t}");
        }
    }
}
