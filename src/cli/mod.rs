//! The command line's parts: its definitions ([`args`]), what every
//! subcommand shares ([`errors`]) and `scan`'s output ([`scan`]);
//! `main.rs` holds the subcommands.

pub mod args;
pub mod errors;
pub mod scan;
