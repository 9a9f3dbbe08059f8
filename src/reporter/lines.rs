//! The one-line forms of a finished gate (`✓ id 12ms`, `✗ id 1.24s  why`) and a finished stage
//! (`stage 2 — API: passed, 3/3 gates passed in 1.24s`), the same on a terminal and in a log.

use std::time::Duration;

use crate::results::{GateResult, StageResult, Status};
use crate::text::{human_duration, one_line};

pub fn gate_line(g: &GateResult) -> String {
    let mark = match g.status {
        Status::Passed => "✓",
        Status::Failed => "✗",
        Status::Error => "!",
        Status::Interrupted => "■",
        Status::Blocked | Status::Skipped => "-",
    };
    let time = human_duration(Duration::from_millis(g.duration_ms));
    match &g.message {
        Some(m) if g.status != Status::Passed => {
            format!(
                "  {mark} {} {time}  {}",
                g.id,
                crate::text::sanitize(&one_line(m, 300))
            )
        }
        _ if g.flaky => format!(
            "  {mark} {} {time}  flaky: {} of {} runs failed",
            g.id,
            g.failed_runs.len(),
            g.attempts
        ),
        _ => format!("  {mark} {} {time}", g.id),
    }
}

pub fn stage_line(r: &StageResult) -> String {
    let time = human_duration(Duration::from_millis(r.duration_ms));
    let what = match r.status {
        Status::Passed => "passed".to_owned(),
        Status::Blocked => format!(
            "blocked ({})",
            r.blocked_by
                .as_deref()
                .unwrap_or("an earlier stage did not pass")
        ),
        s => s.as_str().to_owned(),
    };
    let partial = if r.partial {
        format!(" (partial run{}: no prerequisite)", r.selection_note())
    } else {
        String::new()
    };
    format!(
        "stage {} — {}: {what}, {}/{} gates passed in {time}{partial}",
        r.stage,
        r.name,
        r.passed_count(),
        r.gates.len()
    )
}
