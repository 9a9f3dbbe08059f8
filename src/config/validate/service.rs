//! A gate's services: name, command, environment, and the one readiness probe each may have.

use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use serde_saphyr::Location;

use super::command::command;
use super::ctx::{FileCtx, check_template, duration};
use super::defaults::env_entries;
use super::service_start::port_and_start;
use crate::config::model::{Probe, Ready, ServiceDef};
use crate::config::raw::{OrderedMap, RawReady, RawService};
use crate::expect::Pattern;

pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);

pub fn services(ctx: &mut FileCtx, raw: OrderedMap<RawService>, at: Location) -> Vec<ServiceDef> {
    static NAME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new("^[a-z][a-z0-9_-]*$").expect("static regex"));
    let mut out = Vec::new();
    let mut ports = Vec::new();
    for (name, svc) in raw.0 {
        let loc = svc.run.referenced;
        if !NAME.is_match(&name) {
            ctx.error(loc, format!("invalid service name `{name}`: use lower-case letters, digits, `-` and `_`, starting with a letter"));
            continue;
        }
        let (port, manual) = port_and_start(ctx, &svc, &name, &mut ports);
        let Some(command) = command(ctx, svc.run.value, loc) else {
            continue;
        };
        let env = svc
            .env
            .as_ref()
            .map(|e| env_entries(ctx, e, Some(loc)))
            .unwrap_or_default();
        let ready = match svc.ready {
            None => None,
            Some(r) => ready(ctx, r.value, r.referenced, &name),
        };
        out.push(ServiceDef {
            name,
            command,
            env,
            ready,
            may_exit: svc.may_exit.unwrap_or(false),
            port,
            manual,
            line: loc.line(),
        });
    }
    if out.is_empty() && ctx.diagnostics.is_empty() {
        ctx.error(at, "`services` is empty");
    }
    out
}

fn ready(ctx: &mut FileCtx, raw: RawReady, at: Location, service: &str) -> Option<Ready> {
    let timeout = raw
        .timeout
        .as_ref()
        .and_then(|t| duration(ctx, t, "ready.timeout"))
        .unwrap_or(DEFAULT_READY_TIMEOUT);
    let mut probes = Vec::new();
    if let Some(url) = raw.http {
        probes.push((
            "http",
            check_template(ctx, at, &url).map(|()| Probe::Http(url)),
        ));
    }
    if let Some(addr) = raw.tcp {
        probes.push((
            "tcp",
            check_template(ctx, at, &addr).map(|()| Probe::Tcp(addr)),
        ));
    }
    if let Some(log) = raw.log {
        let pattern = Pattern::parse(&log)
            .map_err(|e| ctx.error(at, format!("`ready.log`: {e}")))
            .ok();
        probes.push(("log", pattern.map(Probe::Log)));
    }
    if let Some(run) = raw.run {
        probes.push(("run", command(ctx, run, at).map(Probe::Run)));
    }
    match probes.as_slice() {
        [] => {
            ctx.error(
                at,
                format!("service `{service}`: `ready` needs one of `http`, `tcp`, `log`, `run`"),
            );
            None
        }
        [(_, probe)] => probe.clone().map(|probe| Ready { probe, timeout }),
        [(a, _), (b, _), ..] => {
            ctx.error(at, format!("service `{service}`: `ready` takes one probe, this one has both `{a}` and `{b}`"));
            None
        }
    }
}
