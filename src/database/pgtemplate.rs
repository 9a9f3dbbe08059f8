//! PostgreSQL template databases: made once per key, then copied for each gate by `CREATE
//! DATABASE … TEMPLATE`. A template is sealed before any gate copies it: no session left on
//! it, no new one allowed (`ALLOW_CONNECTIONS false`, so a gate cannot change it under the
//! others), marked `IS_TEMPLATE`.
//!
//! On the throw-away cluster a template lives as long as the run. On `GATERUN_POSTGRES_URL` it
//! is named by its key (`gaterun_tpl_<hash>`) and kept for the next run: built under a
//! temporary name, renamed, and marked complete last, with a comment naming the whole key —
//! so a run that died half-way leaves nothing that passes for a template. Runs take a
//! session advisory lock on the key while they look and build: concurrent runs build it once.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, Config};

use super::pgclient::{connect, describe, drop_database_now, quote};
use super::pgurl::variables;
use super::postgres::{Provider, Server, TEMPLATE_PREFIX};

/// The database an init prepares: its variables, and a way to run SQL on it.
pub struct InitTarget {
    pub vars: Vec<(String, String)>,
    pub(super) db: TargetDb,
}

pub(super) enum TargetDb {
    Postgres(Box<Config>),
    Sqlite(std::path::PathBuf),
}

impl InitTarget {
    /// Run a file's statements on the template database.
    pub async fn run_sql(&self, text: &str) -> Result<(), String> {
        match &self.db {
            TargetDb::Postgres(config) => {
                let client = connect(config).await?;
                client.batch_execute(text).await.map_err(|e| describe(&e))
            }
            TargetDb::Sqlite(path) => {
                let (path, text) = (path.clone(), text.to_owned());
                tokio::task::spawn_blocking(move || {
                    let conn = rusqlite::Connection::open(&path).map_err(|e| e.to_string())?;
                    conn.execute_batch(&text).map_err(|e| e.to_string())
                })
                .await
                .map_err(|e| format!("internal error: the SQLite task failed: {e}"))?
            }
        }
    }
}

/// The template's name for a key (hex).
pub fn template_name(key: &str) -> String {
    format!("gaterun_{TEMPLATE_PREFIX}{}", &key[..key.len().min(16)])
}

impl Provider {
    /// The template of `key`, made by `init` unless a complete one is there already (on
    /// `GATERUN_POSTGRES_URL`). Its name, and whether this run built it.
    /// `stop`: the run is ending; a wait for another run's build ends with it.
    pub async fn template<F, Fut>(
        &self,
        key: &str,
        mut stop: tokio::sync::watch::Receiver<bool>,
        init: F,
    ) -> Result<(String, bool), String>
    where
        F: FnOnce(InitTarget) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let server = self.server().await?;
        let name = template_name(key);
        if server.cluster {
            build(server, &name, "gaterun_template", init).await?;
            seal(&server.admin, &name, None).await?;
            return Ok((name, true));
        }
        // One session holds the lock while this run looks and builds; closing it releases it.
        let lock = connect(&server.config)
            .await
            .map_err(|e| format!("failed to connect for the template's lock: {e}"))?;
        let id = lock_id(key);
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&id];
        let locking = lock.execute("SELECT pg_advisory_lock($1)", &params);
        tokio::select! {
            r = locking => {
                r.map_err(|e| format!("failed to lock the template: {}", describe(&e)))?;
            }
            _ = stop.wait_for(|s| *s) => return Err("database init interrupted".to_owned()),
        }
        let mark = format!("gaterun template {key}");
        if complete(&server.admin, &name, &mark).await? {
            return Ok((name, false));
        }
        // What a run that died half-way left.
        let building = format!("{name}_build");
        for leftover in [&name, &building] {
            unmark(&server.admin, leftover).await;
            drop_database_now(&server.admin, leftover)
                .await
                .map_err(|e| format!("failed to drop the unfinished template {leftover}: {e}"))?;
        }
        build(server, &building, "template0", init).await?;
        server
            .admin
            .batch_execute(&format!(
                "ALTER DATABASE {} RENAME TO {}",
                quote(&building),
                quote(&name)
            ))
            .await
            .map_err(|e| format!("failed to rename the template: {}", describe(&e)))?;
        seal(&server.admin, &name, Some(&mark)).await?;
        drop(lock);
        Ok((name, true))
    }
}

/// Create `name` from `source` and run the init on it; on failure, drop it.
async fn build<F, Fut>(server: &Server, name: &str, source: &str, init: F) -> Result<(), String>
where
    F: FnOnce(InitTarget) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let strategy = server.strategy;
    server
        .admin
        .batch_execute(&format!(
            "CREATE DATABASE {} TEMPLATE {source}{strategy}",
            quote(name)
        ))
        .await
        .map_err(|e| format!("failed to create the template database: {}", describe(&e)))?;
    let mut config = server.config.clone();
    config.dbname(name);
    let target = InitTarget {
        vars: variables(&config, name, server.url.as_deref(), server.cluster),
        db: TargetDb::Postgres(Box::new(config)),
    };
    if let Err(e) = init(target).await {
        let _ = drop_database_now(&server.admin, name).await;
        return Err(e);
    }
    Ok(())
}

/// No session on the template and none allowed, then marked a template, and `mark` (the
/// comment that says it is complete) written last.
async fn seal(admin: &Client, name: &str, mark: Option<&str>) -> Result<(), String> {
    let q = quote(name);
    let fail = |e: tokio_postgres::Error| format!("failed to seal the template: {}", describe(&e));
    admin
        .batch_execute(&format!("ALTER DATABASE {q} WITH ALLOW_CONNECTIONS false"))
        .await
        .map_err(fail)?;
    // The init's sessions may still be closing (its processes are gone already).
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let open: i64 = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&name],
            )
            .await
            .map(|r| r.get(0))
            .map_err(fail)?;
        if open == 0 {
            break;
        }
        if Instant::now() > until {
            return Err(format!(
                "failed to seal the template: {open} session(s) stayed on it"
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    admin
        .batch_execute(&format!("ALTER DATABASE {q} WITH IS_TEMPLATE true"))
        .await
        .map_err(fail)?;
    if let Some(mark) = mark {
        admin
            .batch_execute(&format!(
                "COMMENT ON DATABASE {q} IS '{}'",
                mark.replace('\'', "''")
            ))
            .await
            .map_err(fail)?;
    }
    Ok(())
}

/// Whether `name` exists with the comment that marks it complete.
async fn complete(admin: &Client, name: &str, mark: &str) -> Result<bool, String> {
    let row = admin
        .query_opt(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await
        .map_err(|e| format!("failed to look for the template: {}", describe(&e)))?;
    Ok(row.and_then(|r| r.get::<_, Option<String>>(0)).as_deref() == Some(mark))
}

/// A template may not be dropped: make it a database again (if it is there).
async fn unmark(admin: &Client, name: &str) {
    let _ = admin
        .batch_execute(&format!(
            "ALTER DATABASE {} WITH IS_TEMPLATE false",
            quote(name)
        ))
        .await;
}

/// The advisory lock of a key: its first 64 bits.
fn lock_id(key: &str) -> i64 {
    let hex = &key[..key.len().min(16)];
    u64::from_str_radix(hex, 16).unwrap_or(0) as i64
}

/// The target of a SQLite template's init: the template file.
pub fn sqlite_target(path: &std::path::Path) -> InitTarget {
    InitTarget {
        vars: vec![
            ("DATABASE_URL".to_owned(), super::sqlite::url(path)),
            ("DATABASE_PATH".to_owned(), path.display().to_string()),
        ],
        db: TargetDb::Sqlite(path.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_is_named_by_its_key() {
        let key = "0123456789abcdef0123456789abcdef";
        assert_eq!(template_name(key), "gaterun_tpl_0123456789abcdef");
        assert_eq!(lock_id(key), 0x0123_4567_89ab_cdef);
        assert_ne!(lock_id(key), lock_id("1123456789abcdef"));
    }
}
