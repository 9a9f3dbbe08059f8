//! `IMPLEMENTATION_LOG.md`: every stage of a phase in the method's tracking template, from the
//! latest evidence of each — `not-started` for a stage never run.

use std::fmt::Write;

use super::markdown::{cell, method_status, ms};
use crate::config::{Project, Stage};
use crate::results::{StageResult, Status};

/// The method's status of a stage, given its last full result and any partial run since.
pub fn status_of(
    stage: &Stage,
    last: Option<&StageResult>,
    partial: Option<&StageResult>,
) -> (&'static str, Option<&'static str>) {
    match last {
        None if partial.is_some() => ("in-progress", Some("only partial runs so far")),
        None => ("not-started", None),
        Some(r) if r.definition_hash != stage.definition_hash => (
            "in-progress",
            Some("the stage file changed since its last run"),
        ),
        // Evidence of an older gaterun, which kept a partial run as the ledger.
        Some(r) if r.status == Status::Passed && r.partial => {
            ("in-progress", Some("only some gates ran last time"))
        }
        Some(r) => (method_status(r.status), None),
    }
}

pub fn render(project: &Project, phase: u32, stages: &[&Stage]) -> String {
    let mut o = format!(
        "# Phase {phase} — implementation log\n\nEvery stage of phase {phase} in the method's tracking template, rebuilt by gaterun from `evidence/phase-{phase}` after each stage run (`gaterun report` rebuilds it).\n"
    );
    let sizes = super::stage_size::sizes(project, phase);
    for s in stages {
        let last = super::ledger::read_stage(project, s.phase, s.key).and_then(Result::ok);
        let partial = super::ledger::read_partial(project, s.phase, s.key);
        let (status, why) = status_of(s, last.as_ref(), partial.as_ref());
        let dir = s.key.dir_name();
        let _ = writeln!(o, "\n### Stage {} — {}\n", s.key, cell(&s.name));
        let _ = writeln!(
            o,
            "- Status: {status}{}",
            why.map(|w| format!(" ({w})")).unwrap_or_default()
        );
        if let Some(goal) = &s.goal {
            let _ = writeln!(o, "- Goal: {}", cell(goal));
        }
        match &last {
            None => {
                let _ = writeln!(
                    o,
                    "- Work completed: not run yet ({} gates defined)",
                    s.gates.len()
                );
                let _ = writeln!(o, "- Blockers: none recorded");
                let _ = writeln!(o, "- Evidence links: none yet");
                let _ = writeln!(o, "- Acceptance gate result: not run");
            }
            Some(r) => {
                let _ = writeln!(
                    o,
                    "- Work completed: last run {} at commit {}, {}/{} gates passed in {}",
                    r.started_at,
                    r.commit
                        .as_deref()
                        .map(|c| format!("`{c}`"))
                        .unwrap_or_else(|| "none".to_owned()),
                    r.passed_count(),
                    r.gates.len(),
                    ms(r.duration_ms)
                );
                let _ = writeln!(o, "- Blockers: {}", super::markdown::blockers(r));
                let _ = writeln!(
                    o,
                    "- Evidence links: [report]({dir}/report.md), [results]({dir}/results.json), [junit]({dir}/junit.xml)"
                );
                let verdict = if r.status == Status::Passed {
                    "pass"
                } else {
                    "fail"
                };
                let _ = writeln!(
                    o,
                    "- Acceptance gate result: {verdict} ({}/{} gates)",
                    r.passed_count(),
                    r.gates.len()
                );
            }
        }
        if let Some(size) = sizes.get(&s.key) {
            let _ = writeln!(o, "- Stage size: {}", size.describe(s.key));
        }
        if let Some(p) = &partial {
            let _ = writeln!(
                o,
                "- Partial run since{}: {} at {}, {}/{} selected gates passed ([report]({dir}/{}/report.md)); not the acceptance result",
                cell(&p.selection_note()),
                p.status.as_str(),
                p.started_at,
                p.passed_count(),
                p.gates.len(),
                super::paths::PARTIAL_DIR
            );
        }
        let _ = writeln!(
            o,
            "- Risk/rollback: {}",
            s.risk
                .as_deref()
                .map(cell)
                .unwrap_or_else(|| "none recorded".to_owned())
        );
        let questions: Vec<String> = s.open_questions.iter().map(|q| cell(q)).collect();
        let _ = writeln!(
            o,
            "- Open questions: {}",
            if questions.is_empty() {
                "none recorded".to_owned()
            } else {
                questions.join("; ")
            }
        );
    }
    o
}

/// Rewrite the phase's log from its stage files and evidence.
pub fn write(
    project: &Project,
    phase: u32,
    stages: &[&Stage],
) -> Result<std::path::PathBuf, super::write::EvidenceError> {
    let path = super::paths::phase_dir(project, phase).join("IMPLEMENTATION_LOG.md");
    super::write::write_file(&path, render(project, phase, stages).as_bytes())?;
    Ok(path)
}
