//! Fresh databases: SQLite files and PostgreSQL databases on a throw-away cluster or on
//! GATERUN_POSTGRES_URL; nothing left behind.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::pg_server::Server;
use common::{Project, postgres_bin, postgres_processes};

/// A migration tool for the fixtures: three migrations, idempotent, on SQLite or PostgreSQL.
const MIGRATE: &str = r#"
import os, sqlite3, subprocess, sys
url = os.environ["DATABASE_URL"]
key = "INTEGER PRIMARY KEY" if url.startswith("sqlite://") else "SERIAL PRIMARY KEY"
sql = """
CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS tasks (id """ + key + """, title TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'done')));
INSERT INTO schema_migrations (version) VALUES (1), (2), (3) ON CONFLICT DO NOTHING;
"""
if url.startswith("sqlite://"):
    c = sqlite3.connect(url[len("sqlite://"):])
    c.executescript(sql)
    c.commit()
else:
    subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True)
print("migrated")
"#;

fn fresh_migrate_stage(db: &str) -> String {
    format!(
        r#"
stage: 0
name: Fresh migrate
gates:
  - id: fresh-migrate
    title: a fresh database migrates from zero
    database: {db}
    steps:
      - name: the schema is absent
        sql: SELECT count(*) FROM {catalog} WHERE {column} = 'schema_migrations'
        expect: {{ value: 0 }}
      - run: python3 migrate.py
        expect: {{ stdout: migrated }}
      - sql: SELECT count(*) FROM schema_migrations
        expect: {{ value: 3 }}
      - name: the database refuses an invalid state
        sql: INSERT INTO tasks (title, state) VALUES ('x', 'bogus')
        expect: {{ error: ["/{check}/"] }}
      - sql: INSERT INTO tasks (title) VALUES ('write docs')
      - sql: SELECT title, state FROM tasks
        expect: {{ rows: [[write docs, new]] }}
      - sql: SELECT id FROM tasks WHERE title = 'write docs'
        capture: {{ TASK: id }}
      - run: 'test "$TASK" -ge 1'
"#,
        catalog = if db == "sqlite" {
            "sqlite_master"
        } else {
            "pg_tables"
        },
        column = if db == "sqlite" { "name" } else { "tablename" },
        check = if db == "sqlite" {
            "CHECK constraint failed"
        } else {
            "violates check constraint"
        },
    )
}

#[test]
fn sqlite_fresh_migrate_from_zero_every_run() {
    if !common::python3() {
        return;
    }
    let p = Project::new();
    p.file("migrate.py", MIGRATE)
        .stage("s.yaml", &fresh_migrate_stage("sqlite"));
    p.run(&["stage", "0"]).code(0);
    // Again: a new empty database, not the one the last run migrated.
    p.run(&["stage", "0"]).code(0);
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["steps"][0]["kind"], "database");
    let log = p.read("phase-1/stage-00/logs/fresh-migrate.log");
    assert!(log.contains("sqlite://"), "{log}");
}

#[test]
fn sql_expectations_fail_with_expected_against_actual() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Sql
gates:
  - id: not-failing
    title: a statement expected to fail succeeds
    database: sqlite
    sql: SELECT 1
    expect: { error: ["/violates/"] }
  - id: wrong-value
    title: value mismatch
    database: sqlite
    sql: SELECT 2
    expect: { value: 3 }
  - id: wrong-rows
    title: rows mismatch
    database: sqlite
    sql: SELECT 1, 'a' UNION ALL SELECT 2, 'b'
    expect: { rows: [[1, a], [2, c]] }
  - id: bad-sql
    title: a broken statement
    database: sqlite
    sql: SELEKT 1
"#,
    );
    p.run(&["stage", "0"]).code(1);
    let r = p.results("stage-00");
    let msg = |i: usize| r["gates"][i]["message"].as_str().unwrap_or("").to_owned();
    assert_eq!(msg(0), "expected the statement to fail, but it succeeded");
    assert_eq!(msg(1), "expected value 3, got 2");
    assert_eq!(
        msg(2),
        "expected rows [[1,\"a\"],[2,\"c\"]], got [[1,\"a\"],[2,\"b\"]]"
    );
    assert!(
        msg(3).starts_with("the statement failed: near \"SELEKT\""),
        "{}",
        msg(3)
    );
}

#[test]
fn postgres_fresh_migrate_on_the_throwaway_cluster() {
    if postgres_bin().is_none() || !common::python3() {
        return;
    }
    let p = Project::new();
    p.file("migrate.py", MIGRATE)
        .stage("s.yaml", &fresh_migrate_stage("postgres"));
    let child = p
        .cmd(&["stage", "0"])
        .env_remove("GATERUN_POSTGRES_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    let marker = format!("gaterun-{}", child.id());
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        p.read("phase-1/stage-00/logs/fresh-migrate.log")
    );
    let log = p.read("phase-1/stage-00/logs/fresh-migrate.log");
    assert!(log.contains("postgresql://postgres@127.0.0.1:"), "{log}");
    assert!(log.contains("?sslmode=disable"), "{log}");
    assert!(log.contains("violates check constraint"), "{log}");
    assert_eq!(postgres_processes(&marker), Vec::<String>::new());
}

#[test]
fn postgres_as_an_unprivileged_user() {
    if postgres_bin().is_none() || !rustix::process::geteuid().is_root() {
        eprintln!("skipping: needs root to switch to an unprivileged user");
        return;
    }
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - id: pg\n    title: t\n    database: postgres\n    sql: SELECT current_user, current_database() LIKE 'gaterun_%'\n    expect: { rows: [[postgres, true]] }\n",
    );
    let nobody = rustix::fs::Uid::from_raw(65534);
    for entry in walk(p.path()) {
        rustix::fs::chown(&entry, Some(nobody), None).expect("chown");
    }
    std::fs::set_permissions(
        p.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(common::bin())
        .args(["stage", "0"])
        .current_dir(p.path())
        .env_remove("GATERUN_POSTGRES_URL")
        .env("TMPDIR", p.path())
        .output()
        .expect("setpriv");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn twenty_postgres_gates_see_only_their_own_rows() {
    if postgres_bin().is_none() {
        return;
    }
    let mut yaml = String::from("stage: 0\nname: Many\ngates:\n");
    for i in 0..20 {
        yaml.push_str(&format!(
            "  - id: g{i}\n    title: own rows\n    database: postgres\n    steps:\n      - sql: CREATE TABLE t (v int); INSERT INTO t VALUES ({i})\n      - sql: SELECT v FROM t\n        expect: {{ rows: [[{i}]] }}\n      - sql: SELECT count(*) FROM pg_database WHERE datname = current_database()\n        expect: {{ value: 1 }}\n"
        ));
    }
    let p = Project::new();
    p.stage("s.yaml", &yaml);
    let tmp = tempfile::tempdir().expect("tmp");
    let child = p
        .cmd(&["stage", "0", "--jobs", "4"])
        .env_remove("GATERUN_POSTGRES_URL")
        .env("TMPDIR", tmp.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    let marker = format!("gaterun-{}", child.id());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Nothing left: no temp dir, no cluster process.
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("tmp")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_eq!(postgres_processes(&marker), Vec::<String>::new());
    assert!(!Path::new(&format!("/dev/shm/{marker}-postgres")).exists());
}

#[test]
fn databases_on_gaterun_postgres_url_are_made_and_dropped() {
    let Some(bin) = postgres_bin() else { return };
    if rustix::process::geteuid().is_root() && !Path::new("/usr/bin/setpriv").exists() {
        return;
    }
    let server = Server::start(&bin);
    let mut yaml = String::from("stage: 0\nname: Url\ngates:\n");
    for i in 0..5 {
        yaml.push_str(&format!(
            "  - id: g{i}\n    title: own database\n    database: postgres\n    steps:\n      - sql: SELECT current_database() LIKE 'gaterun_%', current_user\n        expect: {{ rows: [[true, admin]] }}\n      - run: 'test \"$PGPORT\" = {} && test \"$PGUSER\" = admin'\n",
            server.port
        ));
    }
    let p = Project::new();
    p.stage("s.yaml", &yaml);
    let out = p
        .cmd(&["stage", "0", "--jobs", "3"])
        .env("GATERUN_POSTGRES_URL", server.url())
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(server.gaterun_databases(), "0");
}

#[test]
fn no_postgres_means_a_gate_error_that_says_how_to_get_one() {
    let p = Project::new();
    p.stage("s.yaml", "stage: 0\nname: S\ngates:\n  - id: pg\n    title: t\n    database: postgres\n    sql: SELECT 1\n");
    let out = p
        .cmd(&["stage", "0"])
        .env(
            "GATERUN_POSTGRES_URL",
            "postgres://nobody@127.0.0.1:1/none?connect_timeout=2",
        )
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "error");
    let msg = r["gates"][0]["message"].as_str().expect("message");
    assert!(
        msg.starts_with("failed to connect to GATERUN_POSTGRES_URL"),
        "{msg}"
    );
    assert!(p.read("phase-1/stage-00/junit.xml").contains("<error "));
}

#[test]
fn interrupt_during_a_postgres_stage_stops_the_cluster() {
    if postgres_bin().is_none() {
        return;
    }
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - id: pg\n    title: t\n    database: postgres\n    steps:\n      - sql: SELECT 1\n      - run: 'touch \"$PROJECT_ROOT/up\"; sleep 30'\n",
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let mut child = p
        .cmd(&["stage", "0"])
        .env_remove("GATERUN_POSTGRES_URL")
        .env("TMPDIR", tmp.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !p.path().join("up").exists() {
        assert!(Instant::now() < deadline, "never came up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let marker = format!("gaterun-{}", child.id());
    assert!(!postgres_processes(&marker).is_empty(), "the cluster runs");
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    )
    .expect("kill");
    assert_eq!(child.wait().expect("wait").code(), Some(130));
    assert_eq!(postgres_processes(&marker), Vec::<String>::new());
    assert_eq!(std::fs::read_dir(tmp.path()).expect("tmp").count(), 0);
    assert!(!Path::new(&format!("/dev/shm/{marker}-postgres")).exists());
}

/// Run gaterun on the throw-away cluster (GATERUN_POSTGRES_URL removed), asserting the exit code
/// with the stage's results and the gates' logs in the message.
fn on_cluster(p: &Project, args: &[&str], want: i32) {
    let out = p
        .cmd(args)
        .env_remove("GATERUN_POSTGRES_URL")
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(want),
        "{}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        gate_logs(p)
    );
}

/// Every gate log of phase 1, for failure messages.
fn gate_logs(p: &Project) -> String {
    let mut files = Vec::new();
    common::collect_files(&p.path().join("evidence"), &mut files);
    files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "log"))
        .map(|f| {
            format!(
                "--- {}\n{}",
                f.display(),
                std::fs::read_to_string(f).unwrap_or_default()
            )
        })
        .collect()
}

/// The OS user the throw-away cluster runs as (gaterun's rule: as root, `postgres` if it
/// exists, else `nobody`), for a tablespace directory it must own; `None` when not root.
fn cluster_user() -> Option<&'static str> {
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    Some(if passwd.lines().any(|l| l.starts_with("postgres:")) {
        "postgres"
    } else {
        "nobody"
    })
}

/// A gate that creates a role (with a privilege outside its database), a tablespace in its
/// temp directory holding a table, and a database owned by the role.
fn global_objects_gate(id: &str) -> String {
    let chown = cluster_user()
        .map(|u| format!(" && chown {u} \"$GATE_TMP/ts\""))
        .unwrap_or_default();
    format!(
        r#"
  - id: {id}
    title: creates a role, a tablespace and a database
    database: postgres
    steps:
      - run: 'mkdir "$GATE_TMP/ts" && chmod 755 "$GATE_TMP"{chown}'
      - sql: CREATE ROLE reporting
      - sql: CREATE TABLE tasks (id int); ALTER TABLE tasks OWNER TO reporting
      - sql: GRANT CONNECT ON DATABASE postgres TO reporting
      - sql: CREATE TABLESPACE fast LOCATION '${{GATE_TMP}}/ts'
      - sql: CREATE TABLE hot (id int) TABLESPACE fast
      - sql: CREATE DATABASE reports OWNER reporting TABLESPACE fast
      - sql: SELECT count(*) FROM pg_roles WHERE rolname = 'reporting'
        expect: {{ value: 1 }}
"#
    )
}

#[test]
fn roles_tablespaces_and_databases_a_gate_creates_are_gone_before_the_next_gate() {
    if postgres_bin().is_none() {
        return;
    }
    let p = Project::new();
    let yaml = format!(
        "stage: 0\nname: Global\nserial: true\ngates:{}{}",
        global_objects_gate("first"),
        global_objects_gate("second")
    );
    p.stage("s.yaml", &yaml);
    // Without the cleanup the second gate fails: `role "reporting" already exists`.
    on_cluster(&p, &["stage", "0"], 0);
    let log = p.read("phase-1/stage-00/logs/first.log");
    for line in [
        "teardown: dropped database \"reports\"",
        "teardown: dropped tablespace \"fast\"",
        "teardown: dropped role \"reporting\"",
    ] {
        assert!(log.contains(line), "{line}\n{log}");
    }
}

#[test]
fn repeat_of_a_gate_creating_a_role_is_passed_not_flaky() {
    if postgres_bin().is_none() {
        return;
    }
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Repeat\ngates:\n  - id: role\n    title: creates a role\n    database: postgres\n    sql: CREATE ROLE reporting LOGIN\n",
    );
    on_cluster(&p, &["stage", "0", "--repeat", "3"], 0);
    let r = p.results("stage-00");
    assert_eq!(r["gates"][0]["status"], "passed");
    assert_ne!(r["gates"][0]["flaky"], true, "{r}");
    assert_eq!(r["gates"][0]["failed_runs"], serde_json::Value::Null, "{r}");
    assert_eq!(r["gates"][0]["attempts"], 3);
}

#[test]
fn a_gate_s_end_leaves_the_roles_of_a_gate_still_running() {
    if postgres_bin().is_none() {
        return;
    }
    // Each gate creates its role and waits for the other's: both roles exist while both run.
    // Then `b` waits for `a` to end (its database gone) and checks that `a`'s teardown left
    // role_b alone.
    let yaml = r#"
stage: 0
name: Concurrent
gates:
  - id: a
    title: creates role_a
    database: postgres
    steps:
      - sql: CREATE ROLE role_a
      - sql: SELECT count(*) FROM pg_roles WHERE rolname = 'role_b'
        eventually: 60s
        expect: { value: 1 }
      - run: 'echo "$PGDATABASE" > "$PROJECT_ROOT/a-db"'
  - id: b
    title: creates role_b
    database: postgres
    steps:
      - sql: CREATE ROLE role_b
      - run: 'cat "$PROJECT_ROOT/a-db"'
        eventually: 60s
        capture: { A_DB: '/(gaterun_\w+)/' }
      - name: gate a has ended
        sql: SELECT count(*) FROM pg_database WHERE datname = '${A_DB}'
        eventually: 60s
        expect: { value: 0 }
      - name: role_b is still there
        sql: SELECT count(*) FROM pg_roles WHERE rolname = 'role_b'
        expect: { value: 1 }
"#;
    // The next stage passes only if both roles went when the last of the two gates ended.
    let again = r#"
stage: 1
name: Again
serial: true
gates:
  - id: again
    title: creates both roles again
    database: postgres
    sql: CREATE ROLE role_a; CREATE ROLE role_b
"#;
    let p = Project::new();
    p.stage("s0.yaml", yaml).stage("s1.yaml", again);
    on_cluster(&p, &["phase", "1", "--jobs", "2"], 0);
}

#[test]
fn on_gaterun_postgres_url_only_what_the_gate_created_is_dropped() {
    let Some(bin) = postgres_bin() else { return };
    if rustix::process::geteuid().is_root() && !Path::new("/usr/bin/setpriv").exists() {
        return;
    }
    let server = Server::start(&bin);
    let psql = |sql: &str| server.psql(sql);
    psql("CREATE ROLE keeper");
    let url = format!("{}?sslmode=disable&application_name=gates", server.url());
    // Two gates one after the other: the second passes only if the first's end dropped what
    // it created.
    let gate = |id: &str| {
        format!(
            r#"
  - id: {id}
    title: creates a role and a database, and touches a role that was there
    database: postgres
    steps:
      - sql: CREATE ROLE newbie
      - sql: GRANT keeper TO newbie
      - sql: ALTER ROLE keeper CONNECTION LIMIT 3
      - sql: CREATE DATABASE side_db OWNER newbie
      - name: DATABASE_URL keeps the parameters of GATERUN_POSTGRES_URL
        run: 'test "$DATABASE_URL" = "postgresql://admin@127.0.0.1:{port}/$PGDATABASE?sslmode=disable&application_name=gates"'
      - run: psql "$DATABASE_URL" -tAc "SELECT current_setting('application_name')"
        expect: {{ stdout: gates }}
"#,
            port = server.port
        )
    };
    let yaml = format!(
        "stage: 0\nname: External\nserial: true\ngates:{}{}",
        gate("first"),
        gate("second")
    );
    let p = Project::new();
    p.stage("s.yaml", &yaml);
    let out = p
        .cmd(&["stage", "0"])
        .env("GATERUN_POSTGRES_URL", &url)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        gate_logs(&p)
    );
    assert_eq!(
        psql("SELECT count(*) FROM pg_roles WHERE rolname = 'keeper'"),
        "1"
    );
    assert_eq!(
        psql("SELECT rolconnlimit FROM pg_roles WHERE rolname = 'keeper'"),
        "3"
    );
    assert_eq!(
        psql("SELECT count(*) FROM pg_roles WHERE rolname = 'newbie'"),
        "0"
    );
    assert_eq!(
        psql("SELECT count(*) FROM pg_database WHERE datname = 'side_db'"),
        "0"
    );
    assert_eq!(server.gaterun_databases(), "0");
}

/// Two migrations: a table, then a column; `db/first` holds only the first.
fn migrations(p: &Project) {
    let one = "-- migrate:up\nCREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT NOT NULL);\n-- migrate:down\nDROP TABLE tasks;\n";
    let two = "-- migrate:up\nALTER TABLE tasks ADD COLUMN done BOOLEAN NOT NULL DEFAULT FALSE;\n-- migrate:down\nALTER TABLE tasks DROP COLUMN done;\n";
    p.file("db/migrations/001_tasks.sql", one)
        .file("db/migrations/002_done.sql", two)
        .file("db/first/001_tasks.sql", one);
}

/// SQLAlchemy applies the migrations in `db/<dir>` (the part after `migrate:up`) on
/// `DATABASE_URL` as given, recording each in `schema_migrations`.
const ALCHEMY: &str = r#"
import os, pathlib, sys
import sqlalchemy as sa
engine = sa.create_engine(os.environ["DATABASE_URL"])
folder = pathlib.Path("db") / sys.argv[1]
with engine.begin() as c:
    c.execute(sa.text("CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY)"))
    for f in sorted(folder.glob("*.sql")):
        up = f.read_text().split("-- migrate:up")[1].split("-- migrate:down")[0]
        c.execute(sa.text(up))
        c.execute(sa.text("INSERT INTO schema_migrations VALUES (:v)"), {"v": f.name.split("_")[0]})
print("migrated", engine.url.get_backend_name())
"#;

/// The gates: each tool migrates a fresh database of each kind from `DATABASE_URL` as given,
/// and a `sql` step checks the schema; in the near misses the second migration is not applied.
fn migration_stage(tools: &[&str]) -> String {
    let mut yaml = String::from("stage: 0\nname: Tools\ngates:\n");
    for tool in tools {
        for db in ["sqlite", "postgres"] {
            for (suffix, dir) in [("", "migrations"), ("-near-miss", "first")] {
                let migrate = match *tool {
                    "dbmate" => {
                        format!("dbmate --no-dump-schema --migrations-dir db/{dir} up")
                    }
                    _ => format!("python3 alchemy.py {dir}"),
                };
                let column = if db == "sqlite" {
                    "SELECT count(*) FROM pragma_table_info('tasks') WHERE name = 'done'"
                } else {
                    "SELECT count(*) FROM information_schema.columns WHERE table_name = 'tasks' AND column_name = 'done'"
                };
                yaml.push_str(&format!(
                    r#"
  - id: {tool}-{db}{suffix}
    title: {tool} migrates a fresh {db} database from DATABASE_URL as given
    database: {db}
    steps:
      - run: {migrate}
      - name: the done column exists
        sql: "{column}"
        expect: {{ value: 1 }}
      - sql: SELECT count(*) FROM schema_migrations
        expect: {{ value: 2 }}
"#
                ));
            }
        }
    }
    yaml
}

/// Run the migration gates of `tools`: the ones applying both migrations pass, each near miss
/// fails at the schema check, naming what it found.
fn migrations_through(tools: &[&str]) {
    let p = Project::new();
    migrations(&p);
    p.file("alchemy.py", ALCHEMY)
        .stage("s.yaml", &migration_stage(tools));
    on_cluster(&p, &["stage", "0"], 1);
    let r = p.results("stage-00");
    let gates = r["gates"].as_array().expect("gates");
    assert_eq!(gates.len(), tools.len() * 4);
    for g in gates {
        let id = g["id"].as_str().unwrap_or_default();
        if id.ends_with("-near-miss") {
            assert_eq!(g["status"], "failed", "{id}: {g}");
            let message = g["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("the done column exists") && message.contains("got 0"),
                "{id}: {g}"
            );
        } else {
            assert_eq!(g["status"], "passed", "{id}: {g}\n{}", gate_logs(&p));
        }
    }
}

#[test]
fn dbmate_migrates_sqlite_and_postgres_from_database_url_as_given() {
    if postgres_bin().is_none()
        || !common::tool("dbmate", &["dbmate", "--version"], "npm install -g dbmate")
    {
        return;
    }
    migrations_through(&["dbmate"]);
}

#[test]
fn sqlalchemy_migrates_sqlite_and_postgres_from_database_url_as_given() {
    if postgres_bin().is_none()
        || !common::tool(
            "SQLAlchemy with its PostgreSQL driver",
            &[
                "python3",
                "-c",
                "import sqlalchemy; sqlalchemy.create_engine('postgresql://u@h/d')",
            ],
            "pip install 'sqlalchemy>=2.1' 'psycopg[binary]'",
        )
    {
        return;
    }
    migrations_through(&["sqlalchemy"]);
}

/// A stage of one gate per case: a statement, its `expect`, and whether the gate must pass
/// (the value as the database prints it) or fail (a near miss).
fn cell_cases_stage(db: &str, cases: &[(&str, &str, bool)]) -> String {
    let mut yaml = String::from("stage: 0\nname: Cells\ngates:\n");
    for (i, (sql, expect, _)) in cases.iter().enumerate() {
        yaml.push_str(&format!(
            "  - id: case-{i}\n    title: case {i}\n    database: {db}\n    sql: |\n      {sql}\n    expect: {expect}\n"
        ));
    }
    yaml
}

/// Every case's gate passed or failed as the case says; on a wrong one, all of them are shown.
fn assert_cell_cases(p: &Project, cases: &[(&str, &str, bool)]) {
    let r = p.results("stage-00");
    let gates = r["gates"].as_array().cloned().unwrap_or_default();
    assert_eq!(gates.len(), cases.len());
    let wrong: Vec<String> = cases
        .iter()
        .enumerate()
        .filter_map(|(i, (sql, expect, pass))| {
            let gate = gates.iter().find(|g| g["id"] == format!("case-{i}"))?;
            let want = if *pass { "passed" } else { "failed" };
            (gate["status"] != want).then(|| {
                format!(
                    "{sql} with {expect}: want {want}, got {} ({})",
                    gate["status"], gate["message"]
                )
            })
        })
        .collect();
    assert!(wrong.is_empty(), "{}\n{}", wrong.join("\n"), gate_logs(p));
}

/// SQLite cells a gate compares exactly: infinities are the strings PostgreSQL prints (SQLite
/// itself turns NaN into NULL), a BLOB is `{bytes: hex}` and never a string.
#[test]
fn sqlite_cells_are_never_read_as_a_near_miss() {
    let cases: &[(&str, &str, bool)] = &[
        ("SELECT 1e999", "{ value: Infinity }", true),
        ("SELECT 1e999", "{ value: null }", false),
        ("SELECT 1e999", "{ value: { type: number } }", false),
        ("SELECT 1e999", "{ value: { ge: 0 } }", false),
        ("SELECT -1e999", "{ value: -Infinity }", true),
        ("SELECT -1e999", "{ value: { le: 0 } }", false),
        ("SELECT -1e999", "{ value: Infinity }", false),
        ("SELECT 2.5", "{ value: 2.5 }", true),
        // `value: null` expects NULL; it is not a missing `value`.
        ("SELECT NULL", "{ value: null }", true),
        ("SELECT 0", "{ value: null }", false),
        ("SELECT x'41'", "{ value: { bytes: \"41\" } }", true),
        ("SELECT x'41'", "{ value: A }", false),
        ("SELECT x'41'", "{ value: '\\x41' }", false),
        ("SELECT x'41'", "{ value: { type: string } }", false),
        ("SELECT x'41'", "{ value: { bytes: \"42\" } }", false),
        ("SELECT 'A'", "{ value: { bytes: \"41\" } }", false),
        (
            "SELECT x'00ff', 1e999, NULL",
            "{ rows: [[{ bytes: \"00ff\" }, Infinity, null]] }",
            true,
        ),
        (
            "SELECT x'00ff', 1e999, NULL",
            "{ rows: [['\\x00ff', Infinity, null]] }",
            false,
        ),
    ];
    let p = Project::new();
    p.stage("s.yaml", &cell_cases_stage("sqlite", cases));
    p.run(&["stage", "0"]).code(1);
    assert_cell_cases(&p, cases);
}

/// PostgreSQL cells a gate compares exactly: numeric and float infinities and NaN are the
/// strings PostgreSQL prints, never 0 or null; numerics keep every digit; JSON too deep to
/// parse stays text; bytea is `{bytes: hex}`; what gaterun has no decoder for (money,
/// interval, `infinity` timestamps, arrays of those) is printed by the server.
#[test]
fn postgres_cells_are_never_read_as_a_near_miss() {
    if postgres_bin().is_none() {
        return;
    }
    let deep = "SELECT (repeat('[', 200) || '1' || repeat(']', 200))::jsonb";
    let tiny = "SELECT ('0.' || repeat('0', 999) || '1')::numeric";
    let cases: &[(&str, &str, bool)] = &[
        ("SELECT 'Infinity'::numeric", "{ value: Infinity }", true),
        ("SELECT 'Infinity'::numeric", "{ value: 0 }", false),
        (
            "SELECT 'Infinity'::numeric",
            "{ value: { type: number } }",
            false,
        ),
        ("SELECT 'Infinity'::numeric", "{ value: { le: 0 } }", false),
        ("SELECT 'Infinity'::numeric", "{ value: null }", false),
        ("SELECT '-Infinity'::numeric", "{ value: -Infinity }", true),
        (
            "SELECT '-Infinity'::numeric",
            "{ value: { le: 0, ge: 0, type: integer } }",
            false,
        ),
        ("SELECT '-Infinity'::numeric", "{ value: { lt: 0 } }", false),
        ("SELECT 'NaN'::numeric", "{ value: NaN }", true),
        ("SELECT 'NaN'::numeric", "{ value: 0 }", false),
        ("SELECT 'NaN'::numeric", "{ value: null }", false),
        ("SELECT 'Infinity'::float8", "{ value: Infinity }", true),
        ("SELECT 'Infinity'::float8", "{ value: null }", false),
        ("SELECT '-Infinity'::float4", "{ value: -Infinity }", true),
        ("SELECT '-Infinity'::float4", "{ value: { lt: 0 } }", false),
        ("SELECT 'NaN'::float8", "{ value: NaN }", true),
        ("SELECT 'NaN'::float8", "{ value: null }", false),
        ("SELECT 0.1::float4", "{ value: 0.1 }", true),
        (
            "SELECT 0.1::float4",
            "{ value: 0.10000000149011612 }",
            false,
        ),
        ("SELECT '1e-400'::numeric", "{ value: 1e-400 }", true),
        ("SELECT '1e-400'::numeric", "{ value: 0 }", false),
        ("SELECT '1e-400'::numeric", "{ value: 1e-399 }", false),
        (tiny, "{ value: 1e-1000 }", true),
        (tiny, "{ value: 0 }", false),
        ("SELECT 12345.670::numeric", "{ value: 12345.67 }", true),
        ("SELECT 12345.670::numeric", "{ value: 12345.671 }", false),
        (deep, "{ value: { matches: '^\\[{200}1\\]{200}$' } }", true),
        (deep, "{ value: null }", false),
        ("SELECT '[[1]]'::jsonb", "{ value: [[1]] }", true),
        ("SELECT 'A'::bytea", "{ value: { bytes: \"41\" } }", true),
        ("SELECT 'A'::bytea", "{ value: A }", false),
        ("SELECT 'A'::bytea", "{ value: '\\x41' }", false),
        ("SELECT 1.5::money", "{ value: $1.50 }", true),
        ("SELECT 1.5::money", "{ value: 1.5 }", false),
        (
            "SELECT '1 day 02:03:04'::interval",
            "{ value: 1 day 02:03:04 }",
            true,
        ),
        (
            "SELECT '1 day 02:03:04'::interval",
            "{ value: null }",
            false,
        ),
        (
            "SELECT ARRAY[1.50, 'Infinity', 'NaN', NULL]::numeric[]",
            "{ value: [1.5, Infinity, NaN, null] }",
            true,
        ),
        (
            "SELECT ARRAY[1.50, 'Infinity', 'NaN', NULL]::numeric[]",
            "{ value: [1.5, 0, null, null] }",
            false,
        ),
        (
            "SELECT ARRAY[[1, 2], [3, 4]]",
            "{ value: [[1, 2], [3, 4]] }",
            true,
        ),
        (
            "SELECT ARRAY['1 day'::interval]",
            "{ value: '{\"1 day\"}' }",
            true,
        ),
        ("SELECT 'infinity'::timestamp", "{ value: infinity }", true),
        ("SELECT 'infinity'::timestamp", "{ value: null }", false),
        ("SELECT '1960-02-29'::date", "{ value: '1960-02-29' }", true),
        (
            "SELECT '1969-12-31 23:59:59.5'::timestamp",
            "{ value: '1969-12-31 23:59:59.500000' }",
            true,
        ),
        (
            "SELECT '10000-01-01'::timestamp",
            "{ value: '10000-01-01 00:00:00' }",
            true,
        ),
        ("SELECT ROW(1, 'a')", "{ value: { f1: 1, f2: a } }", true),
        ("SELECT ROW(1, 'a')", "{ value: [1, a] }", false),
        // A record cannot go back to the server to be printed: a field gaterun cannot decode
        // fails the step (its message says to cast it), never a guess.
        ("SELECT ROW(1, 'pg_class'::regclass)", "{ count: 1 }", false),
        (
            "SELECT ROW(1, 'pg_class'::regclass)::text",
            "{ value: '(1,pg_class)' }",
            true,
        ),
        (
            "SELECT '[1,5)'::int4range, '10.0.0.1/8'::inet",
            "{ rows: [['[1,5)', 10.0.0.1/8]] }",
            true,
        ),
    ];
    let p = Project::new();
    p.stage("s.yaml", &cell_cases_stage("postgres", cases));
    on_cluster(&p, &["stage", "0", "--jobs", "4"], 1);
    assert_cell_cases(&p, cases);
}

/// User-defined types: an enum is its label, a composite the object of its fields, a domain its
/// base type; a composite holding a type gaterun cannot decode is printed by the server, also
/// inside the gate's open transaction, which stays usable. An anonymous record cannot be sent
/// back to be printed: a field gaterun cannot decode fails the step with what to do.
#[test]
fn postgres_user_types_read_as_values() {
    if postgres_bin().is_none() {
        return;
    }
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Types
gates:
  - id: user-types
    title: user-defined types
    database: postgres
    steps:
      - sql: |
          CREATE TYPE mood AS ENUM ('sad', 'happy');
          CREATE TYPE pair AS (a int, b numeric);
          CREATE TYPE span AS (d interval, n int);
          CREATE DOMAIN price AS numeric(10, 2) CHECK (VALUE >= 0);
          CREATE TABLE t (m mood, p pair, c price, ms mood[]);
          INSERT INTO t VALUES ('happy', ROW(1, 'Infinity'), 3.5, '{sad,happy}');
      - sql: SELECT m, p, c, ms FROM t
        expect: { rows: [[happy, { a: 1, b: Infinity }, 3.5, [sad, happy]]] }
      - sql: SELECT c FROM t
        expect: { value: { type: number, equals: 3.5 } }
      - sql: BEGIN
      - sql: SELECT ROW('1 day', 2)::span
        expect: { value: '("1 day",2)' }
      - sql: SELECT count(*) FROM t
        expect: { value: 1 }
      - sql: COMMIT
  - id: anonymous-record
    title: an anonymous record of an enum
    database: postgres
    steps:
      - sql: CREATE TYPE mood AS ENUM ('sad', 'happy')
      - sql: SELECT ROW('sad'::mood, 1)
        expect: { count: 1 }
"#,
    );
    on_cluster(&p, &["stage", "0"], 1);
    let r = p.results("stage-00");
    let gate = |id: &str| {
        r["gates"]
            .as_array()
            .and_then(|g| g.iter().find(|g| g["id"] == id))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(gate("user-types")["status"], "passed", "{}", gate_logs(&p));
    assert_eq!(gate("anonymous-record")["status"], "failed");
    let message = gate("anonymous-record")["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("cannot be read: cast the record to text"),
        "{message}"
    );
}
