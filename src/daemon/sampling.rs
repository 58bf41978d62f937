//! Storm sampling of events (`events.max_per_key`): at most `rate` events
//! per source and key in each window of `per`; the others are not written
//! but counted, and the next event written for that key says how many were
//! left out before it. Metrics count every error whatever is sampled.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::clock::SharedClock;

/// Events allowed per source and key in each window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Events written per window.
    pub rate: u32,
    /// The window.
    pub per: Duration,
}

#[derive(Debug)]
struct Window {
    start: Instant,
    written: u32,
    suppressed: u64,
}

/// What to do with one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Write it; `Some(n)`: `n` events of its key were left out before it.
    Write(Option<u64>),
    /// Leave it out (counted).
    Suppress,
}

/// The windows of every (source, key) seen.
#[derive(Debug)]
pub struct Sampler {
    limit: Rate,
    clock: SharedClock,
    /// Source → key → window (looked up by `&str`: no allocation per event).
    windows: Mutex<HashMap<String, HashMap<String, Window>>>,
}

impl Sampler {
    /// A sampler that lets `limit.rate` events per `limit.per` through,
    /// its windows timed by `clock`.
    pub fn with_clock(limit: Rate, clock: SharedClock) -> Self {
        Self {
            limit,
            clock,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Decides for one event of `key` from `source` now.
    pub fn admit(&self, source: &str, key: &str) -> Verdict {
        self.admit_at(source, key, self.clock.instant())
    }

    /// Decides for one event of `key` from `source` at `now`.
    fn admit_at(&self, source: &str, key: &str, now: Instant) -> Verdict {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if !windows.contains_key(source) {
            windows.insert(source.to_string(), HashMap::new());
        }
        let Some(keys) = windows.get_mut(source) else {
            return Verdict::Write(None);
        };
        if !keys.contains_key(key) {
            keys.insert(
                key.to_string(),
                Window {
                    start: now,
                    written: 0,
                    suppressed: 0,
                },
            );
        }
        let Some(w) = keys.get_mut(key) else {
            return Verdict::Write(None);
        };
        if now.duration_since(w.start) >= self.limit.per {
            w.start = now;
            w.written = 0;
        }
        if w.written >= self.limit.rate {
            w.suppressed += 1;
            return Verdict::Suppress;
        }
        w.written += 1;
        let before = std::mem::take(&mut w.suppressed);
        Verdict::Write((before > 0).then_some(before))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_per_window_and_the_count_left_out() {
        let s = Sampler::with_clock(
            Rate {
                rate: 2,
                per: Duration::from_secs(1),
            },
            crate::daemon::clock::SystemClock::shared(),
        );
        let t = Instant::now();
        assert_eq!(s.admit_at("a", "K", t), Verdict::Write(None));
        assert_eq!(s.admit_at("a", "K", t), Verdict::Write(None));
        assert_eq!(s.admit_at("a", "K", t), Verdict::Suppress);
        assert_eq!(s.admit_at("a", "K", t), Verdict::Suppress);
        assert_eq!(s.admit_at("b", "K", t), Verdict::Write(None), "per source");
        assert_eq!(s.admit_at("a", "J", t), Verdict::Write(None), "per key");
        let later = t + Duration::from_secs(1);
        assert_eq!(s.admit_at("a", "K", later), Verdict::Write(Some(2)));
        assert_eq!(s.admit_at("a", "K", later), Verdict::Write(None));
    }

    #[test]
    fn windows_follow_the_clock() {
        let clock = crate::daemon::clock::ManualClock::at(0);
        let s = Sampler::with_clock(
            Rate {
                rate: 1,
                per: Duration::from_secs(2),
            },
            clock.clone(),
        );
        assert_eq!(s.admit("a", "K"), Verdict::Write(None));
        assert_eq!(s.admit("a", "K"), Verdict::Suppress);
        clock.advance(Duration::from_millis(1999));
        assert_eq!(s.admit("a", "K"), Verdict::Suppress);
        clock.advance(Duration::from_millis(1));
        assert_eq!(s.admit("a", "K"), Verdict::Write(Some(2)));
    }
}
