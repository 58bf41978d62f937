//! Paths that fail (a file that cannot be opened, a directory that cannot
//! be listed or watched): each is logged and counted once per cause, until
//! the cause changes or the path works again, and retried with backoff.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// First and longest wait before a failing path is tried again.
const FIRST: Duration = Duration::from_millis(250);
const LONGEST: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct Failure {
    cause: String,
    next_try: Instant,
    backoff: Duration,
}

/// The failing paths of one kind (files, directories).
#[derive(Debug, Default)]
pub struct Failures {
    by_path: HashMap<PathBuf, Failure>,
}

/// The cause of an I/O error, stable across repeats (`EMFILE`, not the message).
fn cause(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => format!("os error {n}"),
        None => format!("{:?}", e.kind()),
    }
}

impl Failures {
    /// Records that `path` failed with `e`. True when this is news (a new
    /// path, or a new cause): the caller logs and counts it then, only.
    pub fn fail(&mut self, path: &Path, e: &io::Error, now: Instant) -> bool {
        let c = cause(e);
        match self.by_path.get_mut(path) {
            Some(f) if f.cause == c => {
                f.backoff = (f.backoff * 2).min(LONGEST);
                f.next_try = now + f.backoff;
                false
            }
            _ => {
                self.by_path.insert(
                    path.to_path_buf(),
                    Failure {
                        cause: c,
                        next_try: now + FIRST,
                        backoff: FIRST,
                    },
                );
                true
            }
        }
    }

    /// `path` works (again). True when it was failing.
    pub fn ok(&mut self, path: &Path) -> bool {
        self.by_path.remove(path).is_some()
    }

    /// False while `path` waits for its next try.
    pub fn may_try(&self, path: &Path, now: Instant) -> bool {
        self.by_path.get(path).is_none_or(|f| now >= f.next_try)
    }

    /// True when `path` is failing now.
    pub fn is_failing(&self, path: &Path) -> bool {
        self.by_path.contains_key(path)
    }

    /// Forgets paths for which `keep` says no (gone from the listing).
    pub fn retain(&mut self, mut keep: impl FnMut(&Path) -> bool) {
        self.by_path.retain(|p, _| keep(p));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn news_once_per_cause_with_backoff() {
        let mut f = Failures::default();
        let p = Path::new("/x.log");
        let t = Instant::now();
        let emfile = io::Error::from_raw_os_error(24);
        assert!(f.fail(p, &emfile, t));
        assert!(!f.fail(p, &emfile, t));
        assert!(!f.may_try(p, t + Duration::from_millis(400)));
        assert!(f.may_try(p, t + Duration::from_millis(500)));
        assert!(
            f.fail(p, &io::Error::from_raw_os_error(13), t),
            "a new cause"
        );
        assert!(f.ok(p));
        assert!(!f.ok(p));
        assert!(f.fail(p, &emfile, t), "failing again after it worked");
        f.retain(|_| false);
        assert!(!f.is_failing(p));
    }
}
