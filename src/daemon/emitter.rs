//! The [`Emitter`]: what each source holds to count, serialise and queue
//! its events. It counts each event in the metrics (once per key and
//! batch), keeps the pages' recent figures on the board, samples storms,
//! renders events into the current [`Batch`] and queues full batches by
//! the overflow policy; a holding emitter (an HTTP request) queues its
//! events whole or not at all.

use std::collections::HashMap;
use std::sync::Arc;

use crate::catalog::{CatalogSet, EntryId};
use crate::event::Event;

use super::affected::{self, Hit};
use super::board::Board;
use super::clock::SharedClock;
use super::config::Overflow;
use super::generation::Generation;
use super::metrics::{Metrics, Witness};
use super::queue::{BATCH_BYTES, Batch, Closed, Held, Sender, SinkMsg};
use super::recent::{Sample, UserEvent};
use super::sampling::{Rate, Sampler, Verdict};

/// What each source holds: counts each event in the metrics, serialises
/// it into the current batch and queues full batches according to the
/// overflow policy. A source calls [`Emitter::flush`] after each read block;
/// [`Emitter::send`] flushes first, so control messages stay behind the
/// events before them.
#[derive(Debug)]
pub struct Emitter {
    tx: Sender,
    metrics: Arc<Metrics>,
    /// The pages' recent figures, when there are pages.
    board: Option<Arc<Board>>,
    overflow: Overflow,
    sampler: Option<Arc<Sampler>>,
    batch: Batch,
    counts: Counts,
    /// Collect every event until [`Emitter::try_commit`] (HTTP ingest: a
    /// request is queued whole or not at all).
    hold: bool,
    /// Who sent the events: version and browser labels from an untrusted
    /// client wait for several clients.
    witness: Witness,
}

/// Why [`Emitter::try_commit`] queued nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitError {
    /// No room in the queue now (answer 503, the client retries).
    Full,
    /// The sink has stopped.
    Closed,
}

/// Events counted since the last flush, per entry and cause, with the
/// catalogs their ids belong to: the metrics are updated once per key and
/// batch, not once per event.
#[derive(Debug, Default)]
struct Counts {
    set: Option<Arc<CatalogSet>>,
    by_entry: HashMap<(EntryId, Option<EntryId>), u64>,
    /// Each event's entry and hashed user and room ids, for
    /// [`crate::daemon::affected`].
    hits: Vec<(EntryId, Option<EntryId>, Hit)>,
    /// Events per entry, cause and SDK version, and per entry, cause and
    /// browser (a batch holds few of each: looked up in a list).
    versions: Tally,
    browsers: Tally,
    /// A few events for the daemon's pages: the first of each key in the
    /// batch.
    samples: Vec<(EntryId, Option<EntryId>, Sample)>,
    /// Errors of named users for their pages: the first of each user and
    /// key in a batch, at most [`USER_SAMPLES`] a batch.
    /// Each with its user's hash, the cheap test of whether it is there.
    user_samples: Vec<(u64, String, EntryId, Option<EntryId>, Sample)>,
}

/// Users' errors kept a batch, at most.
const USER_SAMPLES: usize = 32;

/// Events per entry, cause and a label value.
type Tally = Vec<((EntryId, Option<EntryId>, String), u64)>;

/// Adds one to `value`'s count in `list`.
fn tally(list: &mut Tally, entry: EntryId, cause: Option<EntryId>, value: &str) {
    match list
        .iter_mut()
        .find(|((e, c, v), _)| *e == entry && *c == cause && v == value)
    {
        Some((_, n)) => *n += 1,
        None => list.push(((entry, cause, value.to_string()), 1)),
    }
}

impl Clone for Emitter {
    /// Another emitter on the same queue, with an empty batch of its own.
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            metrics: Arc::clone(&self.metrics),
            board: self.board.clone(),
            overflow: self.overflow,
            sampler: self.sampler.clone(),
            batch: Batch::default(),
            counts: Counts::default(),
            hold: false,
            witness: Witness::Trusted,
        }
    }
}

impl Emitter {
    /// An emitter over `tx`.
    pub fn new(tx: Sender, metrics: Arc<Metrics>, overflow: Overflow) -> Self {
        Self {
            tx,
            metrics,
            board: None,
            overflow,
            sampler: None,
            batch: Batch::default(),
            counts: Counts::default(),
            hold: false,
            witness: Witness::Trusted,
        }
    }

    /// The events come from `by` (an untrusted client: the labels its
    /// versions and browsers would take wait for several clients).
    pub(crate) fn sent_by(mut self, by: Witness) -> Self {
        self.witness = by;
        self
    }

    /// Who sent the events.
    pub(crate) fn witness(&self) -> Witness {
        self.witness
    }

    /// Keeps the pages' recent figures and events on `board`.
    pub fn with_board(mut self, board: Arc<Board>) -> Self {
        self.board = Some(board);
        self
    }

    /// Writes at most `limit` events per source and key (`None`: all),
    /// in windows timed by `clock`.
    pub fn with_sampling(mut self, limit: Option<Rate>, clock: &SharedClock) -> Self {
        self.sampler = limit.map(|l| Arc::new(Sampler::with_clock(l, Arc::clone(clock))));
        self
    }

    /// Counts the event, writes it with the renderer of `g` (the generation
    /// that found it) into the batch, and queues the batch when it is full;
    /// only a stopped sink is an error.
    pub fn event(&mut self, g: &Generation, ev: &Event<'_>) -> Result<(), Closed> {
        let set = g.matcher.catalog();
        if !self
            .counts
            .set
            .as_ref()
            .is_some_and(|s| Arc::ptr_eq(s, set))
        {
            self.count_flush();
            self.counts.set = Some(Arc::clone(set));
        }
        let (entry, cause, _) = ev.ids;
        let in_batch = self.counts.by_entry.entry((entry, cause)).or_insert(0);
        *in_batch += 1;
        // The first event of each key in a batch is kept for the pages.
        if *in_batch == 1 {
            self.counts.samples.push((entry, cause, Sample::of(ev)));
        }
        let c = &ev.context;
        let user = c.user_id.as_deref().map(affected::id_hash);
        if self.board.is_some()
            && self.counts.user_samples.len() < USER_SAMPLES
            && let (Some(u), Some(h)) = (&c.user_id, user)
            && !self
                .counts
                .user_samples
                .iter()
                .any(|(sh, su, se, _, _)| *sh == h && *se == entry && su == u)
        {
            self.counts
                .user_samples
                .push((h, u.clone(), entry, cause, Sample::of(ev)));
        }
        if let Some(v) = &c.sdk_version {
            tally(&mut self.counts.versions, entry, cause, v);
        }
        if let Some(b) = &c.browser {
            tally(&mut self.counts.browsers, entry, cause, b);
        }
        if c.user_id.is_some() || c.room_id.is_some() {
            self.counts.hits.push((
                entry,
                cause,
                Hit {
                    user,
                    room: c.room_id.as_deref().map(affected::id_hash),
                },
            ));
        }
        let r = &g.renderer;
        let before = match &self.sampler {
            None => None,
            Some(s) => match s.admit(ev.source, ev.key) {
                Verdict::Write(before) => before,
                Verdict::Suppress => {
                    self.metrics.event_suppressed(ev.key);
                    return Ok(());
                }
            },
        };
        if self.batch.bytes.capacity() == 0 {
            self.batch.bytes.reserve(BATCH_BYTES + 8 * 1024);
        }
        r.write_sampled(ev, before, &mut self.batch.bytes);
        self.batch.bytes.push(b'\n');
        self.batch.events += 1;
        if self.batch.is_full() && !self.hold {
            return self.queue_batch(false);
        }
        Ok(())
    }

    /// Bytes of the events a holding emitter keeps now.
    pub fn held_bytes(&self) -> usize {
        self.batch.bytes.capacity()
    }

    /// Keeps every event from now on until [`try_commit`](Self::try_commit)
    /// (set by a holding feed, `Feed::holding`, with its own flag).
    pub(crate) fn hold(&mut self) {
        self.hold = true;
    }

    /// Queues the events collected, then `ack`, both or neither: on `Full`
    /// they are dropped uncounted (the client sends them again).
    pub fn try_commit(
        &mut self,
        ack: Option<tokio::sync::oneshot::Sender<()>>,
        hold: Option<Held>,
    ) -> Result<(), CommitError> {
        let batch = std::mem::take(&mut self.batch);
        let mut ms = Vec::with_capacity(3);
        if batch.events > 0 {
            ms.push(SinkMsg::Events(batch));
        }
        ms.extend(ack.map(SinkMsg::Ack));
        ms.extend(hold.map(SinkMsg::Hold));
        if ms.is_empty() {
            return Ok(());
        }
        match self.tx.try_send_all(ms) {
            Ok(()) => {
                self.count_flush();
                Ok(())
            }
            Err(Ok(_)) => {
                self.counts.by_entry.clear();
                self.counts.hits.clear();
                self.counts.versions.clear();
                self.counts.browsers.clear();
                self.counts.samples.clear();
                self.counts.user_samples.clear();
                Err(CommitError::Full)
            }
            Err(Err(Closed)) => Err(CommitError::Closed),
        }
    }

    /// Adds the events counted so far to the metrics.
    fn count_flush(&mut self) {
        if let Some(set) = &self.counts.set {
            let recent = self.board.as_deref().map(|b| &b.recent);
            let names = |id: EntryId| {
                let e = set.entry(id);
                (e.catalog.as_str(), e.key.as_str())
            };
            for ((entry, cause), n) in self.counts.by_entry.drain() {
                self.metrics.error_events(set, entry, cause, n);
                if let Some(r) = recent {
                    let (catalog, key) = names(entry);
                    let group = crate::catalog::group_of(set, entry, cause);
                    r.count(catalog, key, n);
                    r.key_group(catalog, key, group, n);
                    r.count_group(group, n);
                }
            }
            self.metrics.affected(set, &mut self.counts.hits);
            self.counts.hits.clear();
            for (_, user, id, cause, sample) in self.counts.user_samples.drain(..) {
                if let Some(r) = recent {
                    r.user_event(
                        &user,
                        UserEvent {
                            key: names(id).1.to_string(),
                            group: crate::catalog::group_of(set, id, cause),
                            sample,
                        },
                    );
                }
            }
            for (id, cause, s) in self.counts.samples.drain(..) {
                if let Some(r) = recent {
                    let (catalog, key) = names(id);
                    r.sample_group(crate::catalog::group_of(set, id, cause), s.clone());
                    r.sample(catalog, key, s);
                }
            }
            for ((entry, cause, version), n) in self.counts.versions.drain(..) {
                let v = self
                    .metrics
                    .by_version(set, entry, cause, &version, n, self.witness);
                if let Some(r) = recent {
                    let (catalog, key) = names(entry);
                    r.version(catalog, key, &v, n);
                }
            }
            for ((entry, cause, browser), n) in self.counts.browsers.drain(..) {
                let b = self
                    .metrics
                    .by_browser(set, entry, cause, &browser, n, self.witness);
                if let Some(r) = recent {
                    let (catalog, key) = names(entry);
                    r.browser(catalog, key, &b, n);
                }
            }
        }
    }

    /// Counts and queues the events collected so far.
    pub fn flush(&mut self) -> Result<(), Closed> {
        self.queue_batch(true)
    }

    /// Counts and queues the events collected so far; `wake`: the sink is
    /// woken (at the end of a read block), else only when the queue is
    /// half full (a full batch within a block).
    fn queue_batch(&mut self, wake: bool) -> Result<(), Closed> {
        self.count_flush();
        if self.batch.events == 0 {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let m = SinkMsg::Events(batch);
        match self.overflow {
            Overflow::Block => self.tx.send_until(m, None, wake),
            Overflow::Drop => match self.tx.try_send_waking(m, wake) {
                Ok(()) => Ok(()),
                Err(Ok(SinkMsg::Events(b))) => {
                    self.metrics.events_dropped(u64::from(b.events));
                    Ok(())
                }
                Err(Ok(_)) => Ok(()),
                Err(Err(c)) => Err(c),
            },
        }
    }

    /// Queues the events collected so far, then a control message (commit,
    /// forget, ack), waiting for room. With `overflow: drop` a checkpoint
    /// message finds no room is left out instead (a later commit of the same
    /// file covers it; events are being dropped anyway): a reader must never
    /// wait on a sink that cannot write, or it stops reading at all.
    pub fn send(&mut self, m: SinkMsg) -> Result<(), Closed> {
        self.flush()?;
        let checkpoint = matches!(m, SinkMsg::Commit(_) | SinkMsg::Forget(_));
        if self.overflow == Overflow::Drop && checkpoint {
            return match self.tx.try_send(m) {
                Ok(()) | Err(Ok(_)) => Ok(()),
                Err(Err(c)) => Err(c),
            };
        }
        self.tx.send(m)
    }
}

impl Drop for Emitter {
    /// A source that ends hands over what it collected (a stopped sink
    /// refuses it, as it would have refused each event). A holding emitter
    /// dropped before its commit belongs to a request that was refused: its
    /// events are thrown away, neither written nor counted, and nothing
    /// waits on the output.
    fn drop(&mut self) {
        if self.hold {
            return;
        }
        let _ = self.flush();
    }
}
