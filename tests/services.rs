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
    assert_log(&p, "restart", "service api stopped (signal SIGKILL)");
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

/// The log of gate `id` of stage 0 holds `needle`.
#[track_caller]
fn assert_log(p: &Project, id: &str, needle: &str) {
    let log = p.read(&format!("phase-1/stage-00/logs/{id}.log"));
    assert!(log.contains(needle), "{needle:?} not in:\n{log}");
}

/// The gate's one-line message.
fn message(p: &Project) -> String {
    p.results("stage-00")["gates"][0]["message"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn a_service_exiting_during_a_long_step_fails_the_gate_at_once_naming_it() {
    let p = project(
        r#"
stage: 0
name: Exits
gates:
  - id: worker-dies
    title: the worker exits with 1 while a long step runs
    services:
      worker:
        run: |
          echo ready
          while [ ! -e "$GATE_TMP/quit" ]; do sleep 0.02; done
          echo "FATAL: no queue"
          exit 1
        ready: { log: "/^ready$/" }
    steps:
      - run: 'true'
      - name: long step
        run: 'touch "$GATE_TMP/quit"; sleep 5.0417; touch "$PROJECT_ROOT/long-step-ran-to-its-end"'
      - run: 'touch "$PROJECT_ROOT/next-step-ran"'
"#,
    );
    p.run(&["stage", "0"]).code(1);
    assert_eq!(
        message(&p),
        "service `worker` exited with status 1 while the gate ran; last output: \"FATAL: no queue\""
    );
    // Cut, not waited out: the step never reached its end, nothing after it ran, and its
    // `sleep` is gone.
    assert!(!p.path().join("long-step-ran-to-its-end").exists());
    assert!(!p.path().join("next-step-ran").exists());
    assert_eq!(processes_with("sleep 5.0417"), Vec::<String>::new());
    let steps = &p.results("stage-00")["gates"][0]["steps"];
    assert_eq!(steps[2]["status"], "failed");
    assert_eq!(steps[3]["status"], "skipped");
}

#[test]
fn a_service_killed_with_sigkill_mid_gate_fails_the_gate() {
    if !common::python3() {
        return;
    }
    let p = project(
        r#"
stage: 0
name: Killed
gates:
  - id: killed
    title: the service is SIGKILLed while the gate runs
    services:
      api:
        run: 'echo $$ > "$GATE_TMP/pid"; exec python3 @SERVER@ --marker-a_service_killed_with_sigkill_mid_gate'
        ready: { http: "${API_URL}/healthz" }
    steps:
      - http: ${API_URL}/healthz
      - run: 'kill -KILL "$(cat "$GATE_TMP/pid")"; sleep 5; touch "$PROJECT_ROOT/after-kill"'
      - http: ${API_URL}/healthz
  - id: killed-last
    title: the last step SIGKILLs the service
    services:
      api:
        run: 'echo $$ > "$GATE_TMP/pid"; exec python3 @SERVER@ --marker-a_service_killed_with_sigkill_mid_gate'
        ready: { http: "${API_URL}/healthz" }
    steps:
      - http: ${API_URL}/healthz
      - run: 'kill -KILL "$(cat "$GATE_TMP/pid")"'
"#,
    );
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    for gate in [&r["gates"][0], &r["gates"][1]] {
        assert_eq!(gate["status"], "failed", "{gate}");
        let msg = gate["message"].as_str().unwrap_or("");
        assert!(
            msg.starts_with(
                "service `api` exited with signal SIGKILL while the gate ran; last output: \"request: \\\"GET /healthz HTTP/1.1\\\" 200"
            ),
            "{msg}"
        );
    }
    assert!(!p.path().join("after-kill").exists());
    assert_eq!(
        processes_with("--marker-a_service_killed_with_sigkill_mid_gate"),
        Vec::<String>::new()
    );
}

#[test]
fn a_service_exiting_during_eventually_ends_the_retries() {
    let p = project(
        r#"
stage: 0
name: Eventually
gates:
  - id: retries
    title: waiting for a file the dead worker would have written
    services:
      worker:
        run: 'echo up; sleep 0.3; echo "lost the queue"; exit 7'
    file: ${GATE_TMP}/never
    eventually: 60s
"#,
    );
    p.run(&["stage", "0"]).code(1);
    // Not "... (after N attempts)" from the file check at the end of 60 s.
    assert_eq!(
        message(&p),
        "service `worker` exited with status 7 while the gate ran; last output: \"lost the queue\""
    );
}

#[test]
fn may_exit_and_stop_or_restart_steps_are_not_failures() {
    let p = project(
        r#"
stage: 0
name: Allowed
gates:
  - id: one-shot
    title: a one-shot job may exit, with any status
    services:
      job:
        run: 'echo migrated; exit 3'
        may_exit: true
      worker:
        run: 'echo ready; exec sleep 30'
        ready: { log: "/^ready$/" }
    steps:
      - run: 'sleep 0.3'
      - run: 'true'
  - id: stop-restart
    title: stop and restart steps ask for the exit
    services:
      worker:
        run: 'echo ready; exec sleep 30'
        ready: { log: "/^ready$/" }
    steps:
      - restart: worker
      - restart: worker
        signal: KILL
      - stop: worker
      - run: 'sleep 0.2'
      - start: worker
  - id: not-allowed
    title: the same job without may_exit fails the gate
    services:
      job:
        run: 'echo migrated; exit 3'
    steps:
      - run: 'sleep 0.3'
      - run: 'true'
"#,
    );
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    let status: Vec<&str> = (0..3)
        .map(|i| r["gates"][i]["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(status, ["passed", "passed", "failed"], "{r}");
    assert_eq!(
        r["gates"][2]["message"],
        "service `job` exited with status 3 while the gate ran; last output: \"migrated\""
    );
    assert_log(&p, "one-shot", "── service job had exited (status 3)");
    assert_log(
        &p,
        "stop-restart",
        "── service worker stopped (signal SIGKILL)",
    );
}

#[test]
fn an_answer_from_another_process_is_not_readiness() {
    if !common::python3() {
        return;
    }
    // Outside gaterun altogether: a listener of this test, which accepts like a server would.
    let foreign = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = foreign.local_addr().expect("addr").port();
    let acceptor = foreign.try_clone().expect("clone");
    std::thread::spawn(move || acceptor.incoming().for_each(drop));
    let p = project(
        &r#"
stage: 0
name: Foreign
gates:
  - id: other-service
    title: another service's listener answers the probe
    services:
      holder:
        run: python3 @SERVER@ --marker-an_answer_from_another_process
        ready: { tcp: "127.0.0.1:${HOLDER_PORT}" }
      api:
        run: exec sleep 30
        ready: { tcp: "127.0.0.1:${HOLDER_PORT}", timeout: 1s }
    run: 'true'
  - id: outside
    title: a process outside gaterun answers the probe
    services:
      api:
        run: exec sleep 30
        ready: { tcp: "localhost:@PORT@", timeout: 1s }
    run: 'true'
  - id: taken
    title: the service cannot bind its port, a foreign listener holds it
    services:
      api:
        run: python3 @SERVER@ --marker-an_answer_from_another_process
        env: { PORT: "@PORT@" }
        ready: { tcp: "127.0.0.1:@PORT@", timeout: 20s }
    run: 'true'
  - id: daemonized
    title: "near miss: a listener the service daemonized is the service's"
    services:
      api:
        run: 'setsid -f python3 @SERVER@ --marker-an_answer_from_another_process; exec sleep 30'
        ready: { http: "${API_URL}/healthz", timeout: 20s }
    http: ${API_URL}/healthz
"#
        .replace("@PORT@", &port.to_string()),
    );
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    let msg = |i: usize| r["gates"][i]["message"].as_str().unwrap_or("").to_owned();
    let holder_port = {
        let log = p.read("phase-1/stage-00/logs/other-service.log");
        let at = log
            .find("service holder started on port ")
            .expect("holder port")
            + 31;
        log[at..].split_whitespace().next().unwrap_or("").to_owned()
    };
    let m = msg(0);
    assert!(
        m.starts_with(&format!(
            "service `api` not ready after 1s: last probe: 127.0.0.1:{holder_port} answered, but the listener on port {holder_port} is pid "
        )) && m.contains("python3")
            && m.ends_with("\"), not service `api`"),
        "{m}"
    );
    let m = msg(1);
    let me = std::process::id();
    assert!(
        m.starts_with(&format!(
            "service `api` not ready after 1s: last probe: localhost:{port} answered, but the listener on port {port} is pid {me} ("
        )),
        "{m}"
    );
    let m = msg(2);
    assert!(
        m.starts_with("service `api` exited with status 1 before it was ready; last output: ")
            && m.contains("Address already in use"),
        "{m}"
    );
    assert_eq!(r["gates"][3]["status"], "passed", "{r}");
    let log = p.read("phase-1/stage-00/logs/taken.log");
    assert!(
        log.contains("── service api not ready: 127.0.0.1:"),
        "{log}"
    );
    assert_eq!(
        processes_with("--marker-an_answer_from_another_process"),
        Vec::<String>::new()
    );
}

#[test]
fn a_may_exit_service_that_daemonizes_is_probed_on() {
    if !common::python3() {
        return;
    }
    let p = project(
        r#"
stage: 0
name: Daemon
gates:
  - id: daemon
    title: the command daemonizes the server and exits 0
    services:
      api:
        run: 'setsid -f python3 @SERVER@ --marker-a_may_exit_service_that_daemonizes; exit 0'
        may_exit: true
        ready: { http: "${API_URL}/healthz", timeout: 20s }
    http: ${API_URL}/healthz
  - id: no-may-exit
    title: "near miss: without may_exit, that exit fails the gate"
    services:
      api:
        run: 'setsid -f python3 @SERVER@ --marker-a_may_exit_service_that_daemonizes; exit 0'
        ready: { http: "${API_URL}/healthz", timeout: 20s }
    http: ${API_URL}/healthz
  - id: crash
    title: "near miss: a may_exit service that exits 1 before it is ready fails at once"
    services:
      api:
        run: 'echo "cannot start"; exit 1'
        may_exit: true
        ready: { http: "${API_URL}/healthz", timeout: 60s }
    http: ${API_URL}/healthz
"#,
    );
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "passed", "{r}");
    // The daemonized server shares the service's output pipe: whether its first line is
    // read before the exit is reported is a race, so the last output may be either.
    let m = r["gates"][1]["message"].as_str().unwrap_or("");
    assert!(
        m.starts_with("service `api` exited with status 0 before it was ready; last output: ")
            && (m.ends_with("last output: none") || m.contains("listening on ")),
        "{m}"
    );
    assert_eq!(
        r["gates"][2]["message"],
        "service `api` exited with status 1 before it was ready; last output: \"cannot start\""
    );
    assert_log(
        &p,
        "daemon",
        "── service api exited (status 0) before it was ready: may_exit, probing on",
    );
    assert_eq!(
        processes_with("--marker-a_may_exit_service_that_daemonizes"),
        Vec::<String>::new()
    );
}

/// A ready probe whose URL names an undefined variable fails its gate at once, saying which,
/// not after the ready timeout of probes that could never run; the same probe spelt right
/// passes.
#[test]
fn a_ready_probe_naming_an_undefined_variable_fails_at_once() {
    let gate = |url: &str| {
        format!(
            r#"
stage: 0
name: Ready
gates:
  - id: probe
    title: probes
    services:
      api:
        run: python3 @SERVER@
        ready: {{ http: "{url}/healthz", timeout: 60s }}
    run: 'true'
"#
        )
    };
    let p = project(&gate("${API_ULR}"));
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    let g = &r["gates"][0];
    assert_eq!(g["status"], "error", "{g}");
    let message = g["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(
            "service `api`: ready: undefined variable `${API_ULR}`, did you mean `${API_URL}`?"
        ),
        "{message}"
    );
    assert!(
        g["duration_ms"].as_u64().unwrap_or(u64::MAX) < 30_000,
        "{g}"
    );
    let p = project(&gate("${API_URL}"));
    p.run(&["stage", "0"]).code(0);
}
