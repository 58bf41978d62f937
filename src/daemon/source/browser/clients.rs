//! Each client's upload rate and event budget: two token buckets per
//! client (an IPv4 address, an IPv6 /64: [`ClientId`]; uploads, and the
//! error events its uploads may write),
//! in a table of at most `max_clients` entries. A client whose buckets
//! have refilled is as good as unknown, so when the table is full those
//! entries make room (looked for at most once a second); when none has,
//! one client still within its window is pushed out (counted): a flood of
//! distinct addresses never locks a new client out, it only shortens the
//! memory of the flood's own clients. Memory stays bounded whatever
//! addresses the internet sends from.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::daemon::metrics::Witness;

/// A client as the endpoint counts it: an IPv4 address (an IPv4-mapped
/// IPv6 one too), or an IPv6 address by its /64, what one host or
/// subscriber is given: counted apart, its 2^64 addresses would give one
/// host as many rates, event budgets and places in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ClientId(u128);

impl ClientId {
    /// The client at `ip` (an IPv4 address kept in its IPv4-mapped form).
    pub(crate) fn of(ip: IpAddr) -> Self {
        let v4 = |v4: std::net::Ipv4Addr| Self(u128::from(v4.to_ipv6_mapped()));
        match ip {
            IpAddr::V4(a) => v4(a),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(a) => v4(a),
                None => Self(u128::from(v6) & !u128::from(u64::MAX)),
            },
        }
    }

    /// The network the client is in: an IPv4 /24, an IPv6 /48 (a site).
    fn network(self) -> u128 {
        if self.0 >> 32 == 0xffff {
            self.0 & !0xff
        } else {
            self.0 & !((1u128 << 80) - 1)
        }
    }
}

/// A client witnesses a label's value (or a new catalog name) by its
/// network: values that several networks sent are what real users run,
/// not what one attacker with a block of addresses made up.
impl From<ClientId> for Witness {
    fn from(c: ClientId) -> Self {
        Witness::Client(c.network())
    }
}

/// What the limiter says about one upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Within the client's rate.
    Take,
    /// Over the client's rate (429).
    OverRate,
    /// Within the new client's rate, after pushing out another client still
    /// within its window (the table was full).
    TakePushingOut,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    /// Events its uploads may still write.
    events: f64,
    last: Instant,
}

/// A token bucket's rate: tokens a second, and at most `burst`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rate {
    per_sec: f64,
    burst: f64,
}

impl Rate {
    /// `per_minute` a minute on average, `burst` at once.
    pub(crate) fn per_minute(per_minute: usize, burst: usize) -> Self {
        Self {
            per_sec: per_minute as f64 / 60.0,
            burst: burst.max(1) as f64,
        }
    }

    fn fill(self, tokens: f64, elapsed: f64) -> f64 {
        (tokens + elapsed * self.per_sec).min(self.burst)
    }

    /// Whether a bucket of `tokens` at `elapsed` seconds ago is full now.
    fn full(self, tokens: f64, elapsed: f64) -> bool {
        self.fill(tokens, elapsed) >= self.burst
    }
}

/// The rate of every client seen lately.
#[derive(Debug)]
pub(crate) struct Clients {
    uploads: Rate,
    events: Rate,
    max: usize,
    table: Mutex<Table>,
}

#[derive(Debug)]
struct Table {
    buckets: HashMap<ClientId, Bucket>,
    last_sweep: Option<Instant>,
}

impl Clients {
    /// `uploads` and `events` for each client, at most `max` clients.
    pub(crate) fn new(uploads: Rate, events: Rate, max: usize) -> Self {
        Self {
            uploads,
            events,
            max: max.max(1),
            table: Mutex::new(Table {
                buckets: HashMap::new(),
                last_sweep: None,
            }),
        }
    }

    /// Clients in the table now.
    pub(crate) fn len(&self) -> usize {
        self.lock().buckets.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `client` is over its upload rate at `now`, without taking
    /// anything or a place in the table: the check before its body is
    /// read (an unknown client is not).
    pub(crate) fn over_rate(&self, client: IpAddr, now: Instant) -> bool {
        let t = self.lock();
        t.buckets.get(&ClientId::of(client)).is_some_and(|b| {
            let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
            self.uploads.fill(b.tokens, elapsed) < 1.0
        })
    }

    /// One upload from `client` at `now`.
    pub(crate) fn admit(&self, client: IpAddr, now: Instant) -> Verdict {
        let client = ClientId::of(client);
        let mut t = self.lock();
        let mut pushed_out = false;
        if !t.buckets.contains_key(&client) && t.buckets.len() >= self.max {
            let due = t
                .last_sweep
                .is_none_or(|s| now.duration_since(s) >= Duration::from_secs(1));
            if due {
                t.last_sweep = Some(now);
                let (uploads, events) = (self.uploads, self.events);
                t.buckets.retain(|_, b| {
                    let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
                    !(uploads.full(b.tokens, elapsed) && events.full(b.events, elapsed))
                });
            }
            if t.buckets.len() >= self.max
                && let Some(other) = t.buckets.keys().next().copied()
            {
                t.buckets.remove(&other);
                pushed_out = true;
            }
        }
        let b = t.buckets.entry(client).or_insert(Bucket {
            tokens: self.uploads.burst,
            events: self.events.burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = self.uploads.fill(b.tokens, elapsed);
        b.events = self.events.fill(b.events, elapsed);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            if pushed_out {
                Verdict::TakePushingOut
            } else {
                Verdict::Take
            }
        } else {
            Verdict::OverRate
        }
    }
}

impl Clients {
    /// Events `client`'s uploads may still write (0 for a client not in
    /// the table: it was not admitted).
    pub(crate) fn events_left(&self, client: IpAddr) -> u64 {
        self.lock()
            .buckets
            .get(&ClientId::of(client))
            .map_or(0, |b| b.events.max(0.0) as u64)
    }

    /// `client`'s uploads wrote `n` events.
    pub(crate) fn spend_events(&self, client: IpAddr, n: u64) {
        if let Some(b) = self.lock().buckets.get_mut(&ClientId::of(client)) {
            b.events = (b.events - n as f64).max(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    #[test]
    fn a_client_gets_its_burst_then_its_rate() {
        let c = Clients::new(Rate::per_minute(60, 3), Rate::per_minute(60, 100), 10);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(c.admit(ip(1), t0), Verdict::Take);
        }
        assert_eq!(c.admit(ip(1), t0), Verdict::OverRate);
        // Another client is not affected.
        assert_eq!(c.admit(ip(2), t0), Verdict::Take);
        // One a second comes back.
        assert_eq!(c.admit(ip(1), t0 + Duration::from_secs(1)), Verdict::Take);
        assert_eq!(
            c.admit(ip(1), t0 + Duration::from_secs(1)),
            Verdict::OverRate
        );
    }

    #[test]
    fn the_table_stays_bounded_and_refilled_clients_make_room() {
        // Uploads refill in 2 s, events in 100 s: a client that wrote no
        // events is as good as unknown after 2 s.
        let c = Clients::new(Rate::per_minute(60, 2), Rate::per_minute(60, 100), 100);
        let t0 = Instant::now();
        for n in 0..100 {
            assert_eq!(c.admit(ip(n), t0), Verdict::Take);
        }
        // A new client is never locked out: another one makes room.
        assert_eq!(c.admit(ip(1000), t0), Verdict::TakePushingOut);
        assert_eq!(c.len(), 100);
        // One client spends events (back in the table if it was the one
        // pushed out).
        assert!(matches!(
            c.admit(ip(7), t0),
            Verdict::Take | Verdict::TakePushingOut
        ));
        c.spend_events(ip(7), 50);
        // Once their buckets have refilled (2 s), they make room; the one
        // that spent events has not refilled and stays.
        let later = t0 + Duration::from_secs(3);
        assert_eq!(c.admit(ip(2000), later), Verdict::Take);
        assert_eq!(c.len(), 2);
        assert_eq!(c.events_left(ip(7)), 50);
    }

    #[test]
    fn a_client_has_at_most_its_uploads_in_flight() {
        let f = InFlight::new(2);
        let a = f.enter(ip(1)).unwrap();
        let b = f.enter(ip(1)).unwrap();
        assert!(f.enter(ip(1)).is_none());
        assert!(f.enter(ip(2)).is_some(), "another client");
        drop(a);
        let _c = f.enter(ip(1)).unwrap();
        drop(b);
        drop(_c);
        assert!(f.lock().is_empty(), "no entry once nothing is in flight");
    }

    #[test]
    fn over_rate_is_known_before_the_body_and_takes_nothing() {
        let c = Clients::new(Rate::per_minute(60, 1), Rate::per_minute(60, 100), 10);
        let t0 = Instant::now();
        assert!(!c.over_rate(ip(1), t0));
        assert_eq!(c.len(), 0, "an unknown client takes no place");
        assert_eq!(c.admit(ip(1), t0), Verdict::Take);
        assert!(c.over_rate(ip(1), t0));
        assert!(!c.over_rate(ip(1), t0 + Duration::from_secs(1)));
    }

    /// An IPv6 host is one client across its /64: its other addresses
    /// share its rate.
    #[test]
    fn an_ipv6_client_is_its_64() {
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            ClientId::of(v6("2001:db8::1")),
            ClientId::of(v6("2001:db8::ffff:1"))
        );
        assert_ne!(
            ClientId::of(v6("2001:db8::1")),
            ClientId::of(v6("2001:db8:0:1::1"))
        );
        assert_eq!(
            ClientId::of(v6("::ffff:192.0.2.1")),
            ClientId::of(v6("192.0.2.1"))
        );
        let c = Clients::new(Rate::per_minute(60, 2), Rate::per_minute(60, 100), 10);
        let t0 = Instant::now();
        for n in 1..=2 {
            assert_eq!(c.admit(v6(&format!("2001:db8::{n}")), t0), Verdict::Take);
        }
        assert_eq!(c.admit(v6("2001:db8::ab:cd"), t0), Verdict::OverRate);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn a_client_spends_its_events_and_they_come_back_at_their_rate() {
        let c = Clients::new(Rate::per_minute(60, 10), Rate::per_minute(600, 50), 10);
        let t0 = Instant::now();
        assert_eq!(c.events_left(ip(1)), 0, "not admitted yet");
        assert_eq!(c.admit(ip(1), t0), Verdict::Take);
        assert_eq!(c.events_left(ip(1)), 50);
        c.spend_events(ip(1), 45);
        assert_eq!(c.events_left(ip(1)), 5);
        c.spend_events(ip(1), 45);
        assert_eq!(c.events_left(ip(1)), 0);
        // Ten a second come back.
        assert_eq!(c.admit(ip(1), t0 + Duration::from_secs(2)), Verdict::Take);
        assert_eq!(c.events_left(ip(1)), 20);
    }
}

/// Each client's uploads in flight now, at most `max` each: an entry lives
/// while its client has an upload in flight, so the map is bounded by the
/// connections the port takes.
#[derive(Debug)]
pub(crate) struct InFlight {
    max: u32,
    now: Mutex<HashMap<ClientId, u32>>,
}

/// One upload in flight; its place is given back on drop.
#[derive(Debug)]
pub(crate) struct Flight<'a> {
    of: &'a InFlight,
    client: ClientId,
}

impl InFlight {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max: u32::try_from(max.max(1)).unwrap_or(u32::MAX),
            now: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientId, u32>> {
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for one more upload of `client`, if it has fewer than the
    /// most in flight.
    pub(crate) fn enter(&self, client: IpAddr) -> Option<Flight<'_>> {
        let client = ClientId::of(client);
        let mut m = self.lock();
        let n = m.entry(client).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Flight { of: self, client })
    }
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        let mut m = self.of.lock();
        if let Some(n) = m.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.client);
            }
        }
    }
}
