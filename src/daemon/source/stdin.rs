//! The stdin source: reads standard input to its end, block by block, with
//! the matcher current at each block.

use std::io::Read;

use super::{Source, SourceContext};
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

impl Source for StdinSource {
    fn name(&self) -> String {
        format!("stdin:{}", self.name)
    }

    fn is_finite(&self) -> bool {
        true
    }

    fn joinable(&self) -> bool {
        false
    }

    fn run(self: Box<Self>, mut ctx: SourceContext) {
        ctx.ready.set();
        let stdin = std::io::stdin();
        read_to_end(&self, &mut stdin.lock(), &mut ctx);
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
