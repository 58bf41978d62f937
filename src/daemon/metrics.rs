//! Prometheus metrics, through one narrow interface ([`Metrics`]) that the
//! pipeline calls. Label values come from the catalog and the config only
//! (a `source` label is the configured source name), so the number of series
//! is bounded whatever the logs say.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::catalog::{CatalogSet, EntryId};
use crate::daemon::affected::{Affected, AffectedCollector, Hit};
use crate::daemon::recent::{KeyFigures, Recent, Sample};
use crate::scan::Stats;

/// Labels of `trtc_errors_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// Catalog name.
    pub catalog: String,
    /// Category.
    pub category: String,
    /// Canonical key.
    pub key: String,
    /// Decimal code, or `none` for a code-less message.
    pub code: String,
}

impl ErrorLabels {
    fn of(e: &crate::catalog::Entry) -> Self {
        Self {
            catalog: e.catalog.to_string(),
            category: e.category.to_string(),
            key: e.key.to_string(),
            code: e.code.map_or_else(|| "none".to_string(), |c| c.to_string()),
        }
    }
}

/// Labels of `trtc_error_causes_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CauseLabels {
    /// Category of the cause.
    pub category: String,
    /// Decimal code of the cause.
    pub code: String,
}

/// A `form` label: which of the SDK's error forms named an error the
/// catalog does not know (`v4_key`, `v5_name`, `v5_extra_code`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FormLabel {
    /// The form.
    pub form: String,
}

/// Most unknown names remembered so each is logged once.
const DRIFT_NAMES: usize = 1024;

/// A `key` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KeyLabel {
    /// Canonical key.
    pub key: String,
}

/// A `code` label: an HTTP status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    /// The HTTP status code.
    pub code: String,
}

/// Labels of the errors by SDK version.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    group: String,
    sdk_version: String,
}

/// Labels of the errors by browser.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BrowserLabels {
    group: String,
    browser: String,
}

/// Label values admitted as they come, at most [`BOUNDED_VALUES`]; the
/// others are `other`. So what logs and browsers send cannot grow a label
/// set.
#[derive(Debug, Default)]
struct Admitted(std::sync::Mutex<std::collections::HashSet<String>>);

/// Distinct values a bounded label takes before the rest are `other`.
pub const BOUNDED_VALUES: usize = 20;

impl Admitted {
    fn admit(&self, value: &str) -> String {
        let mut seen = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.contains(value) {
            return value.to_string();
        }
        if seen.len() < BOUNDED_VALUES {
            seen.insert(value.to_string());
            return value.to_string();
        }
        "other".into()
    }
}

/// An SDK version as a label: `5.17.1` (digits and dots, at most 16
/// bytes); anything else is `other`.
fn version_label(v: &str) -> Option<&str> {
    let v = v.trim_start_matches('v');
    (!v.is_empty()
        && v.len() <= 16
        && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && v.starts_with(|c: char| c.is_ascii_digit()))
    .then_some(v)
}

/// A `group` label ([`crate::catalog::GROUPS`]).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupLabel {
    group: String,
}

/// Labels of the browser endpoint's refusals.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    source: String,
    reason: String,
}

/// Labels of the browser endpoint's uploads taken.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CmdLabels {
    source: String,
    cmdtype: String,
}

/// Labels of the sessions the SDK's end reports describe: the sdkAppId
/// (one of those allowed), how entering went, and for a failure the
/// catalog key of its result.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SessionLabels {
    source: String,
    sdk_app_id: String,
    result: String,
    key: String,
}

/// Labels of the relay to the SDK's log service.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    source: String,
    result: String,
}

/// The browser endpoint.
#[derive(Debug, Default)]
struct BrowserMetrics {
    uploads: Fam<CmdLabels>,
    refused: Fam<ReasonLabels>,
    sessions: Fam<SessionLabels>,
    forwarded: Fam<ResultLabels>,
    clients: Gauge<i64, AtomicI64>,
}

impl BrowserMetrics {
    fn register(&self, r: &mut Registry) {
        r.register(
            "trtc_logwatch_browser_uploads",
            "Uploads the browser endpoint took, by the SDK's cmdtype",
            self.uploads.clone(),
        );
        r.register(
            "trtc_logwatch_browser_refused",
            "Uploads the browser endpoint refused or dropped, by reason (origin, sdk_app_id, rate, clients, too_large, encoding, bad_body, cmdtype, slow_body, busy, queue_full, ...)",
            self.refused.clone(),
        );
        r.register(
            "trtc_browser_sessions",
            "Sessions by how entering the room went (entered, failed, not_entered), from the SDK's end reports; key: the catalog key of a failure",
            self.sessions.clone(),
        );
        r.register(
            "trtc_logwatch_browser_forwarded",
            "Uploads relayed to the SDK's log service (browser.forward), by result (ok, refused, failed, timeout, dropped)",
            self.forwarded.clone(),
        );
        r.register(
            "trtc_logwatch_browser_clients",
            "Clients whose upload rate the browser endpoint keeps (at most browser.max_clients)",
            self.clients.clone(),
        );
    }
}

/// A `source` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    /// Configured source name.
    pub source: String,
}

/// Labels of `trtc_logwatch_build_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

type Fam<L> = Family<L, Counter>;
type GaugeFam = Family<SourceLabel, Gauge>;

/// Per-source counters and gauges of the readers.
#[derive(Debug, Default)]
struct SourceMetrics {
    lines: Fam<SourceLabel>,
    bytes: Fam<SourceLabel>,
    cut: Fam<SourceLabel>,
    invalid_utf8: Fam<SourceLabel>,
    bad_json: Fam<SourceLabel>,
    own_output: Fam<SourceLabel>,
    rotations: Fam<SourceLabel>,
    truncations: Fam<SourceLabel>,
    read_errors: Fam<SourceLabel>,
    lag: GaugeFam,
    files: GaugeFam,
    matched: GaugeFam,
    nats_messages: Fam<SourceLabel>,
    nats_redelivered: Fam<SourceLabel>,
    nats_pending: GaugeFam,
    last_read: Family<SourceLabel, Gauge<f64, AtomicU64>>,
}

impl SourceMetrics {
    fn register(&self, r: &mut Registry) {
        let counters = [
            (
                "trtc_logwatch_lines_read",
                "Lines read per source",
                &self.lines,
            ),
            (
                "trtc_logwatch_bytes_read",
                "Bytes read per source",
                &self.bytes,
            ),
            (
                "trtc_logwatch_lines_cut",
                "Lines longer than max_line_bytes, cut and matched in their kept part",
                &self.cut,
            ),
            (
                "trtc_logwatch_invalid_utf8_lines",
                "Lines that were not valid UTF-8 (replaced in events)",
                &self.invalid_utf8,
            ),
            (
                "trtc_logwatch_bad_json_lines",
                "Error lines that looked like JSON but did not parse (matched as text)",
                &self.bad_json,
            ),
            (
                "trtc_logwatch_own_lines_skipped",
                "Lines that were trtc-logwatch's own events or metrics, read back and skipped",
                &self.own_output,
            ),
            (
                "trtc_logwatch_rotations",
                "Files renamed or deleted (rotation) and drained",
                &self.rotations,
            ),
            (
                "trtc_logwatch_truncations",
                "Files found shorter than their offset (copytruncate), read again from 0",
                &self.truncations,
            ),
            (
                "trtc_logwatch_read_errors",
                "Files that could not be opened or read",
                &self.read_errors,
            ),
        ];
        for (name, help, fam) in counters {
            r.register(name, help, fam.clone());
        }
        r.register(
            "trtc_logwatch_lag_bytes",
            "Bytes written to a source's files but not read yet (size minus offset, summed)",
            self.lag.clone(),
        );
        r.register(
            "trtc_logwatch_files_watched",
            "Files followed per source (open or parked)",
            self.files.clone(),
        );
        r.register(
            "trtc_logwatch_nats_messages",
            "NATS JetStream messages consumed (acknowledged once their events were written)",
            self.nats_messages.clone(),
        );
        r.register(
            "trtc_logwatch_nats_redelivered",
            "NATS JetStream messages that came again (another replica did not acknowledge them in ack_wait)",
            self.nats_redelivered.clone(),
        );
        r.register(
            "trtc_logwatch_nats_pending",
            "Messages left in the NATS consumer after the last batch",
            self.nats_pending.clone(),
        );
        r.register(
            "trtc_logwatch_source_files",
            "Files a file source's globs matched at its last listing (0: it follows nothing)",
            self.matched.clone(),
        );
        r.register(
            "trtc_logwatch_last_read_timestamp_seconds",
            "Unix time a source last delivered a line",
            self.last_read.clone(),
        );
    }
}

/// The sink, checkpoints, reloads and the queue.
#[derive(Debug, Default)]
struct PipelineMetrics {
    events_written: Counter,
    events_dropped: Counter,
    checkpoint_writes: Counter,
    checkpoint_failures: Counter,
    checkpoint_last: Gauge<f64, AtomicU64>,
    reloads: Counter,
    reload_failures: Counter,
    listings: Counter,
    queue_depth: Gauge<i64, AtomicI64>,
    output_errors: Counter,
    output_blocked: Gauge<i64, AtomicI64>,
    files_open: Gauge<i64, AtomicI64>,
    http_rejected: Counter,
    http_pushed_out: Counter,
    ingest_memory: Gauge<i64, AtomicI64>,
    suppressed: Family<KeyLabel, Counter>,
    ingest: Family<StatusLabel, Counter>,
}

impl PipelineMetrics {
    fn register(&self, r: &mut Registry) {
        let counters = [
            (
                "trtc_logwatch_events_written",
                "Events written to the events sink",
                &self.events_written,
            ),
            (
                "trtc_logwatch_events_dropped",
                "Events dropped because the queue was full (events.overflow: drop)",
                &self.events_dropped,
            ),
            (
                "trtc_logwatch_checkpoint_writes",
                "Checkpoint files written",
                &self.checkpoint_writes,
            ),
            (
                "trtc_logwatch_checkpoint_failures",
                "Checkpoint writes that failed",
                &self.checkpoint_failures,
            ),
            (
                "trtc_logwatch_output_errors",
                "Writes to the events output that failed (events kept and retried)",
                &self.output_errors,
            ),
            (
                "trtc_logwatch_http_connections_rejected",
                "HTTP connections closed at once because max_connections were open",
                &self.http_rejected,
            ),
            (
                "trtc_logwatch_http_connections_pushed_out",
                "HTTP connections closed to make room for a new one at max_connections: the one that had waited longest (at least 1 s) on its client",
                &self.http_pushed_out,
            ),
            (
                "trtc_logwatch_file_listings",
                "Listings of every file source's globs (at start, on notifications, every rescan_interval)",
                &self.listings,
            ),
            (
                "trtc_logwatch_config_reloads",
                "Successful reloads (SIGHUP)",
                &self.reloads,
            ),
            (
                "trtc_logwatch_config_reload_failures",
                "Reloads refused because the new config or catalog was invalid",
                &self.reload_failures,
            ),
        ];
        for (name, help, c) in counters {
            r.register(name, help, c.clone());
        }
        r.register(
            "trtc_logwatch_checkpoint_last_success_timestamp_seconds",
            "Unix time of the last checkpoint written",
            self.checkpoint_last.clone(),
        );
        r.register(
            "trtc_logwatch_queue_depth",
            "Events waiting for the sink",
            self.queue_depth.clone(),
        );
        r.register(
            "trtc_logwatch_ingest_requests",
            "HTTP ingest requests by answer: 200 written, 400, 401, 404, 408, 413, 415, 503 (queue full, output blocked, memory or workers busy)",
            self.ingest.clone(),
        );
        r.register(
            "trtc_logwatch_events_suppressed",
            "Events not written because of storm sampling (events.max_per_key); errors still counted",
            self.suppressed.clone(),
        );
        r.register(
            "trtc_logwatch_files_open",
            "Followed files open now (at most max_open_files; the others are parked)",
            self.files_open.clone(),
        );
        r.register(
            "trtc_logwatch_ingest_memory_bytes",
            "Memory held now by ingest requests in flight (bodies, records, events until written), at most ingest.max_memory_bytes",
            self.ingest_memory.clone(),
        );
        r.register(
            "trtc_logwatch_output_blocked",
            "1 while the events output refuses writes (disk full): sources wait or drop",
            self.output_blocked.clone(),
        );
    }
}

/// All metrics of the process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    errors: Fam<ErrorLabels>,
    causes: Fam<CauseLabels>,
    recoveries: Fam<ErrorLabels>,
    drift: Fam<FormLabel>,
    /// Unknown names already logged (at most [`DRIFT_NAMES`]).
    drift_seen: std::sync::Mutex<std::collections::HashSet<String>>,
    src: SourceMetrics,
    pipe: PipelineMetrics,
    browser: BrowserMetrics,
    affected: Arc<Affected>,
    groups: Fam<GroupLabel>,
    versions: Fam<VersionLabels>,
    browsers: Fam<BrowserLabels>,
    versions_seen: Admitted,
    browsers_seen: Admitted,
    recent: Recent,
    /// Unread bytes per source, for the pages.
    lags: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut r = Registry::default();
        let errors = Fam::<ErrorLabels>::default();
        let causes = Fam::<CauseLabels>::default();
        r.register(
            "trtc_errors",
            "TRTC errors found in the logs, one per event",
            errors.clone(),
        );
        r.register(
            "trtc_error_causes",
            "Cause codes (account, room-entry, v5 extraCode) of TRTC errors",
            causes.clone(),
        );
        let drift = Fam::<FormLabel>::default();
        r.register(
            "trtc_logwatch_catalog_drift",
            "Errors in the SDK's own form whose key or code the catalog does not know, by form: the SDK is newer than the catalog",
            drift.clone(),
        );
        let recoveries = Fam::<ErrorLabels>::default();
        r.register(
            "trtc_recoveries",
            "TRTC errors the SDK recovered from by itself (a WARN record saying it retries or falls back): no error event",
            recoveries.clone(),
        );
        let src = SourceMetrics::default();
        src.register(&mut r);
        let pipe = PipelineMetrics::default();
        pipe.register(&mut r);
        let browser = BrowserMetrics::default();
        browser.register(&mut r);
        let groups = Fam::<GroupLabel>::default();
        r.register(
            "trtc_error_groups",
            "TRTC errors by group, the same whatever the SDK version (media_connection, signaling, auth, room_entry, device, permission, parameters, usage, environment, media, server, unknown): an event's group is its cause's where it has one",
            groups.clone(),
        );
        let versions = Fam::<VersionLabels>::default();
        r.register(
            "trtc_errors_by_sdk_version",
            "TRTC errors by group and SDK version (from the events' context or the browser upload): the first 20 versions seen, the rest `other`",
            versions.clone(),
        );
        let browsers = Fam::<BrowserLabels>::default();
        r.register(
            "trtc_errors_by_browser",
            "TRTC errors by group and browser family and major version (`Chrome 156`): the first 20 seen, the rest `other`",
            browsers.clone(),
        );
        let affected = Arc::new(Affected::default());
        r.register_collector(Box::new(AffectedCollector(Arc::clone(&affected))));
        r.register(
            "trtc_logwatch_build",
            "Build information",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
            }),
        );
        Self {
            registry: r,
            errors,
            causes,
            recoveries,
            drift,
            drift_seen: std::sync::Mutex::default(),
            src,
            pipe,
            browser,
            affected,
            groups,
            versions,
            browsers,
            versions_seen: Admitted::default(),
            browsers_seen: Admitted::default(),
            recent: Recent::default(),
            lags: std::sync::Mutex::default(),
        }
    }

    /// `n` errors of `entry` (with `cause`) from SDK `version`.
    pub(crate) fn by_version(
        &self,
        set: &CatalogSet,
        entry: EntryId,
        cause: Option<EntryId>,
        version: &str,
        n: u64,
    ) {
        let v =
            version_label(version).map_or_else(|| "other".into(), |v| self.versions_seen.admit(v));
        let e = set.entry(entry);
        self.recent.version(&e.catalog, &e.key, &v, n);
        self.versions
            .get_or_create(&VersionLabels {
                group: crate::catalog::group_of(set, entry, cause).into(),
                sdk_version: v,
            })
            .inc_by(n);
    }

    /// `n` errors of `entry` (with `cause`) in `browser` (a family and
    /// major version, or a User-Agent a line holds).
    pub(crate) fn by_browser(
        &self,
        set: &CatalogSet,
        entry: EntryId,
        cause: Option<EntryId>,
        browser: &str,
        n: u64,
    ) {
        let family = crate::daemon::source::browser::family(browser);
        let b = if family == "Other" {
            "other".into()
        } else {
            self.browsers_seen.admit(&family)
        };
        let e = set.entry(entry);
        self.recent.browser(&e.catalog, &e.key, &b, n);
        self.browsers
            .get_or_create(&BrowserLabels {
                group: crate::catalog::group_of(set, entry, cause).into(),
                browser: b,
            })
            .inc_by(n);
    }

    /// Recent events, for the daemon's pages (a few per key and second).
    pub(crate) fn recent_samples(&self, set: &CatalogSet, samples: &mut Vec<(EntryId, Sample)>) {
        for (id, s) in samples.drain(..) {
            let e = set.entry(id);
            self.recent.sample(&e.catalog, &e.key, s);
        }
    }

    /// Unread bytes per file source, as last reported.
    pub fn lags(&self) -> Vec<(String, u64)> {
        self.lags
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// What the daemon's pages show of each key.
    pub fn recent(&self) -> Vec<KeyFigures> {
        self.recent.figures()
    }

    /// Who each key's and group's errors hit: `((catalog, key), [users
    /// 5m, users 1h, rooms 5m, rooms 1h])`, groups under the catalog "".
    pub fn affected_now(&self) -> Vec<((String, String), [usize; 4])> {
        self.affected.now()
    }

    /// Counts the users and rooms of a batch of error events (`hits`: each
    /// event's entry, cause and hashed ids): sorted by entry and cause, so
    /// each key's names and group are looked up once per batch.
    pub(crate) fn affected(&self, set: &CatalogSet, hits: &mut [(EntryId, Option<EntryId>, Hit)]) {
        if hits.is_empty() {
            return;
        }
        hits.sort_unstable_by_key(|(e, c, _)| (e.index(), c.map(EntryId::index)));
        let runs = hits.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)).map(|run| {
            let (id, cause, _) = run[0];
            let e = set.entry(id);
            (
                (e.catalog.as_str(), e.key.as_str()),
                crate::catalog::group_of(set, id, cause),
                run.iter().map(|(_, _, h)| *h),
            )
        });
        self.affected.record(runs);
    }

    /// An upload the browser endpoint took.
    pub fn browser_upload(&self, source: &str, cmdtype: &str) {
        self.browser
            .uploads
            .get_or_create(&CmdLabels {
                source: source.into(),
                cmdtype: cmdtype.into(),
            })
            .inc();
    }

    /// An upload the browser endpoint refused or dropped.
    pub fn browser_refused(&self, source: &str, reason: &str) {
        self.browser
            .refused
            .get_or_create(&ReasonLabels {
                source: source.into(),
                reason: reason.into(),
            })
            .inc();
    }

    /// A session an end report describes.
    pub fn browser_session(&self, source: &str, sdk_app_id: &str, result: &str, key: Option<&str>) {
        self.browser
            .sessions
            .get_or_create(&SessionLabels {
                source: source.into(),
                sdk_app_id: sdk_app_id.into(),
                result: result.into(),
                key: key.unwrap_or("").into(),
            })
            .inc();
    }

    /// An upload relayed (or not) to the SDK's log service.
    pub fn browser_forward(&self, source: &str, result: &str) {
        self.browser
            .forwarded
            .get_or_create(&ResultLabels {
                source: source.into(),
                result: result.into(),
            })
            .inc();
    }

    /// Clients whose rates the browser endpoint keeps.
    pub fn browser_clients(&self, n: usize) {
        self.browser
            .clients
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// An error in the SDK's `form` whose `name` the catalog does not know:
    /// counted, and the first record of each name logged once.
    pub fn catalog_drift(&self, form: &str, name: &str, record: &str) {
        self.drift
            .get_or_create(&FormLabel {
                form: form.to_string(),
            })
            .inc();
        let mut seen = self
            .drift_seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() < DRIFT_NAMES && seen.insert(format!("{form} {name}")) {
            let first: String = record
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect();
            tracing::warn!(
                "catalog drift: {name} ({form}) is not in the catalog: the SDK is newer than it; first seen: {first}"
            );
        }
    }

    /// Counts one recovery from the catalog entry `entry`.
    pub fn recovery(&self, set: &CatalogSet, entry: EntryId) {
        self.recoveries
            .get_or_create(&ErrorLabels::of(set.entry(entry)))
            .inc();
    }

    /// Counts `n` events of the catalog entry `entry` (and its cause).
    pub fn error_events(&self, set: &CatalogSet, entry: EntryId, cause: Option<EntryId>, n: u64) {
        let e = set.entry(entry);
        self.errors.get_or_create(&ErrorLabels::of(e)).inc_by(n);
        self.recent.count(&e.catalog, &e.key, n);
        self.groups
            .get_or_create(&GroupLabel {
                group: crate::catalog::group_of(set, entry, cause).into(),
            })
            .inc_by(n);
        if let Some(c) = cause {
            let c = set.entry(c);
            self.causes
                .get_or_create(&CauseLabels {
                    category: c.category.to_string(),
                    code: c.code.map_or_else(|| "none".to_string(), |c| c.to_string()),
                })
                .inc_by(n);
        }
    }

    /// Adds what a scanner counted since the last call (`delta`).
    pub fn read(&self, source: &str, delta: &Stats) {
        let l = SourceLabel {
            source: source.to_string(),
        };
        if delta.lines > 0 {
            self.src.last_read.get_or_create(&l).set(now_secs());
        }
        for (fam, n) in [
            (&self.src.lines, delta.lines),
            (&self.src.bytes, delta.bytes),
            (&self.src.cut, delta.cut_lines),
            (&self.src.invalid_utf8, delta.invalid_utf8),
            (&self.src.bad_json, delta.bad_json),
            (&self.src.own_output, delta.own_output),
        ] {
            let c = fam.get_or_create(&l);
            if n > 0 {
                c.inc_by(n);
            }
        }
    }

    /// A rotation (rename or delete) of one of `source`'s files.
    pub fn rotation(&self, source: &str) {
        self.src
            .rotations
            .get_or_create(&SourceLabel {
                source: source.into(),
            })
            .inc();
    }

    /// A truncation (copytruncate) of one of `source`'s files.
    pub fn truncation(&self, source: &str) {
        self.src
            .truncations
            .get_or_create(&SourceLabel {
                source: source.into(),
            })
            .inc();
    }

    /// A file of `source` could not be opened or read.
    pub fn read_error(&self, source: &str) {
        self.src
            .read_errors
            .get_or_create(&SourceLabel {
                source: source.into(),
            })
            .inc();
    }

    /// Sets lag and open-file count of `source`.
    pub fn files(&self, source: &str, open: usize, lag_bytes: u64) {
        let l = SourceLabel {
            source: source.into(),
        };
        self.src.files.get_or_create(&l).set(open as i64);
        self.src
            .lag
            .get_or_create(&l)
            .set(i64::try_from(lag_bytes).unwrap_or(i64::MAX));
        self.lags
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(source.to_string(), lag_bytes);
    }

    /// Creates every per-source series at 0, so `rate()` and alerts see
    /// them from the first scrape: the counters of each source and, for
    /// file sources, the file gauges.
    pub fn declare_sources<'a>(&self, sources: impl IntoIterator<Item = (&'a str, bool)>) {
        for (name, files) in sources {
            let l = SourceLabel {
                source: name.into(),
            };
            let m = &self.src;
            for fam in [
                &m.lines,
                &m.bytes,
                &m.cut,
                &m.invalid_utf8,
                &m.bad_json,
                &m.own_output,
                &m.read_errors,
            ] {
                drop(fam.get_or_create(&l));
            }
            if files {
                for fam in [&m.rotations, &m.truncations] {
                    drop(fam.get_or_create(&l));
                }
                for g in [&m.lag, &m.files, &m.matched] {
                    drop(g.get_or_create(&l));
                }
            }
        }
    }

    /// A NATS batch: its messages, how many came again, what is pending.
    pub fn nats(&self, source: &str, messages: u64, redelivered: u64, pending: u64) {
        let l = SourceLabel {
            source: source.into(),
        };
        self.src.nats_messages.get_or_create(&l).inc_by(messages);
        self.src
            .nats_redelivered
            .get_or_create(&l)
            .inc_by(redelivered);
        self.src
            .nats_pending
            .get_or_create(&l)
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
    }

    /// Creates the NATS series of `source` at 0.
    pub fn declare_nats(&self, source: &str) {
        self.declare_sources([(source, false)]);
        let l = SourceLabel {
            source: source.into(),
        };
        drop(self.src.nats_messages.get_or_create(&l));
        drop(self.src.nats_redelivered.get_or_create(&l));
        drop(self.src.nats_pending.get_or_create(&l));
    }

    /// The number of files a source's globs matched at its last listing.
    pub fn source_files(&self, source: &str, n: usize) {
        let l = SourceLabel {
            source: source.into(),
        };
        self.src.matched.get_or_create(&l).set(n as i64);
    }

    /// `n` events were written to the output.
    pub fn events_written(&self, n: u64) {
        self.pipe.events_written.inc_by(n);
    }

    /// A write to the events output failed (its events are kept and retried).
    pub fn output_error(&self) {
        self.pipe.output_errors.inc();
    }

    /// An event of `key` was left out by storm sampling.
    pub fn event_suppressed(&self, key: &str) {
        self.pipe
            .suppressed
            .get_or_create(&KeyLabel { key: key.into() })
            .inc();
    }

    /// Creates the ingest answer counters at 0.
    pub fn declare_ingest(&self) {
        for code in [200u16, 400, 401, 404, 408, 413, 415, 503] {
            drop(self.pipe.ingest.get_or_create(&StatusLabel {
                code: code.to_string(),
            }));
        }
    }

    /// One ingest request answered with `code`.
    pub fn ingest_request(&self, code: u16) {
        self.pipe
            .ingest
            .get_or_create(&StatusLabel {
                code: code.to_string(),
            })
            .inc();
    }

    /// Bytes held now by ingest requests in flight.
    pub fn ingest_memory(&self, bytes: usize) {
        self.pipe
            .ingest_memory
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// An HTTP connection waiting long on its client was closed to make
    /// room for a new one.
    pub fn http_pushed_out(&self) {
        self.pipe.http_pushed_out.inc();
    }

    /// An HTTP connection was refused (at the connection limit).
    pub fn http_rejected(&self) {
        self.pipe.http_rejected.inc();
    }

    /// Followed files open now, all sources.
    pub fn files_open(&self, n: usize) {
        self.pipe.files_open.set(n as i64);
    }

    /// Whether the events output refuses writes now.
    pub fn output_blocked(&self, blocked: bool) {
        self.pipe.output_blocked.set(i64::from(blocked));
    }

    /// Events were dropped (queue full, `overflow: drop`).
    pub fn events_dropped(&self, n: u64) {
        self.pipe.events_dropped.inc_by(n);
    }

    /// Sets the queue depth.
    pub fn queue_depth(&self, n: usize) {
        self.pipe.queue_depth.set(n as i64);
    }

    /// A checkpoint write, successful or not.
    pub fn checkpoint(&self, ok: bool) {
        if ok {
            self.pipe.checkpoint_writes.inc();
            self.pipe.checkpoint_last.set(now_secs());
        } else {
            self.pipe.checkpoint_failures.inc();
        }
    }

    /// The file sources' globs were listed once more.
    pub fn listing(&self) {
        self.pipe.listings.inc();
    }

    /// A reload, successful or not.
    pub fn reload(&self, ok: bool) {
        if ok {
            self.pipe.reloads.inc()
        } else {
            self.pipe.reload_failures.inc()
        };
    }

    /// OpenMetrics text of every metric.
    pub fn openmetrics(&self) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut s, &self.registry);
        s
    }

    /// Prometheus text format 0.0.4: the OpenMetrics text with counter
    /// families named as their `_total` samples, no `# UNIT` and no `# EOF`.
    pub fn prometheus_text(&self) -> String {
        to_prometheus_text(&self.openmetrics())
    }
}

/// Converts OpenMetrics text to the Prometheus 0.0.4 text format.
pub fn to_prometheus_text(om: &str) -> String {
    let mut counters: Vec<String> = Vec::new();
    for l in om.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ")
            && let Some(name) = rest.strip_suffix(" counter")
        {
            counters.push(name.to_string());
        }
    }
    let mut out = String::with_capacity(om.len());
    for l in om.lines() {
        if l == "# EOF" || l.starts_with("# UNIT ") {
            continue;
        }
        let fixed = ["# TYPE ", "# HELP "].iter().find_map(|p| {
            let rest = l.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .iter()
                .any(|c| c == name)
                .then(|| format!("{p}{name}_total {tail}"))
        });
        match fixed {
            Some(f) => out.push_str(&f),
            None if l.starts_with("# TYPE ") && l.ends_with(" info") => {
                out.push_str(&l.replace(" info", " gauge"));
            }
            None => out.push_str(l),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_browsers_are_bounded_labels() {
        let set = CatalogSet::builtin().unwrap();
        let ice = set.by_name("ICE_TRANSPORT_ERROR")[0];
        let m = Metrics::new();
        for i in 0..30 {
            m.by_version(&set, ice, None, &format!("5.{i}.0"), 1);
        }
        m.by_version(&set, ice, None, "5.0.0<script>", 1);
        m.by_browser(&set, ice, None, "Chrome 120", 2);
        m.by_browser(
            &set,
            ice,
            None,
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0",
            1,
        );
        m.by_browser(&set, ice, None, "evil\"} 1\n", 1);
        let text = m.prometheus_text();
        let versions = text
            .lines()
            .filter(|l| l.starts_with("trtc_errors_by_sdk_version_total{"))
            .count();
        assert_eq!(versions, BOUNDED_VALUES + 1, "{text}");
        assert!(text.contains(
            "trtc_errors_by_sdk_version_total{group=\"media_connection\",sdk_version=\"other\"} 11"
        ), "{text}");
        assert!(text.contains("browser=\"Chrome 120\"} 2"), "{text}");
        assert!(text.contains("browser=\"Firefox 121\"} 1"), "{text}");
        assert!(text.contains("browser=\"other\"} 1"), "{text}");
    }

    #[test]
    fn counts_with_catalog_labels_in_both_formats() {
        use crate::matcher::Matcher;
        use crate::pipeline::{FnSink, Pipeline};
        use std::sync::Arc;
        let matcher = Arc::new(Matcher::new(Arc::new(CatalogSet::builtin().unwrap())).unwrap());
        let m = Metrics::new();
        let input: &[u8] =
            b"<ICE_TRANSPORT_ERROR 0x4003>\n(errorCode: 70001) <ICE_TRANSPORT_ERROR 0x4003>\n";
        let set = Arc::clone(matcher.catalog());
        let mut sink = FnSink::new(matcher, |ev: &crate::event::Event<'_>| {
            let (entry, cause, _) = ev.ids;
            m.error_events(&set, entry, cause, 1);
            Ok::<_, ()>(())
        });
        Pipeline::builder("t")
            .max_line_bytes(1024)
            .build()
            .text(input, &mut sink)
            .unwrap();
        let om = m.openmetrics();
        assert!(om.contains(r#"trtc_errors_total{catalog="trtc-web-v4",category="transport",key="ICE_TRANSPORT_ERROR",code="16387"} 2"#), "{om}");
        assert!(om.contains(r#"trtc_error_causes_total{category="account",code="70001"} 1"#));
        assert!(om.ends_with("# EOF\n"));
        let p = m.prometheus_text();
        assert!(p.contains("# TYPE trtc_errors_total counter"), "{p}");
        assert!(!p.contains("# EOF"));
        assert!(p.contains("trtc_logwatch_build_info{version="));
    }
}
