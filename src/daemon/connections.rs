//! The HTTP connections open now, and which of them wait on their client.
//!
//! A server with a connection cap can be filled by clients that send
//! slowly (headers or a body a byte at a time): every slot taken, each
//! until its timeout. So when the cap is reached, a new connection takes
//! the slot of the connection that has waited longest on its client (for
//! the headers of its next request, for the rest of its body, or to read
//! an answer), if that wait is at least [`MIN_WAIT`]; only when none has,
//! the new connection is refused. A client that sends its request at once
//! never waits that long, so slow clients cannot lock well-behaved ones
//! out; they only push each other out.
//!
//! A connection waits on its client from the moment it opens or its last
//! answer is ready, and again while its request's body comes; it is busy
//! from the end of its body until its answer is ready.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// A connection waiting on its client for less than this is never pushed
/// out (a burst of new connections does not push out each other).
pub const MIN_WAIT: Duration = Duration::from_secs(1);

/// Marks a busy connection in [`Conn::waiting_since`].
const BUSY: u64 = 0;

/// One open connection.
#[derive(Debug)]
pub struct Conn {
    /// Milliseconds since the table's epoch, plus one, since the connection
    /// waits on its client; [`BUSY`] while it is not waiting.
    waiting_since: AtomicU64,
    /// A request's body is coming (its headers came, its answer is not
    /// ready).
    receiving: AtomicBool,
    /// Cancelled when a new connection takes this one's slot.
    pushed_out: CancellationToken,
}

impl Conn {
    /// Cancelled when the connection must close to make room.
    pub fn pushed_out(&self) -> &CancellationToken {
        &self.pushed_out
    }

    /// True while a request's body is coming.
    pub fn receiving(&self) -> bool {
        self.receiving.load(Ordering::Relaxed)
    }
}

/// The connections of one listener, at most `max`.
#[derive(Debug)]
pub struct Connections {
    max: usize,
    epoch: Instant,
    next: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
}

/// What [`Connections::admit`] decided.
#[derive(Debug)]
pub enum Admit {
    /// Room was free.
    Open(Slot),
    /// The slot of a connection that waited long on its client.
    PushedOut(Slot),
    /// Every connection is busy or has waited less than [`MIN_WAIT`].
    Refused,
}

impl Connections {
    /// A table for at most `max` connections.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            // An hour back, so that "now minus a wait" never underflows.
            epoch: Instant::now()
                .checked_sub(Duration::from_secs(3600))
                .unwrap_or_else(Instant::now),
            next: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
    }

    /// A slot for a new connection (see the module docs).
    pub fn admit(self: &Arc<Self>) -> Admit {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let mut pushed = false;
        if open.len() >= self.max {
            let now = self.now();
            let min = u64::try_from(MIN_WAIT.as_millis()).unwrap_or(u64::MAX);
            let longest = open
                .iter()
                .filter_map(|(id, c)| {
                    let since = c.waiting_since.load(Ordering::Relaxed);
                    (since != BUSY && now.saturating_sub(since) >= min).then_some((since, *id))
                })
                .min();
            let Some((_, id)) = longest else {
                return Admit::Refused;
            };
            if let Some(c) = open.remove(&id) {
                c.pushed_out.cancel();
            }
            pushed = true;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            waiting_since: AtomicU64::new(self.now()),
            receiving: AtomicBool::new(false),
            pushed_out: CancellationToken::new(),
        });
        open.insert(id, Arc::clone(&conn));
        let slot = Slot {
            table: Arc::clone(self),
            id,
            conn,
        };
        if pushed {
            Admit::PushedOut(slot)
        } else {
            Admit::Open(slot)
        }
    }
}

/// One connection's place in the table; given back on drop.
#[derive(Debug)]
pub struct Slot {
    table: Arc<Connections>,
    id: u64,
    conn: Arc<Conn>,
}

impl Slot {
    /// The connection.
    pub fn conn(&self) -> &Conn {
        &self.conn
    }

    /// The connection's answer is ready: it waits on its client (to read
    /// it, and for its next request) from now on.
    pub fn answered(&self) {
        self.conn.receiving.store(false, Ordering::Relaxed);
        self.conn
            .waiting_since
            .store(self.table.now(), Ordering::Relaxed);
    }

    /// A request's headers came; its body comes now: the connection waits
    /// on its client.
    fn receiving(&self) {
        self.conn.receiving.store(true, Ordering::Relaxed);
        self.conn
            .waiting_since
            .store(self.table.now(), Ordering::Relaxed);
    }

    /// The connection works on a request: never pushed out meanwhile.
    fn busy(&self) {
        self.conn.receiving.store(false, Ordering::Relaxed);
        self.conn.waiting_since.store(BUSY, Ordering::Relaxed);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.table
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

/// A request body that marks its connection busy once it has all come.
pub struct Tracked<B> {
    inner: B,
    slot: Option<Arc<Slot>>,
}

impl<B: http_body::Body + Unpin> Tracked<B> {
    /// `inner`, whose connection (`slot`) waits on its client until the
    /// body's end.
    pub fn new(inner: B, slot: Arc<Slot>) -> Self {
        if inner.is_end_stream() {
            slot.busy();
            return Self { inner, slot: None };
        }
        slot.receiving();
        Self {
            inner,
            slot: Some(slot),
        }
    }
}

impl<B: http_body::Body + Unpin> http_body::Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let r = Pin::new(&mut self.inner).poll_frame(cx);
        let ended = matches!(r, Poll::Ready(None) | Poll::Ready(Some(Err(_))))
            || self.inner.is_end_stream();
        if ended && let Some(slot) = self.slot.take() {
            slot.busy();
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_pushes_out_the_longest_waiting_connection_only() {
        let t = Connections::new(2);
        let Admit::Open(a) = t.admit() else { panic!() };
        let Admit::Open(b) = t.admit() else { panic!() };
        // Both just opened: nobody has waited long enough.
        assert!(matches!(t.admit(), Admit::Refused));
        // `a` waited long on its client; `b` is busy.
        a.conn
            .waiting_since
            .store(t.now() - 5_000, Ordering::Relaxed);
        b.busy();
        let Admit::PushedOut(c) = t.admit() else {
            panic!()
        };
        assert!(a.conn().pushed_out().is_cancelled());
        assert!(!b.conn().pushed_out().is_cancelled());
        // `b` busy, `c` new: refused.
        assert!(matches!(t.admit(), Admit::Refused));
        drop(c);
        drop(a);
        assert!(matches!(t.admit(), Admit::Open(_)));
    }
}
