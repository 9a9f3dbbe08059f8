//! Evidence and the CI features around it: GitHub Actions output, secrets, sign-off, shards,
//! repeats, the implementation log, init and the JSON Schema.

mod common;

use std::process::Command;

use common::{Project, validate_junit};

fn github(
    p: &Project,
    args: &[&str],
    env: &[(&str, &str)],
) -> (i32, String, String, String, String) {
    let summary = p.path().join("step-summary.md");
    let output = p.path().join("step-output.txt");
    let mut cmd = p.cmd(args);
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_WORKSPACE", p.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run");
    // The workflow commands come on stderr with the report (one stream keeps them in order);
    // stdout is second here.
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        std::fs::read_to_string(summary).unwrap_or_default(),
        std::fs::read_to_string(output).unwrap_or_default(),
    )
}

/// Lines a runner would take as workflow commands: outside `::stop-commands::` blocks.
fn live_commands(stdout: &str) -> Vec<String> {
    let mut stopped: Option<String> = None;
    let mut live = Vec::new();
    for line in stdout.lines() {
        match &stopped {
            Some(token) if line == format!("::{token}::") => stopped = None,
            Some(_) => {}
            None => {
                if let Some(token) = line.strip_prefix("::stop-commands::") {
                    stopped = Some(token.to_owned());
                } else if line.starts_with("::") {
                    live.push(line.to_owned());
                }
            }
        }
    }
    live
}

#[test]
fn github_actions_run_annotates_summarises_and_sets_outputs() {
    let p = Project::new();
    p.stage(
        "phase-1/02.yaml",
        r#"
stage: 2
name: Api
gates:
  - id: pwn
    title: prints a workflow command and fails
    run: 'echo "::error::pwned"; echo "::warning::also"; exit 1'
  - id: fine
    title: passes
    run: "true"
"#,
    );
    let (code, stdout, stderr, summary, outputs) =
        github(&p, &["stage", "2", "--prereqs", "ignore"], &[]);
    assert_eq!(code, 1);
    assert!(summary.contains("## gaterun summary"), "{summary}");
    assert!(summary.contains("pwn"), "{summary}");
    assert!(outputs.contains("result=failed\n"), "{outputs}");
    assert!(outputs.contains("junit=evidence/junit.xml\n"), "{outputs}");
    assert!(
        outputs.contains("summary=evidence/summary.md\n"),
        "{outputs}"
    );
    let live = live_commands(&stdout);
    assert!(
        live.iter()
            .any(|l| l.starts_with("::error file=gates/phase-1/02.yaml,line=5,")),
        "{stdout}"
    );
    assert!(
        live.iter()
            .all(|l| !l.contains("pwned") && !l.starts_with("::warning::")),
        "a gate ran a workflow command: {live:?}"
    );
    assert!(stdout.contains("::group::"), "{stdout}");
    assert!(
        stderr.is_empty(),
        "stdout holds nothing of the report: {stderr}"
    );
}

#[test]
fn more_than_ten_failures_are_summed_up_in_one_annotation() {
    let p = Project::new();
    let mut yaml = String::from("stage: 0\nname: Many\ngates:\n");
    for i in 0..13 {
        yaml.push_str(&format!(
            "  - id: f{i}\n    title: fails\n    run: 'exit 1'\n"
        ));
    }
    p.stage("s.yaml", &yaml);
    let (code, stdout, ..) = github(&p, &["stage", "0"], &[]);
    assert_eq!(code, 1);
    let live = live_commands(&stdout);
    // The runner keeps ten annotations a step: nine gates, and a tenth for the four others.
    assert_eq!(
        live.iter()
            .filter(|l| l.starts_with("::error file="))
            .count(),
        9
    );
    assert_eq!(live.iter().filter(|l| l.starts_with("::error")).count(), 10);
    assert!(
        live.iter()
            .any(|l| l.starts_with("::error title=4 more failed gates::")),
        "{live:?}"
    );
}

#[test]
fn a_secret_never_appears_in_evidence_or_output() {
    if !common::python3() {
        return;
    }
    let secret = "sk-live-4f1d2c3b5a6978";
    let server = format!("{}/tests/fixtures/server.py", env!("CARGO_MANIFEST_DIR"));
    let p = Project::new();
    p.stage(
        "s.yaml",
        &format!(
            r#"
stage: 0
name: Secrets
gates:
  - id: leaky
    title: prints its token whole, in halves, and gets it back from a server
    secrets: [API_TOKEN]
    services:
      api:
        run: python3 {server}
        ready: {{ http: "${{API_URL}}/healthz" }}
    steps:
      - run: 'echo "token=$API_TOKEN"'
      - run: 'printf "%s" "$API_TOKEN" | cut -c1-8 | tr -d "\n"; sleep 0.2; printf "%s\n" "$API_TOKEN" | cut -c9-'
      - http: POST ${{API_URL}}/items
        json: {{ name: "${{API_TOKEN}}" }}
        expect: {{ status: 201, json: {{ "$.name": "nope" }} }}
"#
        ),
    );
    let (code, stdout, stderr, summary, _) =
        github(&p, &["stage", "0", "--verbose"], &[("API_TOKEN", secret)]);
    assert_eq!(code, 1, "{stdout}");
    let outside_mask: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(secret) && !l.starts_with("::add-mask::"))
        .collect();
    assert_eq!(outside_mask, Vec::<&str>::new());
    assert!(stdout.contains(&format!("::add-mask::{secret}")));
    assert!(!stderr.contains(secret));
    assert!(!summary.contains(secret));
    let mut files = Vec::new();
    common::collect_files(&p.path().join("evidence"), &mut files);
    assert!(!files.is_empty());
    for f in files {
        let text = String::from_utf8_lossy(&std::fs::read(&f).expect("read")).into_owned();
        assert!(!text.contains(secret), "{} holds the secret", f.display());
        assert!(
            !text.contains(&secret[8..]) || f.ends_with("history.jsonl"),
            "{} holds half the secret",
            f.display()
        );
    }
    let log = p.read("phase-1/stage-00/logs/leaky.log");
    assert!(log.contains("token=***"), "{log}");
    assert!(
        log.contains("\"name\": \"***\""),
        "the response body is masked: {log}"
    );
}

#[test]
fn signoff_names_what_is_missing_then_writes_signoff_md() {
    let p = Project::new();
    for i in 0..3 {
        p.stage(
            &format!("phase-1/0{i}.yaml"),
            &format!("stage: {i}\nname: Stage {i}\nopen_questions: [Question {i}?]\ngates:\n  - {{id: g, title: t, run: 'true'}}\n"),
        );
    }
    p.stage("phase-1/10.yaml", "stage: 10\nname: Sign-off\ngates:\n  - id: signoff\n    title: signed off\n    run: ['${GATERUN}', signoff, --phase, '1']\n");
    let run = p.run(&["signoff", "--phase", "1"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("stage 0 (Stage 0) has not passed: it has not been run"),
        "{}",
        run.stderr
    );
    p.run(&["stage", "0"]).code(0);
    p.run(&["stage", "1"]).code(0);
    let run = p.run(&["signoff", "--phase", "1"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("stage 2 (Stage 2) has not passed: it has not been run"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("stage 0"), "{}", run.stderr);
    // Stage 10 runs the sign-off itself, as a gate.
    p.run(&["stage", "10", "--prereqs", "run"]).code(0);
    let signoff = p.read("phase-1/SIGNOFF.md");
    assert!(signoff.starts_with("# Phase 1 sign-off"), "{signoff}");
    for q in ["Question 0?", "Question 1?", "Question 2?"] {
        assert!(signoff.contains(q), "{signoff}");
    }
    assert!(signoff.contains("| 2 | Stage 2 | 1 | 1 |"), "{signoff}");
    let log = p.read("phase-1/IMPLEMENTATION_LOG.md");
    assert!(
        log.contains("### Stage 10 — Sign-off\n\n- Status: done"),
        "{log}"
    );
}

#[test]
fn implementation_log_lists_every_stage() {
    let p = Project::new();
    for i in 0..3 {
        p.stage(
            &format!("0{i}.yaml"),
            &format!("stage: {i}\nname: Stage {i}\ngates:\n  - {{id: g, title: t, run: 'true'}}\n"),
        );
    }
    p.run(&["stage", "0"]).code(0);
    let log = p.read("phase-1/IMPLEMENTATION_LOG.md");
    assert!(
        log.contains("### Stage 0 — Stage 0\n\n- Status: done"),
        "{log}"
    );
    assert!(
        log.contains("### Stage 2 — Stage 2\n\n- Status: not-started"),
        "{log}"
    );
    std::fs::remove_file(p.evidence("phase-1/IMPLEMENTATION_LOG.md")).expect("rm");
    p.run(&["report"]).code(0);
    assert!(
        p.read("phase-1/IMPLEMENTATION_LOG.md")
            .contains("- Status: not-started")
    );
}

#[test]
fn shards_run_every_gate_once_and_merge_back() {
    let p = Project::new();
    let mut yaml = String::from("stage: 0\nname: Sharded\ngates:\n");
    for i in 0..12 {
        yaml.push_str(&format!(
            "  - id: g{i}\n    title: t\n    run: 'echo g{i} >> \"$PROJECT_ROOT/ran\"'\n"
        ));
    }
    p.stage("s.yaml", &yaml);
    p.run(&["stage", "0", "--shard", "1/2", "--evidence", "shard1"])
        .code(0);
    p.run(&["stage", "0", "--shard", "2/2", "--evidence", "shard2"])
        .code(0);
    let mut ran: Vec<String> = std::fs::read_to_string(p.path().join("ran"))
        .expect("ran")
        .lines()
        .map(str::to_owned)
        .collect();
    ran.sort();
    let mut all: Vec<String> = (0..12).map(|i| format!("g{i}")).collect();
    all.sort();
    assert_eq!(ran, all, "each gate exactly once");
    // A shard is a partial run: its evidence is beside the (absent) full result.
    let shard1 = p.path().join("shard1/phase-1/stage-00");
    assert!(!shard1.join("results.json").exists());
    let r: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shard1.join("partial/results.json")).expect("r"),
    )
    .expect("json");
    assert_eq!(r["selection"], serde_json::json!({ "shard": "1/2" }));
    // One shard alone does not merge into a full result.
    p.run(&["merge", "shard1", "--evidence", "half"]).code(0);
    assert!(!p.path().join("half/phase-1/stage-00/results.json").exists());
    assert!(
        p.path()
            .join("half/phase-1/stage-00/partial/results.json")
            .is_file()
    );
    p.run(&["merge", "shard1", "shard2", "--evidence", "merged"])
        .code(0);
    let junit = std::fs::read_to_string(p.path().join("merged/junit.xml")).expect("junit");
    assert_eq!(junit.matches("<testcase ").count(), 12);
    validate_junit(&p.path().join("merged/junit.xml"));
    let r: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.path().join("merged/phase-1/stage-00/results.json")).expect("r"),
    )
    .expect("json");
    assert_eq!(r["partial"], false);
    assert_eq!(r["status"], "passed");
    let ids: Vec<&str> = r["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .map(|g| g["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        ids,
        (0..12).map(|i| format!("g{i}")).collect::<Vec<_>>(),
        "stage file order"
    );
}

#[test]
fn repeat_reports_flaky_gates() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Flaky\ngates:\n  - id: coin\n    title: every other run fails\n    run: 'n=$(cat \"$PROJECT_ROOT/n\" 2>/dev/null || echo 0); echo $((n+1)) > \"$PROJECT_ROOT/n\"; test $((n % 2)) = 0'\n",
    );
    let run = p.run(&["stage", "0", "--repeat", "4", "--jobs", "1"]);
    run.code(0);
    assert!(
        run.stderr.contains("flaky: 2 of 4 runs failed"),
        "{}",
        run.stdout
    );
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["flaky"], true);
    assert_eq!(r["gates"][0]["attempts"], 4);
    let junit = p.read("phase-1/stage-00/junit.xml");
    assert_eq!(junit.matches("<flakyFailure").count(), 2, "{junit}");
    validate_junit(&p.evidence("phase-1/stage-00/junit.xml"));
    assert!(p.read("phase-1/stage-00/report.md").contains("50% (2/4)"));
    let history = p.read("history.jsonl");
    assert!(history.contains("\"runs\":4,\"passes\":2"), "{history}");
}

#[test]
fn init_check_then_stage_0_fails() {
    let p = Project::new();
    let run = p.run(&["init"]);
    run.code(0);
    assert!(
        run.stdout
            .contains("wrote gates/phase-1/00-foundation-lock.yaml"),
        "{}",
        run.stdout
    );
    let check = p.run(&["check"]);
    check.code(0);
    assert!(check.stdout.contains("11 stage files"), "{}", check.stdout);
    assert!(
        check.stderr.is_empty(),
        "no lint warnings: {}",
        check.stderr
    );
    p.run(&["stage", "0"]).code(1);
    p.run(&["init"]).code(2);
    for template in ["ui", "integrations"] {
        p.run(&["init", "--template", template]).code(0);
    }
    p.run(&["check"]).code(0);
}

#[test]
fn json_schema_accepts_the_repo_and_rejects_a_typo() {
    let p = Project::new();
    let schema = p.run(&["schema"]);
    schema.code(0);
    let parsed: serde_json::Value =
        serde_json::from_str(&schema.stdout).expect("the schema is JSON");
    assert_eq!(parsed["title"], "gaterun stage file");
    p.file("schema.json", &schema.stdout);
    if Command::new("check-jsonschema")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "check-jsonschema is required under CI"
        );
        eprintln!("skipping validation: check-jsonschema not found (pip install check-jsonschema)");
        return;
    }
    let mut files = Vec::new();
    common::collect_files(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("gates"),
        &mut files,
    );
    assert!(!files.is_empty());
    let ok = Command::new("check-jsonschema")
        .arg("--schemafile")
        .arg(p.path().join("schema.json"))
        .args(&files)
        .output()
        .expect("run");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    p.file(
        "typo.yaml",
        "stage: 1\nname: S\ngates:\n  - id: a\n    titel: t\n    run: 'true'\n",
    );
    let bad = Command::new("check-jsonschema")
        .arg("--schemafile")
        .arg(p.path().join("schema.json"))
        .arg(p.path().join("typo.yaml"))
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stdout).contains("'titel' was unexpected"));
}
