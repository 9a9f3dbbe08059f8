//! `matrix:` on a gate: one gate per combination, each run, selected and reported on its own;
//! its values as variables and in `database:`; every mistake in it located by `check`.

mod common;

use common::{Project, postgres_bin, validate_junit};

/// Each test case of a JUnit file: its name, and whether it failed.
fn testcases(junit: &str) -> Vec<(String, bool)> {
    junit
        .split("<testcase ")
        .skip(1)
        .map(|chunk| {
            let name = chunk
                .split("name=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or_default()
                .to_owned();
            // A case ends at `/>` (passed) or at `</testcase>`.
            let head_end = chunk.find('>').unwrap_or(chunk.len());
            let body = if chunk[..head_end].ends_with('/') {
                ""
            } else {
                chunk.split("</testcase>").next().unwrap_or_default()
            };
            (name, body.contains("<failure"))
        })
        .collect()
}

/// A partial run's results (`--gate`, `--shard`).
fn partial(p: &Project) -> serde_json::Value {
    serde_json::from_str(&p.read("phase-1/stage-00/partial/results.json")).expect("results.json")
}

const TWO_BY_TWO: &str = r#"stage: 0
name: Matrix
gates:
  - id: api
    title: the API on ${DB} in ${MODE} mode
    matrix: { DB: [sqlite, pg], MODE: [fast, safe] }
    steps:
      - run: echo "db=$DB mode=$MODE id=$GATE_ID"
        expect: { stdout: "db=${DB} mode=${MODE} id=api[DB=${DB},MODE=${MODE}]" }
      - run: 'test "$DB-$MODE" != pg-safe'
"#;

#[test]
fn a_two_by_two_matrix_gives_four_testcases_and_one_failing_combination_fails_alone() {
    let p = Project::new();
    p.stage("s.yaml", TWO_BY_TWO);
    p.run(&["stage", "0"]).code(1);
    let junit = p.read("phase-1/stage-00/junit.xml");
    validate_junit(&p.evidence("phase-1/stage-00/junit.xml"));
    assert_eq!(
        testcases(&junit),
        [
            (
                "api[DB=sqlite,MODE=fast]: the API on sqlite in fast mode".to_owned(),
                false
            ),
            (
                "api[DB=sqlite,MODE=safe]: the API on sqlite in safe mode".to_owned(),
                false
            ),
            (
                "api[DB=pg,MODE=fast]: the API on pg in fast mode".to_owned(),
                false
            ),
            (
                "api[DB=pg,MODE=safe]: the API on pg in safe mode".to_owned(),
                true
            ),
        ],
        "{junit}"
    );
    let r = p.results("stage-00");
    let gates = r["gates"].as_array().expect("gates");
    assert_eq!(gates.len(), 4);
    assert_eq!(gates[3]["status"], "failed");
    assert_eq!(
        gates[3]["message"],
        "step 2 (run: test \"$DB-$MODE\" != pg-safe): expected exit 0, got 1"
    );
    assert_eq!(gates[0]["log"], "logs/api[DB=sqlite,MODE=fast].log");
    // Each combination's log is where results.json says, with its own values.
    let log = p.read("phase-1/stage-00/logs/api[DB=pg,MODE=fast].log");
    assert!(
        log.contains("db=pg mode=fast id=api[DB=pg,MODE=fast]\n"),
        "{log}"
    );
    let report = p.read("phase-1/stage-00/report.md");
    assert!(report.contains("`api[DB=pg,MODE=safe]`"), "{report}");
    // The evidence with these file names holds up.
    p.run(&["verify"]).code(0);
}

#[test]
fn each_combination_sees_only_its_own_values() {
    // The near miss of the exact stdout: a combination seeing another's value fails.
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"stage: 0
name: Matrix
gates:
  - id: m
    title: t
    matrix: { DB: [a, b] }
    run: echo "db=$DB"
    expect: { stdout: "db=a" }
"#,
    );
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "passed");
    assert_eq!(r["gates"][1]["status"], "failed");
}

#[test]
fn gate_selects_every_combination_or_one() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"stage: 0
name: Matrix
gates:
  - id: m
    title: t
    matrix: { DB: [a, b], MODE: [x, y] }
    run: "true"
  - id: other
    title: t
    run: "true"
"#,
    );
    p.run(&["stage", "0", "--gate", "m"]).code(0);
    let ids = |p: &Project| -> Vec<String> {
        partial(p)["gates"]
            .as_array()
            .expect("gates")
            .iter()
            .map(|g| g["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&p),
        [
            "m[DB=a,MODE=x]",
            "m[DB=a,MODE=y]",
            "m[DB=b,MODE=x]",
            "m[DB=b,MODE=y]"
        ]
    );
    p.run(&["stage", "0", "--gate", "m[DB=b,MODE=x]"]).code(0);
    assert_eq!(ids(&p), ["m[DB=b,MODE=x]"]);
    // A near miss of a combination's id selects nothing.
    let r = p.run(&["stage", "0", "--gate", "m[DB=b]"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("nothing selected"), "{}", r.stderr);
    let list = p.run(&["list"]);
    assert!(list.stdout.contains("m[DB=a,MODE=y]: t"), "{}", list.stdout);
}

#[test]
fn shards_split_the_combinations() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: M\ngates:\n  - id: m\n    title: t\n    matrix: { N: [a, b, c, d, e, f, g, h] }\n    run: \"true\"\n",
    );
    let mut seen = Vec::new();
    for k in 1..=2 {
        let shard = format!("{k}/2");
        let r = p.run(&["stage", "0", "--shard", &shard]);
        if r.code == 0 {
            for g in partial(&p)["gates"].as_array().expect("gates") {
                seen.push(g["id"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    seen.sort();
    assert_eq!(
        seen.len(),
        8,
        "every combination in exactly one shard: {seen:?}"
    );
    seen.dedup();
    assert_eq!(seen.len(), 8);
}

#[test]
fn database_takes_the_matrix_value() {
    let kinds: &[&str] = if postgres_bin().is_some() {
        &["sqlite", "postgres"]
    } else {
        &["sqlite"]
    };
    let p = Project::new();
    // Each kind answers a question only it knows: sqlite_version() or version().
    p.stage(
        "s.yaml",
        &format!(
            r#"stage: 0
name: M
gates:
  - id: db
    title: on ${{DB}}
    matrix: {{ DB: [{}] }}
    database: ${{DB}}
    steps:
      - run: 'case "$DB:$DATABASE_URL" in sqlite:sqlite:*|postgres:postgresql:*) ;; *) exit 1;; esac'
      - sql: SELECT 1
"#,
            kinds.join(", ")
        ),
    );
    p.run(&["stage", "0"]).code(0);
    let r = p.results("stage-00");
    for (g, kind) in r["gates"].as_array().expect("gates").iter().zip(kinds) {
        let want = if *kind == "sqlite" {
            "fresh SQLite database"
        } else {
            "fresh PostgreSQL database"
        };
        assert_eq!(g["steps"][0]["name"], want, "{g}");
    }
}

/// `check`'s output for one gate's YAML (indented under `gates:`).
fn check(gate: &str) -> String {
    let p = Project::new();
    p.stage("s.yaml", &format!("stage: 0\nname: S\ngates:\n{gate}"));
    let r = p.run(&["check"]);
    assert_ne!(r.code, 0, "check passed:\n{gate}");
    r.stderr
}

#[test]
fn check_locates_every_matrix_mistake() {
    let cases: &[(&str, &str)] = &[
        (
            "  - id: m\n    title: t\n    matrix: { DB: [ok, \"a/b\"] }\n    run: \"true\"\n",
            "s.yaml:6:24: error: invalid matrix value `a/b` for `DB`",
        ),
        (
            "  - id: m\n    title: t\n    matrix: { DB: [\"a b\"] }\n    run: \"true\"\n",
            "invalid matrix value `a b` for `DB`",
        ),
        (
            "  - id: m\n    title: t\n    matrix: { DB: [\"..\"] }\n    run: \"true\"\n",
            "invalid matrix value `..` for `DB`",
        ),
        (
            "  - id: m\n    title: t\n    matrix: { DB: [] }\n    run: \"true\"\n",
            "s.yaml:6:19: error: matrix key `DB` has no values",
        ),
        (
            "  - id: m\n    title: t\n    matrix: {}\n    run: \"true\"\n",
            "s.yaml:6:13: error: `matrix` is empty",
        ),
        (
            "  - id: m\n    title: t\n    matrix: { A: [1,2,3,4,5,6,7], B: [1,2,3,4,5,6,7], C: [1,2,3,4,5,6,7] }\n    run: \"true\"\n",
            "s.yaml:6:13: error: `matrix` gives 343 combinations (7 × 7 × 7): at most 256",
        ),
        (
            "  - id: m\n    title: t\n    env: { DB: x }\n    matrix: { DB: [a] }\n    run: \"true\"\n",
            "s.yaml:7:19: error: matrix key `DB` is also set by this gate's `env`",
        ),
        (
            "  - id: m\n    title: t\n    matrix: { GATE_TMP: [a] }\n    run: \"true\"\n",
            "matrix key `GATE_TMP` is a built-in variable",
        ),
        (
            "  - id: m\n    title: t\n    matrix: { 1DB: [a] }\n    run: \"true\"\n",
            "invalid matrix key `1DB`",
        ),
        (
            "  - id: m\n    title: t\n    matrix: { DB: [sqlite, oracle] }\n    database: ${DB}\n    sql: SELECT 1\n",
            "s.yaml:7:15: error: unknown database `oracle` (from `${DB}`)",
        ),
        (
            "  - id: m\n    title: t\n    matrix: { DB: [a, a] }\n    run: \"true\"\n",
            "matrix value `a` appears twice for `DB`",
        ),
        (
            &format!(
                "  - id: {}\n    title: t\n    matrix: {{ KEY: [{}] }}\n    run: \"true\"\n",
                "m".repeat(60),
                "v".repeat(40)
            ),
            "characters is too long: at most 100",
        ),
    ];
    for (gate, want) in cases {
        let got = check(gate);
        assert!(got.contains(want), "want {want:?} in:\n{got}");
    }
    // The near miss: a matrix inside the rules is valid.
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - id: m\n    title: t\n    matrix: { DB: [v1.2_x-y, \"3\"], M: [a] }\n    run: \"true\"\n",
    );
    let r = p.run(&["check"]);
    r.code(0);
    assert!(r.stdout.contains("2 gates"), "{}", r.stdout);
}

#[test]
fn a_default_env_entry_gives_way_to_the_matrix() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"stage: 0
name: S
defaults:
  env: { DB: from-defaults }
gates:
  - id: m
    title: t
    matrix: { DB: [a] }
    run: echo "db=$DB"
    expect: { stdout: "db=a" }
"#,
    );
    p.run(&["stage", "0"]).code(0);
}

#[test]
fn a_lint_warning_on_a_matrix_gate_is_given_once() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - id: m\n    title: t\n    matrix: { DB: [a, b, c] }\n    run: echo ok\n    expect: { stdout: ok }\n",
    );
    let r = p.run(&["check"]);
    r.code(0);
    assert_eq!(r.stderr.matches("warning:").count(), 1, "{}", r.stderr);
}

#[test]
fn matrix_values_keep_their_spelling_and_keys_may_not_be_gaterun_names() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - id: py\n    title: t\n    matrix: { PY: [3.10, 3.1, 010] }\n    run: 'test \"$PY\" = 3.10 || test \"$PY\" = 3.1 || test \"$PY\" = 010'\n",
    );
    p.run(&["stage", "0"]).code(0);
    let ids: Vec<String> = p.results("stage-00")["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .map(|g| g["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids, ["py[PY=3.10]", "py[PY=3.1]", "py[PY=010]"]);
    // A matrix key gaterun sets for the gate's database or services.
    let db = check(
        "  - id: m\n    title: t\n    database: sqlite\n    matrix: { DATABASE_URL: [x] }\n    run: \"true\"\n",
    );
    assert!(
        db.contains("matrix key `DATABASE_URL` is also a database variable gaterun sets"),
        "{db}"
    );
    let svc = check(
        "  - id: m\n    title: t\n    services: { api: { run: sleep 9 } }\n    matrix: { API_PORT: [\"1\"] }\n    run: \"true\"\n",
    );
    assert!(
        svc.contains("matrix key `API_PORT` is also a service variable gaterun sets"),
        "{svc}"
    );
}

#[test]
fn a_capture_may_not_replace_a_matrix_value_or_a_name_gaterun_sets() {
    let cases = [
        (
            "matrix: { DB: [a] }\n    ",
            "DB",
            "a matrix key of this gate",
        ),
        ("", "GATE_ID", "a built-in variable gaterun sets"),
        (
            "database: sqlite\n    ",
            "DATABASE_URL",
            "a database variable gaterun sets",
        ),
        (
            "services: { api: { run: sleep 9 } }\n    ",
            "API_URL",
            "a service variable gaterun sets",
        ),
    ];
    for (before, name, what) in cases {
        let err = check(&format!(
            "  - id: m\n    title: t\n    {before}run: echo x\n    capture: {{ {name}: \"/(x)/\" }}\n"
        ));
        assert!(
            err.contains(&format!("capture `{name}`: `{name}` is {what}")),
            "{name}: {err}"
        );
    }
    // The near miss: another name is captured.
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - id: m\n    title: t\n    matrix: { DB: [a] }\n    run: echo x\n    capture: { OUT: \"/(x)/\" }\n",
    );
    p.run(&["check"]).code(0);
}
