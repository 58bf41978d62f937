//! What the TRTC Web SDK uploads (`POST .../v5/AVQualityReportSvc/C2S?
//! sdkappid=ID&cmdtype=T`, `Content-Type: text/plain`, a JSON body), read
//! field by field: unknown fields are skipped without being held, and a
//! wrong field is named in the error, never quoted (a body may carry a
//! credential).
//!
//! - `jssdk_log`: `{timestamp, sdkAppId, userId, version, log}`; `log` is
//!   the SDK's own log records joined by `\n`, as it prints them.
//! - `jssdk_new_endreport`: how one session went. Read from the SDKs'
//!   source (5.17.1, 4.15.22): `msg_path_enter_room.uint64_start_time` is
//!   when `enterRoom`/`join` began (0: never called), `uint64_end_time`
//!   when it ended, `int32_end_ret` its result: 0 entered; SDK 5 the error
//!   code of the failure (`16460` = `SCHEDULE_FAILED`, 0x404C, when the
//!   schedule service cannot be reached), SDK 4 `2` (the schedule request
//!   failed) or `3` (the enter-room command failed). It also carries
//!   `str_user_sig`, the user's credential, which is never read here.
//! - `jssdk_key_metrics_report`: statistics counters; counted, not read.

use serde::Deserialize;
use serde_json::value::RawValue;

/// Longest `userId` taken (the SDK allows 32 characters).
const MAX_USER_ID: usize = 256;
/// Longest `version` taken.
const MAX_VERSION: usize = 32;
/// Longest `timestamp` read.
const MAX_TIMESTAMP: usize = 64;

/// One `jssdk_log` upload.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LogUpload {
    pub sdk_app_id: u64,
    pub user_id: Option<String>,
    pub version: Option<String>,
    /// When the browser sent it, in its local time (see [`super::clock`]).
    pub timestamp: Option<String>,
    pub log: String,
}

#[derive(Deserialize)]
struct RawLog<'a> {
    #[serde(rename = "sdkAppId", borrow)]
    sdk_app_id: Option<&'a RawValue>,
    #[serde(rename = "userId", borrow)]
    user_id: Option<&'a RawValue>,
    #[serde(borrow)]
    version: Option<&'a RawValue>,
    #[serde(borrow)]
    timestamp: Option<&'a RawValue>,
    #[serde(borrow)]
    log: Option<&'a RawValue>,
}

/// Where a JSON body went wrong, without quoting it.
fn json_error(what: &str, e: &serde_json::Error) -> String {
    let kind = match e.classify() {
        serde_json::error::Category::Io | serde_json::error::Category::Eof => "cut short",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "not the expected shape",
    };
    format!("{what}: {kind} at line {}, column {}", e.line(), e.column())
}

fn string(name: &str, v: &RawValue, max: usize) -> Result<String, String> {
    if !v.get().starts_with('"') {
        return Err(format!("jssdk_log: {name} must be a string"));
    }
    // A lone surrogate (an emoji cut in two by the SDK's own truncation)
    // becomes U+FFFD: the rest of the upload is kept.
    let text = mend_surrogates(v.get());
    let s: String =
        serde_json::from_str(&text).map_err(|e| json_error(&format!("jssdk_log: {name}"), &e))?;
    if s.len() > max {
        return Err(format!("jssdk_log: {name} is longer than {max} bytes"));
    }
    Ok(s)
}

/// The JSON string literal `lit` with each `\\u` escape of a lone
/// surrogate (a high one not followed by a low one, or a low one alone)
/// replaced by `\\ufffd`; borrowed when it has none.
fn mend_surrogates(lit: &str) -> std::borrow::Cow<'_, str> {
    let b = lit.as_bytes();
    let hex_at = |i: usize| -> Option<u32> {
        let h = b.get(i..i + 4)?;
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    };
    let escape_at = |i: usize| -> Option<u32> {
        (b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u'))
            .then(|| hex_at(i + 2))
            .flatten()
    };
    let mut out: Option<String> = None;
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        let Some(code) = escape_at(i) else {
            // Another escape: its character is skipped with it.
            i += 2;
            continue;
        };
        let high = (0xD800..0xDC00).contains(&code);
        let low = (0xDC00..0xE000).contains(&code);
        if high && escape_at(i + 6).is_some_and(|c| (0xDC00..0xE000).contains(&c)) {
            i += 12;
            continue;
        }
        if high || low {
            let o = out.get_or_insert_with(String::new);
            o.push_str(&lit[last..i]);
            o.push_str("\\ufffd");
            last = i + 6;
        }
        i += 6;
    }
    match out {
        Some(mut o) => {
            o.push_str(&lit[last..]);
            std::borrow::Cow::Owned(o)
        }
        None => std::borrow::Cow::Borrowed(lit),
    }
}

/// An sdkAppId as the SDKs send it: a string of digits (or a number).
fn app_id(v: &RawValue) -> Option<u64> {
    let t = v.get();
    let digits = t
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(t);
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Reads a `jssdk_log` body.
pub(crate) fn log_upload(body: &[u8]) -> Result<LogUpload, String> {
    // A lone surrogate anywhere (a key, the version) is mended as in the
    // strings: it does not cost the upload.
    let mended = std::str::from_utf8(body).map(mend_surrogates);
    let raw: RawLog<'_> = match &mended {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    }
    .map_err(|e| json_error("jssdk_log body", &e))?;
    let sdk_app_id = raw.sdk_app_id.ok_or("jssdk_log: no sdkAppId")?;
    let sdk_app_id = app_id(sdk_app_id).ok_or("jssdk_log: sdkAppId must be a number (digits)")?;
    let user_id = raw
        .user_id
        .map(|v| string("userId", v, MAX_USER_ID))
        .transpose()?;
    let version = raw
        .version
        .map(|v| string("version", v, usize::MAX))
        .transpose()?;
    // A version that is no version number (`5.17.1`, `v4.10.2-beta.1`, at
    // most 32 bytes) is left out; the upload's records are kept.
    let version = version.filter(|v| {
        let v = v.strip_prefix('v').unwrap_or(v);
        v.len() <= MAX_VERSION
            && v.starts_with(|c: char| c.is_ascii_digit())
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
    });
    // A user id is the client's to choose: a credential in it is replaced.
    // A user id is the client's to choose: a credential in it is replaced.
    let user_id = user_id.map(|u| crate::redact::redact_text(&u).into_owned());
    // A time that is no short string is left out: the records keep their
    // arrival as their time.
    let timestamp = raw
        .timestamp
        .and_then(|v| string("timestamp", v, MAX_TIMESTAMP).ok());
    let log = raw.log.ok_or("jssdk_log: no log")?;
    let log = string("log", log, usize::MAX)?;
    Ok(LogUpload {
        sdk_app_id,
        user_id: user_id.filter(|u| !u.is_empty()),
        version: version.filter(|v| !v.is_empty()),
        timestamp,
        log,
    })
}

/// How the session an end report describes went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Session {
    /// The room was entered.
    Entered,
    /// Entering failed with this result (`int32_end_ret`).
    Failed(i64),
    /// Entering was never tried.
    NoEnter,
}

/// One `jssdk_new_endreport`: its sdkAppId, SDK major version and session.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EndReport {
    pub sdk_app_id: Option<u64>,
    pub sdk_major: Option<u32>,
    pub session: Session,
    /// Seconds from the join's start to its end, where it ended (both
    /// times are the browser's `Date.now()`: at most an hour is believed).
    pub join_seconds: Option<f64>,
    /// The user (`msg_user_info.str_identifier`), a credential in it
    /// replaced.
    pub user_id: Option<String>,
    /// The session's average round trip, where the SDK measured one
    /// (`msg_basic_info.uint32_avg_rtt`, ms; 0: none).
    pub rtt_seconds: Option<f64>,
    /// Its average uplink loss, as a ratio, where a round trip was measured
    /// (`uint32_avg_up_loss`, percent).
    pub uplink_loss: Option<f64>,
    /// From the join's start to each remote video's first frame drawn
    /// (`msg_path_recv_video[]`: `uint64_render_first_frame_time` less
    /// `uint64_start_enter_time`), at most [`MAX_FIRST_FRAMES`].
    pub first_frame_seconds: Vec<f64>,
}

/// Remote videos' first frames read from one end report.
pub(crate) const MAX_FIRST_FRAMES: usize = 16;
/// The longest span of a session believed (an hour), in ms.
const MAX_SPAN_MS: u64 = 3_600_000;

#[derive(Deserialize)]
struct RawEnd<'a> {
    #[serde(borrow)]
    uint32_sdk_app_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    msg_basic_info: Option<Basic<'a>>,
    #[serde(default)]
    msg_path_enter_room: Option<Enter>,
    #[serde(default, borrow)]
    msg_user_info: Option<UserInfo<'a>>,
    #[serde(default, borrow)]
    msg_path_recv_video: Option<&'a RawValue>,
}

// The fields read for the pages and histograms only are read leniently:
// a wrong one is left out, never the report.
#[derive(Deserialize)]
struct Basic<'a> {
    #[serde(default)]
    string_sdk_version: Option<String>,
    #[serde(default, borrow)]
    uint32_avg_rtt: Option<&'a RawValue>,
    #[serde(default, borrow)]
    uint32_avg_up_loss: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct UserInfo<'a> {
    #[serde(default, borrow)]
    str_identifier: Option<&'a RawValue>,
}

/// A JSON number, else `None`.
fn number(v: Option<&RawValue>) -> Option<f64> {
    v?.get().parse().ok()
}

#[derive(Deserialize)]
struct RecvVideo {
    #[serde(default)]
    uint64_start_enter_time: u64,
    #[serde(default)]
    uint64_render_first_frame_time: u64,
}

/// `end - start` in seconds, where both are set and it is at most an hour.
fn span(start: u64, end: u64) -> Option<f64> {
    let ms = end.checked_sub(start)?;
    (start != 0 && end != 0 && ms <= MAX_SPAN_MS).then(|| ms as f64 / 1000.0)
}

#[derive(Deserialize)]
struct Enter {
    #[serde(default)]
    uint64_start_time: u64,
    #[serde(default)]
    uint64_end_time: u64,
    #[serde(default)]
    int32_end_ret: i64,
}

/// Reads a `jssdk_new_endreport` body.
pub(crate) fn end_report(body: &[u8]) -> Result<EndReport, String> {
    let raw: RawEnd<'_> =
        serde_json::from_slice(body).map_err(|e| json_error("jssdk_new_endreport body", &e))?;
    let basic = raw.msg_basic_info;
    let rtt_ms = basic
        .as_ref()
        .and_then(|b| number(b.uint32_avg_rtt))
        .filter(|r| (1.0..=60_000.0).contains(r));
    let uplink_loss = basic
        .as_ref()
        .and_then(|b| number(b.uint32_avg_up_loss))
        .filter(|l| rtt_ms.is_some() && (0.0..=100.0).contains(l))
        .map(|l| l / 100.0);
    let sdk_major = basic
        .and_then(|b| b.string_sdk_version)
        .and_then(|v| v.split('.').next()?.parse().ok());
    let join_seconds = raw
        .msg_path_enter_room
        .as_ref()
        .and_then(|e| span(e.uint64_start_time, e.uint64_end_time));
    let videos: Vec<RecvVideo> = raw
        .msg_path_recv_video
        .and_then(|v| serde_json::from_str(v.get()).ok())
        .unwrap_or_default();
    let first_frame_seconds = videos
        .iter()
        .filter_map(|v| span(v.uint64_start_enter_time, v.uint64_render_first_frame_time))
        .take(MAX_FIRST_FRAMES)
        .collect();
    let user_id = raw
        .msg_user_info
        .and_then(|u| u.str_identifier)
        .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
        .filter(|u| !u.is_empty() && u.len() <= MAX_USER_ID)
        .map(|u| crate::redact::redact_text(&u).into_owned());
    let session = match raw.msg_path_enter_room {
        None => Session::NoEnter,
        Some(e) if e.uint64_start_time == 0 => Session::NoEnter,
        Some(e) if e.int32_end_ret != 0 => Session::Failed(e.int32_end_ret),
        Some(e) if e.uint64_end_time != 0 => Session::Entered,
        // Begun, never ended: the page closed while entering.
        Some(_) => Session::Failed(0),
    };
    Ok(EndReport {
        sdk_app_id: raw.uint32_sdk_app_id.and_then(app_id),
        sdk_major,
        session,
        join_seconds,
        user_id,
        rtt_seconds: rtt_ms.map(|ms| ms / 1000.0),
        uplink_loss,
        first_frame_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_emoji_is_mended_and_the_upload_kept() {
        assert_eq!(mend_surrogates(r#""a\ud83d""#), r#""a\ufffd""#);
        assert_eq!(mend_surrogates(r#""\ude00b""#), r#""\ufffdb""#);
        assert_eq!(mend_surrogates(r#""\ud83d\ude00""#), r#""\ud83d\ude00""#);
        assert_eq!(
            mend_surrogates(r#""\\ud83d""#),
            r#""\\ud83d""#,
            "an escaped backslash"
        );
        let body = br#"{"sdkAppId":"1400000001","userId":"u","version":"5.17.1","log":"x \ud83d <ICE_TRANSPORT_ERROR 0x4003>"}"#;
        let up = log_upload(body).unwrap();
        assert_eq!(up.log, "x \u{fffd} <ICE_TRANSPORT_ERROR 0x4003>");
    }

    /// What the client chose is not trusted: a version that is no version
    /// number is left out, a credential in the user id replaced, a lone
    /// surrogate in a key mended; the records are kept.
    #[test]
    fn a_clients_odd_fields_cost_nothing() {
        let long = "1.2.".repeat(20);
        for v in ["notver", "", "1.0 SECRET", "\\ud83d", long.as_str()] {
            let b = format!(r#"{{"sdkAppId":"1","version":"{v}","log":"x"}}"#);
            let up = log_upload(b.as_bytes()).unwrap();
            assert_eq!(up.version, None, "{v}");
            assert_eq!(up.log, "x");
        }
        let b = br#"{"sdkAppId":"1","userId":"u userSig=eJwtjcEKgjAQRH9l2XMgMUjxWAj9gIfoIrJt1pJuYhNbIv9d0uvMvGHeaAtF","log":"x","k\ud83d":1}"#;
        let up = log_upload(b).unwrap();
        assert_eq!(up.user_id.as_deref(), Some("u userSig=[redacted]"));
    }

    #[test]
    fn a_log_upload_as_the_sdks_send_it() {
        let b = br#"{"timestamp":"11/30/2026, 8:40:56 AM","sdkAppId":"1400000001","userId":"alice","version":"5.17.1","log":"[08:40:56:462] <INFO> x\n[08:40:56:463] <ERROR> y"}"#;
        assert_eq!(
            log_upload(b).unwrap(),
            LogUpload {
                sdk_app_id: 1_400_000_001,
                user_id: Some("alice".into()),
                version: Some("5.17.1".into()),
                timestamp: Some("11/30/2026, 8:40:56 AM".into()),
                log: "[08:40:56:462] <INFO> x\n[08:40:56:463] <ERROR> y".into(),
            }
        );
        // A number is taken too, and unknown fields are skipped.
        let b = br#"{"sdkAppId":1400000001,"log":"x","extra":[1,2,{"a":3}]}"#;
        assert_eq!(log_upload(b).unwrap().sdk_app_id, 1_400_000_001);
    }

    #[test]
    fn wrong_uploads_are_named_never_quoted() {
        for (body, want) in [
            (&br#"{"log":"x"}"#[..], "no sdkAppId"),
            (
                br#"{"sdkAppId":"abc","log":"x"}"#,
                "sdkAppId must be a number",
            ),
            (br#"{"sdkAppId":"1","log":5}"#, "log must be a string"),
            (
                br#"{"sdkAppId":"1","log":"x","userId":{"a":"SECRET"}}"#,
                "userId must be a string",
            ),
            (br#"{"sdkAppId":"1"}"#, "no log"),
            (b"not json SECRET", "not JSON"),
            (br#"{"sdkAppId":"1","log":"SECRET"#, "cut short"),
            (br#"["SECRET"]"#, "not the expected shape"),
        ] {
            let e = log_upload(body).unwrap_err();
            assert!(e.contains(want), "{e}");
            assert!(!e.contains("SECRET"), "{e}");
        }
    }

    #[test]
    fn end_reports_tell_how_sessions_went() {
        let failed = br#"{"uint32_sdk_app_id":1400000001,"msg_basic_info":{"string_sdk_version":"5.17.1","uint32_avg_rtt":0,"uint32_avg_up_loss":0},"msg_user_info":{"str_identifier":"carol","uint64_tinyid":""},"msg_path_enter_room":{"uint64_start_time":1,"uint64_end_time":2,"int32_end_ret":16460},"msg_path_recv_video":[],"str_user_sig":"SECRET"}"#;
        assert_eq!(
            end_report(failed).unwrap(),
            EndReport {
                sdk_app_id: Some(1_400_000_001),
                sdk_major: Some(5),
                session: Session::Failed(16460),
                join_seconds: Some(0.001),
                user_id: Some("carol".into()),
                rtt_seconds: None,
                uplink_loss: None,
                first_frame_seconds: Vec::new(),
            }
        );
        // A session that went: its round trip, loss and first frames (one
        // remote video never drawn).
        let went = br#"{"msg_basic_info":{"uint32_avg_rtt":85,"uint32_avg_up_loss":3},"msg_path_enter_room":{"uint64_start_time":1765000000000,"uint64_end_time":1765000001000},"msg_path_recv_video":[{"uint64_start_enter_time":1765000000000,"uint64_render_first_frame_time":1765000002500},{"uint64_start_enter_time":1765000000000,"uint64_render_first_frame_time":0}]}"#;
        let r = end_report(went).unwrap();
        assert_eq!(
            (r.rtt_seconds, r.uplink_loss, r.first_frame_seconds),
            (Some(0.085), Some(0.03), vec![2.5])
        );
        // Odd quality fields are left out, never the report.
        let odd = br#"{"msg_basic_info":{"uint32_avg_rtt":"x","uint32_avg_up_loss":[1]},"msg_user_info":{"str_identifier":7},"msg_path_recv_video":{"a":1},"msg_path_enter_room":{"uint64_start_time":1,"uint64_end_time":2}}"#;
        let r = end_report(odd).unwrap();
        assert_eq!(
            (
                r.rtt_seconds,
                r.uplink_loss,
                r.user_id,
                r.first_frame_seconds.len()
            ),
            (None, None, None, 0)
        );
        let entered = br#"{"msg_path_enter_room":{"uint64_start_time":1765000000000,"uint64_end_time":1765000001250,"int32_end_ret":0}}"#;
        let r = end_report(entered).unwrap();
        assert_eq!((r.session, r.join_seconds), (Session::Entered, Some(1.25)));
        // Times the browser made up: no duration.
        for (start, end) in [(5u64, 2u64), (1, 3_600_002), (1_765_000_000_000, 0)] {
            let b = format!(
                r#"{{"msg_path_enter_room":{{"uint64_start_time":{start},"uint64_end_time":{end}}}}}"#
            );
            assert_eq!(end_report(b.as_bytes()).unwrap().join_seconds, None, "{b}");
        }
        let none = br#"{"msg_path_enter_room":{"uint64_start_time":0}}"#;
        assert_eq!(end_report(none).unwrap().session, Session::NoEnter);
        let e = end_report(br#"{"msg_path_enter_room":{"int32_end_ret":"SECRET"}}"#).unwrap_err();
        assert!(!e.contains("SECRET"), "{e}");
    }
}
