//! A gate: id, title, deadline and grace, environment, secrets, database, services, and its
//! steps, written as a `steps:` list or inline as the gate's single step.

use std::path::PathBuf;
use std::sync::LazyLock;

use regex::Regex;
use serde_saphyr::Location;

use super::ctx::{FileCtx, duration};
use super::databases::{self, Choices};
use super::defaults::{DEFAULT_GRACE, DEFAULT_TIMEOUT, Defaults, env_entries};
use super::finally::finally;
use super::matrix::{self, DATABASE_VARS};
use super::service::services;
use super::stage_scope::{clashes_with_shared, controls_shared};
use super::step::step;
use crate::config::model::{Gate, StepKind, var_prefix};
use crate::config::raw::RawGate;
use crate::vars;

/// The longest gate id: it names a log file (`logs/<id>.log`), which must fit a file name.
pub const MAX_ID: usize = 100;
/// The most `retries` a gate may ask for.
pub const MAX_RETRIES: u32 = 10;

/// A gate, or one gate per combination of its `matrix`.
pub fn gate(
    ctx: &mut FileCtx,
    mut raw: RawGate,
    at: Location,
    defaults: &Defaults,
) -> Option<Vec<Gate>> {
    let before = ctx.diagnostics.len();
    static ID: LazyLock<Regex> =
        LazyLock::new(|| Regex::new("^[a-z0-9][a-z0-9_-]*$").expect("static regex"));
    let id = raw.id.value.clone();
    if !ID.is_match(&id) {
        ctx.error(
            raw.id.referenced,
            format!("invalid gate id `{id}`: use lower-case letters, digits, `-` and `_`, starting with a letter or digit"),
        );
    } else if id.len() > MAX_ID {
        // The id names the gate's log file: a longer one would fail to be written.
        ctx.error(
            raw.id.referenced,
            format!(
                "gate id of {} characters is too long: at most {MAX_ID}",
                id.len()
            ),
        );
    }
    if raw.title.trim().is_empty() {
        ctx.error(
            at,
            format!("gate `{id}` needs a `title`: the acceptance sentence"),
        );
    }
    let mut taken: Vec<(&str, &str)> = Vec::new();
    for (k, _) in raw.env.iter().flat_map(|e| &e.0) {
        taken.push((k, "set by this gate's `env`"));
    }
    for s in raw.secrets.iter().flatten() {
        taken.push((&s.value, "a secret this gate declares"));
    }
    // The names gaterun sets for the gate's services and databases: a matrix key of the same
    // name would be in the id but not what the gate sees.
    let mut service_vars: Vec<String> = Vec::new();
    let gate_services = raw
        .services
        .iter()
        .flat_map(|l| l.value.0.iter().map(|(n, _)| n));
    // Issue 20: mocks set the same two names.
    let gate_mocks = raw
        .mocks
        .iter()
        .flat_map(|l| l.value.0.iter().map(|(n, _)| n));
    let shared = defaults
        .shared_services
        .iter()
        .chain(&defaults.shared_mocks);
    for name in gate_services.chain(gate_mocks).chain(shared) {
        let prefix = var_prefix(name);
        service_vars.push(format!("{prefix}_PORT"));
        service_vars.push(format!("{prefix}_URL"));
    }
    for v in &service_vars {
        taken.push((v, "a service variable gaterun sets"));
    }
    for v in DATABASE_VARS {
        taken.push((v, "a database variable gaterun sets"));
    }
    let combos = match raw.matrix.take() {
        Some(m) => matrix::combinations(ctx, m, &taken),
        None => Some(vec![Vec::new()]),
    }
    .unwrap_or_default();
    ctx.gate_fixed = combos
        .first()
        .into_iter()
        .flatten()
        .map(|(k, _)| (k.clone(), "a matrix key of this gate"))
        .chain(
            service_vars
                .iter()
                .map(|v| (v.clone(), "a service variable gaterun sets")),
        )
        .chain(
            raw.secrets
                .iter()
                .flatten()
                .map(|s| (s.value.clone(), "a secret this gate declares")),
        )
        .collect();
    let dbs = Choices {
        // The gate's own `database:`, else the only one of its `databases:`, else the
        // stage's database (docs §6).
        single: raw.database.is_some() || (defaults.stage_database && raw.databases.is_none()),
        named: raw
            .databases
            .as_ref()
            .map(|d| databases::names(ctx, d))
            .unwrap_or_default(),
        open: false,
    };
    if let Some(d) = &raw.databases {
        super::mock::shared_mocks_clash(ctx, d.referenced, &dbs.named, &defaults.shared_mocks);
    }
    let gate_timeout = raw.timeout.take();
    let timeout = match &gate_timeout {
        Some(t) => duration(ctx, t, "timeout"),
        None => defaults.timeout,
    }
    .unwrap_or(DEFAULT_TIMEOUT);
    let grace = match &raw.grace {
        Some(g) => duration(ctx, g, "grace"),
        None => defaults.grace,
    }
    .unwrap_or(DEFAULT_GRACE);

    // A matrix key wins over a default `env` entry of its name (the gate's own is an error).
    let mut env: Vec<(String, String)> = defaults
        .env
        .iter()
        .filter(|(k, _)| {
            !combos
                .first()
                .is_some_and(|c| c.iter().any(|(m, _)| m == k))
        })
        .cloned()
        .collect();
    if let Some(e) = &raw.env {
        env.extend(env_entries(ctx, e, Some(at)));
    }
    let mut secrets = Vec::new();
    for s in raw.secrets.take().unwrap_or_default() {
        if vars::is_name(&s.value) {
            secrets.push(s.value);
        } else {
            ctx.error(s.referenced, format!("invalid secret name `{}`", s.value));
        }
    }
    let workdir = match &raw.workdir {
        Some(w) => {
            if let Err(e) = vars::check_syntax(&w.value, "x") {
                ctx.error(w.referenced, e.to_string());
            }
            PathBuf::from(&w.value)
        }
        None => PathBuf::from("."),
    };
    if let Some(list) = &raw.services {
        clashes_with_shared(ctx, &list.value, defaults);
        super::mock::services_clash(ctx, &list.value, &defaults.shared_mocks);
    }
    let services = match raw.services.take() {
        Some(list) => services(ctx, list.value, list.referenced),
        None => Vec::new(),
    };
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let mocks = match raw.mocks.take() {
        Some(list) => {
            let taken = mock_names_taken(&names, defaults);
            super::mock::mocks(ctx, list, &taken, &dbs.named)
        }
        None => Vec::new(),
    };
    let in_scope = mocks.iter().map(|m| m.name.clone());
    ctx.mocks = Some(in_scope.chain(defaults.shared_mocks.clone()).collect());

    let inline = raw.take_inline_step();
    let inline_kinds = inline.kinds();
    let mut steps = Vec::new();
    match raw.steps.take() {
        Some(list) => {
            if !inline_kinds.is_empty()
                || inline.expect.is_some()
                || inline.capture.is_some()
                || !inline.kind_keys().is_empty()
            {
                ctx.error(list.referenced, format!("gate `{id}` has `steps:` and also step keys at gate level: move them into `steps`"));
            }
            if list.value.is_empty() {
                ctx.error(
                    list.referenced,
                    format!("gate `{id}` has no step: `steps` is empty"),
                );
            }
            for s in list.value {
                if controls_shared(ctx, &s.value, s.referenced, &defaults.shared_services) {
                    continue;
                }
                if let Some(step) = step(ctx, s.value, s.referenced, &names, &dbs) {
                    steps.push(step);
                }
            }
        }
        None if inline_kinds.is_empty() => {
            ctx.error(
                at,
                format!("gate `{id}` has no step: add `run:` (or another step kind) or `steps:`"),
            );
        }
        None => {
            if !controls_shared(ctx, &inline, at, &defaults.shared_services)
                && let Some(mut step) = step(ctx, inline, at, &names, &dbs)
            {
                // Issue 19: a `browser` step waits up to its own `timeout:`; written inline,
                // the gate's is its own.
                if matches!(step.kind, StepKind::Browser(_)) && gate_timeout.is_some() {
                    step.timeout = Some(timeout);
                }
                steps.push(step);
            }
        }
    }
    let retries = match &raw.retries {
        Some(r) => match r.value.0.0.trim().parse::<u32>() {
            Ok(n) if n <= MAX_RETRIES => n,
            _ => {
                ctx.error(
                    r.referenced,
                    format!(
                        "`retries` takes a whole number from 0 to {MAX_RETRIES}, got `{}`",
                        r.value.0.0
                    ),
                );
                0
            }
        },
        None => 0,
    };
    let finally = finally(ctx, raw.finally.take(), &names, &dbs, defaults);
    ctx.gate_fixed.clear();
    ctx.mocks = None;
    let template = Gate {
        id: id.clone(),
        base_id: id.clone(),
        matrix: Vec::new(),
        retries,
        title: raw.title.clone(),
        tags: raw.tags.unwrap_or_default(),
        timeout,
        grace,
        workdir,
        env,
        secrets,
        database: None,
        databases: Vec::new(),
        services,
        mocks,
        steps,
        finally,
        line: at.line(),
        column: at.column(),
    };
    let mut gates = Vec::new();
    for combo in combos {
        let gate_id = matrix::combination_id(&id, &combo);
        if gate_id.len() > MAX_ID && id.len() <= MAX_ID {
            ctx.error(
                at,
                format!("gate id `{gate_id}` of {} characters is too long: at most {MAX_ID} (shorten the id or the matrix keys and values)", gate_id.len()),
            );
            break;
        }
        let errors = ctx.diagnostics.len();
        let database = raw
            .database
            .as_ref()
            .and_then(|d| databases::database(ctx, d, &combo));
        let named = raw
            .databases
            .as_ref()
            .map(|d| databases::databases(ctx, d, &combo))
            .unwrap_or_default();
        if ctx.diagnostics.len() > errors {
            // The same mistake in every combination: said once.
            break;
        }
        gates.push(Gate {
            id: gate_id,
            title: matrix::substitute(&raw.title, &combo),
            database,
            databases: named,
            matrix: combo,
            ..template.clone()
        });
    }
    if ctx.diagnostics.len() > before {
        return None;
    }
    Some(gates)
}

/// The names a gate's mock may not take (issue 20): its services', and the stage's services'
/// and mocks', which set the same `<NAME>_URL` and `<NAME>_PORT`.
fn mock_names_taken<'a>(
    services: &[&'a str],
    defaults: &'a Defaults,
) -> Vec<(&'a str, &'static str)> {
    let own = services.iter().map(|n| (*n, "a service of this gate"));
    let stage = defaults
        .shared_services
        .iter()
        .map(|n| (n.as_str(), "a service of the stage"));
    let mocks = defaults
        .shared_mocks
        .iter()
        .map(|n| (n.as_str(), "a mock of the stage"));
    own.chain(stage).chain(mocks).collect()
}
