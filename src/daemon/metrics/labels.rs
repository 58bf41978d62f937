//! The label sets of the metrics, and the two bounded labels (SDK version,
//! browser) whose values are admitted as they come, at most
//! [`BOUNDED_VALUES`] each, a browser's only once several clients sent it.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

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
    pub(crate) fn of(e: &crate::catalog::Entry) -> Self {
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
pub(crate) struct VersionLabels {
    pub(crate) group: String,
    pub(crate) sdk_version: String,
}

/// Labels of the errors by browser.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct BrowserLabels {
    pub(crate) group: String,
    pub(crate) browser: String,
}

/// Label values admitted as they come, at most [`BOUNDED_VALUES`]; the
/// others are `other`. So what logs and browsers send cannot grow a label
/// set. A value an untrusted client sent (the browser endpoint's uploads)
/// is admitted only once clients of [`WITNESSES`] distinct networks sent
/// it: one client cannot take the labels (a `Chrome/1000` ... `Chrome/1018` flood
/// would otherwise leave real Chrome 131 as `other`).
#[derive(Debug, Default)]
pub(crate) struct Admitted(std::sync::Mutex<Admission>);

/// Distinct values a bounded label takes before the rest are `other`.
pub const BOUNDED_VALUES: usize = 20;

/// Distinct clients that must send a value before it becomes a label.
pub const WITNESSES: usize = 3;

/// Values waiting for their witnesses, at most this many (the one with
/// the fewest witnesses, oldest first, makes room).
pub const CANDIDATES: usize = 256;

/// Who sent a label's value: an untrusted client (the browser endpoint's
/// client, by its network: an IPv4 /24, an IPv6 /48), or a source the
/// operator configured (its logs are trusted to name versions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Witness {
    /// A file, stdin, NATS or ingest source.
    Trusted,
    /// A browser, by its network.
    Client(u128),
}

#[derive(Debug, Default)]
pub(crate) struct Admission {
    labels: std::collections::HashSet<String>,
    /// Values not yet labels: the distinct clients seen (fewer than
    /// [`WITNESSES`]) and when the value came first.
    candidates: std::collections::HashMap<String, (Vec<u128>, u64)>,
    arrivals: u64,
}

impl Admitted {
    fn lock(&self) -> std::sync::MutexGuard<'_, Admission> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `value` as its label: itself once admitted, else `other`.
    pub(crate) fn admit(&self, value: &str, by: Witness) -> String {
        let mut a = self.lock();
        if a.labels.contains(value) {
            return value.to_string();
        }
        if a.labels.len() >= BOUNDED_VALUES || !a.witnessed(value, by) {
            return "other".into();
        }
        a.labels.insert(value.to_string());
        value.to_string()
    }

    /// Whether `value` has its witnesses (always, from a trusted source):
    /// for what is not a label (a new catalog name to log).
    pub(crate) fn witnessed(&self, value: &str, by: Witness) -> bool {
        self.lock().witnessed(value, by)
    }
}

impl Admission {
    /// Counts `by` for `value`; true (and no longer a candidate) once it
    /// has its witnesses, at once from a trusted source.
    fn witnessed(&mut self, value: &str, by: Witness) -> bool {
        let done = match by {
            Witness::Trusted => true,
            Witness::Client(c) => self.witness(value, c),
        };
        if done {
            self.candidates.remove(value);
        }
        done
    }
}

impl Admission {
    /// Counts client `c` for `value`; true once it has its witnesses.
    fn witness(&mut self, value: &str, c: u128) -> bool {
        if let Some((seen, _)) = self.candidates.get_mut(value) {
            if !seen.contains(&c) {
                seen.push(c);
            }
            return seen.len() >= WITNESSES;
        }
        if WITNESSES <= 1 {
            return true;
        }
        if self.candidates.len() >= CANDIDATES
            && let Some(weakest) = self
                .candidates
                .iter()
                .min_by_key(|(_, (seen, at))| (seen.len(), *at))
                .map(|(v, _)| v.clone())
        {
            self.candidates.remove(&weakest);
        }
        self.arrivals += 1;
        self.candidates
            .insert(value.to_string(), (vec![c], self.arrivals));
        false
    }
}

/// An SDK version as a label: `5.17.1` (digits and dots, at most 16
/// bytes); anything else is `other`.
pub(crate) fn version_label(v: &str) -> Option<&str> {
    let v = v.trim_start_matches('v');
    (!v.is_empty()
        && v.len() <= 16
        && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && v.starts_with(|c: char| c.is_ascii_digit()))
    .then_some(v)
}

/// A `group` label ([`crate::catalog::GROUPS`]).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct GroupLabel {
    pub(crate) group: String,
}

/// A `source` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    /// Configured source name.
    pub source: String,
}

/// Labels of `trtc_logwatch_build_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct BuildLabels {
    pub(crate) version: String,
}

/// A family of counters.
pub type Fam<L> = Family<L, Counter>;
/// A family of gauges by source.
pub type GaugeFam = Family<SourceLabel, Gauge>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clients_value_waits_for_its_witnesses() {
        let a = Admitted::default();
        let c = |n: u128| Witness::Client(n);
        assert_eq!(a.admit("Chrome 131", c(1)), "other");
        assert_eq!(
            a.admit("Chrome 131", c(1)),
            "other",
            "the same client twice"
        );
        assert_eq!(a.admit("Chrome 131", c(2)), "other");
        assert_eq!(a.admit("Chrome 131", c(3)), "Chrome 131");
        assert_eq!(a.admit("Chrome 131", c(9)), "Chrome 131");
        assert_eq!(a.admit("Firefox 1", Witness::Trusted), "Firefox 1");
    }

    /// A flood of values from one client makes room among the values with
    /// the fewest witnesses: one that two clients sent stays a candidate.
    #[test]
    fn a_flood_of_candidates_keeps_the_better_witnessed() {
        let a = Admitted::default();
        let c = |n: u128| Witness::Client(n);
        a.admit("Safari 18", c(1));
        a.admit("Safari 18", c(2));
        for i in 0..10 * CANDIDATES {
            assert_eq!(a.admit(&format!("junk {i}"), c(66)), "other");
        }
        let held = a.0.lock().unwrap().candidates.len();
        assert_eq!(held, CANDIDATES);
        assert_eq!(a.admit("Safari 18", c(3)), "Safari 18");
    }
}
