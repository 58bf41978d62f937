//! Fault injection for the tests, compiled out of release builds.

/// Fault injection for the tests, in debug builds only:
/// `TRTC_LOGWATCH_FAILPOINT=NAME` makes the worker that checks `NAME` panic
/// (`sink`: at the 10th event; `files`: after 10 lines read).
#[cfg(debug_assertions)]
pub(crate) fn hit(name: &str) -> bool {
    static SET: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    SET.get_or_init(|| std::env::var("TRTC_LOGWATCH_FAILPOINT").ok())
        .as_deref()
        == Some(name)
}

/// Fault injection is compiled out of release builds.
#[cfg(not(debug_assertions))]
pub(crate) fn hit(_name: &str) -> bool {
    false
}
