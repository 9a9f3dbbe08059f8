//! The throw-away MariaDB (or MySQL) server: the distribution's `mariadb-install-db` (MySQL:
//! `mysqld --initialize-insecure`) into a private directory, then the server itself as a child
//! of gaterun, with `--no-defaults` (no my.cnf of the machine's applies), on a leased port of
//! 127.0.0.1 and a socket in that directory, with durability off (nothing of it outlives the
//! run). Ready when a connection succeeds. Stopped with SIGTERM (a clean shutdown), else
//! SIGKILL; its pid file is where the next run's sweep finds it after a SIGKILL of gaterun.
//! As root it runs with `--user=root` (it refuses root without it): the gates' users have no
//! FILE privilege, so nothing a gate says makes the server touch files outside its directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use mysql_async::{Opts, OptsBuilder};

use crate::ports::PortLease;

/// The pid file, in the server's directory: the sweep kills the process it names.
pub const PID_FILE: &str = "mysqld.pid";
/// How long the server may take to accept a connection.
const READY_WITHIN: Duration = Duration::from_secs(60);

pub(super) struct Binaries {
    server: PathBuf,
    /// `mariadb-install-db`; `None`: MySQL's `mysqld --initialize-insecure`.
    install: Option<PathBuf>,
}

/// The running server: the child, and the port it holds for the run.
pub(super) struct Running {
    child: tokio::process::Child,
    pid: u32,
    pub(super) port: u16,
}

/// Programs looked for on PATH, then where distributions put them (`/usr/sbin` is often not on
/// a user's PATH).
fn find_program(names: &[&str]) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(
        [
            "/usr/sbin",
            "/usr/bin",
            "/usr/libexec",
            "/usr/local/mysql/bin",
        ]
        .map(PathBuf::from),
    );
    names
        .iter()
        .find_map(|n| dirs.iter().map(|d| d.join(n)).find(|p| p.is_file()))
}

impl Binaries {
    pub(super) fn find() -> Option<Binaries> {
        let server = find_program(&["mariadbd", "mysqld"])?;
        let install = find_program(&["mariadb-install-db", "mysql_install_db"]);
        // MySQL 8 has no installer: its server initializes the directory itself.
        Some(Binaries { server, install })
    }

    fn command(&self, program: &Path) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(program);
        cmd.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// The options both the initialization and the server take: no option file of the
    /// machine's, the data directory, and durability off.
    fn common_args(data: &Path) -> Vec<String> {
        let mut args = vec![
            "--no-defaults".to_owned(),
            format!("--datadir={}", data.display()),
            "--innodb-flush-log-at-trx-commit=0".to_owned(),
            "--innodb-doublewrite=0".to_owned(),
            "--innodb-buffer-pool-size=32M".to_owned(),
            // A redo log of 8 MiB, not 96: in memory, and written at initialization.
            "--innodb-log-file-size=8M".to_owned(),
            "--skip-log-bin".to_owned(),
        ];
        if rustix::process::geteuid().is_root() {
            args.push("--user=root".to_owned());
        }
        args
    }

    /// MariaDB's system tables, made by the server itself from the SQL files
    /// `mariadb-install-db` feeds it, less the help tables and the `sys` schema (nine tenths of
    /// the text, and over half of the server's start: 0.21 s instead of 0.55 s here); the
    /// installer when the files are not where the distribution puts them, or this fails.
    async fn initialize(&self, dir: &Path, data: &Path) -> Result<(), String> {
        if let Some(files) = self.install.as_ref().and(bootstrap_files()) {
            if self.bootstrap(dir, data, &files).await.is_ok() {
                return Ok(());
            }
            let _ = std::fs::remove_dir_all(data);
        }
        self.install(dir, data).await
    }

    async fn bootstrap(&self, dir: &Path, data: &Path, files: &[PathBuf]) -> Result<(), String> {
        use tokio::io::AsyncWriteExt;
        std::fs::create_dir_all(data).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("bootstrap.log")).map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let mut args = Self::common_args(data);
        args.extend(
            [
                "--bootstrap",
                "--log-warnings=0",
                "--enforce-storage-engine=",
                "--max-allowed-packet=8M",
                "--net-buffer-length=16K",
            ]
            .map(str::to_owned),
        );
        let mut child = self
            .command(&self.server)
            .args(&args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        // As `mariadb-install-db --auth-root-authentication-method=normal` begins.
        let mut text =
            b"create database if not exists mysql;\nuse mysql;\nSET @auth_root_socket=NULL;\n"
                .to_vec();
        for f in files {
            text.extend(tokio::fs::read(f).await.map_err(|e| e.to_string())?);
            text.push(b'\n');
        }
        let written = stdin.write_all(&text).await;
        drop(stdin);
        let status = child.wait().await.map_err(|e| e.to_string())?;
        written.map_err(|e| e.to_string())?;
        status
            .success()
            .then_some(())
            .ok_or_else(|| format!("bootstrap failed ({status})"))
    }

    async fn install(&self, dir: &Path, data: &Path) -> Result<(), String> {
        let log = dir.join("install.log");
        let file = std::fs::File::create(&log)
            .map_err(|e| format!("failed to create {}: {e}", log.display()))?;
        let err = file.try_clone().map_err(|e| e.to_string())?;
        let mut args = Self::common_args(data);
        let (program, what) = match &self.install {
            Some(install) => {
                // The installer takes `--no-defaults` first and passes the rest to the server.
                args.extend([
                    "--auth-root-authentication-method=normal".to_owned(),
                    "--skip-test-db".to_owned(),
                    "--skip-name-resolve".to_owned(),
                ]);
                (install.clone(), "mariadb-install-db")
            }
            None => {
                args.push("--initialize-insecure".to_owned());
                (self.server.clone(), "mysqld --initialize-insecure")
            }
        };
        let status = self
            .command(&program)
            .args(&args)
            .current_dir(dir)
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .status()
            .await
            .map_err(|e| format!("failed to run {}: {e}", program.display()))?;
        if status.success() {
            return Ok(());
        }
        Err(format!("{what} failed ({status}): {}", tail(&log)))
    }

    /// Initialize a data directory in `dir` and start the server on it, ready for connections
    /// as `root` without a password (the provider sets one at once).
    pub(super) async fn start(&self, dir: &Path) -> Result<Running, String> {
        let _ = std::fs::remove_dir_all(dir);
        let data = dir.join("data");
        let tmp = dir.join("tmp");
        for d in [dir, tmp.as_path()] {
            std::fs::create_dir_all(d)
                .map_err(|e| format!("failed to create {}: {e}", d.display()))?;
        }
        self.initialize(dir, &data).await?;
        let port = PortLease::allocate()
            .map_err(|e| format!("failed to find a free port for MariaDB: {e}"))?;
        let log = dir.join("server.log");
        let mut args = Self::common_args(&data);
        args.extend([
            format!("--port={}", port.0),
            "--bind-address=127.0.0.1".to_owned(),
            format!("--socket={}", dir.join("mysqld.sock").display()),
            format!("--pid-file={}", dir.join(PID_FILE).display()),
            format!("--log-error={}", log.display()),
            format!("--tmpdir={}", tmp.display()),
            "--skip-name-resolve".to_owned(),
            "--max-connections=500".to_owned(),
            // MySQL's X plugin would take port 33060 of the machine; MariaDB has none.
            "--loose-mysqlx=OFF".to_owned(),
        ]);
        // What the server says before its error log is open goes to a file of its own.
        let early = dir.join("stderr.log");
        let out = std::fs::File::create(&early)
            .map_err(|e| format!("failed to create {}: {e}", early.display()))?;
        let mut cmd = self.command(&self.server);
        cmd.args(&args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::from(out));
        // Its own session (and so its own group): a Ctrl-C at the terminal reaches gaterun,
        // which stops the server after the gates, and what the gates make it run cannot reach
        // the terminal. SAFETY: setsid is async-signal-safe.
        unsafe {
            cmd.pre_exec(crate::process::new_session);
        }
        let child = crate::process::spawn_owned(&mut cmd)
            .map_err(|e| format!("failed to start {}: {e}", self.server.display()))?;
        let mut running = Running {
            pid: child.id().unwrap_or(0),
            child,
            port: port.0,
        };
        // The server holds its port until the run ends.
        std::mem::forget(port);
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = running.child.try_wait() {
                crate::process::forget_owned(running.pid);
                let said = [tail(&log), tail(&early)].join(" / ");
                return Err(format!(
                    "the MariaDB server {} exited at start ({status}): {}",
                    self.server.display(),
                    said.trim_matches([' ', '/'])
                ));
            }
            if let Ok(conn) = mysql_async::Conn::new(root_opts(running.port, None)).await {
                let _ = conn.disconnect().await;
                return Ok(running);
            }
            if started.elapsed() > READY_WITHIN {
                running.stop().await;
                return Err(format!(
                    "the MariaDB server did not accept connections within {}s: {}",
                    READY_WITHIN.as_secs(),
                    tail(&log)
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Running {
    /// SIGTERM (the server shuts down cleanly), SIGKILL after 10 s or at a second interrupt.
    pub(super) async fn stop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.pid as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let waited = tokio::select! {
            r = tokio::time::timeout(Duration::from_secs(10), self.child.wait()) => r.is_ok(),
            () = crate::process::forced() => false,
        };
        if !waited {
            let _ = self.child.start_kill();
            let _ = self.child.wait().await;
        }
        crate::process::forget_owned(self.pid);
    }
}

/// How to reach the throw-away server as root.
pub(super) fn root_opts(port: u16, password: Option<&str>) -> Opts {
    OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some("root"))
        .pass(password)
        .prefer_socket(false)
        .into()
}

/// SIGKILL the server named by a directory's pid file, if that process is a MariaDB or MySQL
/// server (its threads go with it).
pub fn kill_server(dir: &Path) {
    let Ok(text) = std::fs::read_to_string(dir.join(PID_FILE)) else {
        return;
    };
    let Ok(pid) = text.trim().parse::<i32>() else {
        return;
    };
    crate::process::kill_if_named(pid, "mariadbd");
    crate::process::kill_if_named(pid, "mysqld");
}

/// The SQL files `mariadb-install-db` makes the system tables from, but the help tables and the
/// `sys` schema, if the distribution put them where it does.
fn bootstrap_files() -> Option<Vec<PathBuf>> {
    const FILES: [&str; 4] = [
        "mysql_system_tables.sql",
        "mysql_performance_tables.sql",
        "mysql_system_tables_data.sql",
        "maria_add_gis_sp_bootstrap.sql",
    ];
    ["/usr/share/mariadb", "/usr/share/mysql"]
        .iter()
        .map(|d| FILES.map(|f| Path::new(d).join(f)))
        .find(|files| files.iter().all(|f| f.is_file()))
        .map(Vec::from)
}

/// The last lines of a log, for an error message.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .rev()
        .take(5)
        .collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" / ")
}
