//! Helpers shared by the integration tests: scanning through the library
//! and locating the shared fixtures.
#![allow(dead_code)]

pub mod daemon;

use std::path::PathBuf;
use std::sync::Arc;

use trtc_logwatch::catalog::CatalogSet;
use trtc_logwatch::lines::LineSplitter;
use trtc_logwatch::matcher::Matcher;
use trtc_logwatch::scan::{Position, SourceScanner, Stats};

/// The matcher over the built-in catalogs, built once per test binary.
pub fn matcher() -> Arc<Matcher> {
    static M: std::sync::OnceLock<Arc<Matcher>> = std::sync::OnceLock::new();
    Arc::clone(
        M.get_or_init(|| Arc::new(Matcher::new(Arc::new(CatalogSet::builtin().unwrap())).unwrap())),
    )
}

/// Scans `input` through the library; returns the events as JSON values.
pub fn scan_lib(m: &Arc<Matcher>, input: &[u8], limit: usize) -> (Vec<serde_json::Value>, Stats) {
    let mut sc = SourceScanner::new(Arc::clone(m), "test", limit, Position::default());
    let mut split = LineSplitter::new(limit);
    let mut out = Vec::new();
    sc.read_all(input, &mut split, &mut |ev| {
        out.push(serde_json::to_value(ev).unwrap());
        Ok(())
    })
    .unwrap();
    (out, sc.stats)
}

/// A data file of this repository, checked against the shared copy when
/// `../shared` is present beside the checkout.
pub fn data(name: &str, shared: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("tests/data").join(name)).unwrap();
    let theirs = root.join("..").join("shared").join(shared);
    if let Ok(t) = std::fs::read_to_string(&theirs) {
        assert_eq!(
            t,
            text,
            "tests/data/{name} differs from {}",
            theirs.display()
        );
    }
    text
}
