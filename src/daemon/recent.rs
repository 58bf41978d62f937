//! What the daemon's own pages show of each catalog key: its errors in
//! the last 5 minutes (per minute) and since start, the SDK versions and
//! browsers they came from (at most [`MAX_VALUES`] each, the rest
//! `other`), and a few recent events (at most [`MAX_SAMPLES`]: the first
//! of each key in each batch a source queues, their lines already redacted
//! and cut to [`MAX_LINE`] bytes). The same for each failure group (its
//! errors whatever the key and SDK version). Bounded by the catalog's keys
//! and groups; fed per emitter batch, never per event.

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
/// Recent errors kept per user.
pub const MAX_USER_EVENTS: usize = 10;

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

#[derive(Debug, Default)]
struct KeyNow {
    total: u64,
    /// (minute, errors), at `minute % 5`.
    minutes: [(u64, u64); 5],
    samples: VecDeque<Sample>,
    versions: Vec<(String, u64)>,
    browsers: Vec<(String, u64)>,
}

impl KeyNow {
    /// `n` errors in `minute`.
    fn add(&mut self, minute: u64, n: u64) {
        self.total += n;
        let slot = &mut self.minutes[(minute % 5) as usize];
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

    /// Its figures at `minute`.
    fn figures(&self, catalog: &str, key: &str, minute: u64) -> KeyFigures {
        KeyFigures {
            catalog: catalog.to_string(),
            key: key.to_string(),
            total: self.total,
            last_5m: self
                .minutes
                .iter()
                .filter(|(m, _)| *m + 5 > minute && *m <= minute)
                .map(|(_, n)| n)
                .sum(),
            samples: self.samples.iter().rev().cloned().collect(),
            versions: self.versions.clone(),
            browsers: self.browsers.clone(),
        }
    }
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
    pub samples: Vec<Sample>,
    pub versions: Vec<(String, u64)>,
    pub browsers: Vec<(String, u64)>,
}

/// One recent error of a user: its key, group and event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEvent {
    pub key: String,
    pub group: &'static str,
    pub sample: Sample,
}

/// The users seen lately, each with its last errors.
#[derive(Debug, Default)]
struct Users {
    by_id: HashMap<String, (u64, VecDeque<UserEvent>)>,
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
            users: Mutex::default(),
            clock,
        }
    }

    /// A recent error of `user`.
    pub(crate) fn user_event(&self, user: &str, e: UserEvent) {
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
        let (at, events) = u.by_id.entry(user.to_string()).or_default();
        *at = seen;
        if events.len() == MAX_USER_EVENTS {
            events.pop_front();
        }
        events.push_back(e);
    }

    /// `user`'s last errors, newest first, if the user was seen lately.
    pub fn user_events(&self, user: &str) -> Option<Vec<UserEvent>> {
        let u = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        u.by_id
            .get(user)
            .map(|(_, e)| e.iter().rev().cloned().collect())
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
