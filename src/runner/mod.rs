//! The dispatcher: stages one after another, the gates of a stage concurrently (up to `--jobs`,
//! or one at a time for `serial: true`), interrupts, and the evidence written after each stage.
//! Gate tasks report progress as events to the one reporter task that owns the terminal.

pub mod command;
pub mod gate;
pub mod tmp;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Semaphore, mpsc, watch};

use crate::config::{Project, Stage};
use crate::events::Event;
use crate::evidence;
use crate::results::{GateResult, StageResult, Status};

/// What every gate of a run shares.
pub struct RunContext {
    pub project_root: PathBuf,
    pub gates_dir: PathBuf,
    pub evidence_dir: PathBuf,
    /// Gates' temp directories.
    pub tmp: tmp::TmpDirs,
    pub log_cap: usize,
    pub events: mpsc::UnboundedSender<Event>,
    pub http: crate::steps::Http,
    pub postgres: crate::database::postgres::Provider,
    /// `--repeat N`: runs of each gate.
    pub repeat: u32,
    /// Every secret any gate of the project declares: the names, kept from the environment of
    /// the gates that do not declare them, and the values set, masked in every gate's output.
    pub secrets: Secrets,
}

/// The project's declared secrets.
#[derive(Debug, Default, Clone)]
pub struct Secrets {
    pub names: std::collections::BTreeSet<String>,
    pub values: Vec<String>,
}

impl Secrets {
    /// Every `secrets:` name of every gate, with its value from gaterun's environment.
    pub fn declared(stages: &[crate::config::Stage]) -> Secrets {
        let names: std::collections::BTreeSet<String> = stages
            .iter()
            .flat_map(|s| &s.gates)
            .flat_map(|g| g.secrets.iter().cloned())
            .collect();
        let mut values: Vec<String> = names
            .iter()
            .filter_map(|n| std::env::var(n).ok())
            .filter(|v| !v.is_empty())
            .collect();
        // The password of the PostgreSQL server gaterun is given is a secret too: it is in
        // every PostgreSQL gate's DATABASE_URL, which a tool may print.
        if let Some(password) = std::env::var(crate::database::postgres::URL_VAR)
            .ok()
            .and_then(|u| reqwest::Url::parse(&u).ok())
            .and_then(|u| u.password().map(str::to_owned))
        {
            let decoded = percent_decode(&password);
            values.extend([password, decoded].into_iter().filter(|p| !p.is_empty()));
        }
        Secrets { names, values }
    }
}

impl RunContext {
    pub fn send(&self, event: Event) {
        let _ = self.events.send(event);
    }
}

/// One stage to run, with the gates selected in it.
pub struct StageRun {
    pub stage: Arc<Stage>,
    /// Indexes into `stage.gates`, in definition order.
    pub selected: Vec<usize>,
    /// The `--gate`/`--tag`/`--shard` filters, when given: the run is then partial, whatever
    /// it selected.
    pub selection: Option<crate::results::Selection>,
}

impl StageRun {
    pub fn partial(&self) -> bool {
        self.selection.is_some()
    }
}

pub struct Settings {
    pub jobs: usize,
    pub keep_going: bool,
    pub commit: Option<String>,
}

/// Run the stages in order. A stage that does not pass blocks the ones after it: they are
/// recorded as blocked without running, or with `keep_going`, run but still recorded blocked.
pub async fn run_stages(
    project: &Project,
    all_stages: &[Stage],
    runs: Vec<StageRun>,
    settings: &Settings,
    rc: Arc<RunContext>,
    cancel: watch::Receiver<bool>,
    manifest: &mut evidence::manifest::Manifest,
) -> Result<Vec<StageResult>, evidence::EvidenceError> {
    let mut results = Vec::new();
    let mut blocker: Option<String> = None;
    for run in runs {
        if *cancel.borrow() {
            break;
        }
        let stage = run.stage.clone();
        let started_at =
            humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let started = Instant::now();
        let mut writer = None;
        let gates = match &blocker {
            Some(by) if !settings.keep_going => blocked_gates(&run, by),
            _ => {
                rc.send(Event::StageStarted {
                    label: stage.label(),
                    name: stage.name.clone(),
                    gates: run.selected.len(),
                });
                let w = Arc::new(evidence::StageWriter::begin(
                    project,
                    stage.phase,
                    &stage.key.to_string(),
                    run.partial(),
                )?);
                writer = Some(w.clone());
                // One copy of the evidence for the stage's gates (`GATERUN_EVIDENCE`): the
                // evidence does not change while they run, and a copy per gate would cost
                // the whole evidence once per gate.
                let copy = evidence_copy_dir(&rc, &stage);
                let _ = std::fs::remove_dir_all(&copy);
                if let Err(e) = evidence_copy(&rc, &stage) {
                    errln!("warning: {e}");
                }
                let gates = run_gates(&run, settings.jobs, rc.clone(), cancel.clone(), w).await;
                let _ = std::fs::remove_dir_all(&copy);
                gates
            }
        };
        let mut status = StageResult::status_from(&gates);
        let mut blocked_by = None;
        if let Some(by) = &blocker
            && status == Status::Passed
        {
            status = Status::Blocked;
            blocked_by = Some(by.clone());
        }
        if status != Status::Passed && status != Status::Blocked && blocker.is_none() {
            blocker = Some(format!("stage {} ({}) did not pass", stage.key, stage.name));
        }
        if status == Status::Blocked && blocked_by.is_none() {
            blocked_by = blocker.clone();
        }
        let result = StageResult {
            gaterun_version: crate::VERSION.to_owned(),
            phase: stage.phase,
            stage: stage.key.to_string(),
            name: stage.name.clone(),
            definition_hash: stage.definition_hash.clone(),
            status,
            partial: run.partial(),
            selection: run.selection.clone(),
            started_at,
            duration_ms: started.elapsed().as_millis() as u64,
            commit: settings.commit.clone(),
            blocked_by,
            containment: Some(crate::process::containment().as_str().to_owned()),
            gates,
            file: stage.file.display().to_string(),
            goal: stage.goal.clone(),
            risk: stage.risk.clone(),
            open_questions: stage.open_questions.clone(),
        };
        let phase_stages: Vec<&Stage> = all_stages
            .iter()
            .filter(|s| s.phase == stage.phase)
            .collect();
        if let Err(e) = write_evidence(project, &result, writer, &phase_stages) {
            // What this run could not write must not leave the stage's previous evidence
            // claiming a result the history contradicts.
            evidence::discard_stage(project, result.phase, &result.stage, result.partial);
            manifest.forget_stage(project, result.phase, &result.stage, result.partial);
            let dir = &project.evidence_dir;
            manifest.record_file(dir, "history.jsonl");
            manifest.record_file(
                dir,
                &format!("phase-{}/IMPLEMENTATION_LOG.md", result.phase),
            );
            let _ = manifest.write(project, settings.commit.clone());
            return Err(e);
        }
        manifest.record_stage(project, &result, Some(&stage));
        manifest.record_file(&project.evidence_dir, "history.jsonl");
        let phase_rel = format!("phase-{}", stage.phase);
        manifest.record_file(
            &project.evidence_dir,
            &format!("{phase_rel}/IMPLEMENTATION_LOG.md"),
        );
        // SIGNOFF.md re-hashed only when gaterun wrote or removed it: one a gate wrote by the
        // evidence's real path stays unlisted, and `verify` names it.
        if !result.partial && signoff_after(project, all_stages, &result) {
            manifest.record_file(&project.evidence_dir, &format!("{phase_rel}/SIGNOFF.md"));
        }
        // Written after each stage: the next stage's gates see it in their copy of the evidence.
        manifest.write(project, settings.commit.clone())?;
        rc.send(Event::StageFinished {
            result: Box::new(result.clone()),
        });
        results.push(result);
    }
    Ok(results)
}

/// Where the stage's gates find their copy of the evidence, in the run's temp root.
pub fn evidence_copy_dir(rc: &RunContext, stage: &Stage) -> PathBuf {
    rc.tmp.root().join(format!(
        "{}-phase-{}-{}",
        evidence::SNAPSHOT_DIR,
        stage.phase,
        stage.key.dir_name()
    ))
}

/// The stage's copy of the evidence, made if it is not there (first for the stage; again if
/// something removed the temp root meanwhile): built aside and renamed into place, one maker at
/// a time, so no gate sees half of it.
pub fn evidence_copy(rc: &RunContext, stage: &Stage) -> Result<PathBuf, String> {
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let copy = evidence_copy_dir(rc, stage);
    if copy.is_dir() {
        return Ok(copy);
    }
    let aside = copy.with_extension("new");
    let _ = std::fs::remove_dir_all(&aside);
    let made =
        evidence::snapshot(&rc.evidence_dir, &aside).and_then(|()| std::fs::rename(&aside, &copy));
    if let Err(e) = made {
        let _ = std::fs::remove_dir_all(&aside);
        return Err(format!("failed to copy the evidence for the gates: {e}"));
    }
    Ok(copy)
}

/// A stage's evidence: the history line, its directory, the phase's implementation log.
fn write_evidence(
    project: &Project,
    result: &StageResult,
    writer: Option<Arc<evidence::StageWriter>>,
    phase_stages: &[&Stage],
) -> Result<(), evidence::EvidenceError> {
    evidence::history::append(project, result)?;
    // Every gate task has ended, so the writer is ours alone again.
    match writer.and_then(Arc::into_inner) {
        Some(w) => w.finish(project, result)?,
        None => evidence::write_stage(project, result)?,
    }
    if let Err(e) = evidence::log::write(project, result.phase, phase_stages) {
        let _ = std::fs::remove_file(
            evidence::phase_dir(project, result.phase).join("IMPLEMENTATION_LOG.md"),
        );
        return Err(e);
    }
    Ok(())
}

/// The sign-off follows the ledger: a criteria stage that no longer passes takes the phase's
/// SIGNOFF.md with it; the sign-off stage passing writes it — by gaterun, from the evidence,
/// never by a gate (a gate's `gaterun signoff` only checks the criteria). Whether it wrote or
/// removed SIGNOFF.md.
fn signoff_after(project: &Project, all_stages: &[Stage], result: &StageResult) -> bool {
    let Some(key) = crate::config::StageKey::parse(&result.stage) else {
        return false;
    };
    let path = evidence::phase_dir(project, result.phase).join("SIGNOFF.md");
    if key.number < crate::signoff::SIGNOFF_STAGE {
        if result.status != Status::Passed {
            let _ = std::fs::remove_file(&path);
            return true;
        }
        return false;
    }
    if key.number != crate::signoff::SIGNOFF_STAGE || result.status != Status::Passed {
        return false;
    }
    match crate::signoff::write(project, all_stages, result.phase) {
        Ok(Ok(_)) => {}
        Ok(Err(unmet)) => {
            let _ = std::fs::remove_file(&path);
            errln!(
                "warning: stage {} passed, but phase {} cannot be signed off: {}",
                result.stage,
                result.phase,
                unmet.join("; ")
            );
        }
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            errln!("warning: {e}");
        }
    }
    true
}

fn blocked_gates(run: &StageRun, by: &str) -> Vec<GateResult> {
    run.selected
        .iter()
        .map(|&i| {
            not_run(
                &run.stage,
                i,
                Status::Blocked,
                format!("not run: blocked, {by}"),
            )
        })
        .collect()
}

fn not_run(stage: &Stage, i: usize, status: Status, message: String) -> GateResult {
    let g = &stage.gates[i];
    GateResult {
        id: g.id.clone(),
        title: g.title.clone(),
        status,
        duration_ms: 0,
        attempts: 0,
        message: Some(message),
        file: stage.file.display().to_string(),
        line: g.line,
        log: format!("logs/{}.log", g.id),
        steps: Vec::new(),
        flaky: false,
        failed_runs: Vec::new(),
        peak_memory_bytes: None,
        cpu_time_ms: None,
        output: String::new(),
    }
}

async fn run_gates(
    run: &StageRun,
    jobs: usize,
    rc: Arc<RunContext>,
    mut cancel: watch::Receiver<bool>,
    writer: Arc<evidence::StageWriter>,
) -> Vec<GateResult> {
    let limit = if run.stage.serial { 1 } else { jobs.max(1) };
    let permits = Arc::new(Semaphore::new(limit));
    let mut handles = Vec::new();
    for &i in &run.selected {
        // Taking the permit before spawning starts gates in definition order, which is what
        // makes a `serial: true` stage run one gate after another, in order.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.ok(),
            _ = crate::steps::cancelled(&mut cancel) => None,
        };
        let Some(permit) = permit else {
            handles.push(None);
            continue;
        };
        let stage = run.stage.clone();
        let rc = rc.clone();
        let cancel = cancel.clone();
        let writer = writer.clone();
        handles.push(Some(tokio::spawn(async move {
            let permit = permit;
            rc.send(Event::GateStarted {
                stage: stage.label(),
                gate: stage.gates[i].id.clone(),
            });
            let mut runs = Vec::new();
            for _ in 0..rc.repeat.max(1) {
                if !runs.is_empty() && *cancel.borrow() {
                    break;
                }
                runs.push(gate::run(stage.clone(), i, rc.clone(), cancel.clone()).await);
            }
            let result = combine_runs(runs);
            rc.send(Event::GateFinished {
                stage: stage.label(),
                result: Box::new(result.clone()),
            });
            // The next gate may start while this one's log is written.
            drop(permit);
            let (log, output) = (result.log.clone(), result.output.clone());
            let _ = tokio::task::spawn_blocking(move || writer.write_log(&log, &output)).await;
            result
        })));
    }
    let mut results = Vec::new();
    for (h, &i) in handles.into_iter().zip(&run.selected) {
        let result = match h {
            None => not_run(
                &run.stage,
                i,
                Status::Interrupted,
                "not run: interrupted".to_owned(),
            ),
            Some(h) => match h.await {
                Ok(r) => r,
                Err(e) => not_run(
                    &run.stage,
                    i,
                    Status::Error,
                    format!("internal error: the gate task failed: {e}"),
                ),
            },
        };
        results.push(result);
    }
    results
}

/// One gate's `--repeat` runs as one result: all passed, none passed (the last failure), or
/// mixed — passed and flaky, with the failed runs listed. The log keeps every run: the
/// failed ones' last lines and the whole of the run reported.
fn combine_runs(mut runs: Vec<GateResult>) -> GateResult {
    use crate::results::FailedRun;
    if runs.len() <= 1 {
        return runs.pop().expect("a gate ran at least once");
    }
    let n = runs.len() as u32;
    let total: u64 = runs.iter().map(|r| r.duration_ms).sum();
    let passes = runs.iter().filter(|r| r.status == Status::Passed).count();
    let base_index = if let Some(i) = runs.iter().position(|r| r.status == Status::Interrupted) {
        i
    } else if passes == runs.len() || passes == 0 {
        runs.len() - 1
    } else {
        runs.iter()
            .rposition(|r| r.status == Status::Passed)
            .expect("one passed")
    };
    let mut output = String::new();
    let mut failed_runs = Vec::new();
    for (k, r) in runs.iter().enumerate() {
        output.push_str(&format!(
            "═══ run {} of {n}: {}\n",
            k + 1,
            r.status.as_str()
        ));
        if k == base_index {
            output.push_str(&r.output);
        } else {
            let lines: Vec<&str> = r.output.lines().collect();
            output.push_str(&lines[lines.len().saturating_sub(200)..].join("\n"));
            output.push('\n');
        }
        if r.status != Status::Passed {
            failed_runs.push(FailedRun {
                run: k as u32 + 1,
                status: r.status,
                duration_ms: r.duration_ms,
                message: r.message.clone(),
            });
        }
    }
    let peak = runs.iter().filter_map(|r| r.peak_memory_bytes).max();
    let cpu = runs
        .iter()
        .filter_map(|r| r.cpu_time_ms)
        .reduce(u64::saturating_add);
    let mut base = runs.swap_remove(base_index);
    base.peak_memory_bytes = peak;
    base.cpu_time_ms = cpu;
    base.attempts = n;
    base.duration_ms = total;
    base.output = output;
    if base.status == Status::Passed && !failed_runs.is_empty() {
        base.flaky = true;
        base.failed_runs = failed_runs;
    }
    base
}

/// `%XX` escapes decoded (what a URL's password stands for).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
