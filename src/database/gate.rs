//! A gate's database through its life: provisioned with the variables that describe it,
//! statements run on it (the gate's own PostgreSQL connection opened on the first), released
//! when the gate ends.

use std::path::Path;

use crate::config::DatabaseKind;

use super::global::Ticket;
use super::mysql::{self, MysqlDb};
use super::pgclient::connect_gate;
use super::pgstatement;
use super::postgres::Provider;
use super::sqlite;
use super::value::SqlOutcome;

/// A gate's database, while the gate runs.
pub enum GateDb {
    Sqlite {
        path: std::path::PathBuf,
    },
    Postgres {
        /// The gate's own connection, opened on its first `sql` step.
        client: Option<tokio_postgres::Client>,
        config: Box<tokio_postgres::Config>,
        name: String,
        /// The gate's place among the gates on the server.
        ticket: Ticket,
    },
    /// A stage's PostgreSQL database, used by one of its gates: its own connection, and no
    /// drop at the gate's end (the stage releases it after its last gate).
    PostgresShared {
        client: Option<tokio_postgres::Client>,
        config: Box<tokio_postgres::Config>,
    },
    /// A MySQL database: the gate's own, or a stage's used by one of its gates.
    Mysql(Box<MysqlDb>),
}

impl GateDb {
    /// The same database for a gate of the stage: its own connection, not its release.
    pub fn share(&self) -> GateDb {
        match self {
            GateDb::Sqlite { path } => GateDb::Sqlite { path: path.clone() },
            GateDb::Postgres { config, .. } | GateDb::PostgresShared { config, .. } => {
                GateDb::PostgresShared {
                    client: None,
                    config: config.clone(),
                }
            }
            GateDb::Mysql(db) => GateDb::Mysql(Box::new(db.share())),
        }
    }
}

/// A template a gate's database is copied from (see `pgtemplate`, runner/templates.rs).
#[derive(Debug, Clone)]
pub enum Template {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

/// The database a gate asked for, empty or a copy of `template`, and the variables that
/// describe it.
pub async fn provision(
    kind: DatabaseKind,
    template: Option<&Template>,
    pg: &Provider,
    my: &mysql::Provider,
    token: &str,
    tmp: &Path,
) -> Result<(GateDb, Vec<(String, String)>), String> {
    let pg_template = match template {
        Some(Template::Postgres(name)) => Some(name.as_str()),
        _ => None,
    };
    match kind {
        DatabaseKind::Sqlite => {
            let path = tmp.join("gate.sqlite3");
            if let Some(Template::Sqlite(from)) = template {
                std::fs::copy(from, &path).map_err(|e| {
                    format!(
                        "failed to copy the template database {}: {e}",
                        from.display()
                    )
                })?;
            }
            let vars = vec![
                ("DATABASE_URL".to_owned(), sqlite::url(&path)),
                ("DATABASE_PATH".to_owned(), path.display().to_string()),
            ];
            Ok((GateDb::Sqlite { path }, vars))
        }
        DatabaseKind::Postgres => {
            let (name, config, vars, ticket) = pg.create_database(token, pg_template).await?;
            Ok((
                GateDb::Postgres {
                    client: None,
                    config: Box::new(config),
                    name,
                    ticket,
                },
                vars,
            ))
        }
        DatabaseKind::Mysql => {
            let (db, vars) = my.create_database(token).await?;
            Ok((GateDb::Mysql(Box::new(db)), vars))
        }
    }
}

/// Drop the gate's database, and what it created beside it (a SQLite file goes with the temp
/// directory). Lines for the gate's log: what was dropped, what could not be.
pub async fn release(db: GateDb, pg: &Provider, my: &mysql::Provider) -> Vec<String> {
    match db {
        GateDb::Postgres {
            client,
            name,
            ticket,
            ..
        } => {
            drop(client);
            pg.release(&name, ticket).await
        }
        GateDb::Mysql(db) => my.release(*db).await,
        GateDb::Sqlite { .. } | GateDb::PostgresShared { .. } => Vec::new(),
    }
}

/// Run a statement on the gate's database. `wants_rows`: the step looks at the result, so it
/// must be a single statement; otherwise a batch of statements may run.
pub async fn execute(
    db: &mut GateDb,
    statement: &str,
    wants_rows: bool,
) -> Result<SqlOutcome, String> {
    match db {
        GateDb::Sqlite { path } => {
            let path = path.clone();
            let statement = statement.to_owned();
            tokio::task::spawn_blocking(move || sqlite::run(&path, &statement, wants_rows))
                .await
                .map_err(|e| format!("internal error: the SQLite task failed: {e}"))
        }
        GateDb::Postgres { client, config, .. } | GateDb::PostgresShared { client, config } => {
            if client.is_none() {
                *client = Some(connect_gate(config).await?);
            }
            let client = client.as_ref().expect("connected above");
            Ok(pgstatement::run(client, statement, wants_rows).await)
        }
        GateDb::Mysql(db) => db.execute(statement, wants_rows).await,
    }
}
