//! Gate files: discovery, parsing into raw serde types, validation into the plan the runner
//! trusts, and lint warnings. Every problem is reported as `FILE:LINE:COL: message` with the
//! source line and a caret, and every gate keeps its file and line for reports.

pub mod diagnostic;
mod discover;
pub(crate) mod http_expect;
mod interpolated;
mod lint;
mod load;
pub(crate) mod model;
mod names;
pub(crate) mod raw;
mod shell_names;
mod undefined;
pub(crate) mod validate;
pub mod yaml;
mod yaml_hints;

pub use diagnostic::{Diagnostic, Severity};
pub use discover::{
    PROJECT_FILE, discover as discover_files, find_root, may_be_in_git, project_at,
    read as read_stage_file, relative, repo_prefix,
};
pub use http_expect::{BytesExpect, DurationBound, NodeExpect};
pub use lint::lints;
pub use load::{LoadOptions, Loaded, load, parse_stage};
pub use model::mock::{
    MockBody, MockDef, MockResponse, PathMatch, ReceivedStep, RequestMatch, Route, Target,
};
pub use model::{
    BrowserAction, BrowserExpect, BrowserStep, Command, Database, DatabaseKind, DbInit, Eventually,
    Gate, HeaderCheck, HttpBody, HttpExpect, HttpSign, HttpStep, HttpVersion, JsonExpect,
    MultipartPart, NAMED_KEYS, Probe, Project, Ready, RunExpect, Screenshot, ServiceAction,
    ServiceDef, Signal, SqlExpect, Stage, StageKey, StageScope, StatusMatch, Step, StepKind,
};
pub use validate::Defaults;

#[cfg(test)]
mod tests;
