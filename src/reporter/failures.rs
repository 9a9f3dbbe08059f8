//! What a gate that did not pass shows beyond its line: the last lines of its output (already
//! masked of secrets and stripped of escapes when the runner kept it) and its log's path, at
//! its line, at the end of the run, both or neither (`--failure-output`); and the closing list
//! of every failed, errored or interrupted gate with the place in its YAML file, as nextest
//! sums up its failed tests.

use super::lines::{mark, why};
use super::paint::Paint;
use crate::cli::FailureOutput;
use crate::results::{GateResult, Status};
use crate::text::{sanitize, shown};

/// The most of one output line a tail shows, in characters; the log has the rest.
const LINE_CHARS: usize = 200;

#[derive(Debug, Clone)]
pub struct FailureOptions {
    pub output: FailureOutput,
    pub lines: usize,
    /// The stages' evidence directories' parent as the user names it (`evidence`).
    pub evidence: std::path::PathBuf,
    /// `--repeat`: a gate's runs.
    pub repeat: u32,
}

/// A gate the closing list names.
pub fn listed(g: &GateResult) -> bool {
    matches!(
        g.status,
        Status::Failed | Status::Error | Status::Interrupted
    )
}

/// The tail of a gate's output and its log path, as lines under the gate's line.
pub fn detail(stage: &str, g: &GateResult, tail: bool, o: &FailureOptions, paint: Paint) -> String {
    let mut text = String::new();
    if tail {
        for l in output_tail(&g.output, o.lines) {
            text.push_str(&format!("\n      {} {}", paint.dim("│"), cut(&l)));
        }
    }
    let log = o.evidence.join(stage).join(&g.log);
    text.push_str(&format!(
        "\n      {} log: {}",
        paint.dim("└"),
        shown(&log.display().to_string())
    ));
    text
}

/// The last `n` lines the gate printed, escapes stripped, with gaterun's own lines among and
/// just before them (`── step 1/2: …`, `── step 1/2 failed …`), which do not count: `n` is
/// how much of the gate's own output shows.
pub fn output_tail(output: &str, n: usize) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let clean = sanitize(output);
    let mut lines = Vec::new();
    let mut counted = 0;
    for l in clean.lines().rev() {
        let ours = l.starts_with("── ");
        if counted == n && !ours {
            break;
        }
        if !ours {
            counted += 1;
        }
        lines.push(l.to_owned());
    }
    lines.reverse();
    lines
}

/// A line of at most [`LINE_CHARS`] characters, saying how much more the log has.
fn cut(line: &str) -> String {
    crate::text::cut_line(line, LINE_CHARS).into_owned()
}

/// `2 gates did not pass:` and a line for each, with its detail when `final` asks.
pub fn closing(gates: &[(String, GateResult)], o: &FailureOptions, paint: Paint) -> Option<String> {
    if gates.is_empty() {
        return None;
    }
    let n = gates.len();
    let mut text = paint.bold(&format!("{n} gate{} did not pass:", crate::text::plural(n)));
    let tail = matches!(
        o.output,
        FailureOutput::Final | FailureOutput::ImmediateFinal
    );
    for (stage, g) in gates {
        let m = g.message.as_deref().unwrap_or(g.status.as_str());
        text.push_str(&format!(
            "\n  {} {stage} {}  {}  {}",
            mark(g.status, paint),
            g.id,
            paint.dim(&format!("{}:{}", shown(&g.file), g.line)),
            why(g, m, o.repeat)
        ));
        if tail && g.status != Status::Interrupted {
            text.push_str(&detail(stage, g, true, o, paint));
        }
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_counts_only_the_gates_lines() {
        let out = "── step 1/1: run: x\none\ntwo\nthree\n── step 1/1 failed in 1s: boom\n";
        assert_eq!(
            output_tail(out, 2),
            ["two", "three", "── step 1/1 failed in 1s: boom"]
        );
        assert_eq!(output_tail(out, 3)[..2], ["── step 1/1: run: x", "one"]);
        assert_eq!(output_tail(out, 3).len(), 5);
        assert!(output_tail(out, 0).is_empty());
        assert_eq!(
            output_tail(&output_tail(out, 2).join("\n"), 2),
            output_tail(out, 2)
        );
    }

    #[test]
    fn a_long_line_is_cut() {
        let long = "x".repeat(5000);
        let shown = cut(&long);
        assert!(
            shown.ends_with("x… (4800 more characters, see the log)"),
            "{shown}"
        );
        assert_eq!(shown.chars().filter(|c| *c == 'x').count(), 200);
        assert_eq!(cut(&"x".repeat(200)), "x".repeat(200));
    }
}
