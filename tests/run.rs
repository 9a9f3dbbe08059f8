//! The spine, end to end: the real binary on stage files in a temp dir, real processes.

mod common;

use common::{Project, processes_with, validate_junit};

const MIXED: &str = r#"
stage: 1
name: Skeleton
risk: Rolling back means deleting the skeleton.
open_questions: [Which port?]
gates:
  - id: passes
    title: echo prints hello
    run: echo hello
    expect: { stdout: [hello, "!panic", "/^hel+o$/"] }
  - id: exit-three
    title: exits 3
    run: "echo about to fail; exit 3"
  - id: wrong-output
    title: prints ok
    run: "echo nope"
    expect: { stdout: ["/^ok$/"] }
"#;

#[test]
fn pass_and_fail_agree_across_results_report_and_junit() {
    let p = Project::new();
    p.stage("phase-1/01.yaml", MIXED);
    let run = p.run(&["stage", "1", "--prereqs", "ignore"]);
    run.code(1);
    assert!(run.stderr.contains("✗ exit-three"), "{}", run.stderr);
    assert!(
        run.stderr.contains("expected exit 0, got 3"),
        "{}",
        run.stderr
    );

    let r = p.results("stage-01");
    assert_eq!(r["status"], "failed");
    assert_eq!(r["phase"], 1);
    assert_eq!(r["stage"], "1");
    assert_eq!(r["definition_hash"].as_str().map(str::len), Some(64));
    let gates = r["gates"].as_array().expect("gates");
    let by_id = |id: &str| gates.iter().find(|g| g["id"] == id).expect("gate");
    assert_eq!(by_id("passes")["status"], "passed");
    assert!(by_id("passes")["message"].is_null());
    assert_eq!(by_id("exit-three")["status"], "failed");
    assert_eq!(by_id("exit-three")["message"], "expected exit 0, got 3");
    assert_eq!(by_id("exit-three")["line"], 11);
    assert_eq!(by_id("exit-three")["file"], "gates/phase-1/01.yaml");
    assert_eq!(
        by_id("wrong-output")["message"],
        "expected stdout to match /^ok$/, got \"nope\""
    );
    assert!(
        p.read("phase-1/stage-01/logs/exit-three.log")
            .contains("about to fail")
    );

    let report = p.read("phase-1/stage-01/report.md");
    assert!(report.starts_with("### Stage 1 — Skeleton\n"), "{report}");
    assert!(report.contains("- Status: in-progress"));
    assert!(report.contains("- Acceptance gate result: fail (1/3 gates)"));
    assert!(report.contains("Rolling back means deleting the skeleton."));
    assert!(report.contains("- Which port?"));
    assert!(
        report.contains("<details><summary>exit-three: exits 3 — expected exit 0, got 3</summary>")
    );

    let junit = p.read("phase-1/stage-01/junit.xml");
    assert!(junit.contains(r#"<testsuite name="phase-1/stage-01 Skeleton" tests="3" disabled="0" errors="0" failures="2""#) || junit.contains("failures=\"2\""), "{junit}");
    assert!(junit.contains(r#"classname="phase-1.stage-01""#));
    assert!(junit.contains(r#"name="exit-three: exits 3""#));
    assert!(junit.contains(r#"message="expected exit 0, got 3""#));
    assert!(
        junit.contains(r#"file="gates/phase-1/01.yaml" line="11""#),
        "{junit}"
    );
    validate_junit(&p.evidence("phase-1/stage-01/junit.xml"));
    validate_junit(&p.evidence("junit.xml"));
    assert!(p.read("summary.md").contains("exit-three"));
}

#[test]
fn hostile_output_still_validates() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Hostile
gates:
  - id: noise
    title: prints escapes, NUL and a CDATA end
    run: "printf '\033[31mred\033[0m \000 \001 ]]> <x> & done\n'; exit 1"
"#,
    );
    p.run(&["stage", "0"]).code(1);
    let junit = p.read("phase-1/stage-00/junit.xml");
    assert!(!junit.contains('\u{1b}'));
    assert!(!junit.contains('\0'));
    assert!(junit.contains("red"), "{junit}");
    validate_junit(&p.evidence("phase-1/stage-00/junit.xml"));
    validate_junit(&p.evidence("junit.xml"));
}

#[test]
fn no_process_outlives_its_gate() {
    let m = common::marker();
    let p = Project::new();
    p.stage(
        "s.yaml",
        &r#"
stage: 0
name: Daemons
gates:
  - id: daemons
    title: background, setsid and double fork
    run: "sleep 987601 & setsid sleep 987601 & (setsid sh -c 'sleep 987601 &' &); echo ok"
    expect: { stdout: ok }
"#
        .replace("987601", &m),
    );
    p.run(&["stage", "0"]).code(0);
    assert_eq!(processes_with(&format!("sleep {m}")), Vec::<String>::new());
}

#[test]
fn gate_timeout_names_the_step_and_kills_it() {
    let m = common::marker();
    let p = Project::new();
    p.stage(
        "s.yaml",
        &r#"
stage: 0
name: Slow
gates:
  - id: slow
    title: sleeps too long
    timeout: 1s
    grace: 500ms
    steps:
      - run: "true"
      - name: the long sleep
        run: "trap '' TERM; sleep 987602"
"#
        .replace("987602", &m),
    );
    let started = std::time::Instant::now();
    p.run(&["stage", "0"]).code(1);
    // Generous bound: this is no timing test, only proof the deadline is enforced at all.
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let r = p.results("stage-00");
    assert_eq!(
        r["gates"][0]["message"],
        "gate timed out after 1s in step `the long sleep`"
    );
    assert_eq!(r["gates"][0]["steps"][1]["status"], "failed");
    assert_eq!(processes_with(&format!("sleep {m}")), Vec::<String>::new());
}

#[test]
fn step_timeout_is_its_own_deadline() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - id: g\n    title: t\n    steps:\n      - run: sleep 987603\n        timeout: 300ms\n",
    );
    p.run(&["stage", "0"]).code(1);
    assert_eq!(
        p.results("stage-00")["gates"][0]["message"],
        "step timed out after 300ms in step `run: sleep 987603`"
    );
}

#[test]
fn output_is_capped_and_the_cut_marked() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Flood
gates:
  - id: flood
    title: prints 40 MiB
    run: "head -c 41943040 /dev/zero | tr '\\0' x; echo; echo the-end"
    expect: { stdout: the-end }
"#,
    );
    p.run(&["stage", "0"]).code(0);
    let log = std::fs::read(p.evidence("phase-1/stage-00/logs/flood.log")).expect("log");
    assert!(log.len() <= (8 << 20) + 4096, "log is {} bytes", log.len());
    let text = String::from_utf8_lossy(&log);
    assert!(text.contains("[... gaterun cut "), "cut not marked");
    assert!(text.contains("the-end"), "tail kept");
}

#[test]
fn captures_variables_and_argv_commands() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Vars
gates:
  - id: chain
    title: a capture feeds the next step
    env: { GREETING: "hi ${GATE_ID}", LITERAL: "$${NOT_A_VAR}" }
    steps:
      - run: echo "order=42"
        capture: { ORDER: "/order=(\\d+)/" }
      - run: ["printf", "%s|%s|%s", "${ORDER}", "${GREETING}", "${LITERAL}"]
        expect: { stdout: "42|hi chain|$${NOT_A_VAR}" }
      - run: 'test "$ORDER" = 42 && test -d "$GATE_TMP" && test "$TMPDIR" = "$GATE_TMP" && test "$GATERUN_STAGE" = 0'
  - id: undefined
    title: an undefined variable is an error
    run: ["echo", "${NOPE}"]
"#,
    );
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "passed", "{r:#}");
    assert_eq!(r["gates"][1]["status"], "error");
    assert_eq!(r["gates"][1]["message"], "undefined variable `${NOPE}`");
}

#[test]
fn eventually_retries_until_the_check_holds() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Eventually
gates:
  - id: third-time
    title: passes on the third attempt
    run: 'n=$(cat "$PROJECT_ROOT/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$PROJECT_ROOT/count"; test $n -ge 3'
    eventually: 10s
  - id: never
    title: gives up
    run: "false"
    eventually: 300ms
"#,
    );
    p.run(&["stage", "0", "--jobs", "1"]).code(1);
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "passed");
    assert_eq!(r["gates"][0]["steps"][0]["attempts"], 3);
    assert_eq!(r["gates"][1]["status"], "failed");
    let msg = r["gates"][1]["message"].as_str().expect("message");
    assert!(msg.starts_with("expected exit 0, got 1 (after "), "{msg}");
}

#[test]
fn secrets_are_masked() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Secrets
gates:
  - id: leak
    title: prints its token
    secrets: [GATERUN_TEST_TOKEN]
    run: 'echo "token=$GATERUN_TEST_TOKEN"; exit 1'
  - id: missing
    title: a secret that is not set
    secrets: [GATERUN_TEST_ABSENT]
    run: "true"
"#,
    );
    let out = p
        .cmd(&["stage", "0", "-v"])
        .env("GATERUN_TEST_TOKEN", "s3cr3t-value")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("s3cr3t-value"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cr3t-value"));
    let log = p.read("phase-1/stage-00/logs/leak.log");
    assert!(log.contains("token=***"), "{log}");
    for f in [
        "phase-1/stage-00/junit.xml",
        "phase-1/stage-00/report.md",
        "phase-1/stage-00/results.json",
    ] {
        assert!(!p.read(f).contains("s3cr3t-value"), "{f} leaks the secret");
    }
    let r = p.results("stage-00");
    assert_eq!(r["gates"][1]["status"], "error");
    assert_eq!(
        r["gates"][1]["message"],
        "secret `GATERUN_TEST_ABSENT` is not set in gaterun's environment"
    );
}

#[test]
fn serial_stage_runs_in_order() {
    let p = Project::new();
    let mut yaml = String::from("stage: 0\nname: Serial\nserial: true\ngates:\n");
    for i in 0..6 {
        yaml.push_str(&format!(
            "  - id: g{i}\n    title: t\n    run: 'echo {i} >> \"$PROJECT_ROOT/order\"'\n"
        ));
    }
    p.stage("s.yaml", &yaml);
    p.run(&["stage", "0", "--jobs", "8"]).code(0);
    let order = std::fs::read_to_string(p.path().join("order")).expect("order");
    assert_eq!(order, "0\n1\n2\n3\n4\n5\n");
}

#[test]
fn selection_by_gate_and_tag() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - id: a\n    title: t\n    tags: [fast]\n    run: 'true'\n  - id: b\n    title: t\n    run: 'false'\n",
    );
    p.run(&["stage", "0", "--tag", "fast"]).code(0);
    let r = p.results("stage-00/partial");
    assert_eq!(r["gates"].as_array().map(Vec::len), Some(1));
    assert_eq!(r["partial"], true);
    assert_eq!(r["selection"], serde_json::json!({ "tags": ["fast"] }));
    p.run(&["stage", "0", "--gate", "b"]).code(1);
    let none = p.run(&["stage", "0", "--gate", "nope"]);
    none.code(4);
    assert!(none.stderr.contains("nothing selected"), "{}", none.stderr);
}
