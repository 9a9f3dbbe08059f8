//! A stage file: its key (`4a`), name, defaults and gates, with gate ids unique in it.

use std::path::PathBuf;

use super::ctx::FileCtx;
use super::defaults::{Defaults, defaults};
use super::gate::gate;
use super::stage_scope::scope;
use super::template::templates;
use crate::config::model::{Gate, Stage, StageKey};
use crate::config::raw::RawStage;

pub fn stage(
    ctx: &mut FileCtx,
    mut raw: RawStage,
    base: &Defaults,
    rel_file: PathBuf,
    definition_hash: String,
) -> Option<Stage> {
    let before = ctx.diagnostics.len();
    let key = match StageKey::parse(&raw.stage.value.0) {
        Some(k) if k.number <= 10 => Some(k),
        Some(k) => {
            ctx.error(
                raw.stage.referenced,
                format!(
                    "stage {k} is out of range: a phase has stages 0 to 10 (with sub-stages like `4a`); \
                     start a new phase with `phase: 2`"
                ),
            );
            None
        }
        None => {
            ctx.error(
                raw.stage.referenced,
                format!("invalid stage `{}`: write a number, or a number and a letter for a sub-stage (`4a`)", raw.stage.value.0),
            );
            None
        }
    };
    let mut defaults = defaults(ctx, raw.defaults.as_ref(), base);
    // The file's templates first: its stage setup and gates may use them.
    ctx.templates = base.templates.clone();
    if let Some(own) = raw.templates.take() {
        templates(ctx, own, None);
    }
    let scope = scope(ctx, &mut raw, &defaults);
    defaults.shared_services = scope.services.iter().map(|s| s.name.clone()).collect();
    defaults.shared_ports = scope.services.iter().filter_map(|s| s.port).collect();
    defaults.stage_database = scope.database.is_some();
    defaults.shared_mocks = scope.mocks.iter().map(|m| m.name.clone()).collect();
    if raw.name.trim().is_empty() {
        ctx.error(raw.stage.referenced, "a stage needs a `name`");
    }
    if raw.gates.value.is_empty() {
        ctx.error(
            raw.gates.referenced,
            "`gates` is empty: a stage needs at least one gate",
        );
    }
    let mut gates: Vec<Gate> = Vec::new();
    for g in raw.gates.value {
        let at = g.referenced;
        if let Some(expanded) = gate(ctx, g.value, at, &defaults) {
            let base = expanded
                .first()
                .map(|g| g.base_id.clone())
                .unwrap_or_default();
            if let Some(first) = gates.iter().find(|x| x.base_id == base) {
                ctx.error(
                    at,
                    format!("duplicate gate id `{base}` (first at line {})", first.line),
                );
            } else {
                gates.extend(expanded);
            }
        }
    }
    if ctx.diagnostics.len() > before {
        return None;
    }
    Some(Stage {
        phase: raw.phase.map(|p| p.value).unwrap_or(1),
        key: key?,
        name: raw.name,
        goal: raw.goal,
        risk: raw.risk,
        open_questions: raw.open_questions.unwrap_or_default(),
        serial: raw.serial.unwrap_or(false),
        scope,
        gates,
        file: rel_file,
        definition_hash,
    })
}
