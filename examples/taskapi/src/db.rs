//! The store: SQLite in WAL mode, migrations from `migrations/*.sql` (plain SQL that PostgreSQL
//! accepts too), and every change in a transaction so a SIGKILL never leaves half of one.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "tasks", include_str!("../migrations/001_tasks.sql")),
    (
        2,
        "escalations_costs",
        include_str!("../migrations/002_escalations_costs.sql"),
    ),
    (3, "jobs", include_str!("../migrations/003_jobs.sql")),
    (
        4,
        "integrations",
        include_str!("../migrations/004_integrations.sql"),
    ),
];

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn now_text() -> String {
    let ms = now_ms();
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// The database file from `DATABASE_PATH`, or from a `sqlite://` `DATABASE_URL`.
pub fn path() -> Result<String, String> {
    if let Ok(p) = std::env::var("DATABASE_PATH") {
        return Ok(p);
    }
    match std::env::var("DATABASE_URL") {
        Ok(url) => url
            .strip_prefix("sqlite://")
            .map(str::to_owned)
            .ok_or_else(|| format!("taskapi stores tasks in SQLite; DATABASE_URL is {url}")),
        Err(_) => Err("set DATABASE_PATH (or DATABASE_URL=sqlite://PATH)".to_owned()),
    }
}

pub fn open() -> Result<Connection, String> {
    let path = path()?;
    let conn = Connection::open(&path).map_err(|e| format!("failed to open {path}: {e}"))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| e.to_string())?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// Apply the migrations not applied yet; returns (applied now, version now).
pub fn migrate(conn: &mut Connection) -> Result<(usize, i64), String> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        .map_err(|e| e.to_string())?;
    let current: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    let mut applied = 0;
    for (version, name, sql) in MIGRATIONS {
        if *version <= current {
            continue;
        }
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        tx.execute_batch(sql)
            .map_err(|e| format!("migration {version} ({name}) failed: {e}"))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![version, name, now_text()],
        )
        .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
        applied += 1;
    }
    Ok((applied, current.max(MIGRATIONS.last().map_or(0, |m| m.0))))
}

pub fn task_json(conn: &Connection, id: i64) -> Result<Option<Value>, rusqlite::Error> {
    conn.query_row(
        "SELECT id, title, state, cost_cap, created_at FROM tasks WHERE id = ?1",
        [id],
        |r| {
            Ok(json!({
                "id": r.get::<_, i64>(0)?,
                "title": r.get::<_, String>(1)?,
                "state": r.get::<_, String>(2)?,
                "cost_cap": r.get::<_, i64>(3)?,
                "created_at": r.get::<_, String>(4)?,
            }))
        },
    )
    .optional()
}

/// The next id of a table: portable (no AUTOINCREMENT or IDENTITY), safe inside an
/// IMMEDIATE transaction.
pub fn next_id(conn: &Connection, table: &str) -> Result<i64, rusqlite::Error> {
    conn.query_row(
        &format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table}"),
        [],
        |r| r.get(0),
    )
}

/// Rows of a query as JSON objects keyed by column name.
pub fn rows(conn: &Connection, sql: &str, id: i64) -> Result<Vec<Value>, rusqlite::Error> {
    let mut stmt = conn.prepare(sql)?;
    let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let mut out = Vec::new();
    let mut q = stmt.query([id])?;
    while let Some(row) = q.next()? {
        let mut obj = serde_json::Map::new();
        for (i, name) in names.iter().enumerate() {
            let v = match row.get_ref(i)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(n) => json!(n),
                rusqlite::types::ValueRef::Real(f) => json!(f),
                rusqlite::types::ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                rusqlite::types::ValueRef::Blob(_) => Value::Null,
            };
            obj.insert(name.clone(), v);
        }
        out.push(Value::Object(obj));
    }
    Ok(out)
}
