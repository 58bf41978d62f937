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

/// What a figure is of: one catalog key, or one group of keys (whatever
/// the SDK version).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Subject {
    /// A catalog's key.
    Key {
        /// The catalog.
        catalog: String,
        /// The key.
        key: String,
    },
    /// A group ([`crate::catalog::GROUPS`]).
    Group(String),
}

/// Distinct users and rooms hit in the last 5 minutes and the last hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Reach {
    /// Users in the last 5 minutes.
    pub users_5m: usize,
    /// Users in the last hour.
    pub users_1h: usize,
    /// Rooms in the last 5 minutes.
    pub rooms_5m: usize,
    /// Rooms in the last hour.
    pub rooms_1h: usize,
}

/// Who one key's or group's errors hit now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Figure {
    /// What it is of.
    pub subject: Subject,
    /// Who it hit.
    pub reach: Reach,
}

/// Who each key's errors hit (see the module docs).
#[derive(Debug)]
pub(crate) struct Affected {
    keys: Mutex<HashMap<Subject, PerKey>>,
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
                Subject::Key {
                    catalog: catalog.to_string(),
                    key: key.to_string(),
                },
                Subject::Group(group.to_string()),
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
    pub(crate) fn now(&self) -> Vec<Figure> {
        self.figures(self.clock.minute())
    }

    /// Who `catalog`'s `key` hit now (nobody when it has no figure).
    pub(crate) fn reach_of(figures: &[Figure], catalog: &str, key: &str) -> Reach {
        figures
            .iter()
            .find(|f| {
                matches!(&f.subject, Subject::Key { catalog: c, key: k } if c == catalog && k == key)
            })
            .map_or_else(Reach::default, |f| f.reach)
    }

    /// Every key's and group's figures at `minute`, sorted by what they
    /// are of; keys silent for an hour are dropped.
    fn figures(&self, minute: u64) -> Vec<Figure> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.retain(|_, k| k.users.last().max(k.rooms.last()) + 60 > minute);
        let mut out: Vec<Figure> = keys
            .iter()
            .map(|(subject, k)| {
                let (users_5m, users_1h) = k.users.estimate(minute);
                let (rooms_5m, rooms_1h) = k.rooms.estimate(minute);
                Figure {
                    subject: subject.clone(),
                    reach: Reach {
                        users_5m,
                        users_1h,
                        rooms_5m,
                        rooms_1h,
                    },
                }
            })
            .collect();
        out.sort_by(|a, b| a.subject.cmp(&b.subject));
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
        let gauge = |n: usize| ConstGauge::new(i64::try_from(n).unwrap_or(i64::MAX));
        for (name, help, rooms) in [
            (
                "trtc_affected_users",
                "Distinct userIds of each key's errors in the window (5m, 1h): exact up to 128, a HyperLogLog++ estimate beyond (about 1.6 % standard error); events without a userId do not count",
                false,
            ),
            (
                "trtc_affected_rooms",
                "Distinct roomIds of each key's errors in the window (5m, 1h): exact up to 128, a HyperLogLog++ estimate beyond",
                true,
            ),
        ] {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for f in &figures {
                let Subject::Key { catalog, key } = &f.subject else {
                    continue;
                };
                for (window, v) in windows(f.reach, rooms) {
                    let labels = WindowLabels {
                        catalog: catalog.clone(),
                        key: key.clone(),
                        window: window.into(),
                    };
                    gauge(v).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        for (name, help, rooms) in [
            (
                "trtc_group_affected_users",
                "Distinct userIds of each group's errors in the window (5m, 1h), whatever the SDK version: what the alerts gate on",
                false,
            ),
            (
                "trtc_group_affected_rooms",
                "Distinct roomIds of each group's errors in the window (5m, 1h)",
                true,
            ),
        ] {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for f in &figures {
                let Subject::Group(group) = &f.subject else {
                    continue;
                };
                for (window, v) in windows(f.reach, rooms) {
                    let labels = GroupWindowLabels {
                        group: group.clone(),
                        window: window.into(),
                    };
                    gauge(v).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        Ok(())
    }
}

/// The 5m and 1h figures of users (or of `rooms`).
fn windows(r: Reach, rooms: bool) -> [(&'static str, usize); 2] {
    if rooms {
        [("5m", r.rooms_5m), ("1h", r.rooms_1h)]
    } else {
        [("5m", r.users_5m), ("1h", r.users_1h)]
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
        let reach = |users_5m, users_1h, rooms_5m, rooms_1h| Reach {
            users_5m,
            users_1h,
            rooms_5m,
            rooms_1h,
        };
        // The key and its group, alike.
        assert_eq!(f.len(), 2);
        assert_eq!(
            f[0].subject,
            Subject::Key {
                catalog: ice.0.into(),
                key: ice.1.into()
            }
        );
        assert_eq!(f[1].subject, Subject::Group(g.into()));
        assert_eq!(f[0].reach, reach(3, 3, 2, 2));
        assert_eq!(f[1].reach, reach(3, 3, 2, 2));
        assert_eq!(Affected::reach_of(&f, ice.0, ice.1), reach(3, 3, 2, 2));
        // Seven minutes on: out of the 5-minute window, still in the hour.
        let f = a.figures(t + 7);
        assert_eq!(f[1].reach, reach(0, 3, 0, 2));
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
        let (five, hour) = (f[0].reach.users_5m as f64, f[0].reach.users_1h as f64);
        assert!((five / 5000.0 - 1.0).abs() < 0.1, "{five}");
        assert!((hour / 60_000.0 - 1.0).abs() < 0.1, "{hour}");
    }
}
