//! The stdin source: reads standard input to its end, block by block, with
//! the matcher current at each block.

use std::io::Read;

use prometheus_client::registry::Registry;

use super::{Checkpoints, Kind, Reader, Source, SourceContext, StartError, Started};
use crate::daemon::config::Config;
use crate::daemon::metrics::Metrics;
use crate::lines::ReadError;
use crate::pipeline::{BufferKind, Pipeline, RECORD_WAIT};

/// Most bytes read before counters are reported and cancellation is checked.
const PASS_BUDGET: usize = 1 << 20;

/// Standard input as a source named `name`.
#[derive(Debug)]
pub struct StdinSource {
    name: String,
}

impl StdinSource {
    /// A source named `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
        }
    }
}

/// The kind: the config's stdin source, if it has one.
pub(crate) fn kind(_: &mut Registry) -> Box<dyn Kind> {
    Box::new(StdinKind)
}

struct StdinKind;

impl Kind for StdinKind {
    fn sources(&self, config: &Config, _: &mut Checkpoints) -> Vec<Box<dyn Source>> {
        config
            .stdin_source()
            .map(|name| Box::new(StdinSource::new(name)) as Box<dyn Source>)
            .into_iter()
            .collect()
    }

    fn restart_only(&self, old: &Config, new: &Config) -> Option<&'static str> {
        (old.stdin_source() != new.stdin_source()).then_some("the stdin source")
    }

    fn declare(&self, config: &Config, metrics: &Metrics) {
        if let Some(name) = config.stdin_source() {
            metrics.declare_source(name);
        }
    }

    fn reloaded(&self, config: &Config, metrics: &Metrics) {
        self.declare(config, metrics);
    }
}

impl Source for StdinSource {
    fn name(&self) -> String {
        format!("stdin:{}", self.name)
    }

    fn start(self: Box<Self>, mut ctx: SourceContext) -> Result<Started, StartError> {
        Ok(Started::Thread(Reader {
            run: Box::new(move || {
                ctx.ready.set();
                let stdin = std::io::stdin();
                read_to_end(&self, &mut stdin.lock(), &mut ctx);
            }),
            finite: true,
            joinable: false,
        }))
    }
}

/// Reads `input` to its end (or cancellation), queueing events. One
/// stdin per daemon: blocks as large as `scan`'s, matched on both cores.
fn read_to_end(src: &StdinSource, input: &mut dyn Read, ctx: &mut SourceContext) {
    let mut pipeline = Pipeline::builder(&*src.name)
        .path("stdin")
        .max_line_bytes(ctx.max_line_bytes)
        .buffer(BufferKind::Stream)
        .workers(crate::scan::default_workers())
        .build();
    while !ctx.cancel.is_cancelled() {
        let mut feed = ctx.feed(&src.name);
        // A record kept back waits for its next lines at most RECORD_WAIT:
        // a writer that paused after it must not hold its error back.
        if pipeline.is_holding()
            && !crate::lines::stdin_within(RECORD_WAIT)
            && pipeline.release(&mut feed).is_err()
        {
            return;
        }
        let eof = match pipeline.read_pass(input, PASS_BUDGET, &mut feed) {
            Ok(p) => p.eof,
            Err(ReadError::Consumer(_closed)) => return,
            Err(ReadError::Io(e)) => {
                tracing::warn!("reading stdin failed, treating it as ended: {e}");
                ctx.metrics.read_error(&src.name);
                true
            }
        };
        if eof {
            let mut feed = ctx.feed(&src.name);
            if pipeline.finish(&mut feed).is_ok() {
                tracing::info!("stdin reached its end");
            }
            return;
        }
    }
}
