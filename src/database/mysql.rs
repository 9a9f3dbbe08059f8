//! MySQL and MariaDB for gates: on `GATERUN_MYSQL_URL` when set, else on one throw-away server
//! per run (`mysqlserver.rs`), started by the first gate that needs it and stopped and deleted
//! at the end of the run.
//!
//! Each gate gets a new database and a user of its own, with every privilege on that database
//! and none beyond it (no other database, no FILE, no CREATE USER): a gate cannot drop or read
//! another gate's database, and what it can create lives inside its database, which goes when
//! it ends — its sessions killed, its user dropped, its database dropped. On the throw-away
//! server `root` has a random password only gaterun knows. On `GATERUN_MYSQL_URL`, unless the
//! URL's user holds `CREATE USER` with the grant option, gates connect as that user (then a
//! gate could reach what that user reaches: give gaterun a server of its own).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Pool};
use tokio::sync::{Mutex, OnceCell};

use super::mysqlserver::{Binaries, Running, root_opts};
use super::mysqlstatement::describe;
use super::value::SqlOutcome;

pub const URL_VAR: &str = "GATERUN_MYSQL_URL";

/// How long connecting to `GATERUN_MYSQL_URL` may take.
const CONNECT_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

const HOW_TO: &str = "no MySQL available: set GATERUN_MYSQL_URL to a server URL (mysql://USER:PASSWORD@HOST:PORT/) whose user may create databases, \
or install the server binaries (mariadbd, mariadb-install-db), e.g. `apt-get install mariadb-server`";

pub struct Provider {
    /// The throw-away server, if any, lives below this.
    dir: PathBuf,
    server: OnceCell<Result<Server, String>>,
    /// The throw-away server's process, kept apart from `server` so that a start that fails
    /// half-way still has it stopped.
    running: Mutex<Option<Running>>,
    next: AtomicU64,
}

struct Server {
    /// Connections as the user that creates databases and users.
    admin: Pool,
    host: String,
    port: u16,
    /// The URL's user and password, for gates when the server refuses them users of their own.
    user: String,
    pass: Option<String>,
    /// Whether gates get users of their own: on the throw-away server, and on a user's when
    /// the URL's user may create users and grant (else gates connect as that user).
    users: bool,
}

/// A gate's MySQL database, while the gate runs.
pub struct MysqlDb {
    /// The gate's own connection, opened on its first `sql` step.
    conn: Option<Conn>,
    opts: Opts,
    /// What the gate's end drops: the database and the gate's user (`None`: the URL's user).
    /// `None` on a stage's database used by one of its gates.
    owned: Option<(String, Option<String>)>,
}

impl MysqlDb {
    /// The same database for a gate of the stage: its own connection, not its release.
    pub fn share(&self) -> MysqlDb {
        MysqlDb {
            conn: None,
            opts: self.opts.clone(),
            owned: None,
        }
    }

    /// Run a statement for a `sql` step on the gate's connection.
    pub async fn execute(
        &mut self,
        statement: &str,
        wants_rows: bool,
    ) -> Result<SqlOutcome, String> {
        if self.conn.is_none() {
            let conn = Conn::new(self.opts.clone()).await.map_err(|e| {
                format!(
                    "failed to connect to the gate's MySQL database: {}",
                    describe(&e)
                )
            })?;
            self.conn = Some(conn);
        }
        let conn = self.conn.as_mut().expect("connected above");
        Ok(super::mysqlstatement::run(conn, statement, wants_rows).await)
    }
}

impl Provider {
    pub fn new(tmp_root: &Path) -> Self {
        Provider {
            dir: super::scratch::dir(tmp_root, "mysql"),
            server: OnceCell::new(),
            running: Mutex::new(None),
            next: AtomicU64::new(1),
        }
    }

    async fn server(&self) -> Result<&Server, String> {
        let server = self.server.get_or_init(|| self.connect_or_start()).await;
        server.as_ref().map_err(Clone::clone)
    }

    async fn connect_or_start(&self) -> Result<Server, String> {
        if let Ok(url) = std::env::var(URL_VAR) {
            let opts = Opts::from_url(&url).map_err(|e| {
                format!("{URL_VAR} is not a MySQL URL (mysql://USER:PASSWORD@HOST:PORT/): {e}")
            })?;
            let admin = Pool::new(opts.clone());
            // A host that drops packets would otherwise hold the gate for the kernel's TCP
            // timeout (minutes).
            let mut conn = tokio::time::timeout(CONNECT_WITHIN, admin.get_conn())
                .await
                .map_err(|_| {
                    format!(
                        "failed to connect to {URL_VAR}: no answer within {}s",
                        CONNECT_WITHIN.as_secs()
                    )
                })?
                .map_err(|e| format!("failed to connect to {URL_VAR}: {}", describe(&e)))?;
            let users = may_make_users(&mut conn).await;
            drop(conn);
            return Ok(Server {
                admin,
                host: opts.ip_or_hostname().to_owned(),
                port: opts.tcp_port(),
                user: opts.user().unwrap_or("root").to_owned(),
                pass: opts.pass().map(str::to_owned),
                users,
            });
        }
        let binaries = Binaries::find().ok_or_else(|| HOW_TO.to_owned())?;
        let running = binaries.start(&self.dir).await?;
        let port = running.port;
        *self.running.lock().await = Some(running);
        let password = secret();
        let mut conn = Conn::new(root_opts(port, None)).await.map_err(|e| {
            format!(
                "failed to connect to the throw-away MariaDB server: {}",
                describe(&e)
            )
        })?;
        // Only gaterun may act as root; anonymous accounts go.
        let accounts: Vec<(String, String)> = conn
            .query("SELECT User, Host FROM mysql.user WHERE User IN ('root', '')")
            .await
            .map_err(|e| format!("failed to list the server's accounts: {}", describe(&e)))?;
        for (user, host) in accounts {
            let account = format!("'{}'@'{}'", user, host.replace('\'', "''"));
            let statement = if user.is_empty() {
                format!("DROP USER {account}")
            } else {
                format!("ALTER USER {account} IDENTIFIED BY '{password}'")
            };
            match conn.query_drop(&statement).await {
                // An account by host name (`root@<hostname>`), which `--skip-name-resolve`
                // leaves out: no connection can use it.
                Err(mysql_async::Error::Server(e)) if e.code == 1396 => {}
                Err(e) => {
                    return Err(format!(
                        "failed to secure the server's accounts: {}",
                        describe(&e)
                    ));
                }
                Ok(()) => {}
            }
        }
        let _ = conn.disconnect().await;
        Ok(Server {
            admin: Pool::new(root_opts(port, Some(&password))),
            host: "127.0.0.1".to_owned(),
            port,
            user: "root".to_owned(),
            pass: Some(password),
            users: true,
        })
    }

    /// A new, empty database for a gate, with a user of its own; the variables that describe
    /// it.
    pub async fn create_database(
        &self,
        token: &str,
    ) -> Result<(MysqlDb, Vec<(String, String)>), String> {
        let server = self.server().await?;
        let name = format!("gaterun_{}", token.replace('-', "_"));
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // Unique across runs on one server (the run id has 32 random bits), and at most 32
        // characters, MySQL's limit: 8 + 16 + 1 + 7 hex digits.
        let user = format!("gaterun_{}_{n:x}", crate::process::run_id());
        let mut conn = server
            .admin
            .get_conn()
            .await
            .map_err(|e| format!("failed to connect to the MySQL server: {}", describe(&e)))?;
        conn.query_drop(format!("CREATE DATABASE `{name}`"))
            .await
            .map_err(|e| format!("failed to create database {name}: {}", describe(&e)))?;
        let (user, pass, owned_user) = if server.users {
            let password = secret();
            let made = async {
                conn.query_drop(format!(
                    "CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"
                ))
                .await?;
                conn.query_drop(format!(
                    "GRANT ALL PRIVILEGES ON `{name}`.* TO '{user}'@'%'"
                ))
                .await
            }
            .await;
            if let Err(e) = made {
                for undo in [
                    format!("DROP USER IF EXISTS '{user}'@'%'"),
                    format!("DROP DATABASE IF EXISTS `{name}`"),
                ] {
                    let _ = conn.query_drop(undo).await;
                }
                return Err(format!(
                    "failed to create the gate's user: {}",
                    describe(&e)
                ));
            }
            (user.clone(), Some(password), Some(user))
        } else {
            (server.user.clone(), server.pass.clone(), None)
        };
        let opts: Opts = OptsBuilder::default()
            .ip_or_hostname(server.host.clone())
            .tcp_port(server.port)
            .user(Some(user.clone()))
            .pass(pass.clone())
            .db_name(Some(name.clone()))
            .prefer_socket(false)
            .into();
        let vars = variables(&server.host, server.port, &user, pass.as_deref(), &name);
        let db = MysqlDb {
            conn: None,
            opts,
            owned: Some((name, owned_user)),
        };
        Ok((db, vars))
    }

    /// The gate is over and none of its processes is left: end its user's sessions, drop its
    /// user and its database. Lines for the gate's log: what could not be dropped.
    pub async fn release(&self, db: MysqlDb) -> Vec<String> {
        let MysqlDb { conn, owned, .. } = db;
        if let Some(conn) = conn {
            let _ = conn.disconnect().await;
        }
        let (Some((name, user)), Ok(server)) = (owned, self.server().await) else {
            return Vec::new();
        };
        let mut notes = Vec::new();
        let mut conn = match server.admin.get_conn().await {
            Ok(c) => c,
            Err(e) => {
                return vec![format!(
                    "failed to drop the gate's database: {}",
                    describe(&e)
                )];
            }
        };
        let mut drops = Vec::new();
        if let Some(user) = user {
            let sessions: Vec<u64> = conn
                .query(format!(
                    "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '{user}'"
                ))
                .await
                .unwrap_or_default();
            for id in sessions {
                let _ = conn.query_drop(format!("KILL {id}")).await;
            }
            drops.push((
                format!("DROP USER IF EXISTS '{user}'@'%'"),
                format!("the gate's user {user}"),
            ));
        }
        drops.push((
            format!("DROP DATABASE IF EXISTS `{name}`"),
            "the gate's database".to_owned(),
        ));
        for (statement, what) in drops {
            if let Err(e) = conn.query_drop(statement).await {
                notes.push(format!("failed to drop {what}: {}", describe(&e)));
            }
        }
        notes
    }

    /// Stop and delete the throw-away server, if this run started one (or began to).
    pub async fn shutdown(&self) {
        if let Some(Ok(server)) = self.server.get() {
            let _ = server.admin.clone().disconnect().await;
        }
        if let Some(mut running) = self.running.lock().await.take() {
            running.stop().await;
        }
        if self.dir.exists() {
            super::mysqlserver::kill_server(&self.dir);
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Whether the connected user may create users and grant them privileges (`CREATE USER` held
/// `WITH GRANT OPTION`): asked once, so that a gate never half-makes a user it cannot grant to
/// (and, lacking `DELETE` on `mysql`, could not drop).
async fn may_make_users(conn: &mut Conn) -> bool {
    conn.query_first::<u64, _>(
        "SELECT count(*) FROM information_schema.USER_PRIVILEGES \
         WHERE PRIVILEGE_TYPE = 'CREATE USER' AND IS_GRANTABLE = 'YES' \
         AND GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', \
         SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')",
    )
    .await
    .ok()
    .flatten()
    .is_some_and(|n| n > 0)
}

/// The variables of a gate's MySQL database.
fn variables(
    host: &str,
    port: u16,
    user: &str,
    pass: Option<&str>,
    db: &str,
) -> Vec<(String, String)> {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let auth = match pass {
        Some(p) => format!("{}:{}", enc(user), enc(p)),
        None => enc(user),
    };
    let host_in_url = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let mut vars = vec![
        (
            "DATABASE_URL".to_owned(),
            format!("mysql://{auth}@{host_in_url}:{port}/{db}"),
        ),
        ("MYSQL_HOST".to_owned(), host.to_owned()),
        ("MYSQL_TCP_PORT".to_owned(), port.to_string()),
        ("MYSQL_USER".to_owned(), user.to_owned()),
    ];
    if let Some(p) = pass {
        vars.push(("MYSQL_PWD".to_owned(), p.to_owned()));
    }
    vars.push(("MYSQL_DATABASE".to_owned(), db.to_owned()));
    vars
}

/// 32 random hex digits: a password no one else knows.
fn secret() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        // No /dev/urandom: the clock, as `process::run_id` does.
        bytes = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
            .to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_describe_the_database_and_its_user() {
        let got = variables(
            "127.0.0.1",
            3307,
            "gaterun_1_2",
            Some("p@ss/w"),
            "gaterun_db",
        );
        let get = |k: &str| got.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(
            get("DATABASE_URL"),
            Some("mysql://gaterun_1_2:p%40ss%2Fw@127.0.0.1:3307/gaterun_db")
        );
        assert_eq!(get("MYSQL_PWD"), Some("p@ss/w"));
        assert_eq!(get("MYSQL_TCP_PORT"), Some("3307"));
        let none = variables("::1", 3306, "app", None, "d");
        assert!(none.iter().all(|(k, _)| k != "MYSQL_PWD"));
        assert_eq!(none[0].1, "mysql://app@[::1]:3306/d");
        assert_eq!(secret().len(), 32);
        assert_ne!(secret(), secret());
    }
}
