//! Raw stage files -> the validated plan. Collects every problem of a file rather than stopping
//! at the first, each located in the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde_saphyr::{Location, Spanned};

use super::diagnostic::Diagnostic;
use super::model::{Command, Gate, RunExpect, Stage, StageKey, Step, StepKind};
use super::raw::{
    OrderedMap, RawCommand, RawDefaults, RawExpect, RawGate, RawStage, RawStep, Scalar,
};
use crate::expect::Pattern;
use crate::vars;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// Every step kind, in the order the spec lists them.
pub const STEP_KINDS: &[&str] = &[
    "run", "http", "tcp", "sql", "file", "start", "stop", "restart",
];

/// Defaults for gates: from `gaterun.yaml`, then a stage's own `defaults:`.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub timeout: Option<Duration>,
    pub grace: Option<Duration>,
    pub env: Vec<(String, String)>,
}

/// Where diagnostics for one file go.
pub struct FileCtx<'a> {
    pub file: &'a Path,
    pub text: &'a str,
    pub diagnostics: Vec<Diagnostic>,
}

impl<'a> FileCtx<'a> {
    pub fn new(file: &'a Path, text: &'a str) -> Self {
        FileCtx {
            file,
            text,
            diagnostics: Vec::new(),
        }
    }

    pub fn error(&mut self, at: Location, message: impl Into<String>) {
        let d =
            Diagnostic::error(self.file, at.line(), at.column(), message).with_source(self.text);
        self.diagnostics.push(d);
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d.with_source(self.text));
    }
}

pub fn duration(ctx: &mut FileCtx, raw: &Spanned<Scalar>, what: &str) -> Option<Duration> {
    match humantime::parse_duration(raw.value.0.trim()) {
        Ok(d) if !d.is_zero() => Some(d),
        Ok(_) => {
            ctx.error(raw.referenced, format!("`{what}` must be longer than zero"));
            None
        }
        Err(_) => {
            ctx.error(
                raw.referenced,
                format!("invalid duration `{}` for `{what}`: write a number and a unit, like 30s, 2m or 1h30m", raw.value.0),
            );
            None
        }
    }
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

fn env_entries(
    ctx: &mut FileCtx,
    env: &OrderedMap<Scalar>,
    at: Option<Location>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in &env.0 {
        let at = at.unwrap_or(Location::UNKNOWN);
        if !vars::is_name(k) {
            ctx.error(at, format!("invalid environment variable name `{k}`"));
            continue;
        }
        if let Err(e) = vars::check_syntax(&v.0, "x") {
            ctx.error(at, format!("in env `{k}`: {e}"));
            continue;
        }
        out.push((k.clone(), v.0.clone()));
    }
    out
}

pub fn stage(
    ctx: &mut FileCtx,
    raw: RawStage,
    base: &Defaults,
    rel_file: PathBuf,
    definition_hash: String,
) -> Option<Stage> {
    let before = ctx.diagnostics.len();
    let key = match StageKey::parse(&raw.stage.value.0) {
        Some(k) => Some(k),
        None => {
            ctx.error(
                raw.stage.referenced,
                format!("invalid stage `{}`: write a number, or a number and a letter for a sub-stage (`4a`)", raw.stage.value.0),
            );
            None
        }
    };
    let defaults = defaults(ctx, raw.defaults.as_ref(), base);
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
        if let Some(gate) = gate(ctx, g.value, at, &defaults) {
            if let Some(first) = gates.iter().find(|x| x.id == gate.id) {
                ctx.error(
                    at,
                    format!(
                        "duplicate gate id `{}` (first at line {})",
                        gate.id, first.line
                    ),
                );
            } else {
                gates.push(gate);
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
        gates,
        file: rel_file,
        definition_hash,
    })
}

fn gate(ctx: &mut FileCtx, mut raw: RawGate, at: Location, defaults: &Defaults) -> Option<Gate> {
    let before = ctx.diagnostics.len();
    static ID: std::sync::LazyLock<Regex> =
        std::sync::LazyLock::new(|| Regex::new("^[a-z0-9][a-z0-9_-]*$").expect("static regex"));
    let id = raw.id.value.clone();
    if !ID.is_match(&id) {
        ctx.error(raw.id.referenced, format!("invalid gate id `{id}`: use lower-case letters, digits, `-` and `_`, starting with a letter or digit"));
    }
    if raw.title.trim().is_empty() {
        ctx.error(
            at,
            format!("gate `{id}` needs a `title`: the acceptance sentence"),
        );
    }
    // Services and databases arrive with their own issues; refuse them clearly until then.
    if let Some(db) = &raw.database {
        ctx.error(
            db.referenced,
            "`database` is not supported by this version of gaterun yet",
        );
    }
    if let Some(s) = &raw.services {
        ctx.error(
            s.referenced,
            "`services` are not supported by this version of gaterun yet",
        );
    }
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

    let inline = raw.take_inline_step();
    let inline_kinds = step_kinds(&inline);
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
                if let Some(step) = step(ctx, s.value, s.referenced) {
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
            if let Some(step) = step(ctx, inline, at) {
                steps.push(step);
            }
        }
    }
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
        steps,
        line: at.line(),
        column: at.column(),
    })
}

fn step_kinds(s: &RawStep) -> Vec<(&'static str, Location)> {
    let mut kinds = Vec::new();
    if let Some(r) = &s.run {
        kinds.push(("run", r.referenced));
    }
    for (name, field) in [
        ("http", &s.http),
        ("tcp", &s.tcp),
        ("sql", &s.sql),
        ("file", &s.file),
        ("start", &s.start),
        ("stop", &s.stop),
        ("restart", &s.restart),
    ] {
        if let Some(f) = field {
            kinds.push((name, f.referenced));
        }
    }
    kinds
}

fn step(ctx: &mut FileCtx, raw: RawStep, at: Location) -> Option<Step> {
    let before = ctx.diagnostics.len();
    let kinds = step_kinds(&raw);
    let kind_name = match kinds.as_slice() {
        [] => {
            ctx.error(
                at,
                format!(
                    "a step needs one of {}",
                    STEP_KINDS
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            return None;
        }
        [(k, _)] => *k,
        [(a, _), (b, loc), ..] => {
            ctx.error(*loc, format!("a step has one kind, this one has both `{a}` and `{b}`: split it into two steps"));
            return None;
        }
    };
    if kind_name != "run" {
        ctx.error(
            kinds[0].1,
            format!("`{kind_name}` steps are not supported by this version of gaterun yet"),
        );
        return None;
    }
    // Keys that belong to other step kinds are mistakes, not decoration.
    for (key, present) in [
        ("headers", raw.headers.is_some()),
        ("json", raw.json.is_some()),
        ("body", raw.body.is_some()),
        ("follow_redirects", raw.follow_redirects.is_some()),
        ("signal", raw.signal.is_some()),
    ] {
        if present {
            ctx.error(
                at,
                format!("`{key}` does not apply to a `{kind_name}` step"),
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
        .and_then(|t| duration(ctx, t, "eventually"));
    let expect = raw.expect.map(|e| (e.referenced, e.value));
    let run_expect = run_expect(ctx, expect);
    let mut captures = Vec::new();
    for (name, sel) in raw.capture.unwrap_or_default() {
        if !vars::is_name(&name) {
            ctx.error(
                sel.referenced,
                format!("invalid capture variable name `{name}`"),
            );
            continue;
        }
        match capture_regex(&sel.value) {
            Ok(()) => captures.push((name, sel.value)),
            Err(e) => ctx.error(sel.referenced, format!("capture `{name}`: {e}")),
        }
    }
    let command = match raw.run.map(|r| (r.referenced, r.value)) {
        Some((loc, RawCommand::Argv(argv))) => {
            if argv.is_empty() {
                ctx.error(
                    loc,
                    "`run` is an empty list: give the program and its arguments",
                );
            }
            for a in &argv {
                if let Err(e) = vars::check_syntax(a, "x") {
                    ctx.error(loc, e.to_string());
                }
            }
            Command::Argv(argv)
        }
        Some((loc, RawCommand::Shell(s))) => {
            if s.trim().is_empty() {
                ctx.error(loc, "`run` is empty");
            }
            Command::Shell(s)
        }
        None => return None,
    };
    if ctx.diagnostics.len() > before {
        return None;
    }
    Some(Step {
        name: raw.name,
        kind: StepKind::Run {
            command,
            expect: run_expect?,
        },
        timeout,
        eventually,
        captures,
        line: at.line(),
    })
}

/// A `run` capture selector: `/regex/` with exactly one group, matched on stdout.
fn capture_regex(sel: &str) -> Result<(), String> {
    let checked = vars::check_syntax(sel, "x").map_err(|e| e.to_string())?;
    let Some(body) = checked.strip_prefix('/').and_then(|s| s.strip_suffix('/')) else {
        return Err(format!(
            "a `run` capture is `/regex/` with one group, got `{sel}`"
        ));
    };
    let re = crate::expect::compile(body).map_err(|e| format!("invalid regex `{sel}`: {e}"))?;
    if re.captures_len() != 2 {
        return Err(format!(
            "`{sel}` must have exactly one group `( )`, it has {}",
            re.captures_len() - 1
        ));
    }
    Ok(())
}

fn patterns(
    ctx: &mut FileCtx,
    raw: Option<Spanned<super::raw::OneOrMany<String>>>,
) -> Vec<Pattern> {
    let Some(raw) = raw else { return Vec::new() };
    let mut out = Vec::new();
    for p in raw.value.0 {
        match Pattern::parse(&p) {
            Ok(p) => out.push(p),
            Err(e) => ctx.error(raw.referenced, e),
        }
    }
    out
}

fn run_expect(ctx: &mut FileCtx, raw: Option<(Location, RawExpect)>) -> Option<RunExpect> {
    let Some((at, raw)) = raw else {
        return Some(RunExpect {
            exit: vec![0],
            stdout: Vec::new(),
            stderr: Vec::new(),
        });
    };
    for (key, present) in [
        ("status", raw.status.is_some()),
        ("headers", raw.headers.is_some()),
        ("body", raw.body.is_some()),
        ("json", raw.json.is_some()),
        ("open", raw.open.is_some()),
        ("rows", raw.rows.is_some()),
        ("count", raw.count.is_some()),
        ("value", raw.value.is_some()),
        ("error", raw.error.is_some()),
        ("exists", raw.exists.is_some()),
        ("contains", raw.contains.is_some()),
    ] {
        if present {
            ctx.error(at, format!("`expect.{key}` does not apply to a `run` step (it takes `exit`, `stdout`, `stderr`)"));
        }
    }
    let exit = match raw.exit {
        Some(e) => {
            if e.value.0.is_empty() || e.value.0.iter().any(|c| !(0..=255).contains(c)) {
                ctx.error(e.referenced, "`exit` takes exit codes from 0 to 255");
            }
            e.value.0
        }
        None => vec![0],
    };
    Some(RunExpect {
        exit,
        stdout: patterns(ctx, raw.stdout),
        stderr: patterns(ctx, raw.stderr),
    })
}
