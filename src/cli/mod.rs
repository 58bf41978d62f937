//! The command line's parts: its definitions ([`args`]) and `scan`'s
//! output ([`scan`]); `main.rs` holds the subcommands.

pub mod args;
pub mod scan;
