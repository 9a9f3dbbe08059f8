//! The stage's copy of the evidence its gates read (`GATERUN_EVIDENCE`): never the evidence
//! itself, which gates must not be able to write.

use std::path::PathBuf;

use super::context::RunContext;
use crate::config::Stage;
use crate::evidence;

/// Where the stage's gates find their copy of the evidence, in the run's temp root.
pub fn evidence_copy_dir(rc: &RunContext, stage: &Stage) -> PathBuf {
    rc.tmp.root().join(format!(
        "{}-phase-{}-{}",
        evidence::SNAPSHOT_DIR,
        stage.phase,
        stage.key.dir_name()
    ))
}

/// The stage's copy of the evidence, made if it is not there (first for the stage; again if
/// something removed the temp root meanwhile): built aside and renamed into place, one maker at
/// a time, so no gate sees half of it.
pub fn evidence_copy(rc: &RunContext, stage: &Stage) -> Result<PathBuf, String> {
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let copy = evidence_copy_dir(rc, stage);
    if copy.is_dir() {
        return Ok(copy);
    }
    let aside = copy.with_extension("new");
    let _ = std::fs::remove_dir_all(&aside);
    let made =
        evidence::snapshot(&rc.evidence_dir, &aside).and_then(|()| std::fs::rename(&aside, &copy));
    if let Err(e) = made {
        let _ = std::fs::remove_dir_all(&aside);
        return Err(format!("failed to copy the evidence for the gates: {e}"));
    }
    Ok(copy)
}
