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

/// Every run of gate `i`, in order.
pub(super) async fn runs(
    stage: Arc<Stage>,
    i: usize,
    rc: Arc<RunContext>,
    cancel: watch::Receiver<bool>,
) -> Vec<GateResult> {
    let retries = stage.gates[i].retries;
    let mut runs = Vec::new();
    for _ in 0..rc.repeat.max(1) {
        for _ in 0..=retries {
            if !runs.is_empty() && *cancel.borrow() {
                return runs;
            }
            let result = gate::run(stage.clone(), i, rc.clone(), cancel.clone()).await;
            let again = matches!(result.status, Status::Failed | Status::Error);
            runs.push(result);
            if !again {
                break;
            }
        }
    }
    runs
}
