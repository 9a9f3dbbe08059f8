//! The invocation's own evidence at the evidence root: `junit.xml` and `summary.md` of the
//! stages this run ran, and `index.html` of the whole evidence (every phase, as it stands
//! after this run), or none when the run failed to write its evidence.

use super::write::{EvidenceError, write_file};
use crate::config::Project;
use crate::results::StageResult;

/// The invocation's `junit.xml` and `summary.md` at the evidence root, then `index.html`.
pub fn write_invocation(project: &Project, results: &[StageResult]) -> Result<(), EvidenceError> {
    let mut report = quick_junit::Report::new("gaterun");
    for r in results {
        let dir = super::paths::stage_dir_for_reports(project, r);
        report.add_test_suite(super::junit::stage_suite(r, &dir));
    }
    write_file(
        &project.evidence_dir.join("junit.xml"),
        super::junit::to_xml(&report).as_bytes(),
    )?;
    write_file(
        &project.evidence_dir.join("summary.md"),
        super::markdown::summary(results).as_bytes(),
    )?;
    super::html::write(project)
}

/// The files `write_invocation` writes, as the manifest lists them.
pub const INVOCATION_FILES: [&str; 3] = ["junit.xml", "summary.md", super::html::INDEX];

/// A run that failed to write its evidence: the invocation files of an earlier run would
/// otherwise stand for this one.
pub fn discard_invocation(project: &Project) {
    for name in INVOCATION_FILES {
        let _ = std::fs::remove_file(project.evidence_dir.join(name));
    }
}
