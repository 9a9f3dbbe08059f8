//! `database: mysql`: a throw-away MariaDB server per run (or GATERUN_MYSQL_URL), a fresh
//! database and user per gate, `sql` steps with typed cells, nothing left behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Project, outcomes, processes_with, wait_for_file};

/// Whether the MariaDB (or MySQL) server binaries are here; a printed reason when not, a
/// failure under CI (where `.ci/run` installs mariadb-server).
fn server_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/bin"].map(PathBuf::from));
    let found = ["mariadbd", "mysqld"]
        .iter()
        .find_map(|n| dirs.iter().map(|d| d.join(n)).find(|p| p.is_file()));
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "MariaDB server binaries are required under CI (apt-get install mariadb-server)"
        );
        eprintln!("skipping: MariaDB server binaries not found; apt-get install mariadb-server");
    }
    found
}

/// A project with one stage file, if the server binaries are here.
fn mysql_project(yaml: &str) -> Option<Project> {
    server_bin()?;
    let p = Project::new();
    p.stage("s.yaml", yaml);
    Some(p)
}

/// MariaDB servers whose command line mentions `needle` (a run's directory).
fn servers(needle: &str) -> Vec<String> {
    processes_with(needle)
        .into_iter()
        .filter(|p| p.contains("mariadbd") || p.contains("mysqld"))
        .collect()
}

/// `gaterun stage 0` started on the throw-away server (GATERUN_MYSQL_URL unset), its output to
/// `out`; the marker its server's command line carries (`gaterun-<pid>`).
fn spawn(p: &Project, out: fn() -> Stdio) -> (Child, String) {
    let child = p
        .cmd(&["stage", "0"])
        .env_remove("GATERUN_MYSQL_URL")
        .stdout(out())
        .stderr(out())
        .spawn()
        .expect("run");
    let marker = format!("gaterun-{}", child.id());
    (child, marker)
}

/// `gaterun stage 0` on the throw-away server; the exit code checked with
/// the stage's results and logs in the message. Returns the run's pid (its servers' marker).
fn on_server(p: &Project, want: i32) -> String {
    let (child, marker) = spawn(p, Stdio::piped);
    let out = child.wait_with_output().expect("wait");
    let logs: Vec<String> = std::fs::read_dir(p.evidence("phase-1/stage-00/logs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert_eq!(
        out.status.code(),
        Some(want),
        "{}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        logs.join("\n")
    );
    marker
}

#[test]
fn every_gate_gets_a_fresh_database_of_its_own_and_nothing_is_left() {
    let Some(p) = mysql_project(
        r#"
stage: 0
name: Fresh
gates:
  - id: a
    title: creates a table
    database: mysql
    steps:
      - sql: CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(20))
      - sql: INSERT INTO notes VALUES (1, 'one')
      - sql: SELECT count(*) FROM notes
        expect: { value: 1 }
      - name: the variables reach a command
        run: |
          test "$DATABASE_URL" = "mysql://$MYSQL_USER:$MYSQL_PWD@$MYSQL_HOST:$MYSQL_TCP_PORT/$MYSQL_DATABASE" || exit 1
          if command -v mariadb >/dev/null; then
            mariadb -u "$MYSQL_USER" -N -B "$MYSQL_DATABASE" -e 'SELECT body FROM notes'
          else
            echo one
          fi
        expect: { stdout: "/^one$/" }
  - id: b
    title: sees no table of another gate
    database: mysql
    steps:
      - sql: SELECT count(*) FROM information_schema.tables WHERE table_name = 'notes'
        expect: { value: 0 }
      - name: only its own database is visible
        sql: SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'gaterun%'
        expect: { value: 1 }
      - name: a gate cannot create (or drop) another database
        sql: CREATE DATABASE intruder
        expect: { error: "/denied/" }
"#,
    ) else {
        return;
    };
    let marker = on_server(&p, 0);
    assert_eq!(servers(&marker), Vec::<String>::new(), "the server stopped");
    let log = p.read("phase-1/stage-00/logs/a.log");
    assert!(log.contains("── mysql://gaterun_"), "{log}");
    let run = marker.trim_start_matches("gaterun-");
    let leftovers: Vec<_> = std::fs::read_dir("/dev/shm")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&format!("gaterun-{run}r")) && name.ends_with("-mysql")
        })
        .collect();
    assert!(leftovers.is_empty(), "the server's directory went");
}

#[test]
fn a_constraint_violation_is_caught_by_error_and_a_success_fails_it() {
    let Some(p) = mysql_project(
        r#"
stage: 0
name: Constraints
gates:
  - id: caught
    title: each violation is the expected error
    database: mysql
    steps:
      - sql: |
          CREATE TABLE owners (id INT PRIMARY KEY, email VARCHAR(40) NOT NULL UNIQUE) ENGINE=InnoDB;
          CREATE TABLE pets (id INT PRIMARY KEY, owner INT NOT NULL,
            FOREIGN KEY (owner) REFERENCES owners (id)) ENGINE=InnoDB;
          INSERT INTO owners VALUES (1, 'a@example.com');
      - sql: INSERT INTO owners VALUES (2, 'a@example.com')
        expect: { error: ["Duplicate entry", "1062"] }
      - sql: INSERT INTO pets VALUES (1, 42)
        expect: { error: "/foreign key constraint fails/" }
      - sql: INSERT INTO owners (id) VALUES (3)
        expect: { error: "/doesn't have a default value|cannot be null/" }
      - name: a batch fails with its later statement's error
        sql: INSERT INTO owners VALUES (5, 'c@example.com'); INSERT INTO owners VALUES (6, 'c@example.com')
        expect: { error: "Duplicate entry 'c@example.com'" }
      - sql: SELECT id FROM owners WHERE email = 'c@example.com'
        expect: { rows: [[5]] }
  - id: succeeded
    title: a statement that succeeds fails `error`
    database: mysql
    steps:
      - sql: CREATE TABLE owners (id INT PRIMARY KEY, email VARCHAR(40) NOT NULL UNIQUE)
      - sql: INSERT INTO owners VALUES (1, 'b@example.com')
        expect: { error: "Duplicate entry" }
  - id: other-error
    title: a different error fails `error`
    database: mysql
    steps:
      - sql: INSERT INTO missing VALUES (1)
        expect: { error: "Duplicate entry" }
  - id: batch-rows
    title: a step that checks rows runs one statement
    database: mysql
    steps:
      - sql: SELECT 1; SELECT 2
        expect: { value: 1 }
"#,
    ) else {
        return;
    };
    on_server(&p, 1);
    let got = outcomes(&p);
    assert_eq!(got[0].1, "passed", "{got:?}");
    assert_eq!(got[1].1, "failed", "{got:?}");
    assert!(
        got[1]
            .2
            .contains("expected the statement to fail, but it succeeded"),
        "{got:?}"
    );
    assert_eq!(got[2].1, "failed", "{got:?}");
    assert!(got[2].2.contains("doesn't exist"), "{got:?}");
    assert_eq!(got[3].1, "failed", "{got:?}");
    assert!(got[3].2.contains("runs one statement"), "{got:?}");
}

#[test]
fn cells_are_typed_and_a_near_miss_fails() {
    if server_bin().is_none() {
        return;
    }
    let table = r#"
      - sql: |
          CREATE TABLE t (i INT, big BIGINT UNSIGNED, d DECIMAL(10,2), s VARCHAR(10), n INT,
            b BLOB, dt DATETIME, flag BIT(4), f DOUBLE, yes BOOLEAN);
          INSERT INTO t VALUES (1, 18446744073709551615, 1.10, '1', NULL, 'A',
            '2024-05-01 12:00:00', b'0101', 0.1, TRUE);"#;
    let exact = r#"
      - sql: SELECT i, big, d, s, n, b, dt, flag, f, yes FROM t
        expect:
          rows: [[1, 18446744073709551615, 1.10, "1", null, { bytes: "41" }, "2024-05-01 12:00:00", 5, 0.1, true]]
      - sql: SELECT d, s FROM t
        capture: { PRICE: d, S: s }
      - run: echo "$PRICE $S"
        expect: { stdout: "/^1\\.10 1$/" }"#;
    // Each near miss: a column and a value that is almost, but not, what it holds.
    let misses = [
        ("i", r#""1""#),
        ("big", "18446744073709551614"),
        ("d", r#""1.10""#),
        ("d", "1.11"),
        ("d", "1.1000000000000000001"),
        ("s", "1"),
        ("n", r#""""#),
        ("n", "0"),
        ("b", r#""A""#),
        ("b", r#"{ bytes: "42" }"#),
        ("dt", r#""2024-05-01T12:00:00""#),
        ("flag", r#""5""#),
        ("f", "0.1000001"),
        ("yes", "false"),
    ];
    let mut yaml = format!(
        "stage: 0\nname: Types\ngates:\n  - id: exact\n    title: t\n    database: mysql\n    steps:{table}{exact}\n"
    );
    for (k, (column, value)) in misses.iter().enumerate() {
        yaml.push_str(&format!(
            "  - id: miss-{k}\n    title: {column}\n    database: mysql\n    steps:{table}\n      - sql: SELECT {column} FROM t\n        expect: {{ value: {value} }}\n"
        ));
    }
    let p = Project::new();
    p.stage("s.yaml", &yaml);
    on_server(&p, 1);
    let got = outcomes(&p);
    assert_eq!(got[0].1, "passed", "{got:?}");
    for (k, (column, value)) in misses.iter().enumerate() {
        let (id, status, message) = &got[k + 1];
        assert_eq!(status, "failed", "{column} = {value}: {id} {message}");
        assert!(message.contains("expected value"), "{message}");
    }
}

#[test]
fn named_stage_and_matrix_databases_may_be_mysql() {
    let Some(p) = mysql_project(
        r#"
stage: 0
name: Kinds
database: mysql
setup:
  - sql: CREATE TABLE shared (id INT)
  - sql: INSERT INTO shared VALUES (7)
gates:
  - id: stage-db
    title: a gate without its own database uses the stage's
    steps:
      - sql: SELECT id FROM shared
        expect: { value: 7 }
      - run: 'case "$DATABASE_URL" in mysql://*) echo ok;; esac'
        expect: { stdout: ok }
  - id: named
    title: named databases of two kinds
    databases: { main: mysql, audit: sqlite }
    steps:
      - sql: CREATE TABLE orders (id INT)
        db: main
      - sql: SELECT count(*) FROM orders
        db: main
        expect: { value: 0 }
      - run: 'test -n "$MAIN_MYSQL_PWD" && case "$MAIN_DATABASE_URL" in mysql://*/gaterun_*_main) echo ok;; esac'
        expect: { stdout: ok }
  - id: m
    title: a matrix over kinds
    matrix: { DB: [sqlite, mysql] }
    database: ${DB}
    steps:
      - sql: CREATE TABLE x (id INT)
      - sql: SELECT count(*) FROM x
        expect: { value: 0 }
"#,
    ) else {
        return;
    };
    on_server(&p, 0);
    let got = outcomes(&p);
    assert_eq!(got.len(), 4, "{got:?}");
}

#[test]
fn a_killed_run_s_server_is_swept_by_the_next_run() {
    if server_bin().is_none() {
        return;
    }
    let p = Project::new();
    let (mut child, marker) = start_sleeping_gate(&p);
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    assert!(!servers(&marker).is_empty(), "a SIGKILL leaves it behind");
    // The next run, of anything, sweeps it.
    p.stage(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - id: g\n    title: t\n    run: 'true'\n",
    );
    p.run(&["stage", "0"]).code(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !servers(&marker).is_empty() {
        assert!(Instant::now() < deadline, "{:?}", servers(&marker));
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_interrupt_stops_the_server() {
    if server_bin().is_none() {
        return;
    }
    let p = Project::new();
    let (mut child, marker) = start_sleeping_gate(&p);
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    )
    .expect("kill");
    assert_eq!(child.wait().expect("wait").code(), Some(130));
    assert_eq!(servers(&marker), Vec::<String>::new());
}

#[test]
fn a_server_that_cannot_start_is_a_clear_gate_error() {
    let p = Project::new();
    let bin = p.path().join("fake-bin");
    p.file("fake-bin/mariadb-install-db", "#!/bin/sh\nexit 0\n")
        .file(
            "fake-bin/mariadbd",
            "#!/bin/sh\necho '[ERROR] fake: cannot allocate the buffer pool' >&2\nexit 1\n",
        );
    for f in ["mariadb-install-db", "mariadbd"] {
        let path = bin.join(f);
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
    }
    p.stage(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - id: g\n    title: t\n    database: mysql\n    sql: SELECT 1\n",
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = p
        .cmd(&["stage", "0"])
        .env_remove("GATERUN_MYSQL_URL")
        .env("PATH", path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let got = outcomes(&p);
    assert_eq!(got[0].1, "error", "{got:?}");
    assert!(
        got[0].2.contains("exited at start")
            && got[0].2.contains("cannot allocate the buffer pool"),
        "{got:?}"
    );
}

#[test]
fn gaterun_mysql_url_is_used_and_a_dead_one_is_a_gate_error() {
    let Some(server) = server_bin() else {
        return;
    };
    let Some((mut child, port, dir)) = own_server(&server) else {
        return;
    };
    let client = |sql: &str| {
        Command::new("mariadb")
            .args(["--no-defaults", "-uroot", "-h127.0.0.1", "-N", "-B"])
            .arg(format!("-P{port}"))
            .args(["-e", sql])
            .output()
            .ok()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
    };
    // A user that may create databases but not users.
    let limited = client(
        "CREATE USER limited@'%' IDENTIFIED BY 'Lim1ted-Pa55'; GRANT CREATE, DROP, SELECT, INSERT ON *.* TO limited@'%'; SELECT 'made'",
    )
    .is_some_and(|o| o == "made");
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"
stage: 0
name: Url
gates:
  - id: g
    title: on the user's server
    database: mysql
    steps:
      - sql: CREATE TABLE t (id INT)
      - sql: SELECT CURRENT_USER() LIKE '${WANT_USER}' AS own
        expect: { value: 1 }
      - run: 'test "$MYSQL_TCP_PORT" = "$WANT_PORT" && echo "same $MYSQL_PWD"'
        expect: { stdout: same }
"#,
    );
    let run = |url: String, user: &str| {
        p.cmd(&["stage", "0"])
            .env("GATERUN_MYSQL_URL", url)
            .env("WANT_PORT", port.to_string())
            .env("WANT_USER", user)
            .output()
            .expect("run")
    };
    let own = run(format!("mysql://root@127.0.0.1:{port}/"), "gaterun\\_%");
    let left_own = client(
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'gaterun%'; SELECT count(*) FROM mysql.user WHERE user LIKE 'gaterun%'",
    );
    let shared = limited.then(|| {
        let out = run(
            format!("mysql://limited:Lim1ted-Pa55@127.0.0.1:{port}/"),
            "limited@%",
        );
        (out, p.read("phase-1/stage-00/logs/g.log"))
    });
    let left_shared = client(
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'gaterun%'; SELECT count(*) FROM mysql.user WHERE user LIKE 'gaterun%'",
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        own.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&own.stdout)
    );
    if let Some(left) = left_own {
        assert_eq!(left, "0 0", "the gate's database and user were dropped");
    }
    if let Some((out, log)) = shared {
        // The URL's user cannot make users: the gate connects as it, its password masked.
        assert_eq!(out.status.code(), Some(0), "{log}\n{:?}", outcomes(&p));
        assert!(!log.contains("Lim1ted-Pa55"), "{log}");
        assert_eq!(
            left_shared.as_deref(),
            Some("0 0"),
            "the gate's database (and a user it could make, not grant to) were dropped"
        );
    }

    let out = run("mysql://nobody@127.0.0.1:1/".to_owned(), "");
    assert_eq!(out.status.code(), Some(1));
    let got = outcomes(&p);
    assert_eq!(got[0].1, "error", "{got:?}");
    assert!(
        got[0]
            .2
            .starts_with("failed to connect to GATERUN_MYSQL_URL"),
        "{got:?}"
    );
}

/// A MariaDB server of the test's own (a user's server, for GATERUN_MYSQL_URL), with root
/// and no password; `None` if this machine has no installer.
fn own_server(server: &Path) -> Option<(Child, u16, tempfile::TempDir)> {
    let installer = ["/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"]
        .into_iter()
        .find(|p| Path::new(p).is_file())?;
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let root = rustix::process::geteuid().is_root();
    let user: &[&str] = if root { &["--user=root"] } else { &[] };
    let ok = Command::new(installer)
        .args([
            "--no-defaults",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ])
        .arg(format!("--datadir={}", data.display()))
        .args(user)
        .output()
        .expect("install")
        .status
        .success();
    assert!(ok, "mariadb-install-db failed");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let child = Command::new(server)
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--port={port}"))
        .arg(format!("--socket={}", dir.path().join("sock").display()))
        .args([
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--skip-log-bin",
        ])
        .args(user)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the test's server never came up");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((child, port, dir))
}

/// Start a run whose gate holds a database and sleeps; return it once the gate is up, with
/// the marker its server's command line carries.
fn start_sleeping_gate(p: &Project) -> (Child, String) {
    p.stage(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - id: g\n    title: t\n    database: mysql\n    steps:\n      - sql: SELECT 1\n      - run: 'touch \"$PROJECT_ROOT/up\"; sleep 30'\n",
    );
    let (child, marker) = spawn(p, Stdio::null);
    wait_for_file(&p.path().join("up"));
    assert!(!servers(&marker).is_empty(), "the server runs");
    (child, marker)
}
