//! `eventually`: a step attempted again while its expectations fail, with a growing pause (or
//! at the fixed interval `every`), until it passes or its budget (or its deadline) is spent.
//! Only a failed check is retried.

use std::time::{Duration, Instant};

use super::ctx::GateCtx;
use super::scope;
use crate::config::Step;
use crate::steps;
use crate::steps::outcome::{Deadline, Failure};

/// One step with its own `env` and `workdir`, repeated under `eventually` until it passes or
/// the time is spent. Returns the last attempt's outcome and how many attempts ran.
pub async fn with_retries(
    step: &Step,
    ctx: &mut GateCtx,
    gate_deadline: &Deadline,
) -> (Result<(), Failure>, u32) {
    let saved = match scope::enter(step, ctx) {
        Ok(saved) => saved,
        Err(failure) => return (Err(failure), 1),
    };
    let outcome = attempts(step, ctx, gate_deadline).await;
    if let crate::config::StepKind::Browser(b) = &step.kind {
        steps::browser::after(ctx, b.screenshot, &outcome.0).await;
    }
    scope::leave(saved, ctx);
    outcome
}

async fn attempts(
    step: &Step,
    ctx: &mut GateCtx,
    gate_deadline: &Deadline,
) -> (Result<(), Failure>, u32) {
    let now = Instant::now();
    let deadline = step_deadline(step, gate_deadline);
    let retry_until = step.eventually.map(|e| now + e.within);
    let every = step.eventually.and_then(|e| e.every);
    let mut attempts = 0;
    let mut pause = Duration::from_millis(20);
    loop {
        attempts += 1;
        let attempt_started = Instant::now();
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
        match every {
            // A fixed interval, from the start of one attempt to the start of the next.
            Some(every) => {
                let next = (attempt_started + every).min(until);
                tokio::time::sleep_until(next.into()).await;
            }
            None => {
                tokio::time::sleep(pause.min(until - now)).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
        }
    }
}

/// A step's deadline: its `timeout` from now, unless `outer` (the gate's, or an enclosing
/// `use`'s) comes first.
pub fn step_deadline(step: &Step, outer: &Deadline) -> Deadline {
    let now = Instant::now();
    match step.timeout {
        Some(t) if now + t < outer.at => Deadline {
            at: now + t,
            message: format!("step timed out after {}", humantime::format_duration(t)),
        },
        _ => outer.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use tokio::sync::watch;

    use super::*;
    use crate::config::StepKind;
    use crate::services::Services;
    use crate::steps::log::GateLog;

    /// A gate context over `workdir`, with no services, as the executor makes one.
    fn ctx(workdir: &Path, cancel: watch::Receiver<bool>) -> GateCtx {
        GateCtx {
            vars: Default::default(),
            typed: Default::default(),
            secret_captures: Default::default(),
            secrets: Vec::new(),
            workdir: workdir.to_owned(),
            evidence_dir: workdir.join("evidence"),
            token: String::new(),
            grace: Duration::from_secs(1),
            log: GateLog::new(1 << 20),
            groups: Vec::new(),
            readers: Vec::new(),
            cancel,
            shared: Default::default(),
            services: Services::new(Vec::new()),
            mocks: Default::default(),
            http: Default::default(),
            cookies: Default::default(),
            browser: Default::default(),
            db: None,
            dbs: Vec::new(),
            fixed: Vec::new(),
        }
    }

    /// A `file` step: `path` must exist.
    fn file_step(path: &str, within: Option<Duration>, timeout: Option<Duration>) -> Step {
        Step {
            name: None,
            kind: StepKind::File {
                path: path.to_owned(),
                exists: true,
                contains: Vec::new(),
            },
            timeout,
            eventually: within.map(|within| crate::config::Eventually {
                within,
                every: None,
            }),
            captures: Vec::new(),
            secret_captures: Vec::new(),
            env: Vec::new(),
            workdir: None,
            line: 1,
        }
    }

    fn gate_deadline(after: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + after,
            message: "gate timed out".to_owned(),
        }
    }

    #[tokio::test]
    async fn a_check_that_holds_is_attempted_once() {
        let dir = tempfile::tempdir().expect("a temp dir");
        std::fs::write(dir.path().join("ready"), "").expect("a file");
        let (_tx, rx) = watch::channel(false);
        let mut ctx = ctx(dir.path(), rx);
        let step = file_step("ready", Some(Duration::from_secs(5)), None);
        let (outcome, attempts) =
            with_retries(&step, &mut ctx, &gate_deadline(Duration::from_secs(30))).await;
        assert!(outcome.is_ok(), "{outcome:?}");
        assert_eq!(attempts, 1);
    }

    #[tokio::test]
    async fn without_eventually_a_failed_check_is_not_attempted_again() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let (_tx, rx) = watch::channel(false);
        let mut ctx = ctx(dir.path(), rx);
        let step = file_step("missing", None, None);
        let (outcome, attempts) =
            with_retries(&step, &mut ctx, &gate_deadline(Duration::from_secs(30))).await;
        assert_eq!(attempts, 1);
        let Err(Failure::Check(message)) = outcome else {
            panic!("a failed check, got {outcome:?}");
        };
        assert!(message.starts_with("expected file missing to exist, got "));
        assert!(!message.contains("attempts"), "{message}");
    }

    #[tokio::test]
    async fn eventually_retries_a_failed_check_until_its_budget_is_spent() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let (_tx, rx) = watch::channel(false);
        let mut ctx = ctx(dir.path(), rx);
        let budget = Duration::from_millis(400);
        let step = file_step("missing", Some(budget), None);
        let started = Instant::now();
        let (outcome, attempts) =
            with_retries(&step, &mut ctx, &gate_deadline(Duration::from_secs(30))).await;
        let took = started.elapsed();
        // The last attempt starts at the end of the budget at the latest: no pause past it.
        assert!(took >= budget, "gave up after {took:?}");
        // Slack for a loaded machine; the pauses alone would end it by the budget.
        assert!(took < budget + Duration::from_secs(2), "took {took:?}");
        // Pauses of 20, 40, 80, 160 ms… fit several attempts in 400 ms.
        assert!(attempts >= 2, "{attempts} attempts");
        let Err(Failure::Check(message)) = outcome else {
            panic!("a failed check, got {outcome:?}");
        };
        assert!(
            message.ends_with(&format!(" (after {attempts} attempts)")),
            "{message}"
        );
        let log = ctx.log.to_text_masked(&[]);
        assert_eq!(
            log.matches("── attempt ").count(),
            attempts as usize - 1,
            "one retry line per attempt but the last: {log}"
        );
        assert!(log.contains("── attempt 1 failed: expected file missing to exist"));
    }

    #[tokio::test]
    async fn every_attempts_at_a_fixed_interval_until_within_is_spent() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let (_tx, rx) = watch::channel(false);
        let mut ctx = ctx(dir.path(), rx);
        let mut step = file_step("missing", None, None);
        step.eventually = Some(crate::config::Eventually {
            within: Duration::from_millis(500),
            every: Some(Duration::from_millis(100)),
        });
        let started = Instant::now();
        let (outcome, attempts) =
            with_retries(&step, &mut ctx, &gate_deadline(Duration::from_secs(30))).await;
        let took = started.elapsed();
        assert!(outcome.is_err());
        assert!(took >= Duration::from_millis(500), "gave up after {took:?}");
        // At 0, 100, …, 500 ms: six, give or take one on a loaded machine; the near miss, an
        // interval of 250 ms, makes three.
        assert!((5..=7).contains(&attempts), "{attempts} attempts");
        step.eventually = Some(crate::config::Eventually {
            within: Duration::from_millis(500),
            every: Some(Duration::from_millis(250)),
        });
        let (_, attempts) =
            with_retries(&step, &mut ctx, &gate_deadline(Duration::from_secs(30))).await;
        assert_eq!(attempts, 3, "at 0, 250 and 500 ms");
    }

    #[tokio::test]
    async fn eventually_passes_once_the_check_holds() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let (_tx, rx) = watch::channel(false);
        let mut ctx = ctx(dir.path(), rx);
        let path = dir.path().join("late");
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            std::fs::write(path, "").expect("a file");
        });
        let step = file_step("late", Some(Duration::from_secs(10)), None);
        let (outcome, attempts) =
            with_retries(&step, &mut ctx, &gate_deadline(Duration::from_secs(30))).await;
        assert!(outcome.is_ok(), "{outcome:?}");
        assert!(attempts > 1, "{attempts} attempts");
    }

    #[tokio::test]
    async fn a_failure_that_is_not_a_check_is_not_retried() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let (_tx, rx) = watch::channel(false);
        let mut ctx = ctx(dir.path(), rx);
        // An undefined variable: the step cannot be evaluated, so trying again cannot help.
        let step = file_step(
            "${UNDEFINED_IN_THIS_TEST}",
            Some(Duration::from_secs(10)),
            None,
        );
        let started = Instant::now();
        let (outcome, attempts) =
            with_retries(&step, &mut ctx, &gate_deadline(Duration::from_secs(30))).await;
        assert_eq!(attempts, 1);
        assert!(matches!(outcome, Err(Failure::Error(_))), "{outcome:?}");
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn the_step_timeout_ends_the_retries_before_the_budget() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let (_tx, rx) = watch::channel(false);
        let mut ctx = ctx(dir.path(), rx);
        let step = file_step(
            "missing",
            Some(Duration::from_secs(10)),
            Some(Duration::from_millis(200)),
        );
        let started = Instant::now();
        let (outcome, attempts) =
            with_retries(&step, &mut ctx, &gate_deadline(Duration::from_secs(30))).await;
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(attempts > 1);
        // The attempt running when the step's deadline comes is cut by it; one that ended
        // just before leaves its check's failure.
        match outcome {
            Err(Failure::Timeout(m)) => assert_eq!(m, "step timed out after 200ms"),
            Err(Failure::Check(m)) => {
                assert!(m.ends_with(&format!(" (after {attempts} attempts)")))
            }
            other => panic!("a timeout or a failed check, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_interrupt_ends_the_retries() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let (tx, rx) = watch::channel(false);
        let mut ctx = ctx(dir.path(), rx);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let _ = tx.send(true);
            // Keep the sender: a dropped one is not an interrupt.
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let step = file_step("missing", Some(Duration::from_secs(10)), None);
        let started = Instant::now();
        let (outcome, _) =
            with_retries(&step, &mut ctx, &gate_deadline(Duration::from_secs(30))).await;
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(outcome.is_err());
    }
}
