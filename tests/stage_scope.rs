//! A stage's own scope: `setup:` steps run once before its gates, `services:` shared by all
//! its gates (started once, stopped after the last, a death failing the gates), a service's
//! fixed `port:` and `start: manual`. Real processes; nothing left running afterwards.

mod common;

use common::{Project, marker, processes_with};

fn server() -> String {
    format!("{}/tests/fixtures/server.py", env!("CARGO_MANIFEST_DIR"))
}

/// `n` gates that use the web service and setup's capture.
fn gates(n: usize, with: &str) -> String {
    (1..=n)
        .map(|i| {
            format!(
                "  - id: g{i}\n    title: gate {i}\n{with}    steps:\n      - http: ${{WEB_URL}}/healthz\n      - run: test \"$TOKEN\" = tok-42\n"
            )
        })
        .collect()
}

#[test]
fn a_shared_service_starts_once_for_ten_gates_and_setup_captures_reach_them() {
    if !common::python3() {
        return;
    }
    let m = marker();
    let p = Project::new();
    let starts = p.path().join("starts");
    let service = format!(
        "    run: echo start >> {} && exec python3 {} --marker-{m}\n    ready: {{ http: \"${{WEB_URL}}/healthz\" }}\n",
        starts.display(),
        server()
    );
    p.stage(
        "s.yaml",
        &format!(
            "stage: 0\nname: Shared\nservices:\n  web:\n{service}setup:\n  - run: echo tok-42\n    capture: {{ TOKEN: \"/(tok-\\\\d+)/\" }}\ngates:\n{}",
            gates(10, "")
        ),
    );
    p.run(&["stage", "0"]).code(0);
    let text = std::fs::read_to_string(&starts).expect("starts");
    assert_eq!(text.lines().count(), 1, "{text}");
    let r = p.results("stage-00");
    assert_eq!(r["setup"]["status"], "passed");
    assert_eq!(r["setup"]["log"], "logs/_setup.log");
    let log = p.read("phase-1/stage-00/logs/_setup.log");
    assert!(log.contains("── service web started"), "{log}");
    assert!(log.contains("── service web stopped"), "{log}");
    assert_eq!(processes_with(&m), Vec::<String>::new());
    p.run(&["verify"]).code(0);
    let report = p.read("phase-1/stage-00/report.md");
    assert!(report.contains("Stage setup"), "{report}");

    // The near miss: the same service as each gate's own starts once per gate.
    let q = Project::new();
    let starts = q.path().join("starts");
    let own = format!(
        "    services:\n      web:\n        run: echo start >> {} && exec python3 {} --marker-{m}\n        ready: {{ http: \"${{WEB_URL}}/healthz\" }}\n    env: {{ TOKEN: tok-42 }}\n",
        starts.display(),
        server()
    );
    q.stage(
        "s.yaml",
        &format!("stage: 0\nname: Own\ngates:\n{}", gates(10, &own)),
    );
    q.run(&["stage", "0"]).code(0);
    let text = std::fs::read_to_string(&starts).expect("starts");
    assert_eq!(text.lines().count(), 10, "{text}");
    assert_eq!(processes_with(&m), Vec::<String>::new());
}

#[test]
fn a_setup_failure_makes_every_gate_an_error_naming_it() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Setup fails
setup:
  - run: "true"
  - run: exit 4
gates:
  - id: a
    title: never runs
    run: touch a.ran
  - id: b
    title: never runs either
    run: touch b.ran
"#,
    );
    p.run(&["stage", "0"]).code(1);
    assert!(!p.path().join("a.ran").exists());
    assert!(!p.path().join("b.ran").exists());
    let r = p.results("stage-00");
    for g in r["gates"].as_array().expect("gates") {
        assert_eq!(g["status"], "error");
        assert_eq!(
            g["message"],
            "stage setup step 2 (run: exit 4): expected exit 0, got 4"
        );
    }
    assert_eq!(r["setup"]["status"], "failed");
    // Each gate is shown and has its log, saying why it did not run.
    let out = p.run(&["stage", "0"]);
    for id in ["a", "b"] {
        assert!(
            out.stdout
                .lines()
                .chain(out.stderr.lines())
                .any(|l| l.contains(&format!("! {id} ")) && l.contains("stage setup step 2")),
            "{}\n{}",
            out.stdout,
            out.stderr
        );
        let log = p.read(&format!("phase-1/stage-00/logs/{id}.log"));
        assert!(log.contains("not run: stage setup step 2"), "{log}");
    }
    p.run(&["verify"]).code(0);

    // The near miss: the same stage with a passing setup runs its gates.
    let q = Project::new();
    q.stage(
        "s.yaml",
        "stage: 0\nname: Setup passes\nsetup:\n  - run: \"true\"\ngates:\n  - id: a\n    title: runs\n    run: touch a.ran\n",
    );
    q.run(&["stage", "0"]).code(0);
    assert!(q.path().join("a.ran").exists());
}

#[test]
fn a_shared_service_that_dies_fails_the_gate_running_and_the_gates_after_it() {
    let m = marker();
    let p = Project::new();
    let die = p.path().join("die");
    p.stage(
        "s.yaml",
        &format!(
            r#"
stage: 0
name: Dies
serial: true
services:
  worker:
    run: while [ ! -f {die} ]; do sleep 0.05; done; echo dying {m}; exit 3
gates:
  - id: first
    title: passes while the worker lives
    run: "true"
  - id: second
    title: the worker dies under it
    run: touch {die}; sleep 20
  - id: third
    title: after the worker died
    run: touch third.ran
"#,
            die = die.display()
        ),
    );
    let started = std::time::Instant::now();
    p.run(&["stage", "0"]).code(1);
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    assert!(!p.path().join("third.ran").exists());
    let r = p.results("stage-00");
    let g = r["gates"].as_array().expect("gates");
    assert_eq!(g[0]["status"], "passed");
    assert_eq!(g[1]["status"], "failed");
    let m1 = g[1]["message"].as_str().expect("message");
    assert!(
        m1.contains("service `worker` of the stage exited with status 3"),
        "{m1}"
    );
    assert_eq!(g[2]["status"], "error");
    let m2 = g[2]["message"].as_str().expect("message");
    assert!(m2.contains("service `worker` of the stage"), "{m2}");
    assert_eq!(processes_with(&m), Vec::<String>::new());
}

#[test]
fn a_fixed_port_taken_is_an_error_at_once_naming_it() {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let p = Project::new();
    p.stage(
        "s.yaml",
        &format!(
            "stage: 0\nname: Fixed\ngates:\n  - id: a\n    title: wants a taken port\n    services:\n      web:\n        run: sleep 30\n        port: {port}\n    run: \"true\"\n"
        ),
    );
    let started = std::time::Instant::now();
    p.run(&["stage", "0"]).code(1);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "error");
    let msg = r["gates"][0]["message"].as_str().expect("message");
    assert!(msg.contains(&format!("port {port} is taken")), "{msg}");
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    drop(listener);

    // The near miss: the port free, the service gets it as its <NAME>_PORT.
    p.stage(
        "s.yaml",
        &format!(
            "stage: 0\nname: Fixed\ngates:\n  - id: a\n    title: a free fixed port\n    services:\n      web:\n        run: sleep 30\n        port: {port}\n    run: test \"$WEB_PORT\" = {port}\n"
        ),
    );
    p.run(&["stage", "0"]).code(0);
}

#[test]
fn a_manual_service_is_not_running_until_its_start_step() {
    if !common::python3() {
        return;
    }
    let m = marker();
    let p = Project::new();
    p.stage(
        "s.yaml",
        &format!(
            r#"
stage: 0
name: Manual
gates:
  - id: a
    title: migrate first, then start
    services:
      web:
        run: python3 {} --marker-{m}
        ready: {{ http: "${{WEB_URL}}/healthz" }}
        start: manual
    steps:
      - tcp: 127.0.0.1:${{WEB_PORT}}
        expect: {{ open: false }}
      - start: web
      - http: ${{WEB_URL}}/healthz
  - id: never
    title: a manual service never started is no error
    services:
      web:
        run: sleep 30
        start: manual
    run: "true"
"#,
            server()
        ),
    );
    p.run(&["stage", "0"]).code(0);
    assert_eq!(processes_with(&m), Vec::<String>::new());
}

#[test]
fn a_gate_may_not_control_or_shadow_a_stage_service() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"stage: 0
name: Rules
services:
  web:
    run: sleep 30
gates:
  - id: a
    title: stops the shared one
    steps:
      - stop: web
  - id: b
    title: declares one of the same name
    services:
      web:
        run: sleep 30
    run: "true"
  - id: c
    title: an unknown start value
    services:
      api:
        run: sleep 30
        start: later
    run: "true"
"#,
    );
    let out = p.run(&["check"]);
    out.code(2);
    let e = &out.stderr;
    assert!(
        e.contains("s.yaml:10:") && e.contains("a service of the stage"),
        "{e}"
    );
    assert!(
        e.contains("s.yaml:15:") && e.contains("already a service of the stage"),
        "{e}"
    );
    assert!(e.contains("unknown `start: later`"), "{e}");
    // The schema shows the new keys.
    let schema = p.run(&["schema"]).stdout;
    for key in ["\"setup\"", "\"finally\"", "\"port\"", "\"start\""] {
        assert!(schema.contains(key), "{key}");
    }
}

#[test]
fn the_stage_database_is_seen_by_setup_and_by_gates_without_their_own() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Stage database
database: sqlite
setup:
  - sql: CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('ana')
gates:
  - id: shared
    title: sees the rows setup seeded
    sql: SELECT count(*) FROM users
    expect: { value: 1 }
  - id: url
    title: sees the stage's DATABASE_URL
    run: test -n "$DATABASE_URL" && test -f "$DATABASE_PATH"
  - id: own
    title: a gate with its own database does not see the stage's
    database: sqlite
    sql: SELECT count(*) FROM users
    expect: { error: "/no such table/" }
"#,
    );
    p.run(&["stage", "0"]).code(0);
    let r = p.results("stage-00");
    assert_eq!(r["setup"]["steps"][0]["kind"], "database");
}

/// Two gates of one run asking for the same fixed port take turns (with `--jobs 4` they would
/// otherwise overlap, and the second find the port taken); both pass.
#[test]
fn gates_asking_for_the_same_fixed_port_take_turns() {
    if !common::python3() {
        return;
    }
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let gate = |id: &str| {
        format!(
            "  - id: {id}\n    title: uses the fixed port\n    services:\n      web:\n        run: python3 {}\n        port: {port}\n        ready: {{ http: \"${{WEB_URL}}/healthz\" }}\n    steps:\n      - http: http://127.0.0.1:{port}/healthz\n      - run: sleep 0.3\n",
            server()
        )
    };
    let p = Project::new();
    p.stage(
        "s.yaml",
        &format!("stage: 0\nname: Turns\ngates:\n{}{}", gate("a"), gate("b")),
    );
    p.run(&["stage", "0", "--jobs", "4"]).code(0);
}

/// Setup's captures are names gaterun sets for the gate: a gate's `env` may use one, not
/// redefine it.
#[test]
fn a_gate_env_may_use_but_not_redefine_a_setup_capture() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Fixed names
setup:
  - run: echo v1
    capture: { VERSION: "/(v\\d)/" }
gates:
  - id: uses
    title: uses it under another name
    env: { WANT: "${VERSION}" }
    run: test "$WANT" = v1
  - id: redefines
    title: the near miss, redefines it
    env: { VERSION: v2 }
    run: "true"
"#,
    );
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "passed");
    assert_eq!(r["gates"][1]["status"], "error");
    let m = r["gates"][1]["message"].as_str().expect("message");
    assert!(m.contains("`VERSION` is a variable of the stage"), "{m}");
}

#[test]
fn a_gate_with_databases_in_a_stage_with_a_database_runs_plain_sql_on_its_own() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Two levels
database: sqlite
setup:
  - sql: CREATE TABLE stage_only (x INTEGER)
gates:
  - id: own
    title: plain sql goes to the only one of the gate's databases
    databases: { aud: sqlite }
    steps:
      - sql: SELECT count(*) FROM sqlite_master WHERE name = 'stage_only'
        expect: { value: 0 }
  - id: stage
    title: the near miss, a gate without databases sees the stage's
    sql: SELECT count(*) FROM sqlite_master WHERE name = 'stage_only'
    expect: { value: 1 }
"#,
    );
    let out = p.run(&["stage", "0"]);
    out.code(0);
}

#[test]
fn a_setup_that_times_out_says_so_in_every_gate() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Slow setup\ndefaults: { timeout: 1s }\nsetup:\n  - run: sleep 30\ngates:\n  - id: a\n    title: never runs\n    run: \"true\"\n",
    );
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    let message = r["gates"][0]["message"].as_str().expect("message");
    assert!(
        message.contains("stage setup timed out after 1s"),
        "{message}"
    );
    assert!(!message.contains("gate timed out"), "{message}");
}

#[test]
fn a_gate_not_run_after_a_setup_failure_logs_the_reason_without_control_characters() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Noisy service\nservices:\n  m: { run: \"printf 'boom\\\\033[2Jgone\\\\n'; exit 3\", ready: { log: never } }\ngates:\n  - id: a\n    title: never runs\n    run: \"true\"\n",
    );
    p.run(&["stage", "0"]).code(1);
    let message = p.results("stage-00")["gates"][0]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    assert!(message.contains("status 3"), "{message}");
    let log = p.read("phase-1/stage-00/logs/a.log");
    assert!(log.contains("not run:") && log.contains("boom"), "{log}");
    assert!(!log.contains('\u{1b}'), "{log:?}");
}
