//! What the daemon's pages show that the workers keep as they go: each
//! key's recent figures and events ([`Recent`], fed by the emitter once a
//! batch) and each file source's unread bytes ([`Lags`], set by the file
//! source once a pass). The pages read it; nothing else does.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use super::clock::SharedClock;
use super::recent::Recent;

/// The pages' data, shared by the emitters, the file source and the pages.
#[derive(Debug)]
pub struct Board {
    /// Each key's recent figures and events.
    pub recent: Recent,
    /// Each file source's unread bytes.
    pub lags: Lags,
}

impl Board {
    /// A board whose recent figures are timed by `clock`.
    pub fn new(clock: SharedClock) -> Self {
        Self {
            recent: Recent::with_clock(clock),
            lags: Lags::default(),
        }
    }
}

/// Unread bytes per file source, as last reported.
#[derive(Debug, Default)]
pub struct Lags(Mutex<BTreeMap<String, u64>>);

impl Lags {
    /// `source` has `bytes` written to its files and not read yet.
    pub fn set(&self, source: &str, bytes: u64) {
        let mut m = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match m.get_mut(source) {
            Some(b) => *b = bytes,
            None => {
                m.insert(source.to_string(), bytes);
            }
        }
    }

    /// Every file source's unread bytes, by name.
    pub fn all(&self) -> Vec<(String, u64)> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}
