//! The documented exit codes, and the one error type that maps onto them.

use crate::config::Diagnostic;
use crate::merge::error::MergeError;

pub const PASSED: i32 = 0;
pub const FAILED: i32 = 1;
pub const USAGE: i32 = 2;
pub const BLOCKED: i32 = 3;
pub const NOTHING_SELECTED: i32 = 4;
pub const INTERRUPTED: i32 = 130;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", render(.0))]
    Config(Vec<Diagnostic>),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Blocked(String),
    #[error("{0}")]
    NothingSelected(String),
    #[error(transparent)]
    Evidence(#[from] crate::evidence::EvidenceError),
    #[error("{0}")]
    Internal(String),
    #[error("{0}")]
    Interrupted(String),
}

fn render(diagnostics: &[Diagnostic]) -> String {
    let mut out: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
    let n = diagnostics.len();
    // "in gate files" when one was read: a missing or empty gates directory names none.
    let in_files = diagnostics.iter().any(|d| {
        d.file
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml")
    });
    out.push(format!(
        "{n} error{}{}",
        if n == 1 { "" } else { "s" },
        if in_files { " in gate files" } else { "" }
    ));
    out.join("\n\n")
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_) | Error::Usage(_) => USAGE,
            Error::Blocked(_) => BLOCKED,
            Error::NothingSelected(_) => NOTHING_SELECTED,
            Error::Evidence(_) | Error::Internal(_) => FAILED,
            Error::Interrupted(_) => INTERRUPTED,
        }
    }
}

/// A merge that did not happen: a refused shard is a usage error (exit 2); one that could not
/// be read, or merged evidence that could not be written, is a failure (exit 1).
impl From<MergeError> for Error {
    fn from(e: MergeError) -> Self {
        match e {
            MergeError::Refused(why) => Error::Usage(why),
            MergeError::Read { .. } => Error::Internal(e.to_string()),
            MergeError::Write(e) => Error::Evidence(e),
        }
    }
}
