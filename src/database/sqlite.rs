//! SQLite statements for `sql` steps (rusqlite, bundled), run off the async threads.

use std::path::Path;

use rusqlite::types::ValueRef;

use super::value::{SqlOutcome, bytes_cell, float_cell};

/// `DATABASE_URL` for a database file: `sqlite:` and `//`, then the absolute path, so four
/// slashes in all. SQLAlchemy (and Django's `dj-database-url`) read `sqlite:///tmp/x` as the
/// relative path `tmp/x` and need `sqlite:////tmp/x`; dbmate reads both forms as `/tmp/x`; sqlx
/// and code that strips `sqlite://` get `//tmp/x`, the same file on Linux.
pub fn url(path: &Path) -> String {
    format!("sqlite:///{}", path.display())
}

/// Run one statement (or, when nothing is expected of its rows, a batch of them).
pub fn run(path: &Path, statement: &str, wants_rows: bool) -> SqlOutcome {
    let conn = match rusqlite::Connection::open(path) {
        Ok(c) => c,
        Err(e) => return SqlOutcome::Failed(format!("failed to open {}: {e}", path.display())),
    };
    let _ = conn.busy_timeout(std::time::Duration::from_secs(5));
    if !wants_rows {
        return match conn.execute_batch(statement) {
            Ok(()) => SqlOutcome::Rows {
                columns: Vec::new(),
                rows: Vec::new(),
            },
            Err(e) => SqlOutcome::Failed(message(&e)),
        };
    }
    let mut stmt = match conn.prepare(statement) {
        Ok(s) => s,
        Err(e) => return SqlOutcome::Failed(message(&e)),
    };
    let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let width = columns.len();
    let mut rows_out = Vec::new();
    let mut rows = match stmt.query([]) {
        Ok(r) => r,
        Err(e) => return SqlOutcome::Failed(message(&e)),
    };
    loop {
        match rows.next() {
            Ok(Some(row)) => {
                let mut cells = Vec::with_capacity(width);
                for i in 0..width {
                    cells.push(match row.get_ref(i) {
                        Ok(v) => cell(v),
                        Err(e) => return SqlOutcome::Failed(message(&e)),
                    });
                }
                rows_out.push(cells);
            }
            Ok(None) => break,
            Err(e) => return SqlOutcome::Failed(message(&e)),
        }
    }
    SqlOutcome::Rows {
        columns,
        rows: rows_out,
    }
}

fn message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        other => other.to_string(),
    }
}

fn cell(v: ValueRef<'_>) -> serde_json::Value {
    match v {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => serde_json::Value::from(i),
        ValueRef::Real(f) => float_cell(f),
        ValueRef::Text(t) => serde_json::Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => bytes_cell(b),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_url_has_four_slashes_before_an_absolute_path() {
        let url = super::url(std::path::Path::new("/tmp/gate-1/gate.sqlite3"));
        assert_eq!(url, "sqlite:////tmp/gate-1/gate.sqlite3");
        assert_ne!(
            url, "sqlite:///tmp/gate-1/gate.sqlite3",
            "SQLAlchemy: relative"
        );
    }
}
