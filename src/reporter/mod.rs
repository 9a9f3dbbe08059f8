//! The terminal: the one task that prints, on stderr. On a terminal, an indicatif progress bar
//! for the stage and a line per running gate showing its current step; otherwise (CI logs) only
//! whole lines for finished gates, never interleaved. Colour where the user's terminal and
//! `--color` allow it. With `--message-format json`, the events as JSON lines on stdout too
//! (`json`).

#[cfg(unix)]
mod echo;
mod event_format;
mod failures;
pub mod github;
pub mod json;
mod lines;
pub mod paint;
mod terminal;
mod verdict;

pub use event_format::{StageRef, schema as events_schema};
pub use failures::FailureOptions;
pub use terminal::{ReporterOptions, run, say};
