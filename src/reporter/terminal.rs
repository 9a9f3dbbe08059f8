//! The one task that prints while gates run, all of it on stderr as cargo and nextest do (stdout
//! stays free for what a user pipes): a progress bar and a line per running gate on a
//! terminal, the same finished-gate lines with or without it, GitHub groups and annotations
//! when asked. Nothing else may write to stderr while the bar is drawn (a line written under it
//! shifts what the bar clears, and a copy of the bar stays on screen): the Ctrl-C notice comes
//! here too, and the bar is cleared before it.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::{mpsc, watch};

use super::failures::{FailureOptions, closing, detail, listed, output_tail};
use super::github;
use super::lines::{gate_line, stage_line};
use super::paint::Paint;
use super::verdict::{blocked_run, phase_verdict, rerun_command};
use crate::cli::FailureOutput;
use crate::events::Event;
use crate::results::{GateResult, StageResult, Status};
use crate::text::{one_line, shown};

/// What the terminal says at the first Ctrl-C (SIGINT, SIGTERM, SIGHUP).
pub const INTERRUPT_NOTICE: &str = "interrupted: stopping every gate (again to kill at once)";

/// The most of a running step's name a spinner line shows, so that it ends well before the
/// terminal's last column.
const STEP_CHARS: usize = 60;

#[derive(Debug, Clone)]
pub struct ReporterOptions {
    pub progress: bool,
    pub quiet: bool,
    pub paint: Paint,
    pub failures: FailureOptions,
    /// `phase N`: the run ends with each phase's verdict.
    pub phase: bool,
    /// The phase `gaterun stage S` runs without `--phase`, if any (for the rerun hint).
    pub current_phase: Option<u32>,
    /// GitHub Actions mode, with the project root for annotation paths.
    pub github: Option<std::path::PathBuf>,
    /// Becomes true at the first interrupt: the bar goes, the notice is printed.
    pub cancel: Option<watch::Receiver<bool>>,
}

struct Bars {
    #[cfg(unix)]
    _echo: Option<super::echo::NoEcho>,
    multi: MultiProgress,
    stage: ProgressBar,
    gates: HashMap<String, ProgressBar>,
}

impl Bars {
    /// Every bar and spinner off the screen, none left frozen.
    fn clear(self) {
        for pb in self.gates.values() {
            pb.finish_and_clear();
        }
        self.stage.finish_and_clear();
        let _ = self.multi.clear();
        // `_echo` goes last, echo back on once the bar is off the screen.
    }
}

struct Screen {
    bars: Option<Bars>,
    github: bool,
}

impl Screen {
    /// Whole lines, above the bar when there is one.
    fn say(&self, text: &str) {
        match &self.bars {
            Some(b) => {
                let _ = b.multi.println(text);
            }
            None => say(text, self.github),
        }
    }
}

/// Consume events until every sender is gone.
pub async fn run(mut events: mpsc::UnboundedReceiver<Event>, mut opts: ReporterOptions) {
    let paint = opts.paint;
    let mut screen = Screen {
        bars: None,
        github: opts.github.is_some(),
    };
    let mut interrupted = false;
    let mut github = opts.github.as_ref().map(|_| github::Github::default());
    let mut failed: Vec<(String, GateResult)> = Vec::new();
    let immediate = matches!(
        opts.failures.output,
        FailureOutput::Immediate | FailureOutput::ImmediateFinal
    );
    let mut cancel = opts.cancel.take();
    // The gates of the current stage that finished (started, then reported).
    let mut finished: std::collections::HashSet<String> = Default::default();
    // Every stage's result (without its gates' output), for the phase verdict; the stages
    // blocked without running not yet said; each stage label's phase and key, for a rerun.
    let mut done: Vec<StageResult> = Vec::new();
    let mut blocked: Vec<StageResult> = Vec::new();
    let mut keys: HashMap<String, (u32, String)> = HashMap::new();
    let mut open = false;
    loop {
        if !interrupted && cancel.as_ref().is_some_and(|c| *c.borrow()) {
            interrupted = true;
            if let Some(b) = screen.bars.take() {
                b.clear();
            }
            screen.say(&paint.warn(INTERRUPT_NOTICE));
        }
        // `biased`: a Ctrl-C is seen before the events it causes (the gates it stops).
        let event = tokio::select! {
            biased;
            changed = async {
                match cancel.as_mut() {
                    Some(c) => c.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            }, if cancel.is_some() && !interrupted => {
                if !changed {
                    cancel = None;
                }
                continue;
            }
            e = events.recv() => match e {
                Some(e) => e,
                None => break,
            },
        };
        match event {
            Event::StageStarted {
                label,
                name,
                gates,
                phase,
                stage,
            } => {
                if let Some(line) = blocked_run(&std::mem::take(&mut blocked), paint) {
                    screen.say(&line);
                }
                open = true;
                keys.insert(label.clone(), (phase, stage));
                // A stage's name, a step's, a file's are the project's text, not gaterun's:
                // shown with their escapes visible, never acted on.
                let name = shown(&name);
                let header = paint.bold(&format!(
                    "{label} {name} ({gates} gate{})",
                    if gates == 1 { "" } else { "s" }
                ));
                finished.clear();
                screen.bars = (opts.progress && !interrupted).then(bars).flatten();
                if let Some(b) = &screen.bars {
                    b.stage.set_length(gates as u64);
                    b.stage.set_message(label.clone());
                }
                if !opts.quiet {
                    screen.say(&header);
                }
            }
            Event::GateStarted { gate, .. } => {
                if let Some(b) = screen.bars.as_mut() {
                    let pb = b.multi.add(ProgressBar::new_spinner());
                    // `{wide_msg}`: the step's name cut to the terminal's width, read again at
                    // each draw (indicatif pads every line to the width anyway: a line that
                    // wrapped would make the bar clear one line short and leave a copy).
                    pb.set_style(
                        ProgressStyle::with_template("  {spinner} {prefix} {wide_msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    pb.set_prefix(gate.clone());
                    pb.enable_steady_tick(Duration::from_millis(100));
                    b.gates.insert(gate, pb);
                }
            }
            Event::StepStarted { gate, step, .. } => {
                if let Some(pb) = screen.bars.as_ref().and_then(|b| b.gates.get(&gate)) {
                    pb.set_message(shown(&one_line(&step, STEP_CHARS)));
                }
            }
            Event::GateFinished { mut result, stage } => {
                finished.insert(result.id.clone());
                if let Some(gh) = github.as_mut() {
                    gh.gate_finished(&stage, &result);
                }
                let mut text = None;
                if !opts.quiet || result.status != Status::Passed || result.flaky {
                    let mut line = gate_line(&result, opts.failures.repeat, paint);
                    // An interrupted gate is a line: what it printed till then is no failure.
                    if listed(&result) && result.status != Status::Interrupted {
                        line.push_str(&detail(&stage, &result, immediate, &opts.failures, paint));
                    }
                    text = Some(line);
                }
                if let Some(b) = screen.bars.as_mut() {
                    if let Some(pb) = b.gates.remove(&result.id) {
                        pb.finish_and_clear();
                        b.multi.remove(&pb);
                    }
                    b.stage.inc(1);
                }
                if let Some(t) = text {
                    screen.say(&t);
                }
                if listed(&result) {
                    // Only the tail is ever shown again: the rest of a capped 8 MiB goes.
                    result.output = output_tail(&result.output, opts.failures.lines).join("\n");
                    failed.push((stage, *result));
                }
            }
            Event::StageFinished { mut result } => {
                for g in &mut result.gates {
                    g.output = String::new();
                }
                done.push((*result).clone());
                if !open && result.status == Status::Blocked {
                    // Recorded blocked without running: said with the next ones, if any.
                    blocked.push(*result);
                    continue;
                }
                open = false;
                if let Some(line) = blocked_run(&std::mem::take(&mut blocked), paint) {
                    screen.say(&line);
                }
                if let Some(b) = screen.bars.take() {
                    b.clear();
                }
                let never = result
                    .gates
                    .iter()
                    .filter(|g| !finished.contains(&g.id))
                    .count();
                if result.status == Status::Interrupted && never > 0 {
                    screen.say(&format!(
                        "  {} {}",
                        paint.dim("-"),
                        paint.dim(&format!(
                            "{never} gate{} not run",
                            crate::text::plural(never)
                        ))
                    ));
                }
                screen.say(&stage_line(&result, paint));
            }
        }
    }
    if let Some(b) = screen.bars.take() {
        b.clear();
    }
    if let Some(line) = blocked_run(&blocked, paint) {
        screen.say(&line);
    }
    if opts.phase {
        let mut phases: Vec<u32> = done.iter().map(|s| s.phase).collect();
        phases.dedup();
        for p in phases {
            let of: Vec<&StageResult> = done.iter().filter(|s| s.phase == p).collect();
            screen.say(&phase_verdict(p, &of, paint));
        }
    }
    if let Some(list) = closing(&failed, &opts.failures, paint) {
        screen.say(&list);
        // One command per stage, in the list's order, rerunning just its listed gates.
        let mut stages: Vec<&str> = failed.iter().map(|(s, _)| s.as_str()).collect();
        stages.dedup();
        for label in stages {
            let Some((phase, key)) = keys.get(label) else {
                continue;
            };
            let gates: Vec<&str> = failed
                .iter()
                .filter(|(s, _)| s == label)
                .map(|(_, g)| g.id.as_str())
                .collect();
            let cmd = rerun_command(*phase, opts.current_phase, key, &gates);
            screen.say(&paint.dim(&format!("to rerun: {cmd}")));
        }
    }
    if let Some(gh) = github.as_mut() {
        gh.finish();
    }
}

/// The bar of a stage, or none when stderr is no terminal (indicatif would draw nothing and
/// drop every line printed above it). The bar takes the width the rest of its line leaves, at
/// each draw: a line of at least ~40 columns fits.
fn bars() -> Option<Bars> {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    if multi.is_hidden() {
        return None;
    }
    let stage = multi.add(ProgressBar::new(0));
    stage.set_style(
        ProgressStyle::with_template("{spinner} {msg} {pos}/{len} gates [{elapsed}] {wide_bar}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    stage.enable_steady_tick(Duration::from_millis(100));
    Some(Bars {
        #[cfg(unix)]
        _echo: super::echo::NoEcho::new(),
        multi,
        stage,
        gates: HashMap::new(),
    })
}

/// One or more whole lines to stderr; under GitHub Actions made inert for the runner (no
/// gate output may become a workflow command).
pub fn say(text: &str, github: bool) {
    let mut out = std::io::stderr().lock();
    if github {
        for line in text.split('\n') {
            let _ = writeln!(out, "{}", github::inert(line));
        }
    } else {
        let _ = writeln!(out, "{text}");
    }
    let _ = out.flush();
}
