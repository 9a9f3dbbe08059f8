//! A gate's runs: `--repeat` times, and each run that failed (failed or error, not
//! interrupted) run again up to the gate's `retries`, stopping at the first pass. Every run is
//! kept: `combine` makes them one result by the `--repeat` rule, so a pass after a failure is
//! flaky, never a clean pass.

use std::sync::Arc;

use tokio::sync::watch;

use super::context::RunContext;
use super::gate;
use crate::config::Stage;
use crate::results::{GateResult, Status};

/// Every run of gate `i`, in order. A shared service of the stage that died ends them (the
/// gate is an error naming it); gates of the run asking for the same fixed port take turns.
pub(super) async fn runs(
    stage: Arc<Stage>,
    i: usize,
    rc: Arc<RunContext>,
    cancel: watch::Receiver<bool>,
    share: Arc<gate::StageShare>,
) -> Vec<GateResult> {
    let retries = stage.gates[i].retries;
    let mut runs = Vec::new();
    for _ in 0..rc.repeat.max(1) {
        for _ in 0..=retries {
            if !runs.is_empty() && *cancel.borrow() {
                return runs;
            }
            if let Some(message) = share.watch.dead() {
                let mut r = not_run(&stage, i, Status::Error, message);
                // A log is text as a reader sees it: no control characters, whatever the service printed.
                let reason = crate::text::sanitize(r.message.as_deref().unwrap_or_default());
                r.output = format!("── not run: {reason}\n");
                runs.push(r);
                return runs;
            }
            let mut until = cancel.clone();
            let turn = tokio::select! {
                t = rc.fixed_ports.turn(&stage.gates[i].services) => t,
                _ = crate::steps::cancelled(&mut until) => {
                    runs.push(not_run(&stage, i, Status::Interrupted, "not run: interrupted".to_owned()));
                    return runs;
                }
            };
            let result = gate::run(
                stage.clone(),
                i,
                rc.clone(),
                cancel.clone(),
                share.clone(),
                None,
            )
            .await;
            drop(turn);
            let again = matches!(result.status, Status::Failed | Status::Error);
            runs.push(result);
            if !again {
                break;
            }
        }
    }
    runs
}

/// The result of a gate that could not run: blocked, interrupted, or its stage's scope failed.
pub(super) fn not_run(stage: &Stage, i: usize, status: Status, message: String) -> GateResult {
    let g = &stage.gates[i];
    let file = stage.file.display().to_string();
    GateResult {
        message: Some(message),
        ..GateResult::new(&g.id, &g.title, file, g.line, status)
    }
}
