//! The terminal: the one task that prints. On a terminal, an indicatif progress bar for the
//! stage and a line per running gate showing its current step; otherwise (CI logs) only whole
//! lines for finished gates, never interleaved. With `--message-format json`, the events as JSON
//! lines on stdout too (`json`), the human report on stderr.

mod event_format;
pub mod github;
pub mod json;
mod lines;
mod terminal;

pub use event_format::{StageRef, schema as events_schema};
pub use terminal::{ReporterOptions, run};
