//! The terminal: the one task that prints. On a terminal, an indicatif progress bar for the
//! stage and a line per running gate showing its current step; otherwise (CI logs) only whole
//! lines for finished gates, never interleaved.

pub mod github;
mod lines;
mod terminal;

pub use terminal::{ReporterOptions, run};
