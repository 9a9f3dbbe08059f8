//! A gate's `finally:` steps: teardown that runs after the steps whatever they did (passed,
//! failed, timed out, interrupted), before the gate's services stop. Every one runs, each
//! recorded as a step named `finally: …`; a failure fails a gate that had passed, never
//! replaces the first failure's message.
//!
//! The gate's deadline may have passed: each finally step has a budget of its own, its
//! `timeout:` or [`FINALLY_TIMEOUT`]. After a first interrupt the gate is being stopped, but its
//! teardown still runs, bounded the same way; a second interrupt kills at once (its steps end
//! interrupted). Finally steps do not race the gate's services: a service that died is what
//! made the gate fail, and the teardown must still run.

use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::ctx::GateCtx;
use super::sequence::{describe, log_end};
use super::template::run_step;
use crate::config::Gate;
use crate::process;
use crate::results::{GateResult, Status, StepResult};
use crate::steps::outcome::{Deadline, Failure};

/// A finally step's budget when it gives no `timeout:`.
pub const FINALLY_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run_finally(gate: &Gate, ctx: &mut GateCtx, result: &mut GateResult) {
    if gate.finally.is_empty() {
        return;
    }
    // Interrupted or not, teardown runs: its steps see an interrupt only once it is forced.
    let gate_cancel = std::mem::replace(&mut ctx.cancel, teardown_cancel());
    let total = gate.finally.len();
    for (n, step) in gate.finally.iter().enumerate() {
        let label = format!("finally: {}", step.label());
        let heading = format!("finally {}/{total}", n + 1);
        ctx.log_line(&format!("── {heading}: {}", step.label()));
        let budget = step.timeout.unwrap_or(FINALLY_TIMEOUT);
        let deadline = Deadline {
            at: Instant::now() + budget,
            message: format!(
                "finally step timed out after {}",
                humantime::format_duration(budget)
            ),
        };
        let started = Instant::now();
        // A second interrupt: what is left of the teardown is not started.
        let (mut outcome, attempts) = if process::is_forced() {
            (Err(Failure::Interrupted), 0)
        } else {
            // A screenshot's number: the finally steps count on after the gate's steps.
            ctx.browser.step = gate.steps.len() + n + 1;
            run_step(step, ctx, &deadline, &heading).await
        };
        // A `run` step sees its gate's services exit: say which, as the steps do.
        if let Err(Failure::ServiceExited(i)) = outcome {
            let (services, mut host) = ctx.split();
            outcome = Err(services.exited_while_running(i, &mut host).await);
        }
        let elapsed = started.elapsed();
        let timed_out = matches!(outcome, Err(Failure::Timeout(_)));
        let (status, message) = describe(&outcome, &label);
        log_end(ctx, &heading, status, elapsed, attempts, message.as_deref());
        if status != Status::Passed && result.status == Status::Passed {
            result.status = status;
            result.message = message.clone().map(|m| {
                if timed_out {
                    m
                } else {
                    format!("finally step {} ({}): {m}", n + 1, step.label())
                }
            });
        }
        result.steps.push(StepResult {
            kind: step.kind_name().to_owned(),
            name: label,
            status,
            duration_ms: elapsed.as_millis() as u64,
            message,
            attempts,
        });
    }
    ctx.cancel = gate_cancel;
}

/// A cancel signal that fires on the second interrupt alone (at once if it came already).
fn teardown_cancel() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(process::is_forced());
    tokio::spawn(async move {
        tokio::select! {
            () = process::forced() => {
                let _ = tx.send(true);
            }
            () = tx.closed() => {}
        }
    });
    rx
}
