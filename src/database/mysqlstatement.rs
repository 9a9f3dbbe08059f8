//! A `sql` step's text on MySQL or MariaDB, sent as it is (the text protocol, several
//! statements allowed as in the other kinds): the rows of a statement whose result the step
//! looks at, read as typed cells (`mysqlcell`), or the server's refusal.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value as MyValue};
use serde_json::Value;

use super::mysqlcell::cell;
use super::value::SqlOutcome;

/// Run a statement for a `sql` step. `wants_rows`: the step looks at the result, so the text
/// must be one statement (which of several results would it mean?).
pub async fn run(conn: &mut Conn, statement: &str, wants_rows: bool) -> SqlOutcome {
    match read(conn, statement, wants_rows).await {
        Ok(Some((columns, rows))) if wants_rows => SqlOutcome::Rows { columns, rows },
        Ok(_) => SqlOutcome::Rows {
            columns: Vec::new(),
            rows: Vec::new(),
        },
        Err(message) => SqlOutcome::Failed(message),
    }
}

type Rows = (Vec<String>, Vec<Vec<Value>>);

async fn read(conn: &mut Conn, statement: &str, wants_rows: bool) -> Result<Option<Rows>, String> {
    let mut result = conn.query_iter(statement).await.map_err(|e| describe(&e))?;
    let mut first: Option<Rows> = None;
    let mut sets = 0;
    // An INSERT or CREATE alone has no result set; `first` is then no rows of no columns.
    while !result.is_empty() {
        let columns = result.columns();
        let rows: Vec<Row> = result.collect().await.map_err(|e| describe(&e))?;
        sets += 1;
        if first.is_none() && wants_rows {
            first = Some(cells(columns.as_deref().unwrap_or(&[]), rows)?);
        }
    }
    // A later statement's refusal is held as the result's pending error, which `is_empty`
    // does not show: reading the result to its end surfaces it (`CREATE …; INSERT dup`).
    result.drop_result().await.map_err(|e| describe(&e))?;
    if sets > 1 && wants_rows {
        return Err(format!(
            "the text holds {sets} statements: a `sql` step that checks rows or captures runs one statement"
        ));
    }
    Ok(Some(first.unwrap_or_default()))
}

fn cells(columns: &[mysql_async::Column], rows: Vec<Row>) -> Result<Rows, String> {
    let names: Vec<String> = columns.iter().map(|c| c.name_str().into_owned()).collect();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut cells = Vec::with_capacity(columns.len());
        for (column, value) in columns.iter().zip(row.unwrap_raw()) {
            let raw = match &value {
                None | Some(MyValue::NULL) => None,
                Some(MyValue::Bytes(b)) => Some(b.as_slice()),
                Some(other) => {
                    return Err(format!(
                        "failed to read column {}: unexpected value {other:?}",
                        column.name_str()
                    ));
                }
            };
            let value = cell(column.column_type(), column.character_set(), raw)
                .map_err(|e| format!("failed to read column {}: {e}", column.name_str()))?;
            cells.push(value);
        }
        out.push(cells);
    }
    Ok((names, out))
}

/// A server's refusal as its client prints it (`ERROR 1062 (23000): Duplicate entry…`, so an
/// `error:` may match the code), else the error and its causes.
pub fn describe(e: &mysql_async::Error) -> String {
    match e {
        mysql_async::Error::Server(s) => format!("ERROR {} ({}): {}", s.code, s.state, s.message),
        // Each level of an I/O error says "Input/output error: " again: its innermost cause
        // (`Connection refused (os error 111)`) is the news.
        mysql_async::Error::Io(io) => {
            let mut inner: &dyn std::error::Error = io;
            while let Some(s) = inner.source() {
                inner = s;
            }
            inner.to_string()
        }
        other => crate::text::error_chain(other),
    }
}
