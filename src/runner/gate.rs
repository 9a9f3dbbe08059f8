//! One gate's lifecycle: its environment and temp directory, its services, its steps in order
//! (with `eventually` and deadlines), and a teardown that leaves no process behind.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::context::RunContext;
use crate::config::{DatabaseKind, Gate, ServiceAction, Stage, Step, StepKind};
use crate::database;
use crate::events::Event;
use crate::process::{self, CappedBuffer};
use crate::results::{GateResult, Status, StepResult};
use crate::services::{self, Service};
use crate::steps::{self, Deadline, Failure, GateCtx};
use crate::vars::{self, Vars};

pub async fn run(
    stage: Arc<Stage>,
    gate_index: usize,
    rc: Arc<RunContext>,
    cancel: watch::Receiver<bool>,
) -> GateResult {
    let gate = &stage.gates[gate_index];
    let started = Instant::now();
    let token = process::new_token();
    let log = Arc::new(Mutex::new(CappedBuffer::new(rc.log_cap)));
    let mut result = GateResult {
        id: gate.id.clone(),
        title: gate.title.clone(),
        status: Status::Passed,
        duration_ms: 0,
        attempts: 1,
        message: None,
        file: stage.file.display().to_string(),
        line: gate.line,
        log: format!("logs/{}.log", gate.id),
        steps: Vec::new(),
        flaky: false,
        failed_runs: Vec::new(),
        peak_memory_bytes: None,
        cpu_time_ms: None,
        output: String::new(),
    };

    let mut secrets = Vec::new();
    let tmp_dir = rc.tmp.take(&token);
    match tmp_dir
        .clone()
        .and_then(|tmp| process::open_gate(&token).map(|()| tmp))
        .and_then(|tmp| setup(&stage, gate, &rc, &tmp).map(|s| (s, tmp)))
    {
        Err(message) => {
            result.status = Status::Error;
            result.message = Some(message);
        }
        Ok(((vars, services, mut fixed), tmp)) => {
            // Every secret of the project, whichever gate declares it: a gate that does not
            // declare one may still print it (from a file, a service, a response).
            secrets = rc.secrets.values.clone();
            // A service's port is a number: `"$.port": "${API_PORT}"` compares as one.
            let typed = services
                .iter()
                .map(|s| {
                    (
                        format!("{}_PORT", s.def.var_prefix()),
                        serde_json::Value::from(s.port.0),
                    )
                })
                .collect();
            let mut ctx = GateCtx {
                vars,
                typed,
                secret_captures: gate
                    .steps
                    .iter()
                    .flat_map(|s| s.secret_captures.iter().cloned())
                    .collect(),
                secrets: Vec::new(),
                // Set once the gate's `env` is resolved, before anything runs.
                workdir: rc.project_root.clone(),
                token: token.clone(),
                grace: gate.grace,
                log: log.clone(),
                groups: Vec::new(),
                readers: Vec::new(),
                cancel,
                services,
                http: rc.http.clone(),
                db: None,
                exits: Default::default(),
            };
            if let Some(kind) = gate.database {
                provision(kind, &mut ctx, &rc, &tmp, &mut result, &mut fixed).await;
            }
            // The gate's `env` last, so it may use ports and database variables; services
            // start after this and see it.
            if result.status == Status::Passed
                && let Err(message) = resolve_env(gate, &rc, &mut ctx, &fixed)
            {
                result.status = Status::Error;
                result.message = Some(message);
            }
            if result.status == Status::Passed {
                run_steps(&stage, gate, &mut ctx, &rc, started, &mut result).await;
            }
            // A service that died during the last step (killed a moment before it ended)
            // fails the gate as if the step had seen it.
            if result.status == Status::Passed
                && let Some(failure) = services::dead_at_end(&mut ctx).await
            {
                let message = failure.message();
                ctx.log_line(&format!("── after the last step: {message}"));
                result.status = Status::Failed;
                result.message = Some(message);
            }
            // Teardown, whatever happened: services in reverse order, then every process
            // still carrying the gate's token. No process outlives its gate.
            services::stop_all(&mut ctx).await;
            if let Some(problem) = process::terminate(&token, &ctx.groups, gate.grace).await {
                ctx.log_line(&format!("── teardown: {problem}"));
            }
            if let Some(db) = ctx.db.take() {
                for note in database::release(db, &rc.postgres).await {
                    ctx.log_line(&format!("── teardown: {note}"));
                }
            }
            secrets.append(&mut ctx.secrets);
            let readers: Vec<_> = ctx.readers.drain(..).collect();
            for r in readers {
                if tokio::time::timeout(Duration::from_secs(1), r)
                    .await
                    .is_err()
                {
                    ctx.log_line("[gaterun: an output pipe stayed open after teardown]");
                }
            }
        }
    }
    let (usage, problem) = process::close_gate(&token);
    if let Some(problem) = problem {
        log.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!("── teardown: {problem}\n").as_bytes());
    }
    result.peak_memory_bytes = usage.peak_memory_bytes;
    result.cpu_time_ms = usage.cpu_time_ms;
    process::forget_token(&token);
    if let Ok(tmp) = tmp_dir {
        rc.tmp.give_back(tmp);
    }
    result.duration_ms = started.elapsed().as_millis() as u64;
    result.output = log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .to_text_masked(&secrets);
    result.message = result.message.map(|m| mask(&m, &secrets));
    for s in &mut result.steps {
        s.message = s.message.take().map(|m| mask(&m, &secrets));
        s.name = mask(&s.name, &secrets);
    }
    result
}

/// The gate's fresh database, recorded as a step of kind `database`; its variables join the
/// names gaterun sets (`fixed`).
async fn provision(
    kind: DatabaseKind,
    ctx: &mut GateCtx,
    rc: &RunContext,
    tmp: &std::path::Path,
    result: &mut GateResult,
    fixed: &mut Fixed,
) {
    let name = match kind {
        DatabaseKind::Sqlite => "fresh SQLite database",
        DatabaseKind::Postgres => "fresh PostgreSQL database",
    };
    ctx.log_line(&format!("── setup: {name}"));
    let started = Instant::now();
    let mut cancel = ctx.cancel.clone();
    let outcome = tokio::select! {
        r = database::provision(kind, &rc.postgres, &ctx.token, tmp) => r.map_err(Failure::Error),
        _ = steps::cancelled(&mut cancel) => Err(Failure::Interrupted),
    };
    let (status, message) = match outcome {
        Ok((db, vars)) => {
            ctx.log_line(&format!(
                "── {}",
                vars.iter()
                    .find(|(k, _)| k == "DATABASE_URL")
                    .map(|(_, v)| crate::text::redact_url(v))
                    .unwrap_or_default()
            ));
            fixed.extend(vars.iter().map(|(k, _)| (k.clone(), "a database variable")));
            ctx.vars.extend(vars);
            ctx.db = Some(db);
            (Status::Passed, None)
        }
        Err(Failure::Interrupted) => (Status::Interrupted, Some("interrupted".to_owned())),
        Err(f) => (Status::Error, Some(f.message())),
    };
    let elapsed = started.elapsed();
    ctx.log_line(&format!(
        "── setup {} in {}",
        status.as_str(),
        crate::text::human_duration(elapsed)
    ));
    if status != Status::Passed {
        result.status = status;
        result.message = message.clone();
    }
    result.steps.push(StepResult {
        kind: "database".to_owned(),
        name: name.to_owned(),
        status,
        duration_ms: elapsed.as_millis() as u64,
        message,
        attempts: 1,
    });
}

/// The names gaterun sets for a gate, each with what it is: the gate's `env` may use them but
/// not replace them (the contract's order puts them after `env`).
type Fixed = Vec<(String, &'static str)>;

/// The variables but the gate's own `env`, and the services with their ports, of a gate; an
/// error message if the gate cannot be evaluated.
fn setup(
    stage: &Stage,
    gate: &Gate,
    rc: &RunContext,
    tmp: &std::path::Path,
) -> Result<(Vars, Vec<Service>, Fixed), String> {
    let (mut vars, mut fixed) = environment(stage, gate, rc, tmp)?;
    let mut services = Vec::new();
    for def in &gate.services {
        let svc = Service::new(def.clone())
            .map_err(|e| format!("failed to find a free port for service `{}`: {e}", def.name))?;
        let prefix = def.var_prefix();
        let port = (format!("{prefix}_PORT"), svc.port.0.to_string());
        let url = (
            format!("{prefix}_URL"),
            format!("http://127.0.0.1:{}", svc.port.0),
        );
        for ((k, v), what) in [(port, "a service port"), (url, "a service URL")] {
            fixed.push((k.clone(), what));
            vars.insert(k, v);
        }
        services.push(svc);
    }
    Ok((vars, services, fixed))
}

/// gaterun's environment, then the built-ins and the secrets (checked to be set). The gate's
/// `env` comes later, in `resolve_env`, once ports and the database exist.
fn environment(
    stage: &Stage,
    gate: &Gate,
    rc: &RunContext,
    tmp: &std::path::Path,
) -> Result<(Vars, Fixed), String> {
    let mut vars: Vars = std::env::vars().collect();
    vars.remove(process::TOKEN_VAR);
    // A secret reaches only the gates that declare it.
    for name in &rc.secrets.names {
        if !gate.secrets.contains(name) {
            vars.remove(name);
        }
    }
    let builtins = [
        ("GATE_ID", gate.id.clone()),
        ("GATE_TMP", tmp.display().to_string()),
        ("TMPDIR", tmp.display().to_string()),
        ("GATERUN_PHASE", stage.phase.to_string()),
        ("GATERUN_STAGE", stage.key.to_string()),
        ("PROJECT_ROOT", rc.project_root.display().to_string()),
        ("GATERUN_GATES", rc.gates_dir.display().to_string()),
        // A copy of the evidence, not the evidence: gates get no writable path into it.
        ("GATERUN_EVIDENCE", evidence_copy(rc, stage)?),
        // This gaterun, for gates that run it (stage 10 runs `gaterun signoff`).
        (
            "GATERUN",
            std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "gaterun".to_owned()),
        ),
    ];
    let mut fixed = Fixed::new();
    for name in &gate.secrets {
        if !vars.contains_key(name) {
            return Err(format!(
                "secret `{name}` is not set in gaterun's environment"
            ));
        }
        fixed.push((name.clone(), "a secret"));
    }
    for (k, v) in builtins {
        fixed.push((k.to_owned(), "a built-in variable"));
        vars.insert(k.to_owned(), v);
    }
    Ok((vars, fixed))
}

/// The copy of the evidence the stage's gates share (`GATERUN_EVIDENCE`).
fn evidence_copy(rc: &RunContext, stage: &Stage) -> Result<String, String> {
    super::snapshot::evidence_copy(rc, stage).map(|p| p.display().to_string())
}

/// The gate's `env` in order (a value may use every other gate variable and the entries
/// before it), then the working directory, which may use them all.
fn resolve_env(
    gate: &Gate,
    rc: &RunContext,
    ctx: &mut GateCtx,
    fixed: &Fixed,
) -> Result<(), String> {
    for (k, template) in &gate.env {
        if let Some((_, what)) = fixed.iter().find(|(name, _)| name == k) {
            return Err(format!(
                "env `{k}`: `{k}` is {what} that gaterun sets for this gate; use it as `${{{k}}}` in a value under another name"
            ));
        }
        let value =
            vars::interpolate(template, &ctx.vars).map_err(|e| format!("env `{k}`: {e}"))?;
        ctx.vars.insert(k.clone(), value);
    }
    let workdir = vars::interpolate(&gate.workdir.to_string_lossy(), &ctx.vars)
        .map_err(|e| format!("workdir: {e}"))?;
    let workdir = rc.project_root.join(workdir);
    if !workdir.is_dir() {
        return Err(format!("workdir {} is not a directory", workdir.display()));
    }
    ctx.workdir = workdir;
    Ok(())
}

/// What the gate runs, in order: its services' start-up, then its steps.
enum Action<'a> {
    StartService(usize),
    Step(&'a Step),
}

async fn run_steps(
    stage: &Stage,
    gate: &Gate,
    ctx: &mut GateCtx,
    rc: &RunContext,
    started: Instant,
    result: &mut GateResult,
) {
    let gate_deadline = Deadline {
        at: started + gate.timeout,
        message: format!(
            "gate timed out after {}",
            humantime::format_duration(gate.timeout)
        ),
    };
    let actions: Vec<Action> = (0..gate.services.len())
        .map(Action::StartService)
        .chain(gate.steps.iter().map(Action::Step))
        .collect();
    let total = gate.steps.len();
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
                Some(n - gate.services.len() + 1),
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
        rc.send(Event::StepStarted {
            stage: stage.label(),
            gate: gate.id.clone(),
            step: label.clone(),
        });
        let heading = match number {
            Some(k) => format!("step {k}/{total}"),
            None => "setup".to_owned(),
        };
        ctx.log_line(&format!("── {heading}: {label}"));
        let step_started = Instant::now();
        // Every step (and every pause between the attempts of `eventually`) races the gate's
        // services: one exiting unasked ends the step at once. The step goes first, so a `run`
        // step that sees the exit too stops its processes before it is dropped.
        let died = services::watch(ctx);
        let work = async {
            match action {
                Action::StartService(i) => (services::start(ctx, *i, &gate_deadline).await, 1),
                Action::Step(step) => with_retries(step, ctx, &gate_deadline).await,
            }
        };
        let (mut outcome, attempts) = tokio::select! {
            biased;
            r = work => r,
            i = died => (Err(Failure::ServiceExited(i)), 1),
        };
        let cut = matches!(outcome, Err(Failure::ServiceExited(_)));
        if let Err(Failure::ServiceExited(i)) = outcome {
            outcome = Err(services::exited_while_running(ctx, i).await);
        }
        let elapsed = step_started.elapsed();
        let (status, message) = match &outcome {
            Ok(()) => (Status::Passed, None),
            Err(Failure::Interrupted) => (Status::Interrupted, Some("interrupted".to_owned())),
            Err(Failure::Error(m)) => (Status::Error, Some(m.clone())),
            Err(Failure::Timeout(m)) => (Status::Failed, Some(format!("{m} in step `{label}`"))),
            Err(Failure::Check(m)) => (Status::Failed, Some(m.clone())),
            Err(f @ Failure::ServiceExited(_)) => (Status::Failed, Some(f.message())),
        };
        let tries = if attempts > 1 {
            format!(", {attempts} attempts")
        } else {
            String::new()
        };
        ctx.log_line(&format!(
            "── {heading} {} in {}{tries}{}",
            status.as_str(),
            crate::text::human_duration(elapsed),
            message
                .as_ref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ));
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

/// One step, repeated under `eventually` until it passes or the time is spent. Returns the last
/// attempt's outcome and how many attempts ran.
async fn with_retries(
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
        let outcome = attempt(step, ctx, &deadline, gate_deadline).await;
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

/// One attempt of a step, bounded by its deadline and by an interrupt.
async fn attempt(
    step: &Step,
    ctx: &mut GateCtx,
    deadline: &Deadline,
    gate_deadline: &Deadline,
) -> Result<(), Failure> {
    // `run` stops its own processes on a deadline; the others are plain futures.
    if let StepKind::Run { command, expect } = &step.kind {
        return steps::run::attempt(ctx, command, expect, &step.captures, deadline).await;
    }
    let mut cancel = ctx.cancel.clone();
    let work = async {
        match &step.kind {
            StepKind::Run { .. } => unreachable!("handled above"),
            StepKind::Http(h) => steps::http::attempt(ctx, h, &step.captures, deadline).await,
            StepKind::Tcp { address, open } => {
                steps::tcp::attempt(ctx, address, *open, deadline).await
            }
            StepKind::File {
                path,
                exists,
                contains,
            } => steps::file::attempt(ctx, path, *exists, contains).await,
            StepKind::Sql { statement, expect } => {
                steps::sql::attempt(ctx, statement, expect, &step.captures).await
            }
            StepKind::Service {
                action,
                service,
                signal,
            } => {
                let Some(i) = ctx.services.iter().position(|s| s.def.name == *service) else {
                    return Err(Failure::Error(format!("unknown service `{service}`")));
                };
                match action {
                    ServiceAction::Start => services::start(ctx, i, gate_deadline).await,
                    ServiceAction::Stop => services::stop(ctx, i, *signal).await,
                    ServiceAction::Restart => {
                        services::stop(ctx, i, *signal).await?;
                        services::start(ctx, i, gate_deadline).await
                    }
                }
            }
        }
    };
    tokio::select! {
        r = work => r,
        _ = tokio::time::sleep_until(deadline.at.into()) => Err(Failure::Timeout(deadline.message.clone())),
        _ = crate::steps::cancelled(&mut cancel) => Err(Failure::Interrupted),
    }
}

/// Replace every secret value with `***`, in every form and piece (see [`crate::mask`]), in
/// the text as the writers show it (control characters and ANSI escapes gone).
pub fn mask(text: &str, secrets: &[String]) -> String {
    if secrets.is_empty() {
        return text.to_owned();
    }
    crate::mask::Masker::new(secrets).mask_text(&crate::text::sanitize(text))
}
