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

/// Where a partial run's evidence goes, inside its stage's directory.
pub const PARTIAL_DIR: &str = "partial";
