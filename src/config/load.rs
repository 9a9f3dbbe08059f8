//! Loading a project: find `gaterun.yaml`, read every stage file, parse and validate each,
//! refuse a stage defined twice, sort, lint. One stage file's text alone goes through
//! `parse_stage`, which the fuzz target calls.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::diagnostic::{self, Diagnostic, value_at};
use super::discover::{PROJECT_FILE, discover, find_root, project_at, read, relative, repo_prefix};
use super::lint::lints;
use super::model::{Project, Stage, StageKey};
use super::names;
use super::raw;
use super::undefined;
use super::validate::{self, Defaults, FileCtx};
use super::yaml;

#[derive(Debug, Default, Clone)]
pub struct LoadOptions {
    pub cwd: PathBuf,
    pub gates: Option<PathBuf>,
    pub evidence: Option<PathBuf>,
}

#[derive(Debug)]
pub struct Loaded {
    pub project: Project,
    /// Sorted by phase, then stage.
    pub stages: Vec<Stage>,
    pub warnings: Vec<Diagnostic>,
    /// Each `${NAME}` undefined where a run would fill it in: `check`'s errors; a run makes
    /// each the error of its gate (config/undefined.rs).
    pub undefined: Vec<Diagnostic>,
}

/// Find the project, read every stage file, validate. Errors are every diagnostic found.
pub fn load(opts: &LoadOptions) -> Result<Loaded, Vec<Diagnostic>> {
    let root = find_root(&opts.cwd).unwrap_or_else(|| opts.cwd.clone());
    let project_file = root.join(PROJECT_FILE);
    let mut diagnostics = Vec::new();
    let mut base = Defaults::default();
    let mut raw_project = raw::RawProject::default();
    let mut project_text = None;
    if project_file.is_file() {
        let text = read(&project_file, &root, &mut diagnostics).unwrap_or_default();
        let display = relative(&project_file, &root);
        project_text = Some((display.clone(), text.clone()));
        let mut ctx = FileCtx::new(&display, &text);
        match yaml::parse::<Option<raw::RawProject>>(&text) {
            Ok(p) => raw_project = p.unwrap_or_default(),
            Err(e) => ctx.push(yaml_diagnostic(&display, &e)),
        }
        base = validate::defaults(&mut ctx, raw_project.defaults.as_ref(), &base);
        if let Some(templates) = raw_project.templates.take() {
            // Each template's parsed form, for the definition hash of the stages using it.
            let json = yaml::parse::<serde_json::Value>(&text).ok();
            let json = json
                .as_ref()
                .and_then(|j| j.get("templates"))
                .and_then(|t| t.as_object());
            validate::templates(&mut ctx, templates, json);
            base.templates = std::mem::take(&mut ctx.templates);
        }
        diagnostics.append(&mut ctx.diagnostics);
    }
    let project = project_at(
        root.clone(),
        &opts.cwd,
        opts.gates.as_deref(),
        opts.evidence.as_deref(),
        &raw_project,
    );

    let files = match discover(&project.gates_dir) {
        Ok(f) => f,
        Err(msg) => {
            diagnostics.push(Diagnostic::error(
                &relative(&project.gates_dir, &root),
                0,
                0,
                msg,
            ));
            return Err(diagnostics);
        }
    };
    let mut stages: Vec<Stage> = Vec::new();
    let mut notes = Vec::new();
    let mut seen: BTreeMap<(u32, StageKey), (PathBuf, u64)> = BTreeMap::new();
    let mut texts: BTreeMap<PathBuf, String> = BTreeMap::new();
    for file in files {
        let Some(text) = read(&file, &root, &mut diagnostics) else {
            continue;
        };
        let display = relative(&file, &root);
        let (stage, mut found) = parse_stage(&display, &text, &base);
        if let Some((stage, _)) = &stage {
            notes.extend(missing_workdirs(stage, &root, &display, &text));
            found.extend(saves_into_evidence(stage, &project, &display, &text));
        }
        if let Some((stage, at)) = stage {
            let key = (stage.phase, stage.key);
            if let Some((other, other_line)) = seen.get(&key) {
                found.push(
                    Diagnostic::error(
                        &display,
                        at.line(),
                        at.column(),
                        format!(
                            "stage {} of phase {} is already defined in {}:{other_line}",
                            stage.key,
                            stage.phase,
                            other.display()
                        ),
                    )
                    .with_source(&text),
                );
            } else {
                seen.insert(key, (display.clone(), at.line()));
                texts.insert(display.clone(), text.clone());
                stages.push(stage);
            }
        }
        diagnostics.append(&mut found);
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    stages.sort_by_key(|s| (s.phase, s.key));
    let mut warnings = lints(&stages);
    warnings.append(&mut notes);
    let sources = undefined::Sources {
        templates: &base.templates,
        project: project_text
            .as_ref()
            .map(|(f, t)| (f.as_path(), t.as_str())),
        secrets: stages
            .iter()
            .flat_map(|s| &s.gates)
            .flat_map(|g| g.secrets.iter().cloned())
            .collect(),
        elsewhere: names::elsewhere(&stages),
    };
    // The errors, and the warnings on shell strings.
    let (undefined, mut shell): (Vec<Diagnostic>, Vec<Diagnostic>) = stages
        .iter()
        .flat_map(|s| {
            let text = texts.get(&s.file).map_or("", String::as_str);
            undefined::undefined(s, &s.file, text, &sources)
        })
        .partition(|d| d.severity == super::diagnostic::Severity::Error);
    warnings.append(&mut shell);
    // Evidence names a stage file from the repository's top, as GitHub and JUnit reporters
    // resolve it, also when the project is in a subdirectory.
    let prefix = repo_prefix(&root);
    for s in &mut stages {
        s.file = prefix.join(&s.file);
    }
    Ok(Loaded {
        project,
        stages,
        warnings,
        undefined,
    })
}

/// A gate's or a step's `workdir` written without `${…}` names a directory that does not exist now: a
/// warning, since an earlier step may create it (when the step runs, a missing directory is
/// the step's error). Validation has no file system access, so this is done here.
fn missing_workdirs(stage: &Stage, root: &Path, display: &Path, text: &str) -> Vec<Diagnostic> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    // A gate's own `workdir` (a matrix gate's combinations share it), then each step's.
    let gates = stage.gates.iter().filter_map(|g| {
        let w = g.workdir.to_str()?;
        (w != ".").then_some((g.line, w))
    });
    let steps = stage
        .gates
        .iter()
        .flat_map(|g| &g.steps)
        .filter_map(|s| Some((s.line, s.workdir.as_deref()?)));
    for (at, w) in gates.chain(steps) {
        if w.contains("${") || root.join(w).is_dir() || !seen.insert((at, w)) {
            continue;
        }
        let (line, column) = value_at(text, at, "workdir:");
        out.push(
            Diagnostic::warning(
                display,
                line,
                column,
                format!("`workdir` {w} is not a directory under the project root (unless an earlier step makes it)"),
            )
            .with_source(text),
        );
    }
    out
}

/// An `http` step's `save` written without `${…}` (nor its workdir) that lands in the
/// project's evidence directory: an error, since a gate could forge what gaterun vouches for
/// (the run refuses it too, after interpolation and through links).
fn saves_into_evidence(
    stage: &Stage,
    project: &Project,
    display: &Path,
    text: &str,
) -> Vec<Diagnostic> {
    let evidence = crate::files::normalized(&project.evidence_dir);
    let evidence_real = project.evidence_dir.canonicalize().ok();
    let mut out = Vec::new();
    for gate in &stage.gates {
        for step in gate.steps.iter().chain(&gate.finally) {
            let super::model::StepKind::Http(http) = &step.kind else {
                continue;
            };
            let Some(save) = &http.save else { continue };
            let workdir = step
                .workdir
                .clone()
                .unwrap_or_else(|| gate.workdir.to_string_lossy().into_owned());
            if save.contains("${") || workdir.contains("${") {
                continue;
            }
            let dir = project.root.join(&workdir);
            let rel = crate::files::normalized(save);
            let real = dir.canonicalize().ok().map(|d| d.join(&rel));
            let inside = crate::files::normalized(dir.join(&rel)).starts_with(&evidence)
                || real
                    .zip(evidence_real.as_ref())
                    .is_some_and(|(r, e)| r.starts_with(e));
            if inside {
                let (line, column) = value_at(text, step.line, "save:");
                out.push(
                    Diagnostic::error(
                        display,
                        line,
                        column,
                        format!("`save`: the path is in the project's evidence directory, which only gaterun writes, got `{save}`"),
                    )
                    .with_source(text),
                );
            }
        }
    }
    out
}

/// A stage file parsed: the stage and where its `stage:` key is, and every diagnostic found.
pub type Parsed = (Option<(Stage, serde_saphyr::Location)>, Vec<Diagnostic>);

/// Parse and validate one stage file's text: the stage (with where its `stage:` key is) if it
/// is valid, and every diagnostic found. No file system access: the fuzz target calls this.
pub fn parse_stage(display: &Path, text: &str, base: &Defaults) -> Parsed {
    let mut ctx = FileCtx::new(display, text);
    let mut stage = None;
    // The definition hash parses the text a second time (into canonical JSON): beside the
    // parse into the stage, on another core.
    let (parsed, hash) = std::thread::scope(|scope| {
        let hashing = std::thread::Builder::new().spawn_scoped(scope, || definition_hash(text));
        let parsed = yaml::parse::<raw::RawStage>(text);
        let hash = match hashing.map(|h| h.join()) {
            Ok(Ok(hash)) => hash,
            _ => definition_hash(text),
        };
        (parsed, hash)
    });
    match parsed {
        Err(e) => ctx.push(yaml_diagnostic(display, &e)),
        Ok(raw_stage) => {
            let at = raw_stage.stage.referenced;
            stage = validate::stage(&mut ctx, raw_stage, base, display.to_path_buf(), hash).map(
                |mut s| {
                    // gaterun.yaml's templates are part of the definition of a stage using
                    // them: changing one makes the stage's results stale.
                    // So are its defaults (a stage's `TASKAPI` may come from there).
                    let used = validate::project_templates_used(&s, &ctx.templates);
                    let defaults = project_defaults_text(base);
                    if !used.is_empty() || !defaults.is_empty() {
                        let mut all = s.definition_hash.clone();
                        all.push_str(&defaults);
                        for (name, canonical) in used {
                            all.push_str(&format!("\ntemplate {name} {canonical}"));
                        }
                        s.definition_hash = hex_sha256(&all);
                    }
                    (s, at)
                },
            );
        }
    }
    (stage, ctx.diagnostics)
}

/// gaterun.yaml's `defaults` as text for a stage's definition hash; empty when it gives none,
/// so a project without them keeps the hashes its evidence was written with.
fn project_defaults_text(base: &Defaults) -> String {
    let mut out = String::new();
    if let Some(t) = base.timeout {
        out.push_str(&format!("\ndefault timeout {}", t.as_millis()));
    }
    if let Some(g) = base.grace {
        out.push_str(&format!("\ndefault grace {}", g.as_millis()));
    }
    for (k, v) in &base.env {
        out.push_str(&format!(
            "\ndefault env {k}={}",
            serde_json::Value::from(v.as_str())
        ));
    }
    out
}

pub(crate) fn definition_hash(text: &str) -> String {
    // The file parsed already, so this parse succeeds; hash the text if it somehow does not.
    let canonical = yaml::canonical_json(text).unwrap_or_else(|_| text.to_owned());
    hex_sha256(&canonical)
}

fn hex_sha256(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn yaml_diagnostic(file: &Path, e: &yaml::YamlError) -> Diagnostic {
    let mut d = Diagnostic::error(file, e.line, e.column, e.message.clone());
    if let Some((field, expected)) = &e.unknown_key {
        d = d.with_width(field.chars().count());
        match diagnostic::suggest(field, expected) {
            Some(near) => {
                d.message = format!("{}, did you mean '{near}'?", e.message);
                d = d.with_label(format!("did you mean `{near}`?"));
            }
            None => d = d.with_label(format!("expected one of: {}", expected.join(", "))),
        }
    }
    d
}
