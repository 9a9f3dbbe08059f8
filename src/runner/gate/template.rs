//! A `use` step: its template's steps in order, in a scope of their own. The scope is the
//! caller's variables plus the params (the `with` values, filled in with the caller's
//! variables when the use starts); captures made inside are seen by the template's later
//! steps; when it ends, only the template's `outputs` reach the caller, and every other
//! variable the template set is gone. Each inner step is logged like a gate step, and runs
//! through `retry` (its `eventually` and `timeout`); a `timeout` on the use bounds it whole.
//!
//! [`run_step`] is the one entry for any step of a gate: a `use` comes here, any other kind
//! goes to `retry`. Whatever runs steps (a gate's steps, and later its `finally` or a stage's
//! `setup`) calls it, so templates work there too.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use super::ctx::GateCtx;
use super::retry::{step_deadline, with_retries};
use crate::config::{Step, StepKind};
use crate::expect::value::json::whole_variable;
use crate::steps::outcome::{Deadline, Failure};
use crate::vars;

/// What a step ended with, and how many attempts it took.
pub type Outcome = (Result<(), Failure>, u32);

/// One step, whatever its kind, under `deadline` (the gate's, or an enclosing use's).
/// `heading` names it in the log (`step 2/3`), and prefixes the headings of a template's
/// steps (`step 2/3 › login 1/2`). Boxed: a template's steps may use a template.
pub fn run_step<'a>(
    step: &'a Step,
    ctx: &'a mut GateCtx,
    deadline: &'a Deadline,
    heading: &'a str,
) -> Pin<Box<dyn Future<Output = Outcome> + Send + 'a>> {
    match &step.kind {
        StepKind::Use {
            template,
            with,
            steps,
            outputs,
        } => Box::pin(async move {
            let used = Use {
                template,
                with,
                steps,
                outputs,
            };
            (used.run(step, ctx, deadline, heading).await, 1)
        }),
        _ => Box::pin(with_retries(step, ctx, deadline)),
    }
}

/// The parts of a `use` step.
struct Use<'a> {
    template: &'a str,
    with: &'a [(String, String)],
    steps: &'a [Step],
    outputs: &'a [String],
}

impl Use<'_> {
    async fn run(
        &self,
        step: &Step,
        ctx: &mut GateCtx,
        outer: &Deadline,
        heading: &str,
    ) -> Result<(), Failure> {
        let deadline = step_deadline(step, outer);
        let params = self.params(ctx)?;
        let saved = (ctx.vars.clone(), ctx.typed.clone());
        for (name, text, typed) in params {
            ctx.vars.insert(name.clone(), text);
            // A param hides a caller's typed capture of the same name.
            match typed {
                Some(v) => ctx.typed.insert(name, v),
                None => ctx.typed.remove(&name),
            };
        }
        let outcome = self.steps_in_order(ctx, &deadline, heading).await;
        // The template's scope ends: back to the caller's variables, plus the outputs.
        let produced: Vec<_> = self
            .outputs
            .iter()
            .map(|o| (o, ctx.vars.get(o).cloned(), ctx.typed.get(o).cloned()))
            .collect();
        (ctx.vars, ctx.typed) = saved;
        if outcome.is_ok() {
            for (name, text, typed) in produced {
                if let Some(text) = text {
                    ctx.vars.insert(name.clone(), text);
                }
                match typed {
                    Some(v) => ctx.typed.insert(name.clone(), v),
                    None => ctx.typed.remove(name),
                };
            }
        }
        outcome
    }

    /// Each param's text, and its typed value when it is exactly one `${NAME}` of a capture
    /// (so a captured number stays a number inside the template, as in the caller).
    #[allow(clippy::type_complexity)]
    fn params(
        &self,
        ctx: &GateCtx,
    ) -> Result<Vec<(String, String, Option<serde_json::Value>)>, Failure> {
        self.with
            .iter()
            .map(|(name, value)| {
                let text = vars::interpolate(value, &ctx.vars).map_err(|e| {
                    Failure::Error(format!("use {}: with `{name}`: {e}", self.template))
                })?;
                let typed = whole_variable(value).and_then(|v| ctx.typed.get(v).cloned());
                Ok((name.clone(), text, typed))
            })
            .collect()
    }

    async fn steps_in_order(
        &self,
        ctx: &mut GateCtx,
        deadline: &Deadline,
        heading: &str,
    ) -> Result<(), Failure> {
        let total = self.steps.len();
        for (i, inner) in self.steps.iter().enumerate() {
            let k = i + 1;
            let label = inner.label();
            let heading = format!("{heading} › {} {k}/{total}", self.template);
            ctx.log_line(&format!("── {heading}: {label}"));
            let started = Instant::now();
            let (outcome, attempts) = run_step(inner, ctx, deadline, &heading).await;
            let (status, message) = match &outcome {
                Ok(()) => ("passed", String::new()),
                Err(Failure::Error(m)) => ("error", format!(": {m}")),
                Err(Failure::Interrupted) => ("interrupted", String::new()),
                Err(f) => ("failed", format!(": {}", f.message())),
            };
            let tries = if attempts > 1 {
                format!(", {attempts} attempts")
            } else {
                String::new()
            };
            ctx.log_line(&format!(
                "── {heading} {status} in {}{tries}{message}",
                crate::text::human_duration(started.elapsed())
            ));
            if let Err(f) = outcome {
                return Err(self.inner_failure(f, k, &label));
            }
        }
        Ok(())
    }

    /// An inner step's failure, naming the template and the step:
    /// `use login, step 1 (http: POST …): expected status 200, got 500`.
    fn inner_failure(&self, f: Failure, k: usize, label: &str) -> Failure {
        let template = self.template;
        match f {
            Failure::Check(m) => Failure::Check(format!("use {template}, step {k} ({label}): {m}")),
            Failure::Error(m) => Failure::Error(format!("use {template}, step {k} ({label}): {m}")),
            Failure::Timeout(m) => {
                Failure::Timeout(format!("{m} in step {k} of `{template}` ({label})"))
            }
            // Told by the gate executor as they are, whichever step they cut.
            f @ (Failure::Interrupted | Failure::ServiceExited(_)) => f,
        }
    }
}
