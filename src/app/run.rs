//! `stage` and `phase`: set up the run (subreaper, temp root, containment, sweeps, secrets,
//! reporter, signals), run the stages, record the evidence, pick the exit code.

use std::io::IsTerminal;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::cli::{self, Cli};
use crate::config::Loaded;
use crate::database;
use crate::evidence;
use crate::exit::{self, Error};
use crate::process;
use crate::reporter;
use crate::results::Status;
use crate::runner;
use crate::signoff;
use crate::steps;

use super::ci::{for_runner, for_terminal};
use super::signals::watch_signals;

pub(super) async fn execute(
    loaded: &Loaded,
    runs: Vec<crate::plan::StageRun>,
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
    // Asked of git while the run sets up (a large work tree's `git status` takes a while);
    // still before any gate starts, so a gate's writes cannot make the commit look dirty.
    let commit = {
        let root = project.root.clone();
        std::thread::spawn(move || git_commit(&root))
    };
    let run_root = runner::tmp::RunRoot::create().map_err(Error::Internal)?;
    // Chosen only for a run that starts a process (or when asked for by name, so a request
    // that cannot be met is still an error): a run of plain checks has nothing to contain,
    // and its results say no containment.
    #[cfg(target_os = "linux")]
    let contain = cli.common.run.containment != cli::Containment::Auto
        || runs.iter().any(crate::plan::StageRun::starts_processes);
    #[cfg(target_os = "linux")]
    match contain.then(|| process::contain::choose(cli.common.run.containment.into())) {
        // Said when it is worth reading: asked for, a weaker fallback than a cgroup, or
        // `--verbose` (results.json records it in every case); a line on every run of the
        // usual cgroup was noise to a newcomer.
        Some(Ok(containment))
            if !cli.common.run.quiet
                && (cli.common.run.verbose
                    || cli.common.run.containment != cli::Containment::Auto
                    || !matches!(
                        containment.kind,
                        process::Containment::Cgroup2 | process::Containment::Cgroup1
                    )) =>
        {
            errln!("{}", for_runner(&containment.description, github));
        }
        None | Some(Ok(_)) => {}
        Some(Err(e)) => {
            let _ = std::fs::remove_dir_all(&run_root.path);
            return Err(Error::Usage(format!("--containment: {e}")));
        }
    }
    evidence::sweep_leftovers(project);
    for problem in runner::tmp::sweep_stale() {
        errln!("{}", for_runner(&format!("warning: {problem}"), github));
    }
    let tmp_root = run_root.path.clone();

    let progress = match cli.common.run.progress {
        cli::Progress::Always => true,
        cli::Progress::Never => false,
        cli::Progress::Auto => std::io::stderr().is_terminal() && std::env::var_os("CI").is_none(),
    };
    let secrets = runner::Secrets::declared(&loaded.stages);
    let json = cli.common.run.message_format == cli::MessageFormat::Json;
    if github {
        // Mask every declared secret, before anything could print it.
        reporter::github::Github::mask(&secrets.values);
    }
    let paint = reporter::paint::Paint::stderr();
    let (mut events_tx, events_rx) = mpsc::unbounded_channel();
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let evidence_shown = project
        .evidence_dir
        .strip_prefix(&project.root)
        .unwrap_or(&project.evidence_dir)
        .to_path_buf();
    // `--message-format json`: the runner's events pass through the JSON writer first.
    let tee = json.then(|| {
        let (runner_tx, runner_rx) = mpsc::unbounded_channel();
        let human = std::mem::replace(&mut events_tx, runner_tx);
        tokio::spawn(reporter::json::tee(runner_rx, human))
    });
    let reporter = tokio::spawn(reporter::run(
        events_rx,
        reporter::ReporterOptions {
            progress: progress && !github,
            quiet: cli.common.run.quiet,
            paint,
            failures: reporter::FailureOptions {
                output: cli.common.run.failure_output(),
                lines: cli.common.run.failure_lines as usize,
                evidence: evidence_shown.clone(),
                repeat: cli.common.run.repeat,
            },
            phase: matches!(cli.command, cli::CommandKind::Phase { .. }),
            current_phase: crate::plan::current_phase(loaded, None).ok(),
            github: github.then(|| project.root.clone()),
            cancel: Some(cancel_rx.clone()),
        },
    ));
    let signals = tokio::spawn(watch_signals(cancel_tx));

    let rc = Arc::new(runner::RunContext {
        project_root: project.root.clone(),
        gates_dir: project.gates_dir.clone(),
        evidence_dir: project.evidence_dir.clone(),
        tmp: runner::tmp::TmpDirs::new(tmp_root.clone(), cli.common.run.keep_tmp),
        log_cap: crate::about::LOG_CAP,
        events: events_tx,
        step_events: progress && !github,
        http: steps::Http::default(),
        postgres: database::postgres::Provider::new(&tmp_root),
        templates: Default::default(),
        mysql: database::mysql::Provider::new(&tmp_root),
        repeat: cli.common.run.repeat,
        secrets,
        fixed_ports: Default::default(),
        browser: steps::browser::Browser::new(&tmp_root),
    });
    let settings = runner::Settings {
        jobs: cli
            .common
            .run
            .jobs
            .map(|j| j as usize)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        keep_going: cli.common.run.keep_going,
        commit: commit.join().unwrap_or(None),
    };
    let mut recorder = evidence::recorder::Recorder::open(project, settings.commit.clone());
    let run_started = std::time::Instant::now();
    if json {
        reporter::json::run_started(reporter::json::RunStart {
            command: match cli.command {
                cli::CommandKind::Phase { .. } => "phase",
                _ => "stage",
            },
            project: &project.root,
            stages: runs
                .iter()
                .map(|r| reporter::StageRef {
                    phase: r.stage.phase,
                    stage: r.stage.key.to_string(),
                    name: r.stage.name.clone(),
                })
                .collect(),
            jobs: settings.jobs,
            repeat: cli.common.run.repeat,
            commit: settings.commit.as_deref(),
            started_at: std::time::SystemTime::now(),
        });
    }
    let phased = super::phases::run_by_phase(
        loaded,
        runs,
        &settings,
        rc.clone(),
        cancel_rx.clone(),
        &mut recorder,
        &mut |stage, result| signoff::follow(project, &loaded.stages, stage, result),
    )
    .await;
    let outcome = phased.results;
    // Whatever happened: template builds stop, the throw-away PostgreSQL cluster and MariaDB
    // server go.
    rc.templates.shutdown().await;
    tokio::join!(
        rc.postgres.shutdown(),
        rc.mysql.shutdown(),
        rc.browser.shutdown()
    );
    drop(rc);
    if let Some(tee) = tee {
        let _ = tee.await;
    }
    let _ = reporter.await;
    let interrupted = *cancel_rx.borrow();
    signals.abort();
    #[cfg(target_os = "linux")]
    process::contain::close_run();
    if !cli.common.run.keep_tmp {
        let _ = std::fs::remove_dir_all(&tmp_root);
    }
    drop(run_root);
    // A run that failed to write its evidence leaves no invocation file of an earlier run
    // standing for it; the manifest then says what is left.
    let results = recorder.finish_run(outcome)?;
    if github {
        let summary = project.evidence_dir.join("summary.md");
        reporter::github::append_summary(&evidence::markdown::summary(&results), &summary);
    }

    if !cli.common.run.quiet {
        let line = format!("evidence: {}", evidence_shown.join("index.html").display());
        reporter::say(&paint.dim(&line), github);
    }
    // `--message-format json`: the run's last line.
    let finish = |code: i32| {
        if json {
            reporter::json::run_finished(&results, code, run_started, &project.evidence_dir);
        }
        Ok(code)
    };
    let any = |s: Status| results.iter().flat_map(|r| &r.gates).any(|g| g.status == s);
    if interrupted {
        // Said as it is: an interrupt that came while the last gates were in `finally` (which
        // runs on after a first interrupt) cut no gate short.
        let notice = if any(Status::Interrupted) {
            "interrupted: every gate process was stopped; the gates cut short are marked interrupted in the evidence"
        } else {
            "interrupted: every gate process was stopped; no gate was cut short, each is recorded as it ended"
        };
        reporter::say(&paint.warn(notice), github);
        return finish(exit::INTERRUPTED);
    }
    if any(Status::Failed)
        || any(Status::Error)
        || results.iter().any(|r| r.status != Status::Passed)
    {
        return finish(exit::FAILED);
    }
    if let Some(blocked) = phased.blocked {
        errln!("{}", for_runner(&for_terminal(&blocked), github));
        return finish(exit::BLOCKED);
    }
    finish(exit::PASSED)
}

/// `HEAD`, with `+dirty` when the work tree has changes; `None` outside git.
fn git_commit(root: &std::path::Path) -> Option<String> {
    if !crate::config::may_be_in_git(root) {
        return None;
    }
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
