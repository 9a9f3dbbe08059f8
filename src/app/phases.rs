//! A run that crosses phases (`--prereqs run` with an earlier phase not signed off): the
//! earlier phase's stages first, and before the next phase starts, the check that the one
//! before now stands signed off — a phase that failed stops the run with its failure, one that
//! passed without a sign-off (no stage 10, or one whose sign-off was refused) blocks it.

use std::sync::Arc;

use tokio::sync::watch;

use crate::config::{Loaded, Stage};
use crate::evidence::EvidenceError;
use crate::evidence::recorder::Recorder;
use crate::plan::StageRun;
use crate::results::{StageResult, Status};
use crate::runner;
use crate::verify::phases::{signoff_command, unmet_phases};

/// What the run did, and what blocked the next phase, if anything did.
pub(super) struct PhasedOutcome {
    pub results: Result<Vec<StageResult>, EvidenceError>,
    pub blocked: Option<String>,
}

/// Run `runs` phase by phase (one phase's runs are consecutive), each phase after the first
/// only when every stage so far passed and the phases it builds on stand signed off.
pub(super) async fn run_by_phase(
    loaded: &Loaded,
    runs: Vec<StageRun>,
    settings: &runner::Settings,
    rc: Arc<runner::RunContext>,
    cancel: watch::Receiver<bool>,
    recorder: &mut Recorder<'_>,
    after_stage: &mut dyn FnMut(&Stage, &StageResult) -> Vec<String>,
) -> PhasedOutcome {
    let mut segments: Vec<Vec<StageRun>> = Vec::new();
    for run in runs {
        match segments.last_mut() {
            Some(seg) if seg[0].stage.phase == run.stage.phase => seg.push(run),
            _ => segments.push(vec![run]),
        }
    }
    let mut results = Vec::new();
    for (i, segment) in segments.into_iter().enumerate() {
        let phase = segment[0].stage.phase;
        if i > 0 {
            if *cancel.borrow() {
                break;
            }
            if let Some(r) = results
                .iter()
                .find(|r: &&StageResult| r.status != Status::Passed)
            {
                errln!(
                    "phase {phase} not run: stage {} of phase {} {}",
                    r.stage,
                    r.phase,
                    r.status.as_str()
                );
                break;
            }
            if let Some((p, why)) = unmet_phases(&loaded.project, &loaded.stages, phase)
                .into_iter()
                .next()
            {
                let blocked = format!(
                    "blocked: phase {phase} not run: phase {p} is not signed off ({why}): run `{}`",
                    signoff_command(&loaded.stages, p)
                );
                return PhasedOutcome {
                    results: Ok(results),
                    blocked: Some(blocked),
                };
            }
        }
        match runner::run_stages(
            &loaded.stages,
            segment,
            settings,
            rc.clone(),
            cancel.clone(),
            recorder,
            after_stage,
        )
        .await
        {
            Ok(r) => results.extend(r),
            Err(e) => {
                return PhasedOutcome {
                    results: Err(e),
                    blocked: None,
                };
            }
        }
    }
    PhasedOutcome {
        results: Ok(results),
        blocked: None,
    }
}
