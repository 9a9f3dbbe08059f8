//! The one task that prints while gates run: a progress bar and a line per running gate on a
//! terminal, whole lines only in a CI log, GitHub groups and annotations when asked.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

use super::github;
use super::lines::{gate_line, stage_line};
use crate::events::Event;
use crate::results::Status;
use crate::text::{last_lines, one_line};

#[derive(Debug, Clone)]
pub struct ReporterOptions {
    pub progress: bool,
    pub quiet: bool,
    pub verbose: bool,
    /// GitHub Actions mode, with the project root for annotation paths.
    pub github: Option<std::path::PathBuf>,
    /// `--message-format json`: stdout is the events', the human report goes to stderr.
    pub stderr: bool,
}

struct Bars {
    multi: MultiProgress,
    stage: ProgressBar,
    gates: HashMap<String, ProgressBar>,
}

/// Consume events until every sender is gone.
pub async fn run(mut events: mpsc::UnboundedReceiver<Event>, opts: ReporterOptions) {
    let mut bars: Option<Bars> = None;
    let mut github = opts.github.as_ref().map(|_| github::Github::default());
    while let Some(event) = events.recv().await {
        match event {
            Event::StageStarted {
                label, name, gates, ..
            } => {
                let header = format!(
                    "{label} {name} ({gates} gate{})",
                    if gates == 1 { "" } else { "s" }
                );
                if opts.progress {
                    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
                    let stage = multi.add(ProgressBar::new(gates as u64));
                    stage.set_style(
                        ProgressStyle::with_template(
                            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} gates  {msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    stage.set_message(label.clone());
                    stage.enable_steady_tick(Duration::from_millis(100));
                    let _ = multi.println(&header);
                    bars = Some(Bars {
                        multi,
                        stage,
                        gates: HashMap::new(),
                    });
                } else if !opts.quiet {
                    say(&header, github.is_some(), opts.stderr);
                }
            }
            Event::GateStarted { gate, .. } => {
                if let Some(b) = bars.as_mut() {
                    let pb = b.multi.add(ProgressBar::new_spinner());
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
                if let Some(pb) = bars.as_ref().and_then(|b| b.gates.get(&gate)) {
                    pb.set_message(one_line(&step, 80));
                }
            }
            Event::GateFinished { result, stage } => {
                if let Some(gh) = github.as_mut() {
                    gh.gate_finished(&stage, &result);
                }
                let line = gate_line(&result);
                let show = !opts.quiet || result.status != Status::Passed;
                let mut text = if show { Some(line) } else { None };
                if opts.verbose
                    && result.status != Status::Passed
                    && let Some(t) = text.as_mut()
                {
                    for l in last_lines(&result.output, 20) {
                        t.push_str("\n      │ ");
                        t.push_str(&l);
                    }
                }
                match bars.as_mut() {
                    Some(b) => {
                        if let Some(pb) = b.gates.remove(&result.id) {
                            pb.finish_and_clear();
                            b.multi.remove(&pb);
                        }
                        b.stage.inc(1);
                        if let Some(t) = text {
                            let _ = b.multi.println(t);
                        }
                    }
                    None => {
                        if let Some(t) = text {
                            say(&t, github.is_some(), opts.stderr);
                        }
                    }
                }
            }
            Event::StageFinished { result } => {
                if let Some(b) = bars.take() {
                    b.stage.finish_and_clear();
                    let _ = b.multi.clear();
                }
                say(&stage_line(&result), github.is_some(), opts.stderr);
            }
        }
    }
    if let Some(gh) = github.as_mut() {
        gh.finish();
    }
}

/// One or more whole lines to stdout; under GitHub Actions made inert for the runner (no
/// gate output may become a workflow command). To stderr when stdout is the JSON events'.
fn say(text: &str, github: bool, stderr: bool) {
    let mut out: Box<dyn Write> = if stderr {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(std::io::stdout().lock())
    };
    if github {
        for line in text.split('\n') {
            let _ = writeln!(out, "{}", github::inert(line));
        }
    } else {
        let _ = writeln!(out, "{text}");
    }
    let _ = out.flush();
}
