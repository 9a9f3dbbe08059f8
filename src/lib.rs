//! gaterun: run a phase's stage acceptance gates, each in isolation, and write the evidence.
//!
//! The flow: `cli` parses arguments; `config` loads and validates the gate files into a plan;
//! `plan` selects stages and gates and checks prerequisites; `runner` runs stages in order and
//! gates concurrently, each gate through `steps`, with `process` keeping every child in check;
//! `evidence` writes what happened; `reporter` tells the terminal.

/// `println!` that tolerates a closed stdout (`gaterun list | head -1`): a failed write ends
/// that output, never the program (std's `println!` panics).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprintln!` that tolerates a closed stderr, as `out!` does stdout.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

pub mod cli;
pub mod config;
pub mod database;
pub mod events;
pub mod evidence;
pub mod exit;
pub mod expect;
pub mod init;
pub mod mask;
pub mod merge;
pub mod plan;
pub mod ports;
pub mod process;
pub mod reporter;
pub mod results;
pub mod runner;
pub mod schema;
pub mod services;
pub mod signoff;
pub mod steps;
pub mod text;
pub mod vars;
pub mod verify;

use std::io::IsTerminal;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use cli::{Cli, CommandKind};
use config::{LoadOptions, Loaded};
use exit::Error;
use results::Status;
use text::plural;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Per-gate log cap: head and tail kept, the cut marked.
pub const LOG_CAP: usize = 8 << 20;

/// Run the command line and return the process exit code.
pub fn main_with(cli: Cli) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            errln!("error: failed to start the async runtime: {e}");
            return exit::FAILED;
        }
    };
    let github = reporter::github::enabled(cli.common.github);
    let evidence_dir = cli.common.evidence.clone();
    let code = match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(Error::Config(diags)) => {
            if github {
                annotate(&diags);
            }
            errln!("{}", for_runner(&Error::Config(diags).to_string(), github));
            exit::USAGE
        }
        Err(e) => {
            // An error may quote a downloaded shard or a file: under GitHub Actions it must
            // not become a workflow command (the runner reads stderr too).
            errln!(
                "{}",
                for_runner(&for_terminal(&format!("error: {e}")), github)
            );
            e.exit_code()
        }
    };
    // Do not wait for reader tasks of pipes nobody will close.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    if github {
        outputs(code, evidence_dir);
    }
    code
}

/// Text for stderr: under GitHub Actions, every line made inert for the runner.
fn for_runner(text: &str, github: bool) -> String {
    if !github {
        return text.to_owned();
    }
    text.split('\n')
        .map(reporter::github::inert)
        .collect::<Vec<_>>()
        .join("\n")
}

/// An error's lines, each made safe for a terminal: an error may quote a crafted shard or
/// evidence file (its own line breaks are kept, the quoted text's escaped).
fn for_terminal(text: &str) -> String {
    text.split('\n')
        .map(text::shown)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Config errors as annotations at their lines, the file named from the repository's top as
/// in the evidence.
fn annotate(diags: &[config::Diagnostic]) {
    use reporter::github::{escape_data, escape_property};
    let cwd = std::env::current_dir().unwrap_or_default();
    let prefix = config::repo_prefix(&config::find_root(&cwd).unwrap_or(cwd));
    for d in diags.iter().take(10) {
        out!(
            "::error file={},line={},col={},title=invalid gate file::{}",
            escape_property(&prefix.join(&d.file).display().to_string()),
            d.line.max(1),
            d.column.max(1),
            escape_data(&d.message)
        );
    }
}

/// The step's outputs: the result, and the evidence files when this run wrote them.
fn outputs(code: i32, evidence: Option<std::path::PathBuf>) {
    let cwd = std::env::current_dir().unwrap_or_default();
    let root = config::find_root(&cwd).unwrap_or_else(|| cwd.clone());
    let dir = match evidence {
        Some(e) => cwd.join(e),
        None => {
            let text = std::fs::read_to_string(root.join(config::PROJECT_FILE)).unwrap_or_default();
            let configured: Option<config::raw::RawProject> =
                config::yaml::parse::<Option<_>>(&text).ok().flatten();
            root.join(
                configured
                    .and_then(|c| c.evidence)
                    .unwrap_or_else(|| "evidence".to_owned()),
            )
        }
    };
    let existing = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
    let ran = matches!(code, exit::PASSED | exit::FAILED | exit::INTERRUPTED);
    let (junit, summary, attestation) = if ran {
        (
            existing("junit.xml"),
            existing("summary.md"),
            existing(evidence::manifest::ATTESTATION),
        )
    } else {
        (None, None, None)
    };
    reporter::github::write_outputs(
        reporter::github::result_word(code),
        junit.as_deref(),
        summary.as_deref(),
        attestation.as_deref(),
    );
}

async fn run(cli: Cli) -> Result<i32, Error> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::Internal(format!("failed to read the current directory: {e}")))?;
    match &cli.command {
        CommandKind::Schema => {
            {
                use std::io::Write as _;
                let _ = write!(std::io::stdout().lock(), "{}", schema::json());
            }
            return Ok(exit::PASSED);
        }
        CommandKind::Init { template } => {
            let root = config::find_root(&cwd).unwrap_or_else(|| cwd.clone());
            let gates = cli
                .common
                .gates
                .as_ref()
                .map(|g| cwd.join(g))
                .unwrap_or_else(|| root.join("gates"));
            for path in init::run(&root, &gates, template)? {
                out!(
                    "wrote {}",
                    path.strip_prefix(&root).unwrap_or(&path).display()
                );
            }
            out!(
                "next: replace each placeholder gate with real checks, then `gaterun check` and `gaterun stage 0`"
            );
            return Ok(exit::PASSED);
        }
        _ => {}
    }
    let opts = LoadOptions {
        cwd: cwd.clone(),
        gates: cli.common.gates.clone(),
        evidence: cli.common.evidence.clone(),
    };
    // The stage files, when at hand, give gate order, risks and questions; shards' evidence
    // merges without them too, and evidence verifies without them (definitions unchecked).
    let without_stage_files = |loaded: &Option<Loaded>| match loaded {
        Some(l) => l.project.clone(),
        None => {
            let root = config::find_root(&cwd).unwrap_or_else(|| cwd.clone());
            let evidence_dir = cli
                .common
                .evidence
                .as_ref()
                .map(|e| cwd.join(e))
                .unwrap_or_else(|| root.join("evidence"));
            config::Project {
                gates_dir: root.join("gates"),
                evidence_dir,
                current_phase: None,
                root,
            }
        }
    };
    if let CommandKind::Verify { dir } = &cli.command {
        let loaded = match config::load(&opts) {
            Ok(l) => Some(l),
            Err(diags) => {
                // Why, in a word: away from the project (a downloaded artifact) it is "no gates
                // directory here", which a reviewer expects; anything else they should see.
                errln!(
                    "note: the stage files did not load ({} error{}, the first: {}): definitions are not checked",
                    diags.len(),
                    plural(diags.len()),
                    diags.first().map(|d| d.message.as_str()).unwrap_or("none")
                );
                None
            }
        };
        let project = without_stage_files(&loaded);
        let dir = dir
            .as_ref()
            .map(|d| cwd.join(d))
            .unwrap_or(project.evidence_dir);
        let github = reporter::github::enabled(cli.common.github);
        return verify_command(&dir, &cwd, loaded.as_ref(), github);
    }
    if let CommandKind::Merge { dirs } = &cli.command {
        let loaded = config::load(&opts).ok();
        let project = without_stage_files(&loaded);
        let dirs: Vec<_> = dirs.iter().map(|d| cwd.join(d)).collect();
        // Bad arguments are refused before the evidence directory is touched.
        let _lock = if dirs.iter().all(|d| d.is_dir()) {
            Some(lock_evidence(&project).await?)
        } else {
            None
        };
        return merge::run(&project, loaded.as_ref(), &dirs);
    }
    let loaded = config::load(&opts).map_err(Error::Config)?;
    for w in &loaded.warnings {
        errln!("{w}");
    }
    let filters = plan::Filters {
        gate_ids: &cli.common.gate_ids,
        tags: &cli.common.tags,
        shard: cli.common.shard,
    };
    let runs = match &cli.command {
        CommandKind::Check => return Ok(check(&loaded)),
        CommandKind::List { phase } => return Ok(list(&loaded, *phase)),
        CommandKind::Report { phase } => {
            let _lock = lock_evidence(&loaded.project).await?;
            return report(&loaded, *phase);
        }
        CommandKind::Signoff { phase } => {
            // Run by a gate of the run holding the evidence (stage 10): check, write nothing.
            return match lock_or_nested(&loaded.project).await? {
                Ok(_lock) => signoff::run(&loaded, *phase, None),
                Err(pid) => signoff::run(&loaded, *phase, Some(pid)),
            };
        }
        CommandKind::Merge { .. } | CommandKind::Verify { .. } => {
            unreachable!("handled before loading")
        }
        CommandKind::Schema | CommandKind::Init { .. } => unreachable!("handled before loading"),
        CommandKind::Stage { stage, phase } => {
            let phase = plan::current_phase(&loaded, *phase)?;
            plan::for_stage(&loaded, phase, stage, cli.common.prereqs, &filters)?
        }
        CommandKind::Phase { phase } => plan::for_phase(&loaded, *phase, &filters)?,
    };
    // Signals are counted from here on, whether or not the lock must be waited for: one that
    // comes before the gates start stops them (`report`, `merge` and `signoff` keep the default
    // action unless they wait).
    let _ = signals();
    // Wait for another run on this evidence first, then check the prerequisites again: the
    // run waited for may have re-run a prerequisite and failed it.
    let lock = lock_evidence(&loaded.project).await?;
    let runs = match &cli.command {
        CommandKind::Stage { stage, phase } => {
            let phase = plan::current_phase(&loaded, *phase)?;
            plan::for_stage(&loaded, phase, stage, cli.common.prereqs, &filters)?
        }
        _ => runs,
    };
    execute(&loaded, runs, &cli, lock).await
}

async fn execute(
    loaded: &Loaded,
    runs: Vec<runner::StageRun>,
    cli: &Cli,
    _lock: evidence::lock::EvidenceLock,
) -> Result<i32, Error> {
    #[cfg(target_os = "linux")]
    if let Err(e) = process::become_subreaper() {
        errln!(
            "warning: failed to become a child subreaper ({e}): daemonized processes may escape"
        );
    }
    let project = &loaded.project;
    let github = reporter::github::enabled(cli.common.github);
    let run_root = runner::tmp::RunRoot::create().map_err(Error::Internal)?;
    #[cfg(target_os = "linux")]
    match process::contain::choose(cli.common.containment.into()) {
        Ok(containment) => {
            if !cli.common.quiet {
                errln!("{}", for_runner(&containment.description, github));
            }
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&run_root.path);
            return Err(Error::Usage(format!("--containment: {e}")));
        }
    }
    evidence::sweep_leftovers(project);
    for problem in runner::tmp::sweep_stale() {
        errln!("{}", for_runner(&format!("warning: {problem}"), github));
    }
    let tmp_root = run_root.path.clone();

    let progress = match cli.common.progress {
        cli::Progress::Always => true,
        cli::Progress::Never => false,
        cli::Progress::Auto => std::io::stderr().is_terminal() && std::env::var_os("CI").is_none(),
    };
    let secrets = runner::Secrets::declared(&loaded.stages);
    if github {
        // Mask every declared secret, before anything could print it.
        reporter::github::Github::mask(&secrets.values);
    }
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let reporter = tokio::spawn(reporter::run(
        events_rx,
        reporter::ReporterOptions {
            progress: progress && !github,
            quiet: cli.common.quiet,
            verbose: cli.common.verbose,
            github: github.then(|| project.root.clone()),
        },
    ));
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let signals = tokio::spawn(watch_signals(cancel_tx));

    let rc = Arc::new(runner::RunContext {
        project_root: project.root.clone(),
        gates_dir: project.gates_dir.clone(),
        evidence_dir: project.evidence_dir.clone(),
        tmp: runner::tmp::TmpDirs::new(tmp_root.clone(), cli.common.keep_tmp),
        log_cap: LOG_CAP,
        events: events_tx,
        http: steps::Http::default(),
        postgres: database::postgres::Provider::new(&tmp_root),
        repeat: cli.common.repeat,
        secrets,
    });
    let mut manifest = evidence::manifest::Manifest::load_or_new(&project.evidence_dir);
    let settings = runner::Settings {
        jobs: cli
            .common
            .jobs
            .map(|j| j as usize)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        keep_going: cli.common.keep_going,
        commit: git_commit(&project.root),
    };
    let outcome = runner::run_stages(
        project,
        &loaded.stages,
        runs,
        &settings,
        rc.clone(),
        cancel_rx.clone(),
        &mut manifest,
    )
    .await;
    // Whatever happened: the throw-away PostgreSQL cluster goes.
    rc.postgres.shutdown().await;
    drop(rc);
    let _ = reporter.await;
    let interrupted = *cancel_rx.borrow();
    signals.abort();
    #[cfg(target_os = "linux")]
    process::contain::close_run();
    if !cli.common.keep_tmp {
        let _ = std::fs::remove_dir_all(&tmp_root);
    }
    drop(run_root);
    // A run that failed to write its evidence leaves no invocation file of an earlier run
    // standing for it; the manifest then says what is left.
    let written = outcome.and_then(|results| {
        evidence::write_invocation(project, &results)?;
        Ok(results)
    });
    if written.is_err() {
        evidence::discard_invocation(project);
    }
    for name in ["junit.xml", "summary.md"] {
        manifest.record_file(&project.evidence_dir, name);
    }
    let recorded = manifest.write(project, settings.commit.clone());
    let results = written?;
    recorded?;
    if github {
        let summary = project.evidence_dir.join("summary.md");
        reporter::github::append_summary(&evidence::markdown::summary(&results), &summary);
    }

    let evidence_dir = project
        .evidence_dir
        .strip_prefix(&project.root)
        .unwrap_or(&project.evidence_dir);
    if !cli.common.quiet {
        out!("evidence: {}", evidence_dir.join("summary.md").display());
    }
    let any = |s: Status| results.iter().flat_map(|r| &r.gates).any(|g| g.status == s);
    if interrupted {
        errln!(
            "interrupted: every gate process was stopped; evidence of what ran is marked interrupted"
        );
        return Ok(exit::INTERRUPTED);
    }
    if any(Status::Failed)
        || any(Status::Error)
        || results.iter().any(|r| r.status != Status::Passed)
    {
        return Ok(exit::FAILED);
    }
    Ok(exit::PASSED)
}

/// The evidence lock, or the pid of the ancestor run holding it (a command run by a gate).
async fn lock_or_nested(
    project: &config::Project,
) -> Result<Result<evidence::lock::EvidenceLock, i32>, Error> {
    match lock_evidence_raw(project).await {
        Ok(l) => Ok(Ok(l)),
        Err(evidence::lock::LockError::Nested { pid, .. }) => Ok(Err(pid)),
        Err(e) => Err(lock_error(e)),
    }
}

/// `gaterun verify [DIR]`: one line per disagreement, exit 0 when none, 1 otherwise.
fn verify_command(
    dir: &std::path::Path,
    cwd: &std::path::Path,
    loaded: Option<&Loaded>,
    github: bool,
) -> Result<i32, Error> {
    let shown = match dir.strip_prefix(cwd).unwrap_or(dir).display().to_string() {
        s if s.is_empty() => ".".to_owned(),
        s => s,
    };
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(m) if m.file_type().is_symlink() => {
            return Err(Error::Usage(format!(
                "{shown} is a symbolic link: give the directory it leads to (evidence is never read through a link)"
            )));
        }
        _ => {
            return Err(Error::Usage(format!(
                "{shown} is not an evidence directory (give DIR, or run from the project)"
            )));
        }
    }
    let problems = verify::all(dir, loaded);
    for p in &problems {
        // A line starts with a file name found in the evidence: never a workflow command.
        out!("{}", for_runner(&p.to_string(), github));
    }
    if problems.is_empty() {
        out!(
            "ok: the evidence in {shown} agrees with itself, its manifest{}",
            if loaded.is_some() {
                " and the stage files"
            } else {
                " (stage files not checked: none loaded)"
            }
        );
        Ok(exit::PASSED)
    } else {
        errln!(
            "{} disagreement{} in {shown}",
            problems.len(),
            plural(problems.len())
        );
        Ok(exit::FAILED)
    }
}

/// The evidence directory's lock, waited for (interruptibly) if another run holds it.
async fn lock_evidence(project: &config::Project) -> Result<evidence::lock::EvidenceLock, Error> {
    lock_evidence_raw(project).await.map_err(lock_error)
}

fn lock_error(e: evidence::lock::LockError) -> Error {
    use evidence::lock::LockError;
    match e {
        LockError::Nested { .. } => Error::Usage(e.to_string()),
        LockError::Interrupted { .. } => Error::Interrupted(e.to_string()),
        LockError::Io { .. } => Error::Internal(e.to_string()),
    }
}

async fn lock_evidence_raw(
    project: &config::Project,
) -> Result<evidence::lock::EvidenceLock, evidence::lock::LockError> {
    let interrupted = async {
        if signals().wait_for(|n| *n >= 1).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let shown = project
        .evidence_dir
        .strip_prefix(&project.root)
        .unwrap_or(&project.evidence_dir);
    evidence::lock::acquire(&project.evidence_dir, shown, interrupted).await
}

/// How many SIGINT, SIGTERM and SIGHUP gaterun got, counted by one listener from its first
/// call (before a run seeks the evidence lock) to the end. One for the whole run: a tokio signal stream
/// sees only what comes after it is made, so a signal between the lock and the start of the
/// gates (the sweep of dead runs, which can take seconds) was swallowed and the run went on.
fn signals() -> watch::Receiver<usize> {
    static COUNT: std::sync::OnceLock<watch::Receiver<usize>> = std::sync::OnceLock::new();
    COUNT
        .get_or_init(|| {
            use tokio::signal::unix::{SignalKind, signal};
            let (tx, rx) = watch::channel(0);
            // SIGHUP too: a closed terminal or a CI runner's cancel must stop the gates and
            // write the evidence, not kill gaterun with its processes left running.
            if let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
            ) {
                tokio::spawn(async move {
                    loop {
                        tokio::select! {
                            Some(()) = int.recv() => {}
                            Some(()) = term.recv() => {}
                            Some(()) = hup.recv() => {}
                            else => return,
                        }
                        tx.send_modify(|n| *n += 1);
                    }
                });
            }
            rx
        })
        .clone()
}

/// First SIGINT/SIGTERM/SIGHUP (also one that came before the gates started): stop the gates
/// gracefully. Second: SIGKILL at once.
async fn watch_signals(cancel: watch::Sender<bool>) {
    let mut count = signals();
    let mut seen = 0;
    loop {
        let now = *count.borrow_and_update();
        if seen == 0 && now >= 1 {
            errln!("interrupted: stopping every gate (again to kill at once)");
            let _ = cancel.send(true);
        }
        if now >= 2 {
            process::force_kill();
        }
        seen = now;
        if count.changed().await.is_err() {
            return;
        }
    }
}

/// `HEAD`, with `+dirty` when the work tree has changes; `None` outside git.
fn git_commit(root: &std::path::Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let mut commit = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let dirty = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["status", "--porcelain", "--untracked-files=no"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .is_some_and(|o| o.status.success() && !o.stdout.is_empty());
    if dirty {
        commit.push_str("+dirty");
    }
    Some(commit)
}

fn check(loaded: &Loaded) -> i32 {
    let gates: usize = loaded.stages.iter().map(|s| s.gates.len()).sum();
    let phases = plan::phases(loaded);
    out!(
        "ok: {} stage file{}, {gates} gate{}, {} phase{}{}",
        loaded.stages.len(),
        plural(loaded.stages.len()),
        plural(gates),
        phases.len(),
        plural(phases.len()),
        if loaded.warnings.is_empty() {
            String::new()
        } else {
            format!(
                ", {} warning{}",
                loaded.warnings.len(),
                plural(loaded.warnings.len())
            )
        }
    );
    exit::PASSED
}

fn list(loaded: &Loaded, only: Option<u32>) -> i32 {
    for phase in plan::phases(loaded) {
        if only.is_some_and(|p| p != phase) {
            continue;
        }
        out!("phase {phase}");
        for s in plan::stages_of(loaded, phase) {
            let full = evidence::read_stage(&loaded.project, phase, s.key);
            let partial = evidence::read_partial(&loaded.project, phase, s.key);
            let line = |r: &results::StageResult| {
                let stale = if r.definition_hash != s.definition_hash {
                    ", stale: the stage file changed"
                } else {
                    ""
                };
                format!(
                    "{} {}/{} at {}{stale}",
                    r.status.as_str(),
                    r.passed_count(),
                    r.gates.len(),
                    r.started_at
                )
            };
            let last_full = match &full {
                None => "not run".to_owned(),
                Some(Err(_)) => "unreadable evidence".to_owned(),
                // A pass the rest of the evidence contradicts is shown as what it is.
                Some(Ok(r))
                    if r.status == Status::Passed
                        && r.definition_hash == s.definition_hash
                        && plan::not_passed(&loaded.project, s).is_some() =>
                {
                    format!(
                        "{}, not counted: its evidence does not agree (`gaterun verify`)",
                        line(r)
                    )
                }
                Some(Ok(r)) => line(r),
            };
            // The full run stays the stage's result: a partial one is shown beside it.
            let last = match &partial {
                None => last_full,
                Some(p) => format!(
                    "partial {}{} (last full run: {last_full})",
                    line(p),
                    p.selection_note()
                ),
            };
            // The stage file's name and the evidence's values: one inert line each.
            out!(
                "{}",
                text::shown(&format!(
                    "  stage {:<4} {:<36} {last}",
                    s.key.to_string(),
                    s.name
                ))
            );
            let full = full.and_then(Result::ok);
            for g in &s.gates {
                // Each gate's latest result: from the partial run if it ran there.
                let status = [partial.as_ref(), full.as_ref()]
                    .into_iter()
                    .flatten()
                    .find_map(|r| r.gates.iter().find(|x| x.id == g.id))
                    .map(|x| x.status.as_str())
                    .unwrap_or("-");
                let tags = if g.tags.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", g.tags.join(", "))
                };
                out!(
                    "{}",
                    text::shown(&format!("    {status:<11} {}: {}{tags}", g.id, g.title))
                );
            }
        }
    }
    exit::PASSED
}

fn report(loaded: &Loaded, only: Option<u32>) -> Result<i32, Error> {
    let phases: Vec<u32> = match only {
        Some(p) => vec![p],
        None => plan::phases(loaded).into_iter().collect(),
    };
    for phase in phases {
        let stages = plan::stages_of(loaded, phase);
        if stages.is_empty() {
            return Err(Error::Usage(format!("phase {phase} has no stages")));
        }
        let rel = format!("phase-{phase}/IMPLEMENTATION_LOG.md");
        let written = evidence::log::write(&loaded.project, phase, &stages);
        let mut manifest = evidence::manifest::Manifest::load_or_new(&loaded.project.evidence_dir);
        manifest.record_file(&loaded.project.evidence_dir, &rel);
        let recorded = manifest.write(&loaded.project, None);
        let path = written?;
        recorded?;
        out!(
            "wrote {}",
            path.strip_prefix(&loaded.project.root)
                .unwrap_or(&path)
                .display()
        );
    }
    Ok(exit::PASSED)
}
