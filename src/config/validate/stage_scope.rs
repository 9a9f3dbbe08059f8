//! A stage's own scope: `setup:` steps run once before its gates, the `services:` they share,
//! its `database:`. And the rules it sets for the stage's gates: a gate may not start, stop or
//! restart a shared service (the other gates use it), nor declare a service of a shared
//! service's name or fixed port (its variables, its port would be two things at once).

use serde_saphyr::Location;

use super::ctx::FileCtx;
use super::databases::{self, Choices};
use super::defaults::{DEFAULT_GRACE, DEFAULT_TIMEOUT, Defaults};
use super::service::services;
use super::step::step;
use crate::config::model::StageScope;
use crate::config::raw::{OrderedMap, RawService, RawStage, RawStep};

/// The stage's scope, from its `setup`, `services` and `database` keys (taken from `raw`).
pub fn scope(ctx: &mut FileCtx, raw: &mut RawStage, defaults: &Defaults) -> StageScope {
    let database = raw
        .database
        .take()
        .and_then(|db| databases::database(ctx, &db, &Vec::new()));
    let services = match raw.services.take() {
        Some(list) => services(ctx, list.value, list.referenced),
        None => Vec::new(),
    };
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let mocks = match raw.mocks.take() {
        Some(list) => {
            let taken: Vec<(&str, &str)> = names
                .iter()
                .map(|n| (*n, "a service of the stage"))
                .collect();
            super::mock::mocks(ctx, list, &taken, &[])
        }
        None => Vec::new(),
    };
    ctx.mocks = Some(mocks.iter().map(|m| m.name.clone()).collect());
    let mut setup = Vec::new();
    if let Some(list) = raw.setup.take() {
        if list.value.is_empty() {
            ctx.error(
                list.referenced,
                "`setup` is empty: list the steps to run before the stage's gates, or remove it",
            );
        }
        for s in list.value {
            let dbs = Choices {
                single: database.is_some(),
                named: Vec::new(),
                open: false,
            };
            setup.extend(step(ctx, s.value, s.referenced, &names, &dbs));
        }
    }
    ctx.mocks = None;
    StageScope {
        setup,
        services,
        database,
        mocks,
        timeout: defaults.timeout.unwrap_or(DEFAULT_TIMEOUT),
        grace: defaults.grace.unwrap_or(DEFAULT_GRACE),
        env: defaults.env.clone(),
    }
}

/// A gate step that starts, stops or restarts a service of the stage: an error (reported),
/// and the step is not checked further.
pub fn controls_shared(ctx: &mut FileCtx, raw: &RawStep, at: Location, shared: &[String]) -> bool {
    let target = [
        ("start", &raw.start),
        ("stop", &raw.stop),
        ("restart", &raw.restart),
    ]
    .into_iter()
    .find_map(|(action, t)| Some((action, t.as_ref()?)));
    let Some((action, target)) = target else {
        return false;
    };
    if !shared.contains(&target.value) {
        return false;
    }
    let loc = if target.referenced == Location::UNKNOWN {
        at
    } else {
        target.referenced
    };
    ctx.error(
        loc,
        format!(
            "`{action}` names `{}`, a service of the stage: every gate of the stage shares it, so a gate may not {action} it (declare a service of the gate's own to control it)",
            target.value
        ),
    );
    true
}

/// A gate service named like a stage service, or asking for a stage service's fixed port.
pub fn clashes_with_shared(ctx: &mut FileCtx, raw: &OrderedMap<RawService>, defaults: &Defaults) {
    for (name, svc) in &raw.0 {
        let at = svc.run.referenced;
        if defaults.shared_services.contains(name) {
            ctx.error(
                at,
                format!("service `{name}` is already a service of the stage, which every gate shares: give the gate's own service another name"),
            );
        }
        if let Some(port) = &svc.port
            && defaults
                .shared_ports
                .iter()
                .any(|p| u32::from(*p) == port.value)
        {
            ctx.error(
                port.referenced,
                format!("port {} is the fixed port of a service of the stage, which holds it while the stage's gates run", port.value),
            );
        }
    }
}
