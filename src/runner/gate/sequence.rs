//! A gate's actions in order: its services' start-up, then its steps, each raced against its
//! services' exits, logged, and recorded as a step result; after a failure the rest is
//! recorded as skipped.

use std::time::{Duration, Instant};

use super::ctx::GateCtx;
use super::template::run_step;
use crate::config::{Gate, Step};
use crate::events::Event;
use crate::results::{GateResult, Status, StepResult};
use crate::runner::context::RunContext;
use crate::steps::outcome::{Deadline, Failure};

/// What the gate runs, in order: its services' start-up, then its steps.
enum Action<'a> {
    StartService(usize),
    Step(&'a Step),
}

pub async fn run_steps(
    gate: &Gate,
    ctx: &mut GateCtx,
    rc: &RunContext,
    started: Instant,
    result: &mut GateResult,
) {
    let gate_deadline = Deadline {
        at: started + gate.timeout,
        message: format!(
            "{} timed out after {}",
            // A gate id starts with a letter or digit: `_setup` is a stage's scope.
            if gate.id.starts_with('_') {
                "stage setup"
            } else {
                "gate"
            },
            humantime::format_duration(gate.timeout)
        ),
    };
    // A `start: manual` service waits for its `start` step.
    let actions: Vec<Action> = (0..gate.services.len())
        .filter(|&i| !gate.services[i].manual)
        .map(Action::StartService)
        .chain(gate.steps.iter().map(Action::Step))
        .collect();
    let total = gate.steps.len();
    let starts = actions.len() - total;
    let mut failed = false;
    for (n, action) in actions.iter().enumerate() {
        let (kind, label, number) = match action {
            Action::StartService(i) => (
                "start".to_owned(),
                format!("start service `{}`", gate.services[*i].name),
                None,
            ),
            Action::Step(step) => (
                step.kind_name().to_owned(),
                step.label(),
                Some(n - starts + 1),
            ),
        };
        if failed {
            result.steps.push(StepResult {
                kind,
                name: label,
                status: Status::Skipped,
                duration_ms: 0,
                message: None,
                attempts: 0,
            });
            continue;
        }
        if rc.step_events {
            rc.send(Event::StepStarted {
                gate: gate.id.clone(),
                step: label.clone(),
            });
        }
        let heading = match number {
            Some(k) => format!("step {k}/{total}"),
            None => "setup".to_owned(),
        };
        ctx.log_line(&format!("── {heading}: {label}"));
        let step_started = Instant::now();
        // Every step (and every pause between the attempts of `eventually`) races the gate's
        // services: one exiting unasked ends the step at once. The step goes first, so a `run`
        // step that sees the exit too stops its processes before it is dropped.
        let died = ctx.services.watch(&ctx.cancel);
        // And the stage's shared services, which the gate does not own: their exit is told
        // here, whole.
        let shared = ctx.shared.watch(&ctx.cancel);
        let work = async {
            match action {
                Action::StartService(i) => {
                    let (services, mut host) = ctx.split();
                    (services.start(*i, &mut host, &gate_deadline).await, 1)
                }
                Action::Step(step) => {
                    ctx.browser.step = number.unwrap_or(0);
                    run_step(step, ctx, &gate_deadline, &heading).await
                }
            }
        };
        let (mut outcome, attempts, shared_died) = tokio::select! {
            biased;
            (r, n) = work => (r, n, false),
            i = died => (Err(Failure::ServiceExited(i)), 1, false),
            m = shared => (Err(Failure::Check(m)), 1, true),
        };
        let cut = shared_died || matches!(outcome, Err(Failure::ServiceExited(_)));
        if let Err(Failure::ServiceExited(i)) = outcome {
            let (services, mut host) = ctx.split();
            outcome = Err(services.exited_while_running(i, &mut host).await);
        }
        let elapsed = step_started.elapsed();
        let (status, message) = describe(&outcome, &label);
        log_end(ctx, &heading, status, elapsed, attempts, message.as_deref());
        if status != Status::Passed {
            failed = true;
            result.status = status;
            let plain = cut
                || matches!(outcome, Err(Failure::Timeout(_)))
                || number.is_none()
                || total == 1;
            result.message = message.clone().map(|m| match number {
                Some(k) if !plain => format!("step {k} ({label}): {m}"),
                _ => m,
            });
        }
        result.steps.push(StepResult {
            kind,
            name: label,
            status,
            duration_ms: elapsed.as_millis() as u64,
            message,
            attempts,
        });
    }
}

/// A step's status and message from its outcome.
pub(super) fn describe(outcome: &Result<(), Failure>, label: &str) -> (Status, Option<String>) {
    match outcome {
        Ok(()) => (Status::Passed, None),
        Err(Failure::Interrupted) => (Status::Interrupted, Some("interrupted".to_owned())),
        Err(Failure::Error(m)) => (Status::Error, Some(m.clone())),
        Err(Failure::Timeout(m)) => (Status::Failed, Some(format!("{m} in step `{label}`"))),
        Err(Failure::Check(m)) => (Status::Failed, Some(m.clone())),
        Err(f @ Failure::ServiceExited(_)) => (Status::Failed, Some(f.message())),
    }
}

/// The log line that ends a step: its status, duration, attempts and message.
pub(super) fn log_end(
    ctx: &GateCtx,
    heading: &str,
    status: Status,
    elapsed: Duration,
    attempts: u32,
    message: Option<&str>,
) {
    let tries = if attempts > 1 {
        format!(", {attempts} attempts")
    } else {
        String::new()
    };
    ctx.log_line(&format!(
        "── {heading} {} in {}{tries}{}",
        status.as_str(),
        crate::text::human_duration(elapsed),
        message.map(|m| format!(": {m}")).unwrap_or_default()
    ));
}
