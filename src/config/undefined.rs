//! `check` resolves every `${NAME}` a run would fill in, against the names defined at that
//! point (`names`): a gate's `env` values in order, its workdir, mocks and services, then its
//! steps in order, each seeing the captures of the steps before it, a template's steps seeing
//! its params, `finally` seeing every capture. A name undefined there is an error located at
//! the `${NAME}` itself, saying why: the defined name it may mean and where that one comes
//! from, the later step that captures it, the template that keeps it to itself, the secret
//! this gate does not declare, or the other gate that sets it. A shell string is not looked
//! into: the shell expands it. A name in `check`'s own environment counts as defined, as it is
//! at run time when the run has the same environment (the documented caveat).
//!
//! Which strings of a step the run fills in: config/interpolated.rs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::path::{Path, PathBuf};

use super::diagnostic::Diagnostic;
use super::interpolated;
use super::model::{Command, Gate, Probe, ServiceAction, ServiceDef, Stage, Step, StepKind};
use super::names::{self, Scope};
use super::shell_names;
use super::validate::Templates;

/// What the check needs beyond the stage: the project's templates (a `use` of one is checked
/// in its file), gaterun.yaml (its `defaults.env`), every gate's secrets, and the names each
/// gate sets for itself.
pub struct Sources<'a> {
    pub templates: &'a Templates,
    pub project: Option<(&'a Path, &'a str)>,
    pub secrets: BTreeSet<String>,
    pub elsewhere: BTreeMap<String, String>,
}

/// Every `${NAME}` of `stage` (whose file is `file`, its text `text`) that would be undefined.
pub fn undefined(stage: &Stage, file: &Path, text: &str, src: &Sources) -> Vec<Diagnostic> {
    let mut walk = Walk {
        src,
        out: Vec::new(),
        seen: BTreeSet::new(),
        later: BTreeMap::new(),
        kept_in: BTreeMap::new(),
        env_later: BTreeSet::new(),
    };
    let at = At {
        file,
        text,
        line: 1,
        used_by: None,
    };
    let share = walk.stage_scope(stage, at);
    for gate in &stage.gates {
        walk.gate(gate, &share, at);
    }
    walk.out
}

/// Where the strings being checked are written; `used_by`: the `use` step (in the stage
/// file) whose template they belong to.
#[derive(Clone, Copy)]
struct At<'a> {
    file: &'a Path,
    text: &'a str,
    line: u64,
    used_by: Option<(&'a Path, &'a str, u64)>,
}

impl<'a> At<'a> {
    fn line(self, line: u64) -> At<'a> {
        At { line, ..self }
    }
}

struct Walk<'a> {
    src: &'a Sources<'a>,
    out: Vec<Diagnostic>,
    seen: BTreeSet<(PathBuf, u64, u64, String)>,
    /// The captures of the gate's steps not yet made, with the line of the step making each.
    later: BTreeMap<String, u64>,
    /// Captures made inside a template the gate used but not among its `outputs`: gone when
    /// the use ends. Each with the template.
    kept_in: BTreeMap<String, String>,
    /// The gate's `env` entries not yet read: its entries are set in order.
    env_later: BTreeSet<String>,
}

impl<'a> Walk<'a> {
    /// The stage's setup, run as a gate of its own before the gates: what it hands them.
    fn stage_scope(&mut self, stage: &Stage, at: At<'a>) -> Scope {
        let s = &stage.scope;
        let mut share = names::stage_share(s);
        if s.is_empty() {
            return share;
        }
        let setup = s.as_gate("setup");
        let scope = self.gate(&setup, &Scope::default(), at);
        for step in &s.setup {
            let origin = format!("a capture of stage setup (line {})", step.line);
            for (k, _) in &step.captures {
                share.add(k, &origin);
            }
            if let StepKind::Use { outputs, .. } = &step.kind {
                for o in outputs.iter().filter(|o| scope.has(o)) {
                    share.add(o, &origin);
                }
            }
        }
        share
    }

    /// One gate, in the order the run fills its variables in; the names at its end.
    fn gate(&mut self, gate: &Gate, share: &Scope, at: At<'a>) -> Scope {
        let env = names::environment(&gate.secrets, &self.src.secrets);
        let mut scope = names::gate_scope(env, gate, share);
        let at = at.line(gate.line);
        self.env_later = gate.env.iter().map(|(k, _)| k.clone()).collect();
        for (k, v) in &gate.env {
            self.text(&scope, at, v);
            scope.add(k, "the env");
            self.env_later.remove(k);
        }
        self.text(&scope, at, &gate.workdir.to_string_lossy());
        for m in &gate.mocks {
            self.debug(&scope, at.line(m.line), m);
        }
        let (manual, auto): (Vec<_>, Vec<_>) = gate.services.iter().partition(|s| s.manual);
        for s in auto {
            self.service(&scope, s, at);
        }
        self.later.clear();
        self.kept_in.clear();
        for step in gate.steps.iter().rev() {
            for (k, _) in &step.captures {
                self.later.insert(k.clone(), step.line);
            }
        }
        // A manual service starts at its first `start` step, with the captures made before
        // it (a name captured after that step is undefined there, as at run time); one that
        // no step starts is checked with every capture made.
        let mut manual = manual;
        for step in &gate.steps {
            if let StepKind::Service {
                action: ServiceAction::Start,
                service,
                ..
            } = &step.kind
                && let Some(i) = manual.iter().position(|s| &s.name == service)
            {
                let s = manual.remove(i);
                self.service(&scope, s, at);
            }
            self.step(&mut scope, step, at);
        }
        for s in manual {
            self.service(&scope, s, at);
        }
        self.later.clear();
        for step in &gate.finally {
            self.step(&mut scope, step, at);
        }
        scope
    }

    /// A service's `env` in order (after `PORT`), its command; its `ready` probe sees the
    /// gate's variables, but `ready.log` the service's.
    fn service(&mut self, scope: &Scope, s: &ServiceDef, at: At<'a>) {
        let at = at.line(s.line);
        // The ready probe is located from its own key: a `${PORT}` the service's command may
        // use and its probe may not is otherwise found in the command.
        let probe_at = find(at.text, s.line, "ready:").map_or(at, |(l, _)| at.line(l));
        let mut own = scope.clone();
        own.add("PORT", format!("service {}", s.name));
        for (k, v) in &s.env {
            self.text(&own, at, v);
            own.add(k, format!("the env of service {}", s.name));
        }
        self.command(&own, at, &s.command);
        match s.ready.as_ref().map(|r| &r.probe) {
            Some(Probe::Http(t) | Probe::Tcp(t)) => self.text(scope, probe_at, t),
            Some(Probe::Log(p)) => self.debug(&own, at, p),
            Some(Probe::Run(c)) => self.command(scope, probe_at, c),
            None => {}
        }
    }

    fn command(&mut self, scope: &Scope, at: At<'a>, c: &Command) {
        match c {
            Command::Argv(argv) => {
                for a in argv {
                    self.text(scope, at, a);
                }
            }
            Command::Shell(script) => self.shell(scope, at, script),
        }
    }

    /// A shell string is the shell's to expand: a name it reads that the gate defines nowhere
    /// and the string does not set, but close to one the gate has, is a warning (the shell
    /// may define it in ways not read here). A name with nothing near stays silent.
    fn shell(&mut self, scope: &Scope, at: At<'a>, script: &str) {
        let set = shell_names::assigned(script);
        for (name, written) in shell_names::read(script) {
            // A one- or two-letter name is near too many to say which was meant.
            if scope.has(&name) || set.contains(&name) || name.len() < 3 {
                continue;
            }
            let Some((near, origin)) = scope.near(&name) else {
                continue;
            };
            let (line, column) = find(at.text, at.line, &written).unwrap_or((at.line, 1));
            if !self
                .seen
                .insert((at.file.to_path_buf(), line, column, name.clone()))
            {
                continue;
            }
            let meant = match written.starts_with("${") {
                true => format!("${{{near}}}"),
                false => format!("${near}"),
            };
            let message = format!(
                "{written} is set nowhere gaterun knows, did you mean {meant} ({origin})? (the shell leaves an unset name empty)"
            );
            let d = Diagnostic::warning(at.file, line, column, message)
                .with_width(written.chars().count())
                .with_source(at.text);
            self.out.push(d);
        }
    }

    /// A step: its own `env` in order, its workdir, its strings, its capture selectors; then
    /// its captures join the scope. A `use` checks its `with`, then its template's steps in
    /// the template's file, with the params; its outputs join the scope.
    fn step(&mut self, scope: &mut Scope, step: &Step, at: At<'a>) {
        let at = at.line(step.line);
        let mut own = scope.clone();
        for (k, v) in &step.env {
            self.text(&own, at, v);
            own.add(k, "the step's env");
        }
        if let Some(w) = &step.workdir {
            self.text(&own, at, w);
        }
        match &step.kind {
            StepKind::Run { command, expect } => {
                self.command(&own, at, command);
                self.debug(&own, at, expect);
            }
            StepKind::Use {
                template,
                with,
                steps,
                outputs,
            } => {
                let mut inner = own.clone();
                for (param, v) in with {
                    self.text(&own, at, v);
                    inner.add(param, format!("a param of template {template}"));
                }
                let (file, text) = match self.src.templates.defined.get(template) {
                    Some(t) => (t.file.as_path(), &*t.text),
                    None => (at.file, at.text),
                };
                let used_by = at.used_by.or(Some((at.file, at.text, step.line)));
                let inside = At {
                    file,
                    text,
                    line: 1,
                    used_by,
                };
                for s in steps.iter() {
                    self.step(&mut inner, s, inside);
                }
                for o in outputs {
                    scope.add(o, format!("an output of template {template}"));
                }
                let kept = steps.iter().flat_map(|s| &s.captures).map(|(k, _)| k);
                for k in kept.filter(|k| !outputs.contains(k)) {
                    self.kept_in.insert(k.clone(), template.clone());
                }
            }
            // A `start` step's service is checked with the gate's services.
            StepKind::Service { .. } => {}
            kind => self.text(&own, at, &interpolated::step_text(kind)),
        }
        let origin = format!("a capture of the step at line {}", step.line);
        for (k, selector) in &step.captures {
            self.text(&own, at, selector);
            scope.add(k, &origin);
        }
        for (k, _) in &step.captures {
            self.later.remove(k);
        }
    }

    /// Every string of `value` (config/interpolated.rs).
    fn debug(&mut self, scope: &Scope, at: At<'a>, value: &impl Debug) {
        self.text(scope, at, &interpolated::debug_text(value));
    }

    fn text(&mut self, scope: &Scope, at: At<'a>, text: &str) {
        for name in used(text) {
            if !scope.has(name) {
                self.report(scope, at, name);
            }
        }
    }

    fn report(&mut self, scope: &Scope, at: At<'a>, name: &str) {
        let token = format!("${{{name}}}");
        let project = self.src.project;
        let (file, text, line, column) = [(at.file, at.text, at.line), (at.file, at.text, 1)]
            .into_iter()
            .chain(project.map(|(f, t)| (f, t, 1)))
            .find_map(|(f, t, from)| find(t, from, &token).map(|(l, c)| (f, t, l, c)))
            .unwrap_or((at.file, at.text, at.line, 1));
        if !self
            .seen
            .insert((file.to_path_buf(), line, column, name.to_owned()))
        {
            return;
        }
        let mut message = format!("undefined variable `{token}`");
        if let Some(&l) = self.later.get(name) {
            message.push_str(&if l == at.line {
                ": this step captures it, and a capture is set only once its step has run"
                    .to_owned()
            } else {
                format!(": the step at line {l} captures it, after this one")
            });
        } else if self.env_later.contains(name) {
            message.push_str(
                ": a later entry of the gate's `env` sets it, and entries are set in order",
            );
        } else if self.src.secrets.contains(name) {
            message.push_str(": a secret reaches only the gates that declare it in `secrets`");
        } else if let Some(t) = self.kept_in.get(name) {
            message.push_str(&format!(
                ": template {t} captures it, but only the template's `outputs` reach the caller"
            ));
        } else if let Some((near, origin)) = scope.near(name) {
            message.push_str(&format!(", did you mean `${{{near}}}` (from {origin})?"));
        } else if let Some(other) = self.src.elsewhere.get(name) {
            message.push_str(&format!(": only {other} sets it"));
        }
        let mut d = Diagnostic::error(file, line, column, message)
            .with_width(token.chars().count())
            .with_source(text);
        if let Some((f, t, l)) = at.used_by {
            let (line, column) = super::diagnostic::value_at(t, l, "use:");
            d = d.with_note(f, t, (line, column), "in the template this step uses");
        }
        self.out.push(d);
    }
}

/// The names of the `${NAME}`s `text` holds, as `vars::interpolate_with` reads them: `$${`
/// is a literal, a malformed one (reported by validation) is skipped.
fn used(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        let after = &rest[pos..];
        if let Some(literal) = after.strip_prefix("$${") {
            rest = literal;
        } else if let Some(body) = after.strip_prefix("${") {
            let Some(end) = body.find('}') else { break };
            if crate::vars::is_name(&body[..end]) {
                out.push(&body[..end]);
            }
            rest = &body[end + 1..];
        } else {
            rest = &after[1..];
        }
    }
    out
}

/// Where `token` (`${NAME}`) is first written from line `from` on, not after a `$` (a
/// literal `$${`): 1-based line and column.
fn find(text: &str, from: u64, token: &str) -> Option<(u64, u64)> {
    let skip = usize::try_from(from.saturating_sub(1)).unwrap_or(0);
    text.lines().enumerate().skip(skip).find_map(|(i, line)| {
        let at = line
            .match_indices(token)
            .map(|(at, _)| at)
            .find(|&at| !line[..at].ends_with('$'))?;
        Some((i as u64 + 1, line[..at].chars().count() as u64 + 1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_as_interpolation_does() {
        assert_eq!(used("${A}-${B_2} $${C} $$${D} $E ${1X} ${F"), ["A", "B_2"]);
    }

    #[test]
    fn finds_the_token_from_a_line_but_not_a_literal() {
        let text = "a: ${X}\nb: $${X} ${X}\n";
        assert_eq!(find(text, 1, "${X}"), Some((1, 4)));
        assert_eq!(find(text, 2, "${X}"), Some((2, 10)));
        assert_eq!(find(text, 3, "${X}"), None);
    }
}
