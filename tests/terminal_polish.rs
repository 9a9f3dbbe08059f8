//! The terminal's rough edges a new user met (issue 21, review): a tail line cut to a width,
//! flaky gates counted and kept under `--quiet`, repeated failures saying how many runs failed,
//! a phase's closing verdict and rerun hint, interrupted gates in a line each, the end pointing
//! at index.html.

mod common;

use common::Project;

/// A 5000-character line of output is cut at 200 characters, saying how much the log has.
#[test]
fn a_long_output_line_is_cut() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Long\ngates:\n  - id: long\n    title: one very long line\n    run: \"printf 'y%.0s' $(seq 5000); echo; exit 1\"\n",
    );
    let run = p.run(&["stage", "0", "--color", "never"]);
    run.code(1);
    let want = format!(
        "│ {}… (4800 more characters, see the log)\n",
        "y".repeat(200)
    );
    assert!(run.stderr.contains(&want), "{}", run.stderr);
    assert!(!run.stderr.contains(&"y".repeat(201)), "{}", run.stderr);
}

const COIN: &str = "    run: 'n=$(cat \"$PROJECT_ROOT/n\" 2>/dev/null || echo 0); echo $((n+1)) > \"$PROJECT_ROOT/n\"; test $((n % 2)) = 0'\n";

/// A flaky gate is counted in the stage line and keeps its line under `--quiet`; a stage with
/// none says nothing of flakiness.
#[test]
fn flaky_gates_are_counted_and_kept_under_quiet() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        &format!(
            "stage: 0\nname: Flaky\ngates:\n  - id: steady\n    title: passes\n    run: 'true'\n  - id: coin\n    title: every other run fails\n{COIN}"
        ),
    );
    let run = p.run(&["stage", "0", "--repeat", "2", "--quiet", "--color", "never"]);
    run.code(0);
    assert!(
        run.stderr.contains("  ✓ coin ") && run.stderr.contains("flaky: 1 of 2 runs failed"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("  ✓ steady"), "{}", run.stderr);
    assert!(
        run.stderr.contains("2/2 gates passed (1 flaky) in "),
        "{}",
        run.stderr
    );
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Steady\ngates:\n  - id: steady\n    title: passes\n    run: 'true'\n",
    );
    let run = p.run(&["stage", "0", "--repeat", "2", "--color", "never"]);
    run.code(0);
    assert!(!run.stderr.contains("flaky"), "{}", run.stderr);
    assert!(
        run.stderr.contains("1/1 gates passed in "),
        "{}",
        run.stderr
    );
}

/// `--repeat 3` with a gate failing every run: its line and the closing list say so, and its
/// time is said to be the total of the runs; a single run says neither.
#[test]
fn a_gate_failing_every_repeat_says_so() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Red\ngates:\n  - id: failing\n    title: fails\n    run: 'exit 1'\n",
    );
    let run = p.run(&["stage", "0", "--repeat", "3", "--color", "never"]);
    run.code(1);
    let line = regex::Regex::new(
        r"(?m)^  ✗ failing \d+(\.\d+)?m?s for 3 runs  3 of 3 runs failed, the last: expected exit 0, got 1$",
    )
    .expect("regex");
    assert!(line.is_match(&run.stderr), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("gates/s.yaml:4  3 of 3 runs failed, the last: expected exit 0, got 1"),
        "{}",
        run.stderr
    );
    let once = p.run(&["stage", "0", "--color", "never"]);
    once.code(1);
    assert!(!once.stderr.contains("runs"), "{}", once.stderr);
    assert!(
        once.stderr.contains("  expected exit 0, got 1\n"),
        "{}",
        once.stderr
    );
}

/// A partial run's stage line says plainly what it does not count for; index.html names the
/// selection with a space before it.
#[test]
fn a_partial_run_says_what_it_does_not_count_for() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "phase: 2\nstage: 0\nname: Two\ngates:\n  - id: passing\n    title: passes\n    run: 'true'\n  - id: other\n    title: passes too\n    run: 'true'\n",
    );
    let run = p.run(&["stage", "0", "--gate", "passing", "--color", "never"]);
    run.code(0);
    assert!(
        run.stderr.contains(
            "1/1 gates passed in ",
        ) && run.stderr.contains(
            " — partial run (--gate passing): does not count as the stage's result for later stages\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("no prerequisite"), "{}", run.stderr);
    let html = std::fs::read_to_string(p.path().join("evidence/index.html")).expect("index.html");
    assert!(html.contains("Partial run (--gate passing)"), "{html}");
    assert!(!html.contains("Partial run("), "{html}");
}

/// SIGINT with one gate running and two waiting (`--jobs 1`): the running gate is one line (no
/// tail, no log path), the two are counted as not run, the closing list names the one.
#[test]
fn interrupted_gates_are_one_line_each() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Long\ngates:\n  - id: slow\n    title: sleeps\n    run: 'echo waiting; touch \"$PROJECT_ROOT/started\"; sleep 600'\n  - id: second\n    title: waits\n    run: 'true'\n  - id: third\n    title: waits\n    run: 'true'\n",
    );
    let out = p.interrupt_after(
        &["stage", "0", "--jobs", "1", "--color", "never"],
        "started",
    );
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line =
        regex::Regex::new(r"(?m)^  ■ slow \d+(\.\d+)?m?s  interrupted\n  - 2 gates not run\n")
            .expect("regex");
    assert!(line.is_match(&stderr), "{stderr}");
    assert!(!stderr.contains("│"), "{stderr}");
    assert!(!stderr.contains("└ log:"), "{stderr}");
    assert!(
        stderr.contains("1 gate did not pass:\n  ■ phase-1/stage-00 slow"),
        "{stderr}"
    );
}

/// `phase 1` with stage 1 failing: stages 2–4, blocked without running, are one line; the
/// phase ends with its verdict; the closing list ends with the command rerunning just the
/// failed gate, which does (run here). Once the gate passes, the verdict says passed.
#[test]
fn a_phase_ends_with_its_verdict_and_a_rerun_hint() {
    let p = Project::new();
    p.stage(
        "phase-1/00.yaml",
        "stage: 0\nname: First\ngates:\n  - id: ok\n    title: ok\n    run: 'true'\n",
    );
    p.stage(
        "phase-1/01.yaml",
        "stage: 1\nname: Second\ngates:\n  - id: invalid-transition\n    title: fails until fixed\n    run: 'test -f \"$PROJECT_ROOT/fixed\"'\n  - id: fine\n    title: ok\n    run: 'true'\n",
    );
    for i in 2..=4 {
        p.stage(
            &format!("phase-1/0{i}.yaml"),
            &format!("stage: {i}\nname: S{i}\ngates:\n  - id: a{i}\n    title: t\n    run: 'true'\n  - id: b{i}\n    title: t\n    run: 'true'\n"),
        );
    }
    let run = p.run(&["phase", "1", "--color", "never"]);
    run.code(1);
    let err = &run.stderr;
    assert!(
        err.contains(
            "stage 1 — Second: failed, 1/2 gates passed in "
        ) && err.contains(
            "\nstages 2–4 — blocked (stage 1 (Second) did not pass), 6 gates not run\nphase 1: failed at stage 1, 1/5 stages passed, 3 blocked, 3 gates run in "
        ),
        "{err}"
    );
    assert!(!err.contains("stage 2 —"), "{err}");
    let hint = err
        .lines()
        .find_map(|l| l.strip_prefix("to rerun: gaterun "))
        .expect(err);
    assert_eq!(hint, "stage 1 --gate invalid-transition");
    // The hint reruns exactly the failed gate.
    let args: Vec<&str> = hint.split(' ').chain(["--color", "never"]).collect();
    let again = p.run(&args);
    again.code(1);
    assert!(
        again.stderr.contains("phase-1/stage-01 Second (1 gate)")
            && again.stderr.contains("  ✗ invalid-transition ")
            && !again.stderr.contains(" fine "),
        "{}",
        again.stderr
    );
    // `stage` ends with no phase verdict.
    assert!(!again.stderr.contains("phase 1:"), "{}", again.stderr);
    std::fs::write(p.path().join("fixed"), "").expect("write");
    let green = p.run(&["phase", "1", "--color", "never"]);
    green.code(0);
    assert!(
        green
            .stderr
            .contains("\nphase 1: passed, 5/5 stages passed, 9 gates run in "),
        "{}",
        green.stderr
    );
    assert!(!green.stderr.contains("to rerun"), "{}", green.stderr);
}

/// With two phases and no `current_phase`, `gaterun stage 0` alone would be refused: the hint
/// names the phase, and runs.
#[test]
fn a_rerun_hint_names_the_phase_when_stage_needs_it() {
    let p = Project::new();
    p.stage(
        "phase-1/00.yaml",
        "stage: 0\nname: One\ngates:\n  - id: red\n    title: fails\n    run: 'exit 1'\n",
    );
    p.stage(
        "phase-2/00.yaml",
        "phase: 2\nstage: 0\nname: Two\ngates:\n  - id: green\n    title: passes\n    run: 'true'\n",
    );
    let run = p.run(&["stage", "0", "--phase", "1", "--color", "never"]);
    run.code(1);
    let hint = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("to rerun: gaterun "))
        .expect(&run.stderr);
    assert_eq!(hint, "stage 0 --phase 1 --gate red");
    let again = p.run(&hint.split(' ').collect::<Vec<_>>());
    again.code(1);
    assert!(again.stderr.contains("  ✗ red "), "{}", again.stderr);
    // The near miss: without --phase, stage is refused.
    assert_eq!(p.run(&["stage", "0", "--gate", "red"]).code, 2);
}
