//! One followed file: its open handle, identity, read position, line
//! splitter and scanner. Reads only complete lines; detects truncation and
//! rewritten content; stays open after rotation until drained.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Instant;

use crate::daemon::config::StartAt;
use crate::decode::{self, Encoding};
use crate::lines::ReadError;
use crate::pipeline::{BufferKind, EventSink, Pipeline};
use crate::scan::{Position, Stats};
use crate::state::checkpoint::FileCheckpoint;
use crate::state::fingerprint::{Check, FileId, Fingerprint, open_regular, read_prefix};

/// Most bytes read from one file in one pass, so one busy file cannot
/// starve the others.
const READ_BUDGET: usize = 8 * 1024 * 1024;

/// Files up to this size are counted when following starts at their end,
/// so line numbers stay true; larger ones number lines from there on.
const COUNT_LIMIT: u64 = 1 << 30;

/// Newlines in the first `len` bytes of `file` (0 when `len` is over [`COUNT_LIMIT`]).
fn count_lines(file: &File, len: u64) -> io::Result<u64> {
    use std::os::unix::fs::FileExt;
    if len > COUNT_LIMIT {
        return Ok(0);
    }
    let mut buf = vec![0u8; 1 << 20];
    let (mut at, mut n) = (0u64, 0u64);
    while at < len {
        let want = buf.len().min((len - at) as usize);
        let got = file.read_at(&mut buf[..want], at)?;
        if got == 0 {
            break;
        }
        n += memchr::memchr_iter(b'\n', &buf[..got]).count() as u64;
        at += got as u64;
    }
    Ok(n)
}

/// Bytes of a file's start read at open: enough to tell its encoding.
const SNIFF_LEN: usize = 4096;

/// What a read pass saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReadOutcome {
    /// Bytes read.
    pub bytes: u64,
    /// The file was truncated or rewritten and is read again from 0.
    pub truncated: bool,
    /// The read budget ran out before the end of the file.
    pub more: bool,
}

/// A followed file.
#[derive(Debug)]
pub struct Watched {
    /// Source name.
    pub source: String,
    /// Path it was last seen at.
    pub path: PathBuf,
    /// Identity.
    pub id: FileId,
    fp: Fingerprint,
    file: File,
    pipeline: Pipeline,
    /// Bytes consumed from the file (offset + partial line buffered).
    read_pos: u64,
    /// Size at the last read.
    pub size: u64,
    mtime: Option<std::time::SystemTime>,
    /// Last time data arrived.
    pub last_data: Instant,
    committed: u64,
    resumed: bool,
    /// NUL bytes at its start: followed as it is, with one warning.
    pub binary: bool,
    /// A large buffer borrowed while far behind the file's end.
    storm: Option<super::storm::Lease>,
}

impl Watched {
    /// Opens `path` for source `source`. It resumes from `checkpoint` when
    /// that is this file's (same identity, same first bytes); otherwise it
    /// starts where `start` says.
    pub fn open(
        source: &str,
        path: PathBuf,
        limit: usize,
        checkpoint: Option<&FileCheckpoint>,
        start: StartAt,
    ) -> io::Result<Self> {
        let mut file = open_regular(&path)?;
        let meta = file.metadata()?;
        let id = FileId::of(&meta);
        // One read of the file's start: its fingerprint, what it is, and
        // whether the checkpoint is still this file's.
        let head = read_prefix(&file, SNIFF_LEN)?;
        let fp = Fingerprint::of_prefix(&head);
        let encoding = decode::sniff(&head);
        if matches!(
            encoding,
            Encoding::Gzip | Encoding::Utf16Le | Encoding::Utf16Be
        ) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a {} file is not followed (exclude it, or read it with `scan`)",
                    encoding.name()
                ),
            ));
        }
        let usable = match checkpoint {
            Some(c) if c.fits(id, &head) => Some(c),
            _ => None,
        };
        let pos = match usable {
            Some(c) if c.offset <= meta.len() => Position {
                line_number: c.line_number,
                offset: c.offset,
            },
            Some(_) => Position::default(),
            None if start == StartAt::End => Position {
                line_number: 1 + count_lines(&file, meta.len())?,
                offset: meta.len(),
            },
            _ => Position::default(),
        };
        file.seek(SeekFrom::Start(pos.offset))?;
        let shown = path.display().to_string();
        Ok(Self {
            source: source.to_string(),
            path,
            id,
            fp,
            file,
            pipeline: Pipeline::builder(source)
                .path(shown)
                .max_line_bytes(limit)
                .buffer(BufferKind::Follow)
                .workers(crate::scan::default_workers())
                .start(pos)
                .build(),
            read_pos: pos.offset,
            size: meta.len(),
            mtime: meta.modified().ok(),
            last_data: Instant::now(),
            committed: u64::MAX,
            resumed: usable.is_some(),
            binary: encoding == Encoding::Binary,
            storm: None,
        })
    }

    /// True when the file was opened at its checkpoint.
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// Offset just past the last complete line handled.
    pub fn offset(&self) -> u64 {
        self.pipeline.position().offset
    }

    /// Bytes in the file not read yet.
    pub fn lag(&self) -> u64 {
        self.size.saturating_sub(self.offset())
    }

    fn restart_from_zero(&mut self) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(0))?;
        self.pipeline.restart(Position::default());
        self.read_pos = 0;
        self.fp = Fingerprint::of(&self.file)?;
        Ok(())
    }

    /// Reads what was appended since the last call into `sink`.
    pub fn read<S: EventSink>(&mut self, sink: &mut S) -> Result<ReadOutcome, ReadError<S::Error>> {
        let mut out = ReadOutcome::default();
        let meta = self.file.metadata()?;
        let size = meta.len();
        let mtime = meta.modified().ok();
        // Size or modification time changed: check the first bytes too, which
        // also catches a truncation followed by as many bytes as were there.
        if size != self.size || mtime != self.mtime || size < self.read_pos {
            // Truncated (copytruncate), or the first bytes changed (rewritten).
            let rewritten = match self.fp.check(&self.file)? {
                Check::Grown(longer) => {
                    self.fp = longer;
                    false
                }
                Check::Same => false,
                Check::Changed => true,
            };
            if size < self.read_pos || rewritten {
                // What was read of the old content and kept back (a record
                // waiting for its next lines, a final partial line) is
                // matched before it is forgotten.
                self.pipeline.finish(sink).map_err(ReadError::Consumer)?;
                self.restart_from_zero()?;
                out.truncated = true;
            }
        }
        self.size = size;
        self.mtime = mtime;
        // Far behind its end: read in large blocks while a large buffer is
        // free (matched on both cores, one hand-over per block).
        if self.storm.is_none() && size.saturating_sub(self.read_pos) >= super::storm::BEHIND {
            self.storm = super::storm::POOL.take();
            if self.storm.is_some() {
                self.pipeline.set_buffer(BufferKind::Storm);
            }
        }
        let mut budget = READ_BUDGET;
        // Read until the end of the file or the budget: a short read of a
        // regular file is not its end while it grows.
        loop {
            let pass = self.pipeline.read_pass(&mut self.file, budget, sink)?;
            self.read_pos += pass.bytes;
            out.bytes += pass.bytes;
            budget -= pass.bytes as usize;
            if pass.more {
                out.more = true;
            }
            if pass.eof || pass.more {
                break;
            }
        }
        if out.bytes > 0 {
            self.last_data = Instant::now();
            self.size = self.size.max(self.read_pos);
        }
        // Caught up: the large buffer goes back for another file.
        if self.storm.is_some() && !out.more {
            self.pipeline.set_buffer(BufferKind::Follow);
            self.storm = None;
        }
        Ok(out)
    }

    /// True while a record's lines wait for the lines that may continue it.
    pub fn is_holding(&self) -> bool {
        self.pipeline.is_holding()
    }

    /// Matches the lines kept back for their record's next lines, which did
    /// not come in time.
    pub fn release<S: EventSink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        self.pipeline.release(sink)
    }

    /// Hands out a final line without `\n` (after idle time or at close).
    pub fn flush_partial<S: EventSink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        self.pipeline.finish(sink)
    }

    /// Bytes of a partial line waiting for its `\n`.
    pub fn pending(&self) -> usize {
        self.pipeline.pending()
    }

    /// Counters since the file was opened.
    pub fn stats(&self) -> Stats {
        self.pipeline.stats()
    }

    /// The checkpoint for the current position, if it moved since the last one.
    pub fn checkpoint_if_moved(&mut self) -> Option<FileCheckpoint> {
        let off = self.offset();
        if off == self.committed {
            return None;
        }
        self.committed = off;
        Some(self.position())
    }

    /// Where the file stands: the checkpoint of its current position.
    pub fn position(&self) -> FileCheckpoint {
        FileCheckpoint {
            source: self.source.clone(),
            path: self.path.clone(),
            id: self.id,
            fingerprint: self.fp,
            offset: self.offset(),
            line_number: self.pipeline.position().line_number,
        }
    }

    /// Modification time at the last read.
    pub fn mtime(&self) -> Option<std::time::SystemTime> {
        self.mtime
    }
}

#[cfg(test)]
mod tests {
    //! Model-based: random appends (whole and partial lines), reads and
    //! copytruncates against one followed file; every line must come out
    //! exactly once, in order.
    use super::*;
    use crate::catalog::CatalogSet;
    use crate::matcher::Matcher;
    use proptest::prelude::*;
    use std::io::Write;

    #[derive(Debug, Clone)]
    enum Op {
        Lines(u8),
        Partial,
        Read,
        CopyTruncate,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (1u8..20).prop_map(Op::Lines),
            1 => Just(Op::Partial),
            3 => Just(Op::Read),
            1 => Just(Op::CopyTruncate),
        ]
    }

    fn matcher() -> &'static std::sync::Arc<Matcher> {
        static M: std::sync::OnceLock<std::sync::Arc<Matcher>> = std::sync::OnceLock::new();
        M.get_or_init(|| {
            std::sync::Arc::new(
                Matcher::new(std::sync::Arc::new(CatalogSet::builtin().unwrap())).unwrap(),
            )
        })
    }

    /// Collects the `seq=` of every event.
    struct Seqs<'a>(&'a mut Vec<u64>);

    impl crate::pipeline::EventSink for Seqs<'_> {
        type Error = ();
        fn matcher(&mut self) -> std::sync::Arc<Matcher> {
            std::sync::Arc::clone(matcher())
        }
        fn event(&mut self, ev: &crate::event::Event<'_>) -> Result<(), ()> {
            let n = ev
                .line
                .rsplit("seq=")
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap();
            self.0.push(n);
            Ok(())
        }
    }

    fn read(w: &mut Watched, seen: &mut Vec<u64>) {
        w.read(&mut Seqs(seen)).unwrap();
    }

    #[test]
    fn truncated_and_rewritten_to_the_same_size_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.log");
        std::fs::write(&p, "x <ICE_TRANSPORT_ERROR 0x4003> seq=1\n").unwrap();
        let mut w = Watched::open("t", p.clone(), 1024, None, StartAt::Beginning).unwrap();
        let mut seen = Vec::new();
        read(&mut w, &mut seen);
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&p, "x <ICE_TRANSPORT_ERROR 0x4003> seq=2\n").unwrap();
        read(&mut w, &mut seen);
        w.release(&mut Seqs(&mut seen)).unwrap();
        assert_eq!(seen, [1, 2]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn every_line_once_in_order(ops in proptest::collection::vec(op(), 1..40)) {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("app.log");
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&p).unwrap();
            let mut w = Watched::open("t", p.clone(), 1024, None, StartAt::Beginning).unwrap();
            let (mut next, mut pending_partial) = (1u64, false);
            let mut seen = Vec::new();
            for op in ops {
                match op {
                    Op::Lines(n) => {
                        for _ in 0..n {
                            let prefix = if pending_partial { "" } else { "x <ICE_TRANSPORT_ERROR 0x4003> " };
                            writeln!(f, "{prefix}seq={next}").unwrap();
                            pending_partial = false;
                            next += 1;
                        }
                    }
                    Op::Partial if !pending_partial => {
                        write!(f, "x <ICE_TRANSPORT_ERROR 0x4003> ").unwrap();
                        pending_partial = true;
                    }
                    Op::Partial => {}
                    Op::Read => read(&mut w, &mut seen),
                    Op::CopyTruncate if !pending_partial => {
                        // logrotate copies what the app wrote; everything was read first.
                        read(&mut w, &mut seen);
                        f.set_len(0).unwrap();
                    }
                    Op::CopyTruncate => {}
                }
            }
            if pending_partial {
                writeln!(f, "seq={next}").unwrap();
                next += 1;
            }
            read(&mut w, &mut seen);
            // The last record waits for lines that may continue it until
            // the daemon's record wait passes.
            w.release(&mut Seqs(&mut seen)).unwrap();
            prop_assert_eq!(seen, (1..next).collect::<Vec<_>>());
        }
    }
}
