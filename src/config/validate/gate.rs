//! A gate: id, title, deadline and grace, environment, secrets, database, services, and its
//! steps, written as a `steps:` list or inline as the gate's single step.

use std::path::PathBuf;
use std::sync::LazyLock;

use regex::Regex;
use serde_saphyr::Location;

use super::ctx::{FileCtx, duration};
use super::defaults::{DEFAULT_GRACE, DEFAULT_TIMEOUT, Defaults, env_entries};
use super::finally::finally;
use super::service::services;
use super::stage_scope::{clashes_with_shared, controls_shared, database_kind};
use super::step::step;
use crate::config::model::Gate;
use crate::config::raw::RawGate;
use crate::vars;

/// The longest gate id: it names a log file (`logs/<id>.log`), which must fit a file name.
pub const MAX_ID: usize = 100;

pub fn gate(
    ctx: &mut FileCtx,
    mut raw: RawGate,
    at: Location,
    defaults: &Defaults,
) -> Option<Gate> {
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
    let database = raw.database.as_ref().and_then(|db| database_kind(ctx, db));
    let has_db = raw.database.is_some() || defaults.stage_database;
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

    let mut env = defaults.env.clone();
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
    }
    let services = match raw.services.take() {
        Some(list) => services(ctx, list.value, list.referenced),
        None => Vec::new(),
    };
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();

    let inline = raw.take_inline_step();
    let inline_kinds = inline.kinds();
    let mut steps = Vec::new();
    match raw.steps.take() {
        Some(list) => {
            if !inline_kinds.is_empty() || inline.expect.is_some() || inline.capture.is_some() {
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
                if let Some(step) = step(ctx, s.value, s.referenced, &names, has_db) {
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
                && let Some(step) = step(ctx, inline, at, &names, has_db)
            {
                steps.push(step);
            }
        }
    }
    let finally = finally(ctx, raw.finally.take(), &names, has_db, defaults);
    if ctx.diagnostics.len() > before {
        return None;
    }
    Some(Gate {
        id,
        title: raw.title,
        tags: raw.tags.unwrap_or_default(),
        timeout,
        grace,
        workdir,
        env,
        secrets,
        database,
        services,
        steps,
        finally,
        line: at.line(),
        column: at.column(),
    })
}
