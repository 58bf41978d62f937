//! The daemon's clock for its time windows: affected users (minute
//! buckets), the pages' recent figures (minute buckets) and storm sampling
//! (windows of `per`). The daemon runs on [`SystemClock`]; tests move a
//! [`ManualClock`] by hand, so no test of a window sleeps through it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, on a monotonic clock (the length of a window).
    fn instant(&self) -> Instant;
    /// Now, in whole seconds since the Unix epoch (the minute a bucket is).
    fn unix_secs(&self) -> u64;

    /// Now, in whole minutes since the Unix epoch.
    fn minute(&self) -> u64 {
        self.unix_secs() / 60
    }
}

/// A shared clock.
pub type SharedClock = Arc<dyn Clock>;

/// The clock of the machine.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl SystemClock {
    /// The machine's clock, shared.
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    fn instant(&self) -> Instant {
        Instant::now()
    }

    fn unix_secs(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock that moves only when told ([`ManualClock::advance`]).
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    unix_start: u64,
    moved: Mutex<Duration>,
}

impl ManualClock {
    /// A clock standing at `unix_secs` seconds since the epoch.
    pub fn at(unix_secs: u64) -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            unix_start: unix_secs,
            moved: Mutex::new(Duration::ZERO),
        })
    }

    /// Moves the clock on by `d`.
    pub fn advance(&self, d: Duration) {
        *self.moved.lock().unwrap_or_else(PoisonError::into_inner) += d;
    }

    fn moved(&self) -> Duration {
        *self.moved.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn instant(&self) -> Instant {
        self.start + self.moved()
    }

    fn unix_secs(&self) -> u64 {
        self.unix_start + self.moved().as_secs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let c = ManualClock::at(600);
        let (i, m) = (c.instant(), c.minute());
        assert_eq!((c.instant(), c.minute()), (i, m));
        c.advance(Duration::from_secs(61));
        assert_eq!(c.instant() - i, Duration::from_secs(61));
        assert_eq!(c.minute(), 11);
    }
}
