//! The one path of an HTTP request body, for every endpoint that takes
//! bodies from the network (HTTP ingest, the browser endpoint): received
//! within a size limit and a time ([`RequestPath::receive`]), each chunk
//! charged to the endpoint's memory [`Budget`]; decoded and worked on by
//! one of a bounded set of workers on a blocking thread
//! ([`RequestPath::work`]); its records scanned through a holding pipeline
//! and its events committed to the queue whole or not at all
//! ([`RequestPath::commit`]). What stops a request is a [`Halt`], which
//! each endpoint answers in its own words; nothing of a stopped request
//! reaches the queue or the counters.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::HeaderMap;
use tokio::sync::{Semaphore, oneshot, watch};

use super::budget::{Budget, Charge};
use super::feed::{self, Feed};
use super::http_body::{BodyEncoding, BodyError, decompress, encoding_of, receive};
use crate::daemon::emitter::{CommitError, Emitter};
use crate::daemon::generation::Generation;
use crate::daemon::metrics::Metrics;
use crate::daemon::metrics::Witness;
use crate::daemon::queue::Held;
use crate::scan::Stats;

/// Why a request went no further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Halt {
    /// Its body: too large as sent or decoded, over the memory budget, in
    /// an encoding not decoded here, or not what it says it is.
    Body(BodyError),
    /// The body did not come within the endpoint's body timeout.
    SlowBody(Duration),
    /// No worker was free within the endpoint's wait.
    WorkersBusy,
    /// The queue had no room for its events (`events` of them).
    QueueFull {
        /// The events the request would have queued.
        events: u64,
    },
    /// The daemon is shutting down.
    ShuttingDown,
    /// The request's worker failed.
    WorkerFailed,
}

impl From<BodyError> for Halt {
    fn from(e: BodyError) -> Self {
        Halt::Body(e)
    }
}

/// How a request's events are committed.
#[derive(Debug)]
pub(crate) struct Terms<'b> {
    /// Sent once the events are written, for a caller that waits for the
    /// write (ingest); `None`: the charge goes with the events.
    pub(crate) ack: Option<oneshot::Sender<()>>,
    /// At most this many events handed on; the rest are counted.
    pub(crate) limit: Option<u64>,
    /// Who sent them.
    pub(crate) by: Witness,
    /// The body as text, when it is one user's records in order (a
    /// browser's upload): its events carry breadcrumbs.
    pub(crate) body: Option<&'b [u8]>,
}

/// What a committed request read and queued.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Committed {
    /// What it read.
    pub read: Stats,
    /// The events queued.
    pub written: u64,
    /// The events beyond its cap, not queued nor counted as errors.
    pub capped: u64,
}

/// An endpoint's limits on the path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PathLimits {
    /// Largest body, as sent and decoded.
    pub max_body_bytes: usize,
    /// Time the whole body has to come.
    pub body_timeout: Duration,
    /// Memory all requests in flight hold together.
    pub max_memory_bytes: usize,
    /// Requests decoded and matched at once.
    pub workers: usize,
    /// Longest wait for a worker.
    pub worker_wait: Duration,
}

/// A body as received: its encoding, its bytes and what they hold of the
/// budget.
#[derive(Debug)]
pub(crate) struct Received {
    /// Its `Content-Encoding`.
    pub encoding: BodyEncoding,
    /// The body as sent.
    pub raw: Vec<u8>,
    /// What it holds of the budget, until its events are written.
    pub charge: Charge,
}

/// One endpoint's path: its limits, budget and workers, and the way into
/// the queue its requests share.
#[derive(Debug)]
pub(crate) struct RequestPath {
    limits: PathLimits,
    budget: Arc<Budget>,
    workers: Arc<Semaphore>,
    current: watch::Receiver<Arc<Generation>>,
    emitter: Emitter,
    metrics: Arc<Metrics>,
}

impl RequestPath {
    /// A path within `limits`, into `emitter`'s queue.
    pub(crate) fn new(
        limits: PathLimits,
        current: watch::Receiver<Arc<Generation>>,
        emitter: Emitter,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            budget: Budget::new(limits.max_memory_bytes, Arc::clone(&metrics)),
            workers: Arc::new(Semaphore::new(limits.workers.max(1))),
            limits,
            current,
            emitter,
            metrics,
        }
    }

    /// `events` of a request were dropped (the queue was full and its
    /// client will not send them again).
    pub(crate) fn dropped(&self, events: u64) {
        self.metrics.events_dropped(events);
    }

    /// A charge of nothing yet on the path's memory budget, for what a
    /// request keeps beyond its body (the relay's copy).
    pub(crate) fn charge(&self) -> Charge {
        self.budget.charge()
    }

    /// Bytes the path's requests (and what they keep) hold now.
    pub(crate) fn in_use(&self) -> usize {
        self.budget.in_use()
    }

    /// The current configuration and catalogs.
    pub(crate) fn current(&self) -> &watch::Receiver<Arc<Generation>> {
        &self.current
    }

    /// The body, whole within the size limit and the body timeout, charged
    /// as it comes; an encoding not decoded here is refused before a byte
    /// is read.
    pub(crate) async fn receive(&self, headers: &HeaderMap, body: Body) -> Result<Received, Halt> {
        let encoding = encoding_of(headers)?;
        let mut charge = self.budget.charge();
        // A client that sends its body a byte at a time holds a connection:
        // the whole body comes within `body_timeout`.
        let raw = tokio::time::timeout(
            self.limits.body_timeout,
            receive(body, headers, self.limits.max_body_bytes, &mut charge),
        )
        .await
        .map_err(|_| Halt::SlowBody(self.limits.body_timeout))??;
        Ok(Received {
            encoding,
            raw,
            charge,
        })
    }

    /// Waits (at most the worker wait) for a worker, then on a blocking
    /// thread decodes the body (charged as it grows) and runs `work` on it.
    /// Returns what `work` returned and the charge, to hold until the
    /// request's events are written; `work` refuses in the endpoint's own
    /// terms (`E`), the path in a [`Halt`].
    pub(crate) async fn work<T, E>(
        &self,
        received: Received,
        work: impl FnOnce(Vec<u8>, &mut Charge) -> Result<T, E> + Send + 'static,
    ) -> Result<(T, Charge), E>
    where
        T: Send + 'static,
        E: From<Halt> + Send + 'static,
    {
        // Decoding and matching take a core each: at most `workers` at once;
        // the others wait, their bodies charged.
        let slot = tokio::time::timeout(
            self.limits.worker_wait,
            Arc::clone(&self.workers).acquire_owned(),
        )
        .await
        .map_err(|_| Halt::WorkersBusy)?
        .map_err(|_| Halt::ShuttingDown)?;
        let max = self.limits.max_body_bytes;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let Received {
                encoding,
                raw,
                mut charge,
            } = received;
            let body = decompress(encoding, raw, max, &mut charge).map_err(Halt::from)?;
            let done = work(body, &mut charge)?;
            Ok((done, charge))
        })
        .await
        .map_err(|_| E::from(Halt::WorkerFailed))?
    }

    /// Scans (with `scan`) into a holding emitter, its events charged to
    /// `charge` and handed on within `terms`, then queues them all or
    /// nothing, with `terms.ack` for a caller that waits for the write;
    /// one that does not (`None`) leaves its charge with its events, so
    /// what waits in the queue stays within the budget until written.
    /// Counts what was read once it is queued (a refused request is sent
    /// again). Blocking: runs in [`work`](Self::work).
    pub(crate) fn commit(
        &self,
        source: &str,
        charge: &mut Charge,
        terms: Terms<'_>,
        scan: impl FnOnce(&mut Feed<'_>) -> Result<(), feed::Stop>,
    ) -> Result<Committed, Halt> {
        let Terms {
            ack,
            limit,
            by,
            body,
        } = terms;
        let mut emitter = self.emitter.clone().sent_by(by);
        let mut feed = Feed::new(&self.current, &mut emitter, &self.metrics, source)
            .holding()
            .charged(charge);
        if let Some(l) = limit {
            feed = feed.capped_at(l);
        }
        if let Some(b) = body {
            feed = feed.with_breadcrumbs(b);
        }
        match scan(&mut feed) {
            Ok(()) => {}
            Err(feed::Stop::OverBudget(o)) => return Err(Halt::Body(o.into())),
            Err(feed::Stop::Closed) => return Err(Halt::ShuttingDown),
        }
        let read = feed.held();
        let capped = feed.capped();
        drop(feed);
        let hold = ack
            .is_none()
            .then(|| Held::new(std::mem::replace(charge, self.budget.charge())));
        match emitter.try_commit(ack, hold) {
            Ok(()) => {}
            Err(CommitError::Full) => {
                return Err(Halt::QueueFull {
                    events: read.events,
                });
            }
            Err(CommitError::Closed) => return Err(Halt::ShuttingDown),
        }
        self.metrics.read(source, &read);
        Ok(Committed {
            written: read.events - capped,
            read,
            capped,
        })
    }
}
