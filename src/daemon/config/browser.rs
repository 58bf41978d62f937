//! The browser endpoint section (`browser:`, `run --browser ADDR`): where
//! the TRTC Web SDK's own log upload (`loggerProxy`) is received, and the
//! limits of that internet-facing port.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::values::{Names, duration_in, in_range, resolve_listen};
use crate::yaml::YamlError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBrowser {
    listen: Spanned<String>,
    #[serde(default)]
    source: Option<Spanned<String>>,
    #[serde(default)]
    origins: Vec<Spanned<String>>,
    #[serde(default)]
    sdk_app_ids: Vec<Spanned<u64>>,
    #[serde(default)]
    max_body_bytes: Option<Spanned<usize>>,
    #[serde(default)]
    max_memory_bytes: Option<Spanned<usize>>,
    #[serde(default)]
    uploads_per_minute: Option<Spanned<usize>>,
    #[serde(default)]
    burst: Option<Spanned<usize>>,
    #[serde(default)]
    events_per_minute: Option<Spanned<usize>>,
    #[serde(default)]
    events_burst: Option<Spanned<usize>>,
    #[serde(default)]
    max_events_per_upload: Option<Spanned<usize>>,
    #[serde(default)]
    max_clients: Option<Spanned<usize>>,
    #[serde(default)]
    uploads_in_flight: Option<Spanned<usize>>,
    #[serde(default)]
    client_ip_header: Option<Spanned<String>>,
    #[serde(default)]
    trusted_proxies: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    body_timeout: Option<Spanned<String>>,
    #[serde(default)]
    forward: Option<Spanned<String>>,
    #[serde(default)]
    forward_queue: Option<Spanned<usize>>,
}

/// Which page origins may upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origins {
    /// Any origin (`origins: ["*"]`): the sdkAppId check alone remains.
    Any,
    /// Exactly these (`https://app.example.com`), compared without case.
    Only(Vec<String>),
}

impl Origins {
    /// Whether a request from `origin` is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            Origins::Any => true,
            Origins::Only(list) => list.iter().any(|o| o.eq_ignore_ascii_case(origin)),
        }
    }
}

/// The browser endpoint (`browser:`, `run --browser ADDR`): the TRTC Web
/// SDK's log upload, sent by the SDK itself when the app sets
/// `loggerProxy` to this endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserConfig {
    /// Where it is served (behind the operator's TLS proxy).
    pub listen: SocketAddr,
    /// The `source` label of its events.
    pub source: String,
    /// The page origins allowed (CORS); others 403.
    pub origins: Origins,
    /// The sdkAppIds allowed; others 403.
    pub sdk_app_ids: Vec<u64>,
    /// Largest body, as sent and decoded; more 413.
    pub max_body_bytes: usize,
    /// Memory of all uploads in flight together; beyond it 503.
    pub max_memory_bytes: usize,
    /// Uploads a client may make per minute, on average; more 429.
    pub uploads_per_minute: usize,
    /// Uploads a client may make at once above that rate.
    pub burst: usize,
    /// Error events a client's uploads may write a minute, on average;
    /// beyond, their records are counted (`trtc_logwatch_browser_capped`),
    /// not written nor counted as errors.
    pub events_per_minute: usize,
    /// Error events a client's uploads may write at once above that rate.
    pub events_burst: usize,
    /// Error events one upload may write.
    pub max_events_per_upload: usize,
    /// Clients whose rates are kept; beyond, one still within its window
    /// is pushed out.
    pub max_clients: usize,
    /// Uploads of one client in flight at once (the SDK sends one at a
    /// time per page); more 429: one client cannot hold the memory budget
    /// with many connections.
    pub uploads_in_flight: usize,
    /// The request header that names the client's address, set by the
    /// operator's proxy (`X-Forwarded-For`); `None`: the connection's
    /// address.
    pub client_ip_header: Option<String>,
    /// The proxies whose `client_ip_header` is believed: a connection from
    /// elsewhere is its own client; behind them, the client is the
    /// right-most address of the header (all its lines) that is not one of
    /// them. Loopback when a header is set and no list given.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long a client has to send its whole body (408 after).
    pub body_timeout: Duration,
    /// Where each body is relayed unchanged (the SDK's own log service), if
    /// anywhere.
    pub forward: Option<String>,
    /// Bodies waiting to be relayed; beyond it they are not relayed
    /// (counted).
    pub forward_queue: usize,
}

/// Default largest upload (1 MiB).
pub const DEFAULT_BROWSER_BODY: usize = 1 << 20;

impl BrowserConfig {
    /// The endpoint on `listen` with the defaults (no origin and no
    /// sdkAppId allowed yet: the config or the flags give them).
    pub fn on(listen: SocketAddr) -> Self {
        Self {
            listen,
            source: "browser".into(),
            origins: Origins::Only(Vec::new()),
            sdk_app_ids: Vec::new(),
            max_body_bytes: DEFAULT_BROWSER_BODY,
            max_memory_bytes: 32 << 20,
            uploads_per_minute: 60,
            burst: 30,
            events_per_minute: 100,
            events_burst: 1000,
            max_events_per_upload: 500,
            max_clients: 100_000,
            uploads_in_flight: 4,
            client_ip_header: None,
            trusted_proxies: Vec::new(),
            body_timeout: Duration::from_secs(10),
            forward: None,
            forward_queue: 1000,
        }
    }

    /// What is missing or wrong for the endpoint to take anything.
    pub fn check(&self) -> Result<(), String> {
        if let Origins::Only(list) = &self.origins
            && let Some(bad) = list.iter().find(|o| !origin_ok(o))
        {
            return Err(format!(
                "browser origin {bad:?} is no page origin (scheme://host[:port], no path)"
            ));
        }
        if self.origins == Origins::Only(Vec::new()) {
            return Err("browser.origins is empty: list the page origins allowed to upload (https://app.example.com), or \"*\"".into());
        }
        if self.sdk_app_ids.is_empty() {
            return Err(
                "browser.sdk_app_ids is empty: list the TRTC sdkAppIds allowed to upload".into(),
            );
        }
        Ok(())
    }
}

/// A page origin as browsers send it: scheme, host and port, no path.
fn origin_ok(o: &str) -> bool {
    let Some((scheme, rest)) = o.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains(['/', '?', '#', ' '])
        && o.len() <= 256
}

/// Where to relay bodies: `tencent` (where the SDK sends them) or an
/// `http://` or `https://` base URL.
fn forward_ok(u: &str) -> bool {
    u.eq_ignore_ascii_case("tencent")
        || ((u.starts_with("http://") || u.starts_with("https://"))
            && !u.contains(char::is_whitespace))
}

/// The `browser:` section: its source name is a new source name.
pub(super) fn compile_browser(
    path: &Path,
    b: &RawBrowser,
    names: &mut Names,
) -> Result<BrowserConfig, YamlError> {
    let mut c = BrowserConfig::on(
        resolve_listen(&b.listen.value)
            .map_err(|e| YamlError::at(path, &b.listen, e.to_string()))?,
    );
    if let Some(s) = &b.source {
        c.source = names.claim(path, s)?;
    }
    let mut origins = Vec::new();
    for o in &b.origins {
        if o.value == "*" {
            c.origins = Origins::Any;
            break;
        }
        let v = o.value.trim_end_matches('/');
        if !origin_ok(v) {
            return Err(YamlError::at(
                path,
                o,
                format!(
                    "browser.origins: {:?} is no page origin (scheme://host[:port], no path)",
                    o.value
                ),
            ));
        }
        origins.push(v.to_string());
    }
    if c.origins != Origins::Any {
        c.origins = Origins::Only(origins);
    }
    c.sdk_app_ids = b.sdk_app_ids.iter().map(|s| s.value).collect();
    if let Some(m) = &b.max_body_bytes {
        c.max_body_bytes = in_range(path, "browser.max_body_bytes", m, 1024, 64 << 20)?;
    }
    if let Some(m) = &b.max_memory_bytes {
        c.max_memory_bytes = in_range(
            path,
            "browser.max_memory_bytes",
            m,
            1 << 20,
            usize::MAX >> 1,
        )?;
    }
    if c.max_memory_bytes < 2 * c.max_body_bytes {
        let at = b.max_memory_bytes.as_ref().or(b.max_body_bytes.as_ref());
        let why = format!(
            "browser.max_memory_bytes ({}) must be at least twice browser.max_body_bytes ({})",
            c.max_memory_bytes, c.max_body_bytes
        );
        return Err(match at {
            Some(a) => YamlError::at(path, a, why),
            None => YamlError::at(path, &b.listen, why),
        });
    }
    if let Some(r) = &b.uploads_per_minute {
        c.uploads_per_minute = in_range(path, "browser.uploads_per_minute", r, 1, 100_000)?;
    }
    if let Some(r) = &b.burst {
        c.burst = in_range(path, "browser.burst", r, 1, 100_000)?;
    }
    if let Some(r) = &b.events_per_minute {
        c.events_per_minute = in_range(path, "browser.events_per_minute", r, 1, 1_000_000)?;
    }
    if let Some(r) = &b.events_burst {
        c.events_burst = in_range(path, "browser.events_burst", r, 1, 1_000_000)?;
    }
    if let Some(r) = &b.max_events_per_upload {
        c.max_events_per_upload = in_range(path, "browser.max_events_per_upload", r, 1, 1_000_000)?;
    }
    if let Some(r) = &b.max_clients {
        c.max_clients = in_range(path, "browser.max_clients", r, 1, 10_000_000)?;
    }
    if let Some(r) = &b.uploads_in_flight {
        c.uploads_in_flight = in_range(path, "browser.uploads_in_flight", r, 1, 1_000)?;
    }
    if let Some(h) = &b.client_ip_header {
        let v = h.value.trim();
        if v.is_empty() || !v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
            return Err(YamlError::at(
                path,
                h,
                format!("browser.client_ip_header: {:?} is no header name", h.value),
            ));
        }
        c.client_ip_header = Some(v.to_ascii_lowercase());
    }
    if let Some(list) = &b.trusted_proxies {
        for p in list {
            let net = p
                .value
                .trim()
                .parse::<ipnet::IpNet>()
                .or_else(|_| {
                    p.value
                        .trim()
                        .parse::<std::net::IpAddr>()
                        .map(ipnet::IpNet::from)
                })
                .map_err(|_| {
                    YamlError::at(
                        path,
                        p,
                        format!(
                            "browser.trusted_proxies: {:?} is no address or CIDR (10.0.0.0/8, ::1)",
                            p.value
                        ),
                    )
                })?;
            c.trusted_proxies.push(net);
        }
        // Proxies are trusted for a header: X-Forwarded-For unless named.
        c.client_ip_header
            .get_or_insert_with(|| "x-forwarded-for".to_string());
    }
    if c.client_ip_header.is_some() && b.trusted_proxies.is_none() {
        // A proxy on the same machine, as before there was a list.
        c.trusted_proxies = ["127.0.0.0/8", "::1/128"]
            .iter()
            .filter_map(|n| n.parse().ok())
            .collect();
    }
    if let Some(d) = &b.body_timeout {
        c.body_timeout = duration_in(
            path,
            "browser.body_timeout",
            d,
            Duration::from_millis(100),
            Duration::from_secs(600),
        )?;
    }
    if let Some(f) = &b.forward {
        if !forward_ok(&f.value) {
            return Err(YamlError::at(
                path,
                f,
                format!(
                    "browser.forward: {:?} is no http:// or https:// URL",
                    f.value
                ),
            ));
        }
        c.forward = Some(f.value.trim_end_matches('/').to_string());
    }
    if let Some(q) = &b.forward_queue {
        c.forward_queue = in_range(path, "browser.forward_queue", q, 1, 1_000_000)?;
    }
    c.check().map_err(|e| YamlError::at(path, &b.listen, e))?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_page_origins() {
        assert!(origin_ok("https://app.example.com"));
        assert!(origin_ok("http://127.0.0.1:8080"));
        assert!(!origin_ok("app.example.com"));
        assert!(!origin_ok("https://app.example.com/path"));
        assert!(!origin_ok("ftp://x"));
        let o = Origins::Only(vec!["https://App.example.com".into()]);
        assert!(o.allows("https://app.example.com"));
        assert!(!o.allows("https://evil.example.com"));
        assert!(Origins::Any.allows("https://anything"));
    }
}
