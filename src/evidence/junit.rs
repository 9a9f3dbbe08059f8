//! JUnit XML: one `<testsuite>` per stage run, one `<testcase>` per gate, validating against
//! the extended JUnit 10 schema whatever the gates printed.

use std::time::Duration;

use quick_junit::{
    NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite,
};

use super::paths::stage_dir_name;
use crate::results::{GateResult, StageResult, Status};
use crate::text::sanitize;

/// What a failed gate's testcase keeps of its output.
const OUTPUT_TAIL: usize = 64 * 1024;

/// `dir`: the stage's evidence directory as a CI tool resolves it, for attachments.
pub fn stage_suite(r: &StageResult, dir: &str) -> TestSuite {
    let label = format!("phase-{}/{}", r.phase, stage_dir_name(&r.stage));
    let mut suite = TestSuite::new(format!("{label} {}", r.name));
    suite.set_time(Duration::from_millis(r.duration_ms));
    suite.add_property(Property::new("phase", r.phase.to_string()));
    suite.add_property(Property::new("stage", r.stage.clone()));
    suite.add_property(Property::new(
        "commit",
        r.commit.clone().unwrap_or_default(),
    ));
    suite.add_property(Property::new("definition_hash", r.definition_hash.clone()));
    suite.add_property(Property::new("gaterun_version", r.gaterun_version.clone()));
    suite.add_property(Property::new("status", r.status.as_str()));
    // Which run of the stage this is: `gaterun verify` matches it to its results.json.
    suite.add_property(Property::new("started_at", r.started_at.clone()));
    if r.partial {
        suite.add_property(Property::new("partial", "true"));
        if let Some(sel) = &r.selection {
            suite.add_property(Property::new("selection", sel.describe()));
        }
    }
    let classname = label.replace('/', ".");
    for g in &r.gates {
        suite.add_test_case(test_case(g, &classname, dir));
    }
    suite
}

fn test_case(g: &GateResult, classname: &str, dir: &str) -> TestCase {
    let message = g
        .message
        .as_deref()
        .map(|m| inert(&sanitize(m)))
        .unwrap_or_default();
    let status = match g.status {
        Status::Passed if g.flaky => {
            let runs = g
                .failed_runs
                .iter()
                .map(|run| {
                    let kind = if run.status == Status::Failed {
                        NonSuccessKind::Failure
                    } else {
                        NonSuccessKind::Error
                    };
                    let mut rerun = TestRerun::new(kind);
                    rerun.set_type(run.status.as_str());
                    rerun.set_message(inert(&sanitize(&format!(
                        "run {} of {}: {}",
                        run.run,
                        g.attempts,
                        run.message.as_deref().unwrap_or(run.status.as_str())
                    ))));
                    rerun
                })
                .collect();
            TestCaseStatus::Success { flaky_runs: runs }
        }
        Status::Passed => TestCaseStatus::success(),
        Status::Failed | Status::Error | Status::Interrupted => {
            let kind = if g.status == Status::Failed {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut s = TestCaseStatus::non_success(kind);
            s.set_message(message.clone());
            s.set_type(g.status.as_str());
            s.set_description(inert(&detail(g)));
            s
        }
        Status::Blocked | Status::Skipped => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(message.clone());
            s.set_type(g.status.as_str());
            s
        }
    };
    let mut tc = TestCase::new(sanitize(&format!("{}: {}", g.id, g.title)), status);
    tc.set_classname(classname);
    tc.set_time(Duration::from_millis(g.duration_ms));
    tc.extra.insert("file".into(), sanitize(&g.file).into());
    tc.extra.insert("line".into(), g.line.to_string().into());
    // Issue 19: screenshots as Jenkins' junit-attachments and GitLab read them, a path from
    // the top of the repository (their working directory) in `system-out`.
    let mut out: String = g
        .screenshots
        .iter()
        .map(|s| format!("[[ATTACHMENT|{dir}/{}]]\n", s.path))
        .collect();
    if g.status != Status::Passed && !g.output.is_empty() {
        out.push_str(&inert(tail(&g.output, OUTPUT_TAIL)));
    }
    if !out.is_empty() {
        tc.set_system_out(sanitize(&out));
    }
    tc
}

/// The failure body: each step's result, then the log file to read for the rest.
fn detail(g: &GateResult) -> String {
    let mut out = String::new();
    for (i, s) in g.steps.iter().enumerate() {
        out.push_str(&format!(
            "step {} [{}] {}: {}",
            i + 1,
            s.kind,
            s.name,
            s.status.as_str()
        ));
        if let Some(m) = &s.message {
            out.push_str(&format!(": {m}"));
        }
        out.push('\n');
    }
    if let Some(m) = &g.message
        && g.steps.is_empty()
    {
        out.push_str(m);
        out.push('\n');
    }
    out.push_str(&format!("log: {}\n", g.log));
    sanitize(&out)
}

fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

pub fn to_xml(report: &Report) -> String {
    report.to_string().unwrap_or_else(|e| {
        // Only reachable through a writer error; say so in a document that still parses.
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"gaterun\"><!-- failed to serialize: {} --></testsuites>\n", sanitize(&e.to_string()).replace("--", "- -"))
    })
}

/// What a gate printed, with no attachment marker of its own: Jenkins and GitLab would read
/// `[[ATTACHMENT|/etc/passwd]]` in a page's title or a program's output as a file to attach.
/// Only gaterun's own markers (its screenshots) stay live; a zero-width space breaks the rest.
fn inert(text: &str) -> String {
    const MARK: &str = "[[attachment";
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in lower.match_indices(MARK) {
        out.push_str(&text[last..i + 1]);
        out.push('\u{200b}');
        last = i + 1;
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod inert_tests {
    #[test]
    fn a_gate_s_attachment_marker_is_broken_and_its_text_kept() {
        let t = "a [[ATTACHMENT|/etc/passwd]] b [[attachment|x]] [[other]]";
        let out = super::inert(t);
        assert!(!out.to_ascii_lowercase().contains("[[attachment"), "{out}");
        assert_eq!(out.replace('\u{200b}', ""), t);
    }
}
