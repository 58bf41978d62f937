//! Credentials a log line may hold, replaced before any event is built
//! from it: the TRTC `userSig` (the SDK prints its `enterRoom` params, and
//! apps log their own), in every form seen: `"userSig":"..."`,
//! `userSig: '...'`, `userSig=...` (query strings), `user_sig`, in any
//! case. Every source goes through it (files, stdin, ingest, NATS, the
//! browser endpoint): the value never reaches an event, the events output
//! or the daemon's own log.

use std::borrow::Cow;
use std::sync::OnceLock;

/// What a credential's value becomes.
pub const REDACTED: &str = "[redacted]";

fn pattern() -> &'static regex::bytes::Regex {
    static P: OnceLock<regex::bytes::Regex> = OnceLock::new();
    P.get_or_init(|| {
        // The name, its quote, `:` or `=`, an opening quote, then the value
        // up to a quote, separator or space.
        regex::bytes::Regex::new(
            r#"(?i)(user_?sig|str_user_sig)(\\?["']?\s*[:=]\s*\\?["']?)([^"'\\&,;\s})\]]+)"#,
        )
        .unwrap_or_else(|e| panic!("the userSig pattern: {e}"))
    })
}

/// True when `text` may hold a credential (a cheap test before [`redact`]):
/// it has `sig` in some case. The searchers are built once.
pub fn may_hold(text: &[u8]) -> bool {
    static FINDERS: OnceLock<[memchr::memmem::Finder<'static>; 3]> = OnceLock::new();
    FINDERS
        .get_or_init(|| {
            [
                memchr::memmem::Finder::new(b"sig"),
                memchr::memmem::Finder::new(b"Sig"),
                memchr::memmem::Finder::new(b"SIG"),
            ]
        })
        .iter()
        .any(|f| f.find(text).is_some())
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
    for c in pattern().captures_iter(text) {
        let Some(v) = c.get(3) else { continue };
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
    }

    #[test]
    fn offsets_after_a_value_move_with_it() {
        let t = b"userSig=abcdef <ICE_TRANSPORT_ERROR 0x4003>";
        let (out, shift) = redact(t);
        let at = t.iter().position(|&b| b == b'<').unwrap();
        assert_eq!(out[shift.map(at)], b'<');
        assert_eq!(shift.map(3), 3);
    }
}
