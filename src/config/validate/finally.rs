//! A gate's `finally:` steps: teardown that runs after the steps whatever they did. They are
//! ordinary steps (any kind, the gate's services and database), checked like the gate's own;
//! a `finally:` that is written must hold at least one.

use super::ctx::FileCtx;
use super::databases::Choices;
use super::defaults::Defaults;
use super::stage_scope::controls_shared;
use super::step::step;
use crate::config::model::Step;
use crate::config::raw::{RawStep, Sp};

pub fn finally(
    ctx: &mut FileCtx,
    raw: Option<Sp<Vec<Sp<RawStep>>>>,
    services: &[&str],
    dbs: &Choices,
    defaults: &Defaults,
) -> Vec<Step> {
    let Some(list) = raw else {
        return Vec::new();
    };
    if list.value.is_empty() {
        ctx.error(
            list.referenced,
            "`finally` is empty: list the steps to run after the gate's steps, or remove it",
        );
    }
    let mut out = Vec::new();
    for s in list.value {
        if controls_shared(ctx, &s.value, s.referenced, &defaults.shared_services) {
            continue;
        }
        out.extend(step(ctx, s.value, s.referenced, services, dbs));
    }
    out
}
