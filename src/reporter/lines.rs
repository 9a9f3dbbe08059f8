//! The one-line forms of a finished gate (`✓ id 12ms`, `✗ id 1.24s  why`) and a finished stage
//! (`stage 2 — API: passed, 3/3 gates passed in 1.24s`), the same on a terminal and in a log,
//! painted or not.

use std::time::Duration;

use super::paint::Paint;
use crate::results::{GateResult, StageResult, Status};
use crate::text::{human_duration, one_line_exact, sanitize, shown};

/// The longest message a line shows, in characters.
const MESSAGE_CHARS: usize = 300;

/// A gate's mark, painted for its status.
pub fn mark(status: Status, paint: Paint) -> String {
    match status {
        Status::Passed => paint.pass("✓"),
        Status::Failed => paint.fail("✗"),
        Status::Error => paint.fail("!"),
        Status::Interrupted => paint.warn("■"),
        Status::Blocked | Status::Skipped => paint.dim("-"),
    }
}

/// A gate's message as one line: gaterun's escapes stripped (a gate cannot paint the terminal
/// through it), its white space told apart (`"a  b"` never prints as `"a b"`).
pub fn message(m: &str) -> String {
    one_line_exact(&sanitize(m), MESSAGE_CHARS)
}

/// A gate's line. Under `--repeat N` (N > 1) its time is the total of its runs, said so
/// (`171ms for 3 runs`), and a gate that failed every run says so before the last run's message.
pub fn gate_line(g: &GateResult, repeat: u32, paint: Paint) -> String {
    let mark = mark(g.status, paint);
    let runs = if repeat > 1 && g.attempts > 1 {
        format!(" for {} runs", g.attempts)
    } else {
        String::new()
    };
    let time = paint.dim(&format!(
        "{}{runs}",
        human_duration(Duration::from_millis(g.duration_ms))
    ));
    match &g.message {
        Some(m) if g.status != Status::Passed => {
            format!("  {mark} {} {time}  {}", g.id, why(g, m, repeat))
        }
        _ if g.flaky => format!(
            "  {mark} {} {time}  {}",
            g.id,
            paint.warn(&format!(
                "flaky: {} of {} runs failed",
                g.failed_runs.len(),
                g.attempts
            ))
        ),
        _ => format!("  {mark} {} {time}", g.id),
    }
}

/// The one-line message of a gate that did not pass: `3 of 3 runs failed, the last: …` when
/// `--repeat` ran it more than once and none passed (a gate with a passing run passed, flaky).
pub fn why(g: &GateResult, m: &str, repeat: u32) -> String {
    if repeat > 1 && g.attempts > 1 && g.status != Status::Interrupted {
        format!(
            "{n} of {n} runs failed, the last: {}",
            message(m),
            n = g.attempts
        )
    } else {
        message(m)
    }
}

pub fn stage_line(r: &StageResult, paint: Paint) -> String {
    let time = human_duration(Duration::from_millis(r.duration_ms));
    let what = match r.status {
        Status::Passed => paint.pass("passed"),
        Status::Blocked => paint.warn(&format!(
            "blocked ({})",
            shown(
                r.blocked_by
                    .as_deref()
                    .unwrap_or("an earlier stage did not pass")
            )
        )),
        Status::Interrupted => paint.warn("interrupted"),
        s => paint.fail(s.as_str()),
    };
    let partial = if r.partial {
        format!(
            " — partial run{}: does not count as the stage's result for later stages",
            r.selection_note()
        )
    } else {
        String::new()
    };
    let flaky = r.gates.iter().filter(|g| g.flaky).count();
    let flaky = if flaky > 0 {
        format!(" ({})", paint.warn(&format!("{flaky} flaky")))
    } else {
        String::new()
    };
    format!(
        "{} — {}: {what}, {}/{} gates passed{flaky} in {time}{partial}",
        paint.bold(&format!("stage {}", r.stage)),
        shown(&r.name),
        r.passed_count(),
        r.gates.len()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_keep_their_white_space_apart() {
        let two = super::message("expected \"a  b\", got \"a b\"");
        assert_eq!(two, "expected \"a  b\", got \"a b\"");
        assert_ne!(super::message("\"a\tb\""), super::message("\"a b\""));
        assert_ne!(super::message("\"a\nb\""), super::message("\"a b\""));
        assert_eq!(super::message("a\x1b[2Jb\tc\r\nd"), "ab⇥c↵d");
    }
}
