//! gaterun: run a phase's stage acceptance gates, each in isolation, and write the evidence.
//!
//! The flow, top to bottom: `cli` parses arguments; `app` matches the command, and is the only
//! layer that prints outcomes and picks exit codes; `config` loads and validates the gate files
//! into a plan; `plan` selects stages and gates and checks prerequisites; `runner` runs stages
//! in order and gates concurrently, each gate through `steps`, with `services` in the
//! background and `process` keeping every child in check; `evidence` writes what happened;
//! `reporter` tells the terminal. `text`, `events`, `results`, `mask`, `files` and `about` are
//! leaves all share.

/// `println!` that tolerates a closed stdout (`gaterun list | head -1`): a failed write ends
/// that output, never the program (std's `println!` panics).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprintln!` that tolerates a closed stderr, as `out!` does stdout.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod about;
mod app;
pub mod cli;
pub mod config;
pub(crate) mod database;
pub(crate) mod events;
pub mod evidence;
pub(crate) mod exit;
pub(crate) mod expect;
pub(crate) mod files;
pub mod mask;
pub(crate) mod merge;
pub(crate) mod mock;
pub(crate) mod near;
pub(crate) mod plan;
pub(crate) mod ports;
pub mod process;
pub(crate) mod reporter;
pub mod results;
pub(crate) mod runner;
pub(crate) mod schema;
pub(crate) mod services;
pub(crate) mod signoff;
pub(crate) mod steps;
pub(crate) mod text;
pub(crate) mod vars;
pub(crate) mod verify;

pub use app::main_with;
