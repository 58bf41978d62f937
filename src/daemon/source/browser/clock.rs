//! When an uploaded record happened. The SDK stamps a log upload with the
//! browser's local date and time (`timestamp`: `Date.toLocaleString()`, in
//! the browser's locale: `12/7/2026, 3:39:11 PM`, `2026/12/7 15:39:11`,
//! `07/12/2026, 15:39:11`, `2026. 12. 7. 오후 3:39:11`) and each record
//! with its local time of day (`[15:39:11:123]`; SDK 4.10 and older, the
//! local date and time as the timestamp). Neither names its zone, and both
//! use the SDK's clock corrected by the server's time. So the zone is
//! the body's local time minus the arrival, to the nearest quarter hour
//! (every zone in use is a whole number of quarter hours from UTC; the
//! upload's delay on the way is absorbed while under 7.5 minutes); a
//! record's time of day is the last such moment at or before the upload.
//! A body whose time cannot be read, or is more than 14 hours from the
//! arrival, gives no record a time: its events keep their arrival.

use jiff::civil::{Date, DateTime, Time};
use jiff::{SignedDuration, Timestamp, tz::TimeZone};

/// The furthest a zone is from UTC (UTC+14, Kiribati).
const MAX_OFFSET_SECS: i64 = 14 * 3600;
/// Every zone in use is a whole number of these from UTC.
const QUARTER_HOUR: i64 = 900;
/// How far after the body's time a record may be (records are stamped
/// before their upload; a little slack for the clock's correction).
const AHEAD: SignedDuration = SignedDuration::from_secs(120);
/// The longest record prefix read (`[12/31/2026, 11:59:59 PM]`).
const MAX_PREFIX: usize = 40;

/// The zone and local time of one upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UploadClock {
    /// The browser's local time minus UTC.
    offset: SignedDuration,
    /// The upload's local date and time, as the body says it.
    local: DateTime,
}

impl UploadClock {
    /// The clock of an upload stamped `body_time` (its `timestamp`) that
    /// arrived at `arrival`; `None` when the stamp cannot be read as a
    /// local time within 14 hours of the arrival.
    pub(crate) fn of(body_time: &str, arrival: Timestamp) -> Option<Self> {
        let utc = TimeZone::UTC.to_datetime(arrival);
        let local = local_datetime(body_time, utc)?;
        let ahead = local.duration_since(utc).as_secs();
        let offset = (ahead as f64 / QUARTER_HOUR as f64).round() as i64 * QUARTER_HOUR;
        (offset.abs() <= MAX_OFFSET_SECS).then_some(Self {
            offset: SignedDuration::from_secs(offset),
            local,
        })
    }

    /// When the record whose first line is `line` happened, from its
    /// `[time]` prefix; `None` without one.
    pub(crate) fn record_time(&self, line: &[u8]) -> Option<Timestamp> {
        let rest = line.strip_prefix(b"[")?;
        let end = rest.iter().take(MAX_PREFIX).position(|&b| b == b']')?;
        let prefix = std::str::from_utf8(&rest[..end]).ok()?;
        let local = if prefix.contains(['/', '.', '-']) {
            local_datetime(prefix, self.local)?
        } else {
            self.last_at(time_of_day(prefix)?)?
        };
        let utc = local.checked_sub(self.offset).ok()?;
        TimeZone::UTC.to_timestamp(utc).ok()
    }

    /// The last local moment at `tod` at or before the upload (with
    /// [`AHEAD`] of slack).
    fn last_at(&self, tod: Time) -> Option<DateTime> {
        let latest = self.local.checked_add(AHEAD).ok()?;
        let same_day = latest.date().to_datetime(tod);
        if same_day <= latest {
            Some(same_day)
        } else {
            Some(latest.date().yesterday().ok()?.to_datetime(tod))
        }
    }
}

/// `HH:MM:SS:mmm` or `HH:MM:SS`.
fn time_of_day(s: &str) -> Option<Time> {
    let n = numbers(s)?;
    if !(3..=4).contains(&n.len) {
        return None;
    }
    let ms = if n.len == 4 { n.v[3] } else { 0 };
    time(n.v[0], n.v[1], n.v[2], ms)
}

/// A locale's date and time (`toLocaleString`), read in the day order
/// that puts it nearest `near`: `M/D/Y` or `D/M/Y` (or `D.M.Y`) when the
/// year is last, `Y/M/D` when first; a 12-hour clock by its marker
/// (`AM`/`PM`, `午前`/`午後`, `上午`/`下午`, `오전`/`오후`).
fn local_datetime(s: &str, near: DateTime) -> Option<DateTime> {
    let n = numbers(s)?;
    if n.len < 6 {
        return None;
    }
    let v = n.v;
    let pm = ["PM", "pm", "p.m.", "午後", "下午", "오후"]
        .iter()
        .any(|m| s.contains(m));
    let am = ["AM", "am", "a.m.", "午前", "上午", "오전"]
        .iter()
        .any(|m| s.contains(m));
    let hour = match (v[3], pm, am) {
        (12, false, true) => 0,
        (h, true, false) if h < 12 => h + 12,
        (h, _, _) => h,
    };
    let t = time(hour, v[4], v[5], 0)?;
    let orders: &[(usize, usize, usize)] = if v[0] > 31 {
        &[(0, 1, 2)]
    } else {
        &[(2, 0, 1), (2, 1, 0)]
    };
    orders
        .iter()
        .filter_map(|&(y, m, d)| {
            let date = Date::new(
                i16::try_from(v[y]).ok()?,
                i8::try_from(v[m]).ok()?,
                i8::try_from(v[d]).ok()?,
            )
            .ok()?;
            Some(date.to_datetime(t))
        })
        .filter(|dt| dt.duration_since(near).as_secs().abs() <= MAX_OFFSET_SECS + 3600)
        .min_by_key(|dt| dt.duration_since(near).as_secs().abs())
}

fn time(h: u32, m: u32, s: u32, ms: u32) -> Option<Time> {
    Time::new(
        i8::try_from(h).ok()?,
        i8::try_from(m).ok()?,
        i8::try_from(s).ok()?,
        i32::try_from(ms.min(999) * 1_000_000).ok()?,
    )
    .ok()
}

/// Up to 7 runs of ASCII digits (each at most 4 digits).
struct Numbers {
    v: [u32; 7],
    len: usize,
}

fn numbers(s: &str) -> Option<Numbers> {
    let mut n = Numbers { v: [0; 7], len: 0 };
    for run in s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|r| !r.is_empty())
    {
        if n.len == n.v.len() || run.len() > 4 {
            return None;
        }
        n.v[n.len] = run.parse().ok()?;
        n.len += 1;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_zone_is_the_body_time_minus_the_arrival_in_quarter_hours() {
        let arrival = at("2026-12-07T06:39:14.500Z");
        for (body, hours) in [
            ("12/7/2026, 3:39:11 PM", 9),     // Tokyo, en-US
            ("2026/12/7 15:39:11", 9),        // Tokyo, ja-JP
            ("07/12/2026, 06:39:11", 0),      // London, en-GB (day first)
            ("6.12.2026, 20:39:11", -10),     // Honolulu, de-DE, the day before
            ("2026. 12. 7. 오후 3:39:11", 9), // Seoul, ko-KR
            ("12/7/2026, 12:09:11 PM", 5),    // Kolkata is +5:30
        ] {
            let c = UploadClock::of(body, arrival).unwrap();
            let want = if body.contains("12:09") {
                5 * 3600 + 1800
            } else {
                hours * 3600
            };
            assert_eq!(c.offset.as_secs(), want, "{body}");
        }
        // Not a time, or a clock a day off: no zone.
        assert_eq!(UploadClock::of("yesterday", arrival), None);
        assert_eq!(UploadClock::of("12/9/2026, 3:39:11 PM", arrival), None);
    }

    #[test]
    fn a_record_happened_at_its_time_of_day_before_the_upload() {
        let arrival = at("2026-12-07T06:39:14Z");
        let c = UploadClock::of("12/7/2026, 3:39:11 PM", arrival).unwrap();
        let t = |line: &str| c.record_time(line.as_bytes()).map(|t| t.to_string());
        assert_eq!(
            t("[15:39:05:042] <ERROR> x").as_deref(),
            Some("2026-12-07T06:39:05.042Z")
        );
        // Before local midnight: the day before.
        assert_eq!(
            t("[23:59:59:999] <INFO> x").as_deref(),
            Some("2026-12-06T14:59:59.999Z")
        );
        // SDK 4.10: the local date and time.
        assert_eq!(
            t("[12/7/2026, 3:38:00 PM] <ERROR>: x").as_deref(),
            Some("2026-12-07T06:38:00Z")
        );
        for line in [
            "no prefix",
            "[↑t1|alice] x",
            "[99:00:00:000] x",
            "[15:39:05:042 <ERROR>",
        ] {
            assert_eq!(t(line), None, "{line}");
        }
    }
}
