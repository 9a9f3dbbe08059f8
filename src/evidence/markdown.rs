//! Markdown evidence in the method's tracking template: a stage's `report.md` and the
//! invocation's `summary.md`.

use std::collections::HashMap;
use std::fmt::Write;

use crate::results::{GateResult, StageNotes, StageResult, Status};
use crate::text::human_duration;
use crate::text::sanitize;

/// How many lines of a failed gate's output the report shows.
const TAIL_LINES: usize = 40;
/// Characters of one excerpt line, and bytes of a whole excerpt, in report.md.
const LINE_CAP: usize = 500;
const EXCERPT_CAP: usize = 16 * 1024;
/// Characters of a failure message in a table cell or list item.
const MESSAGE_CAP: usize = 500;

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

/// Gate output (a failure message quotes it) in a table cell or list item: a code span, so it is
/// inert whatever it holds — no link, image, autolink, HTML or emphasis — on one line, cut at
/// `MESSAGE_CAP` characters. In a table, pipes are escaped (GitHub's tables split at a bare `|`
/// even inside a code span).
pub fn code_cell(s: &str, in_table: bool) -> String {
    let flat = sanitize(s).replace(['\n', '\r'], " ");
    if flat.trim().is_empty() {
        return String::new();
    }
    let mut text: String = flat.chars().take(MESSAGE_CAP).collect();
    if text.len() < flat.len() {
        text.push('…');
    }
    let fence = "`".repeat(longest_backtick_run(&text) + 1);
    if in_table {
        text = escape_pipes(&text);
    }
    // Spaces inside the fence keep a leading or trailing backtick from joining it; CommonMark
    // strips one on each side.
    format!("{fence} {text} {fence}")
}

/// Every `|` behind an odd number of backslashes: GitHub's table rows read `\\\\` as an escaped
/// backslash, so a pipe behind it would still end the cell.
fn escape_pipes(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut backslashes = 0;
    for c in text.chars() {
        if c == '|' {
            out.push_str(if backslashes % 2 == 0 { "\\" } else { "\\\\" });
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
        out.push(c);
    }
    out
}

fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
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
pub fn stage_report(
    r: &StageResult,
    notes: &StageNotes,
    rates: &HashMap<String, (u32, u32)>,
) -> String {
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
    if let Some(goal) = &notes.goal {
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
    if let Some(setup) = &r.setup {
        let _ = writeln!(
            o,
            "- Stage setup: {} in {} ({} steps), log [{}]({}){}",
            setup.status.as_str(),
            crate::text::human_duration(std::time::Duration::from_millis(setup.duration_ms)),
            setup.steps.len(),
            setup.id,
            setup.log,
            setup
                .message
                .as_deref()
                .map(|m| format!(": {}", cell(m)))
                .unwrap_or_default()
        );
    }
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
    // Issue 19: the pages `browser` steps kept.
    let shots: Vec<String> = r
        .gates
        .iter()
        .chain(&r.setup)
        .flat_map(|g| g.screenshots.iter())
        .map(|s| format!("[{}]({})", s.path.trim_start_matches("logs/"), s.path))
        .collect();
    if !shots.is_empty() {
        let _ = writeln!(o, "- Screenshots: {}", shots.join(", "));
    }
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
        cell(&notes.file)
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
            g.message
                .as_deref()
                .map(|m| code_cell(m, true))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(
        o,
        "\n#### Risk/rollback\n\n{}",
        notes
            .risk
            .as_deref()
            .map(sanitize)
            .unwrap_or_else(|| "None recorded.".to_owned())
    );
    let _ = writeln!(o, "\n#### Open questions\n");
    if notes.open_questions.is_empty() {
        let _ = writeln!(o, "None recorded.");
    }
    for q in &notes.open_questions {
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

/// The last `n` lines, each cut at `LINE_CAP` characters and all of them at `EXCERPT_CAP`
/// bytes (the last ones kept), so one 5 MB line cannot make a 5 MB report.
pub(crate) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<String> = Vec::new();
    let mut size = 0;
    for line in lines[lines.len().saturating_sub(n)..].iter().rev() {
        let mut l: String = line.chars().take(LINE_CAP).collect();
        if l.len() < line.len() {
            l.push_str(" [… line cut]");
        }
        size += l.len() + 1;
        if size > EXCERPT_CAP {
            break;
        }
        kept.push(l);
    }
    kept.reverse();
    kept.join("\n")
}

/// A code fence longer than any run of backticks in the text, so the text cannot close it.
fn fence_for(text: &str) -> String {
    "`".repeat((longest_backtick_run(text) + 1).max(3))
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
                g.message
                    .as_deref()
                    .map(|m| code_cell(m, false))
                    .unwrap_or_default()
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
    fn gate_output_is_inert_markdown() {
        for hostile in [
            "[Approve](https://evil.example/a)",
            "![img](https://evil.example/i.png)",
            "https://evil.example/auto www.evil.example",
            "<a href=\"https://evil.example\">x</a> <img src=x>",
            "</details><script>alert(1)</script>",
            "``[x](y)``",
            "a | b *c* _d_",
        ] {
            for table in [true, false] {
                let c = code_cell(hostile, table);
                let fence = "`".repeat(longest_backtick_run(hostile) + 1);
                assert!(
                    c.starts_with(&format!("{fence} ")) && c.ends_with(&format!(" {fence}")),
                    "{c}"
                );
                let inner = &c[fence.len() + 1..c.len() - fence.len() - 1];
                assert!(!inner.contains(&fence), "the text closes its span: {c}");
                if table {
                    assert!(!inner.replace("\\|", "").contains('|'), "{c}");
                }
            }
        }
        assert_eq!(code_cell("", true), "");
        assert_eq!(escape_pipes("a|b"), "a\\|b");
        assert_eq!(escape_pipes("a\\|b"), "a\\\\\\|b");
        let long = "x".repeat(5 << 20);
        assert!(code_cell(&long, true).len() < 600);
        let excerpt = last_lines(&format!("{long}\n{long}\nend"), 40);
        assert!(
            excerpt.len() <= EXCERPT_CAP && excerpt.ends_with("end"),
            "{}",
            excerpt.len()
        );
    }

    #[test]
    fn cells_stay_on_one_line() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
