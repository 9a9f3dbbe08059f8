//! Raw stage files -> the validated plan. Collects every problem of a file rather than stopping
//! at the first, each located in the file.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use serde_saphyr::Location;

use super::diagnostic::Diagnostic;
use super::model::{
    Command, DatabaseKind, Gate, HeaderCheck, HttpBody, HttpExpect, HttpStep, JsonExpect, Probe,
    Ready, RunExpect, ServiceAction, ServiceDef, Signal, SqlExpect, Stage, StageKey, StatusMatch,
    Step, StepKind,
};
use super::raw::{
    OneOrMany, OrderedMap, RawCommand, RawDefaults, RawExpect, RawGate, RawPattern, RawReady,
    RawService, RawStage, RawStep, Scalar, Sp,
};
use crate::expect::Pattern;
use crate::expect::value::ValueCheck;
use crate::vars;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);

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

/// The longest gate id: it names a log file (`logs/<id>.log`), which must fit a file name.
pub const MAX_ID: usize = 100;

/// The longest duration a gate file may give: beyond it a deadline is no deadline, and adding
/// it to the clock would overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

pub fn duration(ctx: &mut FileCtx, raw: &Sp<Scalar>, what: &str) -> Option<Duration> {
    match humantime::parse_duration(raw.value.0.trim()) {
        Ok(d) if d > MAX_DURATION => {
            ctx.error(
                raw.referenced,
                format!(
                    "`{what}` of `{}` is too long: at most 7 days",
                    raw.value.0.trim()
                ),
            );
            None
        }
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

pub fn stage(
    ctx: &mut FileCtx,
    raw: RawStage,
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
    static ID: LazyLock<Regex> =
        LazyLock::new(|| Regex::new("^[a-z0-9][a-z0-9_-]*$").expect("static regex"));
    let id = raw.id.value.clone();
    if !ID.is_match(&id) {
        ctx.error(
            raw.id.referenced,
            format!("invalid gate id `{id}`: use lower-case letters, digits, `-` and `_`, starting with a letter or digit"),
        );
    } else if id.len() > MAX_ID {
        // The id names the gate's log file: a longer one would fail to be written.
        ctx.error(
            raw.id.referenced,
            format!(
                "gate id of {} characters is too long: at most {MAX_ID}",
                id.len()
            ),
        );
    }
    if raw.title.trim().is_empty() {
        ctx.error(
            at,
            format!("gate `{id}` needs a `title`: the acceptance sentence"),
        );
    }
    let database = match &raw.database {
        None => None,
        Some(db) => match db.value.trim() {
            "sqlite" => Some(DatabaseKind::Sqlite),
            "postgres" | "postgresql" => Some(DatabaseKind::Postgres),
            other => {
                ctx.error(
                    db.referenced,
                    format!("unknown database `{other}`: use `sqlite` or `postgres`"),
                );
                None
            }
        },
    };
    let has_db = raw.database.is_some();
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
    let services = match raw.services.take() {
        Some(list) => services(ctx, list.value, list.referenced),
        None => Vec::new(),
    };
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();

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
                if let Some(step) = step(ctx, s.value, s.referenced, &names, has_db) {
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
            if let Some(step) = step(ctx, inline, at, &names, has_db) {
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
        database,
        services,
        steps,
        line: at.line(),
        column: at.column(),
    })
}

fn services(ctx: &mut FileCtx, raw: OrderedMap<RawService>, at: Location) -> Vec<ServiceDef> {
    static NAME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new("^[a-z][a-z0-9_-]*$").expect("static regex"));
    let mut out = Vec::new();
    for (name, svc) in raw.0 {
        let loc = svc.run.referenced;
        if !NAME.is_match(&name) {
            ctx.error(loc, format!("invalid service name `{name}`: use lower-case letters, digits, `-` and `_`, starting with a letter"));
            continue;
        }
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

fn check_template(ctx: &mut FileCtx, at: Location, text: &str) -> Option<()> {
    match vars::check_syntax(text, "x") {
        Ok(_) => Some(()),
        Err(e) => {
            ctx.error(at, e.to_string());
            None
        }
    }
}

fn command(ctx: &mut FileCtx, raw: RawCommand, loc: Location) -> Option<Command> {
    match raw {
        RawCommand::Argv(argv) => {
            if argv.is_empty() {
                ctx.error(
                    loc,
                    "the command is an empty list: give the program and its arguments",
                );
                return None;
            }
            for a in &argv {
                check_template(ctx, loc, a)?;
            }
            Some(Command::Argv(argv))
        }
        RawCommand::Shell(s) => {
            if s.trim().is_empty() {
                ctx.error(loc, "the command is empty");
                return None;
            }
            Some(Command::Shell(s))
        }
    }
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

/// The keys a step of each kind takes beyond the common ones, and its `expect` keys.
fn allowed(kind: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        "run" => (&[], &["exit", "stdout", "stderr"]),
        "http" => (
            &["headers", "json", "body", "follow_redirects"],
            &["status", "headers", "body", "json"],
        ),
        "tcp" => (&[], &["open"]),
        "file" => (&[], &["exists", "contains"]),
        "sql" => (&[], &["rows", "count", "value", "error"]),
        "stop" | "restart" => (&["signal"], &[]),
        _ => (&[], &[]),
    }
}

fn step(
    ctx: &mut FileCtx,
    raw: RawStep,
    at: Location,
    services: &[&str],
    has_db: bool,
) -> Option<Step> {
    let before = ctx.diagnostics.len();
    let kinds = step_kinds(&raw);
    let (kind, kind_at) = match kinds.as_slice() {
        [] => {
            let all: Vec<String> = STEP_KINDS.iter().map(|k| format!("`{k}`")).collect();
            ctx.error(at, format!("a step needs one of {}", all.join(", ")));
            return None;
        }
        [(k, loc)] => (*k, *loc),
        [(a, _), (b, loc), ..] => {
            ctx.error(*loc, format!("a step has one kind, this one has both `{a}` and `{b}`: split it into two steps"));
            return None;
        }
    };
    if kind == "sql" && !has_db {
        ctx.error(kind_at, "a `sql` step needs a database: add `database: sqlite` or `database: postgres` to the gate");
        return None;
    }
    let (step_keys, expect_keys) = allowed(kind);
    for (key, present) in [
        ("headers", raw.headers.is_some()),
        ("json", raw.json.is_some()),
        ("body", raw.body.is_some()),
        ("follow_redirects", raw.follow_redirects.is_some()),
        ("signal", raw.signal.is_some()),
    ] {
        if present && !step_keys.contains(&key) {
            ctx.error(at, format!("`{key}` does not apply to a `{kind}` step"));
        }
    }
    let expect = raw
        .expect
        .map(|e| (e.referenced, e.value))
        .unwrap_or((at, RawExpect::default()));
    let (expect_at, expect) = expect;
    for (key, present) in [
        ("exit", expect.exit.is_some()),
        ("stdout", expect.stdout.is_some()),
        ("stderr", expect.stderr.is_some()),
        ("status", expect.status.is_some()),
        ("headers", expect.headers.is_some()),
        ("body", expect.body.is_some()),
        ("json", expect.json.is_some()),
        ("open", expect.open.is_some()),
        ("rows", expect.rows.is_some()),
        ("count", expect.count.is_some()),
        ("value", expect.value.is_some()),
        ("error", expect.error.is_some()),
        ("exists", expect.exists.is_some()),
        ("contains", expect.contains.is_some()),
    ] {
        if present && !expect_keys.contains(&key) {
            let takes = if expect_keys.is_empty() {
                "it takes no `expect`".to_owned()
            } else {
                format!(
                    "it takes {}",
                    expect_keys
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
        .and_then(|t| duration(ctx, t, "eventually"));
    let mut captures = Vec::new();
    let mut secret_captures = Vec::new();
    for (name, sel) in raw.capture.unwrap_or_default() {
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
        let checked = match kind {
            "run" => capture_regex(&sel.value),
            "http" => capture_http(&sel.value),
            "sql" if !sel.value.trim().is_empty() => Ok(()),
            _ => Err(format!("a `{kind}` step captures nothing")),
        };
        match checked {
            Ok(()) => captures.push((name, sel.value)),
            Err(e) => ctx.error(sel.referenced, format!("capture `{name}`: {e}")),
        }
    }
    let step_kind = match kind {
        "run" => {
            let run = raw.run?;
            let command = command(ctx, run.value, run.referenced);
            let exit = match expect.exit {
                Some(e) => {
                    if e.value.0.is_empty() || e.value.0.iter().any(|c| !(0..=255).contains(c)) {
                        ctx.error(e.referenced, "`exit` takes exit codes from 0 to 255");
                    }
                    e.value.0
                }
                None => vec![0],
            };
            let run_expect = RunExpect {
                exit,
                stdout: patterns(ctx, expect.stdout),
                stderr: patterns(ctx, expect.stderr),
            };
            StepKind::Run {
                command: command?,
                expect: run_expect,
            }
        }
        "http" => {
            let spec = raw.http?;
            let (method, url) = http_target(ctx, &spec.value, spec.referenced)?;
            let headers = raw
                .headers
                .map(|h| h.0.into_iter().map(|(k, v)| (k, v.0)).collect())
                .unwrap_or_default();
            let body = match (raw.json, raw.body) {
                (Some(_), Some(_)) => {
                    ctx.error(at, "an `http` step sends `json` or `body`, not both");
                    None
                }
                (Some(j), None) => Some(HttpBody::Json(j)),
                (None, Some(b)) => Some(HttpBody::Text(b)),
                (None, None) => None,
            };
            let status = match expect.status {
                Some(s) => status_spec(ctx, s.value.0, s.referenced),
                None => vec![StatusMatch::Class(2)],
            };
            let mut header_expect = Vec::new();
            for (name, checks) in expect.headers.map(|h| h.0).unwrap_or_default() {
                // A name no response can carry would make a `!` check hold vacuously.
                if name.is_empty() || !name.bytes().all(is_token_byte) {
                    ctx.error(
                        expect_at,
                        format!("expect.headers: `{name}` is not a header name (letters, digits and !#$%&'*+-.^_`|~, no spaces)"),
                    );
                    continue;
                }
                let mut list = Vec::new();
                for c in checks.0 {
                    match header_check(c) {
                        Ok(c) => list.extend(c),
                        Err(e) => ctx.error(expect_at, format!("expect.headers.{name}: {e}")),
                    }
                }
                header_expect.push((name.to_ascii_lowercase(), list));
            }
            let mut json_expect = Vec::new();
            for (path, value) in expect.json.map(|j| j.0).unwrap_or_default() {
                if let Err(e) = jsonpath(&path) {
                    ctx.error(expect_at, format!("expect.json: {e}"));
                    continue;
                }
                let many = can_select_many(&path);
                match ValueCheck::parse(&value.to_json(ctx.text)) {
                    Ok(check) if many && !crate::expect::value::fits_several(&check) => ctx.error(
                        expect_at,
                        format!("expect.json `{path}` can select several nodes, so it is compared as a list: write a list ([…]) or use `contains`, `count` or `exists`"),
                    ),
                    Ok(check) => json_expect.push((path.clone(), JsonExpect { check, many })),
                    Err(e) => ctx.error(expect_at, format!("expect.json `{path}`: {e}")),
                }
            }
            let http_expect = HttpExpect {
                status,
                headers: header_expect,
                body: patterns(ctx, expect.body),
                json: json_expect,
            };
            StepKind::Http(Box::new(HttpStep {
                method,
                url,
                headers,
                body,
                follow_redirects: raw.follow_redirects.unwrap_or(false),
                expect: http_expect,
            }))
        }
        "tcp" => {
            let addr = raw.tcp?;
            check_template(ctx, addr.referenced, &addr.value)?;
            let checked = vars::check_syntax(&addr.value, "1").unwrap_or_default();
            if !checked.contains(':') {
                ctx.error(
                    addr.referenced,
                    format!("`tcp` takes HOST:PORT, got `{}`", addr.value),
                );
            }
            StepKind::Tcp {
                address: addr.value,
                open: expect.open.unwrap_or(true),
            }
        }
        "sql" => {
            let statement = raw.sql?;
            check_template(ctx, statement.referenced, &statement.value)?;
            if statement.value.trim().is_empty() {
                ctx.error(statement.referenced, "`sql` is empty");
            }
            let error = expect.error.map(|e| patterns(ctx, Some(e)));
            if error.is_some()
                && (expect.rows.is_some() || expect.count.is_some() || expect.value.is_some())
            {
                ctx.error(expect_at, "`expect.error` says the statement fails: it cannot also expect `rows`, `count` or `value`");
            }
            let value = expect
                .value
                .and_then(|v| match ValueCheck::parse(&v.to_json(ctx.text)) {
                    Ok(check) => Some(check),
                    Err(e) => {
                        ctx.error(expect_at, format!("expect.value: {e}"));
                        None
                    }
                });
            let rows = expect.rows.map(|rows| {
                rows.iter()
                    .map(|row| row.iter().map(|c| c.to_json(ctx.text)).collect::<Vec<_>>())
                    .collect::<Vec<_>>()
            });
            for cell in rows.iter().flatten().flatten() {
                if let Err(e) = ValueCheck::parse(cell) {
                    ctx.error(expect_at, format!("expect.rows: {e}"));
                }
            }
            let sql_expect = SqlExpect {
                rows,
                count: expect.count,
                value,
                error,
            };
            StepKind::Sql {
                statement: statement.value,
                expect: sql_expect,
            }
        }
        "file" => {
            let path = raw.file?;
            check_template(ctx, path.referenced, &path.value)?;
            StepKind::File {
                path: path.value,
                exists: expect.exists.unwrap_or(true),
                contains: patterns(ctx, expect.contains),
            }
        }
        action @ ("start" | "stop" | "restart") => {
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
            StepKind::Service {
                action,
                service: target.value,
                signal,
            }
        }
        _ => return None,
    };
    if ctx.diagnostics.len() > before {
        return None;
    }
    Some(Step {
        name: raw.name,
        kind: step_kind,
        timeout,
        eventually,
        captures,
        secret_captures,
        line: at.line(),
    })
}

/// `"POST http://…"`, or a bare URL for GET.
fn http_target(ctx: &mut FileCtx, spec: &str, at: Location) -> Option<(String, String)> {
    const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    let spec = spec.trim();
    let (method, url) = match spec.split_once(char::is_whitespace) {
        Some((m, u)) => (m.to_owned(), u.trim().to_owned()),
        None => ("GET".to_owned(), spec.to_owned()),
    };
    if !METHODS.contains(&method.as_str()) {
        ctx.error(
            at,
            format!(
                "unknown HTTP method `{method}`: use one of {}",
                METHODS.join(", ")
            ),
        );
        return None;
    }
    check_template(ctx, at, &url)?;
    let probe = vars::check_syntax(&url, "x").unwrap_or_default();
    if !(probe.starts_with("http://") || probe.starts_with("https://") || url.starts_with("${")) {
        ctx.error(
            at,
            format!("`http` takes [METHOD] URL with an http:// or https:// URL, got `{spec}`"),
        );
        return None;
    }
    Some((method, url))
}

fn status_spec(ctx: &mut FileCtx, raw: Vec<Scalar>, at: Location) -> Vec<StatusMatch> {
    let mut out = Vec::new();
    for s in raw {
        let text = s.0.trim().to_ascii_lowercase();
        let parsed = if let Some(class) = text.strip_suffix("xx") {
            class
                .parse::<u16>()
                .ok()
                .filter(|c| (1..=5).contains(c))
                .map(StatusMatch::Class)
        } else {
            text.parse::<u16>()
                .ok()
                .filter(|c| (100..=599).contains(c))
                .map(StatusMatch::Exact)
        };
        match parsed {
            Some(m) => out.push(m),
            None => ctx.error(
                at,
                format!(
                    "invalid status `{}`: use a code from 100 to 599, or a class like `2xx`",
                    s.0
                ),
            ),
        }
    }
    if out.is_empty() {
        ctx.error(at, "`status` is empty");
    }
    out
}

pub fn jsonpath(path: &str) -> Result<serde_json_path::JsonPath, String> {
    let probe = vars::check_syntax(path, "x").map_err(|e| e.to_string())?;
    serde_json_path::JsonPath::parse(&probe).map_err(|e| format!("invalid JSONPath `{path}`: {e}"))
}

/// An `http` capture: a JSONPath on the body (`$.id`) or `header:NAME`.
fn capture_http(sel: &str) -> Result<(), String> {
    if let Some(name) = sel.strip_prefix("header:") {
        return if name.trim().is_empty() {
            Err("`header:` needs a header name".to_owned())
        } else {
            Ok(())
        };
    }
    if !sel.starts_with('$') {
        return Err(format!(
            "an `http` capture is a JSONPath (`$.id`) or `header:NAME`, got `{sel}`"
        ));
    }
    jsonpath(sel).map(|_| ())
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

fn patterns(ctx: &mut FileCtx, raw: Option<Sp<OneOrMany<RawPattern>>>) -> Vec<Pattern> {
    let Some(raw) = raw else { return Vec::new() };
    let mut out = Vec::new();
    for p in raw.value.0 {
        match text_pattern(p) {
            Ok(p) => out.push(p),
            Err(e) => ctx.error(raw.referenced, e),
        }
    }
    out
}

/// A text pattern: a string, or `{ equals: TEXT }` for the whole text.
fn text_pattern(raw: RawPattern) -> Result<Pattern, String> {
    match raw {
        RawPattern::Text(p) => Pattern::parse(&p),
        RawPattern::Map(entries) => match entries.as_slice() {
            [(key, serde_json::Value::String(text))] if key == "equals" => {
                Pattern::parse_whole(text)
            }
            [(key, other)] if key == "equals" => Err(format!(
                "`equals` takes the whole text as a string, got {other}"
            )),
            _ => Err(format!(
                "a text pattern is a string, or `{{ equals: TEXT }}` for the whole text; got a map with {}",
                keys_of(&entries)
            )),
        },
    }
}

fn keys_of(entries: &[(String, serde_json::Value)]) -> String {
    let keys: Vec<String> = entries.iter().map(|(k, _)| format!("`{k}`")).collect();
    if keys.is_empty() {
        "no keys".to_owned()
    } else {
        keys.join(", ")
    }
}

/// A header expectation: a text pattern, `{ exists: BOOL }`, `{ count: N }`, or several of
/// these in one map.
fn header_check(raw: RawPattern) -> Result<Vec<HeaderCheck>, String> {
    let entries = match raw {
        RawPattern::Text(_) => return text_pattern(raw).map(|p| vec![HeaderCheck::Pattern(p)]),
        RawPattern::Map(entries) => entries,
    };
    if entries.is_empty() {
        return Err(
            "an empty map: use `{ exists: true }`, `{ count: N }` or `{ equals: TEXT }`".to_owned(),
        );
    }
    let mut out = Vec::new();
    for (key, value) in entries {
        out.push(match (key.as_str(), value) {
            ("equals", v) => HeaderCheck::Pattern(text_pattern(RawPattern::Map(vec![(key, v)]))?),
            ("exists", serde_json::Value::Bool(b)) => HeaderCheck::Exists(b),
            ("exists", other) => return Err(format!("`exists` takes true or false, got {other}")),
            ("count", v) => HeaderCheck::Count(crate::expect::value::count_check(&v)?),
            (other, _) => {
                return Err(format!(
                    "unknown header matcher `{other}`: a header takes patterns, `equals`, `exists` and `count`"
                ));
            }
        });
    }
    Ok(out)
}

/// A byte of an HTTP token (RFC 9110 `tchar`): what a header name is made of.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether a JSONPath can select more than one node. RFC 9535 allows only singular queries
/// in a filter comparison, so the parser itself answers.
pub fn can_select_many(path: &str) -> bool {
    let probe = vars::check_syntax(path, "x").unwrap_or_else(|_| path.to_owned());
    serde_json_path::JsonPath::parse(&format!("$[?{probe} == 1]")).is_err()
}

#[cfg(test)]
mod jsonpath_tests {
    #[test]
    fn paths_that_can_select_several_nodes() {
        for (path, many) in [
            ("$.a", false),
            ("$.a.b[0]", false),
            ("$['a']['b-c']", false),
            ("$.items[-1]", false),
            ("$.${FIELD}", false),
            ("$.items[*]", true),
            ("$.items[*].id", true),
            ("$..id", true),
            ("$.items[0:1]", true),
            ("$.items[0,1]", true),
            ("$.items[?@.id > 1]", true),
            ("$.*", true),
        ] {
            assert_eq!(super::can_select_many(path), many, "{path}");
        }
    }
}
