//! The stdin source: reads standard input to its end, block by block, with
//! the matcher current at each block.

use std::io::Read;
use std::sync::Arc;

use super::{Source, SourceContext};
use crate::lines::{Chunk, LineReader, ReadError};
use crate::scan::{Position, SourceScanner};

/// Most bytes read before counters are reported and cancellation is checked.
const PASS_BUDGET: usize = 1 << 20;

/// Standard input as a source named `name`.
#[derive(Debug)]
pub struct StdinSource {
    name: String,
    max_line_bytes: usize,
}

impl StdinSource {
    /// A source named `name` that cuts lines at `max_line_bytes`.
    pub fn new(name: &str, max_line_bytes: usize) -> Self {
        Self {
            name: name.to_string(),
            max_line_bytes,
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

/// Reads `input` to its end (or cancellation), queueing events.
fn read_to_end(src: &StdinSource, input: &mut dyn Read, ctx: &mut SourceContext) {
    let limit = src.max_line_bytes;
    let mut sc = SourceScanner::new(&*src.name, limit, Position::default())
        .with_path("stdin")
        .with_workers(crate::scan::default_workers());
    // One stdin per daemon: a block as large as `scan`'s, so a storm on
    // stdin is matched on both cores as `scan` does it.
    let mut reader = LineReader::new(limit, (limit + 64 * 1024).max(1 << 20));
    while !ctx.cancel.is_cancelled() {
        // The matcher current when a block arrives (a read may wait long for
        // it): a reload applies from the next block on.
        let (current, emitter) = (&ctx.current, &mut ctx.emitter);
        let mut on_chunk = |c: Chunk<'_>| {
            let g = Arc::clone(&current.borrow());
            sc.chunk(&g.matcher, c, &mut |ev| emitter.event(&g, ev))?;
            emitter.flush()
        };
        let eof = match reader.read_pass(input, PASS_BUDGET, &mut on_chunk) {
            Ok(p) => p.eof,
            Err(ReadError::Consumer(_closed)) => return,
            Err(ReadError::Io(e)) => {
                tracing::warn!("reading stdin failed, treating it as ended: {e}");
                ctx.metrics.read_error(&src.name);
                true
            }
        };
        if eof && reader.finish(&mut on_chunk).is_err() {
            return;
        }
        ctx.metrics.read(&src.name, &sc.take_delta());
        if eof {
            tracing::info!("stdin reached its end");
            return;
        }
    }
}
