//! Stages one after another: a stage that does not pass blocks the ones after it (recorded
//! blocked without running, or with `--keep-going` run but still recorded blocked), and each
//! stage's evidence is written, and the manifest with it, before the next starts.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use super::context::RunContext;
use super::gates::run_gates;
use super::rerun::not_run;
use super::scope;
use super::snapshot::evidence_copy_dir;
use crate::config::Stage;
use crate::events::Event;
use crate::evidence;
use crate::plan::StageRun;
use crate::results::{GateResult, StageResult, Status};

pub struct Settings {
    pub jobs: usize,
    pub keep_going: bool,
    pub commit: Option<String>,
}

/// Run the stages in order. A stage that does not pass blocks the ones after it: they are
/// recorded as blocked without running, or with `keep_going`, run but still recorded blocked.
pub async fn run_stages(
    all_stages: &[Stage],
    runs: Vec<StageRun>,
    settings: &Settings,
    rc: Arc<RunContext>,
    cancel: watch::Receiver<bool>,
    recorder: &mut evidence::recorder::Recorder<'_>,
    after_stage: &mut dyn FnMut(&Stage, &StageResult) -> Vec<String>,
) -> Result<Vec<StageResult>, evidence::EvidenceError> {
    let mut results = Vec::new();
    let mut blocker: Option<String> = None;
    for run in runs {
        if *cancel.borrow() {
            break;
        }
        let stage = run.stage.clone();
        let started_at =
            humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let started = Instant::now();
        let mut writer = None;
        let mut setup = None;
        let gates = match &blocker {
            Some(by) if !settings.keep_going => blocked_gates(&run, by),
            _ => {
                rc.send(Event::StageStarted {
                    phase: stage.phase,
                    stage: stage.key.to_string(),
                    label: stage.label(),
                    name: stage.name.clone(),
                    gates: run.selected.len(),
                });
                let w = recorder.begin_stage(stage.phase, stage.key, run.partial())?;
                writer = Some(w.clone());
                // One copy of the evidence for the stage's gates (`GATERUN_EVIDENCE`), made by
                // the first gate that can read it: the evidence does not change while they
                // run, and a copy per gate would cost the whole evidence once per gate.
                let copy = evidence_copy_dir(&rc, &stage);
                let _ = std::fs::remove_dir_all(&copy);
                let scope = scope::open(&stage, &rc, &cancel).await;
                let share = scope.as_ref().map(|s| s.share.clone()).unwrap_or_default();
                let gates = match &share.failure {
                    // Setup failed: every gate is an error naming it, and none runs. Each is
                    // reported like a gate that ran, with a log that says why.
                    Some((status, message)) => run
                        .selected
                        .iter()
                        .map(|&i| {
                            let mut r = not_run(&stage, i, *status, message.clone());
                            let why = message.strip_prefix("not run: ").unwrap_or(message);
                            r.output = format!("── not run: {}\n", crate::text::sanitize(why));
                            rc.send(Event::GateStarted { gate: r.id.clone() });
                            rc.send(Event::GateFinished {
                                stage: stage.label(),
                                result: Box::new(r.clone()),
                            });
                            w.write_log(&r.log, &r.output);
                            r
                        })
                        .collect(),
                    None => {
                        run_gates(
                            &run,
                            settings.jobs,
                            rc.clone(),
                            cancel.clone(),
                            w.clone(),
                            share,
                        )
                        .await
                    }
                };
                if let Some(scope) = scope {
                    let record = scope.close().await;
                    w.write_log(&record.log, &record.output);
                    setup = Some(record);
                }
                let _ = std::fs::remove_dir_all(&copy);
                gates
            }
        };
        let (status, blocked_by) = stage_status(&gates, blocker.as_deref());
        if blocker.is_none() && status != Status::Passed && status != Status::Blocked {
            blocker = Some(format!("stage {} ({}) did not pass", stage.key, stage.name));
        }
        let result = StageResult {
            gaterun_version: crate::about::VERSION.to_owned(),
            phase: stage.phase,
            stage: stage.key.to_string(),
            name: stage.name.clone(),
            definition_hash: stage.definition_hash.clone(),
            status,
            partial: run.partial(),
            selection: run.selection.clone(),
            started_at,
            duration_ms: started.elapsed().as_millis() as u64,
            commit: settings.commit.clone(),
            blocked_by,
            containment: crate::process::containment_chosen().map(|c| c.as_str().to_owned()),
            setup,
            gates,
        };
        let phase_stages: Vec<&Stage> = all_stages
            .iter()
            .filter(|s| s.phase == stage.phase)
            .collect();
        recorder.finish_stage(&result, writer, &stage, &phase_stages, after_stage)?;
        rc.send(Event::StageFinished {
            result: Box::new(result.clone()),
        });
        results.push(result);
    }
    Ok(results)
}

fn blocked_gates(run: &StageRun, by: &str) -> Vec<GateResult> {
    run.selected
        .iter()
        .map(|&i| {
            not_run(
                &run.stage,
                i,
                Status::Blocked,
                format!("not run: blocked, {by}"),
            )
        })
        .collect()
}

/// A stage's status from its gates, and what blocked it: an earlier stage that did not pass
/// (`blocker`) turns a pass into `blocked` — a stage is never counted passed out of order — and
/// is named by a stage whose gates were all blocked. A failure stays a failure.
pub(super) fn stage_status(
    gates: &[GateResult],
    blocker: Option<&str>,
) -> (Status, Option<String>) {
    let status = StageResult::status_from(gates);
    match (status, blocker) {
        (Status::Passed | Status::Blocked, Some(by)) => (Status::Blocked, Some(by.to_owned())),
        _ => (status, None),
    }
}

#[cfg(test)]
mod tests {
    use super::stage_status;
    use crate::results::{GateResult, Status};

    fn gate(status: Status) -> GateResult {
        GateResult::new("g", "t", String::new(), 1, status)
    }

    use Status::{Blocked, Error, Failed, Interrupted, Passed};

    /// (gates, an earlier stage's failure, the stage's status, what it is blocked by)
    type Case<'a> = (&'a [Status], Option<&'a str>, Status, Option<&'a str>);

    #[test]
    fn a_stage_after_one_that_did_not_pass_is_never_counted_passed() {
        let by = "stage 2 (API) did not pass";
        let table: &[Case] = &[
            (&[Passed, Passed], None, Passed, None),
            // The near miss: every gate passed (`--keep-going`), but out of order.
            (&[Passed, Passed], Some(by), Blocked, Some(by)),
            (&[Blocked, Blocked], Some(by), Blocked, Some(by)),
            (&[Blocked], None, Blocked, None),
            // A failure stays what it is, blocked or not.
            (&[Passed, Failed], Some(by), Failed, None),
            (&[Passed, Failed], None, Failed, None),
            (&[Error, Passed], None, Error, None),
            (&[Failed, Interrupted], None, Interrupted, None),
            (&[Interrupted], Some(by), Interrupted, None),
        ];
        for (gates, blocker, want, blocked_by) in table {
            let gates: Vec<GateResult> = gates.iter().map(|s| gate(*s)).collect();
            let (status, got_by) = stage_status(&gates, *blocker);
            assert_eq!(status, *want, "{gates:?} after {blocker:?}");
            assert_eq!(got_by.as_deref(), *blocked_by, "{blocker:?}");
        }
    }
}
