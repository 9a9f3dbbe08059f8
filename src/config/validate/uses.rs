//! A `use` step: the template it names, the params its `with` gives, and what the template's
//! steps need of the gate that uses it (its services, a database). An error found because of
//! a use is located at the use, with a note at the template's line, which may be in another
//! file (gaterun.yaml).

use serde_saphyr::Location;

use super::ctx::FileCtx;
use super::kind::Input;
use super::template_set::{Origin, Template};
use crate::config::diagnostic::{Diagnostic, suggest};
use crate::config::model::StepKind;
use crate::config::raw::RawStep;
use crate::vars;

/// A `use` step takes `name`, `with` and `timeout`: what it checks or captures belongs to its
/// template's steps. Reports (and drops) the other common keys, so they are told once, here.
pub fn refuse_keys(ctx: &mut FileCtx, raw: &mut RawStep, at: Location) {
    const TAKES: &str = "a `use` step takes only `name`, `with` and `timeout`";
    if let Some(capture) = raw.capture.take() {
        let at = capture.values().next().map_or(at, |c| c.referenced);
        ctx.error(
            at,
            format!(
                "{TAKES}: capture in the template's steps and list the variable in its `outputs`"
            ),
        );
    }
    if let Some(expect) = raw.expect.take() {
        ctx.error(
            expect.referenced,
            format!("{TAKES}: put `expect` on the template's steps"),
        );
    }
    if let Some(eventually) = raw.eventually.take() {
        ctx.error(
            eventually.referenced,
            format!("{TAKES}: put `eventually` on the template's steps"),
        );
    }
    if raw.env.take().is_some() {
        ctx.error(
            at,
            format!("{TAKES}: pass values with `with`, or put `env` on the template's steps"),
        );
    }
    if let Some(workdir) = raw.workdir.take() {
        ctx.error(
            workdir.referenced,
            format!("{TAKES}: put `workdir` on the template's steps"),
        );
    }
}

pub fn build(ctx: &mut FileCtx, input: Input) -> Option<StepKind> {
    let Input {
        raw,
        services,
        has_db,
        ..
    } = input;
    let name = raw.r#use?;
    let Some(template) = ctx.templates.defined.get(&name.value).cloned() else {
        // A template whose own errors are reported already adds none at each use.
        if !ctx.templates.broken.contains_key(&name.value) {
            let message = unknown(&name.value, &ctx.templates.names());
            ctx.error(name.referenced, message);
        }
        return None;
    };
    let shown = &name.value;
    let mut given: Vec<(String, String)> = Vec::new();
    let mut named: Vec<String> = Vec::new();
    for (key, value) in raw.with.map(|w| w.0).unwrap_or_default() {
        if !template.params.contains(&key) {
            let known: Vec<&str> = template.params.iter().map(String::as_str).collect();
            let hint = match suggest(&key, &known) {
                Some(near) => format!(", did you mean `{near}`?"),
                None if known.is_empty() => " (it takes no params)".to_owned(),
                None => format!(" (it takes {})", quoted(&known)),
            };
            let d = located(
                ctx,
                value.referenced,
                format!("`with` gives `{key}`, which template `{shown}` does not take{hint}"),
            );
            let d = if known.is_empty() {
                note(
                    d,
                    &template,
                    template.at,
                    format!("template `{shown}` is here"),
                )
            } else {
                note(
                    d,
                    &template,
                    template.params_at,
                    format!("`{shown}` declares its params here"),
                )
            };
            ctx.push(d);
            continue;
        }
        named.push(key.clone());
        let text = value.as_written(ctx.text);
        if let Err(e) = vars::check_syntax(&text, "x") {
            ctx.error(value.referenced, format!("in with `{key}`: {e}"));
            continue;
        }
        given.push((key, text));
    }
    for (param, param_at) in template.params.iter().zip(&template.param_at) {
        if named.contains(param) {
            continue;
        }
        let d = located(
            ctx,
            name.referenced,
            format!("`use: {shown}` does not give param `{param}`: add `with: {{ {param}: … }}`"),
        );
        let d = note(
            d,
            &template,
            *param_at,
            format!("`{shown}` declares `{param}` here"),
        );
        ctx.push(d);
    }
    for (service, origin) in &template.needs.services {
        if services.contains(&service.as_str()) {
            continue;
        }
        let known = if services.is_empty() {
            "this gate has no services".to_owned()
        } else {
            format!("its services: {}", services.join(", "))
        };
        let message = format!(
            "template `{shown}` names a service `{service}` this gate does not have ({known})"
        );
        ctx.push(step_note(located(ctx, name.referenced, message), origin));
    }
    for (mock, origin) in &template.needs.mocks {
        let Some(known) = &ctx.mocks else { break };
        if known.contains(mock) {
            continue;
        }
        let have = if known.is_empty() {
            "this gate has no mocks".to_owned()
        } else {
            format!("its mocks: {}", known.join(", "))
        };
        let message =
            format!("template `{shown}` names a mock `{mock}` this gate does not have ({have})");
        ctx.push(step_note(located(ctx, name.referenced, message), origin));
    }
    if let (Some(origin), false) = (&template.needs.database, has_db) {
        let message = format!(
            "template `{shown}` runs `sql` steps, which need a database: add `database: sqlite`, `database: postgres` or `database: mysql` to the gate"
        );
        ctx.push(step_note(located(ctx, name.referenced, message), origin));
    }
    Some(StepKind::Use {
        template: name.value,
        with: given,
        steps: template.steps.clone(),
        outputs: template.outputs.clone(),
    })
}

/// "unknown template `x`", with the nearest known name or the list of them.
pub fn unknown(name: &str, known: &[&str]) -> String {
    match suggest(name, known) {
        Some(near) => format!("unknown template `{name}`, did you mean `{near}`?"),
        None if known.is_empty() => format!(
            "unknown template `{name}`: no template is defined (add `templates:` to gaterun.yaml or to this stage file)"
        ),
        None => format!("unknown template `{name}` (templates: {})", quoted(known)),
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An error at a place in the file being checked, to which notes are added.
fn located(ctx: &FileCtx, loc: Location, message: String) -> Diagnostic {
    Diagnostic::error(ctx.file, loc.line(), loc.column(), message)
}

fn note(
    d: Diagnostic,
    template: &Template,
    (line, column): (u64, u64),
    message: String,
) -> Diagnostic {
    d.with_note(&template.file, &template.text, (line, column), message)
}

/// A note at a step of a template: the step's line, the caret at its first key.
pub fn step_note(d: Diagnostic, origin: &Origin) -> Diagnostic {
    let column = origin
        .text
        .lines()
        .nth(origin.line.saturating_sub(1) as usize)
        .and_then(|l| l.find(|c: char| c != ' ' && c != '-'))
        .map_or(1, |i| i as u64 + 1);
    d.with_note(
        &origin.file,
        &origin.text,
        (origin.line, column),
        format!(
            "`{}` is here, in template `{}`",
            origin.label, origin.template
        ),
    )
}
