//! Sources: where lines come from. Every input is one component of one
//! shape: a [`Kind`] (registered once at start: its metrics, and the
//! sources the config asks of it) and its [`Source`]s, each started the same
//! way into a [`SourceContext`]: the current configuration and matcher (one
//! swap on reload, read before every block), the [`Emitter`] it queues
//! events and checkpoints into, the shared metrics, the pages' board, its
//! readiness flag and the cancellation token. A source starts as a thread
//! of its own ([`Started::Thread`]) or as an HTTP endpoint the daemon
//! serves with the same limits for each kind ([`Started::Http`]).
//!
//! Every source reads through a [`crate::pipeline::Pipeline`] into a
//! [`feed::Feed`] (`SourceContext::feed`): the matcher current at each
//! block, the emitter, the counters. HTTP bodies take one path
//! ([`request`]): received within limits and time, charged to a memory
//! budget, decoded, scanned and committed whole or not at all.
//!
//! - [`files`]: every file of every file source (discovery, rotation,
//!   checkpoints), one table of file states.
//! - [`stdin`]: standard input, to its end.
//! - [`nats`]: a NATS JetStream durable pull consumer shared by replicas.
//! - [`ingest`]: HTTP ingest from log collectors.
//! - [`browser`]: the TRTC Web SDK's own log upload, from the browsers
//!   (internet-facing; limits of its own).
//!
//! A new input is a module here that implements [`Kind`] and [`Source`],
//! and one line in [`kinds::KINDS`] (ARCHITECTURE.md, "Adding a source").

pub mod browser;
pub(crate) mod budget;
pub(crate) mod feed;
pub mod files;
pub(crate) mod http_body;
pub(crate) mod ingest;
pub(crate) mod kinds;
pub mod nats;
pub(crate) mod request;
pub mod stdin;

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use prometheus_client::registry::Registry;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::board::Board;
use super::config::{Config, ConfigError};
use super::emitter::Emitter;
use super::generation::Generation;
use super::health::Ready;
use super::metrics::Metrics;
use crate::state::checkpoint::FileCheckpoint;
use crate::state::fingerprint::FileId;
use feed::Feed;

/// Registers a kind's metrics and returns the kind.
pub(crate) type Register = fn(&mut Registry) -> Box<dyn Kind>;

/// The checkpoints loaded at start (`None` on a first start), for the
/// sources that resume from them.
pub(crate) type Checkpoints = Option<BTreeMap<FileId, FileCheckpoint>>;

/// One kind of input: what the daemon knows of it.
pub(crate) trait Kind: Send + Sync {
    /// The sources of this kind that `config` asks for (none when it has
    /// no section for it), ready to start; a kind that resumes takes
    /// `resume`.
    fn sources(&self, config: &Config, resume: &mut Checkpoints) -> Vec<Box<dyn Source>>;

    /// Creates the series of each of its sources at 0, so `rate()` and
    /// alerts see them from the first scrape.
    fn declare(&self, config: &Config, metrics: &Metrics);

    /// After a reload to `config`: sources a reload adds are declared
    /// (kinds whose sections only a restart changes do nothing).
    fn reloaded(&self, config: &Config, metrics: &Metrics) {
        let _ = (config, metrics);
    }

    /// The name of its section when a reload from `old` to `new` changes
    /// it but only a restart applies it (a listener, a consumer).
    fn restart_only(&self, old: &Config, new: &Config) -> Option<&'static str> {
        let _ = (old, new);
        None
    }
}

/// A source of lines.
pub(crate) trait Source: Send {
    /// Name of its thread (and of the source in the daemon's log).
    fn name(&self) -> String;

    /// Starts it: binds what it listens on, or hands back the thread to run.
    fn start(self: Box<Self>, ctx: SourceContext) -> Result<Started, StartError>;
}

/// A started source, for the daemon to run.
pub(crate) enum Started {
    /// Runs on a thread of its own until `cancel` (or its input's end).
    Thread(Reader),
    /// Requests served on `listener` by `router`, with the HTTP limits.
    Http {
        /// Bound, not yet accepting.
        listener: tokio::net::TcpListener,
        /// The endpoint's routes.
        router: axum::Router,
    },
}

/// A source's thread.
pub(crate) struct Reader {
    /// Reads until cancelled (or the end of the input), then queues the
    /// final checkpoints of what it read.
    pub run: Box<dyn FnOnce() + Send>,
    /// It ends by itself (stdin at its end): the daemon stops once every
    /// source has ended.
    pub finite: bool,
    /// It can be waited for at shutdown (a blocking read of stdin cannot be
    /// interrupted, so stdin is not).
    pub joinable: bool,
}

impl Started {
    /// A thread that runs until cancelled.
    pub(crate) fn thread(run: impl FnOnce() + Send + 'static) -> Self {
        Started::Thread(Reader {
            run: Box::new(run),
            finite: false,
            joinable: true,
        })
    }
}

/// The one source a config section makes, if the config has the section.
pub(crate) fn from_section<C: Clone>(
    section: Option<&C>,
    make: impl FnOnce(C) -> Box<dyn Source>,
) -> Vec<Box<dyn Source>> {
    section.cloned().map(make).into_iter().collect()
}

/// Why a source could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A resource could not be set up (a listen address).
    #[error("{what}: {source}")]
    Setup {
        /// What was being set up.
        what: String,
        /// The cause.
        source: io::Error,
    },
    /// A setting can be used only now (a token file).
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Binds `addr` for an HTTP source (`what` names it in the error and the
/// log line).
pub(crate) fn bind(addr: SocketAddr, what: &str) -> Result<tokio::net::TcpListener, StartError> {
    let setup = |source| StartError::Setup {
        what: format!("cannot listen for {what} on {addr}"),
        source,
    };
    let std = std::net::TcpListener::bind(addr).map_err(setup)?;
    std.set_nonblocking(true).map_err(setup)?;
    tokio::net::TcpListener::from_std(std).map_err(setup)
}

/// What a source sees of the daemon.
#[derive(Debug, Clone)]
pub struct SourceContext {
    /// The current configuration and matcher; changes on reload.
    pub current: watch::Receiver<Arc<Generation>>,
    /// Where events and checkpoints go.
    pub emitter: Emitter,
    /// The shared metrics.
    pub metrics: Arc<Metrics>,
    /// What the pages show (a file source's lags).
    pub board: Arc<Board>,
    /// Cancelled when the daemon shuts down.
    pub cancel: CancellationToken,
    /// Marks this source ready (every file open; an endpoint bound).
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
