//! Reading the files that are due: each once per pass, within its read
//! budget, into the record pipeline; a final partial line after
//! `idle_flush`, a rotated file closed once drained for `rotate_wait`.

use std::time::Instant;

use super::FileServer;
use crate::daemon::queue::SinkMsg;
use crate::daemon::source::feed::Feed;
use crate::lines::ReadError;
use crate::pipeline::RECORD_WAIT;
use crate::state::fingerprint::FileId;

impl FileServer {
    /// Reads every file that is due once (rotated ones first, so an old
    /// file is drained before its successor). Returns true when some file
    /// has more to read.
    pub(super) fn read_dirty(&mut self) -> bool {
        let now = Instant::now();
        let mut more = false;
        for id in self.table.take_dirty() {
            match self.read_one(id, now) {
                Some(true) => {
                    more = true;
                    if let Some((r, _)) = self.table.reading_mut(id) {
                        r.dirty = true;
                    }
                }
                Some(false) => {}
                None => return false, // the sink has stopped
            }
        }
        self.update_gauges();
        more
    }

    /// Reads one file; flushes its final partial line when idle or drained;
    /// queues its checkpoint; closes it when drained. `Some(more)`, or
    /// `None` when the sink has stopped.
    fn read_one(&mut self, id: FileId, now: Instant) -> Option<bool> {
        let (r, draining) = self.table.reading_mut(id)?;
        let w = &mut r.w;
        let source = w.source.clone();
        let ctx = &mut self.ctx;
        let m = &self.m;
        let mut feed = Feed::new(&ctx.current, &mut ctx.emitter, &ctx.metrics, &source);
        let mut more = false;
        match w.read(&mut feed) {
            Ok(o) => {
                more = o.more;
                if o.truncated {
                    m.truncation(&source);
                }
            }
            Err(ReadError::Consumer(_closed)) => return None,
            Err(ReadError::Io(e)) => {
                tracing::warn!("reading {} failed: {e}", w.path.display());
                ctx.metrics.read_error(&source);
            }
        }
        let quiet = now.duration_since(w.last_data);
        if w.is_holding() && !more && quiet >= RECORD_WAIT && w.release(&mut feed).is_err() {
            return None;
        }
        let idle = quiet >= self.config.idle_flush;
        let done = draining.is_some_and(|t| now.duration_since(t) >= self.config.rotate_wait);
        if (idle || done) && w.pending() > 0 && !more && w.flush_partial(&mut feed).is_err() {
            return None;
        }
        if w.stats().lines >= 10 && crate::daemon::failpoint::hit("files") {
            panic!("failpoint: files");
        }
        if let Some(c) = w.checkpoint_if_moved() {
            let _ = ctx.emitter.send(SinkMsg::Commit(c));
        }
        if done && !more {
            tracing::info!(
                "done with {} (rotated away, read to its end)",
                w.path.display()
            );
            self.table.remove(id);
            let _ = self.ctx.emitter.send(SinkMsg::Forget(id));
        } else if draining.is_some() || w.pending() > 0 {
            // Rotated files are read until closed; a partial line or a
            // record kept back until flushed.
            r.dirty = true;
        }
        Some(more)
    }
}
