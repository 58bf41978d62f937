//! `scan`: files (or stdin) through the record pipeline, events to
//! stdout, with a summary and a progress line on a terminal.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::Arc;

use anyhow::{Context as _, Result};

use super::args::{ScanArgs, UsageError};
use super::errors::{is_broken_pipe, load, report};
use std::path::PathBuf;
use trtc_logwatch::decode::{self, Encoding};
use trtc_logwatch::lines::ReadError;
use trtc_logwatch::matcher::Matcher;
use trtc_logwatch::pipeline::{BufferKind, EventSink, Pipeline};
use trtc_logwatch::render::Renderer;
use trtc_logwatch::report::Summary;
use trtc_logwatch::scan::{self, Stats};

/// `scan` found errors and `--fail-on-error` was given (exit 1).
#[derive(Debug, thiserror::Error)]
#[error("{0} TRTC error(s) found")]
pub(crate) struct ErrorsFound(pub(crate) u64);

pub(crate) fn scan(a: &ScanArgs) -> Result<()> {
    let workers = a.threads.map_or_else(scan::default_workers, usize::from);
    let set = load(&a.catalogs)?;
    let renderer = Renderer::new(&set, a.text.into());
    let matcher = Arc::new(super::errors::matcher(set, a.config.as_deref())?);
    let stdin_only = [PathBuf::from("-")];
    let paths = if a.paths.is_empty() {
        &stdin_only[..]
    } else {
        &a.paths[..]
    };
    let mut out = ScanOutput {
        w: BufWriter::with_capacity(256 * 1024, io::stdout().lock()),
        buf: Vec::with_capacity(512 * 1024),
        summary: a.summary.then(Summary::default),
    };
    let mut total = Stats::default();
    let mut failed = Vec::new();
    for p in paths {
        match scan_one(a, &matcher, &renderer, workers, p, &mut out) {
            Ok(stats) => total.add(&stats),
            // Our own output closed (`| head`): stop quietly, as before.
            Err(e) if is_broken_pipe(&e) => return Err(e),
            Err(e) => {
                eprintln!("trtc-logwatch: {}", report(&e));
                failed.push(p.display().to_string());
            }
        }
    }
    out.finish()?;
    if let Some(sum) = &out.summary {
        eprint!("{}", sum.render(&total));
        if let Some(r) = matcher.recognition() {
            for (kind, list) in [("rule", r.rules()), ("ignore", r.ignores())] {
                for p in list {
                    eprintln!("recognition {kind} {:<24} {:>10}", p.name, p.taken());
                }
            }
        }
    }
    if !failed.is_empty() {
        return Err(UsageError::Message(format!(
            "{} of {} input(s) could not be read: {}",
            failed.len(),
            paths.len(),
            failed.join(", ")
        ))
        .into());
    }
    if a.fail_on_error && total.events > 0 {
        return Err(ErrorsFound(total.events).into());
    }
    Ok(())
}

/// Where `scan` writes events (and counts them for `--summary`).
struct ScanOutput<W: Write> {
    w: W,
    buf: Vec<u8>,
    summary: Option<Summary>,
}

impl<W: Write> ScanOutput<W> {
    #[inline]
    fn event(&mut self, r: &Renderer, ev: &trtc_logwatch::event::Event<'_>) -> io::Result<()> {
        if let Some(s) = &mut self.summary {
            s.add(ev.group, ev.key);
        }
        r.write(ev, &mut self.buf);
        self.buf.push(b'\n');
        if self.buf.len() >= 256 * 1024 {
            self.w.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        self.w.flush()
    }
}

/// Scans one path (`-`: stdin); an error names the path and what failed.
fn scan_one<W: Write>(
    a: &ScanArgs,
    matcher: &Arc<Matcher>,
    renderer: &Renderer,
    workers: usize,
    p: &std::path::Path,
    out: &mut ScanOutput<W>,
) -> Result<Stats> {
    let from_stdin = p.as_os_str() == "-";
    let (name, raw, size): (String, Box<dyn io::Read>, Option<u64>) = if from_stdin {
        ("stdin".into(), Box::new(io::stdin().lock()), None)
    } else {
        let f = File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
        let meta = f
            .metadata()
            .with_context(|| format!("cannot stat {}", p.display()))?;
        if meta.is_dir() {
            anyhow::bail!("cannot scan {}: is a directory", p.display());
        }
        (p.display().to_string(), Box::new(f), Some(meta.len()))
    };
    let (encoding, mut input) =
        decode::decoded(raw).with_context(|| format!("cannot read {name}"))?;
    if encoding == Encoding::Binary {
        eprintln!("trtc-logwatch: warning: {name} looks binary (NUL bytes); scanned as it is");
    }
    let mut pipeline = Pipeline::builder(name.clone())
        .max_line_bytes(a.max_line_bytes)
        .buffer(BufferKind::Stream)
        .workers(workers)
        .build();
    let mut sink = ScanSink {
        out,
        matcher,
        renderer,
        progress: Progress::new(&name, size),
        read: Stats::default(),
        live: from_stdin,
    };
    // A pipe may pause after a record: matched after the record wait, not
    // only at the end of the input (`tail -f app.log | trtc-logwatch scan`).
    let r = if from_stdin {
        pipeline.read_to_end_live(
            &mut input,
            &mut trtc_logwatch::lines::stdin_within,
            &mut sink,
        )
    } else {
        pipeline.read_to_end(&mut input, &mut sink)
    };
    sink.progress.done();
    match r {
        Ok(()) => Ok(pipeline.stats()),
        // Writing our output failed: not this input's fault.
        Err(ReadError::Consumer(e)) => Err(e.into()),
        Err(ReadError::Io(e)) => Err(anyhow::Error::new(e).context(format!(
            "reading {name} failed after {} bytes",
            pipeline.stats().bytes
        ))),
    }
}

/// One input's events on their way to [`ScanOutput`], with its progress.
struct ScanSink<'a, W: Write> {
    out: &'a mut ScanOutput<W>,
    matcher: &'a Arc<Matcher>,
    renderer: &'a Renderer,
    progress: Progress<'a>,
    read: Stats,
    /// Reading standard input: events are written after each block.
    live: bool,
}

impl<W: Write> EventSink for ScanSink<'_, W> {
    type Error = io::Error;

    fn matcher(&mut self) -> Arc<Matcher> {
        Arc::clone(self.matcher)
    }

    #[inline]
    fn event(&mut self, ev: &trtc_logwatch::event::Event<'_>) -> io::Result<()> {
        self.out.event(self.renderer, ev)
    }

    fn block_done(&mut self, delta: &Stats) -> io::Result<()> {
        self.read.add(delta);
        self.progress.tick(self.read.bytes, self.read.events);
        // A pipe that pauses (`tail -f app.log | trtc-logwatch scan`): what
        // was found is written at once, not at the end of the input.
        if self.live && !self.out.buf.is_empty() {
            self.out.finish()?;
        }
        Ok(())
    }
}

/// A progress line on stderr for long scans, only when stderr is a
/// terminal: redrawn at most every 250 ms once a scan has run a second.
struct Progress<'a> {
    name: &'a str,
    size: Option<u64>,
    on: bool,
    start: std::time::Instant,
    last: Option<std::time::Instant>,
}

impl<'a> Progress<'a> {
    fn new(name: &'a str, size: Option<u64>) -> Self {
        Self {
            name,
            size,
            on: io::IsTerminal::is_terminal(&io::stderr()),
            start: std::time::Instant::now(),
            last: None,
        }
    }

    fn tick(&mut self, bytes: u64, events: u64) {
        if !self.on || self.start.elapsed() < std::time::Duration::from_secs(1) {
            return;
        }
        if self
            .last
            .is_some_and(|t| t.elapsed() < std::time::Duration::from_millis(250))
        {
            return;
        }
        self.last = Some(std::time::Instant::now());
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let of = match self.size {
            Some(s) if s > 0 => format!(
                " of {:.0} MiB ({:.0} %)",
                mib(s),
                100.0 * bytes as f64 / s as f64
            ),
            _ => String::new(),
        };
        eprint!(
            "\r\x1b[K{}: {:.0} MiB{of}, {events} events",
            self.name,
            mib(bytes)
        );
    }

    fn done(&self) {
        if self.last.is_some() {
            eprint!("\r\x1b[K");
        }
    }
}
