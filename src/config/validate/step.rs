//! One step: which kind it is, the keys common to every kind (`timeout`, `eventually`,
//! `capture`), then the kind's own validator. `KINDS` is the one table of step kinds: a new kind
//! is an entry there (and, if small, its builder below).

use serde_saphyr::Location;

use super::ctx::{FileCtx, check_template, duration};
use super::databases::Choices;
use super::kind::{Input, Kind};
use super::matrix::{BUILT_INS, DATABASE_VARS};
use super::patterns::patterns;
use super::{browser, http, http_expect, received, run, scope, sql, uses};
use crate::config::model::{ServiceAction, Signal, Step, StepKind};
use crate::config::raw::{RawExpect, RawStep, Sp};
use crate::vars;

/// Every step kind, in the order of `RawStep::KINDS`.
const KINDS: &[Kind] = &[
    Kind::new("run", run::build)
        .keys(&["workdir"])
        .expect(&["exit", "stdout", "stderr"])
        .capture(run::capture),
    Kind::new("http", http::build)
        .keys(&[
            "headers",
            "json",
            "body",
            "follow_redirects",
            "cookies",
            "query",
            "form",
            "multipart",
            "body_file",
            "body_base64",
            "version",
            "save",
            "sign",
        ])
        .expect(&[
            "status", "headers", "body", "json", "version", "duration", "bytes", "xpath", "css",
        ])
        .capture(http_expect::capture),
    Kind::new("tcp", tcp).expect(&["open"]),
    Kind::new("sql", sql::build)
        .keys(&["db"])
        .expect(&["rows", "count", "value", "error"])
        .database()
        .capture(sql::capture),
    Kind::new("file", file)
        .keys(&["workdir"])
        .expect(&["exists", "contains"]),
    Kind::new("start", control),
    Kind::new("stop", control).keys(&["signal"]),
    Kind::new("restart", control).keys(&["signal"]),
    Kind::new("use", uses::build).keys(&["with"]),
    Kind::new("browser", browser::build)
        .keys(&["actions", "screenshot"])
        .expect(&["title", "url", "text", "visible", "count", "console_errors"])
        .capture(browser::capture),
    Kind::new("received", received::build)
        .keys(&["match"])
        .expect(&["count", "json", "headers", "order", "unexpected", "gap"]),
];

pub fn step(
    ctx: &mut FileCtx,
    mut raw: RawStep,
    at: Location,
    services: &[&str],
    dbs: &Choices,
) -> Option<Step> {
    let before = ctx.diagnostics.len();
    let (kind, kind_at) = match raw.kinds().as_slice() {
        [] => {
            let all: Vec<String> = RawStep::KINDS.iter().map(|k| format!("`{k}`")).collect();
            ctx.error(at, format!("a step needs one of {}", all.join(", ")));
            return None;
        }
        [(k, loc)] => (*k, *loc),
        [(a, _), (b, loc), ..] => {
            ctx.error(*loc, format!("a step has one kind, this one has both `{a}` and `{b}`: split it into two steps"));
            return None;
        }
    };
    let spec = KINDS.iter().find(|k| k.name == kind)?;
    if kind == "use" {
        uses::refuse_keys(ctx, &mut raw, at);
    }
    if spec.database && !dbs.any() {
        ctx.error(kind_at, format!("a `{kind}` step needs a database: add `database: sqlite`, `database: postgres` or `database: mysql` to the gate"));
        return None;
    }
    for key in raw.kind_keys() {
        if !spec.keys.contains(&key) {
            ctx.error(at, format!("`{key}` does not apply to a `{kind}` step"));
        }
    }
    let (expect_at, expect) = raw
        .expect
        .take()
        .map(|e| (e.referenced, e.value))
        .unwrap_or((at, RawExpect::default()));
    for key in expect.keys() {
        if !spec.expect.contains(&key) {
            let takes = if spec.expect.is_empty() {
                "it takes no `expect`".to_owned()
            } else {
                format!(
                    "it takes {}",
                    spec.expect
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            ctx.error(
                expect_at,
                format!("`expect.{key}` does not apply to a `{kind}` step ({takes})"),
            );
        }
    }
    let timeout = raw
        .timeout
        .as_ref()
        .and_then(|t| duration(ctx, t, "timeout"));
    let eventually = raw
        .eventually
        .as_ref()
        .and_then(|e| scope::eventually(ctx, e));
    let env = match raw.env.take() {
        Some(e) => scope::env(ctx, &e, at),
        None => Vec::new(),
    };
    let workdir = raw.workdir.take().and_then(|w| scope::workdir(ctx, &w));
    let db = raw.db.take();
    let db = if kind == "sql" {
        scope::db(ctx, db.as_ref(), kind_at, dbs).ok().flatten()
    } else {
        None
    };
    let mut captures = Vec::new();
    let mut secret_captures = Vec::new();
    for (name, sel) in raw.capture.take().unwrap_or_default() {
        if sel.value.secret {
            secret_captures.push(name.clone());
        }
        let sel = Sp {
            value: sel.value.select,
            referenced: sel.referenced,
        };
        if !vars::is_name(&name) {
            ctx.error(
                sel.referenced,
                format!("invalid capture variable name `{name}`"),
            );
            continue;
        }
        let set_by_gaterun = if BUILT_INS.contains(&name.as_str()) {
            Some("a built-in variable gaterun sets")
        } else if DATABASE_VARS.contains(&name.as_str()) {
            Some("a database variable gaterun sets")
        } else {
            ctx.gate_fixed
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, what)| *what)
        };
        if let Some(what) = set_by_gaterun {
            ctx.error(
                sel.referenced,
                format!("capture `{name}`: `{name}` is {what}; capture under another name"),
            );
            continue;
        }
        let checked = match spec.capture {
            Some(check) => check(&sel.value),
            None => Err(format!("a `{kind}` step captures nothing")),
        };
        match checked {
            Ok(()) => captures.push((name, sel.value)),
            Err(e) => ctx.error(sel.referenced, format!("capture `{name}`: {e}")),
        }
    }
    for (k, _) in &env {
        if captures.iter().any(|(c, _)| c == k) {
            ctx.error(at, format!("`{k}` is both in the step's `env` and captured by it: the step's `env` ends with the step, so the capture would be lost"));
        }
    }
    let name = raw.name.take();
    let input = Input {
        kind,
        raw,
        at,
        expect,
        expect_at,
        services,
        has_db: dbs.any(),
    };
    let mut step_kind = (spec.build)(ctx, input)?;
    if let StepKind::Sql { db: on, .. } = &mut step_kind {
        *on = db;
    }
    if let StepKind::Use { steps, .. } = &step_kind {
        secret_captures.extend(steps.iter().flat_map(|s| s.secret_captures.iter().cloned()));
    }
    if ctx.diagnostics.len() > before {
        return None;
    }
    Some(Step {
        name,
        kind: step_kind,
        timeout,
        eventually,
        captures,
        secret_captures,
        env,
        workdir,
        line: at.line(),
    })
}

fn tcp(ctx: &mut FileCtx, input: Input) -> Option<StepKind> {
    let addr = input.raw.tcp?;
    check_template(ctx, addr.referenced, &addr.value)?;
    let checked = vars::check_syntax(&addr.value, "1").unwrap_or_default();
    if !checked.contains(':') {
        ctx.error(
            addr.referenced,
            format!("`tcp` takes HOST:PORT, got `{}`", addr.value),
        );
    }
    Some(StepKind::Tcp {
        address: addr.value,
        open: input.expect.open.unwrap_or(true),
    })
}

fn file(ctx: &mut FileCtx, input: Input) -> Option<StepKind> {
    let path = input.raw.file?;
    check_template(ctx, path.referenced, &path.value)?;
    Some(StepKind::File {
        path: path.value,
        exists: input.expect.exists.unwrap_or(true),
        contains: patterns(ctx, input.expect.contains),
    })
}

/// `start`, `stop`, `restart`: a service of the gate, and for the latter two a signal.
fn control(ctx: &mut FileCtx, input: Input) -> Option<StepKind> {
    let Input {
        kind: action,
        raw,
        services,
        ..
    } = input;
    let target = match action {
        "start" => raw.start,
        "stop" => raw.stop,
        _ => raw.restart,
    }?;
    if !services.contains(&target.value.as_str()) {
        let known = if services.is_empty() {
            "this gate has no services".to_owned()
        } else {
            format!("its services: {}", services.join(", "))
        };
        ctx.error(
            target.referenced,
            format!(
                "`{action}` names an unknown service `{}` ({known})",
                target.value
            ),
        );
    }
    let signal = match raw.signal {
        Some(s) => match Signal::parse(&s.value) {
            Some(sig) => sig,
            None => {
                ctx.error(
                    s.referenced,
                    format!(
                        "unknown signal `{}`: use one of {}",
                        s.value,
                        Signal::NAMES.join(", ")
                    ),
                );
                Signal::Term
            }
        },
        None => Signal::Term,
    };
    let action = match action {
        "start" => ServiceAction::Start,
        "stop" => ServiceAction::Stop,
        _ => ServiceAction::Restart,
    };
    Some(StepKind::Service {
        action,
        service: target.value,
        signal,
    })
}

#[cfg(test)]
mod tests {
    use super::KINDS;
    use crate::config::raw::RawStep;

    #[test]
    fn every_raw_kind_has_one_validator_in_order() {
        let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        assert_eq!(names, RawStep::KINDS);
    }
}
