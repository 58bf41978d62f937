//! trtc-logwatch: turns TRTC Web SDK errors in logs into enriched events
//! and Prometheus counters.
//!
//! Stages, each a module: [`catalog`] (YAML error catalogs), [`lines`]
//! (bounded line splitting), [`matcher`] (one Aho-Corasick pass plus context
//! rules), [`context`] (userId/roomId/timestamp lifting), [`event`] (the
//! NDJSON event), [`scan`] (the pipeline shared by `scan` and `run`).
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
