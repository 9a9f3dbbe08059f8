//! A `sql` step's statement on PostgreSQL: rows read as cells (`pgcell` decodes what it can),
//! the cells gaterun cannot decode printed by the server itself.

use serde_json::Value;
use tokio_postgres::Client;
use tokio_postgres::types::{FromSql, IsNull, Kind, ToSql, Type};

use super::pgcell::decode;
use super::pgclient::describe;
use super::value::SqlOutcome;

type Error = Box<dyn std::error::Error + Sync + Send>;

/// A cell as read from a row: its value, or the binary form of one for the server to print.
pub enum Cell {
    Value(Value),
    Raw(Type, Vec<u8>),
}

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Error> {
        Ok(match decode(ty, raw)? {
            Some(v) => Cell::Value(v),
            None => Cell::Raw(ty.clone(), raw.to_vec()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, Error> {
        Ok(Cell::Value(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Cells of types gaterun cannot decode, printed by the server; the statement that prints each
/// type is prepared once per call.
pub async fn resolve(client: &Client, rows: Vec<Vec<Cell>>) -> Result<Vec<Vec<Value>>, String> {
    let mut printers: Vec<(Type, tokio_postgres::Statement)> = Vec::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut cells = Vec::with_capacity(row.len());
        for cell in row {
            cells.push(match cell {
                Cell::Value(v) => v,
                Cell::Raw(ty, raw) => Value::String(print(client, &mut printers, &ty, &raw).await?),
            });
        }
        out.push(cells);
    }
    Ok(out)
}

async fn print(
    client: &Client,
    printers: &mut Vec<(Type, tokio_postgres::Statement)>,
    ty: &Type,
    raw: &[u8],
) -> Result<String, String> {
    // A pseudo-type (an anonymous `record`) cannot be a parameter, and a failed statement would
    // abort the gate's open transaction.
    if matches!(ty.kind(), Kind::Pseudo)
        || matches!(ty.kind(), Kind::Array(m) if matches!(m.kind(), Kind::Pseudo))
    {
        return Err(format!(
            "gaterun cannot read a value of type {}: cast it in the statement (`::text`)",
            ty.name()
        ));
    }
    let failed = |e: tokio_postgres::Error| {
        format!(
            "PostgreSQL could not print a value of type {}: {}",
            ty.name(),
            describe(&e)
        )
    };
    let stmt = match printers.iter().find(|(t, _)| t == ty) {
        Some((_, s)) => s.clone(),
        None => {
            let s = client
                .prepare_typed("SELECT $1::text", std::slice::from_ref(ty))
                .await
                .map_err(failed)?;
            printers.push((ty.clone(), s.clone()));
            s
        }
    };
    let row = client
        .query_one(&stmt, &[&Binary(raw)])
        .await
        .map_err(failed)?;
    row.try_get::<_, String>(0).map_err(|e| e.to_string())
}

/// A value already in PostgreSQL's binary form, sent back as it came.
#[derive(Debug)]
struct Binary<'a>(&'a [u8]);

impl ToSql for Binary<'_> {
    fn to_sql(&self, _: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Error> {
        out.extend_from_slice(self.0);
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}
/// Run a statement for a `sql` step.
pub async fn run(client: &Client, statement: &str, wants_rows: bool) -> SqlOutcome {
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
                    match row.try_get::<_, Cell>(i) {
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
            match resolve(client, out).await {
                Ok(rows) => SqlOutcome::Rows { columns, rows },
                Err(e) => SqlOutcome::Failed(format!("failed to read a cell: {e}")),
            }
        }
    }
}
