//! Credentials a log line may hold, replaced before anything is built
//! from it: the TRTC `userSig` (the SDK prints its `enterRoom` params, and
//! apps log their own; the end report's `str_user_sig`) and the room's
//! `privateMapKey`. One normaliser with two rules:
//!
//! 1. **A name, a separator, a value.** The names in any case, inside a
//!    longer word too (`tlsUserSig`, `userSig2`, `userSigs`), with up to two
//!    of `_` `-` `.` or a space between their words, any letter written as
//!    a JSON escape (`\u0053`), URL-encoded (`%53`, `%2553`) or full-width
//!    (`ｓ`); then its closing quote (escaped at any depth: `\"`, `\\\"`,
//!    or URL-encoded: `%22`), `=` or `:` (full-width `：` `＝` too, or
//!    URL-encoded `%3D` `%3A`) or whitespace alone (`console.log('userSig',
//!    sig)` prints `userSig eJw...`: then only a value of 16 or more
//!    credential characters is taken), an opening quote in any of those
//!    forms, and the value, up to a quote, a separator or a space
//!    (URL-encoded bytes within it kept in it).
//! 2. **Whatever stands between.** After every name, each token within
//!    the next [`WINDOW`] bytes (across lines) that looks like a
//!    credential is replaced too, whatever the separator was (escaped
//!    punctuation `\u0022` `&quot;`, URL-encoded twice, terminal colours,
//!    dump formats `=> string(90)`, other spaces, words between): a token of
//!    the base64/URL alphabet without `.` or `/` that starts with `eJ` and
//!    has [`SHORT`] or more characters, or has [`LONG`] or more with upper
//!    and lower case letters and digits. Identifiers (`NotReadableError`),
//!    user ids, URLs and error keys are not that.
//! 3. **A credential by its shape, wherever it stands.** A userSig or
//!    privateMapKey as TRTC's signing libraries make them is a zlib stream
//!    in base64 (`eJw...`, `eJy...`): such a token of [`ZLIB`] or more
//!    characters is replaced with no name before it (`sig=`, `token=`, a
//!    user id that is one, a name spelled with an entity or a zero-width
//!    space).
//!
//! Every source goes through it (files, stdin, ingest, NATS, the browser
//! endpoint) before an event is built; `why` and `scan` show what it left.
//! The value never reaches an event, the events output, the pages or the
//! daemon's own log. The forms are listed in docs/browser.md ("Nothing secret is
//! written").

use std::borrow::Cow;
use std::sync::OnceLock;

/// What a credential's value becomes.
pub const REDACTED: &str = "[redacted]";

/// Bytes after a name where rule 2 looks for its value.
pub const WINDOW: usize = 200;

/// The shortest `eJ...` token rule 2 takes.
pub const SHORT: usize = 20;

/// The shortest other token rule 2 takes (with upper and lower case letters
/// and digits).
pub const LONG: usize = 32;

/// The shortest `eJ...` token rule 3 takes anywhere.
pub const ZLIB: usize = 48;

/// The names of credentials, as words.
const NAMES: &[&[&str]] = &[
    &["str", "user", "sig"],
    &["user", "sig"],
    &["private", "map", "key"],
];

/// A pattern for `word`, each letter in any case, or (`escapes`) as a
/// JSON `\uXXXX` escape (at any escaping depth), URL-encoded (once or
/// twice) or full-width.
fn word_pattern(word: &str, escapes: bool) -> String {
    word.chars()
        .map(|c| {
            let (lo, up) = (c.to_ascii_lowercase(), c.to_ascii_uppercase());
            if !escapes {
                return format!("[{lo}{up}]");
            }
            let (l, u) = (lo as u32, up as u32);
            let (fl, fu) = (
                char::from_u32(l - 0x61 + 0xFF41).unwrap_or(lo),
                char::from_u32(u - 0x41 + 0xFF21).unwrap_or(up),
            );
            format!(r"(?:[{lo}{up}{fl}{fu}]|\\+u00(?:{l:02x}|{u:02x})|%(?:25)?(?:{l:02x}|{u:02x}))")
        })
        .collect()
}

/// The two patterns for `text`: names with escaped letters only where the
/// text may hold an escape (the smaller patterns are much faster).
fn patterns_for(escaped: bool) -> &'static Patterns {
    static PLAIN: OnceLock<Patterns> = OnceLock::new();
    static ESCAPED: OnceLock<Patterns> = OnceLock::new();
    if escaped {
        ESCAPED.get_or_init(|| Patterns::build(true))
    } else {
        PLAIN.get_or_init(|| Patterns::build(false))
    }
}

/// The names (found in one pass), and what follows a name in rule 1 (a
/// separator and a value, matched at the name's end only: the captures
/// run on that short stretch, not the whole text).
struct Patterns {
    after: regex::bytes::Regex,
    names: regex::bytes::Regex,
}

impl Patterns {
    /// The patterns, names' letters also escaped when `escapes`.
    fn build(escapes: bool) -> Self {
        // Between words: up to two of `_`, `-`, `.`, a space (or their
        // escaped forms).
        let joint = if escapes {
            r"(?:[_.\- ]|\\+u00(?:5f|2d|2e|20)|%(?:25)?(?:5F|2D|2E|20)){0,2}"
        } else {
            r"[_.\- ]{0,2}"
        };
        let names: Vec<String> = NAMES
            .iter()
            .map(|words| {
                words
                    .iter()
                    .map(|w| word_pattern(w, escapes))
                    .collect::<Vec<_>>()
                    .join(joint)
            })
            .collect();
        // A name, inside a longer word too: `tlsUserSig`, `userSig2`,
        // `userSigs`.
        let name = format!(r"(?:{})(?:[sS]|[0-9]{{1,3}})?", names.join("|"));
        // A quote: plain, escaped at any depth, or URL-encoded.
        let quote = r#"(?:\\*["']|%2[27])"#;
        // The value: no quote, separator or space; URL-encoded bytes other
        // than a quote, `&` or `,` belong to it.
        let value = r#"(?:[^"'\\&,;\s})\]%<>]|%[013-9A-Fa-f][0-9A-Fa-f]|%2[013-589ABDEFabdef])+"#;
        let after = format!(
            r#"(?i)^(?:({quote}?[ \t]*(?:[:=]|：|＝|%3[AD])[ \t]*{quote}?)({value})|({quote}?[ \t]+{quote}?)([A-Za-z0-9*_+/=.\-]{{16,}}))"#,
        );
        let build = |p: &str| {
            regex::bytes::Regex::new(p).unwrap_or_else(|e| panic!("the credentials pattern: {e}"))
        };
        Self {
            after: build(&after),
            names: build(&format!("(?i){name}")),
        }
    }
}

/// Every ASCII case of `sig` and `key`, the ends of every name, in one
/// packed (Teddy) searcher, built once; `None` where the CPU has no Teddy
/// (every text is then looked at by the names' pattern).
fn name_ends() -> Option<&'static aho_corasick::packed::Searcher> {
    static ENDS: OnceLock<Option<aho_corasick::packed::Searcher>> = OnceLock::new();
    ENDS.get_or_init(|| {
        let mut b = aho_corasick::packed::Config::new().builder();
        for name in [b"sig", b"key"] {
            for case in 0..8u8 {
                let w: Vec<u8> = name
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| {
                        if case >> i & 1 == 1 {
                            c.to_ascii_uppercase()
                        } else {
                            c
                        }
                    })
                    .collect();
                b.add(w);
            }
        }
        b.build()
    })
    .as_ref()
}

/// Whether the `sig` or `key` at `at` ends a name as the names' pattern
/// spells them without escapes: `sig` after `user`, `key` after `map`,
/// with at most two joints (`_`, `.`, `-`, a space) between (an escaped
/// spelling is looked at whole: see [`Look`]). `SIGNAL`, `keyword`
/// or `monkey` end none.
fn ends_a_name(text: &[u8], at: usize) -> bool {
    let before = if text[at].eq_ignore_ascii_case(&b's') {
        b'r'
    } else {
        b'p'
    };
    let joint = |b: &&u8| matches!(b, b'_' | b'.' | b'-' | b' ');
    let joints = text[..at].iter().rev().take_while(joint).count();
    joints <= 2 && at > joints && text[at - joints - 1].eq_ignore_ascii_case(&before)
}

/// Whether `t` begins with a full-width Latin letter (`Ａ`-`Ｚ`: `EF BC
/// A1`-`BA`; `ａ`-`ｚ`: `EF BD 81`-`9A`), the only full-width characters
/// the names' pattern reads (`：`, `（` and CJK text are not).
fn fullwidth_letter(t: &[u8]) -> bool {
    matches!(
        t.get(..3),
        Some([0xEF, 0xBC, 0xA1..=0xBA] | [0xEF, 0xBD, 0x81..=0x9A])
    )
}

/// The searcher for `eJ`, built once.
fn zlib_start() -> &'static memchr::memmem::Finder<'static> {
    static START: OnceLock<memchr::memmem::Finder<'static>> = OnceLock::new();
    START.get_or_init(|| memchr::memmem::Finder::new(b"eJ"))
}

/// What the cheap test before [`redact`] saw in a text: the end of a name
/// (`sig` after `user`, `key` after `map`, in any case), an escape that may spell a name's
/// letter (a JSON `\u00` escape, `%` and two hex digits, a full-width
/// form: bytes `EF BC`/`EF BD`), an `eJ` that may begin a signature. The
/// patterns and rule 3 go by what it saw.
struct Look {
    named: bool,
    escaped: bool,
    zlib: bool,
}

impl Look {
    /// Three vectorised searches: the names' ends (`sig`, `key`, in every
    /// case: Teddy over three bytes, few false starts), the rare bytes that
    /// begin an escape (`\`, `%`, `EF`, each checked), and `eJ`.
    fn of(text: &[u8]) -> Self {
        let escaped = memchr::memchr3_iter(b'\\', b'%', 0xEF, text).any(|i| {
            let t = &text[i..];
            match t[0] {
                b'\\' => t
                    .get(1..4)
                    .is_some_and(|e| e[0].eq_ignore_ascii_case(&b'u') && &e[1..] == b"00"),
                b'%' => t
                    .get(1..3)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
                _ => fullwidth_letter(t),
            }
        });
        Self {
            named: name_ends()
                .is_none_or(|s| s.find_iter(text).any(|m| ends_a_name(text, m.start()))),
            escaped,
            zlib: zlib_start().find(text).is_some(),
        }
    }

    /// Whether the text may hold a credential at all.
    fn any(&self) -> bool {
        self.named || self.escaped || self.zlib
    }
}

/// True when `text` may hold a credential (the cheap test before
/// [`redact`]).
pub fn may_hold(text: &[u8]) -> bool {
    Look::of(text).any()
}

/// A byte of a credential-looking token (rules 2 and 3): the base64 and
/// URL-safe alphabets (TRTC's signatures write `*`, `-`, `_` for `+`, `/`,
/// `=`), without `.` and `/` (URLs and paths) and `=` (a separator more
/// often than padding).
fn token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'*' | b'_' | b'+' | b'-')
}

/// The tokens of `text`, as ranges.
fn tokens(text: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < text.len() && !token_byte(text[i]) {
            i += 1;
        }
        if i >= text.len() {
            return None;
        }
        let start = i;
        while i < text.len() && token_byte(text[i]) {
            i += 1;
        }
        Some((start, i))
    })
}

/// Whether `t` is a zlib stream in base64 (`eJ...`) of `min` or more bytes.
fn zlib_like(t: &[u8], min: usize) -> bool {
    t.len() >= min && t.starts_with(b"eJ")
}

/// Whether `t` looks like a credential after a name (rule 2).
fn credential_like(t: &[u8]) -> bool {
    zlib_like(t, SHORT)
        || (t.len() >= LONG
            && t.iter().any(u8::is_ascii_lowercase)
            && t.iter().any(u8::is_ascii_uppercase)
            && t.iter().any(u8::is_ascii_digit))
}

/// [`redact`] of a text: itself when it holds no credential (replacements
/// cut no character: values are whole characters).
pub fn redact_text(text: &str) -> Cow<'_, str> {
    match redact(text.as_bytes()).0 {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        Cow::Owned(clean) => Cow::Owned(String::from_utf8_lossy(&clean).into_owned()),
    }
}

/// `text` with every credential's value replaced by [`REDACTED`], and a
/// map from offsets in `text` to offsets in the result (for offsets at or
/// after a replaced value, shifted by what the replacements changed).
pub fn redact(text: &[u8]) -> (Cow<'_, [u8]>, Shift) {
    let look = Look::of(text);
    if !look.any() {
        return (Cow::Borrowed(text), Shift::default());
    }
    let p = patterns_for(look.escaped);
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for n in p.names.find_iter(text) {
        let rest = &text[n.end()..];
        // Rule 1: a separator and a value right after the name.
        if let Some(v) = p
            .after
            .captures(rest)
            .and_then(|c| c.get(2).or_else(|| c.get(4)))
        {
            spans.push((n.end() + v.start(), n.end() + v.end()));
        }
        // Rule 2: every credential-looking token after the name.
        let end = rest.len().min(WINDOW);
        for (a, b) in tokens(&rest[..end]) {
            if credential_like(&rest[a..b]) {
                spans.push((n.end() + a, n.end() + b));
            }
        }
    }
    // Rule 3: a signature by its shape, anywhere.
    if look.zlib {
        spans.extend(tokens(text).filter(|&(a, b)| zlib_like(&text[a..b], ZLIB)));
    }
    if spans.is_empty() {
        return (Cow::Borrowed(text), Shift::default());
    }
    spans.sort_unstable();
    let mut out = Vec::with_capacity(text.len());
    let mut last = 0;
    let mut shift = Shift::default();
    for (a, b) in spans {
        if b <= last {
            continue;
        }
        // Overlapping spans: the rest of this one.
        let a = a.max(last);
        out.extend_from_slice(&text[last..a]);
        out.extend_from_slice(REDACTED.as_bytes());
        shift
            .at
            .push((b, REDACTED.len() as isize - (b - a) as isize));
        last = b;
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

    /// A userSig as TLSSigAPIv2 makes it (base64 of zlib, `eJw...`).
    const REAL: &str =
        "eJwtjcEKgjAQRH9l2XMgMUjxWAj9gIfoIrJt1pJuYhNbIv9d0uvMvGHeaAtFt1J9SW*qBfH-jTyQYOv1";

    /// Separators, escapes, dump formats and names a second attack day
    /// found leaking: rule 2 takes the value whatever stands between.
    #[test]
    fn whatever_stands_between_a_name_and_a_real_value_it_is_replaced() {
        for form in [
            r"\u0022userSig\u0022:\u0022{S}\u0022",
            r"userSig\u003d{S}",
            r#"\"userSig\"\u003a\"{S}\""#,
            r#""user\u005fsig":"{S}""#,
            "userSig\t{S}",
            r"userSig\t{S}",
            "usersig%253D{S}",
            "%2522userSig%2522%253A%2522{S}%2522",
            "userSig%20%3D%20{S}",
            "userSig+%3D+{S}",
            "%75serSig={S}",
            "user%53ig={S}",
            "&quot;userSig&quot;:&quot;{S}&quot;",
            "&#34;userSig&#34;:&#34;{S}&#34;",
            "userSig&#61;{S}",
            "<userSig>{S}</userSig>",
            "[userSig] => {S}",
            "[\"userSig\"]=> string(90) \"{S}\"",
            "userSig -> {S}",
            "userSig is {S}",
            "userSig :: {S}",
            "'userSig', '{S}'",
            "userSig: [ '{S}' ]",
            "userSig[0]={S}",
            "userSigs=[\"{S}\"]",
            "userSig.value={S}",
            "userSig: \x1b[32m'{S}'\x1b[39m",
            "userSig\r= {S}",
            "userSig\u{a0}{S}",
            "userSig\u{3000}{S}",
            "userSig\x00={S}",
            "\"userSig\":\n  \"{S}\"",
            "myUserSig={S}",
            "tlsUserSig={S}",
            "currentUserSig: \"{S}\"",
            "userSig1={S}",
            "userSig: null, userSig2: {S}",
            "USER__SIG={S}",
            "user--sig={S}",
            "user sig: {S}",
            "user.sig={S}",
            "ｕｓｅｒＳｉｇ={S}",
            r"userSig=\u0065Jw{S}",
            "privateMapKey => {S}",
        ] {
            let line = format!("<ICE_TRANSPORT_ERROR 0x4003> {}", form.replace("{S}", REAL));
            let out = r(&line);
            assert!(!out.contains(&REAL[3..40]), "{line:?} -> {out:?}");
            assert!(out.starts_with("<ICE_TRANSPORT_ERROR 0x4003> "), "{out}");
        }
    }

    /// A second attack round: decoys before the value, names spelled so no
    /// pattern sees them, other names, a user id that is a credential.
    #[test]
    fn decoys_and_unnamed_signatures_hide_nothing() {
        for form in [
            "userSig fetched from https://api.example.com/trtc/getCredential?userId=alice: {S}",
            "userSig for userId VeryLongUserNameAbcd: {S}",
            "userSig (expiresInSeconds=604800) {S}",
            "userSig fetched via fetchCredentials(): {S}",
            "userSig: Promise.resolve(generateCredential) -> {S}",
            "userSig expired, userId=AliceWonderlandUser1 sig={S}",
            "user&#83;ig={S}",
            "user\\x53ig={S}",
            "user\u{200b}Sig={S}",
            "u s e r S i g = {S}",
            "privMapKey={S}",
            "token={S}",
            "\"userId\":\"{S}\"",
            "alice {S}",
        ] {
            let line = format!("<ICE_TRANSPORT_ERROR 0x4003> {}", form.replace("{S}", REAL));
            let out = r(&line);
            assert!(!out.contains(&REAL[3..40]), "{line:?} -> {out:?}");
        }
    }

    /// What a name stands near is not a credential unless it looks like
    /// one: identifiers, URLs and user ids stay (an error named after the
    /// word `userSig` is not lost).
    #[test]
    fn words_urls_and_ids_near_a_name_stay() {
        for line in [
            "[08:40:57:001] <ERROR> userSig ok; RtcError: NotReadableError, the camera maybe in use",
            "userSig ok; OverconstrainedError InvalidStateError checkSystemRequirements RTCPeerConnection",
            "bad userSig see https://web.sdk.qcloud.com/trtc/webrtc/doc/en/module-ErrorCode.html",
            "userSig invalid for userId=AliceWonderland1234",
        ] {
            assert_eq!(r(line), line);
        }
    }

    /// Rule 2 takes one token after a name, one that looks like a
    /// credential: not an error key, a URL or a short word.
    #[test]
    fn rule_two_leaves_keys_urls_and_words() {
        for line in [
            "userSig expired <USER_SIG_EXPIRED_ERROR_CODE 0x4010> see https://web.sdk.qcloud.com/trtc/webrtc/doc/en/index.html",
            "check the userSig please, then call enterRoom again",
        ] {
            assert_eq!(r(line), line);
        }
        // The user id after the redacted value stays.
        assert_eq!(
            r(&format!(
                r#"{{"userSig":"{REAL}","userId":"AliceLongUserName_2024"}}"#
            )),
            r#"{"userSig":"[redacted]","userId":"AliceLongUserName_2024"}"#
        );
    }

    proptest::proptest! {
        /// The eight-bytes-at-a-time test sees what a byte-by-byte reading
        /// of its words sees, wherever they fall in the words of eight.
        #[test]
        fn the_cheap_test_is_a_byte_by_byte_reading(
            text in proptest::collection::vec(
                proptest::sample::select(&b"sigSIGkeyKEYrRpP_.-eJj\\u0%3aF\xEF\xBC\xBD\xA1\xBA\x81\x9A\x9Bx "[..]),
                0..40,
            ),
        ) {
            let t = &text[..];
            // `sig` after `user`, `key` after `map`, at most two joints between.
            let ends = |last: u8, word: &[u8; 2]| (2..t.len()).any(|i| {
                let before = if last == b'g' { b'r' } else { b'p' };
                let joint = |b: u8| matches!(b, b'_' | b'.' | b'-' | b' ');
                t[i].eq_ignore_ascii_case(&last)
                    && t[i - 2..i].eq_ignore_ascii_case(word)
                    && (0..=2).any(|j| {
                        i >= 3 + j
                            && t[i - 3 - j].eq_ignore_ascii_case(&before)
                            && t[i - 2 - j..i - 2].iter().all(|&b| joint(b))
                    })
            });
            let escaped = (0..t.len()).any(|i| match t[i] {
                b'\\' => t.get(i + 1..i + 4).is_some_and(|e| e[0].eq_ignore_ascii_case(&b'u') && &e[1..] == b"00"),
                b'%' => t.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
                0xEF => matches!(t.get(i + 1..i + 3), Some([0xBC, 0xA1..=0xBA] | [0xBD, 0x81..=0x9A])),
                _ => false,
            });
            let look = Look::of(t);
            proptest::prop_assert_eq!(look.named, ends(b'g', b"si") || ends(b'y', b"ke"));
            proptest::prop_assert_eq!(look.escaped, escaped);
            proptest::prop_assert_eq!(look.zlib, t.windows(2).any(|w| w == b"eJ"));
        }

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
            "map.kEy",
            "user__Sig",
            "u\\u0073erSig",
            "user\\U0053ig",
            "a\\\\u0067",
            "ｕserSig",
            "userＳig",
        ] {
            assert!(may_hold(t.as_bytes()), "{t}");
        }
        // A `sig` or `key` that ends no name: the names' pattern is not
        // run (the SDK's `SIGNAL_CHANNEL_SETUP_FAILED`, `SignalChannel`).
        for t in [
            "",
            "g",
            "ig",
            "ky",
            "SI G",
            "k-ey",
            "\\u01",
            "\\x00",
            "Sig",
            "kEy",
            "monkey",
            "<SIGNAL_CHANNEL_SETUP_FAILED 0x4001>",
            "SignalChannel",
            "user___sig",
            "keyword",
            "エラー：（0x4003）",
            "コード：０１（ｺｰﾄﾞ）",
        ] {
            assert!(!may_hold(t.as_bytes()), "{t}");
        }
    }
}
