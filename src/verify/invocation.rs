//! The invocation's junit.xml and summary.md against the stage results they describe.

use std::collections::BTreeMap;
use std::path::Path;

use super::junit::{or_none, parse_junit, suite_problems};
use super::problem::{Problem, problem, read_text};
use crate::evidence::manifest;
use crate::evidence::paths::PARTIAL_DIR;
use crate::results::StageResult;

/// The invocation's junit.xml and summary.md against the stage results they describe.
pub(super) fn invocation_problems(
    dir: &Path,
    results: &BTreeMap<String, StageResult>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let find = |phase: u32, stage: &str, partial: bool| {
        let mut rel = manifest::stage_rel(phase, stage);
        if partial {
            rel = format!("{rel}/{PARTIAL_DIR}");
        }
        results.get(&rel)
    };
    match read_text(dir, "junit.xml") {
        Err(p) => out.push(p),
        Ok(None) => {}
        Ok(Some(text)) => match parse_junit(&text) {
            Err(e) => out.push(problem("junit.xml", format!("not valid XML: {e}"))),
            Ok(suites) => {
                for s in &suites {
                    let prop = |k: &str| s.properties.get(k).cloned().unwrap_or_default();
                    let (Ok(phase), stage) = (prop("phase").parse::<u32>(), prop("stage")) else {
                        out.push(problem("junit.xml", "a test suite names no phase"));
                        continue;
                    };
                    match find(phase, &stage, prop("partial") == "true") {
                        None => out.push(problem(
                            "junit.xml",
                            format!(
                                "reports phase {phase} stage {stage} ({}), which has no results.json",
                                or_none(&prop("status"))
                            ),
                        )),
                        Some(r) => out.extend(
                            suite_problems("junit.xml", s, r)
                                .into_iter()
                                .map(|p| problem(p.file, format!("stage {stage}: {}", p.reason))),
                        ),
                    }
                }
            }
        },
    }
    match read_text(dir, "summary.md") {
        Err(p) => out.push(p),
        Ok(None) => {}
        Ok(Some(text)) => {
            static ROW: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
                regex::Regex::new(
                    r"(?m)^\| phase (\d+) · stage (\w+) — .*?( · partial[^|]*)? \| \S+ (\w+) \| (\d+)/(\d+) \|",
                )
                .expect("static regex")
            });
            for c in ROW.captures_iter(&text) {
                let (Ok(phase), stage) = (c[1].parse::<u32>(), &c[2]) else {
                    continue;
                };
                let word = match &c[4] {
                    "pass" => "passed",
                    "fail" => "failed",
                    other => other,
                };
                match find(phase, stage, c.get(3).is_some()) {
                    None => out.push(problem(
                        "summary.md",
                        format!("reports phase {phase} stage {stage}, which has no results.json"),
                    )),
                    Some(r)
                        if word != r.status.as_str()
                            || c[5] != r.passed_count().to_string()
                            || c[6] != r.gates.len().to_string() =>
                    {
                        out.push(problem(
                            "summary.md",
                            format!(
                                "says stage {stage} {word} ({}/{}), but its results.json says {} ({}/{})",
                                &c[5],
                                &c[6],
                                r.status.as_str(),
                                r.passed_count(),
                                r.gates.len()
                            ),
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
    }
    out
}
