//! What the daemon's own pages show of each catalog key: its errors per
//! minute over the last hour (the last 5 minutes summed) and since start, the SDK versions and
//! browsers they came from (at most [`MAX_VALUES`] each, the rest
//! `other`), and a few recent events (at most [`MAX_SAMPLES`]: the first
//! of each key in each batch a source queues, their lines already redacted
//! and cut to [`MAX_LINE`] bytes). The same for each failure group (its
//! errors whatever the key and SDK version), and for join attempts by
//! result. Bounded by the catalog's keys and groups; fed per emitter
//! batch, never per event. The last errors and join attempts of the users
//! seen lately ([`MAX_USERS`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use super::clock::{SharedClock, SystemClock};

/// Recent events kept per key.
pub const MAX_SAMPLES: usize = 5;
/// Bytes of a sample's line kept.
pub const MAX_LINE: usize = 400;
/// Versions and browsers kept per key.
pub const MAX_VALUES: usize = 10;
/// Users whose recent errors are kept (the least recently seen go first).
pub const MAX_USERS: usize = 1000;
/// Recent errors kept per user, and join attempts.
pub const MAX_USER_EVENTS: usize = 10;
/// Minutes kept per key, group and join result (the charts' hour).
pub const MINUTES: usize = 60;

/// One recent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Its time (the line's, or when it was read).
    pub ts: String,
    pub user: Option<String>,
    pub room: Option<String>,
    pub version: Option<String>,
    pub browser: Option<String>,
    /// The record's text, redacted, at most [`MAX_LINE`] bytes.
    pub line: String,
    /// The records before it in its upload (redacted, bounded).
    pub breadcrumbs: Vec<String>,
}

impl Sample {
    /// A sample of `ev`.
    pub(crate) fn of(ev: &crate::event::Event<'_>) -> Self {
        let mut end = ev.line.len().min(MAX_LINE);
        while !ev.line.is_char_boundary(end) {
            end -= 1;
        }
        let c = &ev.context;
        Self {
            ts: ev.ts.to_string(),
            user: c.user_id.clone(),
            room: c.room_id.clone(),
            version: c.sdk_version.clone(),
            browser: c.browser.clone(),
            line: ev.line[..end].to_string(),
            breadcrumbs: ev.breadcrumbs.clone(),
        }
    }
}

#[derive(Debug)]
struct KeyNow {
    total: u64,
    /// (minute, errors), at `minute % MINUTES`.
    minutes: [(u64, u64); MINUTES],
    samples: VecDeque<Sample>,
    versions: Vec<(String, u64)>,
    browsers: Vec<(String, u64)>,
    /// The groups its errors fell in (a v5 key's by its cause).
    groups: Vec<(String, u64)>,
}

impl Default for KeyNow {
    fn default() -> Self {
        Self {
            total: 0,
            minutes: [(u64::MAX, 0); MINUTES],
            samples: VecDeque::new(),
            versions: Vec::new(),
            browsers: Vec::new(),
            groups: Vec::new(),
        }
    }
}

impl KeyNow {
    /// `n` errors in `minute`.
    fn add(&mut self, minute: u64, n: u64) {
        self.total += n;
        let slot = &mut self.minutes[(minute % MINUTES as u64) as usize];
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        slot.1 += n;
    }

    /// Keeps `s`, the oldest going past [`MAX_SAMPLES`].
    fn keep(&mut self, s: Sample) {
        if self.samples.len() == MAX_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(s);
    }

    /// Its count in each of the [`MINUTES`] minutes to `minute`, oldest first.
    fn per_minute(&self, minute: u64) -> Vec<u64> {
        (0..MINUTES as u64)
            .rev()
            .map(|ago| {
                let m = minute.saturating_sub(ago);
                let (at, n) = self.minutes[(m % MINUTES as u64) as usize];
                if at == m && ago <= minute { n } else { 0 }
            })
            .collect()
    }

    /// Its figures at `minute`.
    fn figures(&self, catalog: &str, key: &str, minute: u64) -> KeyFigures {
        let per_minute = self.per_minute(minute);
        KeyFigures {
            catalog: catalog.to_string(),
            key: key.to_string(),
            total: self.total,
            last_5m: per_minute[MINUTES - 5..].iter().sum(),
            per_minute,
            samples: self.samples.iter().rev().cloned().collect(),
            versions: self.versions.clone(),
            browsers: self.browsers.clone(),
            groups: self.groups.clone(),
        }
    }
}

/// Pushes `v`, the oldest going past [`MAX_USER_EVENTS`].
fn keep_last<T>(list: &mut VecDeque<T>, v: T) {
    if list.len() == MAX_USER_EVENTS {
        list.pop_front();
    }
    list.push_back(v);
}

fn bump(list: &mut Vec<(String, u64)>, value: &str, n: u64) {
    if let Some((_, c)) = list.iter_mut().find(|(v, _)| v == value) {
        *c += n;
    } else if list.len() < MAX_VALUES {
        list.push((value.to_string(), n));
    } else if let Some((_, c)) = list.iter_mut().find(|(v, _)| v == "other") {
        *c += n;
    } else if let Some(last) = list.last_mut() {
        // Full: the last slot becomes `other`, its count kept in it.
        last.0 = "other".into();
        last.1 += n;
    }
}

/// A key's figures for the pages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFigures {
    pub catalog: String,
    pub key: String,
    pub total: u64,
    pub last_5m: u64,
    /// Its count in each of the last [`MINUTES`] minutes, oldest first.
    pub per_minute: Vec<u64>,
    pub samples: Vec<Sample>,
    pub versions: Vec<(String, u64)>,
    pub browsers: Vec<(String, u64)>,
    /// The groups its errors fell in, with their counts.
    pub groups: Vec<(String, u64)>,
}

/// One recent error of a user: its key, group and event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEvent {
    pub key: String,
    pub group: &'static str,
    pub sample: Sample,
}

/// One join attempt of a user, as its end report told it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserJoin {
    /// When the report arrived (RFC 3339).
    pub ts: String,
    /// `entered` or `failed`.
    pub result: &'static str,
    /// The catalog key of the failure, if known.
    pub key: Option<String>,
    /// How long the attempt took, where it ended.
    pub seconds: Option<f64>,
}

/// A user's last errors and join attempts.
#[derive(Debug, Default)]
struct UserNow {
    events: VecDeque<UserEvent>,
    joins: VecDeque<UserJoin>,
}

/// The users seen lately, each with its last errors and joins.
#[derive(Debug, Default)]
struct Users {
    by_id: HashMap<String, (u64, UserNow)>,
    /// Arrivals, to find the least recently seen.
    seen: u64,
}

/// Every key's recent figures (see the module docs), every group's (its
/// errors whatever their key and SDK version, by the cause's group), and
/// the last errors of the users seen lately ([`MAX_USERS`], each
/// [`MAX_USER_EVENTS`]).
#[derive(Debug)]
pub struct Recent {
    keys: Mutex<HashMap<(String, String), KeyNow>>,
    groups: Mutex<HashMap<&'static str, KeyNow>>,
    joins: Mutex<HashMap<&'static str, KeyNow>>,
    users: Mutex<Users>,
    clock: SharedClock,
}

impl Default for Recent {
    fn default() -> Self {
        Self::with_clock(SystemClock::shared())
    }
}

impl Recent {
    /// Minute buckets timed by `clock`.
    pub fn with_clock(clock: SharedClock) -> Self {
        Self {
            keys: Mutex::default(),
            groups: Mutex::default(),
            joins: Mutex::default(),
            users: Mutex::default(),
            clock,
        }
    }

    /// `user`'s entry, made room for (the least recently seen goes).
    fn with_user<R>(&self, user: &str, f: impl FnOnce(&mut UserNow) -> R) -> R {
        let mut u = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        u.seen += 1;
        let seen = u.seen;
        if !u.by_id.contains_key(user) && u.by_id.len() >= MAX_USERS {
            // The least recently seen makes room (a scan, once per new user
            // beyond the bound).
            if let Some(old) = u
                .by_id
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
            {
                u.by_id.remove(&old);
            }
        }
        let (at, now) = u.by_id.entry(user.to_string()).or_default();
        *at = seen;
        f(now)
    }

    /// A recent error of `user`.
    pub(crate) fn user_event(&self, user: &str, e: UserEvent) {
        self.with_user(user, |u| keep_last(&mut u.events, e));
    }

    /// `user`'s last errors, newest first, if the user was seen lately.
    pub fn user_events(&self, user: &str) -> Option<Vec<UserEvent>> {
        let u = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        u.by_id
            .get(user)
            .map(|(_, u)| u.events.iter().rev().cloned().collect())
    }

    /// A join attempt, counted by result, and kept for its user if named.
    pub(crate) fn join(&self, user: Option<&str>, j: UserJoin) {
        let minute = self.clock.minute();
        self.joins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(j.result)
            .or_default()
            .add(minute, 1);
        if let Some(user) = user {
            self.with_user(user, |u| keep_last(&mut u.joins, j));
        }
    }

    /// `user`'s last join attempts, newest first (empty when none).
    pub fn user_joins(&self, user: &str) -> Vec<UserJoin> {
        let u = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        u.by_id
            .get(user)
            .map(|(_, u)| u.joins.iter().rev().cloned().collect())
            .unwrap_or_default()
    }

    /// Join attempts by result (`entered`, `failed`): in the last 5
    /// minutes and since start.
    pub fn join_figures(&self) -> Vec<(&'static str, u64, u64)> {
        let minute = self.clock.minute();
        let joins = self.joins.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<_> = joins
            .iter()
            .map(|(r, k)| {
                let f = k.figures("", r, minute);
                (*r, f.last_5m, f.total)
            })
            .collect();
        out.sort_unstable();
        out
    }

    fn with_group<R>(&self, group: &'static str, f: impl FnOnce(&mut KeyNow) -> R) -> R {
        let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        f(groups.entry(group).or_default())
    }

    /// `n` errors of `group` (one of [`crate::catalog::GROUPS`]).
    pub(crate) fn count_group(&self, group: &'static str, n: u64) {
        let minute = self.clock.minute();
        self.with_group(group, |k| k.add(minute, n));
    }

    /// A recent event of `group`.
    pub(crate) fn sample_group(&self, group: &'static str, s: Sample) {
        self.with_group(group, |k| k.keep(s));
    }

    /// `group`'s figures (its key is the group), if it had an error.
    pub fn group_figures(&self, group: &str) -> Option<KeyFigures> {
        let minute = self.clock.minute();
        let groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        groups.get(group).map(|k| k.figures("", group, minute))
    }

    fn with<R>(&self, catalog: &str, key: &str, f: impl FnOnce(&mut KeyNow) -> R) -> R {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let k = keys
            .entry((catalog.to_string(), key.to_string()))
            .or_default();
        f(k)
    }

    /// `n` errors of the key.
    pub(crate) fn count(&self, catalog: &str, key: &str, n: u64) {
        let minute = self.clock.minute();
        self.with(catalog, key, |k| k.add(minute, n));
    }

    /// `n` errors of the key in `group`.
    pub(crate) fn key_group(&self, catalog: &str, key: &str, group: &str, n: u64) {
        self.with(catalog, key, |k| bump(&mut k.groups, group, n));
    }

    /// `n` errors of the key from SDK `version`.
    pub(crate) fn version(&self, catalog: &str, key: &str, version: &str, n: u64) {
        self.with(catalog, key, |k| bump(&mut k.versions, version, n));
    }

    /// `n` errors of the key in `browser`.
    pub(crate) fn browser(&self, catalog: &str, key: &str, browser: &str, n: u64) {
        self.with(catalog, key, |k| bump(&mut k.browsers, browser, n));
    }

    /// A recent event of the key.
    pub(crate) fn sample(&self, catalog: &str, key: &str, s: Sample) {
        self.with(catalog, key, |k| k.keep(s));
    }

    /// Every key seen, most errors in the last 5 minutes first.
    pub fn figures(&self) -> Vec<KeyFigures> {
        let minute = self.clock.minute();
        let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<KeyFigures> = keys
            .iter()
            .map(|((catalog, key), k)| k.figures(catalog, key, minute))
            .collect();
        out.sort_by(|a, b| {
            b.last_5m
                .cmp(&a.last_5m)
                .then(b.total.cmp(&a.total))
                .then(a.key.cmp(&b.key))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sample at `ts`, nothing else known.
    fn sample(ts: String) -> Sample {
        Sample {
            ts,
            user: None,
            room: None,
            version: None,
            browser: None,
            line: String::new(),
            breadcrumbs: Vec::new(),
        }
    }

    #[test]
    fn counts_values_and_samples_stay_bounded() {
        let r = Recent::default();
        r.count("c", "ICE", 3);
        r.count("c", "ICE", 2);
        for i in 0..15 {
            r.version("c", "ICE", &format!("5.{i}.0"), 1);
        }
        for i in 0..8 {
            r.sample("c", "ICE", sample(i.to_string()));
        }
        let f = r.figures();
        assert_eq!((f[0].total, f[0].last_5m), (5, 5));
        assert_eq!(f[0].versions.len(), MAX_VALUES);
        assert_eq!(f[0].versions.iter().map(|v| v.1).sum::<u64>(), 15);
        assert!(f[0].versions.iter().any(|(v, _)| v == "other"));
        assert_eq!(f[0].samples.len(), MAX_SAMPLES);
        assert_eq!(f[0].samples[0].ts, "7", "newest first");
    }

    #[test]
    fn users_and_their_events_stay_bounded() {
        let r = Recent::default();
        let ev = |n: usize| UserEvent {
            key: format!("K{n}"),
            group: "media_connection",
            sample: sample(n.to_string()),
        };
        for n in 0..15 {
            r.user_event("carol", ev(n));
        }
        let carol = r.user_events("carol").unwrap();
        assert_eq!(carol.len(), MAX_USER_EVENTS);
        assert_eq!(carol[0].key, "K14", "newest first");
        for n in 0..MAX_USERS {
            r.user_event(&format!("u{n}"), ev(n));
        }
        // carol was the least recently seen: she made room for the last.
        assert!(r.user_events("carol").is_none());
        assert!(r.user_events("u0").is_some());
        assert_eq!(r.users.lock().unwrap().by_id.len(), MAX_USERS);
    }

    #[test]
    fn an_hour_of_minutes_for_the_charts_and_joins_by_result() {
        let clock = crate::daemon::clock::ManualClock::at(6_000_000);
        let r = Recent::with_clock(clock.clone());
        r.count_group("signaling", 2);
        clock.advance(std::time::Duration::from_secs(60));
        r.count_group("signaling", 1);
        let f = r.group_figures("signaling").unwrap();
        assert_eq!(f.per_minute.len(), MINUTES);
        assert_eq!(f.per_minute[MINUTES - 2..], [2, 1]);
        clock.advance(std::time::Duration::from_secs(59 * 60));
        let f = r.group_figures("signaling").unwrap();
        assert_eq!(
            (f.per_minute.iter().sum::<u64>(), f.per_minute[0], f.total),
            (1, 1, 3)
        );
        clock.advance(std::time::Duration::from_secs(60));
        assert_eq!(
            r.group_figures("signaling")
                .unwrap()
                .per_minute
                .iter()
                .sum::<u64>(),
            0
        );
        let join = |result| UserJoin {
            ts: String::new(),
            result,
            key: None,
            seconds: None,
        };
        for _ in 0..15 {
            r.join(Some("carol"), join("failed"));
        }
        r.join(None, join("entered"));
        assert_eq!(r.join_figures(), [("entered", 1, 1), ("failed", 15, 15)]);
        assert_eq!(r.user_joins("carol").len(), MAX_USER_EVENTS);
        assert!(r.user_events("carol").unwrap().is_empty());
    }

    #[test]
    fn the_last_five_minutes_move_with_the_clock() {
        let clock = crate::daemon::clock::ManualClock::at(6_000_000);
        let r = Recent::with_clock(clock.clone());
        r.count("c", "ICE", 3);
        clock.advance(std::time::Duration::from_secs(180));
        r.count("c", "ICE", 1);
        assert_eq!(r.figures()[0].last_5m, 4);
        clock.advance(std::time::Duration::from_secs(150));
        assert_eq!(r.figures()[0].last_5m, 1, "the first minute is out");
        clock.advance(std::time::Duration::from_secs(300));
        let f = r.figures();
        assert_eq!((f[0].last_5m, f[0].total), (0, 4));
    }
}
