//! trtc-logwatch: turns TRTC Web SDK errors in logs into enriched events
//! and Prometheus counters.
//!
//! Stages, each a module: [`catalog`] (YAML error catalogs), [`lines`]
//! (bounded line splitting), [`matcher`] (one Aho-Corasick pass plus context
//! rules), [`context`] (userId/roomId/timestamp lifting), [`event`] (the
//! NDJSON event), [`scan`] (the pipeline shared by `scan` and `run`); for
//! the daemon [`config`], [`source`] (files and stdin), [`sink`] (events and
//! checkpoints), [`metrics`], [`server`] (HTTP) and [`daemon`] (wiring).
//!
//! Scanning a line through the library:
//!
//! ```
//! use std::sync::Arc;
//! use trtc_logwatch::{catalog::CatalogSet, lines::LineSplitter, matcher::Matcher, scan::{Position, SourceScanner}};
//!
//! let matcher = Arc::new(Matcher::new(Arc::new(CatalogSet::builtin().unwrap())).unwrap());
//! let mut scanner = SourceScanner::new(matcher, "example", 64 * 1024, Position::default());
//! let mut keys = Vec::new();
//! let input: &[u8] = b"size=4096\nRtcError: x <ICE_TRANSPORT_ERROR 0x4003>\n";
//! scanner
//!     .read_all(input, &mut LineSplitter::new(64 * 1024), &mut |ev| {
//!         keys.push((ev.key.to_string(), ev.line_number));
//!         Ok(())
//!     })
//!     .unwrap();
//! assert_eq!(keys, [("ICE_TRANSPORT_ERROR".to_string(), 2)]);
//! ```
#![deny(missing_docs)]

pub mod catalog;
pub mod config;
pub mod context;
pub mod daemon;
pub mod event;
pub mod lines;
pub mod matcher;
pub mod metrics;
pub mod report;
pub mod scan;
pub mod server;
pub mod sink;
pub mod source;
