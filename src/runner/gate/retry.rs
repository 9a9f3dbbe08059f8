//! `eventually`: a step attempted again while its expectations fail, with a growing pause,
//! until it passes or its budget (or its deadline) is spent. Only a failed check is retried.

use std::time::{Duration, Instant};

use super::ctx::GateCtx;
use crate::config::Step;
use crate::steps;
use crate::steps::outcome::{Deadline, Failure};

/// One step, repeated under `eventually` until it passes or the time is spent. Returns the last
/// attempt's outcome and how many attempts ran.
pub async fn with_retries(
    step: &Step,
    ctx: &mut GateCtx,
    gate_deadline: &Deadline,
) -> (Result<(), Failure>, u32) {
    let now = Instant::now();
    let deadline = match step.timeout {
        Some(t) if now + t < gate_deadline.at => Deadline {
            at: now + t,
            message: format!("step timed out after {}", humantime::format_duration(t)),
        },
        _ => gate_deadline.clone(),
    };
    let retry_until = step.eventually.map(|e| now + e);
    let mut attempts = 0;
    let mut pause = Duration::from_millis(20);
    loop {
        attempts += 1;
        let outcome = steps::attempt(step, ctx, &deadline, gate_deadline).await;
        let Err(Failure::Check(message)) = &outcome else {
            return (outcome, attempts);
        };
        let Some(until) = retry_until else {
            return (outcome, attempts);
        };
        // The whole budget is spent: the last attempt starts at `until` at the latest.
        let now = Instant::now();
        if now >= until || now >= deadline.at || ctx.interrupted() {
            let message = if attempts > 1 {
                format!("{message} (after {attempts} attempts)")
            } else {
                message.clone()
            };
            return (Err(Failure::Check(message)), attempts);
        }
        ctx.log_line(&format!(
            "── attempt {attempts} failed: {message}; retrying"
        ));
        tokio::time::sleep(pause.min(until - now)).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}
