//! The list of every kind of input: the one place a new kind is added.

use super::{Register, browser, files, ingest, nats, stdin};

/// Every kind of input, in the order its sources start. Each registers
/// its metrics on the registry and returns its [`Kind`](super::Kind): adding an input
/// is its module and one line here.
pub(crate) const KINDS: [Register; 5] = [
    files::kind,
    stdin::kind,
    nats::kind,
    ingest::kind,
    browser::kind,
];
