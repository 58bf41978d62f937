//! Lines that name a TRTC error without reporting one, judged as a whole
//! once the automaton found something on them: another vendor's error
//! that shares a name (`AgoraRTCError INVALID_OPERATION:`), and text about
//! errors rather than from them: documentation hints (`如果遇到错误码
//! 5302，...`, `extraCode 5302: 当...`), tables (`KEY 16387 0x4003 ...`),
//! changelogs (`・OPERATION_FAILED (5501) ... 改善しました`), test output
//! (`✓ maps KEY (0x4004) ...`) and source code (`case
//! TRTC.ERROR_CODE.SERVER_ERROR: // 5400`).
//!
//! A line in the SDK's own record form (a `<LEVEL>` tag near its start) is
//! a record, never one of these: storms of SDK records are not looked at
//! here, so this costs nothing on them.

use super::rules::Reject;

/// What a line names besides a TRTC error: another RTC or media SDK's
/// error class or module (matched without regard to case).
const OTHER_VENDORS: &[&str] = &[
    "agora",
    "chime",
    "twilio",
    "livekit",
    "zoomvideo",
    "@zoom/",
    "zoom video sdk",
    "daily-js",
    "dailyiframe",
    "jitsi",
    "opentok",
    "vonage",
    "zego",
    "mediasoup",
    "janus",
    "ant media",
    "antmedia",
    "volcengine",
    "vertc",
    "byteplus",
    "hmsexception",
    "100ms",
    "aliyun",
    "alirtc",
    "dingrtc",
    "hrtc",
    "webex",
    "peerjs",
    "simple-peer",
    "kurento",
    "sendbird",
    "stringee",
    "qrcode",
    "qr-code",
    "qr code",
    "qrscanner",
    "jsqr",
    "zxing",
    "instascan",
    "quagga",
];

/// What says a line is TRTC's after all (matched without regard to case,
/// but `RtcError`, the SDK's error class, with its case).
const TRTC_NAMES: &[&str] = &[
    "trtc",
    "tencent",
    "腾讯",
    "qcloud",
    "tuiroom",
    "tuicall",
    "sdkappid",
    // SDK 4's own wording where it logs a browser's error.
    "error observed",
];

/// Marks of API documentation (JSDoc pages, reference tables).
const DOC_MARKS: &[&str] = &[
    "Default Value",
    "默认值",
    "(static)",
    "@param",
    "@throws",
    "@see ",
    "@deprecated",
    "{@link",
];

/// Words that open an explanation (matched without regard to ASCII case):
/// a hint, a condition, an example.
const HINT_OPENERS: &[&str] = &[
    "if ",
    "when ",
    "whenever ",
    "in case ",
    "note:",
    "note ",
    "tip:",
    "tips:",
    "hint:",
    "e.g.",
    "for example",
    "如果",
    "若",
    "假如",
    "提示",
    "说明",
    "备注",
    "注意",
    "ヒント",
    "もし",
    "例えば",
    "メモ",
    "참고",
    "팁",
    "만약",
];

/// Words that, right after a code, make it a condition or a definition:
/// `5302 が出た場合`, `5302 means`, `5302: 当...`, `5302 발생 시`.
const EXPLAINERS: &[&str] = &[
    "場合",
    "とき",
    "時は",
    "時に",
    "の時",
    "とは",
    "を示",
    "意味",
    "的时候",
    "的情况",
    "时，",
    "时,",
    "时请",
    "时需",
    "时可",
    "表示",
    "是指",
    "代表",
    "指的是",
    "：当",
    ": 当",
    ":当",
    "경우",
    "하면",
    "발생 시",
    " means",
    " indicates",
    " refers to",
    " stands for",
    ": when",
    ": When",
    ": if ",
    ": If ",
];

/// Words that open a changelog or release note (matched without regard to
/// ASCII case).
const CHANGE_OPENERS: &[&str] = &[
    "fix ",
    "fixed ",
    "fixes ",
    "fix:",
    "fix(",
    "add ",
    "added ",
    "adds ",
    "improve",
    "optimiz",
    "support ",
    "supports ",
    "update ",
    "updated ",
    "change ",
    "changed ",
    "refactor",
    "feat:",
    "feat(",
    "chore",
    "docs:",
    "docs(",
    "修复",
    "优化",
    "新增",
    "支持",
    "修正",
    "改进",
    "增加",
    "解决",
];

/// Phrases that end a Japanese or Korean release note.
const CHANGE_ENDINGS: &[&str] = &["しました", "されました", "ました。", "개선", "수정", "추가"];

/// Marks that open a test runner's line.
const TEST_MARKS: &[&str] = &[
    "✓",
    "✔",
    "✗",
    "✕",
    "✘",
    "√",
    "☑",
    "PASS ",
    "FAIL ",
    "ok ",
    "not ok ",
    "it(",
    "test(",
    "expect(",
    "describe(",
    "assert",
];

/// Words that open a line of source code.
const CODE_OPENERS: &[&str] = &[
    "case ", "if (", "if(", "} else", "else if", "switch", "const ", "let ", "var ", "return ",
    "//", "/*", "* ", "#define", "export ", "throw ",
];

/// Whether `line` (where the automaton found TRTC names or codes, the
/// last ending at `last_end`) names them without reporting an error, and
/// why. `None` for a line in the SDK's own record form.
pub fn about_something_else(line: &[u8], last_end: usize) -> Option<Reject> {
    if has_sdk_tag(line) {
        return None;
    }
    if names_other_vendor(line) {
        return Some(Reject::OtherVendor);
    }
    let text = strip_bullet(line);
    if starts_with_any(text, TEST_MARKS, false) {
        return Some(Reject::TestOutput);
    }
    if starts_with_any(text, CODE_OPENERS, false) || in_comment(line, last_end) {
        return Some(Reject::SourceCode);
    }
    if is_table_row(line) {
        return Some(Reject::Table);
    }
    if DOC_MARKS
        .iter()
        .any(|m| crate::bytes::contains(line, m.as_bytes()))
    {
        return Some(Reject::Explanation);
    }
    let hint_opens =
        starts_with_any(text, HINT_OPENERS, true) && !text.starts_with("当前".as_bytes());
    let after = &line[last_end.min(line.len())..];
    let after = &after[..floor_char(after, 40)];
    if hint_opens || explains(after) {
        return Some(Reject::Explanation);
    }
    if starts_with_any(text, CHANGE_OPENERS, true)
        || starts_with_version(text)
        || CHANGE_ENDINGS
            .iter()
            .any(|w| line.trim_ascii_end().ends_with(w.as_bytes()))
    {
        return Some(Reject::Prose);
    }
    None
}

/// Whether the generic `code` at `s` whose number ends at `end` is another
/// protocol's: a WebSocket close (`onclose code:4096 reason: x`, a
/// `CloseEvent`), a socket's or an HTTP status. Its number may be a TRTC
/// code by chance (4096 is SDK 4's `INVALID_PARAMETER`).
pub fn other_protocol(line: &[u8], s: usize, end: usize) -> bool {
    let after = line[end.min(line.len())..].trim_ascii_start();
    let after = after.strip_prefix(b",").unwrap_or(after).trim_ascii_start();
    let reason = after
        .get(..6)
        .is_some_and(|w| w.eq_ignore_ascii_case(b"reason"));
    let before = &line[s.saturating_sub(48)..s];
    reason
        || [&b"close"[..], b"socket", b"http", b"domain"]
            .iter()
            .any(|w| before.windows(w.len()).any(|x| x.eq_ignore_ascii_case(w)))
}

/// A `<LEVEL>` tag of the SDK's logger in the line's first 64 bytes.
fn has_sdk_tag(line: &[u8]) -> bool {
    let head = &line[..line.len().min(64)];
    // A plain loop: the tag is within a few bytes of the start, where a
    // SIMD search costs more to set up than it saves.
    head.iter().enumerate().any(|(i, &b)| {
        if b != b'<' {
            return false;
        }
        let t = &head[i + 1..];
        let tag: &[u8] = match t.first() {
            Some(b'E') => b"ERROR>",
            Some(b'W') => b"WARN>",
            Some(b'I') => b"INFO>",
            Some(b'D') => b"DEBUG>",
            Some(b'T') => b"TRACE>",
            _ => return false,
        };
        t.starts_with(tag)
    })
}

/// Whether the line is TRTC's own record or names TRTC: the SDK's
/// `<LEVEL>` tag, `RtcError`, or a TRTC name (`trtc`, `sdkAppId`, ...).
/// A browser's error name alone (`NotReadableError`) or a number common
/// outside TRTC (`4096`) is TRTC's only there.
pub fn trtc_record(line: &[u8]) -> bool {
    has_sdk_tag(line) || names_trtc(line)
}

/// TRTC named on the line (or its error class, `RtcError`).
fn names_trtc(line: &[u8]) -> bool {
    use std::sync::LazyLock;
    static TRTC: LazyLock<Option<aho_corasick::AhoCorasick>> = LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(TRTC_NAMES)
            .ok()
    });
    TRTC.as_ref().is_some_and(|a| a.is_match(line)) || crate::bytes::contains(line, b"RtcError")
}

/// Another vendor named, and neither TRTC nor its error class.
fn names_other_vendor(line: &[u8]) -> bool {
    use std::sync::LazyLock;
    static VENDORS: LazyLock<Option<aho_corasick::AhoCorasick>> = LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(OTHER_VENDORS)
            .ok()
    });
    VENDORS.as_ref().is_some_and(|a| a.is_match(line)) && !names_trtc(line)
}

/// The line without leading spaces, list bullets, numbering, quote and
/// heading marks (`- `, `* `, `• `, `・`, `1. `, `> `, `## `).
fn strip_bullet(line: &[u8]) -> &[u8] {
    let mut t = line.trim_ascii_start();
    loop {
        let before = t.len();
        for mark in ["・", "•", "●", "■", "◆", "※", "→"] {
            if let Some(r) = t.strip_prefix(mark.as_bytes()) {
                t = r;
            }
        }
        if let Some(&b) = t.first()
            && matches!(b, b'-' | b'*' | b'>' | b'#' | b'+')
            && t.get(1).is_some_and(|&c| c == b' ' || c == b'#')
        {
            t = &t[1..];
        }
        let digits = t.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 && digits < 3 && matches!(t.get(digits), Some(b'.' | b')')) {
            t = &t[digits + 1..];
        }
        t = t.trim_ascii_start();
        if t.len() == before {
            return t;
        }
    }
}

/// Whether `after` (the text after a code) holds an [`EXPLAINERS`] word;
/// `时` ("when") not as the end of a word that has it (`超时`, timeout;
/// `及时`, `同时`, `实时`, `暂时`, `临时`, `定时`, `准时`, `按时`).
fn explains(after: &[u8]) -> bool {
    const NOT_WHEN: &[&str] = &["超", "及", "同", "实", "暂", "临", "定", "准", "按", "小"];
    EXPLAINERS.iter().any(|w| {
        crate::bytes::find_iter(after, w.as_bytes()).any(|i| {
            !w.starts_with('时') || !NOT_WHEN.iter().any(|p| after[..i].ends_with(p.as_bytes()))
        })
    })
}

/// Whether `text` starts with one of `words` (ASCII case ignored when `ci`).
fn starts_with_any(text: &[u8], words: &[&str], ci: bool) -> bool {
    words.iter().any(|w| {
        let w = w.as_bytes();
        text.get(..w.len()).is_some_and(|h| {
            if ci {
                h.eq_ignore_ascii_case(w)
            } else {
                h == w
            }
        })
    })
}

/// A version opening a release note: `v4.15.2:`, `4.15.2 `, `[5.8.6]`.
fn starts_with_version(text: &[u8]) -> bool {
    let t = text.strip_prefix(b"[").unwrap_or(text);
    let t = t
        .strip_prefix(b"v")
        .or_else(|| t.strip_prefix(b"V"))
        .unwrap_or(t);
    let n = t
        .iter()
        .take_while(|b| b.is_ascii_digit() || **b == b'.')
        .count();
    let dots = t[..n].iter().filter(|&&b| b == b'.').count();
    // Three numbers (`4.15.2`), not an address (`203.0.113.9`).
    dots == 2 && matches!(t.get(n), Some(b':' | b' ' | b']' | b'\t'))
}

/// Whether the code or name ending at `end` stands in a `//` or `/*`
/// comment (not a URL's `://`).
fn in_comment(line: &[u8], end: usize) -> bool {
    let before = &line[..end.min(line.len())];
    crate::bytes::find_iter(before, b"//").any(|i| i == 0 || before[i - 1] != b':')
        || crate::bytes::contains(before, b"/*")
}

/// A row of a table: a Markdown row (`| KEY | 16387 |`), or a code named in
/// both its forms (`KEY 16387 0x4003`): an error report names one.
fn is_table_row(line: &[u8]) -> bool {
    let t = line.trim_ascii();
    if t.first() == Some(&b'|') && memchr::memchr_iter(b'|', t).count() >= 3 {
        return true;
    }
    // A decimal and its hex side by side (`16387 0x4003`, `0x4003 | 16387`).
    let tokens: Vec<(usize, &[u8])> = {
        let mut v = Vec::new();
        let mut i = 0;
        while i < t.len() {
            let n = t[i..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
                .count();
            if n > 0 {
                v.push((i, &t[i..i + n]));
                i += n;
            } else {
                i += 1;
            }
        }
        v
    };
    let hex_of = |w: &[u8]| {
        w.strip_prefix(b"0x")
            .or_else(|| w.strip_prefix(b"0X"))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| i64::from_str_radix(h, 16).ok())
            .filter(|&h| h >= 0x1000)
    };
    let gap_ok = |g: &[u8]| {
        g.len() <= 4
            && g.iter()
                .all(|b| matches!(b, b' ' | b'\t' | b'|' | b',' | b'/' | b'('))
    };
    tokens.windows(2).any(|w| {
        let ((a, x), (b, y)) = (w[0], w[1]);
        let pair = |d: &[u8], h: &[u8]| hex_of(h).is_some_and(|h| h.to_string().as_bytes() == d);
        gap_ok(&t[a + x.len()..b]) && (pair(x, y) || pair(y, x))
    })
}

/// The largest char boundary of `t` at or below `n`.
fn floor_char(t: &[u8], n: usize) -> usize {
    let mut n = n.min(t.len());
    while n > 0 && n < t.len() && (t[n] & 0xC0) == 0x80 {
        n -= 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_the_sdk_are_never_mentions() {
        assert_eq!(
            about_something_else(
                b"[10:00:00:000] <ERROR> if you see this: <ICE_TRANSPORT_ERROR 0x4003>",
                60
            ),
            None
        );
    }

    #[test]
    fn each_kind_of_mention() {
        for (line, want) in [
            (
                "AgoraRTCError INVALID_OPERATION: Can't publish stream",
                Reject::OtherVendor,
            ),
            (
                "[chime] NotReadableError: Could not start video source",
                Reject::OtherVendor,
            ),
            (
                "✓ maps ICE_TRANSPORT_ERROR (0x4004) to x",
                Reject::TestOutput,
            ),
            (
                "  case TRTC.ERROR_CODE.SERVER_ERROR: // 5400",
                Reject::SourceCode,
            ),
            (
                "ICE_TRANSPORT_ERROR 16387 0x4003 ICE transport failed",
                Reject::Table,
            ),
            ("| DEVICE_ERROR | 5300 | device |", Reject::Table),
            ("如果遇到错误码 5302，请检查麦克风权限", Reject::Explanation),
            (
                "ヒント: エラーコード 5302 が出た場合はマイクの許可を確認",
                Reject::Explanation,
            ),
            (
                "extraCode 5302: 当用户拒绝麦克风权限时",
                Reject::Explanation,
            ),
            (
                "・OPERATION_FAILED (5501) 発生時のメッセージを改善しました",
                Reject::Prose,
            ),
            ("v4.15.2: CLIENT_BANNED (0x4040) now emitted", Reject::Prose),
            ("Fix SERVER_ERROR code 5400 on rejoin", Reject::Prose),
        ] {
            let end = line
                .len()
                .min(line.find(|c: char| c.is_ascii_digit()).unwrap_or(0) + 4);
            assert_eq!(
                about_something_else(line.as_bytes(), end),
                Some(want),
                "{line}"
            );
        }
    }

    #[test]
    fn another_protocols_code() {
        let line = b"[10:00:00:000] <WARN> websocket onclose code:4096 reason: normal";
        let s = crate::bytes::find(line, b"code").unwrap_or(0);
        assert!(other_protocol(line, s, s + 9));
        let line = b"CloseEvent code: 4001, reason: kicked";
        let s = crate::bytes::find(line, b"code").unwrap_or(0);
        assert!(other_protocol(line, s, s + 10));
        let line = b"[10:00:00:000] <ERROR> enterRoom() failed 1   INVALID_PARAMETER: x code:5001 params: []";
        let s = crate::bytes::find(line, b"code").unwrap_or(0);
        assert!(!other_protocol(line, s, s + 9));
    }

    #[test]
    fn reports_stay_reports() {
        for line in [
            "进房失败，错误码：-10012，错误信息：invalid roomId",
            "当前网络异常，错误码 16387",
            "错误码 16387，连接超时，请重试",
            "client error: RtcError: x <ICE_TRANSPORT_ERROR 0x4003>",
            "trtc failed, falling back from agora: code 16387",
            "2024-05-13 20:41:09 WARN 用户被踢出房间 CLIENT_BANNED(16448)",
            "join failed, see https://example.com/a code 16387",
        ] {
            assert_eq!(
                about_something_else(line.as_bytes(), line.len() / 2),
                None,
                "{line}"
            );
        }
    }

    proptest::proptest! {
        /// Any bytes, any position: an answer, never a panic.
        #[test]
        fn any_line_any_position(
            line in proptest::collection::vec(
                proptest::sample::select(
                    &b"|0x4003 16387 4096 :\xEF\xBC\x9A\xE6\x97\xB6// case v4.15.2 if reason close \xE2\x9C\x93"[..],
                ),
                0..60,
            ),
            at in 0usize..80,
        ) {
            let end = at.min(line.len());
            let _ = about_something_else(&line, end);
            let _ = other_protocol(&line, end, end);
            let _ = other_protocol(&line, 0, end);
            let _ = trtc_record(&line);
        }
    }
}
