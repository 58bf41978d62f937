//! Who is hit: the distinct users and rooms of each catalog key's errors
//! over the last 5 minutes and the last hour, exported as the gauges
//! `trtc_affected_users` and `trtc_affected_rooms` (`catalog`, `key`,
//! `window`). An event without a `userId` (or `roomId`) does not count as a
//! user (or room).
//!
//! Each key keeps 5 one-minute buckets and 6 ten-minute buckets per
//! dimension, each a cardinality estimator (Cloudflare's
//! `cardinality-estimator`: exact up to 128 distinct ids, HyperLogLog++
//! beyond, 4,096 registers of 6 bits: about 1.6 % standard error, 3 KB).
//! A window's figure is its buckets merged at scrape time (the hour: the
//! current ten minutes and the five before, 50 to 60 minutes). So memory is
//! bounded by the catalog's keys whatever the number of users (a key with
//! more than 128 users in every bucket holds 22 x 3 KB), and keys whose
//! buckets are all older than an hour are dropped. Ids are hashed (wyhash)
//! when counted: none is kept.
//!
//! Sources record their events' ids in batches (one lock per batch of the
//! emitter), so the hot path adds a hash per event.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::clock::{SharedClock, SystemClock};

use cardinality_estimator::CardinalityEstimator;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;

/// The crate's defaults: 2^12 registers of 6 bits (3 KB as a HyperLogLog).
type Estimator = CardinalityEstimator<u64>;

/// One-minute buckets (the 5-minute window).
const MINUTES: usize = 5;
/// Ten-minute buckets (the 1-hour window).
const TENS: usize = 6;

/// The hash of an id, as counted (never the id): wyhash, fixed seed.
pub(crate) fn id_hash(id: &str) -> u64 {
    wyhash::wyhash(id.as_bytes(), 0x7472_7463)
}

/// Buckets of one dimension (users or rooms) of one key.
#[derive(Debug, Default)]
struct Ring {
    /// (minute, ids), at `minute % MINUTES`.
    minutes: [(u64, Estimator); MINUTES],
    /// (ten-minute period, ids), at `period % TENS`.
    tens: [(u64, Estimator); TENS],
}

impl Ring {
    fn insert(&mut self, minute: u64, hash: u64) {
        let slot = &mut self.minutes[(minute % MINUTES as u64) as usize];
        if slot.0 != minute {
            *slot = (minute, Estimator::new());
        }
        slot.1.insert_hash(hash);
        let ten = minute / 10;
        let slot = &mut self.tens[(ten % TENS as u64) as usize];
        if slot.0 != ten {
            *slot = (ten, Estimator::new());
        }
        slot.1.insert_hash(hash);
    }

    /// Distinct ids of the last 5 minutes and the last hour, at `minute`.
    fn estimate(&self, minute: u64) -> (usize, usize) {
        let mut five = Estimator::new();
        for (m, e) in &self.minutes {
            if *m + (MINUTES as u64) > minute && *m <= minute {
                five.merge(e);
            }
        }
        let period = minute / 10;
        let mut hour = Estimator::new();
        for (p, e) in &self.tens {
            if *p + (TENS as u64) > period && *p <= period {
                hour.merge(e);
            }
        }
        (five.estimate(), hour.estimate())
    }

    /// The last minute any id was counted.
    fn last(&self) -> u64 {
        self.minutes.iter().map(|(m, _)| *m).max().unwrap_or(0)
    }
}

#[derive(Debug, Default)]
struct PerKey {
    users: Ring,
    rooms: Ring,
}

/// Who each key's errors hit (see the module docs).
#[derive(Debug)]
pub(crate) struct Affected {
    keys: Mutex<HashMap<(String, String), PerKey>>,
    clock: SharedClock,
}

impl Default for Affected {
    fn default() -> Self {
        Self::with_clock(SystemClock::shared())
    }
}

/// One event's ids, hashed, for [`Affected::record`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    pub user: Option<u64>,
    pub room: Option<u64>,
}

impl Affected {
    /// Windows timed by `clock`.
    pub(crate) fn with_clock(clock: SharedClock) -> Self {
        Self {
            keys: Mutex::default(),
            clock,
        }
    }

    /// Counts the ids of batches of events: each batch of one `(catalog,
    /// key)` in one `group`.
    pub(crate) fn record<'k, H: IntoIterator<Item = Hit>>(
        &self,
        runs: impl IntoIterator<Item = ((&'k str, &'k str), &'k str, H)>,
    ) {
        self.record_at(self.clock.minute(), runs);
    }

    fn record_at<'k, H: IntoIterator<Item = Hit>>(
        &self,
        minute: u64,
        runs: impl IntoIterator<Item = ((&'k str, &'k str), &'k str, H)>,
    ) {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut users, mut rooms) = (Vec::new(), Vec::new());
        for ((catalog, key), group, hits) in runs {
            // Each id once per batch: a storm repeats the same few users.
            users.clear();
            rooms.clear();
            for hit in hits {
                users.extend(hit.user);
                rooms.extend(hit.room);
            }
            if users.is_empty() && rooms.is_empty() {
                continue;
            }
            for ids in [&mut users, &mut rooms] {
                ids.sort_unstable();
                ids.dedup();
            }
            for k in [
                (catalog.to_string(), key.to_string()),
                (String::new(), group.to_string()),
            ] {
                let per = keys.entry(k).or_default();
                for &u in &users {
                    per.users.insert(minute, u);
                }
                for &r in &rooms {
                    per.rooms.insert(minute, r);
                }
            }
        }
    }

    /// Every key's and group's figures now (see [`Affected::figures`]).
    pub(crate) fn now(&self) -> Vec<((String, String), [usize; 4])> {
        self.figures(self.clock.minute())
    }

    /// Every key's (users 5m, users 1h, rooms 5m, rooms 1h) at `minute`;
    /// keys silent for an hour are dropped.
    fn figures(&self, minute: u64) -> Vec<((String, String), [usize; 4])> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.retain(|_, k| k.users.last().max(k.rooms.last()) + 60 > minute);
        let mut out: Vec<_> = keys
            .iter()
            .map(|(id, k)| {
                let (u5, u60) = k.users.estimate(minute);
                let (r5, r60) = k.rooms.estimate(minute);
                (id.clone(), [u5, u60, r5, r60])
            })
            .collect();
        out.sort();
        out
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupWindowLabels {
    group: String,
    window: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WindowLabels {
    catalog: String,
    key: String,
    window: String,
}

/// Exports the figures on each scrape.
#[derive(Debug)]
pub(crate) struct AffectedCollector(pub std::sync::Arc<Affected>);

impl Collector for AffectedCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let figures = self.0.now();
        let (groups, keys): (Vec<_>, Vec<_>) = figures.iter().partition(|((c, _), _)| c.is_empty());
        for (name, help, at) in [
            (
                "trtc_affected_users",
                "Distinct userIds of each key's errors in the window (5m, 1h): exact up to 128, a HyperLogLog++ estimate beyond (about 1.6 % standard error); events without a userId do not count",
                0,
            ),
            (
                "trtc_affected_rooms",
                "Distinct roomIds of each key's errors in the window (5m, 1h): exact up to 128, a HyperLogLog++ estimate beyond",
                2,
            ),
        ] {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for ((catalog, key), f) in &keys {
                for (window, v) in [("5m", f[at]), ("1h", f[at + 1])] {
                    let labels = WindowLabels {
                        catalog: catalog.clone(),
                        key: key.clone(),
                        window: window.into(),
                    };
                    let g = ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX));
                    g.encode(family.encode_family(&labels)?)?;
                }
            }
        }
        for (name, help, at) in [
            (
                "trtc_group_affected_users",
                "Distinct userIds of each group's errors in the window (5m, 1h), whatever the SDK version: what the alerts gate on",
                0,
            ),
            (
                "trtc_group_affected_rooms",
                "Distinct roomIds of each group's errors in the window (5m, 1h)",
                2,
            ),
        ] {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for ((_, group), f) in &groups {
                for (window, v) in [("5m", f[at]), ("1h", f[at + 1])] {
                    let labels = GroupWindowLabels {
                        group: group.clone(),
                        window: window.into(),
                    };
                    let g = ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX));
                    g.encode(family.encode_family(&labels)?)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(user: &str, room: &str) -> Hit {
        Hit {
            user: (!user.is_empty()).then(|| id_hash(user)),
            room: (!room.is_empty()).then(|| id_hash(room)),
        }
    }

    #[test]
    fn users_are_counted_once_per_window_and_the_old_ones_leave() {
        let a = Affected::default();
        let ice = ("trtc-web-v4", "ICE_TRANSPORT_ERROR");
        let t = 1_000_000u64;
        // 3 users, one twice; one event with no user at all.
        let g = "media_connection";
        a.record_at(
            t,
            [(
                ice,
                g,
                vec![hit("u1", "r1"), hit("u2", "r1"), hit("u1", ""), hit("", "")],
            )],
        );
        a.record_at(t + 2, [(ice, g, vec![hit("u3", "r2")])]);
        let f = a.figures(t + 2);
        // The group (under catalog "") and the key, alike.
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].1, [3, 3, 2, 2]);
        assert_eq!(f[1].1, [3, 3, 2, 2]);
        // Seven minutes on: out of the 5-minute window, still in the hour.
        let f = a.figures(t + 7);
        assert_eq!(f[1].1, [0, 3, 0, 2]);
        // Past the hour: the key is gone.
        assert!(a.figures(t + 70).is_empty());
    }

    #[test]
    fn many_users_are_estimated_within_the_error() {
        let a = Affected::default();
        let k = ("trtc-web-v5", "OPERATION_FAILED");
        let t = 5_000_000u64;
        for m in 0..60u64 {
            let batch: Vec<_> = (0..1000u64)
                .map(|i| hit(&format!("user-{}", m * 1000 + i), ""))
                .collect();
            a.record_at(t + m, [(k, "usage", batch)]);
        }
        let f = a.figures(t + 59);
        let (five, hour) = (f[0].1[0] as f64, f[0].1[1] as f64);
        assert!((five / 5000.0 - 1.0).abs() < 0.1, "{five}");
        assert!((hour / 60_000.0 - 1.0).abs() < 0.1, "{hour}");
    }
}
