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
//! Every source reads through a [`crate::pipeline::Pipeline`] into a
//! [`feed::Feed`] (`SourceContext::feed`): the matcher current at each
//! block, the emitter, the counters. Collector bodies are decoded by
//! [`bodies`] for every source that receives them.
//!
//! - [`files`]: every file of every file source (discovery, rotation,
//!   checkpoints), one table of file states.
//! - [`stdin`]: standard input, to its end.
//! - [`nats`]: a NATS JetStream durable pull consumer shared by replicas.
//! - [`ingest`]: HTTP ingest. Not a thread of its own: its requests are
//!   handled by the HTTP server, each through a pipeline of its own.
//! - [`browser`]: the TRTC Web SDK's own log upload, from the browsers
//!   (internet-facing; handled like ingest, with limits of its own).

pub(crate) mod bodies;
pub mod browser;
pub(crate) mod budget;
pub(crate) mod feed;
pub mod files;
pub(crate) mod http_body;
pub(crate) mod ingest;
pub mod nats;
pub mod stdin;

use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::generation::Generation;
use super::health::Ready;
use super::metrics::Metrics;
use super::queue::Emitter;
use feed::Feed;

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
    /// Longest line kept whole, for every pipeline of the source: fixed at
    /// start (a reload that changes it is logged as needing a restart).
    pub max_line_bytes: usize,
}

impl SourceContext {
    /// The way into the queue for one read of the source `source`.
    pub(crate) fn feed<'a>(&'a mut self, source: &'a str) -> Feed<'a> {
        Feed::new(&self.current, &mut self.emitter, &self.metrics, source)
    }
}
