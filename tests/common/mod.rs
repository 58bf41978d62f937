//! Helpers shared by the integration tests: scanning through the library
//! and reading the fixtures in tests/data.
#![allow(dead_code)]

pub mod daemon;
pub mod sdk;

use std::path::PathBuf;
use std::sync::Arc;

use trtc_logwatch::catalog::CatalogSet;
use trtc_logwatch::matcher::Matcher;
use trtc_logwatch::pipeline::{FnSink, Pipeline};
use trtc_logwatch::scan::Stats;

/// The matcher over the built-in catalogs, built once per test binary.
pub fn matcher() -> Arc<Matcher> {
    static M: std::sync::OnceLock<Arc<Matcher>> = std::sync::OnceLock::new();
    Arc::clone(
        M.get_or_init(|| Arc::new(Matcher::new(Arc::new(CatalogSet::builtin().unwrap())).unwrap())),
    )
}

/// Scans `input` through the library; returns the events as JSON values.
pub fn scan_lib(m: &Arc<Matcher>, input: &[u8], limit: usize) -> (Vec<serde_json::Value>, Stats) {
    scan_lib_on(m, input, limit, 1)
}

/// [`scan_lib`] with `workers` threads matching large blocks.
pub fn scan_lib_on(
    m: &Arc<Matcher>,
    input: &[u8],
    limit: usize,
    workers: usize,
) -> (Vec<serde_json::Value>, Stats) {
    let mut pipeline = Pipeline::builder("test")
        .max_line_bytes(limit)
        .workers(workers)
        .build();
    let mut out = Vec::new();
    let mut sink = FnSink::new(Arc::clone(m), |ev: &trtc_logwatch::event::Event<'_>| {
        out.push(serde_json::to_value(ev).unwrap());
        Ok::<_, ()>(())
    });
    pipeline.read_to_end(&mut &input[..], &mut sink).unwrap();
    (out, pipeline.stats())
}

/// A data file of this repository (tests/data). The tests never read
/// anything outside the repository: `scripts/check-fixtures.sh` tells
/// whether these copies still match their sources.
pub fn data(name: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join("tests/data").join(name)).unwrap()
}

/// Waits (polling every 50 ms) until `f` holds; false when it did not
/// within `timeout`.
pub fn wait_until(timeout: std::time::Duration, mut f: impl FnMut() -> bool) -> bool {
    let t = std::time::Instant::now();
    while t.elapsed() < timeout {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

/// What a test needs that this machine lacks (`missing`: why, or `None`
/// when everything is there): under `scripts/test.sh`
/// (`TRTC_LOGWATCH_TESTS=all`) and under CI (`CI` set) the test fails,
/// saying what it needs; a plain `cargo test` says SKIPPED and the test
/// returns early. True when the test can run.
pub fn require(missing: Option<String>) -> bool {
    let Some(why) = missing else { return true };
    let every_test = std::env::var_os("CI").is_some()
        || std::env::var("TRTC_LOGWATCH_TESTS").is_ok_and(|v| v == "all");
    assert!(
        !every_test,
        "this test needs: {why} (scripts/install-test-deps.sh installs the tools; the fault tests need root)"
    );
    eprintln!("SKIPPED: {why} (scripts/install-test-deps.sh installs it)");
    false
}

/// The program `name` on `PATH`, or `None` after [`require`] said why.
pub fn require_tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        require(Some(format!("{name} is not installed")));
    }
    found
}
