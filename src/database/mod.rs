//! Fresh databases: every gate that asks gets one nobody else has touched, and nothing is left
//! behind. SQLite is a new file in the gate's temp directory; PostgreSQL is a new database on
//! `GATERUN_POSTGRES_URL` or on a throw-away cluster this run starts on first use; the roles,
//! tablespaces and databases a gate creates there go when it ends (`global`).

pub mod global;
pub mod pgcell;
pub mod postgres;
pub mod sqlite;

use std::path::Path;

use crate::config::DatabaseKind;

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
        ticket: global::Ticket,
    },
}

/// The database a gate asked for, and the variables that describe it.
pub async fn provision(
    kind: DatabaseKind,
    pg: &postgres::Provider,
    token: &str,
    tmp: &Path,
) -> Result<(GateDb, Vec<(String, String)>), String> {
    match kind {
        DatabaseKind::Sqlite => {
            let path = tmp.join("gate.sqlite3");
            let vars = vec![
                ("DATABASE_URL".to_owned(), sqlite::url(&path)),
                ("DATABASE_PATH".to_owned(), path.display().to_string()),
            ];
            Ok((GateDb::Sqlite { path }, vars))
        }
        DatabaseKind::Postgres => {
            let (name, config, vars, ticket) = pg.create_database(token).await?;
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
    }
}

/// Drop the gate's database, and what it created beside it (a SQLite file goes with the temp
/// directory). Lines for the gate's log: what was dropped, what could not be.
pub async fn release(db: GateDb, pg: &postgres::Provider) -> Vec<String> {
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
        GateDb::Sqlite { .. } => Vec::new(),
    }
}

/// What a statement did.
#[derive(Debug)]
pub enum SqlOutcome {
    Rows {
        columns: Vec<String>,
        rows: Vec<Vec<serde_json::Value>>,
    },
    /// The database refused the statement: its message.
    Failed(String),
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
        GateDb::Postgres { client, config, .. } => {
            if client.is_none() {
                *client = Some(postgres::connect_gate(config).await?);
            }
            let client = client.as_ref().expect("connected above");
            Ok(postgres::run(client, statement, wants_rows).await)
        }
    }
}

/// A floating-point cell. JSON has no infinities or NaN, so they are the strings PostgreSQL
/// prints (`Infinity`, `-Infinity`, `NaN`): never null, never a number.
pub fn float_cell(f: f64) -> serde_json::Value {
    if f.is_nan() {
        return serde_json::Value::from("NaN");
    }
    match serde_json::Number::from_f64(f) {
        Some(n) => serde_json::Value::Number(n),
        None if f > 0.0 => serde_json::Value::from("Infinity"),
        None => serde_json::Value::from("-Infinity"),
    }
}

/// A BLOB or `bytea` cell: `{"bytes": "<lower-case hex>"}`, an object, so no string (not `"A"`,
/// not psql's `"\x41"`) ever equals binary data.
pub fn bytes_cell(b: &[u8]) -> serde_json::Value {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    serde_json::json!({ "bytes": hex })
}
