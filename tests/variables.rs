//! Gate variables: `env` values that use database variables and service ports (resolved after
//! both exist), and `env` keys that YAML 1.1 would read as booleans.

mod common;

use common::{Project, postgres_bin};

fn one_stage(gates: &str) -> Project {
    let p = Project::new();
    p.stage("s.yaml", &format!("stage: 0\nname: Env\ngates:\n{gates}"));
    p
}

#[test]
fn env_uses_sqlite_database_variables() {
    let p = one_stage(
        r#"  - id: sqlite
    title: env sees the database path
    database: sqlite
    env: { DB_FILE: "${DATABASE_PATH}", DB_COPY: "${DB_FILE}.bak", SEEN_URL: "${DATABASE_URL}" }
    steps:
      - run: 'test "$DB_FILE" = "$DATABASE_PATH" && test "$DB_COPY" = "$DATABASE_PATH.bak" && test "$SEEN_URL" = "sqlite:///$DATABASE_PATH"'
      - run: 'case "$DB_FILE" in "$GATE_TMP"/*) ;; *) echo "not in GATE_TMP: $DB_FILE"; exit 1;; esac'
      - sql: CREATE TABLE t (v int)
      - file: ${DB_FILE}
        expect: { exists: true }
"#,
    );
    let run = p.run(&["stage", "0"]);
    run.code(0);
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "passed", "{}", run.stdout);
}

#[test]
fn env_uses_postgres_database_variables() {
    if postgres_bin().is_none() {
        return;
    }
    let p = one_stage(
        r#"  - id: pg
    title: env sees PGUSER and DATABASE_URL
    database: postgres
    env:
      WHO: ${PGUSER}
      URL_COPY: ${DATABASE_URL}
      DSN: host=${PGHOST} port=${PGPORT} dbname=${PGDATABASE} user=${PGUSER}
    steps:
      - run: 'test -n "$WHO" && test "$WHO" = "$PGUSER" && test "$URL_COPY" = "$DATABASE_URL"'
      - run: ['psql', '${DSN}', '-tAc', 'SELECT current_user = ''${WHO}'' AND current_database() = ''${PGDATABASE}''']
        expect: { stdout: "/^t$/" }
"#,
    );
    let run = p.run(&["stage", "0"]);
    run.code(0);
    assert_eq!(p.results("stage-00")["status"], "passed", "{}", run.stdout);
}

#[test]
fn env_uses_service_ports_and_services_see_env() {
    if !common::python3() {
        return;
    }
    let server = format!("{}/tests/fixtures/server.py", env!("CARGO_MANIFEST_DIR"));
    let p = one_stage(&format!(
        r#"  - id: port
    title: env sees the service's port; the service sees env
    env: {{ HEALTH: "${{WEB_URL}}/healthz", ADDR: "127.0.0.1:${{WEB_PORT}}", SERVER: "{server}" }}
    services:
      web:
        run: python3 "$SERVER" --marker-env-uses-service-ports
        env: {{ STATE_FILE: "${{GATE_TMP}}/state-${{WEB_PORT}}" }}
        ready: {{ http: "${{HEALTH}}", timeout: 20s }}
    steps:
      - run: 'test "$HEALTH" = "http://127.0.0.1:$WEB_PORT/healthz" && test "$ADDR" = "127.0.0.1:$WEB_PORT"'
      - tcp: 127.0.0.1:${{WEB_PORT}}
      - http: ${{HEALTH}}
        expect: {{ status: 200 }}
"#
    ));
    let run = p.run(&["stage", "0"]);
    run.code(0);
    assert_eq!(p.results("stage-00")["status"], "passed", "{}", run.stdout);
}

#[test]
fn an_undefined_variable_in_env_still_names_the_key() {
    let p = one_stage(
        r#"  - id: nope
    title: an undefined variable
    database: sqlite
    env: { GOOD: "${DATABASE_PATH}", BAD: "${NOPE}" }
    run: 'true'
"#,
    );
    let run = p.run(&["stage", "0"]);
    run.code(1);
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "error");
    let message = r["gates"][0]["message"].as_str().unwrap_or("");
    assert!(
        message.starts_with("env `BAD`: ") && message.contains("NOPE"),
        "{message}"
    );
}

#[test]
fn env_cannot_replace_a_variable_gaterun_sets() {
    let p = one_stage(
        r#"  - id: url
    title: DATABASE_URL rewritten in env
    database: sqlite
    env: { DATABASE_URL: "${DATABASE_URL}?mode=rwc" }
    run: 'true'
"#,
    );
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "error");
    assert_eq!(
        r["gates"][0]["message"],
        "env `DATABASE_URL`: `DATABASE_URL` is a database variable that gaterun sets for this gate; use it as `${DATABASE_URL}` in a value under another name"
    );
}

/// `Y`, `ON`, `no` are variable names as written (YAML 1.1 read them as booleans, and defined a
/// variable named `true` or `false`); `gaterun check` accepts them, and refuses `${true}`.
#[test]
fn yaml_boolean_words_as_env_keys_keep_their_text() {
    let p = one_stage(
        r#"  - id: words
    title: Y, ON and no are variables
    env: { Y: a, ON: b, no: c, FLAG: yes }
    steps:
      - run: 'printf "%s %s %s %s" "$Y" "$ON" "$no" "$FLAG"'
        expect: { stdout: "/^a b c yes$/" }
      - run: 'if printenv true || printenv false; then exit 1; fi'
      - run: ['test', '${Y}${ON}${no}', '=', 'abc']
  - id: no-true
    title: the near miss, a variable named true, is undefined
    env: { Y: a }
    run: ['echo', '${true}']
"#,
    );
    let check = p.run(&["check"]);
    check.code(2);
    assert!(
        check
            .stderr
            .starts_with("gates/s.yaml:15:20: error: undefined variable `${true}`\n"),
        "{}",
        check.stderr
    );
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "passed", "{}", r["gates"][0]);
    assert_eq!(r["gates"][1]["status"], "error");
    let message = r["gates"][1]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("undefined variable `${true}`"),
        "{message}"
    );
}
