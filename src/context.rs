//! Context lifted from an error line: userId, roomId, sdkAppId, SDK version
//! and the line's own timestamp. JSON lines are parsed (borrowing from the
//! line) only once the matcher has found an error on them; other lines are
//! read for `key=value`, `"key":value` and the SDK's `[c1|userId]` prefix.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Fields lifted into an event's `context`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Context {
    /// The user (`userId`, `uid`, or the SDK prefix's id).
    #[serde(rename = "userId", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// `roomId` or `strRoomId` (or `room`).
    #[serde(rename = "roomId", skip_serializing_if = "Option::is_none")]
    pub room_id: Option<String>,
    /// The TRTC application id.
    #[serde(rename = "sdkAppId", skip_serializing_if = "Option::is_none")]
    pub sdk_app_id: Option<String>,
    /// SDK version (`version`, `sdkVersion`, `sdk: trtc-sdk-v5@5.17.1`).
    #[serde(rename = "sdkVersion", skip_serializing_if = "Option::is_none")]
    pub sdk_version: Option<String>,
    /// Browser or user agent, where the app logs one (the browser endpoint:
    /// family and major version from the upload's User-Agent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    /// Operating system (the browser endpoint: from the upload's
    /// User-Agent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
}

impl Context {
    /// Major version from `sdk_version` (`4.15.22` → 4).
    pub fn sdk_major(&self) -> Option<u32> {
        let v = self.sdk_version.as_deref()?;
        v.split('.').next()?.trim_start_matches('v').parse().ok()
    }

    fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The fields `known` has replace these (what an upload's body says
    /// about its user, app and SDK outranks what a line says).
    pub fn overlay(&mut self, known: &Context) {
        for (mine, theirs) in [
            (&mut self.user_id, &known.user_id),
            (&mut self.room_id, &known.room_id),
            (&mut self.sdk_app_id, &known.sdk_app_id),
            (&mut self.sdk_version, &known.sdk_version),
            (&mut self.browser, &known.browser),
            (&mut self.os, &known.os),
        ] {
            if theirs.is_some() {
                mine.clone_from(theirs);
            }
        }
    }
}

/// What [`lift`] found: context, the timestamp text, and whether a JSON
/// object on the line failed to parse.
#[derive(Debug, Default)]
pub struct Lifted {
    /// Context fields.
    pub context: Context,
    /// The line's own timestamp, if recognised.
    pub ts: Option<jiff::Timestamp>,
    /// True when the line looked like JSON but did not parse.
    pub bad_json: bool,
}

const MAX_DEPTH: usize = 4;

/// Lifts context and timestamp from one line.
pub fn lift(line: &str) -> Lifted {
    let mut out = Lifted::default();
    let trimmed = line.trim_end();
    if trimmed.ends_with('}')
        && let Some(start) = trimmed.find('{')
    {
        match serde_json::from_str::<Members<'_>>(&trimmed[start..]) {
            Ok(map) => json_fields(&map, &mut out, 0),
            Err(_) => out.bad_json = start == 0,
        }
    }
    text_fields(line, &mut out.context);
    if out.ts.is_none() {
        out.ts = leading_timestamp(line);
    }
    if out.context.is_empty() {
        out.context = Context::default();
    }
    out
}

/// A JSON string, borrowed from the line unless it holds escapes (a bare
/// `Cow<str>` is always deserialised as a copy).
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// A JSON object's members in the line's order, their values unparsed: the
/// first of the names for one field wins (no hashing, no map).
struct Members<'a>(Vec<(Text<'a>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(m) = map.next_entry()? {
                    members.push(m);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Visit)
    }
}

fn scalar(v: &RawValue) -> Option<Cow<'_, str>> {
    let s = v.get();
    match s.as_bytes().first()? {
        b'"' => serde_json::from_str::<Text<'_>>(s).ok().map(|t| t.0),
        b'-' | b'0'..=b'9' => Some(Cow::Borrowed(s)),
        _ => None,
    }
}

fn set(slot: &mut Option<String>, v: Option<Cow<'_, str>>) {
    if slot.is_none()
        && let Some(v) = v.filter(|v| !v.is_empty())
    {
        // At most 256 characters: a value of at most 256 bytes has no more.
        let end = if v.len() <= 256 {
            v.len()
        } else {
            v.char_indices().nth(256).map_or(v.len(), |(i, _)| i)
        };
        *slot = Some(match v {
            Cow::Owned(mut s) => {
                s.truncate(end);
                s
            }
            Cow::Borrowed(s) => s[..end].to_owned(),
        });
    }
}

fn json_fields(map: &Members<'_>, out: &mut Lifted, depth: usize) {
    let c = &mut out.context;
    for (k, v) in &map.0 {
        match k.0.as_ref() {
            "userId" | "user_id" | "uid" => set(&mut c.user_id, scalar(v)),
            "roomId" | "strRoomId" | "room_id" | "room" => set(&mut c.room_id, scalar(v)),
            "sdkAppId" | "sdkappid" | "SDKAppID" => set(&mut c.sdk_app_id, scalar(v)),
            "version" | "sdkVersion" | "sdk_version" => set(&mut c.sdk_version, scalar(v)),
            "sdk" => set(
                &mut c.sdk_version,
                scalar(v).map(|s| match s.rsplit_once('@') {
                    Some((_, ver)) => Cow::Owned(ver.to_string()),
                    None => s,
                }),
            ),
            "browser" | "userAgent" | "ua" => set(&mut c.browser, scalar(v)),
            "ts" | "time" | "timestamp" | "@timestamp" | "date" if out.ts.is_none() => {
                out.ts = scalar(v).and_then(|s| parse_timestamp(&s));
            }
            _ => {}
        }
    }
    if depth < MAX_DEPTH {
        for (_, v) in &map.0 {
            if v.get().starts_with('{')
                && let Ok(inner) = serde_json::from_str::<Members<'_>>(v.get())
            {
                json_fields(&inner, out, depth + 1);
            }
        }
    }
}

/// The names of `name=value`, `name: value` and `"name":"value"` fields
/// lifted from a line, in [`kv_fields`]'s order.
const KV_NAMES: [&str; 5] = ["userId", "roomId", "strRoomId", "sdkAppId", "sdkappid"];

/// `name=value`, `name: value`, `"name":"value"` anywhere on the line:
/// for each of [`KV_NAMES`], the value of its first such field. One pass
/// over the line's `=` and `:`, each looked at backwards for a name that
/// ends there (every name ends in `d`): five searches of the whole line
/// were 7 % of a storm.
fn kv_fields(line: &str) -> [Option<&str>; 5] {
    /// Every name holds `Id` but `sdkappid`, which holds `appid`: most
    /// lines hold neither, and are done after two quick searches.
    static HINTS: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 2]> =
        std::sync::LazyLock::new(|| {
            [
                memchr::memmem::Finder::new("Id"),
                memchr::memmem::Finder::new("appid"),
            ]
        });
    let mut out = [None; 5];
    let b = line.as_bytes();
    if HINTS.iter().all(|f| f.find(b).is_none()) {
        return out;
    }
    for p in memchr::memchr2_iter(b'=', b':', b) {
        // The name ends before the quotes that may close it.
        let mut q = p;
        while q > 0 && matches!(b[q - 1], b'"' | b'\'') {
            q -= 1;
        }
        if q == 0 || b[q - 1] != b'd' {
            continue;
        }
        for (slot, name) in out.iter_mut().zip(KV_NAMES) {
            if slot.is_some() || !b[..q].ends_with(name.as_bytes()) {
                continue;
            }
            let at = q - name.len();
            if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_') {
                continue;
            }
            let rest = line[p + 1..].trim_start().trim_start_matches(['"', '\'']);
            let end = rest
                .find(|c: char| {
                    matches!(c, '"' | '\'' | ',' | '&' | '}' | ']' | ')') || c.is_whitespace()
                })
                .unwrap_or(rest.len());
            if end > 0 {
                *slot = Some(&rest[..end]);
            }
        }
    }
    out
}

fn text_fields<'a>(line: &'a str, c: &mut Context) {
    let own = |s: &'a str| Some(Cow::Borrowed(s));
    let [user, room, str_room, app, app_lower] = kv_fields(line);
    if c.user_id.is_none() {
        // SDK console prefix: `<ERROR> [↑c1|alice]`.
        if let Some(p) = crate::bytes::find(line.as_bytes(), b"> [") {
            let rest = &line[p + 3..];
            if let Some(close) = memchr::memchr(b']', &rest.as_bytes()[..rest.len().min(96)])
                && let Some((_, id)) = rest[..close].split_once('|')
            {
                set(&mut c.user_id, own(id));
            }
        }
        set(&mut c.user_id, user.and_then(own));
    }
    set(&mut c.room_id, room.or(str_room).and_then(own));
    set(&mut c.sdk_app_id, app.or(app_lower).and_then(own));
}

/// Parses the timestamp forms apps and collectors write: RFC 3339 (with or
/// without zone; none means UTC), `2024/5/13 20:41:09`, `5/13/2024, 8:40:02 PM`,
/// and Unix time in seconds or milliseconds.
pub fn parse_timestamp(s: &str) -> Option<jiff::Timestamp> {
    let s = s.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t);
    }
    if s.bytes().all(|b| b.is_ascii_digit()) && (10..=13).contains(&s.len()) {
        let n: i64 = s.parse().ok()?;
        return if s.len() == 13 {
            jiff::Timestamp::from_millisecond(n).ok()
        } else {
            jiff::Timestamp::from_second(n).ok()
        };
    }
    let nums: Vec<i64> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .take(7)
        .map(|p| p.parse().unwrap_or(-1))
        .collect();
    if nums.len() < 6 {
        return None;
    }
    let pm = s.ends_with("PM");
    let (y, mo, d) = if nums[0] > 31 {
        (nums[0], nums[1], nums[2])
    } else {
        (nums[2], nums[0], nums[1])
    };
    let mut h = nums[3];
    if pm && h < 12 {
        h += 12;
    } else if s.ends_with("AM") && h == 12 {
        h = 0;
    }
    let ms = if nums.len() > 6 && !pm && !s.ends_with("AM") {
        nums[6]
    } else {
        0
    };
    let dt = jiff::civil::DateTime::new(
        i16::try_from(y).ok()?,
        i8::try_from(mo).ok()?,
        i8::try_from(d).ok()?,
        i8::try_from(h).ok()?,
        i8::try_from(nums[4]).ok()?,
        i8::try_from(nums[5]).ok()?,
        i32::try_from(ms.clamp(0, 999) * 1_000_000).ok()?,
    )
    .ok()?;
    jiff::tz::TimeZone::UTC.to_timestamp(dt).ok()
}

/// A timestamp at the very start of the line (a collector's or app's
/// prefix): `2024-05-13T12:41:21.730Z ...`, `2024/05/13 20:41:13 [error] ...`.
fn leading_timestamp(line: &str) -> Option<jiff::Timestamp> {
    let b = line.as_bytes();
    if b.len() < 19 || !b[..4].iter().all(u8::is_ascii_digit) || !matches!(b[4], b'-' | b'/') {
        return None;
    }
    let end = line
        .char_indices()
        .skip(10)
        .find(|&(i, c)| c == ' ' && i > 10 || c == ']' || c == ',')
        .map_or(line.len(), |(i, _)| i);
    let head = &line[..end];
    parse_timestamp(head).or_else(|| line.get(..19).and_then(parse_timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The search [`kv_fields`] replaced, name by name over the whole line:
    /// the oracle it is checked against.
    fn find_kv<'a>(line: &'a str, names: &[&str]) -> Option<&'a str> {
        for name in names {
            let mut from = 0;
            while let Some(p) = line[from..].find(name) {
                let at = from + p;
                from = at + name.len();
                let before = line[..at].bytes().last();
                if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    continue;
                }
                let rest = line[from..].trim_start_matches(['"', '\'']);
                let Some(rest) = rest.strip_prefix([':', '=']) else {
                    continue;
                };
                let rest = rest.trim_start().trim_start_matches(['"', '\'']);
                let end = rest
                    .find(|c: char| {
                        matches!(c, '"' | '\'' | ',' | '&' | '}' | ']' | ')') || c.is_whitespace()
                    })
                    .unwrap_or(rest.len());
                if end > 0 {
                    return Some(&rest[..end]);
                }
            }
        }
        None
    }

    #[test]
    fn kv_fields_find_what_a_search_for_each_name_finds() {
        let parts = [
            "userId",
            "roomId",
            "strRoomId",
            "sdkAppId",
            "sdkappid",
            "xuserId",
            "_roomId",
            "=",
            ":",
            "\"",
            "'",
            " ",
            "a1",
            "é",
            "}",
            ",",
            "&",
            "userId=",
            "roomId\":",
            "::",
            "==",
            "d",
            "Id",
            "sdkApp",
            "\t",
        ];
        // A fixed pseudo-random walk: reproducible, no extra crate.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut line = String::new();
            for _ in 0..(x % 12) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                line.push_str(parts[(x % parts.len() as u64) as usize]);
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let got = kv_fields(&line);
            for (i, name) in KV_NAMES.iter().enumerate() {
                assert_eq!(got[i], find_kv(&line, &[name]), "{name} in {line:?}");
            }
        }
        let l = r#"{"roomId":"r1","userId": "u 2","sdkAppId":1400000001} strRoomId='s3'"#;
        assert_eq!(
            kv_fields(l),
            [Some("u"), Some("r1"), Some("s3"), Some("1400000001"), None]
        );
    }

    #[test]
    fn json_names_in_line_order_escapes_and_long_values() {
        // Two names for one field: the first on the line wins, every time.
        let l = lift(r#"{"uid":"first","userId":"second","room":"r\"1"}"#);
        assert_eq!(l.context.user_id.as_deref(), Some("first"));
        assert_eq!(l.context.room_id.as_deref(), Some("r\"1"));
        // An escaped name is still that name; the line is good JSON.
        let l = lift(r#"{"user\u0049d":"alice"}"#);
        assert_eq!(l.context.user_id.as_deref(), Some("alice"));
        assert!(!l.bad_json);
        // Values are cut at 256 characters, not bytes.
        let long = "é".repeat(300);
        let l = lift(&format!(r#"{{"userId":"{long}"}}"#));
        assert_eq!(l.context.user_id.map(|u| u.chars().count()), Some(256));
        let l = lift(&format!("userId={long}"));
        assert_eq!(l.context.user_id.map(|u| u.chars().count()), Some(256));
    }

    #[test]
    fn json_nested_fields() {
        let l = lift(
            r#"{"level":50,"time":1715608931873,"userId":"alice","strRoomId":"class-16387","sdk":"trtc-sdk-v5@5.17.1","err":{"name":"OPERATION_FAILED","code":5500}}"#,
        );
        assert_eq!(l.context.user_id.as_deref(), Some("alice"));
        assert_eq!(l.context.room_id.as_deref(), Some("class-16387"));
        assert_eq!(l.context.sdk_major(), Some(5));
        assert_eq!(l.ts.unwrap().to_string(), "2024-05-13T14:02:11.873Z");
    }

    #[test]
    fn sdk_prefix_and_kv() {
        let l = lift("[09:14:02:338] <ERROR> [↑s1|alice] x code=0x4043 roomId=8801");
        assert_eq!(l.context.user_id.as_deref(), Some("alice"));
        assert_eq!(l.context.room_id.as_deref(), Some("8801"));
        assert!(l.ts.is_none());
    }

    #[test]
    fn timestamps() {
        for (s, want) in [
            ("2024/5/13 20:41:09", "2024-05-13T20:41:09Z"),
            ("5/13/2024, 8:40:02 PM", "2024-05-13T20:40:02Z"),
            ("2024-05-13T12:41:21.730Z", "2024-05-13T12:41:21.73Z"),
        ] {
            assert_eq!(parse_timestamp(s).unwrap().to_string(), want, "{s}");
        }
        let l = lift("2024/05/13 20:41:13 [error] 2211#2211: *70001 x");
        assert_eq!(l.ts.unwrap().to_string(), "2024-05-13T20:41:13Z");
    }

    #[test]
    fn multibyte_text_near_a_timestamp_prefix_does_not_panic() {
        for l in [
            "2024-ééééééééééééééé code: 70001",
            "2024/↑↑↑↑↑↑↑↑↑ <ICE_TRANSPORT_ERROR 0x4003>",
            "2024-05-13T12:41:2↑ x",
            "{\"ts\":\"2024-05-13T12:41:21.730Z\",\"userId\":\"é\"",
            "[↑c1|] <ERROR> > [|] userId=",
        ] {
            let _ = lift(l);
        }
    }

    #[test]
    fn broken_json_is_flagged_not_fatal() {
        let l = lift(r#"{"code":16387, "userId":"a"  oops}"#);
        assert!(l.bad_json);
        assert_eq!(l.context.user_id.as_deref(), Some("a"));
    }
}
