//! Records the git commit the binary is built from, for `--version`.
//!
//! Its inputs are what names the commit: `.git/HEAD`, the branch file it
//! points to and `packed-refs`. Not `.git/index`: git rewrites it on a
//! plain `git status` (a refreshed stat cache), which would rebuild the
//! crate for nothing. So there is no "modified" mark either: a build from a
//! tree with changes says the commit it started from.

use std::path::Path;
use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown commit".to_string());
    println!("cargo:rustc-env=TRTC_LOGWATCH_COMMIT={commit}");
    let git = Path::new(".git");
    let mut inputs = vec![git.join("HEAD"), git.join("packed-refs")];
    // The branch HEAD points to (`ref: refs/heads/main`).
    if let Ok(head) = std::fs::read_to_string(git.join("HEAD"))
        && let Some(r) = head.trim().strip_prefix("ref: ")
    {
        inputs.push(git.join(r));
    }
    for p in inputs.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    println!("cargo:rerun-if-changed=build.rs");
}
