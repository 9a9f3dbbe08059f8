//! Connections to PostgreSQL and what is said on them in gaterun's own name: connecting,
//! describing an error, quoting an identifier, dropping a database.

use tokio_postgres::{Client, Config, NoTls};

/// Drop a database, ending its sessions.
pub async fn drop_database_now(admin: &Client, name: &str) -> Result<(), String> {
    let quoted = quote(name);
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
pub(super) async fn connect(config: &Config) -> Result<Client, String> {
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
        None => crate::text::error_chain(e),
    }
}

/// An SQL identifier, quoted.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote("reporting"), "\"reporting\"");
        assert_eq!(quote("we\"ird"), "\"we\"\"ird\"");
    }
}
