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
    /// `Some`: a request queued whole or not at all ([`Emitter::holding`]):
    /// nothing is queued or counted per block; the caller commits, then
    /// counts what this holds.
    held: Option<Stats>,
    /// What the held events are charged to, and what it held before them.
    charge: Option<(&'a mut Charge, usize)>,
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
        }
    }

    /// Queues nothing and counts nothing per block: for a holding emitter.
    pub(crate) fn holding(mut self) -> Self {
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

    /// What a holding feed read, to count once its request is queued.
    pub(crate) fn held(&self) -> Stats {
        self.held.unwrap_or_default()
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
        let e = self.g.matcher.catalog().entry(ev.ids.0);
        if e.kind == EntryKind::Drift {
            let form = if e.sdk_major == Some(4) {
                "v4_key"
            } else {
                "v5_name"
            };
            self.metrics.catalog_drift(form, &ev.matched, &ev.line);
        } else if let Some(x) = ev.extra_code {
            self.metrics
                .catalog_drift("v5_extra_code", &x.to_string(), &ev.line);
        }
        self.emitter.event(&self.g, ev)?;
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
