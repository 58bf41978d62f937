//! The bounded queue between the sources and the sink; sources queue
//! through their [`Emitter`](super::emitter::Emitter).
//!
//! Sources and the sink know this module, never each other. Messages keep
//! their order: a source queues a file's events before that file's
//! [`SinkMsg::Commit`], so the sink never writes a checkpoint ahead of the
//! events it covers.
//!
//! Events travel in batches ([`Batch`]): an emitter collects the events of
//! one read block (at most [`BATCH_EVENTS`] or [`BATCH_BYTES`]) and queues
//! them as one message, so a storm costs one hand-over between the threads
//! per batch, not per event. The capacity counts events, not messages.
//!
//! A full queue blocks the sender on a condition variable (back-pressure)
//! until there is room; once shutdown begins ([`Sender::begin_shutdown`]) a
//! waiting sender gives up after [`GIVE_UP_AFTER_SHUTDOWN`], so a blocked
//! events output (a pipe nobody reads) cannot keep the process alive.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::state::checkpoint::FileCheckpoint;
use crate::state::fingerprint::FileId;

/// Most events in one batch.
pub const BATCH_EVENTS: u32 = 512;
/// A batch is queued once it holds this many bytes.
pub const BATCH_BYTES: usize = 128 * 1024;

/// Serialised events, each ending in a newline, in order.
#[derive(Debug, Default)]
pub struct Batch {
    /// The events' bytes.
    pub bytes: Vec<u8>,
    /// How many events `bytes` holds.
    pub events: u32,
}

impl Batch {
    pub(super) fn is_full(&self) -> bool {
        self.events >= BATCH_EVENTS || self.bytes.len() >= BATCH_BYTES
    }
}

/// What travels from the sources to the sink, in order.
#[derive(Debug)]
pub enum SinkMsg {
    /// Serialised events.
    Events(Batch),
    /// A file's position: everything before it has been queued.
    Commit(FileCheckpoint),
    /// A file that is closed for good (drained after rotation).
    Forget(FileId),
    /// Fired once every event queued before it is written to the output
    /// (HTTP ingest answers its request then).
    Ack(tokio::sync::oneshot::Sender<()>),
    /// Dropped once every event queued before it is written (a request's
    /// charge on its memory budget, held until its events are out).
    Hold(Held),
    /// Flush, write checkpoints and stop.
    Shutdown,
}

/// Something the sink keeps until the events before it are written, then
/// drops.
pub struct Held(
    #[allow(dead_code, reason = "kept only to be dropped")] Box<dyn std::any::Any + Send>,
);

impl Held {
    /// Holds `v`.
    pub fn new(v: impl std::any::Any + Send) -> Self {
        Self(Box::new(v))
    }
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Held")
    }
}

/// How long a sender keeps waiting for room after shutdown began. A
/// healthy sink drains far faster.
pub const GIVE_UP_AFTER_SHUTDOWN: Duration = Duration::from_millis(1500);

/// The sink has stopped (or shutdown gave up on it); nothing more can be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the events sink has stopped")]
pub struct Closed;

/// Why [`Receiver::recv_timeout`] returned without a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvError {
    /// Nothing arrived in time.
    Timeout,
    /// Every sender is gone and the queue is empty.
    Disconnected,
}

impl SinkMsg {
    /// The room it takes in the queue: its events, at least 1.
    fn weight(&self) -> usize {
        match self {
            SinkMsg::Events(b) => (b.events as usize).max(1),
            _ => 1,
        }
    }
}

#[derive(Debug)]
struct State {
    queue: VecDeque<SinkMsg>,
    /// The summed [`SinkMsg::weight`] of `queue`.
    weight: usize,
    senders: usize,
    receiver: bool,
    shutdown_at: Option<Instant>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    not_full: Condvar,
    not_empty: Condvar,
    capacity: usize,
}

impl State {
    /// Room for messages of `weight`: within the capacity, or the queue is
    /// empty (a batch larger than the whole capacity still goes, alone).
    fn has_room(&self, weight: usize, capacity: usize) -> bool {
        self.queue.is_empty() || self.weight + weight <= capacity
    }

    fn push(&mut self, m: SinkMsg) {
        self.weight += m.weight();
        self.queue.push_back(m);
    }

    fn pop(&mut self) -> Option<SinkMsg> {
        let m = self.queue.pop_front()?;
        self.weight -= m.weight();
        Some(m)
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves a consistent queue: go on.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The sending half; cloned by every source.
#[derive(Debug)]
pub struct Sender {
    shared: Arc<Shared>,
}

/// The receiving half, owned by the sink.
#[derive(Debug)]
pub struct Receiver {
    shared: Arc<Shared>,
}

/// A queue that holds at most `capacity` messages (at least 1).
pub fn bounded(capacity: usize) -> (Sender, Receiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::with_capacity(capacity.clamp(1, 1024)),
            weight: 0,
            senders: 1,
            receiver: true,
            shutdown_at: None,
        }),
        not_full: Condvar::new(),
        not_empty: Condvar::new(),
        capacity: capacity.max(1),
    });
    (
        Sender {
            shared: Arc::clone(&shared),
        },
        Receiver { shared },
    )
}

impl Clone for Sender {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.shared.lock().senders -= 1;
        self.shared.not_empty.notify_all();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.lock().receiver = false;
        self.shared.not_full.notify_all();
    }
}

impl Sender {
    /// Queues `m`, waiting for room (back-pressure); after shutdown began,
    /// waits at most until [`GIVE_UP_AFTER_SHUTDOWN`] past its start.
    pub fn send(&self, m: SinkMsg) -> Result<(), Closed> {
        self.send_until(m, None, true)
    }

    /// Queues `m`, waiting for room until `deadline` at the latest.
    pub fn send_before(&self, m: SinkMsg, deadline: Instant) -> Result<(), Closed> {
        self.send_until(m, Some(deadline), true)
    }

    /// Queues `m`, waiting for room until `deadline`, if any. `wake:
    /// false` leaves the sink asleep unless the queue is half full: for a
    /// batch in the middle of a read block, whose end wakes it (a storm
    /// wakes the sink once a block, not once a batch: each wake is a
    /// context switch on a busy core).
    pub(super) fn send_until(
        &self,
        m: SinkMsg,
        deadline: Option<Instant>,
        wake: bool,
    ) -> Result<(), Closed> {
        let mut st = self.shared.lock();
        loop {
            if !st.receiver {
                return Err(Closed);
            }
            if st.has_room(m.weight(), self.shared.capacity) {
                st.push(m);
                let wake = wake || st.weight * 2 >= self.shared.capacity;
                drop(st);
                if wake {
                    self.shared.not_empty.notify_one();
                }
                return Ok(());
            }
            // Full: the sink must be awake to make room.
            self.shared.not_empty.notify_one();
            let give_up = st.shutdown_at.map(|t| t + GIVE_UP_AFTER_SHUTDOWN);
            let limit = match (deadline, give_up) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            st = match limit {
                None => self
                    .shared
                    .not_full
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(limit) => {
                    let left = limit.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Closed);
                    }
                    self.shared
                        .not_full
                        .wait_timeout(st, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// Queues `m` if there is room now; gives it back otherwise.
    pub fn try_send(&self, m: SinkMsg) -> Result<(), Result<SinkMsg, Closed>> {
        self.try_send_waking(m, true)
    }

    /// [`try_send`](Self::try_send), waking the sink as
    /// [`send_until`](Self::send_until) does.
    pub(super) fn try_send_waking(
        &self,
        m: SinkMsg,
        wake: bool,
    ) -> Result<(), Result<SinkMsg, Closed>> {
        let mut st = self.shared.lock();
        if !st.receiver {
            return Err(Err(Closed));
        }
        if !st.has_room(m.weight(), self.shared.capacity) {
            drop(st);
            self.shared.not_empty.notify_one();
            return Err(Ok(m));
        }
        st.push(m);
        let wake = wake || st.weight * 2 >= self.shared.capacity;
        drop(st);
        if wake {
            self.shared.not_empty.notify_one();
        }
        Ok(())
    }

    /// Queues all of `ms` if there is room for all of them now (nothing
    /// otherwise): gives them back when full.
    pub fn try_send_all(&self, ms: Vec<SinkMsg>) -> Result<(), Result<Vec<SinkMsg>, Closed>> {
        let mut st = self.shared.lock();
        if !st.receiver {
            return Err(Err(Closed));
        }
        let weight: usize = ms.iter().map(SinkMsg::weight).sum();
        if !st.has_room(weight, self.shared.capacity) {
            return Err(Ok(ms));
        }
        for m in ms {
            st.push(m);
        }
        drop(st);
        self.shared.not_empty.notify_one();
        Ok(())
    }

    /// Shutdown has begun: senders waiting for room give up
    /// [`GIVE_UP_AFTER_SHUTDOWN`] from now.
    pub fn begin_shutdown(&self) {
        let mut st = self.shared.lock();
        st.shutdown_at.get_or_insert_with(Instant::now);
        drop(st);
        self.shared.not_full.notify_all();
    }
}

impl Receiver {
    /// The next message, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<SinkMsg, RecvError> {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        loop {
            if let Some(m) = st.pop() {
                drop(st);
                self.shared.not_full.notify_one();
                return Ok(m);
            }
            if st.senders == 0 {
                return Err(RecvError::Disconnected);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RecvError::Timeout);
            }
            st = self
                .shared
                .not_empty
                .wait_timeout(st, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Events (and control messages) waiting.
    pub fn len(&self) -> usize {
        self.shared.lock().weight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(n: u8) -> SinkMsg {
        SinkMsg::Events(Batch {
            bytes: vec![n],
            events: 1,
        })
    }

    fn got(m: SinkMsg) -> u8 {
        match m {
            SinkMsg::Events(b) => b.bytes[0],
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_full_queue_blocks_until_the_receiver_takes_one() {
        let (tx, rx) = bounded(2);
        tx.send(ev(1)).unwrap();
        tx.send(ev(2)).unwrap();
        assert!(matches!(tx.try_send(ev(3)), Err(Ok(_))));
        let t = std::thread::spawn(move || tx.send(ev(3)));
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(rx.len(), 2);
        let order: Vec<u8> = (0..3)
            .map(|_| got(rx.recv_timeout(Duration::from_secs(5)).unwrap()))
            .collect();
        assert_eq!(order, [1, 2, 3]);
        assert_eq!(t.join().unwrap(), Ok(()));
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(10)).unwrap_err(),
            RecvError::Disconnected
        );
    }

    /// Batches within a block do not wake the sink, but a queue that
    /// fills does, and the block's last batch does: nothing waits for the
    /// sink's timeout, nothing is lost, the order holds.
    #[test]
    fn quiet_sends_wake_the_receiver_when_the_queue_fills_and_at_the_end() {
        let (tx, rx) = bounded(4);
        let t = std::thread::spawn(move || {
            (0..40)
                .map(|_| rx.recv_timeout(Duration::from_secs(10)).map(got))
                .collect::<Vec<_>>()
        });
        for i in 1..40 {
            if i % 2 == 0 {
                tx.send_until(ev(i), None, false).unwrap();
            } else {
                // The dropping policy's quiet send: retried until it fits.
                let mut m = ev(i);
                while let Err(back) = tx.try_send_waking(m, false) {
                    m = back.unwrap();
                    std::thread::yield_now();
                }
            }
        }
        tx.send(ev(40)).unwrap();
        let got: Vec<u8> = t.join().unwrap().into_iter().map(Result::unwrap).collect();
        assert_eq!(got, (1..=40).collect::<Vec<u8>>());
    }

    #[test]
    fn senders_give_up_after_shutdown_and_when_the_receiver_is_gone() {
        let (tx, rx) = bounded(1);
        tx.send(ev(1)).unwrap();
        let soon = Instant::now() + Duration::from_millis(20);
        assert_eq!(tx.send_before(ev(2), soon), Err(Closed));
        tx.begin_shutdown();
        let t0 = Instant::now();
        assert_eq!(tx.send(ev(2)), Err(Closed));
        assert!(t0.elapsed() >= GIVE_UP_AFTER_SHUTDOWN - Duration::from_millis(50));
        drop(rx);
        assert_eq!(tx.send(ev(3)), Err(Closed));
    }

    #[test]
    fn capacity_counts_events_and_a_large_batch_goes_alone() {
        let batch = |events| {
            SinkMsg::Events(Batch {
                bytes: vec![b'x'],
                events,
            })
        };
        let (tx, rx) = bounded(10);
        tx.send(batch(6)).unwrap();
        assert!(matches!(tx.try_send(batch(5)), Err(Ok(_))), "6 + 5 > 10");
        tx.send(batch(4)).unwrap();
        assert_eq!(rx.len(), 10);
        rx.recv_timeout(Duration::from_secs(1)).unwrap();
        rx.recv_timeout(Duration::from_secs(1)).unwrap();
        assert_eq!(rx.len(), 0);
        tx.send(batch(50)).unwrap();
        assert!(matches!(tx.try_send(batch(1)), Err(Ok(_))));
    }

    #[test]
    fn receiver_times_out_while_senders_live() {
        let (_tx, rx) = bounded(1);
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(10)).unwrap_err(),
            RecvError::Timeout
        );
        assert_eq!(rx.len(), 0);
    }
}
