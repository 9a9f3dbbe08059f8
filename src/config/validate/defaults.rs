//! Defaults for gates (timeout, grace, environment), from `gaterun.yaml` then a stage's own
//! `defaults:`, and the `env` mappings they and gates and services give.

use std::time::Duration;

use serde_saphyr::Location;

use super::ctx::{FileCtx, duration};
use super::template_set::Templates;
use crate::config::raw::{OrderedMap, RawDefaults, Scalar, Sp};
use crate::vars;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// Defaults for gates: from `gaterun.yaml`, then a stage's own `defaults:`.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub timeout: Option<Duration>,
    pub grace: Option<Duration>,
    pub env: Vec<(String, String)>,
    /// The templates gaterun.yaml defines: every stage file may use them.
    pub templates: Templates,
    /// Not a default but what a stage gives its gates: the names of its shared services (a
    /// gate may not control them or reuse their names) and whether it has a database.
    pub shared_services: Vec<String>,
    pub shared_ports: Vec<u16>,
    /// The names of the stage's mocks (issue 20).
    pub shared_mocks: Vec<String>,
    pub stage_database: bool,
}

pub fn defaults(ctx: &mut FileCtx, raw: Option<&RawDefaults>, base: &Defaults) -> Defaults {
    let mut out = base.clone();
    let Some(raw) = raw else { return out };
    if let Some(t) = &raw.timeout {
        out.timeout = duration(ctx, t, "timeout").or(out.timeout);
    }
    if let Some(g) = &raw.grace {
        out.grace = duration(ctx, g, "grace").or(out.grace);
    }
    if let Some(env) = &raw.env {
        out.env.extend(env_entries(ctx, env, None));
    }
    out
}

pub fn env_entries(
    ctx: &mut FileCtx,
    env: &OrderedMap<Sp<Scalar>>,
    at: Option<Location>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in &env.0 {
        let at = at.unwrap_or(Location::UNKNOWN);
        if !vars::is_name(k) {
            ctx.error(at, format!("invalid environment variable name `{k}`"));
            continue;
        }
        let value = v.as_written(ctx.text);
        if let Err(e) = vars::check_syntax(&value, "x") {
            ctx.error(at, format!("in env `{k}`: {e}"));
            continue;
        }
        out.push((k.clone(), value));
    }
    out
}
