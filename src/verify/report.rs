//! A stage's report.md: its verdict line and counts against results.json.

use std::path::Path;

use super::problem::{Problem, problem, read_text};
use crate::results::{StageResult, Status};

/// The stage's report.md: its verdict and counts against results.json.
pub(super) fn report_problems(dir: &Path, rel: &str, r: &StageResult) -> Vec<Problem> {
    let file = format!("{rel}/report.md");
    let text = match read_text(dir, &file) {
        Ok(Some(t)) => t,
        Ok(None) => return vec![problem(file, "missing")],
        Err(p) => return vec![p],
    };
    static VERDICT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?m)^- (?:Acceptance gate result|Partial run[^\n]*?): (pass|fail) \((\d+)/(\d+) (?:selected )?gates\)",
        )
        .expect("static regex")
    });
    let Some(c) = VERDICT.captures(&text) else {
        return vec![problem(file, "has no acceptance gate result line")];
    };
    let verdict = if r.status == Status::Passed {
        "pass"
    } else {
        "fail"
    };
    let (p, n) = (r.passed_count().to_string(), r.gates.len().to_string());
    if c[1] != *verdict || c[2] != p || c[3] != n {
        return vec![problem(
            file,
            format!(
                "says {} ({}/{} gates), but results.json says {} ({p}/{n} gates)",
                &c[1],
                &c[2],
                &c[3],
                r.status.as_str()
            ),
        )];
    }
    Vec::new()
}
