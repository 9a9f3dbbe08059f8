//! `finally:` on a gate: teardown steps that run after the steps whatever they did (a failure,
//! a timeout), each recorded as `finally: …`; their failure fails a passing gate but never
//! replaces the first failure's message.

mod common;

use common::Project;

fn gates(r: &serde_json::Value) -> Vec<serde_json::Value> {
    r["gates"].as_array().expect("gates").clone()
}

fn gate<'a>(gates: &'a [serde_json::Value], id: &str) -> &'a serde_json::Value {
    gates.iter().find(|g| g["id"] == id).expect("gate")
}

#[test]
fn finally_runs_after_a_failing_step_and_keeps_the_first_failure() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Finally
gates:
  - id: fails
    title: a step fails, finally still runs
    steps:
      - run: exit 3
      - run: touch never.ran
    finally:
      - run: exit 7
      - run: touch fails.done
  - id: passes
    title: the steps pass, a finally step fails
    steps:
      - run: "true"
    finally:
      - run: exit 9
  - id: clean
    title: the near miss, steps and finally pass
    steps:
      - run: "true"
    finally:
      - run: touch clean.done
"#,
    );
    p.run(&["stage", "0"]).code(1);
    // Every finally step ran, the one after a failing finally step too.
    assert!(p.path().join("fails.done").exists());
    assert!(p.path().join("clean.done").exists());
    assert!(!p.path().join("never.ran").exists());
    let r = p.results("stage-00");
    let g = gates(&r);
    let fails = gate(&g, "fails");
    assert_eq!(fails["status"], "failed");
    assert_eq!(
        fails["message"],
        "step 1 (run: exit 3): expected exit 0, got 3"
    );
    let names: Vec<&str> = fails["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "run: exit 3",
            "run: touch never.ran",
            "finally: run: exit 7",
            "finally: run: touch fails.done"
        ]
    );
    assert_eq!(fails["steps"][2]["status"], "failed");
    assert_eq!(fails["steps"][3]["status"], "passed");
    // A finally failure fails a gate that had passed, and says it was in finally.
    let passes = gate(&g, "passes");
    assert_eq!(passes["status"], "failed");
    assert_eq!(
        passes["message"],
        "finally step 1 (run: exit 9): expected exit 0, got 9"
    );
    assert_eq!(gate(&g, "clean")["status"], "passed");
    let log = p.read("phase-1/stage-00/logs/fails.log");
    assert!(
        log.contains("── finally 2/2: run: touch fails.done"),
        "{log}"
    );
}

#[test]
fn finally_runs_after_a_gate_timeout_with_a_budget_of_its_own() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Finally after a timeout
gates:
  - id: slow
    title: the gate times out, finally still runs
    timeout: 1s
    steps:
      - run: sleep 30
    finally:
      - run: sleep 0.2 && touch timeout.done
  - id: bounded
    title: a finally step that hangs is cut by its own timeout
    steps:
      - run: "true"
    finally:
      - run: sleep 30
        timeout: 500ms
      - run: touch bounded.done
"#,
    );
    let started = std::time::Instant::now();
    p.run(&["stage", "0"]).code(1);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert!(p.path().join("timeout.done").exists());
    assert!(p.path().join("bounded.done").exists());
    let r = p.results("stage-00");
    let g = gates(&r);
    let slow = gate(&g, "slow");
    assert_eq!(slow["status"], "failed");
    assert_eq!(
        slow["message"],
        "gate timed out after 1s in step `run: sleep 30`"
    );
    assert_eq!(slow["steps"][1]["status"], "passed");
    let bounded = gate(&g, "bounded");
    assert_eq!(bounded["status"], "failed");
    let m = bounded["message"].as_str().expect("message");
    assert!(m.contains("timed out after 500ms"), "{m}");
}

#[test]
fn an_empty_finally_is_a_located_error() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: X\ngates:\n  - id: a\n    title: t\n    run: \"true\"\n    finally: []\n",
    );
    let out = p.run(&["check"]);
    out.code(2);
    assert!(
        out.stderr.contains("s.yaml:7:") && out.stderr.contains("`finally` is empty"),
        "{}",
        out.stderr
    );
}

/// A first interrupt stops the gate's steps, but its teardown still runs (bounded); the gate is
/// recorded interrupted, not failed by its finally steps.
#[test]
fn finally_runs_after_an_interrupt() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Interrupted
gates:
  - id: a
    title: interrupted, then teardown
    run: 'touch "$PROJECT_ROOT/started"; sleep 30'
    finally:
      - run: sleep 0.2 && touch "$PROJECT_ROOT/teardown.done"
"#,
    );
    let status = p.signal_after(&["stage", "0"], "started", rustix::process::Signal::INT);
    assert_eq!(status.code(), Some(130));
    assert!(p.path().join("teardown.done").exists());
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "interrupted");
    assert_eq!(r["gates"][0]["steps"][1]["status"], "passed");
}

#[test]
fn a_service_that_dies_during_finally_fails_a_passing_gate_naming_it() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Finally and services
gates:
  - id: dies-during
    title: the service exits while a finally step runs
    services:
      m: { run: "sleep 0.3; exit 5" }
    steps:
      - run: "true"
    finally:
      - run: sleep 1
  - id: manual
    title: a manual service started in finally exits at once
    services:
      m: { run: "exit 6", start: manual }
    steps:
      - run: "true"
    finally:
      - start: m
      - run: sleep 0.5
  - id: alive
    title: the near miss, the service lives through finally
    services:
      m: { run: "sleep 30" }
    steps:
      - run: "true"
    finally:
      - run: sleep 0.3
"#,
    );
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    let g = gates(&r);
    for (id, status) in [("dies-during", 5), ("manual", 6)] {
        let gate = gate(&g, id);
        assert_eq!(gate["status"], "failed", "{id}");
        let message = gate["message"].as_str().expect("message");
        assert!(
            message.contains("service `m`") && message.contains(&format!("status {status}")),
            "{id}: {message}"
        );
        assert!(!message.contains("#0"), "{message}");
    }
    assert_eq!(gate(&g, "alive")["status"], "passed");
}

/// An interrupt that comes while a passing gate is in its `finally` cuts nothing short (finally
/// runs on after a first interrupt): the gate is recorded passed, and the closing notice says
/// no gate was cut short rather than that the evidence is marked interrupted.
#[test]
fn an_interrupt_during_finally_of_a_passed_gate_says_so() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Teardown
gates:
  - id: a
    title: passes, then tears down
    run: 'true'
    finally:
      - run: touch "$PROJECT_ROOT/in-finally"; sleep 1; touch "$PROJECT_ROOT/teardown.done"
"#,
    );
    let out = p.interrupt_after(&["stage", "0"], "in-finally");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(p.path().join("teardown.done").exists());
    assert_eq!(p.results("stage-00")["gates"][0]["status"], "passed");
    assert!(
        stderr.contains("no gate was cut short, each is recorded as it ended"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("cut short are marked interrupted"),
        "{stderr}"
    );
}
