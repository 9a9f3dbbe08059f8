//! `templates:` of one file (gaterun.yaml or a stage file): each template's name, params,
//! outputs and steps, checked once where it is written, whether or not a gate uses it. A
//! template may use another: they are checked in an order where each comes after those it
//! uses, and templates that use each other in a cycle are an error naming the cycle.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde_saphyr::Location;

use super::ctx::FileCtx;
use super::databases::Choices;
use super::matrix::{BUILT_INS, DATABASE_VARS};
use super::step::step;
use super::template_set::{Needs, Origin, Template};
use crate::config::diagnostic::Diagnostic;
use crate::config::model::{Stage, Step, StepKind};
use crate::config::raw::{RawTemplate, RawTemplates, Sp};
use crate::vars;

/// How deeply templates may use templates: each level is a scope and a frame at run time.
pub const MAX_DEPTH: usize = 16;

/// Check the templates of the file `ctx` is for, adding the valid ones to `ctx.templates`
/// (which holds gaterun.yaml's already when the file is a stage file). `project`: the
/// `templates` mapping as JSON, when the file is gaterun.yaml.
pub fn templates(
    ctx: &mut FileCtx,
    raw: RawTemplates,
    project: Option<&serde_json::Map<String, serde_json::Value>>,
) {
    static NAME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new("^[a-z][a-z0-9_-]*$").expect("static regex"));
    let mut list: Vec<(String, Sp<RawTemplate>)> = Vec::new();
    for (name, t) in raw.value.0 {
        if !NAME.is_match(&name) {
            ctx.error(
                t.referenced,
                format!("invalid template name `{name}`: use lower-case letters, digits, `-` and `_`, starting with a letter"),
            );
            ctx.templates.broken.insert(name, ctx.file.to_path_buf());
        } else if let Some(other) = ctx.templates.file_of(&name) {
            // gaterun.yaml's: a stage file may not hide it, nor be hidden by it.
            let mut d = Diagnostic::error(
                ctx.file,
                t.referenced.line(),
                t.referenced.column(),
                format!(
                    "template `{name}` is defined in {} too: a `use: {name}` could mean either; rename one",
                    other.display()
                ),
            );
            if let Some(first) = ctx.templates.defined.get(&name).cloned() {
                d = d.with_note(
                    &first.file,
                    &first.text,
                    first.at,
                    format!("the other `{name}`"),
                );
            }
            ctx.push(d);
        } else {
            list.push((name, t));
        }
    }
    let order = ordered(ctx, &list);
    let text: Arc<str> = Arc::from(ctx.text);
    let mut slots: Vec<Option<(String, Sp<RawTemplate>)>> = list.into_iter().map(Some).collect();
    for i in order {
        let Some((name, t)) = slots[i].take() else {
            continue;
        };
        let canonical = project
            .and_then(|p| p.get(&name))
            .map(crate::config::yaml::canonical_value);
        match template(ctx, &name, t, &text, canonical) {
            Some(done) => {
                ctx.templates.defined.insert(name, Arc::new(done));
            }
            None => {
                ctx.templates.broken.insert(name, ctx.file.to_path_buf());
            }
        }
    }
}

/// The indexes of `list` in an order where each template comes after those of `list` it
/// uses. Each cycle is reported once, at the `use` that closes it, and its templates are
/// marked broken (they are still checked, so their other errors are told too). Iterative: a
/// long chain of templates must not exhaust the stack.
fn ordered(ctx: &mut FileCtx, list: &[(String, Sp<RawTemplate>)]) -> Vec<usize> {
    let index: HashMap<&str, usize> = list
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.as_str(), i))
        .collect();
    let uses: Vec<Vec<(usize, Location)>> = list
        .iter()
        .map(|(_, t)| {
            t.value
                .steps
                .value
                .iter()
                .filter_map(|s| s.value.r#use.as_ref())
                .filter_map(|u| index.get(u.value.as_str()).map(|i| (*i, u.referenced)))
                .collect()
        })
        .collect();
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        Open,
        Done,
    }
    let mut state = vec![State::New; list.len()];
    let mut order = Vec::new();
    let mut broken = BTreeSet::new();
    for root in 0..list.len() {
        if state[root] != State::New {
            continue;
        }
        state[root] = State::Open;
        // Each open template and how many of its uses have been followed.
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&(node, followed)) = path.last() {
            let Some(&(next, at)) = uses[node].get(followed) else {
                state[node] = State::Done;
                order.push(node);
                path.pop();
                continue;
            };
            if let Some(top) = path.last_mut() {
                top.1 += 1;
            }
            match state[next] {
                State::New => {
                    state[next] = State::Open;
                    path.push((next, 0));
                }
                State::Open => {
                    let from = path.iter().position(|(n, _)| *n == next).unwrap_or(0);
                    let cycle: Vec<usize> = path[from..].iter().map(|(n, _)| *n).collect();
                    report_cycle(ctx, list, &uses, &path[from..], at);
                    broken.extend(cycle);
                }
                State::Done => {}
            }
        }
    }
    for i in broken {
        let file = ctx.file.to_path_buf();
        ctx.templates.broken.insert(list[i].0.clone(), file);
    }
    order
}

/// "templates use each other in a cycle: `a` → `b` → `a`", at the use that closes it, with a
/// note at each other use of the cycle.
fn report_cycle(
    ctx: &mut FileCtx,
    list: &[(String, Sp<RawTemplate>)],
    uses: &[Vec<(usize, Location)>],
    cycle: &[(usize, usize)],
    closing: Location,
) {
    let names: Vec<String> = cycle
        .iter()
        .map(|(n, _)| format!("`{}`", list[*n].0))
        .chain(std::iter::once(format!("`{}`", list[cycle[0].0].0)))
        .collect();
    let message = if cycle.len() == 1 {
        format!(
            "template {} uses itself: templates may not use each other in a cycle",
            names[0]
        )
    } else {
        format!("templates use each other in a cycle: {}", names.join(" → "))
    };
    let mut d = Diagnostic::error(ctx.file, closing.line(), closing.column(), message);
    // Every open template but the last has followed its use of the next one: `followed - 1`.
    for pair in cycle.windows(2) {
        let ((from, followed), (to, _)) = (pair[0], pair[1]);
        if let Some((_, at)) = followed.checked_sub(1).and_then(|k| uses[from].get(k)) {
            d = d.with_note(
                ctx.file,
                ctx.text,
                (at.line(), at.column()),
                format!("`{}` uses `{}` here", list[from].0, list[to].0),
            );
        }
    }
    ctx.push(d);
}

/// One template, its steps checked as a gate's would be. `None` when anything is wrong.
fn template(
    ctx: &mut FileCtx,
    name: &str,
    raw: Sp<RawTemplate>,
    text: &Arc<str>,
    project: Option<String>,
) -> Option<Template> {
    let before = ctx.diagnostics.len();
    let at = raw.referenced;
    let raw = raw.value;
    let params_at = raw.params.as_ref().map_or(at, |p| p.referenced);
    let (params, param_at): (Vec<String>, Vec<(u64, u64)>) = names(ctx, raw.params, "param")
        .into_iter()
        .map(|(n, at)| (n, (at.line(), at.column())))
        .unzip();
    let outputs_list = raw.outputs;
    if raw.steps.value.is_empty() {
        ctx.error(
            raw.steps.referenced,
            format!("template `{name}` has no step: `steps` is empty"),
        );
    }
    // The services are the using gate's, checked at each use: here any name will do.
    let services: Vec<String> = raw
        .steps
        .value
        .iter()
        .filter_map(|s| {
            let s = &s.value;
            s.start.as_ref().or(s.stop.as_ref()).or(s.restart.as_ref())
        })
        .map(|s| s.value.clone())
        .collect();
    let services: Vec<&str> = services.iter().map(String::as_str).collect();
    let written = raw.steps.value.len();
    let mut steps = Vec::new();
    for s in raw.steps.value {
        if let Some(step) = step(ctx, s.value, s.referenced, &services, &Choices::open()) {
            steps.push(step);
        }
    }
    let outputs = names(ctx, outputs_list, "output");
    if ctx.diagnostics.len() > before || steps.len() != written {
        return None;
    }
    let origin = |s: &Step| Origin {
        template: name.to_owned(),
        label: s.label(),
        file: ctx.file.to_path_buf(),
        text: text.clone(),
        line: s.line,
    };
    let mut needs = Needs::default();
    let mut depth = 1;
    let mut captured: BTreeSet<&str> = BTreeSet::new();
    for s in &steps {
        captured.extend(s.captures.iter().map(|(n, _)| n.as_str()));
        match &s.kind {
            StepKind::Service { service, .. } => needs.service(service, || origin(s)),
            StepKind::Sql { .. } if needs.database.is_none() => needs.database = Some(origin(s)),
            // A mock named by a param (`${MOCK}`) is known only at run time.
            StepKind::Received(r)
                if !r.mock.contains("${") && !needs.mocks.iter().any(|(n, _)| *n == r.mock) =>
            {
                needs.mocks.push((r.mock.clone(), origin(s)));
            }
            StepKind::Use {
                template, outputs, ..
            } => {
                captured.extend(outputs.iter().map(String::as_str));
                if let Some(inner) = ctx.templates.defined.get(template) {
                    depth = depth.max(inner.depth + 1);
                    needs.extend(&inner.needs);
                }
            }
            _ => {}
        }
    }
    for (o, o_at) in &outputs {
        if !captured.contains(o.as_str()) {
            ctx.error(
                *o_at,
                format!("output `{o}` of template `{name}` is captured by none of its steps: add `capture: {{ {o}: … }}` to one"),
            );
        }
    }
    if depth > MAX_DEPTH {
        ctx.error(
            at,
            format!("template `{name}` nests templates {depth} deep: at most {MAX_DEPTH}"),
        );
    }
    if ctx.diagnostics.len() > before {
        return None;
    }
    Some(Template {
        params,
        outputs: outputs.into_iter().map(|(n, _)| n).collect(),
        steps: Arc::new(steps),
        file: ctx.file.to_path_buf(),
        text: text.clone(),
        at: (at.line(), at.column()),
        params_at: (params_at.line(), params_at.column()),
        param_at,
        project,
        needs,
        depth,
    })
}

/// `params` or `outputs`: variable names, each once, with where each is written.
fn names(
    ctx: &mut FileCtx,
    raw: Option<Sp<Vec<Sp<String>>>>,
    what: &str,
) -> Vec<(String, Location)> {
    let mut out: Vec<(String, Location)> = Vec::new();
    for n in raw.map(|r| r.value).unwrap_or_default() {
        if !vars::is_name(&n.value) {
            ctx.error(
                n.referenced,
                format!(
                    "invalid {what} name `{}`: a variable name (letters, digits, `_`)",
                    n.value
                ),
            );
        } else if what == "param"
            && (BUILT_INS.contains(&n.value.as_str()) || DATABASE_VARS.contains(&n.value.as_str()))
        {
            ctx.error(
                n.referenced,
                format!(
                    "param `{}` is a name gaterun sets for the gate: a template may not redefine it, choose another",
                    n.value
                ),
            );
        } else if out.iter().any(|(o, _)| *o == n.value) {
            ctx.error(
                n.referenced,
                format!("{what} `{}` is listed twice", n.value),
            );
        } else {
            out.push((n.value, n.referenced));
        }
    }
    out
}

/// The templates gaterun.yaml defines that `stage`'s gates use (directly or through other
/// templates), each with its canonical JSON, by name: what the stage's definition hash must
/// cover beside the stage file.
pub fn project_templates_used<'a>(
    stage: &Stage,
    known: &'a super::template_set::Templates,
) -> Vec<(&'a str, &'a str)> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut pending: Vec<&Step> = stage.gates.iter().flat_map(|g| &g.steps).collect();
    let mut out = Vec::new();
    while let Some(step) = pending.pop() {
        let StepKind::Use { template, .. } = &step.kind else {
            continue;
        };
        let Some((name, t)) = known.defined.get_key_value(template) else {
            continue;
        };
        if !seen.insert(name.as_str()) {
            continue;
        }
        if let Some(canonical) = &t.project {
            out.push((name.as_str(), canonical.as_str()));
        }
        pending.extend(t.steps.iter());
    }
    out.sort();
    out
}
