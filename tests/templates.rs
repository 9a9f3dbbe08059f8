//! Templates: `templates:` in gaterun.yaml or a stage file, `use:` + `with:` in a gate's steps.
//! The real binary on temp projects, against a real HTTP service (tests/fixtures/server.py)
//! where a template makes requests. Each feature with its near miss: a param that is not the
//! expected one fails, a capture not declared as an output is not visible after the use.

mod common;

use common::{Project, processes_with};

fn server() -> String {
    format!("{}/tests/fixtures/server.py", env!("CARGO_MANIFEST_DIR"))
}

/// `create` posts an item named NAME, checks the answer, and hands back its id.
const PROJECT_TEMPLATES: &str = r#"
templates:
  create:
    params: [NAME]
    steps:
      - http: POST ${API_URL}/items
        json: { name: "${NAME}" }
        expect: { status: 201, json: { "$.name": "${NAME}" } }
        capture: { ID: "$.id" }
    outputs: [ID]
"#;

/// A stage whose one gate starts the server, creates `name` through the template, and reads
/// it back by the id the template returned.
fn stage_using_create(stage: u32, name: &str) -> String {
    format!(
        r#"
stage: {stage}
name: S{stage}
gates:
  - id: create-{stage}
    title: an item created through the template reads back
    services:
      api: {{ run: python3 {server}, ready: {{ http: "${{API_URL}}/healthz" }} }}
    steps:
      - use: create
        with: {{ NAME: {name} }}
      - http: ${{API_URL}}/items/${{ID}}
        expect: {{ json: {{ "$.id": "${{ID}}", "$.name": {name} }} }}
"#,
        server = server()
    )
}

#[test]
fn a_gaterun_yaml_template_serves_gates_in_two_stage_files() {
    if !common::python3() {
        return;
    }
    let p = Project::new();
    p.file("gaterun.yaml", PROJECT_TEMPLATES);
    p.stage("00.yaml", &stage_using_create(0, "first"));
    p.stage("01.yaml", &stage_using_create(1, "second"));
    p.run(&["check"]).code(0);
    p.run(&["stage", "0"]).code(0);
    p.run(&["stage", "1"]).code(0);
    let log = p.read("phase-1/stage-01/logs/create-1.log");
    assert!(log.contains("── step 1/2: use: create"), "{log}");
    assert!(
        log.contains("── step 1/2 › create 1/1: http: POST ${API_URL}/items"),
        "{log}"
    );
    assert!(log.contains("── step 1/2 › create 1/1 passed in "), "{log}");
    let r = p.results("stage-01");
    assert_eq!(r["gates"][0]["steps"][1]["kind"], "use");
    assert_eq!(r["gates"][0]["steps"][1]["name"], "use: create");
}

#[test]
fn changing_a_gaterun_yaml_template_makes_the_stages_using_it_stale() {
    if !common::python3() {
        return;
    }
    let p = Project::new();
    p.file("gaterun.yaml", PROJECT_TEMPLATES);
    p.stage("00.yaml", &stage_using_create(0, "first"));
    p.stage(
        "01.yaml",
        "stage: 1\nname: S1\ngates:\n  - { id: a, title: t, run: 'true' }\n",
    );
    p.run(&["stage", "0"]).code(0);
    // Unchanged: stage 0 counts as stage 1's prerequisite.
    p.run(&["stage", "1"]).code(0);
    // The template checks something else now: stage 0's pass was of another definition.
    p.file(
        "gaterun.yaml",
        &PROJECT_TEMPLATES.replace("status: 201", "status: [200, 201]"),
    );
    let out = p.run(&["stage", "1"]);
    out.code(3);
    assert!(out.stderr.contains("stage 0"), "{}", out.stderr);
}

#[test]
fn changing_gaterun_yaml_defaults_makes_every_stage_stale() {
    let p = Project::new();
    let project = "defaults:\n  env: { WANT: one }\n";
    p.file("gaterun.yaml", project);
    p.stage(
        "00.yaml",
        "stage: 0\nname: S0\ngates:\n  - { id: a, title: t, run: 'test \"$WANT\" = one' }\n",
    );
    p.stage(
        "01.yaml",
        "stage: 1\nname: S1\ngates:\n  - { id: b, title: t, run: 'true' }\n",
    );
    p.run(&["stage", "0"]).code(0);
    // Unchanged: stage 0 counts as stage 1's prerequisite.
    p.run(&["stage", "1"]).code(0);
    // The near miss: stage 0 passed with WANT=one; with two it is another definition (and
    // would fail), so its pass no longer counts.
    p.file("gaterun.yaml", &project.replace("one", "two"));
    let out = p.run(&["stage", "1"]);
    out.code(3);
    assert!(out.stderr.contains("stage 0"), "{}", out.stderr);
}

/// A stage file with its own template `greet`: it prints WHO and expects WANT.
fn greet_stage(gates: &str) -> String {
    format!(
        r#"
stage: 0
name: Greet
templates:
  greet:
    params: [WHO, WANT]
    steps:
      - run: echo "$WHO"
        expect: {{ stdout: {{ equals: "${{WANT}}" }} }}
        capture: {{ SAID: "/^(.*)$/", INNER: "/^(.*)$/" }}
    outputs: [SAID]
gates:
{gates}"#
    )
}

#[test]
fn params_reach_the_template_steps_and_a_wrong_one_fails_naming_template_and_step() {
    let p = Project::new();
    p.stage(
        "00.yaml",
        &greet_stage(
            r#"
  - id: right
    title: the param given is the one printed
    env: { PERSON: ana }
    steps:
      - use: greet
        with: { WHO: "${PERSON}", WANT: ana }
  - id: wrong
    title: another person is not ana
    steps:
      - run: 'true'
      - use: greet
        with: { WHO: bob, WANT: ana }
"#,
        ),
    );
    p.run(&["check"]).code(0);
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["id"], "right");
    assert_eq!(r["gates"][0]["status"], "passed", "{r}");
    assert_eq!(r["gates"][1]["status"], "failed", "{r}");
    assert_eq!(
        r["gates"][1]["message"],
        "step 2 (use: greet): use greet, step 1 (run: echo \"$WHO\"): expected stdout to equal \"ana\", got \"bob\""
    );
    let log = p.read("phase-1/stage-00/logs/wrong.log");
    assert!(log.contains("── step 2/2 › greet 1/1 failed in "), "{log}");
}

#[test]
fn only_declared_outputs_reach_the_caller_and_its_own_variables_come_back() {
    let p = Project::new();
    p.stage(
        "00.yaml",
        &greet_stage(
            r#"
  - id: output-visible
    title: a declared output is visible after the use
    steps:
      - use: greet
        with: { WHO: ana, WANT: ana }
      - run: [echo, "${SAID}"]
        expect: { stdout: { equals: ana } }
  - id: inner-hidden
    title: a capture not declared as output is not visible after the use
    steps:
      - use: greet
        with: { WHO: ana, WANT: ana }
      - run: [echo, "${INNER}"]
  - id: caller-restored
    title: a caller variable the template captured over is the caller's again
    env: { INNER: outer, WHO: caller }
    steps:
      - use: greet
        with: { WHO: ana, WANT: ana }
      - run: [echo, "${INNER} ${WHO}"]
        expect: { stdout: { equals: outer caller } }
"#,
        ),
    );
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "passed", "{r}");
    assert_eq!(r["gates"][1]["status"], "error", "{r}");
    assert_eq!(
        r["gates"][1]["message"],
        "step 2 (run: echo ${INNER}): undefined variable `${INNER}`"
    );
    assert_eq!(r["gates"][2]["status"], "passed", "{r}");
}

#[test]
fn a_secret_capture_in_a_template_is_masked() {
    if !common::python3() {
        return;
    }
    let p = Project::new();
    p.file(
        "gaterun.yaml",
        r#"
templates:
  login:
    params: [USER]
    steps:
      - http: POST ${API_URL}/items
        json: { name: "tok-${USER}-9f8e7d6c5b" }
        expect: { status: 201 }
        capture: { TOKEN: { select: "$.name", secret: true } }
    outputs: [TOKEN]
"#,
    );
    p.stage(
        "00.yaml",
        &format!(
            r#"
stage: 0
name: Secret
gates:
  - id: secret
    title: the token a template captures is masked
    services:
      api: {{ run: python3 {server}, ready: {{ http: "${{API_URL}}/healthz" }} }}
    steps:
      - use: login
        with: {{ USER: ana }}
      - run: echo "token=$TOKEN"
        expect: {{ stdout: "token=tok-ana-" }}
"#,
            server = server()
        ),
    );
    let out = p.run(&["stage", "0"]);
    out.code(0);
    let log = p.read("phase-1/stage-00/logs/secret.log");
    let results = p.read("phase-1/stage-00/results.json");
    for text in [&log, &results, &out.stdout, &out.stderr] {
        assert!(!text.contains("9f8e7d6c5b"), "the token in:\n{text}");
    }
    assert!(log.contains("token=***"), "{log}");
}

#[test]
fn a_timeout_on_the_use_bounds_the_whole_use_and_inner_steps_retry() {
    let m = common::marker();
    let p = Project::new();
    p.stage(
        "00.yaml",
        &format!(
            r#"
stage: 0
name: Time
templates:
  slow:
    steps:
      - run: 'true'
      - run: sleep {m}
  flaky:
    steps:
      - run: 'test -f "$GATE_TMP/seen" || {{ touch "$GATE_TMP/seen"; exit 1; }}'
        eventually: 5s
gates:
  - id: bounded
    title: the use's timeout ends its slow step
    timeout: 60s
    steps:
      - use: slow
        timeout: 1s
  - id: retried
    title: eventually on a template step retries it
    use: flaky
"#
        ),
    );
    let started = std::time::Instant::now();
    p.run(&["stage", "0"]).code(1);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "failed", "{r}");
    assert_eq!(
        r["gates"][0]["message"],
        format!("step timed out after 1s in step 2 of `slow` (run: sleep {m}) in step `use: slow`")
    );
    assert_eq!(r["gates"][1]["status"], "passed", "{r}");
    let log = p.read("phase-1/stage-00/logs/retried.log");
    assert!(log.contains("── attempt 1 failed: "), "{log}");
    assert!(
        log.contains("── step 1/1 › flaky 1/1 passed in ") && log.contains(", 2 attempts"),
        "{log}"
    );
    assert_eq!(processes_with(&m), Vec::<String>::new());
}

#[test]
fn a_service_exiting_during_a_use_ends_it() {
    let m = common::marker();
    let p = Project::new();
    p.stage(
        "00.yaml",
        &format!(
            r#"
stage: 0
name: Race
templates:
  wait:
    steps:
      - run: sleep {m}
gates:
  - id: race
    title: a service that dies cuts the template's step
    timeout: 60s
    services:
      worker: {{ run: "sleep 0.5; echo dying; exit 3" }}
    use: wait
"#
        ),
    );
    let started = std::time::Instant::now();
    p.run(&["stage", "0"]).code(1);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let r = p.results("stage-00");
    let message = r["gates"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("service `worker` exited with status 3 while the gate ran"),
        "{r}"
    );
    assert_eq!(processes_with(&m), Vec::<String>::new());
}

/// `gaterun check`'s output on a project, which must fail.
fn check_errors(p: &Project) -> String {
    let out = p.run(&["check"]);
    out.code(2);
    out.stderr + &out.stdout
}

#[test]
fn check_locates_use_errors_at_the_use_and_the_template() {
    let p = Project::new();
    p.file(
        "gaterun.yaml",
        r#"templates:
  login:
    params: [USER]
    steps:
      - run: echo "$USER"
        capture: { TOKEN: "/(.*)/" }
    outputs: [TOKEN]
"#,
    );
    p.stage(
        "00.yaml",
        r#"stage: 0
name: Uses
gates:
  - id: a
    title: t
    steps:
      - use: login
      - use: login
        with: { USER: ana, USR: bob }
      - use: logn
      - use: login
        with: { USER: ana }
        capture: { X: "/x/" }
"#,
    );
    let text = check_errors(&p);
    let expected = [
        // A param not given: at the use, and where the template declares it.
        "gates/00.yaml:7:14: error: `use: login` does not give param `USER`: add `with: { USER: … }`",
        "gaterun.yaml:3:14: note: `login` declares `USER` here",
        // A param it does not take.
        "gates/00.yaml:9:33: error: `with` gives `USR`, which template `login` does not take, did you mean `USER`?",
        "gaterun.yaml:3:13: note: `login` declares its params here",
        "gates/00.yaml:10:14: error: unknown template `logn`, did you mean `login`?",
        "gates/00.yaml:13:23: error: a `use` step takes only `name`, `with` and `timeout`: capture in the template's steps and list the variable in its `outputs`",
        "4 errors in gate files",
    ];
    for line in expected {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    // An annotation has one location: the template's goes into its text.
    let out = p.run(&["check", "--github"]);
    out.code(2);
    let annotation = "::error file=gates/00.yaml,line=7,col=14,title=invalid gate file::`use: login` does not give param `USER`: add `with: { USER: … }` (note: gaterun.yaml:3: `login` declares `USER` here)";
    assert!(
        out.stdout.lines().any(|l| l == annotation),
        "{}",
        out.stdout
    );
}

#[test]
fn check_reports_a_cycle_of_templates_naming_it() {
    let p = Project::new();
    p.stage(
        "00.yaml",
        r#"stage: 0
name: Cycle
templates:
  a:
    steps:
      - use: b
  b:
    steps:
      - run: 'true'
      - use: a
  self:
    steps:
      - use: self
gates:
  - id: g
    title: t
    use: a
"#,
    );
    let text = check_errors(&p);
    let expected = [
        "gates/00.yaml:10:14: error: templates use each other in a cycle: `a` → `b` → `a`",
        "gates/00.yaml:6:14: note: `a` uses `b` here",
        "gates/00.yaml:13:14: error: template `self` uses itself: templates may not use each other in a cycle",
        // The gate's use of a template in a cycle adds no error of its own.
        "2 errors in gate files",
    ];
    for line in expected {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

#[test]
fn check_reports_an_unused_template_once_and_what_a_template_needs_at_each_use() {
    let p = Project::new();
    p.file(
        "gaterun.yaml",
        r#"templates:
  broken:
    steps:
      - run: 'true'
        timeout: 0s
  control:
    steps:
      - restart: api
      - sql: select 1
    outputs: [NEVER]
  db:
    steps:
      - sql: select 1
"#,
    );
    for stage in ["00", "01"] {
        p.stage(
            &format!("{stage}.yaml"),
            &format!("stage: {stage}\nname: S\ngates:\n  - id: g\n    title: t\n    use: db\n"),
        );
    }
    let text = check_errors(&p);
    let expected = [
        "gaterun.yaml:5:18: error: `timeout` must be longer than zero",
        "gaterun.yaml:10:15: error: output `NEVER` of template `control` is captured by none of its steps: add `capture: { NEVER: … }` to one",
        "gates/00.yaml:6:10: error: template `db` runs `sql` steps, which need a database: add `database: sqlite`, `database: postgres` or `database: mysql` to the gate",
        "gaterun.yaml:13:9: note: `sql: select 1` is here, in template `db`",
        "gates/01.yaml:6:10: error: template `db` runs `sql` steps",
        "4 errors in gate files",
    ];
    for line in expected {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert_eq!(
        text.matches("must be longer than zero").count(),
        1,
        "{text}"
    );
}

#[test]
fn a_template_name_in_gaterun_yaml_and_a_stage_file_is_ambiguous() {
    let p = Project::new();
    p.file(
        "gaterun.yaml",
        "templates:\n  hello:\n    steps:\n      - run: echo project\n",
    );
    p.stage(
        "00.yaml",
        "stage: 0\nname: S\ntemplates:\n  hello:\n    steps:\n      - run: echo stage\ngates:\n  - id: g\n    title: t\n    use: hello\n",
    );
    let text = check_errors(&p);
    for line in [
        "gates/00.yaml:5:5: error: template `hello` is defined in gaterun.yaml too: a `use: hello` could mean either; rename one",
        "gaterun.yaml:3:5: note: the other `hello`",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

#[test]
fn a_template_may_use_a_template_and_pass_its_outputs_on() {
    let p = Project::new();
    p.stage(
        "00.yaml",
        r#"
stage: 0
name: Nested
templates:
  inner:
    params: [B]
    steps:
      - run: echo "inner-$B"
        capture: { DEEP: "/^(.*)$/" }
    outputs: [DEEP]
  outer:
    params: [A]
    steps:
      - use: inner
        with: { B: "${A}" }
      - run: [echo, "${DEEP}"]
        expect: { stdout: { equals: inner-x } }
        capture: { OUT: "/^(.*)$/" }
    outputs: [OUT]
gates:
  - id: through
    title: an output of a template used by a template
    steps:
      - use: outer
        with: { A: x }
      - run: [echo, "${OUT}"]
        expect: { stdout: { equals: inner-x } }
  - id: not-through
    title: the inner template's output is not an output of the outer one
    steps:
      - use: outer
        with: { A: x }
      - run: [echo, "${DEEP}"]
"#,
    );
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "passed", "{r}");
    assert_eq!(r["gates"][1]["status"], "error", "{r}");
    let log = p.read("phase-1/stage-00/logs/through.log");
    assert!(
        log.contains("── step 1/2 › outer 1/2 › inner 1/1: run: echo \"inner-$B\""),
        "{log}"
    );
}

#[test]
fn a_param_given_one_captured_variable_keeps_its_type() {
    let p = Project::new();
    p.stage(
        "00.yaml",
        r#"
stage: 0
name: Typed
templates:
  is-four:
    params: [N]
    steps:
      - sql: select 4
        expect: { value: "${N}" }
gates:
  - id: number
    title: a captured number passed as a param is still a number
    database: sqlite
    steps:
      - sql: select 4 as n
        capture: { FOUR: n }
      - use: is-four
        with: { N: "${FOUR}" }
  - id: text
    title: the text 4 is not the number 4
    database: sqlite
    env: { FOUR: "4" }
    steps:
      - use: is-four
        with: { N: "${FOUR}" }
"#,
    );
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "passed", "{r}");
    assert_eq!(r["gates"][1]["status"], "failed", "{r}");
    assert_eq!(
        r["gates"][1]["message"],
        "use is-four, step 1 (sql: select 4): expected value \"4\", got 4"
    );
}

#[test]
fn a_template_param_may_not_be_a_name_gaterun_sets() {
    for name in ["GATE_ID", "DATABASE_URL"] {
        let p = Project::new();
        p.stage(
            "00.yaml",
            &format!(
                "stage: 0\nname: S\ntemplates:\n  t:\n    params: [{name}]\n    steps:\n      - run: \"true\"\ngates:\n  - id: a\n    title: t\n    steps:\n      - use: t\n        with: {{ {name}: x }}\n"
            ),
        );
        let out = p.run(&["check"]);
        out.code(2);
        assert!(
            out.stderr.contains(&format!(
                "00.yaml:5:14: error: param `{name}` is a name gaterun sets"
            )),
            "{}",
            out.stderr
        );
    }
    // The near miss: any other name is a param.
    let p = Project::new();
    p.stage(
        "00.yaml",
        "stage: 0\nname: S\ntemplates:\n  t:\n    params: [WHO]\n    steps:\n      - run: \"true\"\ngates:\n  - id: a\n    title: t\n    steps:\n      - use: t\n        with: { WHO: x }\n",
    );
    p.run(&["check"]).code(0);
}
