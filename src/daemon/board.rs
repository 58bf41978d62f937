//! What the daemon's pages show that the workers keep as they go: each
//! key's recent figures and events ([`Recent`], fed by the emitter once a
//! batch), each file source's unread bytes ([`Lags`], set by the file
//! source once a pass) and the browser endpoint's uploads taken and refused
//! by reason ([`Uploads`]). The pages read it; nothing else does.

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
    /// The browser endpoints' uploads taken and refused.
    pub uploads: Uploads,
}

impl Board {
    /// A board whose recent figures are timed by `clock`.
    pub fn new(clock: SharedClock) -> Self {
        Self {
            recent: Recent::with_clock(clock),
            lags: Lags::default(),
            uploads: Uploads::default(),
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

/// Uploads each browser endpoint took, and refused by reason (a fixed set
/// of reasons: bounded).
#[derive(Debug, Default)]
pub struct Uploads(Mutex<BTreeMap<(String, &'static str), u64>>);

/// One source's uploads: its name, how many it took, its refusals by
/// reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceUploads {
    pub source: String,
    pub taken: u64,
    pub refused: Vec<(&'static str, u64)>,
}

/// What [`Uploads::taken`] counts under.
const TAKEN: &str = "";

impl Uploads {
    fn add(&self, source: &str, reason: &'static str) {
        let mut m = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *m.entry((source.to_string(), reason)).or_default() += 1;
    }

    /// An upload `source` took.
    pub fn taken(&self, source: &str) {
        self.add(source, TAKEN);
    }

    /// An upload `source` refused for `reason`.
    pub fn refused(&self, source: &str, reason: &'static str) {
        self.add(source, reason);
    }

    /// Each source's uploads taken and refusals by reason.
    pub fn all(&self) -> Vec<SourceUploads> {
        let m = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<SourceUploads> = Vec::new();
        for ((source, reason), n) in m.iter() {
            if out.last().is_none_or(|s| s.source != *source) {
                out.push(SourceUploads {
                    source: source.clone(),
                    taken: 0,
                    refused: Vec::new(),
                });
            }
            if let Some(last) = out.last_mut() {
                if *reason == TAKEN {
                    last.taken = *n;
                } else {
                    last.refused.push((reason, *n));
                }
            }
        }
        out
    }
}
