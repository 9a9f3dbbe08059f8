//! `--message-format json`: every event of the run as one JSON line on stdout (the human report
//! is on stderr then). A task between the runner and the terminal reporter writes each event
//! and passes it on, so the human path is untouched, and costs nothing, when JSON is not asked.
//! Every stage and every gate gets its started and finished line, whatever happened: a stage
//! blocked by an earlier one, or gates an interrupt kept from starting, are reported from
//! their results when their stage finishes.

use std::collections::HashSet;
use std::io::Write;

use tokio::sync::mpsc;

use super::event_format::{Counts, Line, StageRef, to_line};
use crate::events::Event;
use crate::results::{GateResult, StageResult, Status};

/// The stage whose gates are running.
struct Current {
    phase: u32,
    stage: String,
    /// Gates reported started.
    started: HashSet<String>,
}

/// Write each event as JSON, then pass it to the human reporter, until the runner is done.
pub async fn tee(mut events: mpsc::UnboundedReceiver<Event>, human: mpsc::UnboundedSender<Event>) {
    let mut current: Option<Current> = None;
    while let Some(event) = events.recv().await {
        let mut lines = Vec::new();
        match &event {
            Event::StageStarted {
                phase,
                stage,
                name,
                gates,
                ..
            } => {
                lines.push(to_line(&Line::StageStarted {
                    phase: *phase,
                    stage,
                    name,
                    gates: *gates,
                }));
                current = Some(Current {
                    phase: *phase,
                    stage: stage.clone(),
                    started: HashSet::new(),
                });
            }
            Event::GateStarted { gate } => {
                if let Some(c) = current.as_mut() {
                    lines.push(to_line(&Line::GateStarted {
                        phase: c.phase,
                        stage: &c.stage,
                        gate,
                    }));
                    c.started.insert(gate.clone());
                }
            }
            Event::StepStarted { .. } => {}
            Event::GateFinished { result, .. } => {
                if let Some(c) = current.as_ref() {
                    gate_finished(c.phase, &c.stage, result, &mut lines);
                }
            }
            Event::StageFinished { result } => {
                stage_finished(current.take(), result, &mut lines);
            }
        }
        write_lines(&lines);
        let _ = human.send(event);
    }
}

fn gate_finished(phase: u32, stage: &str, result: &GateResult, lines: &mut Vec<String>) {
    for (index, step) in result.steps.iter().enumerate() {
        lines.push(to_line(&Line::StepFinished {
            phase,
            stage,
            gate: &result.id,
            index,
            result: step,
        }));
    }
    lines.push(to_line(&Line::GateFinished {
        phase,
        stage,
        result,
    }));
}

/// A stage's last line, after the lines of any gate not reported yet (all of a blocked stage's,
/// and the stage's own `stage_started` then).
fn stage_finished(current: Option<Current>, result: &StageResult, lines: &mut Vec<String>) {
    let stage = result.stage.as_str();
    let current = match current {
        Some(c) if c.phase == result.phase && c.stage == stage => c,
        _ => {
            lines.push(to_line(&Line::StageStarted {
                phase: result.phase,
                stage,
                name: &result.name,
                gates: result.gates.len(),
            }));
            Current {
                phase: result.phase,
                stage: stage.to_owned(),
                started: HashSet::new(),
            }
        }
    };
    for gate in result
        .gates
        .iter()
        .filter(|g| !current.started.contains(&g.id))
    {
        lines.push(to_line(&Line::GateStarted {
            phase: result.phase,
            stage,
            gate: &gate.id,
        }));
        gate_finished(result.phase, stage, gate, lines);
    }
    lines.push(to_line(&Line::StageFinished {
        phase: result.phase,
        stage,
        result,
    }));
}

/// What `run_started` says.
pub struct RunStart<'a> {
    pub command: &'a str,
    pub project: &'a std::path::Path,
    pub stages: Vec<StageRef>,
    pub jobs: usize,
    pub repeat: u32,
    pub commit: Option<&'a str>,
    pub started_at: std::time::SystemTime,
}

pub fn run_started(start: RunStart) {
    write_lines(&[to_line(&Line::RunStarted {
        gaterun_version: crate::about::VERSION,
        command: start.command,
        project: start.project.display().to_string(),
        stages: start.stages,
        jobs: start.jobs,
        repeat: start.repeat,
        commit: start.commit,
        started_at: humantime::format_rfc3339_seconds(start.started_at).to_string(),
    })]);
}

/// The last line: the run's status from its exit code and its gates.
pub fn run_finished(
    results: &[StageResult],
    exit_code: i32,
    started: std::time::Instant,
    evidence: &std::path::Path,
) {
    let counts = Counts::of(results);
    let status = match exit_code {
        crate::exit::PASSED => Status::Passed,
        crate::exit::INTERRUPTED => Status::Interrupted,
        crate::exit::BLOCKED => Status::Blocked,
        _ if counts.failed > 0 => Status::Failed,
        _ if counts.error > 0 => Status::Error,
        _ if results.iter().any(|r| r.status == Status::Blocked) => Status::Blocked,
        _ => Status::Failed,
    };
    write_lines(&[to_line(&Line::RunFinished {
        status,
        exit_code,
        duration_ms: started.elapsed().as_millis() as u64,
        counts,
        evidence: evidence.display().to_string(),
    })]);
}

/// Whole lines, flushed at once: a tool reading the pipe sees each event as it happens.
fn write_lines(lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
}
