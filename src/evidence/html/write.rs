//! Writing the page: gathered from the whole evidence, rendered, written aside and renamed
//! over `index.html` like every evidence file.

use crate::config::Project;
use crate::evidence::write::{EvidenceError, write_file};

/// The page's name at the evidence root.
pub const INDEX: &str = "index.html";

/// Rewrite `evidence/index.html` from everything the evidence holds.
pub fn write(project: &Project) -> Result<(), EvidenceError> {
    let phases = super::gather::gather(project);
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    write_file(
        &project.evidence_dir.join(INDEX),
        super::page::render(&phases, &now).as_bytes(),
    )
}
