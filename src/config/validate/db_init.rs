//! `init:` of a database from a template: a shell command, `{ run, inputs }` or `{ sql }`.
//! Its paths name files the template's key is made of (database/template_key.rs), relative to
//! the gate's workdir: never absolute, never out of it through `..`.

use std::path::{Component, Path};
use std::sync::Arc;

use serde_saphyr::Location;

use super::ctx::FileCtx;
use crate::config::model::DbInit;
use crate::config::raw::{RawInit, Sp};

/// The checked `init`, or `None` after reporting what is wrong with it.
pub fn init(ctx: &mut FileCtx, raw: &Sp<RawInit>) -> Option<Arc<DbInit>> {
    let at = raw.referenced;
    let (command, inputs, sql) = match &raw.value {
        RawInit::Shell(command) => (Some((command.clone(), at)), None, None),
        RawInit::Map(m) => (
            m.run.as_ref().map(|r| (r.value.clone(), r.referenced)),
            m.inputs.as_ref(),
            m.sql.as_ref(),
        ),
    };
    let before = ctx.diagnostics.len();
    let init = match (command, sql) {
        (Some(_), Some(sql)) => {
            ctx.error(
                sql.referenced,
                "`init` has both `run` and `sql`: give one of them",
            );
            None
        }
        (None, None) => {
            ctx.error(
                at,
                "`init` needs `run` (a command) or `sql` (a list of files), like `init: { sql: [migrations/001.sql] }`",
            );
            None
        }
        (Some((command, at)), None) => {
            if command.trim().is_empty() {
                ctx.error(at, "`init` is an empty command");
            }
            let inputs: Vec<String> = inputs
                .into_iter()
                .flatten()
                .filter_map(|p| path(ctx, p, "inputs"))
                .collect();
            Some(DbInit::Run { command, inputs })
        }
        (None, Some(sql)) => {
            if inputs.is_some() {
                ctx.error(
                    at,
                    "`inputs` goes with `run`: the `sql` files are the inputs already",
                );
            }
            if sql.value.is_empty() {
                ctx.error(
                    sql.referenced,
                    "`sql` is empty: list the files to run in order",
                );
            }
            let files = sql
                .value
                .iter()
                .filter_map(|p| path(ctx, p, "sql"))
                .collect();
            Some(DbInit::Sql(files))
        }
    };
    (ctx.diagnostics.len() == before)
        .then_some(init)
        .flatten()
        .map(Arc::new)
}

/// A path of `inputs` or `sql`, relative and below the workdir.
fn path(ctx: &mut FileCtx, raw: &Sp<String>, key: &str) -> Option<String> {
    let at: Location = raw.referenced;
    let p = Path::new(raw.value.trim());
    if raw.value.trim().is_empty() {
        ctx.error(at, format!("`{key}` has an empty path"));
        return None;
    }
    if p.is_absolute() || p.components().any(|c| c == Component::ParentDir) {
        ctx.error(
            at,
            format!(
                "`{key}` path `{}` must stay below the gate's workdir: no absolute path, no `..`",
                raw.value
            ),
        );
        return None;
    }
    Some(raw.value.trim().to_owned())
}
