//! Where evidence lives: `phase-N/stage-NN`, and a partial run's `partial/` inside its stage
//! directory (so the stage's last full result, the prerequisite ledger, survives it).

use std::path::PathBuf;

use crate::config::{Project, StageKey};

pub fn phase_dir(project: &Project, phase: u32) -> PathBuf {
    project.evidence_dir.join(format!("phase-{phase}"))
}

pub fn stage_dir(project: &Project, phase: u32, key: StageKey) -> PathBuf {
    phase_dir(project, phase).join(key.dir_name())
}

/// The directory name of a stage as evidence writes it (`stage-04a`), from the stage as a
/// results.json or the history holds it: the one place that text is read back as a key. A
/// text that is no key (crafted evidence) keeps its own name, prefixed.
pub fn stage_dir_name(stage: &str) -> String {
    StageKey::parse(stage)
        .map(|k| k.dir_name())
        .unwrap_or_else(|| format!("stage-{stage}"))
}

/// Issue 19. A stage's evidence directory as CI tools resolve a path written in a report
/// (JUnit attachments): from the top of the git repository (else the project root),
/// `/`-separated.
pub fn stage_dir_for_reports(project: &Project, r: &crate::results::StageResult) -> String {
    let mut dir = phase_dir(project, r.phase).join(stage_dir_name(&r.stage));
    if r.partial {
        dir.push(PARTIAL_DIR);
    }
    let rel = dir.strip_prefix(&project.root).unwrap_or(&dir);
    let full = crate::config::repo_prefix(&project.root).join(rel);
    full.to_string_lossy().into_owned()
}

/// Where a partial run's evidence goes, inside its stage's directory.
pub const PARTIAL_DIR: &str = "partial";
