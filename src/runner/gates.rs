//! The gates of one stage, run concurrently (up to `--jobs`, one at a time for `serial: true`),
//! each `--repeat` times with its `retries` (`rerun`), their logs written as they finish; a gate that could not run gets a
//! result all the same.

use std::sync::Arc;

use tokio::sync::{Semaphore, watch};

use super::combine::combine_runs;
use super::context::RunContext;
use super::gate;
use super::rerun::{self, not_run};
use crate::events::Event;
use crate::evidence;
use crate::plan::StageRun;
use crate::results::{GateResult, Status};

pub(super) async fn run_gates(
    run: &StageRun,
    jobs: usize,
    rc: Arc<RunContext>,
    mut cancel: watch::Receiver<bool>,
    writer: Arc<evidence::StageWriter>,
    share: Arc<gate::StageShare>,
) -> Vec<GateResult> {
    let limit = if run.stage.serial { 1 } else { jobs.max(1) };
    let permits = Arc::new(Semaphore::new(limit));
    let mut handles = Vec::new();
    for &i in &run.selected {
        // Taking the permit before spawning starts gates in definition order, which is what
        // makes a `serial: true` stage run one gate after another, in order.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.ok(),
            _ = crate::steps::cancelled(&mut cancel) => None,
        };
        let Some(permit) = permit else {
            handles.push(None);
            continue;
        };
        let stage = run.stage.clone();
        let rc = rc.clone();
        let cancel = cancel.clone();
        let writer = writer.clone();
        let share = share.clone();
        handles.push(Some(tokio::spawn(async move {
            let permit = permit;
            rc.send(Event::GateStarted {
                gate: stage.gates[i].id.clone(),
            });
            let runs = rerun::runs(stage.clone(), i, rc.clone(), cancel, share).await;
            let result = combine_runs(runs);
            rc.send(Event::GateFinished {
                stage: stage.label(),
                result: Box::new(result.clone()),
            });
            // The next gate may start while this one's log is written.
            drop(permit);
            let (log, output) = (result.log.clone(), result.output.clone());
            let _ = tokio::task::spawn_blocking(move || writer.write_log(&log, &output)).await;
            result
        })));
    }
    let mut results = Vec::new();
    for (h, &i) in handles.into_iter().zip(&run.selected) {
        let result = match h {
            None => not_run(
                &run.stage,
                i,
                Status::Interrupted,
                "not run: interrupted".to_owned(),
            ),
            Some(h) => match h.await {
                Ok(r) => r,
                Err(e) => not_run(
                    &run.stage,
                    i,
                    Status::Error,
                    format!("internal error: the gate task failed: {e}"),
                ),
            },
        };
        results.push(result);
    }
    results
}
