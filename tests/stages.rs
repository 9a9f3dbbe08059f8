//! Stages in order: prerequisites, phases, exit codes, interrupts, concurrency, `check`, `list`.

mod common;

use std::time::{Duration, Instant};

use common::{Project, processes_with};

/// Stages 0..=3, each passing unless `$PROJECT_ROOT/fail<N>` exists.
fn four_stages() -> Project {
    let p = Project::new();
    for i in 0..4 {
        p.stage(
            &format!("phase-1/0{i}.yaml"),
            &format!(
                "stage: {i}\nname: Stage {i}\ngates:\n  - id: g\n    title: passes unless told\n    run: 'echo {i} >> \"$PROJECT_ROOT/ran\"; test ! -e \"$PROJECT_ROOT/fail{i}\"'\n"
            ),
        );
    }
    p
}

fn ran(p: &Project) -> String {
    std::fs::read_to_string(p.path().join("ran")).unwrap_or_default()
}

#[test]
fn prerequisites_block_with_exit_3_and_say_what_to_run() {
    let p = four_stages();
    let run = p.run(&["stage", "3"]);
    run.code(3);
    assert!(
        run.stderr
            .contains("stage 0 (Stage 0) of phase 1 has not passed: it has not been run"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Run `gaterun stage 0` first"),
        "{}",
        run.stderr
    );
    assert_eq!(ran(&p), "", "nothing may run when blocked");

    p.file("fail1", "");
    p.run(&["stage", "0"]).code(0);
    p.run(&["stage", "1"]).code(1);
    let run = p.run(&["stage", "2"]);
    run.code(3);
    assert!(
        run.stderr
            .contains("stage 1 (Stage 1) of phase 1 has not passed: its last run failed"),
        "{}",
        run.stderr
    );

    std::fs::remove_file(p.path().join("fail1")).expect("rm");
    std::fs::write(p.path().join("ran"), "").expect("reset");
    p.run(&["stage", "3", "--prereqs", "run"]).code(0);
    assert_eq!(ran(&p), "0\n1\n2\n3\n");
    p.run(&["stage", "3"]).code(0);

    // Changing an earlier stage's definition makes its evidence stale.
    p.stage(
        "phase-1/01.yaml",
        "stage: 1\nname: Stage 1\ngates:\n  - id: g\n    title: changed\n    run: 'true'\n",
    );
    let run = p.run(&["stage", "2"]);
    run.code(3);
    assert!(
        run.stderr
            .contains("its stage file changed since it last ran"),
        "{}",
        run.stderr
    );
    p.run(&["stage", "2", "--prereqs", "ignore"]).code(0);
}

#[test]
fn phase_stops_at_the_first_failure_and_marks_later_stages_blocked() {
    let p = four_stages();
    p.file("fail1", "");
    let run = p.run(&["phase", "1"]);
    run.code(1);
    assert_eq!(ran(&p), "0\n1\n");
    assert_eq!(p.results("stage-01")["status"], "failed");
    for s in ["stage-02", "stage-03"] {
        let r = p.results(s);
        assert_eq!(r["status"], "blocked", "{s}");
        assert_eq!(r["gates"][0]["status"], "blocked");
    }
    assert!(run.stderr.contains("blocked"), "{}", run.stderr);
    assert!(
        p.read("phase-1/stage-02/report.md")
            .contains("- Status: blocked")
    );

    std::fs::write(p.path().join("ran"), "").expect("reset");
    p.run(&["phase", "1", "--keep-going"]).code(1);
    assert_eq!(ran(&p), "0\n1\n2\n3\n");
    // They ran and passed, but a stage on top of a failed one is no prerequisite.
    assert_eq!(p.results("stage-03")["status"], "blocked");
    assert_eq!(p.results("stage-03")["gates"][0]["status"], "passed");
    let junit = p.read("junit.xml");
    assert_eq!(junit.matches("<testsuite ").count(), 4);
}

/// Stages 0..=3; stage 2 has gates `x` and `y` (both tagged `t`), `y` failing while
/// `$PROJECT_ROOT/fail-y` exists.
fn stage_with_two_gates() -> Project {
    let p = four_stages();
    p.stage(
        "phase-1/02.yaml",
        "stage: 2\nname: Stage 2\ngates:\n  - id: x\n    title: passes\n    tags: [t]\n    run: 'true'\n  - id: y\n    title: passes unless told\n    tags: [t]\n    run: 'test ! -e \"$PROJECT_ROOT/fail-y\"'\n",
    );
    p.run(&["stage", "0"]).code(0);
    p.run(&["stage", "1"]).code(0);
    p
}

fn history(p: &Project) -> Vec<serde_json::Value> {
    p.read("history.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("history line"))
        .collect()
}

#[test]
fn a_partial_run_after_a_full_pass_leaves_later_stages_unblocked() {
    let p = stage_with_two_gates();
    p.run(&["stage", "2"]).code(0);
    p.run(&["stage", "2", "--gate", "x"]).code(0);
    // The full run's ledger is untouched; the partial run sits beside it.
    let full = p.results("stage-02");
    assert_eq!(full["partial"], false);
    assert_eq!(full["gates"].as_array().map(Vec::len), Some(2));
    let partial = p.results("stage-02/partial");
    assert_eq!(partial["partial"], true);
    assert_eq!(partial["selection"], serde_json::json!({ "gates": ["x"] }));
    assert!(p.evidence("phase-1/stage-02/partial/logs/x.log").is_file());
    assert!(p.evidence("phase-1/stage-02/logs/y.log").is_file());
    p.run(&["stage", "3"]).code(0);

    let list = p.run(&["list"]);
    list.code(0);
    let line = list
        .stdout
        .lines()
        .find(|l| l.contains("stage 2"))
        .expect("stage 2 listed");
    // The full run leads: the partial one comes second.
    assert!(line.contains(" passed 2/2 at "), "{line}");
    assert!(line.contains("; partial run: passed 1/1 at "), "{line}");
    assert!(line.ends_with(" (--gate x)"), "{line}");
    assert!(line.find("passed 2/2") < line.find("partial run"), "{line}");

    let log = p.read("phase-1/IMPLEMENTATION_LOG.md");
    let stage2 =
        &log[log.find("### Stage 2").expect("stage 2")..log.find("### Stage 3").expect("3")];
    assert!(stage2.contains("- Status: done\n"), "{stage2}");
    assert!(
        stage2.contains("- Acceptance gate result: pass (2/2 gates)"),
        "{stage2}"
    );
    assert!(
        stage2.contains("- Partial run since (--gate x): passed at "),
        "{stage2}"
    );
    let report = p.read("phase-1/stage-02/partial/report.md");
    assert!(report.contains("- Status: in-progress"), "{report}");
    assert!(!report.contains("Acceptance gate result"), "{report}");

    let lines = history(&p);
    let partial_flags: Vec<(&str, bool)> = lines
        .iter()
        .map(|l| (l["stage"].as_str().unwrap_or(""), l["partial"] == true))
        .collect();
    assert_eq!(
        partial_flags,
        [
            ("0", false),
            ("1", false),
            ("2", false),
            ("2", true),
            ("3", false)
        ]
    );

    // A partial run that fails does not take the full pass away either; the next full run
    // replaces both.
    p.file("fail-y", "");
    p.run(&["stage", "2", "--gate", "y"]).code(1);
    p.run(&["stage", "3"]).code(0);
    p.run(&["stage", "2"]).code(1);
    assert!(!p.evidence("phase-1/stage-02/partial").exists());
    p.run(&["stage", "3"]).code(3);
}

#[test]
fn a_partial_pass_after_a_full_failure_still_blocks() {
    let p = stage_with_two_gates();
    p.file("fail-y", "");
    p.run(&["stage", "2"]).code(1);
    std::fs::remove_file(p.path().join("fail-y")).expect("rm");
    p.run(&["stage", "2", "--gate", "y"]).code(0);
    let run = p.run(&["stage", "3"]);
    run.code(3);
    assert!(
        run.stderr
            .contains("stage 2 (Stage 2) of phase 1 has not passed: its last run failed"),
        "{}",
        run.stderr
    );
    // Every gate of the stage, selected by tag, is still a partial run.
    p.run(&["stage", "2", "--tag", "t"]).code(0);
    assert_eq!(p.results("stage-02/partial")["partial"], true);
    assert_eq!(
        p.results("stage-02/partial")["gates"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    p.run(&["stage", "3"]).code(3);
    let list = p.run(&["list"]);
    assert!(
        list.stdout.contains(" failed 1/2 at ")
            && list.stdout.contains("; partial run: passed 2/2 at ")
            && list.stdout.contains(" (--tag t)\n"),
        "{}",
        list.stdout
    );
    assert_eq!(history(&p).last().expect("line")["partial"], true);
    // So is a shard of one.
    p.run(&["stage", "2", "--shard", "1/1"]).code(0);
    p.run(&["stage", "3"]).code(3);
    p.run(&["stage", "2"]).code(0);
    p.run(&["stage", "3"]).code(0);
}

#[test]
fn only_partial_runs_are_no_prerequisite() {
    let p = stage_with_two_gates();
    // What a killed partial run left aside inside a stage directory is swept.
    let aside = p.evidence("phase-1/stage-01/.partial.new-999999999");
    std::fs::create_dir_all(aside.join("logs")).expect("mkdir");
    p.run(&["stage", "2", "--tag", "t"]).code(0);
    assert!(!aside.exists());
    assert!(!p.evidence("phase-1/stage-02/results.json").exists());
    let run = p.run(&["stage", "3"]);
    run.code(3);
    assert!(
        run.stderr.contains(
            "stage 2 (Stage 2) of phase 1 has not passed: it has had only partial runs (--gate/--tag/--shard), never a full one"
        ),
        "{}",
        run.stderr
    );
    let list = p.run(&["list"]);
    assert!(
        list.stdout.contains(" no full run; partial run: passed "),
        "{}",
        list.stdout
    );
    assert!(
        p.read("phase-1/IMPLEMENTATION_LOG.md")
            .contains("- Status: in-progress (only partial runs so far)")
    );
}

#[test]
fn usage_errors_exit_2_and_nothing_selected_exits_4() {
    let p = four_stages();
    p.run(&["stage", "9"]).code(2);
    p.run(&["stage", "nope"]).code(2);
    p.run(&["bogus"]).code(2);
    p.run(&["phase", "7"]).code(2);
    p.run(&["stage", "0", "--tag", "none"]).code(4);
    p.run(&["phase", "1", "--gate", "none"]).code(4);
    let empty = Project::new();
    let run = empty.run(&["check"]);
    run.code(2);
    assert!(
        run.stderr.contains("no gates directory here"),
        "{}",
        run.stderr
    );
}

#[test]
fn several_phases_need_a_choice() {
    let p = Project::new();
    p.stage(
        "a.yaml",
        "phase: 1\nstage: 0\nname: A\ngates:\n  - {id: a, title: t, run: 'true'}\n",
    );
    p.stage(
        "b.yaml",
        "phase: 2\nstage: 0\nname: B\ngates:\n  - {id: b, title: t, run: 'true'}\n",
    );
    let run = p.run(&["stage", "0"]);
    run.code(2);
    assert!(
        run.stderr.contains("several phases are defined (1, 2)"),
        "{}",
        run.stderr
    );
    // Phase 2 builds on phase 1, never signed off here: blocked unless told to ignore it.
    p.run(&["stage", "0", "--phase", "2"]).code(3);
    p.run(&["stage", "0", "--phase", "2", "--prereqs", "ignore"])
        .code(0);
    assert!(p.evidence("phase-2/stage-00/results.json").exists());
    p.file("gaterun.yaml", "current_phase: 2\nevidence: out\n");
    p.run(&["stage", "0", "--prereqs", "ignore"]).code(0);
    assert!(p.path().join("out/phase-2/stage-00/results.json").exists());
}

#[test]
fn gates_of_a_stage_run_concurrently() {
    // Each gate waits for the other's file: they can only pass if both run at once.
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Together
defaults: { timeout: 10s }
gates:
  - id: left
    title: meets right
    run: 'touch "$PROJECT_ROOT/left"; while [ ! -e "$PROJECT_ROOT/right" ]; do sleep 0.01; done'
  - id: right
    title: meets left
    run: 'touch "$PROJECT_ROOT/right"; while [ ! -e "$PROJECT_ROOT/left" ]; do sleep 0.01; done'
"#,
    );
    p.run(&["stage", "0", "--jobs", "2"]).code(0);
}

#[test]
fn interrupt_stops_children_and_records_interrupted() {
    let m = common::marker();
    let p = Project::new();
    p.stage(
        "s.yaml",
        &r#"
stage: 0
name: Long
gates:
  - id: stubborn
    title: ignores SIGTERM
    grace: 1s
    run: "trap '' TERM; touch \"$PROJECT_ROOT/started\"; sleep 987610 & sleep 987610"
  - id: plain
    title: sleeps
    run: sleep 987610
"#
        .replace("987610", &m),
    );
    let mut child = p
        .cmd(&["stage", "0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !p.path().join("started").exists() {
        assert!(Instant::now() < deadline, "the gate never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    )
    .expect("kill");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    assert_eq!(processes_with(&format!("sleep {m}")), Vec::<String>::new());
    let r = p.results("stage-00");
    assert_eq!(r["status"], "interrupted");
    assert_eq!(r["gates"][0]["status"], "interrupted");
    common::validate_junit(&p.evidence("junit.xml"));
}

#[test]
fn check_and_list() {
    let p = four_stages();
    let run = p.run(&["check"]);
    run.code(0);
    assert_eq!(run.stdout.trim(), "ok: 4 stage files, 4 gates, 1 phase");
    p.run(&["stage", "0"]).code(0);
    let run = p.run(&["list"]);
    run.code(0);
    assert!(run.stdout.contains("stage 0    Stage 0"), "{}", run.stdout);
    assert!(run.stdout.contains("passed 1/1 at "), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("stage 1    Stage 1                              not run"),
        "{}",
        run.stdout
    );
}

#[test]
fn check_reports_every_error_with_location() {
    let p = Project::new();
    p.stage(
        "a.yaml",
        "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    timout: 5s\n    run: 'true'\n",
    );
    p.stage("b.yaml", "stage: 2\nname: S\ngates: []\n");
    let run = p.run(&["check"]);
    run.code(2);
    assert!(run.stderr.contains("gates/a.yaml:6:5: error: unknown key 'timout', did you mean 'timeout'?\n6 |     timout: 5s\n  |     ^^^^^^ did you mean `timeout`?"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("gates/b.yaml:3:8: error: `gates` is empty"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("2 errors in gate files"),
        "{}",
        run.stderr
    );
    assert!(!p.path().join("evidence").exists(), "check writes nothing");
}
