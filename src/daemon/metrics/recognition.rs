//! `trtc_recognition_lines_total{kind,rule}`: the lines each rule and
//! ignore of the operator's `recognition:` config took, read from the
//! current matcher's counters at each scrape. A reload hands the counts of
//! the rules it keeps (by kind and name) to the new ones, so the counters
//! only go up.

use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;

use crate::matcher::Recognition;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    kind: String,
    rule: String,
}

/// The current recognition, shared with the scrape.
#[derive(Debug, Default, Clone)]
pub(crate) struct Current(Arc<Mutex<Option<Arc<Recognition>>>>);

impl Current {
    /// Makes `r` the current one, its counters starting where the old one's
    /// rules of the same kind and name were.
    pub(crate) fn set(&self, r: Arc<Recognition>) {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = slot.as_ref() {
            r.carry_from(old);
        }
        *slot = Some(r);
    }
}

/// Exports the counters on each scrape.
#[derive(Debug)]
pub(crate) struct RecognitionCollector(pub(crate) Current);

impl Collector for RecognitionCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let current = self
            .0
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(r) = current else {
            return Ok(());
        };
        if r.is_empty() {
            return Ok(());
        }
        let mut family = encoder.encode_descriptor(
            "trtc_recognition_lines",
            "Lines each rule (events) and ignore (silenced) of the recognition: config took",
            None,
            MetricType::Counter,
        )?;
        for (kind, list) in [("rule", r.rules()), ("ignore", r.ignores())] {
            for p in list {
                let labels = RuleLabels {
                    kind: kind.into(),
                    rule: p.name.clone(),
                };
                ConstCounter::new(p.taken()).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}
