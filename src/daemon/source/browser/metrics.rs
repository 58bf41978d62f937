//! The browser endpoint's own metrics: uploads taken by cmdtype, refusals
//! by reason, join attempts and their durations from the SDK's end reports, the relay's results and
//! the clients whose rates it keeps. Registered once at start, counted
//! here.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::daemon::metrics::{Fam, SourceLabel};

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

/// Labels of the join attempts the SDK's end reports describe (one report
/// per `enterRoom` attempt: the SDK's own retries each send one): the
/// sdkAppId (one of those allowed), how entering went, and for a failure
/// the catalog key of its result.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SessionLabels {
    source: String,
    sdk_app_id: String,
    result: String,
    key: String,
}

/// Labels of the join durations: the sdkAppId and how entering went.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JoinLabels {
    source: String,
    sdk_app_id: String,
    result: String,
}

/// Seconds a join took, the buckets of `trtc_browser_join_duration_seconds`.
pub(crate) const JOIN_BUCKETS: [f64; 12] = [
    0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0,
];

/// Seconds from a join's start to a remote video's first frame drawn.
pub(crate) const FIRST_FRAME_BUCKETS: [f64; 11] =
    [0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0];
/// A session's average round trip, in seconds.
pub(crate) const RTT_BUCKETS: [f64; 10] = [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0];
/// A session's average uplink loss, as a ratio.
pub(crate) const LOSS_BUCKETS: [f64; 8] = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5];

/// Labels of a session's quality: the sdkAppId (one of those allowed).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    source: String,
    sdk_app_id: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Labels of the relay to the SDK's log service.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    source: String,
    result: String,
}

/// The browser endpoint.
#[derive(Debug)]
pub(crate) struct BrowserMetrics {
    uploads: Fam<CmdLabels>,
    refused: Fam<ReasonLabels>,
    joins: Fam<SessionLabels>,
    join_seconds: Histograms<JoinLabels>,
    first_frame: Histograms<AppLabels>,
    rtt: Histograms<AppLabels>,
    uplink_loss: Histograms<AppLabels>,
    forwarded: Fam<ResultLabels>,
    clients: Gauge<i64, AtomicI64>,
    capped: Fam<SourceLabel>,
    pushed_out: Fam<SourceLabel>,
}

impl BrowserMetrics {
    pub(crate) fn register(r: &mut Registry) -> Arc<Self> {
        let m = Self {
            uploads: Fam::default(),
            refused: Fam::default(),
            joins: Fam::default(),
            join_seconds: Family::new_with_constructor(|| Histogram::new(JOIN_BUCKETS)),
            first_frame: Family::new_with_constructor(|| Histogram::new(FIRST_FRAME_BUCKETS)),
            rtt: Family::new_with_constructor(|| Histogram::new(RTT_BUCKETS)),
            uplink_loss: Family::new_with_constructor(|| Histogram::new(LOSS_BUCKETS)),
            forwarded: Fam::default(),
            clients: Gauge::default(),
            capped: Fam::default(),
            pushed_out: Fam::default(),
        };
        r.register(
            "trtc_logwatch_browser_uploads",
            "Uploads the browser endpoint took, by the SDK's cmdtype",
            m.uploads.clone(),
        );
        r.register(
            "trtc_logwatch_browser_refused",
            "Uploads the browser endpoint refused or dropped, by reason (origin, sdk_app_id, rate, clients, too_large, encoding, bad_body, cmdtype, slow_body, busy, queue_full, ...)",
            m.refused.clone(),
        );
        r.register(
            "trtc_browser_join_attempts",
            "Join attempts (enterRoom, each SDK retry its own) by how entering the room went (entered, failed, not_entered), from the SDK's end reports; key: the catalog key of a failure",
            m.joins.clone(),
        );
        r.register_with_unit(
            "trtc_browser_join_duration",
            "Seconds from a join attempt's start to its end (entered or failed), from the SDK's end reports",
            prometheus_client::registry::Unit::Seconds,
            m.join_seconds.clone(),
        );
        r.register_with_unit(
            "trtc_browser_first_frame",
            "Seconds from a join attempt's start to each remote video's first frame drawn, from the SDK's end reports",
            prometheus_client::registry::Unit::Seconds,
            m.first_frame.clone(),
        );
        r.register_with_unit(
            "trtc_browser_rtt",
            "A session's average round trip to TRTC's servers, where the SDK measured one, from the SDK's end reports",
            prometheus_client::registry::Unit::Seconds,
            m.rtt.clone(),
        );
        r.register(
            "trtc_browser_uplink_loss_ratio",
            "A session's average uplink packet loss (0-1), where the SDK measured a round trip, from the SDK's end reports",
            m.uplink_loss.clone(),
        );
        r.register(
            "trtc_logwatch_browser_forwarded",
            "Uploads relayed to the SDK's log service (browser.forward), by result (ok, refused, failed, timeout, dropped)",
            m.forwarded.clone(),
        );
        r.register(
            "trtc_logwatch_browser_clients",
            "Clients whose upload rate the browser endpoint keeps (at most browser.max_clients)",
            m.clients.clone(),
        );
        r.register(
            "trtc_logwatch_browser_clients_pushed_out",
            "Clients still within their rate window pushed out of the full table (browser.max_clients) to make room for a new one",
            m.pushed_out.clone(),
        );
        r.register(
            "trtc_logwatch_browser_capped",
            "Error records of uploads beyond their client's event budget (browser.events_per_minute, events_burst) or the upload's cap (max_events_per_upload): counted here, not written nor counted as errors",
            m.capped.clone(),
        );
        Arc::new(m)
    }
}
impl BrowserMetrics {
    /// An upload the endpoint took.
    pub(crate) fn upload(&self, source: &str, cmdtype: &str) {
        self.uploads
            .get_or_create(&CmdLabels {
                source: source.into(),
                cmdtype: cmdtype.into(),
            })
            .inc();
    }

    /// An upload the endpoint refused or dropped.
    pub(crate) fn refused(&self, source: &str, reason: &str) {
        self.refused
            .get_or_create(&ReasonLabels {
                source: source.into(),
                reason: reason.into(),
            })
            .inc();
    }

    /// A join attempt an end report describes.
    pub(crate) fn join(&self, source: &str, sdk_app_id: &str, result: &str, key: Option<&str>) {
        self.joins
            .get_or_create(&SessionLabels {
                source: source.into(),
                sdk_app_id: sdk_app_id.into(),
                result: result.into(),
                key: key.unwrap_or("").into(),
            })
            .inc();
    }

    /// A join attempt that took `seconds`.
    pub(crate) fn join_took(&self, source: &str, sdk_app_id: &str, result: &str, seconds: f64) {
        self.join_seconds
            .get_or_create(&JoinLabels {
                source: source.into(),
                sdk_app_id: sdk_app_id.into(),
                result: result.into(),
            })
            .observe(seconds);
    }

    /// A session's quality as its end report says it: the first frames of
    /// its remote videos, its round trip and uplink loss.
    pub(crate) fn quality(&self, source: &str, sdk_app_id: &str, r: &super::upload::EndReport) {
        let l = AppLabels {
            source: source.into(),
            sdk_app_id: sdk_app_id.into(),
        };
        if !r.first_frame_seconds.is_empty() {
            let h = self.first_frame.get_or_create(&l);
            for &s in &r.first_frame_seconds {
                h.observe(s);
            }
        }
        if let Some(s) = r.rtt_seconds {
            self.rtt.get_or_create(&l).observe(s);
        }
        if let Some(x) = r.uplink_loss {
            self.uplink_loss.get_or_create(&l).observe(x);
        }
    }

    /// An upload relayed (or not) to the SDK's log service.
    pub(crate) fn forward(&self, source: &str, result: &str) {
        self.forwarded
            .get_or_create(&ResultLabels {
                source: source.into(),
                result: result.into(),
            })
            .inc();
    }

    /// Creates the series of `source` at 0.
    pub(crate) fn declare(&self, source: &str) {
        let label = SourceLabel {
            source: source.into(),
        };
        drop(self.capped.get_or_create(&label));
        drop(self.pushed_out.get_or_create(&label));
    }

    /// A client within its window pushed out of the full table.
    pub(crate) fn pushed_out(&self, source: &str) {
        self.pushed_out
            .get_or_create(&SourceLabel {
                source: source.into(),
            })
            .inc();
    }

    /// `n` error records of an upload beyond its caps.
    pub(crate) fn capped(&self, source: &str, n: u64) {
        self.capped
            .get_or_create(&SourceLabel {
                source: source.into(),
            })
            .inc_by(n);
    }

    /// Clients whose rates the endpoint keeps.
    pub(crate) fn clients(&self, n: usize) {
        self.clients.set(i64::try_from(n).unwrap_or(i64::MAX));
    }
}
