//! One disagreement in the evidence: the file (relative to the evidence directory) and why,
//! shown as one inert line whatever the evidence under review holds.

use std::path::Path;

use crate::evidence::read::read_confined;

/// What a markdown or JUnit file of the evidence may weigh.
const TEXT_CAP: u64 = 64 << 20;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// Relative to the evidence directory.
    pub file: String,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Both may quote the evidence under review: one inert line, whatever it holds.
        use crate::text::shown;
        write!(f, "{}: {}", shown(&self.file), shown(&self.reason))
    }
}

pub(super) fn problem(file: impl Into<String>, reason: impl Into<String>) -> Problem {
    Problem {
        file: file.into(),
        reason: reason.into(),
    }
}

/// A markdown, JUnit or JSON file of the evidence as text (`None`: missing).
pub(super) fn read_text(dir: &Path, rel: &str) -> Result<Option<String>, Problem> {
    match read_confined(dir, &dir.join(rel), TEXT_CAP, "evidence") {
        Err(e) if e.not_found() => Ok(None),
        Err(e) => Err(problem(rel, e.reason())),
        Ok(b) => String::from_utf8(b)
            .map(Some)
            .map_err(|_| problem(rel, "not UTF-8")),
    }
}
