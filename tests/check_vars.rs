//! Issue 21: `gaterun check` resolves every `${NAME}` a run would fill in. For each source of
//! names, a defined one passes and a near miss is a located error with the name it may mean;
//! and the run says the same did-you-mean.

mod common;

use common::Project;

const HEAD: &str = "stage: 0\nname: Vars\ngates:\n";

/// `gates/s.yaml` holding `gates`, and `check`'s result.
fn check(gates: &str) -> (Project, common::Run) {
    let p = Project::new();
    p.stage("s.yaml", &format!("{HEAD}{gates}"));
    let run = p.run(&["check"]);
    (p, run)
}

/// `FILE:LINE:COL` of the first `needle` in `text`.
fn at(file: &str, text: &str, needle: &str) -> String {
    let (i, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in {text}"));
    let col = line.find(needle).unwrap_or(0) + 1;
    format!("{file}:{}:{col}", i + 1)
}

#[track_caller]
fn passes(gates: &str) {
    let (_p, run) = check(gates);
    assert_eq!(run.code, 0, "{gates}\n--- stderr\n{}", run.stderr);
    assert!(run.stdout.starts_with("ok: "), "{}", run.stdout);
}

/// `check` fails with exactly `message` at the first `${NAME}` of `needle`.
#[track_caller]
fn fails(gates: &str, needle: &str, message: &str) {
    let (_p, run) = check(gates);
    run.code(2);
    let want = format!(
        "{}: error: {message}\n",
        at("gates/s.yaml", &format!("{HEAD}{gates}"), needle)
    );
    assert!(
        run.stderr.starts_with(&want),
        "want {want}got {}",
        run.stderr
    );
}

const SERVICE: &str = r#"  - id: api
    title: a service
    services:
      api:
        run: ["python3", "-m", "http.server", "${PORT}"]
        ready: { http: "${API_URL}/" }
"#;

#[test]
fn a_service_url_passes_and_a_typo_or_wrong_case_names_it() {
    passes(&format!("{SERVICE}    http: ${{API_URL}}/\n"));
    let typo = format!("{SERVICE}    env: {{ BASE: \"${{API_ULR}}/v1\" }}\n    run: 'true'\n");
    fails(
        &typo,
        "${API_ULR}",
        "undefined variable `${API_ULR}`, did you mean `${API_URL}` (from service api)?",
    );
    // A JSON value is filled in (its key is not).
    fails(
        &format!("{SERVICE}    http: POST ${{API_URL}}/\n    json: {{ url: \"${{API_URLL}}\" }}\n"),
        "${API_URLL}",
        "undefined variable `${API_URLL}`, did you mean `${API_URL}` (from service api)?",
    );
    fails(
        &format!("{SERVICE}    http: ${{api_url}}/\n"),
        "${api_url}",
        "undefined variable `${api_url}`, did you mean `${API_URL}` (from service api)?",
    );
}

#[test]
fn the_gates_env_in_order() {
    passes(
        r#"  - id: e
    title: env
    env: { HOST: localhost, URL: "http://${HOST}:1" }
    run: ["echo", "${URL}"]
"#,
    );
    fails(
        r#"  - id: e
    title: env
    env: { HOST: localhost }
    run: ["echo", "${HOTS}"]
"#,
        "${HOTS}",
        "undefined variable `${HOTS}`, did you mean `${HOST}` (from the env)?",
    );
}

#[test]
fn a_database_variable() {
    passes("  - id: d\n    title: db\n    database: sqlite\n    file: ${DATABASE_PATH}\n");
    fails(
        "  - id: d\n    title: db\n    database: sqlite\n    file: ${DATABASE_PTH}\n",
        "${DATABASE_PTH}",
        "undefined variable `${DATABASE_PTH}`, did you mean `${DATABASE_PATH}` (from the database)?",
    );
    // PostgreSQL's names are not SQLite's.
    fails(
        "  - id: d\n    title: db\n    database: sqlite\n    run: [echo, '${PGHOST}']\n",
        "${PGHOST}",
        "undefined variable `${PGHOST}`",
    );
}

#[test]
fn a_capture_of_an_earlier_step_only() {
    passes(
        r#"  - id: c
    title: capture
    steps:
      - run: echo 42
        capture: { N: /(\d+)/ }
      - run: ["test", "${N}", "=", "42"]
"#,
    );
    let early = r#"  - id: c
    title: capture
    steps:
      - run: ["test", "${N}", "=", "42"]
      - run: echo 42
        capture: { N: /(\d+)/ }
"#;
    fails(
        early,
        "${N}",
        "undefined variable `${N}`: the step at line 8 captures it, after this one",
    );
    fails(
        r#"  - id: c
    title: capture
    steps:
      - run: echo 42
        capture: { N: /(\d+)/ }
      - run: ["test", "${M}", "=", "42"]
"#,
        "${M}",
        "undefined variable `${M}`, did you mean `${N}` (from a capture of the step at line 7)?",
    );
}

#[test]
fn a_template_param_is_checked_in_the_template_with_a_note_at_the_use() {
    let p = Project::new();
    let project =
        "templates:\n  hello:\n    params: [WHO]\n    steps:\n      - run: [echo, '${WHOM}']\n";
    p.file("gaterun.yaml", project);
    p.stage(
        "s.yaml",
        &format!("{HEAD}  - id: t\n    title: t\n    use: hello\n    with: {{ WHO: me }}\n"),
    );
    let run = p.run(&["check"]);
    run.code(2);
    assert!(
        run.stderr.starts_with(
            "gaterun.yaml:5:22: error: undefined variable `${WHOM}`, did you mean `${WHO}` (from a param of template hello)?\n"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("gates/s.yaml:6:10: note: in the template this step uses"),
        "{}",
        run.stderr
    );
    p.file("gaterun.yaml", &project.replace("WHOM", "WHO"));
    p.run(&["check"]).code(0);
}

#[test]
fn a_matrix_value() {
    passes("  - id: m\n    title: m\n    matrix: { DB: [a, b] }\n    run: [echo, '${DB}']\n");
    fails(
        "  - id: m\n    title: m\n    matrix: { DB: [a, b] }\n    run: [echo, '${DBS}']\n",
        "${DBS}",
        "undefined variable `${DBS}`, did you mean `${DB}` (from the matrix)?",
    );
}

#[test]
fn a_name_another_gate_or_a_later_stage_sets() {
    fails(
        r#"  - id: a
    title: a
    env: { ONLY_A: x }
    run: 'true'
  - id: b
    title: b
    run: [echo, '${ONLY_A}']
"#,
        "${ONLY_A}']",
        "undefined variable `${ONLY_A}`: only gate `a` of stage 0 (its env) sets it",
    );
    let p = Project::new();
    p.stage(
        "s.yaml",
        &format!("{HEAD}  - id: early\n    title: early\n    http: ${{API_URL}}/\n"),
    );
    p.stage(
        "t.yaml",
        "stage: 1\nname: Later\nservices:\n  api:\n    run: [python3, -m, http.server, '${PORT}']\ngates:\n  - id: late\n    title: late\n    http: ${API_URL}/\n",
    );
    let run = p.run(&["check"]);
    run.code(2);
    assert!(
        run.stderr.starts_with(
            "gates/s.yaml:6:11: error: undefined variable `${API_URL}`: only stage service api of stage 1 sets it\n"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn literals_shell_strings_names_sent_as_written_and_the_environment_pass() {
    passes(
        r#"  - id: l
    title: literal, shell, environment
    steps:
      - run: [echo, '$${NOT_A_VARIABLE}', '${HOME}']
      - run: echo ${THE_SHELL_EXPANDS_THIS}
      - http: POST http://127.0.0.1:1/
        json: { "${A_KEY_IS_SENT_AS_WRITTEN}": 1 }
        query: { "${SO_IS_A_QUERY_NAME}": 2 }
"#,
    );
    let gates = "  - id: e\n    title: e\n    run: [echo, '${CHECK_VARS_FROM_THE_ENV}']\n";
    let p = Project::new();
    p.stage("s.yaml", &format!("{HEAD}{gates}"));
    let run = p.run(&["check"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("undefined variable `${CHECK_VARS_FROM_THE_ENV}`"),
        "{}",
        run.stderr
    );
    let mut cmd = p.cmd(&["check"]);
    let out = cmd.env("CHECK_VARS_FROM_THE_ENV", "1").output();
    common::Run::from(out.expect("run")).code(0);
}

#[test]
fn the_run_says_the_same_and_errors_the_gate() {
    let (p, run) = check(&format!("{SERVICE}    http: ${{API_ULR}}/\n"));
    run.code(2);
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "error");
    assert_eq!(
        r["gates"][0]["message"],
        "undefined variable `${API_ULR}`, did you mean `${API_URL}`?"
    );
}

#[test]
fn only_a_templates_outputs_reach_the_caller() {
    let p = Project::new();
    let project = "templates:\n  hello:\n    steps:\n      - run: echo hi\n        capture: { SAID: /(.*)/ }\n    outputs: []\n";
    p.file("gaterun.yaml", project);
    let gates =
        "  - id: t\n    title: t\n    steps:\n      - use: hello\n      - run: [echo, '${SAID}']\n";
    p.stage("s.yaml", &format!("{HEAD}{gates}"));
    let run = p.run(&["check"]);
    run.code(2);
    assert!(
        run.stderr.starts_with(
            "gates/s.yaml:8:22: error: undefined variable `${SAID}`: template hello captures it, but only the template's `outputs` reach the caller\n"
        ),
        "{}",
        run.stderr
    );
    p.file("gaterun.yaml", &project.replace("[]", "[SAID]"));
    p.run(&["check"]).code(0);
}

#[test]
fn a_stage_scope_hands_its_gates_its_services_and_setup_captures() {
    let stage = "stage: 0\nname: Scope\nservices:\n  api:\n    run: [python3, -m, http.server, '${PORT}']\nsetup:\n  - run: [echo, '${API_URL}']\n    capture: { TOKEN: /(.*)/ }\ngates:\n  - id: g\n    title: g\n    run: [echo, '${TOKEN}', '${API_URL}']\n";
    let p = Project::new();
    p.stage("s.yaml", stage);
    p.run(&["check"]).code(0);
    for (from, to, want) in [
        (
            "[echo, '${API_URL}']\n    capture",
            "[echo, '${API_ULR}']\n    capture",
            "gates/s.yaml:7:18: error: undefined variable `${API_ULR}`, did you mean `${API_URL}` (from service api)?\n",
        ),
        (
            "'${TOKEN}', '${API_URL}'",
            "'${TOKN}', '${API_URL}'",
            "gates/s.yaml:12:18: error: undefined variable `${TOKN}`, did you mean `${TOKEN}` (from a capture of stage setup (line 7))?\n",
        ),
    ] {
        p.stage("s.yaml", &stage.replace(from, to));
        let run = p.run(&["check"]);
        run.code(2);
        assert!(run.stderr.starts_with(want), "{}", run.stderr);
    }
}

#[test]
fn a_secret_reaches_only_the_gates_declaring_it() {
    let p = Project::new();
    let gates = "  - id: a\n    title: a\n    secrets: [CHECK_VARS_SECRET]\n    run: [echo, '${CHECK_VARS_SECRET}']\n  - id: b\n    title: b\n    run: [echo, '${CHECK_VARS_SECRET}']\n";
    p.stage("s.yaml", &format!("{HEAD}{gates}"));
    let out = p
        .cmd(&["check"])
        .env("CHECK_VARS_SECRET", "s3cret")
        .output();
    let run = common::Run::from(out.expect("run"));
    run.code(2);
    assert!(
        run.stderr.starts_with(
            "gates/s.yaml:10:18: error: undefined variable `${CHECK_VARS_SECRET}`: a secret reaches only the gates that declare it in `secrets`\n"
        ),
        "{}",
        run.stderr
    );
    // The run agrees: the gate declaring it passes, the other is an error.
    let out = p
        .cmd(&["stage", "0"])
        .env("CHECK_VARS_SECRET", "s3cret")
        .output();
    common::Run::from(out.expect("run")).code(1);
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "passed");
    assert_eq!(r["gates"][1]["status"], "error");
    let message = r["gates"][1]["message"].as_str().unwrap_or("");
    assert!(
        message.starts_with("undefined variable `${CHECK_VARS_SECRET}`"),
        "{message}"
    );
}

/// A `start: manual` service sees the captures made before its `start` step, as at run time:
/// started after the capture it passes; started before it, the name is undefined there.
#[test]
fn a_manual_service_sees_the_captures_before_its_start() {
    let gate = |order: &str| {
        format!(
            "  - id: m\n    title: m\n    services:\n      web:\n        run: [sleep, \"${{BIND}}\"]\n        start: manual\n    steps:\n{order}"
        )
    };
    let capture = "      - run: echo 60\n        capture: { BIND: /(\\d+)/ }\n";
    let start = "      - start: web\n";
    passes(&gate(&format!("{capture}{start}")));
    fails(
        &gate(&format!("{start}{capture}")),
        "${BIND}",
        "undefined variable `${BIND}`: the step at line 12 captures it, after this one",
    );
}

/// A ready probe's undefined name is located in the probe, not at the same `${PORT}` its
/// service's command may use; a name a later `env` entry sets says so.
#[test]
fn a_probe_is_located_in_itself_and_env_is_read_in_order() {
    let service = "  - id: s\n    title: s\n    services:\n      web:\n        run: [sleep, \"${PORT}\"]\n        ready: { http: \"http://127.0.0.1:${PORT}/\" }\n    run: 'true'\n";
    let (_p, run) = check(service);
    run.code(2);
    assert!(
        run.stderr
            .starts_with("gates/s.yaml:9:42: error: undefined variable `${PORT}`"),
        "{}",
        run.stderr
    );
    passes(&service.replace("127.0.0.1:${PORT}", "127.0.0.1:${WEB_PORT}"));
    fails(
        "  - id: e\n    title: e\n    env: { B: \"${A}/y\", A: x }\n    run: 'true'\n",
        "${A}",
        "undefined variable `${A}`: a later entry of the gate's `env` sets it, and entries are set in order",
    );
    passes("  - id: e\n    title: e\n    env: { A: x, B: \"${A}/y\" }\n    run: 'true'\n");
}
