//! Gate files: discovery, parsing into raw serde types, validation into the plan the runner
//! trusts, and lint warnings. Every problem is reported as `FILE:LINE:COL: message` with the
//! source line and a caret, and every gate keeps its file and line for reports.

pub mod diagnostic;
pub mod model;
pub mod raw;
pub mod validate;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use diagnostic::{Diagnostic, Severity};
pub use model::{
    Command, DatabaseKind, Gate, HeaderCheck, HttpBody, HttpExpect, HttpStep, JsonExpect, Probe,
    Project, Ready, RunExpect, ServiceAction, ServiceDef, Signal, SqlExpect, Stage, StageKey,
    StatusMatch, Step, StepKind,
};
pub use validate::Defaults;
use validate::FileCtx;

pub const PROJECT_FILE: &str = "gaterun.yaml";

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
}

/// Find the project, read every stage file, validate. Errors are every diagnostic found.
pub fn load(opts: &LoadOptions) -> Result<Loaded, Vec<Diagnostic>> {
    let root = find_root(&opts.cwd).unwrap_or_else(|| opts.cwd.clone());
    let project_file = root.join(PROJECT_FILE);
    let mut diagnostics = Vec::new();
    let mut base = Defaults::default();
    let mut raw_project = raw::RawProject::default();
    if project_file.is_file() {
        let text = read(&project_file, &root, &mut diagnostics).unwrap_or_default();
        let display = relative(&project_file, &root);
        let mut ctx = FileCtx::new(&display, &text);
        match yaml::parse::<Option<raw::RawProject>>(&text) {
            Ok(p) => raw_project = p.unwrap_or_default(),
            Err(e) => ctx.push(yaml_diagnostic(&display, &e)),
        }
        base = validate::defaults(&mut ctx, raw_project.defaults.as_ref(), &base);
        diagnostics.append(&mut ctx.diagnostics);
    }
    let resolve = |cli: &Option<PathBuf>, file: &Option<String>, default: &str| -> PathBuf {
        match (cli, file) {
            (Some(p), _) => opts.cwd.join(p),
            (None, Some(p)) => root.join(p),
            (None, None) => root.join(default),
        }
    };
    let project = Project {
        gates_dir: resolve(&opts.gates, &raw_project.gates, "gates"),
        evidence_dir: resolve(&opts.evidence, &raw_project.evidence, "evidence"),
        current_phase: raw_project.current_phase.map(|p| p.value),
        root: root.clone(),
    };

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
    let mut seen: BTreeMap<(u32, StageKey), (PathBuf, u64)> = BTreeMap::new();
    for file in files {
        let Some(text) = read(&file, &root, &mut diagnostics) else {
            continue;
        };
        let display = relative(&file, &root);
        let (stage, mut found) = parse_stage(&display, &text, &base);
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
                stages.push(stage);
            }
        }
        diagnostics.append(&mut found);
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    stages.sort_by_key(|s| (s.phase, s.key));
    let warnings = lints(&stages);
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
    })
}

/// Parse and validate one stage file's text: the stage (with where its `stage:` key is) if it
/// is valid, and every diagnostic found. No file system access: the fuzz target calls this.
pub fn parse_stage(
    display: &Path,
    text: &str,
    base: &Defaults,
) -> (Option<(Stage, serde_saphyr::Location)>, Vec<Diagnostic>) {
    let mut ctx = FileCtx::new(display, text);
    let mut stage = None;
    match yaml::parse::<raw::RawStage>(text) {
        Err(e) => ctx.push(yaml_diagnostic(display, &e)),
        Ok(raw_stage) => {
            let at = raw_stage.stage.referenced;
            let hash = definition_hash(text);
            stage = validate::stage(&mut ctx, raw_stage, base, display.to_path_buf(), hash)
                .map(|s| (s, at));
        }
    }
    (stage, ctx.diagnostics)
}

/// The project root relative to the top of its git repository (`sub/dir`), or nothing when
/// it is the top or in no repository.
pub fn repo_prefix(root: &Path) -> PathBuf {
    std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--show-prefix"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_default()
}

pub fn find_root(cwd: &Path) -> Option<PathBuf> {
    cwd.ancestors()
        .find(|d| d.join(PROJECT_FILE).is_file())
        .map(Path::to_path_buf)
}

fn relative(path: &Path, root: &Path) -> PathBuf {
    path.strip_prefix(root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// The largest stage file read: far past any real one, and what a parse can take in time.
const FILE_CAP: u64 = 16 << 20;

/// A stage file's bytes: only from a regular file (a FIFO would block, `/dev/zero` never end),
/// at most `FILE_CAP`.
fn read_regular(file: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(file)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other(
            "not a regular file (a FIFO, a device or a socket is never read)",
        ));
    }
    if meta.len() > FILE_CAP {
        return Err(std::io::Error::other(format!(
            "the file is {} MiB, more than the {} MiB a stage file may be",
            meta.len() >> 20,
            FILE_CAP >> 20
        )));
    }
    let mut data = Vec::new();
    f.take(FILE_CAP).read_to_end(&mut data)?;
    Ok(data)
}

fn read(file: &Path, root: &Path, diagnostics: &mut Vec<Diagnostic>) -> Option<String> {
    let shown = relative(file, root);
    match read_regular(file) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(e) => {
                let offset = e.utf8_error().valid_up_to();
                let before = &e.as_bytes()[..offset];
                let line = before.iter().filter(|b| **b == b'\n').count() as u64 + 1;
                let col = (offset
                    - before
                        .iter()
                        .rposition(|b| *b == b'\n')
                        .map_or(0, |p| p + 1)) as u64
                    + 1;
                diagnostics.push(Diagnostic::error(
                    &shown,
                    line,
                    col,
                    "the file is not valid UTF-8",
                ));
                None
            }
        },
        Err(e) => {
            diagnostics.push(Diagnostic::error(
                &shown,
                0,
                0,
                format!("failed to read: {e}"),
            ));
            None
        }
    }
}

/// Every `*.yaml` / `*.yml` below the gates root, recursively, in a stable order. Hidden
/// directories are skipped.
fn discover(dir: &Path) -> Result<Vec<PathBuf>, String> {
    if !dir.is_dir() {
        return Err(format!(
            "no gates directory here: create {} (`gaterun init` writes a skeleton) or pass --gates DIR",
            dir.display()
        ));
    }
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    // Each directory once, however many links lead to it: a symlink loop ends here.
    let mut seen: std::collections::HashSet<(u64, u64)> = std::collections::HashSet::new();
    while let Some(d) = pending.pop() {
        match std::fs::metadata(&d) {
            Ok(m) if seen.insert((m.dev(), m.ino())) => {}
            _ => continue,
        }
        let entries =
            std::fs::read_dir(&d).map_err(|e| format!("failed to read {}: {e}", d.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let ty = entry
                .file_type()
                .map_err(|e| format!("failed to read {}: {e}", path.display()))?;
            if ty.is_dir() || (ty.is_symlink() && path.is_dir()) {
                pending.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn definition_hash(text: &str) -> String {
    // The file parsed already, so this parse succeeds; hash the text if it somehow does not.
    let canonical = yaml::canonical_json(text).unwrap_or_else(|_| text.to_owned());
    let digest = Sha256::digest(canonical.as_bytes());
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

/// Warnings: what the method calls weak gates, and stages that skip numbers.
pub fn lints(stages: &[Stage]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut by_phase: BTreeMap<u32, Vec<&Stage>> = BTreeMap::new();
    for s in stages {
        by_phase.entry(s.phase).or_default().push(s);
    }
    for (phase, list) in &by_phase {
        let numbers: std::collections::BTreeSet<u32> = list.iter().map(|s| s.key.number).collect();
        if let (Some(lo), Some(hi)) = (numbers.first(), numbers.last()) {
            for missing in (*lo..*hi).filter(|n| !numbers.contains(n)) {
                let next = list
                    .iter()
                    .find(|s| s.key.number > missing)
                    .expect("hi is above missing");
                out.push(Diagnostic::warning(
                    &next.file,
                    0,
                    0,
                    format!("phase {phase} has no stage {missing}: stages build linearly, one after another"),
                ));
            }
        }
    }
    for s in stages {
        for g in &s.gates {
            for step in &g.steps {
                if let Some((what, word)) = lone_word(step) {
                    out.push(
                        Diagnostic::warning(
                            &s.file,
                            step.line,
                            1,
                            format!("`{what}: {word}` passes on any {what} that contains `{word}` (`not {word}` too): write `{what}: {{ equals: {word} }}` for the whole {what}"),
                        )
                        .with_label("a plain pattern is a substring"),
                    );
                }
            }
            if let Some(cmd) = bare_test_suite(g) {
                out.push(
                    Diagnostic::warning(
                        &s.file,
                        g.line,
                        g.column,
                        format!("gate `{}` only runs `{cmd}` with nothing named: which tests? Name them, or check their output", g.id),
                    )
                    .with_label("\"Tests pass (which tests?)\" is not an acceptance gate"),
                );
            }
        }
    }
    out
}

/// A text check that is one short word as a substring (`body: ok`): most likely meant as the
/// whole text, and a near miss (`not ok`, `unhealthy`) would pass it. A response body of one
/// word is a status; a command's output is often longer, so there only status words count.
fn lone_word(step: &model::Step) -> Option<(&'static str, &str)> {
    const STATUS_WORDS: &[&str] = &[
        "ok", "OK", "true", "false", "yes", "no", "up", "healthy", "ready", "pong", "PONG", "done",
        "pass", "passed", "success",
    ];
    let (what, patterns, any_word) = match &step.kind {
        StepKind::Run { expect, .. } => ("stdout", &expect.stdout, false),
        StepKind::Http(h) => ("body", &h.expect.body, true),
        _ => return None,
    };
    let [p] = patterns.as_slice() else {
        return None;
    };
    let word = p.source.as_str();
    let lone = !p.whole
        && (1..=12).contains(&word.len())
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && (any_word || STATUS_WORDS.contains(&word));
    lone.then_some((what, word))
}

/// The command, if every step of the gate is a bare test-suite run with no output checks.
fn bare_test_suite(g: &Gate) -> Option<String> {
    const BARE: &[&str] = &[
        "cargo test",
        "cargo nextest run",
        "npm test",
        "npm run test",
        "yarn test",
        "pnpm test",
        "pytest",
        "python -m pytest",
        "python3 -m pytest",
        "go test ./...",
        "make test",
        "make check",
        "mvn test",
        "gradle test",
        "./gradlew test",
        "bundle exec rspec",
        "rspec",
        "mix test",
    ];
    let mut found = None;
    for step in &g.steps {
        let StepKind::Run { command, expect } = &step.kind else {
            return None;
        };
        let text = command.display();
        let normal = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !BARE.contains(&normal.as_str())
            || !expect.stdout.is_empty()
            || !expect.stderr.is_empty()
        {
            return None;
        }
        found = Some(normal);
    }
    found
}

#[cfg(test)]
mod tests;
