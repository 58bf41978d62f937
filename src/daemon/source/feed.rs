//! The daemon's [`EventSink`]: what every source's [`Pipeline`] hands its
//! events to. It matches each block with the generation current when the
//! block arrived, renders and queues the events through the source's
//! [`Emitter`] with that same generation, and counts what each block read.
//!
//! [`Pipeline`]: crate::pipeline::Pipeline

use std::sync::Arc;

use tokio::sync::watch;

use crate::catalog::EntryKind;
use crate::daemon::emitter::Emitter;
use crate::daemon::generation::Generation;
use crate::daemon::metrics::Metrics;
use crate::daemon::queue::Closed;
use crate::daemon::source::budget::{Charge, OverBudget};
use crate::event::Event;
use crate::matcher::Matcher;
use crate::pipeline::EventSink;
use crate::scan::Stats;

/// Why a feed stopped a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Stop {
    /// The sink has stopped: the daemon is shutting down.
    #[error("the events sink has stopped")]
    Closed,
    /// The events a held request keeps would go over its memory budget.
    #[error("the request's events are over the memory budget")]
    OverBudget(OverBudget),
}

impl From<Closed> for Stop {
    fn from(_: Closed) -> Self {
        Stop::Closed
    }
}

/// One source's way into the queue, for one read (see the module docs).
#[derive(Debug)]
pub(crate) struct Feed<'a> {
    current: &'a watch::Receiver<Arc<Generation>>,
    g: Arc<Generation>,
    emitter: &'a mut Emitter,
    metrics: &'a Metrics,
    source: &'a str,
    /// `Some`: a request queued whole or not at all ([`Feed::holding`]):
    /// nothing is queued or counted per block; the caller commits, then
    /// counts what this holds.
    held: Option<Stats>,
    /// What the held events are charged to, and what it held before them.
    charge: Option<(&'a mut Charge, usize)>,
    /// Events it may still hand on, and those beyond, not handed on.
    cap: Option<Cap>,
    /// New unknown names this read logged (at most [`DRIFT_PER_READ`]).
    drift_logged: u8,
    /// The whole body read (a browser's upload): its events carry the
    /// records before them as breadcrumbs.
    body: Option<&'a [u8]>,
}

/// New unknown names one read (a block, an upload) logs at most: one
/// upload of junk names cannot take the table of names logged.
const DRIFT_PER_READ: u8 = 4;

/// A feed's cap on events: how many it may still hand on, and how many it
/// did not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cap {
    /// Events it may still hand on.
    pub left: u64,
    /// Events found beyond the cap: neither written nor counted as errors.
    pub over: u64,
}

impl<'a> Feed<'a> {
    /// A feed for the source `source` (the metrics' label).
    pub(crate) fn new(
        current: &'a watch::Receiver<Arc<Generation>>,
        emitter: &'a mut Emitter,
        metrics: &'a Metrics,
        source: &'a str,
    ) -> Self {
        Self {
            g: Arc::clone(&current.borrow()),
            current,
            emitter,
            metrics,
            source,
            held: None,
            charge: None,
            cap: None,
            drift_logged: 0,
            body: None,
        }
    }

    /// Its events carry the records before them in `body` (the whole text
    /// read, one user's) as breadcrumbs.
    pub(crate) fn with_breadcrumbs(mut self, body: &'a [u8]) -> Self {
        self.body = Some(body);
        self
    }

    /// Holds the read whole: its emitter keeps every event until the
    /// caller commits them, and nothing is counted per block (the caller
    /// counts [`held`](Self::held) once committed).
    pub(crate) fn holding(mut self) -> Self {
        self.emitter.hold();
        self.held = Some(Stats::default());
        self
    }

    /// Charges the events a holding feed keeps to `charge`: when it refuses,
    /// the read stops with [`Stop::OverBudget`].
    pub(crate) fn charged(mut self, charge: &'a mut Charge) -> Self {
        let base = charge.bytes();
        self.charge = Some((charge, base));
        self
    }

    /// Hands on at most `limit` events; the others are only counted
    /// ([`capped`](Self::capped)).
    pub(crate) fn capped_at(mut self, limit: u64) -> Self {
        self.cap = Some(Cap {
            left: limit,
            over: 0,
        });
        self
    }

    /// The events found beyond the cap, if there is one.
    pub(crate) fn capped(&self) -> u64 {
        self.cap.map_or(0, |c| c.over)
    }

    /// What a holding feed read, to count once its request is queued.
    pub(crate) fn held(&self) -> Stats {
        self.held.unwrap_or_default()
    }
}

impl Feed<'_> {
    /// Counts an unknown `name` in the SDK's `form`, logged if this read has
    /// not logged its share of new names yet.
    fn drift(&mut self, form: &str, name: &str, line: &str) {
        let may_log = self.drift_logged < DRIFT_PER_READ;
        let by = self.emitter.witness();
        if self.metrics.catalog_drift(form, name, line, may_log, by) {
            self.drift_logged += 1;
        }
    }
}

impl EventSink for Feed<'_> {
    type Error = Stop;

    fn matcher(&mut self) -> Arc<Matcher> {
        let now = self.current.borrow();
        if !Arc::ptr_eq(&now, &self.g) {
            self.g = Arc::clone(&now);
        }
        Arc::clone(&self.g.matcher)
    }

    fn event(&mut self, ev: &Event<'_>) -> Result<(), Stop> {
        if let Some(cap) = &mut self.cap {
            if cap.left == 0 {
                cap.over += 1;
                return Ok(());
            }
            cap.left -= 1;
        }
        let e = self.g.matcher.catalog().entry(ev.ids.0);
        if e.kind == EntryKind::Drift {
            let form = if e.sdk_major == Some(4) {
                "v4_key"
            } else {
                "v5_name"
            };
            self.drift(form, &ev.matched, &ev.line);
        } else if let Some(x) = ev.extra_code {
            self.drift("v5_extra_code", &x.to_string(), &ev.line);
        }
        match self.body {
            Some(body) if ev.offset > 0 => {
                let mut with = ev.clone();
                with.breadcrumbs = crate::breadcrumbs::before(
                    body,
                    usize::try_from(ev.offset).unwrap_or(usize::MAX),
                );
                self.emitter.event(&self.g, &with)?;
            }
            _ => self.emitter.event(&self.g, ev)?,
        }
        if let Some((charge, base)) = &mut self.charge {
            let held = self.emitter.held_bytes();
            charge.grow_to(*base + held).map_err(Stop::OverBudget)?;
        }
        Ok(())
    }

    fn recovered(&mut self, ev: &Event<'_>) -> Result<(), Stop> {
        self.metrics.recovery(self.g.matcher.catalog(), ev.ids.0);
        Ok(())
    }

    fn block_done(&mut self, delta: &Stats) -> Result<(), Stop> {
        match &mut self.held {
            Some(h) => {
                h.add(delta);
                Ok(())
            }
            None => {
                self.emitter.flush()?;
                self.metrics.read(self.source, delta);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::daemon::clock::{ManualClock, SharedClock};
    use crate::daemon::config::{Config, Overflow};
    use crate::daemon::queue::{self, SinkMsg};
    use crate::daemon::sampling::Rate;
    use crate::pipeline::Pipeline;

    /// Storm sampling of a source's events follows the daemon's clock: five
    /// a window are written, the rest counted, and the first written in the
    /// next window says how many were left out (no test sleeps through it).
    #[test]
    fn a_storm_is_sampled_in_windows_of_the_clock() {
        let clock = ManualClock::at(1_000_000);
        let shared: SharedClock = clock.clone();
        let g = Arc::new(Generation::build(Config::default()).unwrap());
        let (_keep, current) = watch::channel(g);
        let (tx, rx) = queue::bounded(1000);
        let metrics = Arc::new(Metrics::new());
        let rate = Rate {
            rate: 5,
            per: Duration::from_secs(2),
        };
        let mut emitter = Emitter::new(tx, Arc::clone(&metrics), Overflow::Block)
            .with_sampling(Some(rate), &shared);
        let mut pipeline = Pipeline::builder("app").build();
        let mut read = |text: String, emitter: &mut Emitter| {
            let mut feed = Feed::new(&current, emitter, &metrics, "app");
            pipeline.text(text.as_bytes(), &mut feed).unwrap();
            let mut lines = Vec::new();
            while let Ok(m) = rx.recv_timeout(Duration::ZERO) {
                if let SinkMsg::Events(b) = m {
                    lines.extend(
                        String::from_utf8(b.bytes)
                            .unwrap()
                            .lines()
                            .map(str::to_string),
                    );
                }
            }
            lines
        };
        let storm: String = (1..=20)
            .map(|n| format!("RtcError: x <ICE_TRANSPORT_ERROR 0x4003> seq={n}\n"))
            .collect();
        let first = read(storm, &mut emitter);
        assert_eq!(first.len(), 5, "{first:?}");
        assert!(first.iter().all(|l| !l.contains("suppressed_before")));
        clock.advance(Duration::from_millis(1999));
        let inside = read(
            "RtcError: x <ICE_TRANSPORT_ERROR 0x4003> seq=21\n".into(),
            &mut emitter,
        );
        assert!(inside.is_empty(), "{inside:?}");
        clock.advance(Duration::from_millis(1));
        let next = read(
            "RtcError: x <ICE_TRANSPORT_ERROR 0x4003> seq=22\n".into(),
            &mut emitter,
        );
        assert_eq!(next.len(), 1, "{next:?}");
        assert!(next[0].contains("\"suppressed_before\":16"), "{}", next[0]);
        assert!(
            metrics
                .prometheus_text()
                .contains("trtc_logwatch_events_suppressed_total{key=\"ICE_TRANSPORT_ERROR\"} 16")
        );
    }
}
