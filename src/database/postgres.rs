//! PostgreSQL for gates: on `GATERUN_POSTGRES_URL` when set, else on one throw-away cluster per
//! run — `initdb` (trust auth, `--no-sync`, or its copy from the warm cache) and `postgres` with
//! `fsync=off`, on a free port of 127.0.0.1 and a socket in a private directory, started by the
//! first gate that needs it and stopped and deleted at the end of the run. As root, the cluster
//! runs as `postgres` (or `nobody`), since PostgreSQL refuses to run as root.
//!
//! This file is the provider: the server (the user's or the cluster), a gate's database made
//! (empty, or a copy of a template) and released. The cluster itself is `cluster.rs`, the
//! databases made ahead `pgpool.rs`, templates `pgtemplate.rs`, connections `pgclient.rs`, the
//! gate's variables `pgurl.rs`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use tokio::sync::{Mutex, OnceCell};
use tokio_postgres::{Client, Config};

use super::cluster::Cluster;
use super::global::{self, Ledger, Ticket};
use super::pgclient::{connect, describe, drop_database_now, quote};
use super::pgpool::Pool;
use super::pgurl::variables;

pub const URL_VAR: &str = "GATERUN_POSTGRES_URL";

/// What follows `gaterun_` in a template database's name (`pgtemplate`).
pub const TEMPLATE_PREFIX: &str = "tpl_";

/// The throw-away cluster's template: a copy of template0.
const TEMPLATE: &str = "gaterun_template";

const HOW_TO: &str = "no PostgreSQL available: set GATERUN_POSTGRES_URL to a server URL whose user may create databases, \
or install the server binaries (initdb, postgres), e.g. `apt-get install postgresql`";

pub struct Provider {
    /// The cluster, if any, lives below this.
    dir: PathBuf,
    server: OnceCell<Result<Server, String>>,
    /// The gates running on the server, and the roles, tablespaces and databases they made.
    ledger: Arc<Ledger>,
}

pub(super) struct Server {
    /// How to reach the server as the user that creates databases.
    pub(super) config: Config,
    /// `GATERUN_POSTGRES_URL` as given, if it is a URL: the gates' URLs keep its parameters.
    pub(super) url: Option<String>,
    pub(super) admin: Arc<Client>,
    /// Lists the cluster's roles, tablespaces and databases as gates start and end: a
    /// connection of its own, so a list never waits behind a drop on `admin`.
    lister: Client,
    pub(super) cluster: bool,
    /// On the throw-away cluster: databases made ahead of demand, so a gate takes one in no
    /// time; the task that makes them.
    pool: Option<Pool>,
    /// How CREATE DATABASE copies a template (` STRATEGY FILE_COPY` where there is a choice).
    pub(super) strategy: &'static str,
    /// The number of the next database made ahead, for every pool.
    next: Arc<AtomicU64>,
    /// On the throw-away cluster: copies of each template an `init` made, made ahead.
    template_pools: Mutex<HashMap<String, Arc<Pool>>>,
}

impl Provider {
    /// The cluster lives in memory (`/dev/shm`) when there is room: CREATE DATABASE copies
    /// megabytes, and on a shared disk that costs tens of milliseconds more, and varies.
    pub fn new(tmp_root: &Path) -> Self {
        Provider {
            dir: super::scratch::dir(tmp_root, "postgres"),
            server: OnceCell::new(),
            ledger: Arc::default(),
        }
    }

    pub(super) async fn server(&self) -> Result<&Server, String> {
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
                strategy: "",
                next: Arc::default(),
                template_pools: Mutex::default(),
            });
        }
        let cluster = Cluster::find().ok_or_else(|| HOW_TO.to_owned())?;
        // Clone a template of our own with FILE_COPY: the same content as template0 (nothing
        // else ever touches it), several times faster to copy than template0 itself. Made
        // with the data directory, so the warm cache has it.
        let prepare = format!("CREATE DATABASE {TEMPLATE} TEMPLATE template0");
        let config = cluster.start(&self.dir, &prepare).await?;
        let admin = connect(&config)
            .await
            .map_err(|e| format!("failed to connect to the throw-away cluster: {e}"))?;
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
        let next = Arc::new(AtomicU64::new(1));
        let pool = Some(Pool::start(&config, TEMPLATE, strategy, next.clone()).await?);
        let lister = connect(&config).await?;
        Ok(Server {
            config,
            url: None,
            admin: Arc::new(admin),
            lister,
            cluster: true,
            pool,
            strategy,
            next,
            template_pools: Mutex::default(),
        })
    }

    /// A new database for a gate, empty or a copy of `template`: its name, connection
    /// settings, variables, and the gate's place among the gates using the server (taken
    /// before any process of the gate exists, so that what it creates can be told apart from
    /// what was there).
    pub async fn create_database(
        &self,
        token: &str,
        template: Option<&str>,
    ) -> Result<(String, Config, Vec<(String, String)>, Ticket), String> {
        let server = self.server().await?;
        let ticket = self.ledger.enter(&global::snapshot(&server.lister).await?);
        let name = match (&server.pool, template) {
            (Some(_), Some(template)) => self.template_pool(server, template).await?.take().await?,
            (Some(pool), None) => pool.take().await?,
            (None, template) => {
                let name = format!("gaterun_{}", token.replace('-', "_"));
                let source = quote(template.unwrap_or("template0"));
                server
                    .admin
                    .batch_execute(&format!("CREATE DATABASE \"{name}\" TEMPLATE {source}"))
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

    /// The pool of copies of `template`, started on first use.
    async fn template_pool(&self, server: &Server, template: &str) -> Result<Arc<Pool>, String> {
        let mut pools = server.template_pools.lock().await;
        if let Some(pool) = pools.get(template) {
            return Ok(pool.clone());
        }
        let pool = Arc::new(
            Pool::start(
                &server.config,
                template,
                server.strategy,
                server.next.clone(),
            )
            .await?,
        );
        pools.insert(template.to_owned(), pool.clone());
        Ok(pool)
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
        if let Some(Ok(server)) = self.server.get() {
            for pool in server
                .pool
                .iter()
                .chain(server.template_pools.lock().await.values().map(|p| &**p))
            {
                pool.stop();
            }
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

/// Whether gaterun made a database of this name: the throw-away cluster's template and
/// databases made ahead (`gaterun_db_<n>`), a template an `init` made (`gaterun_tpl_…`), or a
/// gate's own on a server of the user's (`gaterun_<run>_<n>`, `gaterun_<run>_<n>_<name>` for
/// one of `databases:`; of this run or another).
fn ours(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let Some(rest) = name.strip_prefix("gaterun_") else {
        return false;
    };
    name == TEMPLATE
        || rest.starts_with(TEMPLATE_PREFIX)
        || rest.strip_prefix("db_").is_some_and(digits)
        || rest.split_once('_').is_some_and(|(run, n)| {
            // A database of `databases:` has its name after the gate's number.
            let (n, named) = n.split_once('_').unwrap_or((n, "a"));
            let name = |s: &str| {
                s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            };
            run_id(run) && digits(n) && !named.is_empty() && name(named)
        })
}

/// A run's id as a gate token starts with it: `<pid>r<hex>` (`process::run_id`), or a bare pid
/// (a token of an older gaterun).
fn run_id(s: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match s.split_once('r') {
        Some((pid, hex)) => {
            digits(pid) && !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => digits(s),
    }
}

/// Whether a connection string is a URL (else it is `key=value` words).
fn is_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaterun_s_own_database_names() {
        for (name, want) in [
            ("gaterun_template", true),
            ("gaterun_db_12", true),
            ("gaterun_tpl_0123456789abcdef", true),
            ("gaterun_4242_7", true),
            ("gaterun_4242r0badf00d_7", true),
            ("gaterun_4242rx_7", false),
            ("gaterun_4242r0badf00d_7_main", true),
            ("gaterun_4242r0badf00d_7_", false),
            ("gaterun_4242r0badf00d_7_Main", false),
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
