//! trtc-logwatch: turns TRTC Web SDK errors in logs into enriched events
//! and Prometheus counters.
//!
//! Two halves. The engine, which never imports daemon code: [`bytes`]
//! (substring search within a line), [`catalog`]
//! (YAML error catalogs), [`decode`] (gzip, UTF-16, binary sniffing),
//! [`lines`] (reading and bounded line splitting),
//! [`matcher`] (one Aho-Corasick pass plus context rules), [`context`]
//! (userId/roomId/timestamp lifting), [`event`] (the NDJSON event), [`scan`]
//! (the pipeline shared by `scan` and `run`) and [`report`] (human-readable
//! output). The daemon, [`daemon`]: config, sources (files, stdin), the
//! queue, the sink, metrics and the HTTP server. Between them, `state`:
//! file identity and checkpoints, shared by the file reader and the sink.
//!
//! Scanning a line through the library:
//!
//! ```
//! use std::sync::Arc;
//! use trtc_logwatch::{catalog::CatalogSet, lines::LineReader, matcher::Matcher, scan::{Position, SourceScanner}};
//!
//! let matcher = Matcher::new(Arc::new(CatalogSet::builtin().unwrap())).unwrap();
//! let mut scanner = SourceScanner::new("example", 64 * 1024, Position::default());
//! let mut keys = Vec::new();
//! let input: &[u8] = b"size=4096\nRtcError: x <ICE_TRANSPORT_ERROR 0x4003>\n";
//! scanner
//!     .read_all(&matcher, input, &mut LineReader::new(64 * 1024, 0), &mut |ev| {
//!         keys.push((ev.key.to_string(), ev.line_number));
//!         Ok(())
//!     })
//!     .unwrap();
//! assert_eq!(keys, [("ICE_TRANSPORT_ERROR".to_string(), 2)]);
//! ```
#![deny(missing_docs)]

pub mod bytes;
pub mod catalog;
pub mod context;
pub mod daemon;
pub mod decode;
pub mod event;
pub mod lines;
pub mod matcher;
pub mod render;
pub mod report;
pub mod scan;
pub(crate) mod state;
pub mod yaml;
