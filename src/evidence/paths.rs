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

/// Where a partial run's evidence goes, inside its stage's directory.
pub const PARTIAL_DIR: &str = "partial";
