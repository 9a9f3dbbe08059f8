//! `gaterun merge DIR…`: the shards merged into one evidence directory, what was merged told,
//! the exit code picked (1 when a merged stage did not pass).

use std::path::PathBuf;

use crate::config::{Loaded, Project};
use crate::exit::{self, Error};
use crate::merge;

pub(super) fn command(
    project: &Project,
    loaded: Option<&Loaded>,
    dirs: &[PathBuf],
) -> Result<i32, Error> {
    let merged = merge::merge(project, loaded, dirs)?;
    out!(
        "merged {} director{} into {}: {} stages, {} gates",
        dirs.len(),
        if dirs.len() == 1 { "y" } else { "ies" },
        project.evidence_dir.display(),
        merged.stages,
        merged.gates
    );
    Ok(if merged.passed {
        exit::PASSED
    } else {
        exit::FAILED
    })
}
