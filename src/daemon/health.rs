//! Readiness: `/readyz` answers 200 once every source is open and while
//! nothing is wrong; otherwise 503 with the reasons (a source still
//! starting, an events output that cannot be written, checkpoints that
//! cannot be stored, a worker thread that died).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The daemon's readiness, shared by the workers and the HTTP server.
#[derive(Debug, Default)]
pub struct Health {
    starting: AtomicUsize,
    problems: Mutex<BTreeMap<String, String>>,
}

impl Health {
    /// A flag for one more source, not ready until it says so.
    pub fn register(self: &Arc<Self>) -> Ready {
        self.starting.fetch_add(1, Ordering::Relaxed);
        Ready {
            all: Arc::clone(self),
            done: Arc::new(std::sync::Once::new()),
        }
    }

    /// Records a problem under `what` (one per component), replacing an
    /// earlier one; readiness fails until it is cleared.
    pub fn set_problem(&self, what: impl Into<String>, reason: impl Into<String>) {
        self.problems
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(what.into(), reason.into());
    }

    /// The problem under `what` is over.
    pub fn clear_problem(&self, what: &str) {
        self.problems
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(what);
    }

    /// `Ok` when ready, else why not.
    pub fn status(&self) -> Result<(), String> {
        let problems = self.problems.lock().unwrap_or_else(PoisonError::into_inner);
        let mut why: Vec<String> = problems.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let starting = self.starting.load(Ordering::Relaxed);
        if starting > 0 {
            why.push(format!("{starting} source(s) starting"));
        }
        if why.is_empty() {
            Ok(())
        } else {
            Err(why.join("; "))
        }
    }
}

/// One source's readiness flag.
#[derive(Debug, Clone)]
pub struct Ready {
    all: Arc<Health>,
    done: Arc<std::sync::Once>,
}

impl Ready {
    /// The source is ready (once; later calls do nothing).
    pub fn set(&self) {
        self.done.call_once(|| {
            self.all.starting.fetch_sub(1, Ordering::Relaxed);
        });
    }

    /// The source `what` cannot read now (its consumer is gone, its server
    /// unreachable): not ready, with `reason`, until [`Ready::regained`].
    pub fn lost(&self, what: &str, reason: impl Into<String>) {
        self.all.set_problem(what, reason);
    }

    /// The source `what` reads again.
    pub fn regained(&self, what: &str) {
        self.all.clear_problem(what);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_when_every_source_says_so_and_nothing_is_wrong() {
        let h = Arc::new(Health::default());
        assert!(h.status().is_ok());
        let (a, b) = (h.register(), h.register());
        a.set();
        a.set();
        assert!(h.status().unwrap_err().contains("1 source(s) starting"));
        b.set();
        assert!(h.status().is_ok());
        h.set_problem("events output", "No space left on device");
        assert_eq!(
            h.status().unwrap_err(),
            "events output: No space left on device"
        );
        h.clear_problem("events output");
        assert!(h.status().is_ok());
    }
}
