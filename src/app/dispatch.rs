//! The one match on the command: each arm loads what it needs, calls the part that does the
//! work and returns the exit code; `main_with` prints the error, if any, and answers GitHub.

use std::path::{Path, PathBuf};

use crate::cli::{Cli, CommandKind};
use crate::config::{self, LoadOptions, Loaded};
use crate::exit::{self, Error};
use crate::plan;
use crate::reporter::github;
use crate::reporter::paint::Paint;
use crate::schema;
use crate::text::{self, plural};

use super::ci::{annotate, for_runner, for_terminal, outputs};
use super::lock::{lock_evidence, lock_or_nested};
use super::project::locate;
use super::signals::signals;
use super::{init, inspect, merge, run, signoff};

/// Run the command line and return the process exit code.
pub fn main_with(cli: Cli) -> i32 {
    crate::reporter::paint::set_choice(cli.common.color);
    // A run's stage files are loaded before the runtime is built: how many gates can run at
    // once sets its worker threads.
    let preloaded = match cli.command {
        CommandKind::Stage { .. } | CommandKind::Phase { .. } => {
            let cwd = std::env::current_dir().unwrap_or_default();
            Some(load(
                &load_options(&cli, cwd),
                github::enabled(cli.common.github),
            ))
        }
        _ => None,
    };
    let workers = workers(&cli, preloaded.as_ref().and_then(|l| l.as_ref().ok()));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            errln!("error: failed to start the async runtime: {e}");
            return exit::FAILED;
        }
    };
    let github = github::enabled(cli.common.github);
    let evidence_flag = cli.common.evidence.clone();
    let code = match runtime.block_on(run(cli, preloaded)) {
        Ok(code) => code,
        Err(Error::Config(diags)) => {
            if github {
                annotate(&diags);
            }
            let text = for_runner(&Error::Config(diags).to_string(), github);
            errln!("{}", Paint::stderr().diagnostics(&text));
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
        let cwd = std::env::current_dir().unwrap_or_default();
        outputs(
            code,
            &locate(&cwd, None, evidence_flag.as_deref()).evidence_dir,
        );
    }
    code
}

/// The runtime's worker threads: one per gate that can run at once (the most gates of any
/// stage, `--jobs`, the machine's cores), at least one. A run of one gate at a time gets one
/// worker, which hands nothing between threads: each of its HTTP requests wakes no second
/// thread to steal what the first will do anyway.
fn workers(cli: &Cli, loaded: Option<&Loaded>) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let jobs = cli.common.run.jobs.map_or(cores, |j| j as usize);
    let gates = loaded.map_or(cores, |l| {
        l.stages.iter().map(|s| s.gates.len()).max().unwrap_or(1)
    });
    cores.min(jobs).min(gates).max(1)
}

fn load_options(cli: &Cli, cwd: PathBuf) -> LoadOptions {
    LoadOptions {
        cwd,
        gates: cli.common.gates.clone(),
        evidence: cli.common.evidence.clone(),
    }
}

async fn run(cli: Cli, preloaded: Option<Result<Loaded, Error>>) -> Result<i32, Error> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::Internal(format!("failed to read the current directory: {e}")))?;
    let opts = load_options(&cli, cwd.clone());
    // `load` below is this closure: the stage files `main_with` loaded already, else loaded
    // now (the `load` it calls is the function).
    let mut preloaded = preloaded;
    let mut load = |opts: &LoadOptions, on_github: bool| {
        preloaded
            .take()
            .unwrap_or_else(|| self::load(opts, on_github))
    };
    let on_github = github::enabled(cli.common.github);
    let filters = plan::Filters {
        gate_ids: &cli.common.run.gate_ids,
        tags: &cli.common.run.tags,
        shard: cli.common.run.shard,
    };
    match &cli.command {
        CommandKind::Schema { events } => {
            use std::io::Write as _;
            let text = if *events {
                schema::events_json()
            } else {
                schema::json()
            };
            let _ = write!(std::io::stdout().lock(), "{text}");
            Ok(exit::PASSED)
        }
        CommandKind::Init { template, phase } => {
            let project = locate(&cwd, cli.common.gates.as_deref(), None);
            init::command(&project.root, &project.gates_dir, template, *phase)
        }
        CommandKind::Verify { dir } => {
            let loaded = match config::load(&opts) {
                Ok(l) => Some(l),
                Err(diags) => {
                    // Why, in a word: away from the project (a downloaded artifact) it is "no
                    // gates directory here", which a reviewer expects; anything else they
                    // should see.
                    // The message may quote a crafted stage file: one inert line.
                    let first = diags.first().map(|d| d.message.as_str()).unwrap_or("none");
                    errln!(
                        "note: the stage files did not load ({} error{}, the first: {}): definitions are not checked",
                        diags.len(),
                        plural(diags.len()),
                        text::shown(first)
                    );
                    None
                }
            };
            let project = project_of(&loaded, &cwd, &cli);
            let dir = dir
                .as_ref()
                .map(|d| cwd.join(d))
                .unwrap_or(project.evidence_dir);
            inspect::verify(
                &dir,
                &cwd,
                loaded.as_ref(),
                github::enabled(cli.common.github),
            )
        }
        CommandKind::Merge { dirs } => {
            // The stage files, when at hand, give gate order, risks and questions; shards'
            // evidence merges without them too.
            let loaded = config::load(&opts).ok();
            let project = project_of(&loaded, &cwd, &cli);
            let dirs: Vec<PathBuf> = dirs.iter().map(|d| cwd.join(d)).collect();
            // Bad arguments are refused before the evidence directory is touched.
            let _lock = if dirs.iter().all(|d| d.is_dir()) {
                Some(lock_evidence(&project).await?)
            } else {
                None
            };
            merge::command(&project, loaded.as_ref(), &dirs)
        }
        CommandKind::Check => {
            let loaded = load(&opts, on_github)?;
            // A run makes each undefined `${NAME}` its gate's error; `check` refuses them all.
            if !loaded.undefined.is_empty() {
                return Err(Error::Config(loaded.undefined));
            }
            // Nothing to check is no `ok`: a CI step pointed at the wrong directory must fail.
            if loaded.stages.is_empty() {
                let project = &loaded.project;
                let dir = config::relative(&project.gates_dir, &project.root);
                return Err(Error::Config(vec![config::Diagnostic::error(
                    &dir,
                    0,
                    0,
                    format!(
                        "no stage files under {}: nothing to check (`gaterun init` writes a skeleton)",
                        dir.display()
                    ),
                )]));
            }
            Ok(inspect::check(&loaded))
        }
        CommandKind::List { phase } => inspect::list(&load(&opts, on_github)?, *phase),
        CommandKind::Report { phase } => {
            let loaded = load(&opts, on_github)?;
            let _lock = lock_evidence(&loaded.project).await?;
            inspect::report(&loaded, *phase)
        }
        CommandKind::Signoff { phase } => {
            let loaded = load(&opts, on_github)?;
            // Run by a gate of the run holding the evidence (stage 10): check, write nothing.
            match lock_or_nested(&loaded.project).await? {
                Ok(_lock) => signoff::command(&loaded, *phase, None),
                Err(pid) => signoff::command(&loaded, *phase, Some(pid)),
            }
        }
        CommandKind::Stage { stage, phase, .. } => {
            let loaded = load(&opts, on_github)?;
            let select = || {
                let phase = plan::current_phase(&loaded, *phase)?;
                plan::for_stage(&loaded, phase, stage, cli.common.run.prereqs, &filters)
            };
            select()?;
            // Signals are counted from here on, whether or not the lock must be waited for:
            // one that comes before the gates start stops them. Then wait for another run on
            // this evidence, and check the prerequisites again: the run waited for may have
            // re-run a prerequisite and failed it.
            let _ = signals();
            let lock = lock_evidence(&loaded.project).await?;
            let runs = select()?;
            run::execute(&loaded, runs, &cli, lock).await
        }
        CommandKind::Phase { phase, .. } => {
            let loaded = load(&opts, on_github)?;
            let select = || plan::for_phase(&loaded, *phase, cli.common.run.prereqs, &filters);
            select()?;
            let _ = signals();
            // As for a stage: the run waited for may have withdrawn an earlier phase's sign-off.
            let lock = lock_evidence(&loaded.project).await?;
            run::execute(&loaded, select()?, &cli, lock).await
        }
    }
}

/// The stage files, loaded and valid, their warnings printed.
fn load(opts: &LoadOptions, on_github: bool) -> Result<Loaded, Error> {
    let loaded = config::load(opts).map_err(Error::Config)?;
    // A warning quotes the stage file: under GitHub Actions, no line of it is a command.
    for w in &loaded.warnings {
        errln!(
            "{}",
            Paint::stderr().diagnostics(&for_runner(&w.to_string(), on_github))
        );
    }
    Ok(loaded)
}

/// The project as loaded, or where it would be when the stage files did not load.
fn project_of(loaded: &Option<Loaded>, cwd: &Path, cli: &Cli) -> config::Project {
    match loaded {
        Some(l) => l.project.clone(),
        None => locate(cwd, None, cli.common.evidence.as_deref()),
    }
}
