//! `databases:` on a gate: a fresh database per name, its variables prefixed with the name,
//! `sql` steps choosing one with `db:`.

mod common;

use common::{Project, postgres_bin};

/// Two databases of `kind_a` and `kind_b`: a table made in one is not in the other.
fn two_databases_are_distinct(kind_a: &str, kind_b: &str) {
    let p = Project::new();
    let exists = |kind: &str| {
        if kind == "sqlite" {
            "SELECT count(*) FROM sqlite_master WHERE name = 'only_main'"
        } else {
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'only_main'"
        }
    };
    p.stage(
        "s.yaml",
        &format!(
            r#"stage: 0
name: Databases
gates:
  - id: two
    title: t
    databases: {{ main: {kind_a}, audit: {kind_b} }}
    steps:
      - sql: CREATE TABLE only_main (v int); INSERT INTO only_main VALUES (7)
        db: main
      - sql: {}
        db: audit
        expect: {{ value: 0 }}
      - sql: SELECT v FROM only_main
        db: main
        expect: {{ value: 7 }}
      - run: test -n "$MAIN_DATABASE_URL" && test -n "$AUDIT_DATABASE_URL" && test "$MAIN_DATABASE_URL" != "$AUDIT_DATABASE_URL" && test -z "$DATABASE_URL"
"#,
            exists(kind_b)
        ),
    );
    let r = p.run(&["stage", "0"]);
    r.code(0);
    let g = &p.results("stage-00")["gates"][0];
    let names: Vec<&str> = g["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .take(2)
        .map(|s| s["name"].as_str().unwrap_or_default())
        .collect();
    let label = |k: &str| {
        if k == "sqlite" {
            "fresh SQLite database"
        } else {
            "fresh PostgreSQL database"
        }
    };
    assert_eq!(
        names,
        [
            format!("{} `main`", label(kind_a)),
            format!("{} `audit`", label(kind_b))
        ]
    );
}

#[test]
fn two_sqlite_databases_are_distinct() {
    two_databases_are_distinct("sqlite", "sqlite");
}

#[test]
fn two_postgres_databases_are_distinct() {
    if postgres_bin().is_none() {
        return;
    }
    two_databases_are_distinct("postgres", "postgres");
    two_databases_are_distinct("postgres", "sqlite");
}

#[test]
fn the_other_database_does_not_see_a_write() {
    // The near miss: reading the table from the database that did not make it fails.
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"stage: 0
name: Databases
gates:
  - id: two
    title: t
    databases: { main: sqlite, audit: sqlite }
    steps:
      - sql: CREATE TABLE t (v int)
        db: main
      - sql: SELECT count(*) FROM t
        db: audit
"#,
    );
    p.run(&["stage", "0"]).code(1);
    let g = &p.results("stage-00")["gates"][0];
    let message = g["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("the statement failed: no such table: t"),
        "{message}"
    );
}

#[test]
fn variables_are_prefixed_with_the_name() {
    let mut kinds = vec!["sqlite"];
    if postgres_bin().is_some() {
        kinds.push("postgres");
    }
    for kind in kinds {
        let p = Project::new();
        let expected = if kind == "sqlite" {
            "MAIN_DATABASE_PATH MAIN_DATABASE_URL"
        } else {
            "MAIN_DATABASE_URL MAIN_PGDATABASE MAIN_PGHOST MAIN_PGPORT MAIN_PGSSLMODE MAIN_PGUSER"
        };
        p.stage(
            "s.yaml",
            &format!(
                r#"stage: 0
name: Vars
gates:
  - id: v
    title: t
    databases: {{ main: {kind} }}
    database: sqlite
    steps:
      - run: env | cut -d= -f1 | grep '^MAIN_' | sort | tr '\n' ' '
        expect: {{ stdout: "/^{expected} $/" }}
      - run: test -n "$DATABASE_URL" && test "$DATABASE_URL" != "$MAIN_DATABASE_URL"
      - sql: SELECT 1
        expect: {{ value: 1 }}
"#
            ),
        );
        let r = p.run(&["stage", "0"]);
        assert_eq!(
            r.code,
            0,
            "{kind}: {}\n{}",
            r.stdout,
            p.read("phase-1/stage-00/logs/v.log")
        );
    }
}

#[test]
fn check_asks_for_db_when_the_choice_is_not_clear() {
    let p = Project::new();
    let stage = |steps: &str| {
        format!(
            "stage: 0\nname: D\ngates:\n  - id: d\n    title: t\n    databases: {{ main: sqlite, audit: sqlite }}\n    steps:\n{steps}"
        )
    };
    p.stage("s.yaml", &stage("      - sql: SELECT 1\n"));
    let r = p.run(&["check"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("s.yaml:8:14: error: this `sql` step needs `db:` to say which database it runs on: main, audit"),
        "{}",
        r.stderr
    );
    p.stage(
        "s.yaml",
        &stage("      - sql: SELECT 1\n        db: mian\n"),
    );
    let r = p.run(&["check"]);
    assert!(
        r.stderr.contains(
            "s.yaml:9:13: error: `db` names an unknown database `mian`, did you mean `main`?"
        ),
        "{}",
        r.stderr
    );
    p.stage(
        "s.yaml",
        &stage("      - run: \"true\"\n        db: main\n"),
    );
    let r = p.run(&["check"]);
    assert!(
        r.stderr
            .contains("error: `db` does not apply to a `run` step"),
        "{}",
        r.stderr
    );
    // The near misses that are valid: `db:` given, or one database only.
    p.stage(
        "s.yaml",
        &stage("      - sql: SELECT 1\n        db: audit\n"),
    );
    p.run(&["check"]).code(0);
    p.stage(
        "s.yaml",
        "stage: 0\nname: D\ngates:\n  - id: d\n    title: t\n    databases: { main: sqlite }\n    sql: SELECT 1\n",
    );
    p.run(&["check"]).code(0);
}
