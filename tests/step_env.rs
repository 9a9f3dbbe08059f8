//! A step's own `env` and `workdir`: for that step alone, checked by `check` where it can be.

mod common;

use common::Project;

/// Run stage 0, whose only gate must end in error: its message.
fn gate_error(p: &Project) -> String {
    p.run(&["stage", "0"]).code(1);
    let g = &p.results("stage-00")["gates"][0];
    assert_eq!(g["status"], "error", "{g}");
    g["message"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_step_env_is_seen_by_its_step_only() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"stage: 0
name: Env
gates:
  - id: e
    title: t
    env: { KEEP: gate }
    steps:
      - run: echo "a=$ONLY k=$KEEP"
        env: { ONLY: "here ${KEEP}", KEEP: step }
        expect: { stdout: "a=here gate k=step" }
      - file: ${ONLY}.txt
        env: { ONLY: "missing" }
        expect: { exists: false }
      - run: echo "a=${ONLY:-unset} k=$KEEP"
        expect: { stdout: "a=unset k=gate" }
"#,
    );
    let r = p.run(&["stage", "0"]);
    r.code(0);
}

#[test]
fn the_next_step_does_not_see_a_step_env() {
    // The near miss: a step that relies on the previous step's env fails.
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"stage: 0
name: Env
gates:
  - id: e
    title: t
    steps:
      - run: "true"
        env: { ONLY: here }
      - run: test "$ONLY" = here
"#,
    );
    p.run(&["stage", "0"]).code(1);
    let g = &p.results("stage-00")["gates"][0];
    assert_eq!(
        g["message"],
        "step 2 (run: test \"$ONLY\" = here): expected exit 0, got 1"
    );
}

#[test]
fn a_step_env_may_not_replace_what_gaterun_sets() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Env\ngates:\n  - id: e\n    title: t\n    steps:\n      - run: \"true\"\n        env: { GATE_TMP: /tmp }\n",
    );
    let r = p.run(&["check"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("s.yaml:7:9: error: step env `GATE_TMP`: `GATE_TMP` is a built-in variable"),
        "{}",
        r.stderr
    );
    // Set at run time (a database's variable): the step errors.
    p.stage(
        "s.yaml",
        "stage: 0\nname: Env\ngates:\n  - id: e\n    title: t\n    database: sqlite\n    steps:\n      - run: \"true\"\n        env: { DATABASE_URL: x }\n",
    );
    let message = gate_error(&p);
    assert!(
        message.contains("step env `DATABASE_URL`: `DATABASE_URL` is a database variable"),
        "{message}"
    );
}

#[test]
fn a_step_workdir_is_where_it_runs() {
    let p = Project::new();
    p.file("sub/dir/marker.txt", "here\n");
    p.stage(
        "s.yaml",
        r#"stage: 0
name: Workdir
gates:
  - id: w
    title: t
    steps:
      - run: pwd
        workdir: sub/dir
        expect: { stdout: "/sub/dir\n" }
      - file: marker.txt
        workdir: ${PLACE}
        env: { PLACE: sub/dir }
        expect: { contains: here }
      - file: marker.txt
        expect: { exists: false }
"#,
    );
    p.run(&["stage", "0"]).code(0);
    let log = p.read("phase-1/stage-00/logs/w.log");
    let root = p.path().canonicalize().expect("root");
    assert!(
        log.contains(&format!("{}/sub/dir\n", root.display()))
            || log.contains(&format!("{}/sub/dir\n", p.path().display())),
        "{log}"
    );
}

#[test]
fn a_missing_workdir_is_the_step_error() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"stage: 0
name: Workdir
gates:
  - id: w
    title: t
    steps:
      - run: pwd
        workdir: ${WHERE}
        env: { WHERE: nowhere }
"#,
    );
    let message = gate_error(&p);
    assert!(
        message.ends_with("/nowhere is not a directory"),
        "{message}"
    );
}

#[test]
fn check_flags_a_literal_missing_workdir_and_one_on_other_kinds() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: W\ngates:\n  - id: w\n    title: t\n    steps:\n      - run: pwd\n        workdir: nope\n",
    );
    let r = p.run(&["check"]);
    assert!(
        r.stderr.contains(
            "s.yaml:8:18: warning: `workdir` nope is not a directory under the project root"
        ),
        "{}",
        r.stderr
    );
    // The near miss: the directory exists.
    p.file("nope/.keep", "");
    let r = p.run(&["check"]);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    p.stage(
        "s.yaml",
        "stage: 0\nname: W\ngates:\n  - id: w\n    title: t\n    steps:\n      - tcp: 127.0.0.1:1\n        workdir: nope\n",
    );
    let r = p.run(&["check"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("s.yaml:7:9: error: `workdir` does not apply to a `tcp` step"),
        "{}",
        r.stderr
    );
}

/// Issue 21: a gate's own `workdir` that does not exist is flagged by `check` as a step's is
/// (a warning: an earlier stage may make it); the near miss, an existing one, is not.
#[test]
fn check_flags_a_gates_missing_workdir() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: W\ngates:\n  - id: w\n    title: t\n    workdir: build/out\n    run: pwd\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "s.yaml:6:14: warning: `workdir` build/out is not a directory under the project root"
        ),
        "{}",
        r.stderr
    );
    p.file("build/out/.keep", "");
    let r = p.run(&["check"]);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
}
