//! The label sets of the metrics, and the two bounded labels (SDK version,
//! browser) whose values are admitted as they come, at most
//! [`BOUNDED_VALUES`] each.

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
/// set.
#[derive(Debug, Default)]
pub(crate) struct Admitted(std::sync::Mutex<std::collections::HashSet<String>>);

/// Distinct values a bounded label takes before the rest are `other`.
pub const BOUNDED_VALUES: usize = 20;

impl Admitted {
    pub(crate) fn admit(&self, value: &str) -> String {
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
