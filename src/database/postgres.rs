//! PostgreSQL for gates: on `GATERUN_POSTGRES_URL` when set, else on one throw-away cluster per
//! run — `initdb` (trust auth, `--no-sync`) and `pg_ctl start` with `fsync=off`, on a free port of
//! 127.0.0.1 and a socket in a private directory, started by the first gate that needs it and
//! stopped and deleted at the end of the run. As root, the cluster runs as `postgres` (or
//! `nobody`), since PostgreSQL refuses to run as root.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr;
use std::time::Duration;

use std::sync::Arc;

use tokio::sync::{Mutex, OnceCell, mpsc};
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};

use super::global::{self, Ledger, Ticket};
use crate::ports::PortLease;

pub const URL_VAR: &str = "GATERUN_POSTGRES_URL";

/// The throw-away cluster's template: a copy of template0.
const TEMPLATE: &str = "gaterun_template";

const HOW_TO: &str = "no PostgreSQL available: set GATERUN_POSTGRES_URL to a server URL whose user may create databases, \
or install the server binaries (initdb, pg_ctl), e.g. `apt-get install postgresql`";

pub struct Provider {
    /// The cluster, if any, lives below this.
    dir: PathBuf,
    server: OnceCell<Result<Server, String>>,
    /// The gates running on the server, and the roles, tablespaces and databases they made.
    ledger: Arc<Ledger>,
}

struct Server {
    /// How to reach the server as the user that creates databases.
    config: Config,
    /// `GATERUN_POSTGRES_URL` as given, if it is a URL: the gates' URLs keep its parameters.
    url: Option<String>,
    admin: Arc<Client>,
    /// Lists the cluster's roles, tablespaces and databases as gates start and end: a
    /// connection of its own, so a list never waits behind a drop on `admin`.
    lister: Client,
    cluster: bool,
    /// On the throw-away cluster: databases made ahead of demand, so a gate takes one in no
    /// time; the task that makes them.
    pool: Option<Pool>,
}

/// Databases made ahead, and the task making them.
type Pool = (
    Mutex<mpsc::Receiver<Result<String, String>>>,
    tokio::task::AbortHandle,
);

/// How many databases the throw-away cluster keeps ready.
const POOL: usize = 2;
/// How many connections make databases at once.
const MAKERS: usize = 2;

struct Cluster {
    bin: PathBuf,
    run_as: Option<(u32, u32)>,
}

impl Provider {
    /// The cluster lives in memory (`/dev/shm`) when there is room: CREATE DATABASE copies
    /// megabytes, and on a shared disk that costs tens of milliseconds more, and varies.
    pub fn new(tmp_root: &Path) -> Self {
        let shm = Path::new("/dev/shm");
        let roomy = rustix::fs::statvfs(shm)
            .map(|s| s.f_bavail.saturating_mul(s.f_frsize) >= 1 << 30)
            .unwrap_or(false);
        let dir = if roomy && shm.is_dir() {
            shm.join(format!("gaterun-{}-postgres", crate::process::run_id()))
        } else {
            tmp_root.join("postgres")
        };
        Provider {
            dir,
            server: OnceCell::new(),
            ledger: Arc::default(),
        }
    }

    async fn server(&self) -> Result<&Server, String> {
        let server = self.server.get_or_init(|| self.connect_or_start()).await;
        server.as_ref().map_err(Clone::clone)
    }

    async fn connect_or_start(&self) -> Result<Server, String> {
        if let Ok(url) = std::env::var(URL_VAR) {
            let config = Config::from_str(&url)
                .map_err(|e| format!("{URL_VAR} is not a PostgreSQL URL: {e}"))?;
            let admin = connect(&config)
                .await
                .map_err(|e| format!("failed to connect to {URL_VAR}: {e}"))?;
            let lister = connect(&config)
                .await
                .map_err(|e| format!("failed to connect to {URL_VAR}: {e}"))?;
            let url = is_url(&url).then_some(url);
            return Ok(Server {
                config,
                url,
                admin: Arc::new(admin),
                lister,
                cluster: false,
                pool: None,
            });
        }
        let cluster = Cluster::find().ok_or_else(|| HOW_TO.to_owned())?;
        let config = cluster.start(&self.dir).await?;
        let admin = connect(&config)
            .await
            .map_err(|e| format!("failed to connect to the throw-away cluster: {e}"))?;
        // Clone a template of our own with FILE_COPY: the same content as template0 (nothing
        // else ever touches it), several times faster to copy than template0 itself.
        admin
            .batch_execute(&format!("CREATE DATABASE {TEMPLATE} TEMPLATE template0"))
            .await
            .map_err(|e| format!("failed to prepare the cluster's template: {}", describe(&e)))?;
        let version: i32 = admin
            .query_one("SELECT current_setting('server_version_num')::int", &[])
            .await
            .map(|r| r.get(0))
            .unwrap_or(0);
        let strategy = if version >= 150_000 {
            " STRATEGY FILE_COPY"
        } else {
            ""
        };
        // Creation runs on connections of its own, so it never queues behind a drop; two
        // makers at once share the checkpoints CREATE DATABASE waits for.
        let (tx, rx) = mpsc::channel(POOL);
        let next = Arc::new(std::sync::atomic::AtomicU64::new(1));
        let mut makers = tokio::task::JoinSet::new();
        for _ in 0..MAKERS {
            let maker = connect(&config).await?;
            let (tx, next) = (tx.clone(), next.clone());
            makers.spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let name = format!("gaterun_db_{n}");
                    let made = maker
                        .batch_execute(&format!(
                            "CREATE DATABASE {name} TEMPLATE {TEMPLATE}{strategy}"
                        ))
                        .await
                        .map(|()| name)
                        .map_err(|e| format!("failed to create a database: {}", describe(&e)));
                    let failed = made.is_err();
                    if tx.send(made).await.is_err() || failed {
                        break;
                    }
                }
            });
        }
        let task = tokio::spawn(async move { while makers.join_next().await.is_some() {} });
        let pool = Some((Mutex::new(rx), task.abort_handle()));
        let lister = connect(&config).await?;
        Ok(Server {
            config,
            url: None,
            admin: Arc::new(admin),
            lister,
            cluster: true,
            pool,
        })
    }

    /// A new, empty database for a gate: its name, connection settings, variables, and the
    /// gate's place among the gates using the server (taken before any process of the gate
    /// exists, so that what it creates can be told apart from what was there).
    pub async fn create_database(
        &self,
        token: &str,
    ) -> Result<(String, Config, Vec<(String, String)>, Ticket), String> {
        let server = self.server().await?;
        let ticket = self.ledger.enter(&global::snapshot(&server.lister).await?);
        let name = match &server.pool {
            Some((rx, _)) => rx
                .lock()
                .await
                .recv()
                .await
                .unwrap_or_else(|| Err("the database maker stopped".to_owned()))?,
            None => {
                let name = format!("gaterun_{}", token.replace('-', "_"));
                server
                    .admin
                    .batch_execute(&format!("CREATE DATABASE \"{name}\" TEMPLATE template0"))
                    .await
                    .map_err(|e| format!("failed to create database {name}: {}", describe(&e)))?;
                name
            }
        };
        let mut config = server.config.clone();
        config.dbname(&name);
        let vars = variables(&config, &name, server.url.as_deref(), server.cluster);
        Ok((name, config, vars, ticket))
    }

    /// The gate is over and none of its processes is left: drop its database, and the roles,
    /// tablespaces and databases it created (see `global`). Lines for the gate's log.
    ///
    /// On the throw-away cluster the gate's own database goes in the background when nothing
    /// else is to be dropped (the cluster goes at the end of the run anyway); otherwise first,
    /// since what it holds may belong to the roles and tablespaces that go after it.
    pub async fn release(&self, name: &str, ticket: Ticket) -> Vec<String> {
        let Ok(server) = self.server().await else {
            return Vec::new();
        };
        let admin = server.admin.clone();
        let mut notes = Vec::new();
        let _turn = self.ledger.turn().await;
        let found = match global::snapshot(&server.lister).await {
            Ok(now) => self.ledger.leave(ticket, &now, ours),
            Err(e) => {
                notes.push(e);
                global::Found::default()
            }
        };
        if server.cluster && found.waiting == 0 {
            let name = name.to_owned();
            tokio::spawn(async move { drop_database_now(&admin, &name).await });
            return notes;
        }
        if let Err(e) = drop_database_now(&admin, name).await {
            notes.push(format!("failed to drop the gate's database: {e}"));
        }
        notes.extend(self.drop_objects(server, found.ready).await);
        notes
    }

    /// Drop objects gates created; a line for each.
    async fn drop_objects(
        &self,
        server: &Server,
        objects: Vec<(global::Key, String)>,
    ) -> Vec<String> {
        let mut notes = Vec::new();
        for (key, name) in objects {
            let dropped =
                global::drop_object(&server.admin, &server.config, key, &name, ours).await;
            if dropped.is_ok() {
                self.ledger.settle(key);
            }
            notes.push(dropped.unwrap_or_else(|e| e));
        }
        notes
    }

    /// Stop and delete the throw-away cluster, if this run started one (or began to).
    pub async fn shutdown(&self) {
        if let Some(Ok(Server {
            pool: Some((_, task)),
            ..
        })) = self.server.get()
        {
            task.abort();
        }
        // On a server of the user's, what a gate created and could not be dropped then gets a
        // last try.
        if let Some(Ok(server)) = self.server.get()
            && !server.cluster
        {
            let _turn = self.ledger.turn().await;
            for note in self.drop_objects(server, self.ledger.remaining()).await {
                if !note.starts_with("dropped ") && !note.ends_with("gone already") {
                    errln!("warning: {}", note.escape_debug());
                }
            }
        }
        let started = matches!(self.server.get(), Some(Ok(s)) if s.cluster);
        if !started && !self.dir.exists() {
            return;
        }
        if let Some(cluster) = Cluster::find() {
            cluster.stop(&self.dir).await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        crate::process::reap_orphans();
    }
}

/// Drop a database, ending its sessions.
pub async fn drop_database_now(admin: &Client, name: &str) -> Result<(), String> {
    let quoted = global::quote(name);
    let forced = format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)");
    match admin.batch_execute(&forced).await {
        Ok(()) => Ok(()),
        Err(e) if e.code() != Some(&tokio_postgres::error::SqlState::SYNTAX_ERROR) => {
            Err(describe(&e))
        }
        // Before PostgreSQL 13: end the sessions, then drop.
        Err(_) => {
            let literal = name.replace('\'', "''");
            admin
                .batch_execute(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{literal}'; DROP DATABASE IF EXISTS {quoted}"
                ))
                .await
                .map_err(|e| describe(&e))
        }
    }
}

/// Whether gaterun made a database of this name: the throw-away cluster's template and
/// databases made ahead (`gaterun_db_<n>`), or a gate's own on a server of the user's
/// (`gaterun_<pid>_<n>`, of this run or another).
fn ours(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let Some(rest) = name.strip_prefix("gaterun_") else {
        return false;
    };
    name == TEMPLATE
        || rest.strip_prefix("db_").is_some_and(digits)
        || rest
            .split_once('_')
            .is_some_and(|(pid, n)| digits(pid) && digits(n))
}

/// Whether a connection string is a URL (else it is `key=value` words).
fn is_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

async fn connect(config: &Config) -> Result<Client, String> {
    let (client, connection) = config.connect(NoTls).await.map_err(|e| describe(&e))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Open the gate's own connection.
pub async fn connect_gate(config: &Config) -> Result<Client, String> {
    connect(config).await
}

/// The message of a database error, else the error itself.
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            text
        }
    }
}

/// The gate's variables. `DATABASE_URL` is meant to work as given with libpq (psql), lib/pq and
/// pgx (dbmate), sqlx and SQLAlchemy: the scheme is `postgresql://` (SQLAlchemy refuses
/// `postgres://`); on the throw-away cluster, which has no TLS, `sslmode=disable` (lib/pq
/// defaults to `require`); on `GATERUN_POSTGRES_URL`, that URL with only the database replaced,
/// so every parameter the user gave stays.
fn variables(
    config: &Config,
    name: &str,
    user_url: Option<&str>,
    cluster: bool,
) -> Vec<(String, String)> {
    let user = config.get_user().unwrap_or("postgres").to_owned();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let (host, url_host) = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => (h.clone(), format!("{h}:{port}")),
        Some(Host::Unix(p)) => (p.display().to_string(), String::new()),
        None => ("127.0.0.1".to_owned(), format!("127.0.0.1:{port}")),
    };
    let password = config
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let url = match user_url.and_then(|u| with_database(u, name)) {
        Some(url) => url,
        None => {
            let auth = match &password {
                Some(p) => format!("{}:{}", encode(&user), encode(p)),
                None => encode(&user),
            };
            let mut query = Vec::new();
            if url_host.is_empty() {
                query.push(format!("host={}", encode(&host)));
                query.push(format!("port={port}"));
            }
            let mode = match config.get_ssl_mode() {
                _ if cluster => Some("disable"),
                tokio_postgres::config::SslMode::Disable => Some("disable"),
                tokio_postgres::config::SslMode::Require => Some("require"),
                _ => None,
            };
            query.extend(mode.map(|m| format!("sslmode={m}")));
            let query = if query.is_empty() {
                String::new()
            } else {
                format!("?{}", query.join("&"))
            };
            format!("postgresql://{auth}@{url_host}/{}{query}", encode(name))
        }
    };
    let mut vars = vec![
        ("DATABASE_URL".to_owned(), url),
        ("PGHOST".to_owned(), host),
        ("PGPORT".to_owned(), port.to_string()),
        ("PGUSER".to_owned(), user),
        ("PGDATABASE".to_owned(), name.to_owned()),
    ];
    if let Some(p) = password {
        vars.push(("PGPASSWORD".to_owned(), p));
    }
    if cluster {
        // For tools that read the PG* variables alone (lib/pq would otherwise ask for TLS).
        vars.push(("PGSSLMODE".to_owned(), "disable".to_owned()));
    }
    vars
}

/// A `postgres://` or `postgresql://` URL with its database replaced (the path, and a
/// `dbname` parameter if there is one), everything else as written; the scheme becomes
/// `postgresql://`. `None` if it is not such a URL.
fn with_database(url: &str, name: &str) -> Option<String> {
    let rest = url
        .strip_prefix("postgresql://")
        .or_else(|| url.strip_prefix("postgres://"))?;
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap_or_default();
    let mut out = format!("postgresql://{authority}/{}", encode(name));
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some(("dbname", _)) => format!("dbname={}", encode(name)),
                _ => p.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    Some(out)
}

/// Percent-encode what may not stand in a URL's user info or query.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Cluster {
    /// `initdb` and `pg_ctl` from PATH, else the newest `/usr/lib/postgresql/*/bin`.
    fn find() -> Option<Cluster> {
        let on_path = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
        });
        let bin = on_path.or_else(|| {
            let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
                .ok()?
                .flatten()
                .filter_map(|e| {
                    let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                    let bin = e.path().join("bin");
                    bin.join("initdb").is_file().then_some((version, bin))
                })
                .collect();
            found.sort();
            found.pop().map(|(_, b)| b)
        })?;
        Some(Cluster {
            bin,
            run_as: unprivileged_user(),
        })
    }

    fn command(&self, program: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(self.bin.join(program));
        cmd.env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", self.bin.display()))
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    async fn run(&self, program: &str, args: &[&str], dir: &Path) -> Result<(), String> {
        let log = dir.join(format!("{program}.log"));
        let file = std::fs::File::create(&log)
            .map_err(|e| format!("failed to create {}: {e}", log.display()))?;
        if let Some((uid, gid)) = self.run_as {
            let _ = rustix::fs::chown(
                &log,
                Some(rustix::fs::Uid::from_raw(uid)),
                Some(rustix::fs::Gid::from_raw(gid)),
            );
        }
        let err = file.try_clone().map_err(|e| e.to_string())?;
        let status = self
            .command(program)
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .status()
            .await
            .map_err(|e| format!("failed to run {program}: {e}"))?;
        if status.success() {
            return Ok(());
        }
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        Err(format!(
            "{program} failed ({status}): {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        ))
    }

    async fn start(&self, dir: &Path) -> Result<Config, String> {
        let _ = std::fs::remove_dir_all(dir);
        let socket = dir.join("socket");
        std::fs::create_dir_all(&socket)
            .map_err(|e| format!("failed to create {}: {e}", socket.display()))?;
        if let Some((uid, gid)) = self.run_as {
            for d in [dir, socket.as_path()] {
                rustix::fs::chown(
                    d,
                    Some(rustix::fs::Uid::from_raw(uid)),
                    Some(rustix::fs::Gid::from_raw(gid)),
                )
                .map_err(|e| {
                    format!("failed to hand {} to the cluster's user: {e}", d.display())
                })?;
            }
        }
        let port = PortLease::allocate()
            .map_err(|e| format!("failed to find a free port for PostgreSQL: {e}"))?;
        let data = dir.join("data");
        let data_arg = data.display().to_string();
        self.run(
            "initdb",
            &[
                "-D",
                &data_arg,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            dir,
        )
        .await?;
        let options = format!(
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off -c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=300",
            port.0,
            socket.display()
        );
        let server_log = dir.join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &data_arg,
                "-l",
                &server_log,
                "-w",
                "-t",
                "60",
                "-s",
                "-o",
                &options,
                "start",
            ],
            dir,
        )
        .await?;
        let mut config = Config::new();
        config
            .host("127.0.0.1")
            .port(port.0)
            .user("postgres")
            .dbname("postgres")
            .connect_timeout(Duration::from_secs(10));
        // The cluster holds its port until the run ends.
        std::mem::forget(port);
        Ok(config)
    }

    async fn stop(&self, dir: &Path) {
        let data = dir.join("data");
        if !data.join("postmaster.pid").exists() {
            return;
        }
        let data_arg = data.display().to_string();
        let _ = self
            .run(
                "pg_ctl",
                &[
                    "-D",
                    &data_arg,
                    "-m",
                    "immediate",
                    "-s",
                    "-w",
                    "-t",
                    "10",
                    "stop",
                ],
                dir,
            )
            .await;
        // If pg_ctl could not stop it, the postmaster's pid file says whom to kill.
        kill_postmaster(&data);
    }
}

/// SIGKILL the postmaster named by a data directory's `postmaster.pid`, if that process is a
/// postgres (its backends exit when it does).
pub fn kill_postmaster(data: &Path) {
    let Ok(text) = std::fs::read_to_string(data.join("postmaster.pid")) else {
        return;
    };
    let Some(pid) = text
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<i32>().ok())
    else {
        return;
    };
    let is_postgres = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|c| c.trim().starts_with("postgres"));
    if is_postgres && let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

/// As root, the user the cluster runs as: `postgres` if it exists, else `nobody`.
fn unprivileged_user() -> Option<(u32, u32)> {
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let find = |name: &str| {
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
        })
    };
    find("postgres").or_else(|| find("nobody"))
}

/// Run a statement for a `sql` step.
pub async fn run(client: &Client, statement: &str, wants_rows: bool) -> super::SqlOutcome {
    use super::SqlOutcome;
    if !wants_rows {
        return match client.batch_execute(statement).await {
            Ok(()) => SqlOutcome::Rows {
                columns: Vec::new(),
                rows: Vec::new(),
            },
            Err(e) => SqlOutcome::Failed(describe(&e)),
        };
    }
    let stmt = match client.prepare(statement).await {
        Ok(s) => s,
        Err(e) => return SqlOutcome::Failed(describe(&e)),
    };
    let columns: Vec<String> = stmt.columns().iter().map(|c| c.name().to_owned()).collect();
    match client.query(&stmt, &[]).await {
        Err(e) => SqlOutcome::Failed(describe(&e)),
        Ok(rows) => {
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let mut cells = Vec::with_capacity(columns.len());
                for (i, column) in columns.iter().enumerate() {
                    match row.try_get::<_, super::pgcell::Cell>(i) {
                        Ok(c) => cells.push(c),
                        Err(e) => {
                            // The decoder's own message is the error's source.
                            let why = std::error::Error::source(&e)
                                .map_or_else(|| e.to_string(), ToString::to_string);
                            return SqlOutcome::Failed(format!(
                                "failed to read column {column}: {why}"
                            ));
                        }
                    }
                }
                out.push(cells);
            }
            match super::pgcell::resolve(client, out).await {
                Ok(rows) => SqlOutcome::Rows { columns, rows },
                Err(e) => SqlOutcome::Failed(format!("failed to read a cell: {e}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn a_user_url_keeps_its_parameters_and_gets_the_gate_s_database() {
        let cases = [
            (
                "postgres://admin:pw@db.example:5433/postgres?sslmode=require&application_name=ci",
                "postgresql://admin:pw@db.example:5433/gaterun_1_2?sslmode=require&application_name=ci",
            ),
            (
                "postgresql://admin@127.0.0.1",
                "postgresql://admin@127.0.0.1/gaterun_1_2",
            ),
            (
                "postgresql://admin@h1:5432,h2:5433/app?dbname=app&connect_timeout=5",
                "postgresql://admin@h1:5432,h2:5433/gaterun_1_2?dbname=gaterun_1_2&connect_timeout=5",
            ),
            (
                "postgresql:///app?host=/run/postgresql",
                "postgresql:///gaterun_1_2?host=/run/postgresql",
            ),
        ];
        for (given, want) in cases {
            assert_eq!(
                with_database(given, "gaterun_1_2").as_deref(),
                Some(want),
                "{given}"
            );
        }
        assert_eq!(with_database("host=/tmp user=admin", "x"), None);
    }

    #[test]
    fn the_throwaway_cluster_s_url_disables_tls() {
        let mut config = Config::new();
        config.host("127.0.0.1").port(5999).user("postgres");
        let vars: HashMap<String, String> = variables(&config, "gaterun_db_3", None, true)
            .into_iter()
            .collect();
        assert_eq!(
            vars["DATABASE_URL"],
            "postgresql://postgres@127.0.0.1:5999/gaterun_db_3?sslmode=disable"
        );
        assert_eq!(vars["PGSSLMODE"], "disable");
        // A server of the user's: its parameters, no sslmode of gaterun's.
        let vars: HashMap<String, String> = variables(
            &config,
            "gaterun_1_2",
            Some("postgres://postgres@127.0.0.1:5999/postgres"),
            false,
        )
        .into_iter()
        .collect();
        assert_eq!(
            vars["DATABASE_URL"],
            "postgresql://postgres@127.0.0.1:5999/gaterun_1_2"
        );
        assert!(!vars.contains_key("PGSSLMODE"));
    }

    #[test]
    fn gaterun_s_own_database_names() {
        for (name, want) in [
            ("gaterun_template", true),
            ("gaterun_db_12", true),
            ("gaterun_4242_7", true),
            ("gaterun_db_", false),
            ("gaterun_db_x", false),
            ("gaterun_app", false),
            ("gaterun_42_x", false),
            ("reporting", false),
        ] {
            assert_eq!(ours(name), want, "{name}");
        }
    }
}
