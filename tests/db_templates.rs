//! Databases from a template (`database: { kind, init }`): the init runs once per run per key,
//! each gate gets a copy; a changed migration rebuilds the template; a failed init is an error
//! of every gate using it; nothing is left behind. And the warm PostgreSQL cluster cache.

mod common;

use std::path::Path;
use std::process::Stdio;

use common::pg_server::Server;
use common::{Project, postgres_bin, postgres_processes};

const TABLES: &str = "CREATE TABLE items (id int PRIMARY KEY, title text NOT NULL);\nINSERT INTO items VALUES (1, 'seed');\n";

/// A migration script that counts its runs in `runs.txt` (beside the stage files).
const MIGRATE: &str = r#"set -e
echo run >> "$PROJECT_ROOT/runs.txt"
echo "migrating $PGDATABASE"
for f in migrations/*.sql; do psql -v ON_ERROR_STOP=1 -q -f "$f"; done
"#;

/// Run gaterun on the throw-away cluster; its output, its marker (the run's pid, which names
/// its cluster) and its exit code.
fn on_cluster(p: &Project, args: &[&str], cache: &Path) -> (String, String, Option<i32>) {
    let child = p
        .cmd(args)
        .env_remove("GATERUN_POSTGRES_URL")
        .env("GATERUN_CACHE_DIR", cache)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let marker = format!("gaterun-{}", child.id());
    let out = child.wait_with_output().expect("wait");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (text, marker, out.status.code())
}

/// Nothing of the run is left: no postgres process, no cluster directory.
fn nothing_left(marker: &str) {
    assert_eq!(postgres_processes(marker), Vec::<String>::new());
    assert!(!Path::new(&format!("/dev/shm/{marker}-postgres")).exists());
}

/// Every gate of stage 0 passed but `near-miss`, which failed with `message` at its end.
fn only_the_near_miss_failed(p: &Project, message: &str) {
    let r = p.results("stage-00");
    for g in r["gates"].as_array().expect("gates") {
        let near = g["id"] == "near-miss";
        assert_eq!(g["status"], if near { "failed" } else { "passed" }, "{g}");
        if near {
            let m = g["message"].as_str().unwrap_or_default();
            assert!(m.ends_with(message), "{g}");
        }
    }
}

/// Run `gaterun stage 0` in each project at once, each set up by `env`; all must pass. The
/// runs' markers (their pids, which name their clusters).
fn at_once(projects: &[Project], env: impl Fn(&mut std::process::Command)) -> Vec<String> {
    let children: Vec<_> = projects
        .iter()
        .map(|p| {
            let mut c = p.cmd(&["stage", "0"]);
            env(&mut c);
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run")
        })
        .collect();
    let markers = children
        .iter()
        .map(|c| format!("gaterun-{}", c.id()))
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    markers
}

fn gate(id: &str, database: &str, steps: &str) -> String {
    format!("  - id: {id}\n    title: {id}\n    database: {database}\n    steps:\n{steps}")
}

#[test]
fn every_gate_sees_the_template_and_none_sees_another_s_rows() {
    if postgres_bin().is_none() {
        return;
    }
    let p = Project::new();
    let cache = tempfile::tempdir().expect("cache");
    p.file("migrations/001.sql", TABLES)
        .file("migrate.sh", MIGRATE);
    let db = "{ kind: postgres, init: { run: sh migrate.sh, inputs: [migrations] } }";
    let mut yaml = String::from("stage: 0\nname: Templates\ngates:\n");
    for i in 2..6 {
        yaml.push_str(&gate(
            &format!("g{i}"),
            db,
            &format!(
                "      - sql: SELECT title FROM items\n        expect: {{ rows: [[seed]] }}\n      - sql: INSERT INTO items VALUES ({i}, 'g{i}')\n      - sql: SELECT count(*) FROM items\n        expect: {{ value: 2 }}\n"
            ),
        ));
    }
    // The near miss: a gate that expects another gate's row too fails.
    yaml.push_str(&gate(
        "near-miss",
        db,
        "      - sql: INSERT INTO items VALUES (9, 'x')\n      - sql: SELECT count(*) FROM items\n        expect: { value: 3 }\n",
    ));
    // A gate cannot connect to the template itself.
    yaml.push_str(&gate(
        "sealed",
        db,
        "      - sql: SELECT datname FROM pg_database WHERE datname LIKE 'gaterun_tpl_%'\n        capture: { TPL: datname }\n      - run: psql -d \"$TPL\" -c 'SELECT 1'\n        expect: { exit: 2, stderr: /not currently accepting connections/ }\n",
    ));
    p.stage("s.yaml", &yaml);
    let (out, marker, code) = on_cluster(&p, &["stage", "0", "--jobs", "4"], cache.path());
    assert_eq!(code, Some(1), "{out}");
    only_the_near_miss_failed(&p, "expected value 3, got 2");
    // The init ran once for the six gates.
    let runs = std::fs::read_to_string(p.path().join("runs.txt")).expect("runs");
    assert_eq!(runs.lines().count(), 1, "{runs}");
    let log = p.read("phase-1/stage-00/logs/g2.log");
    assert!(
        log.contains("── setup: fresh PostgreSQL database from a template"),
        "{log}"
    );
    assert!(log.contains("migrating gaterun_tpl_"), "{log}");
    nothing_left(&marker);
}

#[test]
fn a_changed_migration_rebuilds_the_template() {
    if postgres_bin().is_none() {
        return;
    }
    let p = Project::new();
    let cache = tempfile::tempdir().expect("cache");
    p.file("migrations/001.sql", TABLES);
    let stage = |column: &str| {
        format!(
            "stage: 0\nname: Rebuild\ngates:\n{}",
            gate(
                "g",
                "{ kind: postgres, init: { sql: [migrations/001.sql] } }",
                &format!(
                    "      - sql: SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = '{column}'\n        expect: {{ value: 1 }}\n"
                ),
            )
        )
    };
    p.stage("s.yaml", &stage("title"));
    let (out, marker, code) = on_cluster(&p, &["stage", "0"], cache.path());
    assert_eq!(code, Some(0), "{out}");
    nothing_left(&marker);
    // The migration gains a column: the next run sees it; the near miss, a column no
    // migration made, fails.
    p.file(
        "migrations/001.sql",
        &TABLES.replace("title text NOT NULL", "title text NOT NULL, done boolean"),
    );
    p.stage("s.yaml", &stage("done"));
    let (out, _, code) = on_cluster(&p, &["stage", "0"], cache.path());
    assert_eq!(code, Some(0), "{out}");
    p.stage("s.yaml", &stage("due"));
    let (out, _, code) = on_cluster(&p, &["stage", "0"], cache.path());
    assert_eq!(code, Some(1), "{out}");
}

/// On GATERUN_POSTGRES_URL a template is kept by its key: the next run reuses it (its init
/// does not run again); a changed migration makes a new one, and the old one is not used.
#[test]
fn on_gaterun_postgres_url_a_template_is_reused_until_its_migration_changes() {
    let Some(bin) = postgres_bin() else { return };
    if rustix::process::geteuid().is_root() && !Path::new("/usr/bin/setpriv").exists() {
        eprintln!("skipping: setpriv is needed to run the test's server as root");
        return;
    }
    let server = Server::start(&bin);
    let p = Project::new();
    p.file("migrations/001.sql", TABLES)
        .file("migrate.sh", MIGRATE);
    let stage = |column: &str| {
        let mut yaml = String::from("stage: 0\nname: Reuse\ngates:\n");
        for id in ["a", "b"] {
            yaml.push_str(&gate(
                id,
                "{ kind: postgres, init: { run: sh migrate.sh, inputs: [migrations/] } }",
                &format!("      - sql: SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = '{column}'\n        expect: {{ value: 1 }}\n      - sql: SELECT count(*) FROM items\n        expect: {{ value: 1 }}\n"),
            ));
        }
        yaml
    };
    let run = |code: i32| {
        let out = p
            .cmd(&["stage", "0"])
            .env("GATERUN_POSTGRES_URL", server.url())
            .output()
            .expect("run");
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let runs = || {
        std::fs::read_to_string(p.path().join("runs.txt"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    let psql = |sql: &str| server.psql(sql);
    let templates = || {
        psql(
            "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'gaterun_tpl_%'",
        )
    };
    let gate_dbs = || {
        psql(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'gaterun_%' AND datname NOT LIKE 'gaterun_tpl_%'",
        )
    };
    p.stage("s.yaml", &stage("title"));
    run(0);
    assert_eq!(runs(), 1);
    let first = templates();
    assert!(
        first.starts_with("gaterun_tpl_") && !first.contains(','),
        "{first}"
    );
    run(0);
    assert_eq!(runs(), 1, "the complete template of the same key is reused");
    let log = p.read("phase-1/stage-00/logs/a.log");
    assert!(log.contains("reused"), "{log}");
    // The other gate's database, made while this one ran, is gaterun's: not taken for one
    // this gate created (it was, before gate tokens had their run id).
    assert!(!log.contains("── teardown: "), "{log}");
    // A changed migration: built again, under a new name; the old one is not what gates see.
    p.file(
        "migrations/002.sql",
        "ALTER TABLE items ADD COLUMN done boolean;\n",
    );
    p.stage("s.yaml", &stage("done"));
    run(0);
    assert_eq!(runs(), 2);
    let now = templates();
    assert_eq!(now.split(',').count(), 2, "{now}");
    assert!(now.contains(&first), "{now}");
    // No gate database is left; the templates are marked complete and sealed.
    assert_eq!(gate_dbs(), "0");
    assert_eq!(
        psql(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'gaterun_tpl_%' AND datistemplate AND NOT datallowconn AND shobj_description(oid, 'pg_database') LIKE 'gaterun template %'"
        ),
        "2"
    );
}

/// Two runs at once on one server, the same template: the advisory lock lets one build it; the
/// other waits and reuses it. Both pass; the init ran once in all.
#[test]
fn concurrent_runs_on_gaterun_postgres_url_build_a_template_once() {
    let Some(bin) = postgres_bin() else { return };
    if rustix::process::geteuid().is_root() && !Path::new("/usr/bin/setpriv").exists() {
        eprintln!("skipping: setpriv is needed to run the test's server as root");
        return;
    }
    let server = Server::start(&bin);
    let projects: Vec<Project> = (0..2).map(|_| Project::new()).collect();
    for p in &projects {
        p.file("migrations/001.sql", TABLES)
            .file("migrate.sh", &format!("sleep 1\n{MIGRATE}"))
            .stage(
                "s.yaml",
                &format!(
                    "stage: 0\nname: Once\ngates:\n{}",
                    gate(
                        "g",
                        "{ kind: postgres, init: sh migrate.sh }",
                        "      - sql: SELECT count(*) FROM items\n        expect: { value: 1 }\n"
                    )
                ),
            );
    }
    let url = server.url();
    at_once(&projects, |c| {
        c.env("GATERUN_POSTGRES_URL", &url);
    });
    let runs: usize = projects
        .iter()
        .map(|p| {
            std::fs::read_to_string(p.path().join("runs.txt"))
                .unwrap_or_default()
                .lines()
                .count()
        })
        .sum();
    assert_eq!(runs, 1, "the init ran once for both runs");
    assert_eq!(
        server.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'gaterun_%'"),
        "1",
        "the template alone is left"
    );
}

#[test]
fn a_failed_init_is_an_error_of_every_gate_using_it() {
    if postgres_bin().is_none() {
        return;
    }
    let p = Project::new();
    let cache = tempfile::tempdir().expect("cache");
    let marker = common::marker();
    // The init leaves a process behind and fails.
    p.file(
        "broken.sh",
        &format!(
            "sleep {marker} &\necho 'applying 001'\necho 'ERROR: relation \"users\" does not exist' >&2\nexit 3\n"
        ),
    );
    let db = "{ kind: postgres, init: sh broken.sh }";
    let yaml = format!(
        "stage: 0\nname: Broken\ngates:\n{}{}{}",
        gate("a", db, "      - sql: SELECT 1\n"),
        gate("b", db, "      - sql: SELECT 1\n"),
        gate("plain", "postgres", "      - sql: SELECT 1\n"),
    );
    p.stage("s.yaml", &yaml);
    let (out, run_marker, code) = on_cluster(&p, &["stage", "0"], cache.path());
    assert_eq!(code, Some(1), "{out}");
    let r = p.results("stage-00");
    let want = "database init `sh broken.sh` exited 3: ERROR: relation \"users\" does not exist";
    for g in &r["gates"].as_array().expect("gates")[..2] {
        assert_eq!(g["status"], "error", "{g}");
        assert_eq!(g["message"], want, "{g}");
    }
    assert_eq!(r["gates"][2]["status"], "passed");
    let log = p.read("phase-1/stage-00/logs/b.log");
    assert!(log.contains("applying 001"), "{log}");
    assert!(
        common::processes_with(&marker).is_empty(),
        "the init's process outlived it"
    );
    nothing_left(&run_marker);
}

/// An init that outlives the gate's timeout is killed with everything it started, and the
/// gate says so; an interrupted run kills the init too.
#[test]
fn an_init_past_its_deadline_or_interrupted_leaves_no_process() {
    let p = Project::new();
    let marker = common::marker();
    p.file("slow.sh", &format!("touch \"$PROJECT_ROOT/started\"\nsleep {marker} &\nsleep {marker}\n"))
        .stage(
            "s.yaml",
            "stage: 0\nname: Slow\ngates:\n  - id: g\n    title: g\n    timeout: 1s\n    database: { kind: sqlite, init: sh slow.sh }\n    sql: SELECT 1\n",
        );
    p.run(&["stage", "0"]).code(1);
    let g = &p.results("stage-00")["gates"][0];
    assert_eq!(g["status"], "error", "{g}");
    assert_eq!(
        g["message"],
        "database init timed out after 1s (the timeout of the gate that started it)"
    );
    assert!(
        common::processes_with(&marker).is_empty(),
        "the init outlived its deadline"
    );
    // Interrupted while the init runs.
    std::fs::remove_file(p.path().join("started")).expect("rm");
    p.stage(
        "s.yaml",
        "stage: 0\nname: Slow\ngates:\n  - id: g\n    title: g\n    database: { kind: sqlite, init: sh slow.sh }\n    sql: SELECT 1\n",
    );
    let status = p.signal_after(&["stage", "0"], "started", rustix::process::Signal::INT);
    assert!(!status.success());
    assert!(
        common::processes_with(&marker).is_empty(),
        "the init outlived the run"
    );
}

#[test]
fn a_missing_migration_file_is_said_by_name() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        &format!(
            "stage: 0\nname: Missing\ngates:\n{}",
            gate(
                "g",
                "{ kind: sqlite, init: { sql: [migrations/404.sql] } }",
                "      - sql: SELECT 1\n"
            )
        ),
    );
    p.run(&["stage", "0"]).code(1);
    let msg = p.results("stage-00")["gates"][0]["message"].clone();
    assert!(
        msg.as_str().is_some_and(
            |m| m == "database init: sql file `migrations/404.sql` not found (workdir `.`)"
        ),
        "{msg}"
    );
}

#[test]
fn sqlite_databases_are_copies_of_the_template() {
    let p = Project::new();
    p.file(
        "migrations/001.sql",
        "CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT NOT NULL);\n",
    )
    .file(
        "migrations/002.sql",
        "INSERT INTO items VALUES (1, 'seed');\n",
    );
    let db = "{ kind: sqlite, init: { sql: [migrations/001.sql, migrations/002.sql] } }";
    let mut yaml = String::from("stage: 0\nname: SQLite\ngates:\n");
    for i in 2..5 {
        yaml.push_str(&gate(
            &format!("g{i}"),
            db,
            &format!("      - sql: INSERT INTO items VALUES ({i}, 'g{i}')\n      - sql: SELECT id FROM items ORDER BY id\n        expect: {{ rows: [[1], [{i}]] }}\n      - run: test -f \"$DATABASE_PATH\" && case \"$DATABASE_PATH\" in \"$GATE_TMP\"/*) ;; *) exit 1;; esac\n"),
        ));
    }
    yaml.push_str(&gate(
        "near-miss",
        db,
        "      - sql: SELECT count(*) FROM items\n        expect: { value: 2 }\n",
    ));
    p.stage("s.yaml", &yaml);
    p.run(&["stage", "0", "--jobs", "4"]).code(1);
    only_the_near_miss_failed(&p, "expected value 2, got 1");
}

/// Every place `database:` is accepted takes the map form: a stage's database, `databases:`
/// entries (each its own template), a matrix kind.
#[test]
fn the_map_form_in_a_stage_in_databases_and_under_a_matrix() {
    let p = Project::new();
    p.file("a.sql", "CREATE TABLE only_a (v INTEGER);\n")
        .file("b.sql", "CREATE TABLE only_b (v INTEGER);\n")
        .stage(
            "s.yaml",
            r#"stage: 0
name: Forms
database: { kind: sqlite, init: { sql: [a.sql] } }
setup:
  - sql: INSERT INTO only_a VALUES (1)
gates:
  - id: stage-db
    title: the stage's database, from its template
    sql: SELECT count(*) FROM only_a
    expect: { value: 1 }
  - id: named
    title: two named databases, two templates
    databases:
      first: { kind: sqlite, init: { sql: [a.sql] } }
      second: { kind: sqlite, init: { sql: [b.sql] } }
    steps:
      - sql: SELECT count(*) FROM only_a
        db: first
        expect: { value: 0 }
      - sql: SELECT count(*) FROM sqlite_master WHERE name = 'only_b'
        db: first
        expect: { value: 0 }
      - sql: SELECT count(*) FROM only_b
        db: second
        expect: { value: 0 }
  - id: m
    title: a matrix kind
    matrix: { DB: [sqlite] }
    database: { kind: "${DB}", init: { sql: [b.sql] } }
    sql: SELECT count(*) FROM only_b
    expect: { value: 0 }
"#,
        );
    let r = p.run(&["stage", "0"]);
    r.code(0);
}

#[test]
fn check_refuses_a_bad_init_with_its_location() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Bad\ngates:\n  - id: g\n    title: g\n    database: { kind: postgres, init: { sql: [../outside.sql] } }\n    sql: SELECT 1\n  - id: h\n    title: h\n    database: { kind: postgres, init: { run: ./migrate, sql: [a.sql] } }\n    sql: SELECT 1\n  - id: i\n    title: i\n    databases: { main: { kind: mongo, init: ./migrate } }\n    sql: SELECT 1\n  - id: k\n    title: k\n    database: { kind: sqlite, init: { inputs: [m/] } }\n    sql: SELECT 1\n",
    );
    let r = p.run(&["check"]);
    r.code(2);
    let text = format!("{}{}", r.stdout, r.stderr);
    for want in [
        "s.yaml:6:47: error: `sql` path `../outside.sql` must stay below the gate's workdir",
        "s.yaml:10:",
        "`init` has both `run` and `sql`",
        "s.yaml:14:",
        "unknown database `mongo`",
        "s.yaml:18:",
        "`init` needs `run` (a command) or `sql`",
    ] {
        assert!(text.contains(want), "{want}\n{text}");
    }
    // A key init does not take: located, with the key named.
    p.stage(
        "s.yaml",
        "stage: 0\nname: Bad\ngates:\n  - id: j\n    title: j\n    database: { kind: sqlite, init: { script: ./migrate } }\n    sql: SELECT 1\n",
    );
    let r = p.run(&["check"]);
    r.code(2);
    let text = format!("{}{}", r.stdout, r.stderr);
    assert!(
        text.contains("s.yaml:6:39: error: unknown key 'script'"),
        "{text}"
    );
    // MySQL has no templates: an init there is refused, not silently run once per gate.
    p.stage(
        "s.yaml",
        "stage: 0\nname: Bad\ngates:\n  - id: m\n    title: m\n    database: { kind: mysql, init: ./migrate }\n    sql: SELECT 1\n",
    );
    let r = p.run(&["check"]);
    r.code(2);
    let text = format!("{}{}", r.stdout, r.stderr);
    assert!(
        text.contains(
            "s.yaml:6:23: error: `init` (a database from a template) is for `sqlite` and `postgres`"
        ),
        "{text}"
    );
}
/// Two runs at once with an empty cache: both pass, and the cache holds one complete entry.
#[test]
fn two_concurrent_runs_share_the_warm_cluster_cache() {
    if postgres_bin().is_none() {
        return;
    }
    let cache = tempfile::tempdir().expect("cache");
    let projects: Vec<Project> = (0..2).map(|_| Project::new()).collect();
    for p in &projects {
        p.stage(
            "s.yaml",
            "stage: 0\nname: Warm\ngates:\n  - id: g\n    title: g\n    database: postgres\n    sql: SELECT count(*) FROM pg_database WHERE datname = current_database()\n    expect: { value: 1 }\n",
        );
    }
    let markers = at_once(&projects, |c| {
        c.env_remove("GATERUN_POSTGRES_URL")
            .env("GATERUN_CACHE_DIR", cache.path());
    });
    for m in &markers {
        nothing_left(m);
    }
    let entries = cache_entries(cache.path());
    assert_eq!(entries.len(), 1, "{entries:?}");
    let size = std::fs::metadata(&entries[0]).expect("entry").len();
    assert!(size > 1 << 20, "a whole data directory: {size} bytes");
    // Nothing else: no temporary entry of either run.
    let all: Vec<_> = std::fs::read_dir(cache.path().join("postgres"))
        .expect("cache")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(all.len(), 1, "{all:?}");
    // A third run starts from the cache, and leaves it as it was.
    let p = &projects[0];
    let (out, _, code) = on_cluster(p, &["stage", "0"], cache.path());
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(cache_entries(cache.path()), entries);
    assert_eq!(std::fs::metadata(&entries[0]).expect("entry").len(), size);
}

/// A corrupt cache entry is not used: the run passes and the entry is made again.
#[test]
fn a_corrupt_cache_entry_is_rebuilt() {
    if postgres_bin().is_none() {
        return;
    }
    let cache = tempfile::tempdir().expect("cache");
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Warm\ngates:\n  - id: g\n    title: g\n    database: postgres\n    sql: SELECT 1\n",
    );
    let (out, _, code) = on_cluster(&p, &["stage", "0"], cache.path());
    assert_eq!(code, Some(0), "{out}");
    let entries = cache_entries(cache.path());
    assert_eq!(entries.len(), 1, "{entries:?}");
    let whole = std::fs::read(&entries[0]).expect("entry");
    // Cut short, as by a full disk.
    std::fs::write(&entries[0], &whole[..whole.len() / 2]).expect("w");
    let (out, marker, code) = on_cluster(&p, &["stage", "0"], cache.path());
    assert_eq!(code, Some(0), "{out}");
    nothing_left(&marker);
    assert_eq!(cache_entries(cache.path()), entries);
    assert_eq!(
        std::fs::read(&entries[0]).expect("entry").len(),
        whole.len(),
        "made again"
    );
    // Whole but unreadable to the server (its control file zeroed): the cluster does not start
    // from it, so the run falls back to initdb and writes the entry again.
    let name = b"global/pg_control";
    let at = whole
        .windows(name.len())
        .position(|w| w == name)
        .expect("the control file")
        + name.len()
        + 8;
    let mut zeroed = whole.clone();
    zeroed[at..at + 8192].fill(0);
    std::fs::write(&entries[0], &zeroed).expect("w");
    let (out, marker, code) = on_cluster(&p, &["stage", "0"], cache.path());
    assert_eq!(code, Some(0), "{out}");
    nothing_left(&marker);
    let again = std::fs::read(&entries[0]).expect("entry");
    assert!(
        again[at..at + 8192].iter().any(|&b| b != 0),
        "the entry was made again"
    );
}

/// The cluster cache's entries (not its temporary files).
fn cache_entries(cache: &Path) -> Vec<std::path::PathBuf> {
    let dir = cache.join("postgres");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
        })
        .collect();
    out.sort();
    out
}
