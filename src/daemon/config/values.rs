//! Values of the config file, each checked within its bounds: numbers,
//! durations, listen addresses, source names, and the directory relative
//! paths are taken from.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_saphyr::Spanned;

use crate::yaml::YamlError;

/// A number within `min..=max`, or an error at its place naming the range.
pub(super) fn in_range(
    path: &Path,
    name: &str,
    v: &Spanned<usize>,
    min: usize,
    max: usize,
) -> Result<usize, YamlError> {
    if (min..=max).contains(&v.value) {
        Ok(v.value)
    } else {
        Err(YamlError::at(
            path,
            v,
            format!("{name} {} is out of range ({min} to {max})", v.value),
        ))
    }
}

/// Parses `250ms`, `5s`, `2m`, `1h`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60)?),
        "h" => Duration::from_secs(n.checked_mul(3600)?),
        _ => return None,
    };
    Some(d)
}

/// The duration `d` of the field `name`, refused outside `min..=max`.
pub(super) fn duration_in(
    path: &Path,
    name: &str,
    d: &Spanned<String>,
    min: Duration,
    max: Duration,
) -> Result<Duration, YamlError> {
    let v = parse_duration(&d.value).ok_or_else(|| {
        YamlError::at(
            path,
            d,
            format!("bad duration {:?} (want e.g. 250ms, 5s, 2m, 1h)", d.value),
        )
    })?;
    if v < min || v > max {
        return Err(YamlError::at(
            path,
            d,
            format!("{name} {:?} is out of range ({min:?} to {max:?})", d.value),
        ));
    }
    Ok(v)
}

/// A listen address that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenError {
    /// The name has no address.
    #[error("bad {what} {given:?}: the name has no address")]
    NoAddress {
        /// What the address is for ("listen address", "address").
        what: &'static str,
        /// The address as given.
        given: String,
    },
    /// Neither an IP address nor a name that resolves.
    #[error("bad {what} {given:?}: {cause} (want HOST:PORT)")]
    Unresolved {
        /// What the address is for.
        what: &'static str,
        /// The address as given.
        given: String,
        /// Why it did not resolve.
        cause: String,
    },
}

/// `HOST:PORT` to the address to listen on: an IP address, or a name
/// (`localhost:9898`) resolved now, the first address it has.
pub fn resolve_listen(s: &str) -> Result<SocketAddr, ListenError> {
    resolve_addr(s, "listen address")
}

/// `HOST:PORT` to an address, `what` naming it in errors.
pub fn resolve_addr(s: &str, what: &'static str) -> Result<SocketAddr, ListenError> {
    if let Ok(a) = s.parse() {
        return Ok(a);
    }
    use std::net::ToSocketAddrs;
    match s.to_socket_addrs() {
        Ok(mut addrs) => addrs.next().ok_or_else(|| ListenError::NoAddress {
            what,
            given: s.to_string(),
        }),
        Err(e) => Err(ListenError::Unresolved {
            what,
            given: s.to_string(),
            cause: e.to_string(),
        }),
    }
}

/// A source definition that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The name is not usable as a metrics label.
    #[error("bad source name {0:?}: use letters, digits, _ and - (at most 64)")]
    BadName(String),
    /// Neither globs nor stdin.
    #[error("source {0:?} has neither include globs nor stdin: true")]
    NoInclude(String),
    /// A glob that does not compile.
    #[error("bad glob {glob:?}: {source}")]
    BadGlob {
        /// The glob as written.
        glob: String,
        /// Why it does not compile.
        source: globset::Error,
    },
}

/// The source names of a config file, checked in one place: each usable
/// as a metrics label and used once, across file sources, ingest and NATS.
#[derive(Debug, Default)]
pub(super) struct Names(Vec<String>);

impl Names {
    /// Takes the name `n`; an error at its place if it is bad or taken.
    pub(super) fn claim(&mut self, path: &Path, n: &Spanned<String>) -> Result<String, YamlError> {
        if !valid_name(&n.value) {
            let e = SourceError::BadName(n.value.clone());
            return Err(YamlError::at(path, n, e.to_string()));
        }
        if self.0.contains(&n.value) {
            return Err(YamlError::at(
                path,
                n,
                format!("duplicate source name {:?}", n.value),
            ));
        }
        self.0.push(n.value.clone());
        Ok(n.value.clone())
    }
}

/// A source name usable as a metrics label.
pub(super) fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The directory relative paths of the config file at `path` are taken
/// from: its own (made absolute, so a later chdir changes nothing).
pub(super) fn config_dir(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new(""));
    std::path::absolute(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    })
    .unwrap_or_else(|_| dir.to_path_buf())
}
