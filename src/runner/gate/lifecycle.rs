//! One gate's lifecycle: its environment and temp directory, its services, its steps in order
//! (with `eventually` and deadlines), and a teardown that leaves no process behind; what it
//! leaves (log, messages, step names) with every secret masked.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::ctx::GateCtx;
use super::finally::run_finally;
use super::sequence::run_steps;
use super::setup::{provision, resolve_env, setup, start_mocks};
use super::share::{Hold, StageShare};
use crate::config::Stage;
use crate::database;
use crate::process;
use crate::results::{GateResult, Status};
use crate::runner::context::RunContext;
use crate::services::Services;
use crate::steps::log::GateLog;

pub async fn run(
    stage: Arc<Stage>,
    gate_index: usize,
    rc: Arc<RunContext>,
    cancel: watch::Receiver<bool>,
    share: Arc<StageShare>,
    hold: Option<Hold>,
) -> GateResult {
    let gate = &stage.gates[gate_index];
    let started = Instant::now();
    let token = process::new_token();
    let log = GateLog::new(rc.log_cap);
    let file = stage.file.display().to_string();
    let mut result = GateResult {
        attempts: 1,
        ..GateResult::new(&gate.id, &gate.title, file, gate.line, Status::Passed)
    };

    let mut secrets = Vec::new();
    let tmp_dir = rc.tmp.take(&token);
    match tmp_dir
        .clone()
        // A gate that starts no process has nothing for a cgroup to hold.
        .and_then(|tmp| {
            if gate.starts_processes() {
                process::open_gate(&token)?;
            }
            Ok(tmp)
        })
        .and_then(|tmp| setup(&stage, gate, &rc, &tmp, &share).map(|s| (s, tmp)))
    {
        Err(message) => {
            result.status = Status::Error;
            result.message = Some(message);
        }
        Ok(((vars, services, mocks, mut fixed), tmp)) => {
            // Every secret of the project, whichever gate declares it: a gate that does not
            // declare one may still print it (from a file, a service, a response).
            secrets = rc.secrets.values.clone();
            secrets.extend(share.secrets.iter().cloned());
            // A service's port is a number: `"$.port": "${API_PORT}"` compares as one.
            let mut typed: crate::expect::value::Typed = services
                .iter()
                .map(|s| {
                    (
                        format!("{}_PORT", s.def.var_prefix()),
                        serde_json::Value::from(s.port.0),
                    )
                })
                .collect();
            typed.extend(mocks.iter().map(|m| {
                let prefix = crate::config::model::var_prefix(&m.def.name);
                (format!("{prefix}_PORT"), serde_json::Value::from(m.port))
            }));
            typed.extend(share.typed.clone());
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
                evidence_dir: rc.evidence_dir.clone(),
                token: token.clone(),
                grace: gate.grace,
                log: log.clone(),
                groups: Vec::new(),
                readers: Vec::new(),
                cancel,
                services: Services::new(services),
                mocks: crate::mock::Mocks {
                    own: mocks,
                    stage: share.mocks.clone(),
                    since: Some(started),
                },
                shared: share.watch.clone(),
                http: rc.http.clone(),
                cookies: Default::default(),
                // The stage's database, for a gate without its own.
                db: gate
                    .database
                    .is_none()
                    .then(|| share.db.as_ref().map(crate::database::GateDb::share))
                    .flatten(),
                dbs: Vec::new(),
                fixed: Vec::new(),
                browser: crate::steps::browser::session::Session::new(
                    rc.browser.clone(),
                    secrets.clone(),
                ),
            };
            if let Some(db) = &gate.database {
                provision(db, None, gate, &mut ctx, &rc, &tmp, &mut result, &mut fixed).await;
            }
            for (name, db) in &gate.databases {
                if result.status == Status::Passed {
                    let name = Some(name.as_str());
                    provision(db, name, gate, &mut ctx, &rc, &tmp, &mut result, &mut fixed).await;
                }
            }
            ctx.fixed = fixed.clone();
            // The gate's `env` last, so it may use ports and database variables; services
            // start after this and see it.
            if result.status == Status::Passed
                && let Err(message) = resolve_env(gate, &rc, &mut ctx, &fixed)
            {
                result.status = Status::Error;
                result.message = Some(message);
            }
            if result.status == Status::Passed
                && let Err(message) = start_mocks(&mut ctx)
            {
                result.status = Status::Error;
                result.message = Some(message);
            }
            if result.status == Status::Passed {
                run_steps(gate, &mut ctx, &rc, started, &mut result).await;
            }
            // A service that died during the last step (killed a moment before it ended)
            // fails the gate as if the step had seen it; so does one that died during the
            // finally steps, which do not race the services.
            fail_if_dead(&mut ctx, &mut result, "after the last step").await;
            if !gate.finally.is_empty() {
                run_finally(gate, &mut ctx, &mut result).await;
                fail_if_dead(&mut ctx, &mut result, "after the finally steps").await;
            }
            // A stage's scope: its gates run now, with its services and database.
            if let Some(hold) = hold {
                let known: Vec<String> = secrets.iter().chain(&ctx.secrets).cloned().collect();
                hold.share(&ctx, &fixed, &result, |m| mask(m, &known)).await;
            }
            // Teardown, whatever happened: the gate's browser context, services in reverse
            // order, then every process still carrying the gate's token. No process outlives
            // its gate.
            ctx.browser.close().await;
            result.screenshots = std::mem::take(&mut ctx.browser.shots)
                .into_iter()
                .map(|(name, png)| crate::results::Screenshot {
                    path: format!("logs/{}/{name}", gate.id),
                    png,
                })
                .collect();
            let (services, mut host) = ctx.split();
            services.stop_all(&mut host).await;
            // Nothing carries the token of a gate that started no process: no look at /proc.
            if gate.starts_processes()
                && let Some(problem) = process::terminate(&token, &ctx.groups, gate.grace).await
            {
                ctx.log_line(&format!("── teardown: {problem}"));
            }
            // The mocks last: a service may still call one while it stops.
            ctx.mocks.stop_all().await;
            let named = ctx.dbs.drain(..).map(|(_, db)| db);
            for db in ctx.db.take().into_iter().chain(named.collect::<Vec<_>>()) {
                for note in database::release(db, &rc.postgres, &rc.mysql).await {
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
        log.push(format!("── teardown: {problem}\n").as_bytes());
    }
    result.peak_memory_bytes = usage.peak_memory_bytes;
    result.cpu_time_ms = usage.cpu_time_ms;
    process::forget_token(&token);
    if let Ok(tmp) = tmp_dir {
        rc.tmp.give_back(tmp);
    }
    result.duration_ms = started.elapsed().as_millis() as u64;
    result.output = log.to_text_masked(&secrets);
    // A message may quote what a server or a command sent: its control, line-separator and
    // bidi characters are written as visible escapes in every report (`text::message`).
    result.message = result
        .message
        .map(|m| crate::text::message(&mask(&m, &secrets)));
    for s in &mut result.steps {
        s.message = s
            .message
            .take()
            .map(|m| crate::text::message(&mask(&m, &secrets)));
        s.name = mask(&s.name, &secrets);
    }
    result
}

/// A passing gate with a service that has exited unasked fails, naming it.
async fn fail_if_dead(ctx: &mut GateCtx, result: &mut GateResult, when: &str) {
    if result.status != Status::Passed {
        return;
    }
    let (services, mut host) = ctx.split();
    if let Some(failure) = services.dead_at_end(&mut host).await {
        let message = failure.message();
        ctx.log_line(&format!("── {when}: {message}"));
        result.status = Status::Failed;
        result.message = Some(message);
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
