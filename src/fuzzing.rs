//! The fuzz targets' properties, shared by the coverage-guided targets in
//! `fuzz/` (cargo fuzz) and the property tests in `tests/fuzz.rs` (which
//! also replay the corpus kept in `fuzz/corpus/`). Not an API: each
//! function panics when the property it checks does not hold, which is
//! what a fuzzer looks for.
//!
//! - [`record_matcher`]: bytes as a log, matched whole and as a stream read
//!   in pieces of any size: the same events, each at its line.
//! - [`ingest_decoder`]: bytes as a collector body: decoded into records
//!   that lie within the text, in order, each matched once.

use std::io::Read;
use std::sync::{Arc, OnceLock};

use crate::bodies;
use crate::catalog::CatalogSet;
use crate::event::Event;
use crate::matcher::Matcher;
use crate::pipeline::{FnSink, Pipeline};

/// The matcher over the built-in catalogs, built once.
fn matcher() -> Arc<Matcher> {
    static M: OnceLock<Arc<Matcher>> = OnceLock::new();
    Arc::clone(M.get_or_init(|| {
        let set = CatalogSet::builtin().unwrap_or_else(|e| panic!("built-in catalogs: {e}"));
        Arc::new(Matcher::new(Arc::new(set)).unwrap_or_else(|e| panic!("matcher: {e}")))
    }))
}

/// What identifies an event: its line number, offset, key and whether it
/// is a recovery.
type Seen = (u64, u64, String, bool);

fn seen(ev: &Event<'_>) -> Seen {
    (ev.line_number, ev.offset, ev.key.to_string(), ev.recovered)
}

/// A reader that hands out its bytes in pieces of the sizes given, in turn
/// (a file growing while it is followed).
struct Pieces<'a> {
    data: &'a [u8],
    sizes: &'a [usize],
    turn: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = self.sizes[self.turn % self.sizes.len()].max(1);
        self.turn += 1;
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn events_of(p: &mut Pipeline, run: impl FnOnce(&mut Pipeline, &mut dyn FnMut(Seen))) -> Vec<Seen> {
    let mut out = Vec::new();
    run(p, &mut |s| out.push(s));
    out
}

/// Matches `input` whole (as a body in memory) and as a stream read in
/// pieces of `sizes` bytes, with lines cut at `limit`: the same events, in
/// the same order, each pointing at the start of its line.
pub fn record_matcher(input: &[u8], sizes: &[usize], limit: usize) {
    let limit = limit.clamp(16, 1 << 20);
    let m = matcher();
    let mut whole = Pipeline::builder("fuzz").max_line_bytes(limit).build();
    let a = events_of(&mut whole, |p, push| {
        let mut sink = FnSink::new(Arc::clone(&m), |ev: &Event<'_>| {
            push(seen(ev));
            Ok::<_, ()>(())
        });
        let _ = p.text(input, &mut sink);
        let _ = p.finish(&mut sink);
    });
    let sizes = if sizes.is_empty() { &[4096][..] } else { sizes };
    let mut stream = Pipeline::builder("fuzz").max_line_bytes(limit).build();
    let b = events_of(&mut stream, |p, push| {
        let mut sink = FnSink::new(Arc::clone(&m), |ev: &Event<'_>| {
            push(seen(ev));
            Ok::<_, ()>(())
        });
        let mut r = Pieces {
            data: input,
            sizes,
            turn: 0,
        };
        if let Err(e) = p.read_to_end(&mut r, &mut sink) {
            panic!("reading from memory failed: {e:?}");
        }
    });
    assert_eq!(
        stream.stats().bytes,
        input.len() as u64,
        "every byte read once"
    );
    for (line, offset, _, _) in &a {
        let o = usize::try_from(*offset).unwrap_or(usize::MAX);
        assert!(o <= input.len(), "offset {o} past the input");
        assert!(
            o == 0 || input[o - 1] == b'\n',
            "offset {o} is not a line's start"
        );
        let n = input[..o].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        assert_eq!(*line, n, "line number of offset {o}");
    }
    assert_eq!(a, b, "whole vs read in pieces of {sizes:?}");
}

/// Decodes `body` as a collector body: records lie within the text, in
/// order, each ending with `\n`; matching them never panics and finds each
/// event within one record.
pub fn ingest_decoder(body: &[u8]) {
    for field in [None, Some("log")] {
        let r = bodies::decode(body, field);
        if let Some(starts) = &r.starts {
            for w in starts.windows(2) {
                assert!(w[0] < w[1], "starts not ascending: {starts:?}");
            }
            for &s in starts {
                assert!(s < r.text.len(), "a start past the text");
                assert!(s == 0 || r.text[s - 1] == b'\n', "a record not at a line");
            }
            assert_eq!(
                starts.first().copied().unwrap_or(0),
                0,
                "text before the first record"
            );
            assert!(r.text.is_empty() || r.text.ends_with(b"\n"));
        } else {
            assert_eq!(r.text, body, "plain text is kept as it is");
        }
        let m = matcher();
        let mut p = Pipeline::builder("fuzz").build();
        let mut events = 0u64;
        let mut sink = FnSink::new(Arc::clone(&m), |ev: &Event<'_>| {
            let o = usize::try_from(ev.offset).unwrap_or(usize::MAX);
            assert!(o <= r.text.len(), "event offset past the text");
            events += 1;
            Ok::<_, ()>(())
        });
        let _ = r.scan(&mut p, &mut sink);
        drop(sink);
        if let Some(starts) = &r.starts {
            assert!(
                events <= starts.len() as u64 * crate::records::MAX_RECORD_LINES as u64,
                "more events than records could hold"
            );
        }
    }
}
