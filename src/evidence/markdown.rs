//! Markdown evidence in the method's tracking template: a stage's `report.md` and the
//! invocation's `summary.md`.

use std::collections::HashMap;
use std::fmt::Write;

use super::sanitize;
use crate::reporter::human_duration;
use crate::results::{GateResult, StageResult, Status};

/// How many lines of a failed gate's output the report shows.
const TAIL_LINES: usize = 40;

/// The method's stage status: not-started / in-progress / done / blocked.
pub fn method_status(s: Status) -> &'static str {
    match s {
        Status::Passed => "done",
        Status::Blocked => "blocked",
        _ => "in-progress",
    }
}

fn mark(s: Status) -> &'static str {
    match s {
        Status::Passed => "✅ pass",
        Status::Failed => "❌ fail",
        Status::Error => "⚠️ error",
        Status::Interrupted => "⏹ interrupted",
        Status::Blocked => "⛔ blocked",
        Status::Skipped => "⏭ skipped",
    }
}

/// Text for one table cell or list item: one line, pipes escaped, and no raw HTML (a
/// gate's `</details>` would otherwise close the report's own).
pub fn cell(s: &str) -> String {
    sanitize(s)
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn ms(ms: u64) -> String {
    human_duration(std::time::Duration::from_millis(ms))
}

/// The gates that did not pass, and what blocked the stage: `none` when nothing did.
pub fn blockers(r: &StageResult) -> String {
    let list: Vec<String> = r
        .gates
        .iter()
        .filter(|g| g.status != Status::Passed)
        .map(|g| format!("`{}` {}", g.id, g.status.as_str()))
        .chain(r.blocked_by.iter().map(|b| cell(b)))
        .collect();
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

/// A gate's pass rate over its recent stage runs: `100% (12/12)`.
fn rate(rates: &HashMap<String, (u32, u32)>, id: &str) -> String {
    match rates.get(id) {
        Some((p, n)) if *n > 0 => format!("{}% ({p}/{n})", (u64::from(*p) * 100 / u64::from(*n))),
        _ => "—".to_owned(),
    }
}

/// `rates`: each gate's (passes, runs) over its latest stage runs, from the history.
pub fn stage_report(r: &StageResult, rates: &HashMap<String, (u32, u32)>) -> String {
    let mut o = String::new();
    let passed = r.passed_count();
    let n = r.gates.len();
    let gate_result = if r.status == Status::Passed {
        "pass"
    } else {
        "fail"
    };
    let _ = writeln!(o, "### Stage {} — {}\n", r.stage, cell(&r.name));
    // A partial run is never the stage's acceptance result: the last full run's stays that.
    let status = if r.partial && r.status == Status::Passed {
        "in-progress"
    } else {
        method_status(r.status)
    };
    let _ = writeln!(o, "- Status: {status}");
    if let Some(goal) = &r.goal {
        let _ = writeln!(o, "- Goal: {}", cell(goal));
    }
    if r.partial {
        let _ = writeln!(
            o,
            "- Partial run{}: {gate_result} ({passed}/{n} selected gates); not the stage's acceptance result, and no prerequisite",
            cell(&r.selection_note())
        );
    } else {
        let _ = writeln!(
            o,
            "- Acceptance gate result: {gate_result} ({passed}/{n} gates)"
        );
    }
    let _ = writeln!(o, "- Blockers: {}", blockers(r));
    let logs: Vec<String> = r
        .gates
        .iter()
        .filter(|g| g.attempts > 0)
        .map(|g| format!("[{}]({})", g.id, g.log))
        .collect();
    let _ = writeln!(
        o,
        "- Evidence links: [junit.xml](junit.xml), [results.json](results.json){}",
        if logs.is_empty() {
            String::new()
        } else {
            format!(", logs: {}", logs.join(", "))
        }
    );
    let _ = writeln!(
        o,
        "- Run: {} · commit {} · gaterun {} · {} · stage file `{}`",
        r.started_at,
        r.commit
            .as_deref()
            .map(|c| format!("`{c}`"))
            .unwrap_or_else(|| "none".to_owned()),
        r.gaterun_version,
        ms(r.duration_ms),
        cell(&r.file)
    );
    let _ = writeln!(
        o,
        "\n| Result | Gate | Time | Pass rate (last {} runs) | Failure |\n|---|---|---|---|---|",
        super::history::WINDOW
    );
    for g in &r.gates {
        let flaky = if g.flaky {
            format!(
                " ⚠️ flaky: {} of {} runs failed",
                g.failed_runs.len(),
                g.attempts
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "| {}{flaky} | `{}`: {} | {} | {} | {} |",
            mark(g.status),
            g.id,
            cell(&g.title),
            ms(g.duration_ms),
            rate(rates, &g.id),
            g.message.as_deref().map(cell).unwrap_or_default()
        );
    }
    let _ = writeln!(
        o,
        "\n#### Risk/rollback\n\n{}",
        r.risk
            .as_deref()
            .map(sanitize)
            .unwrap_or_else(|| "None recorded.".to_owned())
    );
    let _ = writeln!(o, "\n#### Open questions\n");
    if r.open_questions.is_empty() {
        let _ = writeln!(o, "None recorded.");
    }
    for q in &r.open_questions {
        let _ = writeln!(o, "- {}", cell(q));
    }
    let failed: Vec<&GateResult> = r
        .gates
        .iter()
        .filter(|g| {
            matches!(
                g.status,
                Status::Failed | Status::Error | Status::Interrupted
            )
        })
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(o, "\n#### Failed gates");
        for g in failed {
            let tail = last_lines(&sanitize(&g.output), TAIL_LINES);
            let fence = fence_for(&tail);
            let _ = writeln!(
                o,
                "\n<details><summary>{} — {}</summary>\n\n{fence}text\n{tail}\n{fence}\n\nFull log: [{}]({})\n</details>",
                html(&format!("{}: {}", g.id, g.title)),
                html(g.message.as_deref().unwrap_or("")),
                g.log,
                g.log
            );
        }
    }
    o
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A code fence longer than any run of backticks in the text, so the text cannot close it.
fn fence_for(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat((longest + 1).max(3))
}

fn html(s: &str) -> String {
    sanitize(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
}

/// The invocation's summary: one line per stage, then each failed gate.
pub fn summary(results: &[StageResult]) -> String {
    let mut o = String::from(
        "## gaterun summary\n\n| Stage | Status | Gates | Time |\n|---|---|---|---|\n",
    );
    for r in results {
        let _ = writeln!(
            o,
            "| phase {} · stage {} — {}{} | {} | {}/{} | {} |",
            r.phase,
            r.stage,
            cell(&r.name),
            if r.partial {
                format!(" · partial{}", cell(&r.selection_note()))
            } else {
                String::new()
            },
            mark(r.status),
            r.passed_count(),
            r.gates.len(),
            ms(r.duration_ms)
        );
    }
    let failed: Vec<(&StageResult, &GateResult)> = results
        .iter()
        .flat_map(|r| r.gates.iter().map(move |g| (r, g)))
        .filter(|(_, g)| {
            matches!(
                g.status,
                Status::Failed | Status::Error | Status::Interrupted
            )
        })
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(o, "\n### Failed gates\n");
        for (r, g) in failed {
            let _ = writeln!(
                o,
                "- stage {} `{}` ({}:{}): {}",
                r.stage,
                g.id,
                cell(&g.file),
                g.line,
                g.message.as_deref().map(cell).unwrap_or_default()
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fence_outgrows_backticks_in_output() {
        assert_eq!(fence_for("no ticks"), "```");
        assert_eq!(fence_for("a ```` b"), "`````");
    }

    #[test]
    fn cells_stay_on_one_line() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
