//! Finding the files of a source: walks the literal base directory of each
//! include glob (as deep as the glob reaches, any depth for `**`) and keeps
//! regular files (symlinks followed) that match include and not exclude.

use std::path::{Path, PathBuf};

use crate::daemon::config::SourceConfig;

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

/// Directories to watch for a source: the existing base directories.
pub fn watch_dirs(src: &SourceConfig) -> Vec<(PathBuf, bool)> {
    src.include
        .iter()
        .map(|g| {
            let (b, d) = glob_base(g);
            (b, d.is_none_or(|d| d > 1))
        })
        .filter(|(b, _)| b.is_dir())
        .collect()
}

/// Every path of the source that is not a directory, in path order.
pub fn files(src: &SourceConfig) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for g in &src.include {
        let (base, depth) = glob_base(g);
        let strip_dot = !g.starts_with("./") && base == Path::new(".");
        walk(src, &base, depth.unwrap_or(MAX_DEPTH), strip_dot, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

fn walk(src: &SourceConfig, dir: &Path, depth: usize, strip_dot: bool, out: &mut Vec<PathBuf>) {
    if depth == 0 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for ent in rd.flatten() {
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
            out.push(shown);
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
        let src = SourceConfig::files("t", vec![g], vec![ex]).unwrap();
        let names: Vec<_> = files(&src)
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a/b/z.log", "a/y.log", "x.log"]);
    }
}
