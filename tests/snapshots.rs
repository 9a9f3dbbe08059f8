//! The human-facing text, held in insta snapshots: what `check` says of a broken stage file,
//! the lines a CI log shows for a stage, `list`, and the markdown a reviewer reads (summary,
//! report, implementation log). Durations, times, the temp dir and the run id are redacted;
//! everything else is the real binary's output on a real project.
//!
//! A change here is a change users see: review the `.snap` diff (`cargo insta review`, or
//! `INSTA_UPDATE=always` then `git diff tests/snapshots/`).

mod common;

use common::Project;

/// Text with what varies from run to run replaced: the project's temp path, durations, RFC
/// 3339 times, run ids, cgroup paths.
fn redact(p: &Project, text: &str) -> String {
    let path = p.path().display().to_string();
    let mut out = text.replace(&path, "[project]");
    for (re, with) in [
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[time]"),
        (r"\b\d+(\.\d+)?(ms|s)\b", "[duration]"),
        (r"\b\dm\d\ds\b", "[duration]"),
        (r"(?m)^processes (contained|found) by [^\n]*\n", ""),
        (r"\b\d+r[0-9a-f]{4,}\b", "[run id]"),
        (r"gaterun \d+\.\d+\.\d+", "gaterun [version]"),
    ] {
        out = regex::Regex::new(re)
            .expect("regex")
            .replace_all(&out, with)
            .into_owned();
    }
    out
}

#[test]
fn check_names_each_error_at_its_line_with_the_source() {
    let p = Project::new();
    p.stage(
        "phase-1/00-unknown-key.yaml",
        "stage: 0\nname: Unknown key\ngates:\n  - id: unknown\n    title: a key gaterun does not know\n    runn: \"true\"\n",
    );
    p.stage(
        "phase-1/01-invalid.yaml",
        "stage: 1\nname: Invalid\ngates:\n  - id: two-kinds\n    title: a step with two kinds\n    steps:\n      - run: \"true\"\n        http: GET http://127.0.0.1:1/\n  - id: bad-timeout\n    title: a timeout that is no duration\n    timeout: soon\n    run: \"true\"\n  - id: no-status\n    title: a status that is no status\n    http: GET http://127.0.0.1:1/\n    expect:\n      status: 6000\n",
    );
    let run = p.run(&["check"]);
    run.code(2);
    // Nothing varies here but the temp dir: the messages' own durations (`30s`) stay.
    let path = p.path().display().to_string();
    insta::assert_snapshot!("check_errors", run.stderr.replace(&path, "[project]"));
}

fn stage_with_a_pass_and_a_failure() -> Project {
    let p = Project::new();
    p.stage(
        "phase-1/00-api.yaml",
        "stage: 0\nname: API\ngoal: The API answers.\nrisk: It answers wrongly.\ngates:\n  - id: passes\n    title: a command that passes\n    run: echo all good\n  - id: fails\n    title: a command whose output is checked\n    tags: [smoke]\n    steps:\n      - run: printf 'line one\\nline two\\n'\n        expect:\n          stdout: line three\n",
    );
    p
}

/// `--jobs 1`: finished-gate lines come in the order gates end, which concurrency would vary.
#[test]
fn a_stage_run_reads_the_same_in_a_ci_log() {
    let p = stage_with_a_pass_and_a_failure();
    let run = p.run(&["stage", "0", "--progress", "never", "--jobs", "1"]);
    run.code(1);
    insta::assert_snapshot!(
        "stage_run_ci_log",
        redact(
            &p,
            &format!("--- stdout\n{}--- stderr\n{}", run.stdout, run.stderr)
        )
    );
    let list = p.run(&["list"]);
    list.code(0);
    insta::assert_snapshot!("list", redact(&p, &list.stdout));
}

#[test]
fn the_markdown_a_reviewer_reads() {
    let p = stage_with_a_pass_and_a_failure();
    p.run(&["stage", "0", "--progress", "never", "--jobs", "1"])
        .code(1);
    insta::assert_snapshot!("summary_md", redact(&p, &p.read("summary.md")));
    insta::assert_snapshot!(
        "report_md",
        redact(&p, &p.read("phase-1/stage-00/report.md"))
    );
    insta::assert_snapshot!(
        "implementation_log_md",
        redact(&p, &p.read("phase-1/IMPLEMENTATION_LOG.md"))
    );
}
