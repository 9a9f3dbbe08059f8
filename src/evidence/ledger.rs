//! Reading the prerequisite ledger: a stage's last full `results.json`, and its partial run
//! since, read inside the evidence only.

use std::path::{Path, PathBuf};

use super::paths::{PARTIAL_DIR, stage_dir};
use super::read::{RESULTS_CAP, ReadError, read_confined};
use crate::config::{Project, StageKey};
use crate::results::StageResult;

/// Why a stage's results.json could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Read(ReadError),
    #[error("failed to parse {path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// The last full result of a stage (the ledger): `None` if never run whole, `Err` if
/// unreadable.
pub fn read_stage(
    project: &Project,
    phase: u32,
    key: StageKey,
) -> Option<Result<StageResult, LedgerError>> {
    read_results(
        project,
        &stage_dir(project, phase, key).join("results.json"),
    )
}

/// The stage's partial run since its last full one, if any (unreadable counts as none: it is
/// never a prerequisite).
pub fn read_partial(project: &Project, phase: u32, key: StageKey) -> Option<StageResult> {
    let dir = stage_dir(project, phase, key).join(PARTIAL_DIR);
    read_results(project, &dir.join("results.json")).and_then(Result::ok)
}

/// Read inside the evidence only: a stage directory replaced by a link is not read through.
fn read_results(project: &Project, path: &Path) -> Option<Result<StageResult, LedgerError>> {
    let bytes = match read_confined(&project.evidence_dir, path, RESULTS_CAP, "evidence") {
        Ok(b) => b,
        Err(e) if e.not_found() => return None,
        Err(e) => return Some(Err(LedgerError::Read(e))),
    };
    Some(
        serde_json::from_slice(&bytes).map_err(|source| LedgerError::Parse {
            path: path.to_path_buf(),
            source,
        }),
    )
}
