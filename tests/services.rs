//! Services and network checks against a real HTTP service (tests/fixtures/server.py) on a
//! free port: readiness, crashes, captures, restarts, and nothing left running afterwards.

mod common;

use common::{Project, processes_with};

fn server() -> String {
    format!("{}/tests/fixtures/server.py", env!("CARGO_MANIFEST_DIR"))
}

/// A project whose gates can say `python3 "$SERVER"`.
fn project(stage: &str) -> Project {
    let p = Project::new();
    let yaml = stage.replace("@SERVER@", &server());
    p.stage("s.yaml", &yaml);
    p
}

#[test]
fn service_ready_on_healthz_and_its_output_is_logged() {
    if !common::python3() {
        return;
    }
    let p = project(
        r#"
stage: 0
name: Health
gates:
  - id: healthz
    title: GET /healthz returns ok
    services:
      api:
        run: python3 @SERVER@ --marker-service_ready_on_healthz_and_its_output_is_logged
        ready: { http: "${API_URL}/healthz", timeout: 20s }
    steps:
      - http: ${API_URL}/healthz
        expect: { status: 200, body: ["/^ok$/"], headers: { content-type: text/plain } }
      - tcp: 127.0.0.1:${API_PORT}
      - run: 'test "$API_URL" = "http://127.0.0.1:$API_PORT"'
"#,
    );
    p.run(&["stage", "0"]).code(0);
    let log = p.read("phase-1/stage-00/logs/healthz.log");
    assert!(log.contains("[api] listening on "), "{log}");
    assert!(
        log.contains("[api] request: \"GET /healthz HTTP/1.1\" 200"),
        "{log}"
    );
    assert!(log.contains("< 200 OK"), "{log}");
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["steps"][0]["kind"], "start");
    assert_eq!(r["gates"][0]["steps"][1]["kind"], "http");
    assert_eq!(
        processes_with("--marker-service_ready_on_healthz_and_its_output_is_logged"),
        Vec::<String>::new()
    );
}

#[test]
fn a_service_that_exits_at_start_fails_at_once_with_its_status_and_output() {
    if !common::python3() {
        return;
    }
    let p = project(
        r#"
stage: 0
name: Crash
gates:
  - id: crash
    title: the service exits with 3
    services:
      api:
        run: python3 @SERVER@ --marker-a_service_that_exits_at_start_fails_at_once_with_its_status_and_output
        env: { EXIT_AT_START: "3" }
        ready: { http: "${API_URL}/healthz", timeout: 60s }
    http: ${API_URL}/healthz
"#,
    );
    let started = std::time::Instant::now();
    p.run(&["stage", "0"]).code(1);
    // Not a timing test: proof it did not wait out the 60 s ready timeout.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let r = p.results("stage-00");
    assert_eq!(
        r["gates"][0]["message"],
        "service `api` exited with status 3 before it was ready; last output: \"boom: refusing to start\""
    );
    assert_eq!(r["gates"][0]["steps"][1]["status"], "skipped");
}

#[test]
fn a_service_that_never_listens_fails_at_its_ready_timeout() {
    if !common::python3() {
        return;
    }
    let p = project(
        r#"
stage: 0
name: Never
gates:
  - id: never
    title: never ready
    services:
      api:
        run: python3 @SERVER@ --marker-a_service_that_never_listens_fails_at_its_ready_timeout
        env: { NEVER_LISTEN: "1" }
        ready: { http: "${API_URL}/healthz", timeout: 1s }
    http: ${API_URL}/healthz
"#,
    );
    p.run(&["stage", "0"]).code(1);
    let msg = p.results("stage-00")["gates"][0]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    assert_eq!(
        msg,
        "service `api` not ready after 1s: last probe: connection refused"
    );
    assert_eq!(
        processes_with("--marker-a_service_that_never_listens_fails_at_its_ready_timeout"),
        Vec::<String>::new()
    );
}

#[test]
fn post_json_capture_and_a_wrong_status() {
    if !common::python3() {
        return;
    }
    let p = project(
        r#"
stage: 0
name: Api
gates:
  - id: crud
    title: create and read back; 409 expected but 200 given
    services:
      api:
        run: python3 @SERVER@ --marker-post_json_capture_and_a_wrong_status
        ready: { log: "/^listening on \\d+$/" }
    steps:
      - http: POST ${API_URL}/items
        json: { name: "task for ${GATE_ID}" }
        expect:
          status: 201
          headers: { location: "/items/" }
          json: { "$.name": "task for crud", "$.state": "/^new$/", "$.id": 1 }
        capture: { ID: "$.id", WHERE: "header:Location" }
      - http: ${API_URL}/items/${ID}
        expect: { json: { "$.name": "/task/" } }
      - name: invalid transition
        http: GET ${API_URL}${WHERE}
        expect: { status: 409 }
"#,
    );
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    assert_eq!(
        r["gates"][0]["message"],
        "step 3 (invalid transition): expected status 409, got 200"
    );
    let steps = r["gates"][0]["steps"].as_array().expect("steps");
    assert_eq!(
        steps
            .iter()
            .map(|s| s["status"].as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["passed", "passed", "passed", "failed"]
    );
    let log = p.read("phase-1/stage-00/logs/crud.log");
    assert!(
        log.contains("{\"name\":\"task for crud\"}"),
        "request body logged: {log}"
    );
    assert!(log.contains("< 201 Created"), "{log}");
}

#[test]
fn kill_restart_keeps_state_under_gate_tmp() {
    if !common::python3() {
        return;
    }
    let p = project(
        r#"
stage: 0
name: Restart
gates:
  - id: restart
    title: state survives a crash
    services:
      api:
        run: [python3, "@SERVER@", "--marker-kill_restart_keeps_state_under_gate_tmp"]
        env: { STATE_FILE: "${GATE_TMP}/counter" }
        ready: { tcp: "127.0.0.1:${API_PORT}" }
    steps:
      - http: POST ${API_URL}/counter
      - http: POST ${API_URL}/counter
      - restart: api
        signal: KILL
      - http: ${API_URL}/counter
        expect: { json: { "$.count": 2 } }
      - stop: api
      - tcp: 127.0.0.1:${API_PORT}
        expect: { open: false }
      - file: ${GATE_TMP}/counter
        expect: { contains: ["/^2$/"] }
      - start: api
      - http: ${API_URL}/counter
        expect: { json: { "$.count": 2 } }
"#,
    );
    p.run(&["stage", "0"]).code(0);
    let log = p.read("phase-1/stage-00/logs/restart.log");
    assert!(log.contains("service api stopped (signal 9)"), "{log}");
}

#[test]
fn twenty_gates_with_one_service_definition_get_their_own_ports() {
    if !common::python3() {
        return;
    }
    let mut yaml = String::from("stage: 0\nname: Many\ngates:\n");
    for i in 0..20 {
        yaml.push_str(&format!(
            "  - id: g{i}\n    title: own port\n    services:\n      api:\n        run: python3 @SERVER@ --marker-twenty_gates_with_one_service_definition_get_their_own_ports\n        ready: {{ http: \"${{API_URL}}/healthz\", timeout: 60s }}\n    steps:\n      - http: POST ${{API_URL}}/items\n        json: {{ name: g{i} }}\n        expect: {{ json: {{ \"$.id\": 1, \"$.name\": g{i} }} }}\n"
        ));
    }
    let p = project(&yaml);
    p.run(&["stage", "0", "--jobs", "8"]).code(0);
    let r = p.results("stage-00");
    assert_eq!(r["gates"].as_array().map(Vec::len), Some(20));
    assert_eq!(
        processes_with("--marker-twenty_gates_with_one_service_definition_get_their_own_ports"),
        Vec::<String>::new()
    );
}

#[test]
fn no_service_outlives_a_timeout_or_an_interrupt() {
    if !common::python3() {
        return;
    }
    let p = project(
        r#"
stage: 0
name: Teardown
gates:
  - id: times-out
    title: the gate runs out of time with its service up
    timeout: 2s
    services:
      api:
        run: python3 @SERVER@ --marker-987620
        ready: { http: "${API_URL}/healthz", timeout: 60s }
    run: sleep 30
  - id: interrupted
    title: interrupted with its service up
    services:
      api:
        run: python3 @SERVER@ --marker-987620
        ready: { http: "${API_URL}/healthz", timeout: 60s }
    run: 'touch "$PROJECT_ROOT/up"; sleep 30'
"#,
    );
    let mut child = p
        .cmd(&["stage", "0", "--jobs", "2"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !p.path().join("up").exists() {
        assert!(std::time::Instant::now() < deadline, "never came up");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(2500));
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    )
    .expect("kill");
    assert_eq!(child.wait().expect("wait").code(), Some(130));
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "failed");
    assert_eq!(r["gates"][1]["status"], "interrupted");
    assert_eq!(processes_with("--marker-987620"), Vec::<String>::new());
}
