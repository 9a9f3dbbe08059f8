//! What a gate that did not pass shows beyond its line: the last lines of its output (already
//! masked of secrets and stripped of escapes when the runner kept it) and its log's path, at
//! its line, at the end of the run, both or neither (`--failure-output`); and the closing list
//! of every failed, errored or interrupted gate with the place in its YAML file, as nextest
//! sums up its failed tests.

use super::lines::{mark, message};
use super::paint::Paint;
use crate::cli::FailureOutput;
use crate::results::{GateResult, Status};
use crate::text::{last_lines, shown};

#[derive(Debug, Clone)]
pub struct FailureOptions {
    pub output: FailureOutput,
    pub lines: usize,
    /// The stages' evidence directories' parent as the user names it (`evidence`).
    pub evidence: std::path::PathBuf,
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
        for l in last_lines(&g.output, o.lines) {
            text.push_str(&format!("\n      {} {l}", paint.dim("│")));
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
        let why = g.message.as_deref().unwrap_or(g.status.as_str());
        text.push_str(&format!(
            "\n  {} {stage} {}  {}  {}",
            mark(g.status, paint),
            g.id,
            paint.dim(&format!("{}:{}", shown(&g.file), g.line)),
            message(why)
        ));
        if tail {
            text.push_str(&detail(stage, g, true, o, paint));
        }
    }
    Some(text)
}
