//! `--message-format json`: the real binary's stdout, line by line, validated against the schema
//! the project ships (docs/events.schema.json, which must be what `gaterun schema --events`
//! prints), in the right order, field for field what results.json says, and nothing else on
//! stdout; the schema strict enough that near misses fail it; hostile gate output kept inert.
//!
//! Validation is Python's `jsonschema` (installed by .ci/run for tests/verify.rs): a real,
//! independent validator of draft 2020-12, and no new Rust dependency to build.

mod common;

use std::path::{Path, PathBuf};

use common::{Project, Run};
use serde_json::Value;

fn shipped_schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/events.schema.json")
}

/// Each stdout line parsed; a line that is not a JSON object fails the test (nothing but events
/// on stdout).
fn events(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| {
                panic!(
                    "not JSON on stdout ({e}): {line}\n--- stderr\n{}",
                    run.stderr
                )
            });
            assert!(v.is_object(), "not an object: {line}");
            assert!(
                line.starts_with(r#"{"format":"gaterun-events","version":1,"event":""#),
                "{line}"
            );
            v
        })
        .collect()
}

/// Validate each line of `lines` against the shipped schema: per line, `None` when valid, else
/// the validator's complaint. `None` for the whole when python3 jsonschema is absent (outside
/// CI).
fn validate(dir: &Path, lines: &[String]) -> Option<Vec<Option<String>>> {
    if !common::tool(
        "python3 jsonschema",
        &["python3", "-c", "import jsonschema"],
        "pip install jsonschema",
    ) {
        return None;
    }
    let file = dir.join("events.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").expect("write lines");
    let out = std::process::Command::new("python3")
        .args(["-c", VALIDATE])
        .arg(shipped_schema())
        .arg(&file)
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<Option<String>> = text
        .lines()
        .map(|l| (l != "ok").then(|| l.to_owned()))
        .collect();
    assert_eq!(verdicts.len(), lines.len(), "{text}");
    Some(verdicts)
}

/// argv 1: the schema (checked as one); argv 2: JSON lines. Prints `ok` or the first error per
/// line.
const VALIDATE: &str = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
v = cls(schema)
for line in open(sys.argv[2]).read().splitlines():
    e = jsonschema.exceptions.best_match(v.iter_errors(json.loads(line)))
    print("ok" if e is None else "/".join(map(str, e.path)) + ": " + e.message.replace("\n", " ")[:300])
"#;

/// Every stdout line of a run valid against the shipped schema.
fn assert_valid(p: &Project, run: &Run) {
    let lines: Vec<String> = run.stdout.lines().map(str::to_owned).collect();
    if let Some(verdicts) = validate(p.path(), &lines) {
        for (line, verdict) in lines.iter().zip(verdicts) {
            assert_eq!(verdict, None, "{line}");
        }
    }
}

/// The order a tool relies on: `run_started` first and `run_finished` last, once each; stages
/// one at a time, each between its `stage_started` and `stage_finished`; each gate once, started
/// before it finishes, in its stage; a step only between its gate's lines. Each finished gate
/// is its entry of results.json, field for field, and each finished stage is its results.json.
fn assert_order(p: &Project, events: &[Value]) {
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().expect("event"))
        .collect();
    assert_eq!(kinds.first(), Some(&"run_started"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"run_finished"), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "run_started").count(), 1);
    assert_eq!(kinds.iter().filter(|k| **k == "run_finished").count(), 1);
    let mut stage: Option<(Value, Value)> = None;
    let mut running: Vec<String> = Vec::new();
    let mut finished: Vec<String> = Vec::new();
    for e in &events[1..events.len() - 1] {
        let here = (e["phase"].clone(), e["stage"].clone());
        match e["event"].as_str().expect("event") {
            "stage_started" => {
                assert!(stage.is_none(), "a stage inside another: {e}");
                stage = Some(here);
                finished.clear();
            }
            "gate_started" => {
                assert_eq!(stage.as_ref(), Some(&here), "{e}");
                let id = e["gate"].as_str().expect("gate").to_owned();
                assert!(
                    !running.contains(&id) && !finished.contains(&id),
                    "twice: {e}"
                );
                running.push(id);
            }
            "step_finished" => {
                assert_eq!(stage.as_ref(), Some(&here), "{e}");
                assert!(
                    running.iter().any(|g| e["gate"] == **g),
                    "step of no gate: {e}"
                );
            }
            "gate_finished" => {
                assert_eq!(stage.as_ref(), Some(&here), "{e}");
                let id = e["result"]["id"].as_str().expect("id").to_owned();
                let at = running.iter().position(|g| *g == id);
                let at = at.unwrap_or_else(|| panic!("finished, never started: {e}"));
                running.remove(at);
                finished.push(id);
            }
            "stage_finished" => {
                assert_eq!(stage.take(), Some(here), "{e}");
                assert!(running.is_empty(), "gates still running: {running:?}");
                let result = &e["result"];
                let dir = format!(
                    "phase-{}/stage-{:0>2}/results.json",
                    result["phase"],
                    result["stage"].as_str().expect("stage")
                );
                let written: Value = serde_json::from_str(&p.read(&dir)).expect("results.json");
                assert_eq!(result, &written, "stage_finished is results.json");
                let mut ids: Vec<&str> = written["gates"]
                    .as_array()
                    .expect("gates")
                    .iter()
                    .map(|g| g["id"].as_str().expect("id"))
                    .collect();
                let mut got: Vec<&str> = finished.iter().map(String::as_str).collect();
                ids.sort_unstable();
                got.sort_unstable();
                assert_eq!(got, ids, "every gate of the stage reported");
            }
            other => panic!("unexpected {other} inside the run"),
        }
    }
    assert!(stage.is_none(), "a stage never finished");
    // Each gate_finished is the gate's object in results.json, and its steps are the
    // step_finished lines just before it, in order.
    for (i, e) in events.iter().enumerate() {
        if e["event"] != "gate_finished" {
            continue;
        }
        let stage_done = events[i..]
            .iter()
            .find(|s| s["event"] == "stage_finished")
            .expect("its stage finishes");
        let entry = stage_done["result"]["gates"]
            .as_array()
            .expect("gates")
            .iter()
            .find(|g| g["id"] == e["result"]["id"])
            .expect("the gate in results.json");
        assert_eq!(
            &e["result"], entry,
            "gate_finished is its results.json entry"
        );
        let steps = e["result"]["steps"].as_array().expect("steps");
        let before: Vec<&Value> = events[..i].iter().rev().take(steps.len()).rev().collect();
        for (k, (step, line)) in steps.iter().zip(before).enumerate() {
            assert_eq!(line["event"], "step_finished", "{line}");
            assert_eq!(line["index"], k, "{line}");
            assert_eq!(&line["result"], step, "{line}");
        }
    }
}

fn gate<'a>(events: &'a [Value], id: &str) -> &'a Value {
    &events
        .iter()
        .find(|e| e["event"] == "gate_finished" && e["result"]["id"] == id)
        .unwrap_or_else(|| panic!("no gate_finished for {id}"))["result"]
}

fn server() -> String {
    format!("{}/tests/fixtures/server.py", env!("CARGO_MANIFEST_DIR"))
}

/// The committed schema is the binary's: no drift between docs/events.schema.json and the
/// types the lines are made from.
#[test]
fn the_shipped_schema_is_what_gaterun_prints() {
    let p = Project::new();
    let run = p.run(&["schema", "--events"]);
    run.code(0);
    let shipped = std::fs::read_to_string(shipped_schema()).expect("docs/events.schema.json");
    assert!(
        run.stdout == shipped,
        "docs/events.schema.json is stale: write it with `gaterun schema --events > docs/events.schema.json`"
    );
    // And the stage-file schema is still the default.
    let stage = p.run(&["schema"]);
    assert!(
        stage.stdout.contains("gaterun stage file"),
        "{}",
        stage.stdout
    );
}

/// pass, fail, error, flaky (retries), a skipped step, a service; a second stage blocked by the
/// first; then a phase of two stages that pass.
#[test]
fn every_outcome_is_an_event_valid_and_in_order() {
    let p = Project::new();
    p.stage(
        "00.yaml",
        &r#"
stage: 0
name: Outcomes
gates:
  - id: pass
    title: passes
    steps:
      - run: echo hi
  - id: fail
    title: fails, its second step skipped
    steps:
      - run: echo boom; exit 3
      - run: echo never
  - id: error
    title: an undefined variable
    run: ["echo", "${NOPE}"]
  - id: flaky
    title: passes the second time
    retries: 2
    run: 'n=$(( $(cat "$PROJECT_ROOT/count" 2>/dev/null || echo 0) + 1 )); echo $n > "$PROJECT_ROOT/count"; test $n -ge 2'
  - id: service
    title: a service answers
    services:
      api:
        run: python3 @SERVER@ --marker-message_format_service
        ready: { http: "${API_URL}/healthz", timeout: 20s }
    http: ${API_URL}/healthz
    expect: { status: 200 }
"#
        .replace("@SERVER@", &server()),
    );
    p.stage(
        "01.yaml",
        "stage: 1\nname: After\ngates:\n  - id: later\n    title: blocked\n    run: 'true'\n  - id: later2\n    title: blocked too\n    run: 'true'\n",
    );
    let run = p.run(&["phase", "1", "--message-format", "json"]);
    run.code(1);
    let ev = events(&run);
    assert_order(&p, &ev);
    assert_valid(&p, &run);
    assert_eq!(gate(&ev, "pass")["status"], "passed");
    assert_eq!(gate(&ev, "fail")["status"], "failed");
    assert_eq!(gate(&ev, "fail")["steps"][1]["status"], "skipped");
    assert_eq!(gate(&ev, "error")["status"], "error");
    assert_eq!(gate(&ev, "flaky")["flaky"], true);
    assert_eq!(gate(&ev, "flaky")["attempts"], 2);
    assert_eq!(gate(&ev, "service")["status"], "passed");
    assert_eq!(gate(&ev, "later")["status"], "blocked");
    let first = &ev[0];
    assert_eq!(first["command"], "phase");
    assert_eq!(first["stages"][1]["name"], "After");
    let last = ev.last().expect("last");
    assert_eq!(last["status"], "failed");
    assert_eq!(last["exit_code"], 1);
    let counts = &last["counts"];
    assert_eq!(
        (counts["stages"].clone(), counts["gates"].clone()),
        (2.into(), 7.into())
    );
    assert_eq!(
        [
            &counts["passed"],
            &counts["failed"],
            &counts["error"],
            &counts["blocked"],
            &counts["flaky"]
        ],
        [&Value::from(3), &1.into(), &1.into(), &2.into(), &1.into()]
    );
    // The blocked stage has its own started and finished lines.
    let blocked: Vec<&str> = ev
        .iter()
        .filter(|e| e["stage"] == "1")
        .map(|e| e["event"].as_str().expect("event"))
        .collect();
    assert_eq!(
        blocked,
        [
            "stage_started",
            "gate_started",
            "gate_finished",
            "gate_started",
            "gate_finished",
            "stage_finished"
        ]
    );
    // The human report is on stderr.
    assert!(run.stderr.contains("✗ fail"), "{}", run.stderr);
    assert!(
        run.stderr.contains("evidence: evidence/index.html"),
        "{}",
        run.stderr
    );

    // The near miss of the format: without it, stdout is empty (no JSON) and the human report
    // is on stderr.
    let human = p.run(&["stage", "1", "--prereqs", "ignore"]);
    human.code(0);
    assert!(human.stdout.is_empty(), "{}", human.stdout);
    assert!(
        human.stderr.contains("stage 1 — After: passed"),
        "{}",
        human.stderr
    );

    // A phase whose stages pass: exit 0, `passed`, the stages in order.
    std::fs::write(
        p.path().join("gates/00.yaml"),
        "stage: 0\nname: First\ngates:\n  - id: a\n    title: t\n    run: 'true'\n",
    )
    .expect("write");
    let run = p.run(&["--message-format", "json", "phase", "1"]);
    run.code(0);
    let ev = events(&run);
    assert_order(&p, &ev);
    assert_valid(&p, &run);
    let stages: Vec<&Value> = ev
        .iter()
        .filter(|e| e["event"] == "stage_finished")
        .map(|e| &e["stage"])
        .collect();
    assert_eq!(stages, [&Value::from("0"), &Value::from("1")]);
    assert_eq!(ev.last().expect("last")["status"], "passed");
    assert_eq!(ev.last().expect("last")["exit_code"], 0);
}

/// SIGINT while a gate runs: the running gate and the one never started are reported
/// interrupted, the run ends with `run_finished` `interrupted`, exit 130.
#[test]
fn an_interrupted_run_reports_every_gate_and_ends() {
    let m = common::marker();
    let p = Project::new();
    p.stage(
        "s.yaml",
        &"stage: 0\nname: Long\ngates:\n  - id: a\n    title: sleeps\n    run: 'touch \"$PROJECT_ROOT/started\"; sleep 987633'\n  - id: b\n    title: never starts\n    run: 'true'\n"
            .replace("987633", &m),
    );
    let child = p
        .cmd(&["stage", "0", "--jobs", "1", "--message-format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    common::wait_for_file(&p.path().join("started"));
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    )
    .expect("kill");
    let run = Run::from(child.wait_with_output().expect("wait"));
    run.code(130);
    let ev = events(&run);
    assert_order(&p, &ev);
    assert_valid(&p, &run);
    assert_eq!(gate(&ev, "a")["status"], "interrupted");
    assert_eq!(gate(&ev, "b")["status"], "interrupted");
    let last = ev.last().expect("last");
    assert_eq!(
        (last["status"].clone(), last["exit_code"].clone()),
        ("interrupted".into(), 130.into())
    );
    assert_eq!(
        common::processes_with(&format!("sleep {m}")),
        Vec::<String>::new()
    );
}

type Edit = Box<dyn Fn(&mut Value)>;

/// Set the value at a JSON pointer (a new key of an object, or a replaced value).
fn set(pointer: &'static str, value: impl Into<Value>) -> Edit {
    let value = value.into();
    Box::new(move |v| {
        let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
        let object = v.pointer_mut(parent).and_then(Value::as_object_mut);
        object
            .expect("an object")
            .insert(key.to_owned(), value.clone());
    })
}

/// Remove `key` from the object at a JSON pointer.
fn without(pointer: &'static str, key: &'static str) -> Edit {
    Box::new(move |v| {
        let object = v.pointer_mut(pointer).and_then(Value::as_object_mut);
        assert!(object.expect("an object").remove(key).is_some(), "{key}");
    })
}

/// The schema is strict: a valid line passes, and each near miss of it fails — a wrong type, a
/// missing required field, a field the format does not have, a wrong marker or version, an
/// unknown event or status.
#[test]
fn near_misses_of_a_line_do_not_validate() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - id: a\n    title: t\n    steps:\n      - run: exit 1\n",
    );
    let run = p.run(&["stage", "0", "--message-format", "json"]);
    run.code(1);
    let ev = events(&run);
    let line = |kind: &str| {
        ev.iter()
            .find(|e| e["event"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind}"))
    };
    let cases: Vec<(&str, &str, Edit)> = vec![
        ("gate_finished", "as printed", Box::new(|_| {})),
        (
            "gate_finished",
            "duration as text",
            set("/result/duration_ms", "12"),
        ),
        (
            "gate_finished",
            "a negative duration",
            set("/result/duration_ms", -1),
        ),
        ("gate_finished", "no message", without("/result", "message")),
        (
            "gate_finished",
            "a step without status",
            without("/result/steps/0", "status"),
        ),
        (
            "gate_finished",
            "an unknown status",
            set("/result/status", "ok"),
        ),
        (
            "gate_finished",
            "a field not in the format",
            set("/result/colour", "red"),
        ),
        ("gate_finished", "no result", without("", "result")),
        ("gate_finished", "another format", set("/format", "cargo")),
        ("gate_finished", "version 2", set("/version", 2)),
        ("gate_finished", "no version", without("", "version")),
        (
            "gate_finished",
            "an unknown event",
            set("/event", "gate_done"),
        ),
        ("run_started", "as printed", Box::new(|_| {})),
        (
            "run_started",
            "no commit (null is required)",
            without("", "commit"),
        ),
        ("run_started", "jobs as text", set("/jobs", "2")),
        ("run_finished", "as printed", Box::new(|_| {})),
        (
            "run_finished",
            "a count missing",
            without("/counts", "failed"),
        ),
        ("run_finished", "exit code as text", set("/exit_code", "1")),
        ("stage_finished", "as printed", Box::new(|_| {})),
        (
            "stage_finished",
            "partial missing",
            without("/result", "partial"),
        ),
        (
            "stage_finished",
            "a gate's line as text",
            set("/result/gates/0/line", "4"),
        ),
        ("step_finished", "as printed", Box::new(|_| {})),
        ("step_finished", "no index", without("", "index")),
    ];
    let lines: Vec<String> = cases
        .iter()
        .map(|(kind, _, edit)| {
            let mut v = line(kind);
            edit(&mut v);
            v.to_string()
        })
        .collect();
    let Some(verdicts) = validate(p.path(), &lines) else {
        return;
    };
    for ((kind, what, _), verdict) in cases.iter().zip(verdicts) {
        if *what == "as printed" {
            assert_eq!(verdict, None, "{kind} {what}");
        } else {
            assert!(verdict.is_some(), "{kind}, {what}: validated");
        }
    }
}

const SECRET: &str = "tok3n-S3cretValue-4242";

/// What a gate prints is inert in the events: a workflow command, ANSI escapes, a line
/// separator and newlines stay inside one JSON line each; a declared secret appears nowhere on
/// stdout, whole or in part.
#[test]
fn hostile_output_stays_inside_its_line_and_secrets_are_masked() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r###"
stage: 0
name: Hostile
gates:
  - id: hostile
    title: prints what it should not
    secrets: [API_TOKEN]
    steps:
      - run: printf '::error::x\n\033[31mred\033[0m %s\n' "$API_TOKEN"
        expect: { stdout: "nothing like this" }
  - id: leaks
    title: its failure quotes the secret and a line separator
    secrets: [API_TOKEN]
    steps:
      - run: 'printf "%s\342\200\250::warning::y\n" "$API_TOKEN"; exit 1'
  - id: old-form
    title: the old command form, which the runner takes anywhere in a line
    run: 'echo "##[error]boom"'
    expect: { stdout: "nothing like this" }
"###,
    );
    let run_with = |extra: &[&str]| {
        let mut args = vec!["stage", "0", "--message-format", "json"];
        args.extend(extra);
        let mut cmd = p.cmd(&args);
        cmd.env("API_TOKEN", SECRET)
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("GITHUB_OUTPUT");
        Run::from(cmd.output().expect("run"))
    };
    let run = run_with(&[]);
    run.code(1);
    let ev = events(&run);
    assert_order(&p, &ev);
    assert_valid(&p, &run);
    assert!(!run.stdout.contains('\u{1b}'), "{}", run.stdout);
    assert!(!run.stdout.contains('\u{2028}'), "{}", run.stdout);
    for line in run.stdout.lines() {
        assert!(!line.starts_with("::"), "{line}");
    }
    assert!(!run.stdout.contains("##["), "{}", run.stdout);
    // The same text to a JSON reader.
    let old = gate(&ev, "old-form")["message"].as_str().expect("message");
    assert!(old.contains("##[error]boom"), "{old}");
    // Whole or in part: no 8-character piece of the secret.
    let chars: Vec<char> = SECRET.chars().collect();
    for piece in chars.windows(8) {
        let piece: String = piece.iter().collect();
        assert!(!run.stdout.contains(&piece), "{piece} in {}", run.stdout);
        assert!(!run.stderr.contains(&piece), "{piece} in {}", run.stderr);
    }
    // Under GitHub Actions the workflow commands (masks, groups, annotations) go to stderr:
    // stdout stays the events'.
    let github = run_with(&["--github"]);
    github.code(1);
    assert_eq!(events(&github).len(), ev.len());
    assert!(github.stderr.contains("::add-mask::"), "{}", github.stderr);
    assert!(github.stderr.contains("::group::"), "{}", github.stderr);
    let message = gate(&ev, "hostile")["message"].as_str().expect("message");
    assert!(message.contains("***"), "{message}");
    assert!(
        message.contains("::error::x"),
        "the text is kept, as data: {message}"
    );
}
