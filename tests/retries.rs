//! `retries: N` on a gate (a pass after a failure is flaky, never silently green) and
//! `eventually: { within, every }` (polling at a fixed interval).

mod common;

use std::time::{Duration, Instant};

use common::{Project, validate_junit};

/// A gate that counts its runs in `count` (outside the project, so no gate's temp directory
/// resets it) and passes from run `pass_from` on (0: never).
fn counting_gate(count: &std::path::Path, retries: Option<u32>, pass_from: u32) -> String {
    let retries = retries
        .map(|n| format!("    retries: {n}\n"))
        .unwrap_or_default();
    format!(
        "stage: 0\nname: Retries\ngates:\n  - id: g\n    title: counts its runs\n{retries}    run: 'n=$(( $(cat {c} 2>/dev/null || echo 0) + 1 )); echo $n > {c}; echo \"run $n\"; test {p} -ne 0 && test $n -ge {p}'\n",
        c = count.display(),
        p = pass_from
    )
}

fn runs(count: &std::path::Path) -> u32 {
    std::fs::read_to_string(count)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_gate_failing_once_passes_flaky_with_retries() {
    let tmp = tempfile::tempdir().expect("tmp");
    let count = tmp.path().join("count");
    let p = Project::new();
    p.stage("s.yaml", &counting_gate(&count, Some(2), 2));
    let run = p.run(&["stage", "0"]);
    run.code(0);
    assert!(
        run.stderr.contains("flaky: 1 of 2 runs failed"),
        "{}",
        run.stderr
    );
    // It stopped at the first pass: two runs, not three.
    assert_eq!(runs(&count), 2);
    let r = p.results("stage-00");
    let g = &r["gates"][0];
    assert_eq!(g["status"], "passed");
    assert_eq!(g["flaky"], true);
    assert_eq!(g["attempts"], 2);
    assert_eq!(g["failed_runs"][0]["run"], 1);
    assert_eq!(g["failed_runs"][0]["message"], "expected exit 0, got 1");
    assert_eq!(r["status"], "passed");
    let junit = p.read("phase-1/stage-00/junit.xml");
    assert_eq!(junit.matches("<flakyFailure").count(), 1, "{junit}");
    assert_eq!(junit.matches("<failure").count(), 0, "{junit}");
    validate_junit(&p.evidence("phase-1/stage-00/junit.xml"));
    let report = p.read("phase-1/stage-00/report.md");
    assert!(report.contains("flaky: 1 of 2 runs failed"), "{report}");
    let log = p.read("phase-1/stage-00/logs/g.log");
    assert!(log.contains("═══ run 1 of 2: failed"), "{log}");
    assert!(log.contains("═══ run 2 of 2: passed"), "{log}");
}

#[test]
fn without_retries_the_gate_failing_once_fails() {
    let tmp = tempfile::tempdir().expect("tmp");
    let count = tmp.path().join("count");
    let p = Project::new();
    p.stage("s.yaml", &counting_gate(&count, None, 2));
    p.run(&["stage", "0"]).code(1);
    assert_eq!(runs(&count), 1);
    let g = &p.results("stage-00")["gates"][0];
    assert_eq!(g["status"], "failed");
    assert_ne!(g["flaky"], true, "{g}");
}

#[test]
fn a_gate_failing_always_is_failed_after_retries_plus_one_runs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let count = tmp.path().join("count");
    let p = Project::new();
    p.stage("s.yaml", &counting_gate(&count, Some(2), 0));
    p.run(&["stage", "0"]).code(1);
    assert_eq!(runs(&count), 3);
    let g = &p.results("stage-00")["gates"][0];
    assert_eq!(g["status"], "failed");
    assert_ne!(g["flaky"], true, "{g}");
    assert_eq!(g["attempts"], 3);
    assert_eq!(g["message"], "expected exit 0, got 1");
    let log = p.read("phase-1/stage-00/logs/g.log");
    assert!(log.contains("═══ run 3 of 3: failed\n"), "{log}");
    assert!(log.contains("run 3\n"), "the last run's output: {log}");
}

#[test]
fn a_passing_gate_runs_once_and_is_not_flaky() {
    let tmp = tempfile::tempdir().expect("tmp");
    let count = tmp.path().join("count");
    let p = Project::new();
    p.stage("s.yaml", &counting_gate(&count, Some(3), 1));
    p.run(&["stage", "0"]).code(0);
    assert_eq!(runs(&count), 1);
    let g = &p.results("stage-00")["gates"][0];
    assert_ne!(g["flaky"], true, "{g}");
    assert_eq!(g["attempts"], 1);
}

#[test]
fn with_repeat_each_run_does_its_retries() {
    let tmp = tempfile::tempdir().expect("tmp");
    let count = tmp.path().join("count");
    let p = Project::new();
    // Fails on run 1 only: repeat 2 with retries 1 gives runs 1 (failed), 2 (its retry,
    // passed), 3 (the second repeat, passed).
    p.stage("s.yaml", &counting_gate(&count, Some(1), 2));
    p.run(&["stage", "0", "--repeat", "2"]).code(0);
    assert_eq!(runs(&count), 3);
    let g = &p.results("stage-00")["gates"][0];
    assert_eq!(g["flaky"], true);
    assert_eq!(g["attempts"], 3);
}

#[test]
fn check_refuses_too_many_retries() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - id: g\n    title: t\n    retries: 11\n    run: \"true\"\n",
    );
    let r = p.run(&["check"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("s.yaml:6:14: error: `retries` takes a whole number from 0 to 10, got `11`"),
        "{}",
        r.stderr
    );
    p.stage(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - id: g\n    title: t\n    retries: 10\n    run: \"true\"\n",
    );
    p.run(&["check"]).code(0);
}

/// A stage whose gate waits for `ready` (made by a background process after `after`), polled
/// with `eventually`.
fn polling_stage(eventually: &str, after: &str) -> String {
    format!(
        r#"stage: 0
name: Poll
gates:
  - id: poll
    title: a file appears
    steps:
      - run: '(sleep {after}; touch "$GATE_TMP/ready") > /dev/null 2>&1 &'
      - run: 'echo attempt >> "$GATE_TMP/attempts"; test -e "$GATE_TMP/ready" && wc -l < "$GATE_TMP/attempts"'
        eventually: {eventually}
"#
    )
}

#[test]
fn eventually_every_polls_at_its_interval_until_the_condition_holds() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        &polling_stage("{ within: 3s, every: 200ms }", "1"),
    );
    p.run(&["stage", "0"]).code(0);
    let g = &p.results("stage-00")["gates"][0];
    let attempts = g["steps"][1]["attempts"].as_u64().expect("attempts");
    // True after about 1 s, polled every 200 ms: about 6 attempts (at 0, 0.2, … 1.0 s), give
    // or take a couple on a loaded machine; the growing pause would make 4 or 5 and a
    // 10 ms poll 100.
    assert!((5..=8).contains(&attempts), "{attempts} attempts");
}

#[test]
fn eventually_every_gives_up_after_within() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        &polling_stage("{ within: 1s, every: 250ms }", "30"),
    );
    let started = Instant::now();
    p.run(&["stage", "0"]).code(1);
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    let g = &p.results("stage-00")["gates"][0];
    // At 0, 0.25, 0.5, 0.75 and 1 s (one fewer if an attempt of a loaded machine took longer
    // than the interval).
    let attempts = g["steps"][1]["attempts"].as_u64().expect("attempts");
    assert!((4..=5).contains(&attempts), "{g}");
    let message = g["message"].as_str().unwrap_or_default();
    assert!(
        message.ends_with(&format!("(after {attempts} attempts)")),
        "{message}"
    );
}

#[test]
fn check_refuses_every_beyond_within_and_unknown_keys() {
    let p = Project::new();
    p.stage("s.yaml", &polling_stage("{ within: 1s, every: 2s }", "1"));
    let r = p.run(&["check"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("s.yaml:9:42: error: `eventually.every` of 2s is longer than `within` of 1s"),
        "{}",
        r.stderr
    );
    p.stage("s.yaml", &polling_stage("{ within: 1s, evry: 2s }", "1"));
    let r = p.run(&["check"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("s.yaml:9:35: error: unknown key 'evry', did you mean 'every'?"),
        "{}",
        r.stderr
    );
    p.stage("s.yaml", &polling_stage("{ within: 1s, every: 0s }", "1"));
    let r = p.run(&["check"]);
    assert!(
        r.stderr
            .contains("`eventually.every` must be longer than zero"),
        "{}",
        r.stderr
    );
    // The near miss: `every` equal to `within` is valid, and the short form still is.
    p.stage("s.yaml", &polling_stage("{ within: 1s, every: 1s }", "1"));
    p.run(&["check"]).code(0);
    p.stage("s.yaml", &polling_stage("2s", "1"));
    p.run(&["check"]).code(0);
}
