//! Prometheus metrics: the registry, and the counters of the errors and of
//! the record pipeline that every source shares ([`Metrics`]). Each kind of
//! source, the HTTP server and the request path register their own metrics
//! beside the code that counts ([`Metrics::build`] hands them the registry
//! at start). Label values come from the catalog and the config only (a
//! `source` label is the configured source name), so the number of series
//! is bounded whatever the logs say.

mod labels;
mod recognition;
mod text;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::catalog::{CatalogSet, EntryId};
use crate::daemon::affected::{Affected, AffectedCollector, Hit};
use crate::daemon::clock::{SharedClock, SystemClock};
use crate::scan::Stats;
use labels::{Admitted, BrowserLabels, BuildLabels, GroupLabel, VersionLabels, version_label};
pub use labels::{
    CauseLabels, ErrorLabels, Fam, FormLabel, GaugeFam, KeyLabel, SourceLabel, StatusLabel, Witness,
};
pub use text::to_prometheus_text;

/// Most unknown names remembered so each is logged once.
const DRIFT_NAMES: usize = 1024;
/// A full table of unknown names is emptied this long after it last was.
const DRIFT_FORGET: std::time::Duration = std::time::Duration::from_secs(3600);

/// Per-source counters of what every source reads through the record
/// pipeline.
#[derive(Debug, Default)]
struct ReadMetrics {
    lines: Fam<SourceLabel>,
    bytes: Fam<SourceLabel>,
    cut: Fam<SourceLabel>,
    invalid_utf8: Fam<SourceLabel>,
    bad_json: Fam<SourceLabel>,
    own_output: Fam<SourceLabel>,
    read_errors: Fam<SourceLabel>,
    last_read: Family<SourceLabel, Gauge<f64, AtomicU64>>,
}

impl ReadMetrics {
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
                "trtc_logwatch_read_errors",
                "Files that could not be opened or read",
                &self.read_errors,
            ),
        ];
        for (name, help, fam) in counters {
            r.register(name, help, fam.clone());
        }
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
    queue_depth: Gauge<i64, AtomicI64>,
    output_errors: Counter,
    output_blocked: Gauge<i64, AtomicI64>,
    request_memory: Gauge<i64, AtomicI64>,
    suppressed: Family<KeyLabel, Counter>,
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
            "trtc_logwatch_events_suppressed",
            "Events not written because of storm sampling (events.max_per_key); errors still counted",
            self.suppressed.clone(),
        );
        r.register(
            "trtc_logwatch_ingest_memory_bytes",
            "Memory held now by HTTP requests in flight, ingest and browser uploads together (bodies, records, events until written); each endpoint holds at most its max_memory_bytes",
            self.request_memory.clone(),
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
    /// The operator's recognition rules whose counters the scrape reads.
    recognition: recognition::Current,
    errors: Fam<ErrorLabels>,
    causes: Fam<CauseLabels>,
    recoveries: Fam<ErrorLabels>,
    drift: Fam<FormLabel>,
    /// Unknown names already logged (at most [`DRIFT_NAMES`]), and when
    /// the set was last emptied.
    drift_seen: std::sync::Mutex<(std::collections::HashSet<String>, std::time::Instant)>,
    /// New names from browsers waiting for their witnesses.
    drift_witnesses: Admitted,
    clock: SharedClock,
    src: ReadMetrics,
    pipe: PipelineMetrics,
    affected: Arc<Affected>,
    groups: Fam<GroupLabel>,
    versions: Fam<VersionLabels>,
    browsers: Fam<BrowserLabels>,
    versions_seen: Admitted,
    browsers_seen: Admitted,
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
    /// Makes `r` the recognition whose rules' counters `/metrics` shows
    /// (at start and on each reload; counts of kept rules carry over).
    pub fn set_recognition(&self, r: Arc<crate::matcher::Recognition>) {
        self.recognition.set(r);
    }

    /// Registers the shared metrics alone (tests, benchmarks).
    pub fn new() -> Self {
        Self::build(SystemClock::shared(), |_| ()).0
    }

    /// Registers the shared metrics, their windows timed by `clock`, then
    /// those of the components (`components` registers them and returns
    /// their handles).
    pub fn build<T>(clock: SharedClock, components: impl FnOnce(&mut Registry) -> T) -> (Self, T) {
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
        let src = ReadMetrics::default();
        src.register(&mut r);
        let pipe = PipelineMetrics::default();
        pipe.register(&mut r);
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
        let affected = Arc::new(Affected::with_clock(Arc::clone(&clock)));
        r.register_collector(Box::new(AffectedCollector(Arc::clone(&affected))));
        r.register(
            "trtc_logwatch_build",
            "Build information",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
            }),
        );
        let recognition = recognition::Current::default();
        r.register_collector(Box::new(recognition::RecognitionCollector(
            recognition.clone(),
        )));
        let parts = components(&mut r);
        let m = Self {
            registry: r,
            recognition,
            errors,
            causes,
            recoveries,
            drift,
            drift_seen: std::sync::Mutex::new((Default::default(), clock.instant())),
            drift_witnesses: Admitted::default(),
            clock,
            src,
            pipe,
            affected,
            groups,
            versions,
            browsers,
            versions_seen: Admitted::default(),
            browsers_seen: Admitted::default(),
        };
        (m, parts)
    }

    /// `n` errors of `entry` (with `cause`) from SDK `version`, sent `by`;
    /// returns the version as labelled (`other` past the bound or before
    /// its witnesses).
    pub(crate) fn by_version(
        &self,
        set: &CatalogSet,
        entry: EntryId,
        cause: Option<EntryId>,
        version: &str,
        n: u64,
        by: Witness,
    ) -> String {
        let v = version_label(version)
            .map_or_else(|| "other".into(), |v| self.versions_seen.admit(v, by));
        self.versions
            .get_or_create(&VersionLabels {
                group: crate::catalog::group_of(set, entry, cause).into(),
                sdk_version: v.clone(),
            })
            .inc_by(n);
        v
    }

    /// `n` errors of `entry` (with `cause`) in `browser` (a family and
    /// major version, or a User-Agent a line holds), sent `by`; returns the
    /// browser as labelled.
    pub(crate) fn by_browser(
        &self,
        set: &CatalogSet,
        entry: EntryId,
        cause: Option<EntryId>,
        browser: &str,
        n: u64,
        by: Witness,
    ) -> String {
        let family = crate::ua::normalize(browser);
        let b = if family == "Other" {
            "other".into()
        } else {
            self.browsers_seen.admit(&family, by)
        };
        self.browsers
            .get_or_create(&BrowserLabels {
                group: crate::catalog::group_of(set, entry, cause).into(),
                browser: b.clone(),
            })
            .inc_by(n);
        b
    }

    /// Who each key's and group's errors hit, for the pages.
    pub(crate) fn affected_users(&self) -> Arc<Affected> {
        Arc::clone(&self.affected)
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

    /// An error in the SDK's `form` whose `name` the catalog does not know:
    /// counted, and the first record of each name logged once when
    /// `may_log` (a read logs a few new names at most, so one upload of
    /// junk names cannot take the table); true when it was logged. A full
    /// table is emptied an hour after it was last, so a real new name is
    /// logged within the hour whatever came before.
    pub fn catalog_drift(
        &self,
        form: &str,
        name: &str,
        record: &str,
        may_log: bool,
        by: Witness,
    ) -> bool {
        self.drift
            .get_or_create(&FormLabel {
                form: form.to_string(),
            })
            .inc();
        if !may_log {
            return false;
        }
        // A name from browsers is logged once several networks sent it.
        let key = format!("{form} {name}");
        let known = self
            .drift_seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
            .contains(&key);
        if known || !self.drift_witnesses.witnessed(&key, by) {
            return false;
        }
        let mut seen = self
            .drift_seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = self.clock.instant();
        if seen.0.len() >= DRIFT_NAMES && now.duration_since(seen.1) >= DRIFT_FORGET {
            seen.0.clear();
            seen.1 = now;
        }
        if seen.0.len() < DRIFT_NAMES && seen.0.insert(key) {
            let first = log_text(record.lines().next().unwrap_or(""), 200);
            tracing::warn!(
                "catalog drift: {name} ({form}) is not in the catalog: the SDK is newer than it; first seen: {first}"
            );
            return true;
        }
        false
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
        self.groups
            .get_or_create(&GroupLabel {
                group: crate::catalog::group_of(set, entry, cause).into(),
            })
            .inc_by(n);
        if let Some(c) = cause.map(|c| set.entry(c))
            && c.kind.is_cause()
        {
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

    /// A read of `source` failed (a file could not be opened or read).
    pub fn read_error(&self, source: &str) {
        self.src
            .read_errors
            .get_or_create(&SourceLabel {
                source: source.into(),
            })
            .inc();
    }

    /// Creates the read series of `source` at 0, so `rate()` and alerts
    /// see them from the first scrape.
    pub fn declare_source(&self, source: &str) {
        let l = SourceLabel {
            source: source.into(),
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

    /// Bytes held by HTTP requests in flight grew (or, negative, shrank)
    /// by `bytes`, in any endpoint's budget.
    pub fn request_memory_change(&self, bytes: i64) {
        self.pipe.request_memory.inc_by(bytes);
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

/// Text from outside (a record, a header) made safe for the daemon's own
/// log, at most `max_chars` characters: every character Rust would not
/// print as itself (control characters, line and paragraph separators,
/// bidi and other format controls) escaped, so a CR cannot forge a log
/// line nor an override reorder what an operator reads; quotes and
/// backslashes stay as they are.
pub(crate) fn log_text(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for c in text.chars().take(max_chars) {
        if matches!(c, '"' | '\'' | '\\') {
            out.push(c);
        } else {
            out.extend(c.escape_debug());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_names_cannot_keep_a_new_name_from_the_log_for_long() {
        let clock = crate::daemon::clock::ManualClock::at(0);
        let (m, ()) = Metrics::build(clock.clone(), |_| ());
        // A read past its share logs nothing new (but counts).
        assert!(!m.catalog_drift("v4_key", "JUNK_X", "r", false, Witness::Trusted));
        for n in 0..DRIFT_NAMES {
            assert!(m.catalog_drift("v4_key", &format!("JUNK_{n}"), "r", true, Witness::Trusted));
        }
        // The table is full: a real new name waits...
        assert!(!m.catalog_drift("v4_key", "NEW_REAL_KEY", "r", true, Witness::Trusted));
        clock.advance(DRIFT_FORGET);
        // ...at most an hour.
        assert!(m.catalog_drift("v4_key", "NEW_REAL_KEY", "r", true, Witness::Trusted));
        assert!(
            !m.catalog_drift("v4_key", "NEW_REAL_KEY", "r", true, Witness::Trusted),
            "once"
        );
        assert!(
            m.openmetrics()
                .contains("trtc_logwatch_catalog_drift_total{form=\"v4_key\"} 1028")
        );
    }

    #[test]
    fn outside_text_is_made_safe_for_the_log() {
        assert_eq!(
            log_text("a\r\n\u{1b}[31m \u{2028}\u{202e}\u{200b}\"q\" é", 100),
            "a\\r\\n\\u{1b}[31m \\u{2028}\\u{202e}\\u{200b}\"q\" é"
        );
        assert_eq!(log_text("abcdef", 3), "abc");
    }

    #[test]
    fn versions_and_browsers_are_bounded_labels() {
        let set = CatalogSet::builtin().unwrap();
        let ice = set.by_name("ICE_TRANSPORT_ERROR")[0];
        let m = Metrics::new();
        for i in 0..30 {
            m.by_version(&set, ice, None, &format!("5.{i}.0"), 1, Witness::Trusted);
        }
        m.by_version(&set, ice, None, "5.0.0<script>", 1, Witness::Trusted);
        m.by_browser(&set, ice, None, "Chrome 120", 2, Witness::Trusted);
        m.by_browser(
            &set,
            ice,
            None,
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0",
            1,
            Witness::Trusted,
        );
        m.by_browser(&set, ice, None, "evil\"} 1\n", 1, Witness::Trusted);
        let text = m.prometheus_text();
        let versions = text
            .lines()
            .filter(|l| l.starts_with("trtc_errors_by_sdk_version_total{"))
            .count();
        assert_eq!(versions, labels::BOUNDED_VALUES + 1, "{text}");
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
