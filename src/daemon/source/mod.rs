//! Sources: where lines come from. Each source runs on a thread of its own
//! and sees the daemon through a [`SourceContext`]: the current
//! configuration and matcher (one swap on reload, read before every
//! block), the [`Emitter`] it queues events and checkpoints into, the
//! metrics, its readiness flag and the cancellation token.
//!
//! A new source (a network ingest, a broker consumer) implements [`Source`]
//! and is started by the daemon like the others; it needs no change to the
//! sink or the matcher.
//!
//! - [`files`]: every file of every file source (discovery, rotation,
//!   checkpoints), with [`tailer`] for one followed file and [`discover`]
//!   for the globs.
//! - [`stdin`]: standard input, to its end.

pub mod discover;
pub mod files;
pub mod stdin;
pub mod tailer;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::Generation;
use super::metrics::Metrics;
use super::queue::Emitter;

/// A source of lines, run on its own thread.
pub trait Source: Send {
    /// Name of the thread (and of the source in the daemon's log).
    fn name(&self) -> String;

    /// True when the source ends by itself (stdin at its end): the daemon
    /// stops once every source has ended.
    fn is_finite(&self) -> bool {
        false
    }

    /// True when the source's thread can be waited for at shutdown (a
    /// blocking read of stdin cannot be interrupted, so stdin is not).
    fn joinable(&self) -> bool {
        true
    }

    /// Reads until `ctx.cancel` (or the end of the input), then queues the
    /// final checkpoints of what it read.
    fn run(self: Box<Self>, ctx: SourceContext);
}

/// What a source sees of the daemon.
#[derive(Debug, Clone)]
pub struct SourceContext {
    /// The current configuration and matcher; changes on reload.
    pub current: watch::Receiver<Arc<Generation>>,
    /// Where events and checkpoints go.
    pub emitter: Emitter,
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// Cancelled when the daemon shuts down.
    pub cancel: CancellationToken,
    /// Marks this source ready (every file open).
    pub ready: Ready,
}

impl SourceContext {
    /// The current generation (configuration and matcher).
    pub fn generation(&self) -> Arc<Generation> {
        Arc::clone(&self.current.borrow())
    }
}

/// Counts the sources that are not ready yet; `/readyz` answers 200 when
/// none is left.
#[derive(Debug, Default)]
pub struct Readiness {
    starting: AtomicUsize,
}

impl Readiness {
    /// A flag for one more source, not ready until it says so.
    pub fn register(self: &Arc<Self>) -> Ready {
        self.starting.fetch_add(1, Ordering::Relaxed);
        Ready {
            all: Arc::clone(self),
            done: Arc::new(std::sync::Once::new()),
        }
    }

    /// True when every registered source is ready.
    pub fn is_ready(&self) -> bool {
        self.starting.load(Ordering::Relaxed) == 0
    }
}

/// One source's readiness flag.
#[derive(Debug, Clone)]
pub struct Ready {
    all: Arc<Readiness>,
    done: Arc<std::sync::Once>,
}

impl Ready {
    /// The source is ready (once; later calls do nothing).
    pub fn set(&self) {
        self.done.call_once(|| {
            self.all.starting.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_when_every_source_says_so_once() {
        let r = Arc::new(Readiness::default());
        assert!(r.is_ready());
        let (a, b) = (r.register(), r.register());
        a.set();
        a.set();
        assert!(!r.is_ready());
        b.set();
        assert!(r.is_ready());
    }
}
