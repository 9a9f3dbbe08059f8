//! A gate's setup, before anything of it runs: gaterun's environment with the built-ins and
//! the declared secrets, a port for each service, the fresh database, then the gate's own
//! `env` and working directory, which may use all of them.

use std::sync::Arc;
use std::time::Instant;

use super::ctx::GateCtx;
use super::from_template::{Request, template};
use super::share::StageShare;
use crate::config::{Database, DatabaseKind, DbInit, Gate, Stage};
use crate::database;
use crate::mock::Mock;
use crate::process;
use crate::results::{GateResult, Status, StepResult};
use crate::runner::context::RunContext;
use crate::services::Service;
use crate::steps::outcome::{Failure, cancelled};
use crate::vars::{self, Vars};

/// The gate's fresh database, recorded as a step of kind `database`; its variables join the
/// names gaterun sets (`fixed`). `name`: a database of `databases:`, whose variables are
/// prefixed with its name in upper case (`MAIN_DATABASE_URL`, `MAIN_PGHOST`). With `init`, a
/// copy of the run's template for it (runner/templates.rs).
#[allow(clippy::too_many_arguments)]
pub async fn provision(
    db: &Database,
    name: Option<&str>,
    gate: &Gate,
    ctx: &mut GateCtx,
    rc: &Arc<RunContext>,
    tmp: &std::path::Path,
    result: &mut GateResult,
    fixed: &mut Fixed,
) {
    let kind = db.kind;
    let what = match kind {
        DatabaseKind::Sqlite => "fresh SQLite database",
        DatabaseKind::Postgres => "fresh PostgreSQL database",
        DatabaseKind::Mysql => "fresh MySQL database",
    };
    let what = match &db.init {
        Some(_) => format!("{what} from a template"),
        None => what.to_owned(),
    };
    let label = match name {
        Some(n) => format!("{what} `{n}`"),
        None => what,
    };
    ctx.log_line(&format!("── setup: {label}"));
    let started = Instant::now();
    let mut cancel = ctx.cancel.clone();
    // Each named database gets a directory (its SQLite file) and a token (its PostgreSQL
    // name) of its own.
    let (dir, token) = match name {
        Some(n) => (tmp.join(format!("db-{n}")), format!("{}-{n}", ctx.token)),
        None => (tmp.to_owned(), ctx.token.clone()),
    };
    let mut made = std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::Error(format!("failed to create {}: {e}", dir.display())));
    let template = match (&made, &db.init) {
        (Ok(()), Some(init)) => match from_template(db.kind, init, gate, ctx, rc).await {
            Ok(t) => Some(t),
            Err(f) => {
                made = Err(f);
                None
            }
        },
        _ => None,
    };
    let outcome = match made {
        Err(f) => Err(f),
        Ok(()) => tokio::select! {
            r = database::provision(kind, template.as_ref(), &rc.postgres, &rc.mysql, &token, &dir) => r.map_err(Failure::Error),
            _ = cancelled(&mut cancel) => Err(Failure::Interrupted),
        },
    };
    let prefix = name
        .map(|n| format!("{}_", n.to_ascii_uppercase()))
        .unwrap_or_default();
    let (status, message) = match outcome {
        Ok((db, vars)) => {
            let vars: Vec<(String, String)> = vars
                .into_iter()
                .map(|(k, v)| (format!("{prefix}{k}"), v))
                .collect();
            let url = format!("{prefix}DATABASE_URL");
            ctx.log_line(&format!(
                "── {}",
                vars.iter()
                    .find(|(k, _)| *k == url)
                    .map(|(_, v)| crate::text::redact_url(v))
                    .unwrap_or_default()
            ));
            fixed.extend(vars.iter().map(|(k, _)| (k.clone(), "a database variable")));
            ctx.vars.extend(vars);
            match name {
                Some(n) => ctx.dbs.push((n.to_owned(), db)),
                None => ctx.db = Some(db),
            }
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
        name: label,
        status,
        duration_ms: elapsed.as_millis() as u64,
        message,
        attempts: 1,
    });
}

/// The template of `init` for this gate (built now, or by a gate before it), its note and the
/// init's output in the gate's log.
async fn from_template(
    kind: DatabaseKind,
    init: &Arc<DbInit>,
    gate: &Gate,
    ctx: &mut GateCtx,
    rc: &Arc<RunContext>,
) -> Result<database::Template, Failure> {
    // The workdir as the gate's steps will have it, but for the database's own variables.
    let rel = vars::interpolate(&gate.workdir.to_string_lossy(), &ctx.vars)
        .map_err(|e| Failure::Error(format!("workdir: {e}")))?;
    let request = Request {
        kind,
        init: init.clone(),
        workdir: rc.project_root.join(&rel),
        rel,
        timeout: gate.timeout,
    };
    let mut cancel = ctx.cancel.clone();
    let built = template(rc, request, &mut cancel)
        .await
        .ok_or(Failure::Interrupted)?;
    ctx.log_line(&format!("── {}", built.note));
    if !built.output.is_empty() {
        ctx.log.push(built.output.as_bytes());
    }
    built.result.clone().map_err(Failure::Error)
}

/// The names gaterun sets for a gate, each with what it is: the gate's `env` may use them but
/// not replace them (the contract's order puts them after `env`).
pub type Fixed = Vec<(String, &'static str)>;

/// The variables but the gate's own `env`, and the services with their ports, of a gate; an
/// error message if the gate cannot be evaluated.
pub fn setup(
    stage: &Stage,
    gate: &Gate,
    rc: &RunContext,
    tmp: &std::path::Path,
    share: &StageShare,
) -> Result<(Vars, Vec<Service>, Vec<Mock>, Fixed), String> {
    let (mut vars, mut fixed) = environment(stage, gate, rc, tmp)?;
    // The stage's: its shared services' variables and setup's captures; its database's for a
    // gate without its own.
    let db_vars = share.db_vars.iter().filter(|_| gate.database.is_none());
    for ((k, v), what) in share
        .vars
        .iter()
        .map(|kv| (kv, "a variable of the stage"))
        .chain(db_vars.map(|kv| (kv, "a database variable of the stage")))
    {
        fixed.push((k.clone(), what));
        vars.insert(k.clone(), v.clone());
    }
    let mut services = Vec::new();
    for def in &gate.services {
        let svc = Service::new(def.clone()).map_err(|e| match def.port {
            Some(_) => format!("service `{}`: {e}", def.name),
            None => format!("failed to find a free port for service `{}`: {e}", def.name),
        })?;
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
    // Issue 20: each mock's port, bound now so the gate's `env` may use its variables.
    let mut mocks = Vec::new();
    for def in &gate.mocks {
        let mock = Mock::bind(def)?;
        let prefix = crate::config::model::var_prefix(&def.name);
        for ((k, v), what) in [
            (
                (format!("{prefix}_PORT"), mock.port.to_string()),
                "a mock port",
            ),
            ((format!("{prefix}_URL"), mock.url()), "a mock URL"),
        ] {
            fixed.push((k.clone(), what));
            vars.insert(k, v);
        }
        mocks.push(mock);
    }
    Ok((vars, services, mocks, fixed))
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
    for (k, v) in &gate.matrix {
        fixed.push((k.clone(), "a matrix variable"));
        vars.insert(k.clone(), v.clone());
    }
    Ok((vars, fixed))
}

/// The copy of the evidence the stage's gates share (`GATERUN_EVIDENCE`).
fn evidence_copy(rc: &RunContext, stage: &Stage) -> Result<String, String> {
    crate::runner::snapshot::evidence_copy(rc, stage).map(|p| p.display().to_string())
}

/// The gate's `env` in order (a value may use every other gate variable and the entries
/// before it), then the working directory, which may use them all.
pub fn resolve_env(
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

/// Issue 20: start the gate's mocks, their routes' `${VAR}` filled in from the gate's
/// variables (its `env` included), before its services start.
pub fn start_mocks(ctx: &mut GateCtx) -> Result<(), String> {
    for m in &mut ctx.mocks.own {
        m.start(&ctx.vars, &ctx.typed, &ctx.log)?;
        ctx.log.line(&format!(
            "── mock {}: {} ({} route{})",
            m.def.name,
            m.url(),
            m.def.routes.len(),
            crate::text::plural(m.def.routes.len())
        ));
    }
    Ok(())
}
