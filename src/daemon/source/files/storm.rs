//! Storm buffers: a followed file reads into a small buffer (the line
//! limit plus 64 KiB, so thousands of open files stay cheap), which is too
//! small for a file far behind its end: blocks that small are not worth
//! waking a helper thread for, and each costs its own hand-over. A file at
//! least [`BEHIND`] bytes behind borrows one of [`LEASES`] large buffers
//! for as long as it is behind; at its end it gives it back. So a storm in
//! a few files is read as fast as `run --stdin` reads, and the memory of
//! many followed files stays bounded: `LEASES` x 1 MiB more at most.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Large buffers lent at once, across every file source of the process.
pub const LEASES: usize = 4;

/// How far behind its end a file must be to borrow one.
pub const BEHIND: u64 = 1 << 20;

/// Large buffers and how many are lent.
#[derive(Debug)]
pub struct Pool {
    lent: AtomicUsize,
    max: usize,
}

/// The process's pool, shared by every file source.
pub static POOL: Pool = Pool::new(LEASES);

impl Pool {
    pub const fn new(max: usize) -> Self {
        Self {
            lent: AtomicUsize::new(0),
            max,
        }
    }

    /// A lease, if one is free.
    pub fn take(&'static self) -> Option<Lease> {
        self.lent
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| Lease(self))
    }
}

/// One large buffer lent; given back when dropped.
#[derive(Debug)]
pub struct Lease(&'static Pool);

impl Drop for Lease {
    fn drop(&mut self) {
        self.0.lent.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_max_are_lent_and_each_comes_back() {
        static P: Pool = Pool::new(2);
        let a = P.take();
        let b = P.take();
        assert!(a.is_some() && b.is_some());
        assert!(P.take().is_none());
        drop(a);
        let c = P.take();
        assert!(c.is_some());
        assert!(P.take().is_none());
        drop((b, c));
        assert_eq!(P.lent.load(Ordering::Acquire), 0);
    }
}
