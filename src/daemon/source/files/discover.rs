//! Finding the files of a source: walks the literal base directory of each
//! include glob (as deep as the glob reaches, any depth for `**`) and keeps
//! the entries that match include and not exclude (symlinks too: the caller
//! stats them). A directory that cannot be listed is reported, never taken
//! as empty: a failed listing is no evidence that its files went away.

use std::io;
use std::os::unix::fs::DirEntryExt;
use std::path::{Path, PathBuf};

use crate::daemon::config::FileGlobs;

/// Deepest directory level walked for `**`.
const MAX_DEPTH: usize = 16;

fn is_meta(component: &str) -> bool {
    component.contains(['*', '?', '[', '{'])
}

/// The literal directory a glob starts from and how many levels below it
/// the glob reaches (`None` for `**`).
pub fn glob_base(glob: &str) -> (PathBuf, Option<usize>) {
    let parts: Vec<&str> = glob.split('/').collect();
    let literal = parts.iter().take_while(|p| !is_meta(p)).count();
    if literal == parts.len() {
        // No wildcard: the glob names one file.
        let p = Path::new(glob);
        return (
            p.parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            Some(1),
        );
    }
    let base = parts[..literal].join("/");
    let base = if base.is_empty() && glob.starts_with('/') {
        PathBuf::from("/")
    } else if base.is_empty() {
        PathBuf::from(".")
    } else {
        PathBuf::from(base)
    };
    let rest = &parts[literal..];
    let depth = if rest.iter().any(|p| p.contains("**")) {
        None
    } else {
        Some(rest.len())
    };
    (base, depth)
}

/// One matching directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    /// Its path, as the glob names it.
    pub path: PathBuf,
    /// The inode the directory lists for a regular file (no `stat` needed
    /// to tell that a known path still names the same file); `None` for a
    /// symlink, whose target only `stat` tells.
    pub ino: Option<u64>,
}

/// What a walk of a source's globs found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Matching entries, in path order.
    pub files: Vec<ListedFile>,
    /// Every directory listed (to be watched).
    pub dirs: Vec<PathBuf>,
    /// Directories that could not be listed, with why.
    pub errors: Vec<(PathBuf, io::Error)>,
    /// A glob's base directory does not exist (yet): nothing can watch
    /// for it to appear, only a later listing finds it.
    pub missing_base: bool,
}

/// Walks every include glob of `src`.
pub fn files(src: &FileGlobs) -> Listing {
    let mut out = Listing::default();
    for g in &src.include {
        let (base, depth) = glob_base(g);
        let strip_dot = !g.starts_with("./") && base == Path::new(".");
        out.missing_base |= !base.is_dir();
        walk(src, &base, depth.unwrap_or(MAX_DEPTH), strip_dot, &mut out);
    }
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    out.files.dedup_by(|a, b| a.path == b.path);
    out.dirs.sort();
    out.dirs.dedup();
    out
}

fn walk(src: &FileGlobs, dir: &Path, depth: usize, strip_dot: bool, out: &mut Listing) {
    if depth == 0 {
        return;
    }
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        // A base directory that does not exist (yet) holds no files.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(e) => {
            out.errors.push((dir.to_path_buf(), e));
            return;
        }
    };
    out.dirs.push(dir.to_path_buf());
    for ent in rd {
        let ent = match ent {
            Ok(e) => e,
            Err(e) => {
                out.errors.push((dir.to_path_buf(), e));
                return;
            }
        };
        let path = ent.path();
        let shown = if strip_dot {
            path.strip_prefix(".")
                .map_or(path.clone(), Path::to_path_buf)
        } else {
            path.clone()
        };
        let Ok(ft) = ent.file_type() else { continue };
        if ft.is_dir() {
            walk(src, &path, depth - 1, strip_dot, out);
        } else if src.matches(&shown) {
            // Symlinks included, even dangling ones: the caller stats them and
            // counts the ones it cannot open.
            out.files.push(ListedFile {
                path: shown,
                ino: ft.is_file().then(|| ent.ino()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases() {
        assert_eq!(
            glob_base("/var/log/app/*.log"),
            (PathBuf::from("/var/log/app"), Some(1))
        );
        assert_eq!(
            glob_base("/var/log/**/x.log"),
            (PathBuf::from("/var/log"), None)
        );
        assert_eq!(glob_base("logs/*/a.log"), (PathBuf::from("logs"), Some(2)));
        assert_eq!(glob_base("*.log"), (PathBuf::from("."), Some(1)));
        assert_eq!(
            glob_base("/var/log/app.log"),
            (PathBuf::from("/var/log"), Some(1))
        );
    }

    #[test]
    fn finds_nested_files_with_double_star_and_excludes() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::create_dir_all(root.join("dir.log")).unwrap();
        for f in ["x.log", "a/y.log", "a/b/z.log", "a/b/z.log.1", "a/skip.log"] {
            std::fs::write(root.join(f), b"").unwrap();
        }
        let g = format!("{}/**/*.log", root.display());
        let ex = format!("{}/**/skip.log", root.display());
        let src = crate::daemon::config::SourceConfig::files("t", vec![g], vec![ex]).unwrap();
        let src = src.files_of().unwrap();
        let listing = files(src);
        let names: Vec<_> = listing
            .files
            .iter()
            .map(|f| f.path.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a/b/z.log", "a/y.log", "x.log"]);
        assert_eq!(listing.dirs.len(), 4, "{:?}", listing.dirs);
        assert!(listing.errors.is_empty());
    }
}
