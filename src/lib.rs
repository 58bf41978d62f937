//! trtc-logwatch: turns TRTC Web SDK errors in logs into enriched events
//! and Prometheus counters.
//!
//! Two halves. The engine, which never imports daemon code: [`bytes`]
//! (substring search within a line), [`catalog`]
//! (YAML error catalogs), [`decode`] (gzip, UTF-16, binary sniffing),
//! [`lines`] (reading and bounded line splitting),
//! [`matcher`] (one Aho-Corasick pass plus context rules), [`context`]
//! (userId/roomId/timestamp lifting), [`event`] (the NDJSON event),
//! [`pipeline`] (bytes in, events out: the one record pipeline of `scan`
//! and every daemon source), [`scan`] (matching blocks inside it) and
//! [`report`] (human-readable output), `bodies` (a collector's body into
//! its records) and `ua` (a User-Agent into a bounded browser and OS). The
//! daemon, [`daemon`]: config, one kind of source per input (files, stdin,
//! HTTP ingest, the browser endpoint, NATS) started in one loop, the queue,
//! the sink, metrics, the pages and the HTTP server. Between them, `state`:
//! file identity and checkpoints, shared by the file reader and the sink.
//! ARCHITECTURE.md maps the code.
//!
//! Scanning through the library: a [`pipeline::Pipeline`] takes the bytes,
//! an [`pipeline::EventSink`] (here a closure) takes the events.
//!
//! ```
//! use std::sync::Arc;
//! use trtc_logwatch::{catalog::CatalogSet, matcher::Matcher, pipeline::{FnSink, Pipeline}};
//!
//! let matcher = Arc::new(Matcher::new(Arc::new(CatalogSet::builtin().unwrap())).unwrap());
//! let mut keys = Vec::new();
//! let mut sink = FnSink::new(matcher, |ev: &trtc_logwatch::event::Event<'_>| {
//!     keys.push((ev.key.to_string(), ev.line_number));
//!     Ok::<_, std::io::Error>(())
//! });
//! let mut input: &[u8] = b"size=4096\nRtcError: x <ICE_TRANSPORT_ERROR 0x4003>\n";
//! Pipeline::builder("example").build().read_to_end(&mut input, &mut sink).unwrap();
//! assert_eq!(keys, [("ICE_TRANSPORT_ERROR".to_string(), 2)]);
//! ```
#![deny(missing_docs)]

pub(crate) mod bodies;
pub mod breadcrumbs;
pub mod bytes;
pub mod catalog;
pub mod context;
pub mod daemon;
pub mod decode;
pub mod event;
#[doc(hidden)]
pub mod fuzzing;
pub mod lines;
pub mod matcher;
pub mod pipeline;
pub mod records;
pub mod redact;
pub mod render;
pub mod report;
pub mod scan;
pub(crate) mod state;
pub(crate) mod ua;
pub mod yaml;
