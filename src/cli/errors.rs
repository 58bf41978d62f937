//! What every subcommand shares: the catalogs it loads, and how its
//! errors are told (one line, exit 2 for the user's mistakes) or ignored
//! (a closed output pipe).

use std::io;
use std::sync::Arc;

use anyhow::Result;

use super::args::{CatalogArgs, UsageError};
use trtc_logwatch::catalog::{self, CatalogSet};

/// The catalogs `c` asks for, their warnings on stderr.
pub(crate) fn load(c: &CatalogArgs) -> Result<Arc<CatalogSet>> {
    let set = catalog::load(!c.no_builtin_patterns, &c.patterns).map_err(UsageError::from)?;
    for w in set.warnings() {
        eprintln!("trtc-logwatch: warning: {w}");
    }
    Ok(Arc::new(set))
}

/// The matcher over `set`, with the rules and ignores of `config`'s
/// `recognition:` section.
pub(crate) fn matcher(
    set: Arc<CatalogSet>,
    config: Option<&std::path::Path>,
) -> Result<trtc_logwatch::matcher::Matcher> {
    use anyhow::Context;
    let m = trtc_logwatch::matcher::Matcher::new(set).context("building the matcher")?;
    Ok(match config {
        Some(f) => {
            let cfg = trtc_logwatch::daemon::config::Config::load(f).map_err(UsageError::from)?;
            m.with_recognition(cfg.recognition)
        }
        None => m,
    })
}

/// True when `e` is a write to a closed pipe (`| head`): not a failure.
pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes on one line; a cause whose text the message
/// already carries (an error that prints its own source) is not repeated.
pub(crate) fn report(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
