//! The memory that requests in flight hold together, and the workers that
//! decode and match them. Owned by the HTTP ingest (and any endpoint that
//! takes bodies from the network): each request charges what it holds (the
//! body as received, decoded, as records, its events until written) to one
//! [`Budget`]; a charge that does not fit is refused, so however many
//! clients send whatever they send, the bodies held stay within the
//! budget. What a request charged is given back when it ends.
//!
//! A request that does not fit while others hold memory is answered 503
//! (retry); one that would not fit even alone, 413.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::daemon::metrics::Metrics;

/// Charges are counted in units of this many bytes (a semaphore counts in
/// `u32`).
const UNIT: usize = 1024;

/// Why a charge was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OverBudget {
    /// Others hold the memory now: retry later (503).
    Busy,
    /// The request alone needs more than the whole budget (413).
    TooLarge,
}

/// Memory shared by all requests, in bytes.
#[derive(Debug)]
pub(crate) struct Budget {
    free: Arc<Semaphore>,
    units: usize,
    metrics: Arc<Metrics>,
}

impl Budget {
    /// A budget of `bytes` (at least one unit).
    pub(crate) fn new(bytes: usize, metrics: Arc<Metrics>) -> Arc<Self> {
        let units = bytes.div_ceil(UNIT).clamp(1, u32::MAX as usize);
        Arc::new(Self {
            free: Arc::new(Semaphore::new(units)),
            units,
            metrics,
        })
    }

    /// A charge of nothing yet, to grow as the request holds more.
    pub(crate) fn charge(self: &Arc<Self>) -> Charge {
        Charge {
            budget: Arc::clone(self),
            permit: None,
            units: 0,
        }
    }

    /// Bytes charged now, all requests.
    pub(crate) fn in_use(&self) -> usize {
        (self.units - self.free.available_permits()) * UNIT
    }
}

/// What one request holds of a [`Budget`]; given back on drop.
#[derive(Debug)]
pub(crate) struct Charge {
    budget: Arc<Budget>,
    permit: Option<OwnedSemaphorePermit>,
    units: usize,
}

impl Charge {
    /// Bytes this charge holds.
    pub(crate) fn bytes(&self) -> usize {
        self.units * UNIT
    }

    /// Holds at least `bytes` in all, or says why it cannot (what it held
    /// before stays held).
    pub(crate) fn grow_to(&mut self, bytes: usize) -> Result<(), OverBudget> {
        let want = bytes.div_ceil(UNIT);
        if want <= self.units {
            return Ok(());
        }
        if want > self.budget.units {
            return Err(OverBudget::TooLarge);
        }
        let more = u32::try_from(want - self.units).map_err(|_| OverBudget::TooLarge)?;
        let p = Arc::clone(&self.budget.free)
            .try_acquire_many_owned(more)
            .map_err(|_| OverBudget::Busy)?;
        match &mut self.permit {
            Some(held) => held.merge(p),
            None => self.permit = Some(p),
        }
        self.budget
            .metrics
            .request_memory_change(((want - self.units) * UNIT) as i64);
        self.units = want;
        Ok(())
    }
}

impl Charge {
    /// Gives back what it holds beyond `bytes` (what it held for a moment).
    pub(crate) fn shrink_to(&mut self, bytes: usize) {
        let keep = bytes.div_ceil(UNIT);
        if keep >= self.units {
            return;
        }
        let give = self.units - keep;
        if let Some(p) = &mut self.permit
            && let Some(back) = p.split(give)
        {
            drop(back);
            self.budget
                .metrics
                .request_memory_change(-((give * UNIT) as i64));
            self.units = keep;
        }
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        if let Some(p) = self.permit.take() {
            drop(p);
            self.budget
                .metrics
                .request_memory_change(-((self.units * UNIT) as i64));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_share_the_budget_and_come_back() {
        let b = Budget::new(10 * UNIT, Arc::new(Metrics::new()));
        let mut one = b.charge();
        one.grow_to(6 * UNIT).unwrap();
        one.grow_to(3 * UNIT).unwrap();
        assert_eq!(one.bytes(), 6 * UNIT);
        let mut two = b.charge();
        assert_eq!(two.grow_to(5 * UNIT), Err(OverBudget::Busy));
        assert_eq!(two.grow_to(11 * UNIT), Err(OverBudget::TooLarge));
        two.grow_to(4 * UNIT).unwrap();
        assert_eq!(b.in_use(), 10 * UNIT);
        drop(one);
        assert_eq!(b.in_use(), 4 * UNIT);
        two.grow_to(10 * UNIT).unwrap();
        two.shrink_to(3 * UNIT);
        assert_eq!((two.bytes(), b.in_use()), (3 * UNIT, 3 * UNIT));
        drop(two);
        assert_eq!(b.in_use(), 0);
    }

    /// Two endpoints' budgets (ingest, browser) report together: the gauge
    /// is what all requests hold, whichever charged last.
    #[test]
    fn the_gauge_sums_every_budget() {
        let m = Arc::new(Metrics::new());
        let gauge = |m: &Metrics| {
            m.prometheus_text()
                .lines()
                .find_map(|l| l.strip_prefix("trtc_logwatch_ingest_memory_bytes "))
                .map(str::to_string)
        };
        let (a, b) = (
            Budget::new(10 * UNIT, Arc::clone(&m)),
            Budget::new(10 * UNIT, Arc::clone(&m)),
        );
        let mut one = a.charge();
        one.grow_to(3 * UNIT).unwrap();
        let mut two = b.charge();
        two.grow_to(UNIT).unwrap();
        assert_eq!(gauge(&m).as_deref(), Some("4096"));
        drop(one);
        assert_eq!(gauge(&m).as_deref(), Some("1024"));
        drop(two);
        assert_eq!(gauge(&m).as_deref(), Some("0"));
    }
}
