//! What the API shows of the tracker integration: its settings (never its credentials), the
//! notifications and their dead letters, a dead letter sent again, and what the calls cost.

use rusqlite::{Connection, params};
use serde_json::{Value, json};

use crate::http::{Request, Response};
use crate::{db, tracker, webhook};

type Handled = Result<Response, rusqlite::Error>;

const COLUMNS: &str =
    "id, task_id, event, idempotency_key, state, attempts, last_status, last_error, external_id";

/// `GET /integrations/tracker`: whether it is on, where it sends, its retry policy; the token
/// and the webhook secret only as set or not.
pub fn settings() -> Response {
    let set = |yes: bool| if yes { "set" } else { "missing" };
    Response::json(
        200,
        json!({
            "enabled": tracker::url().is_some(),
            "url": tracker::url(),
            "max_attempts": tracker::max_attempts(),
            "backoff_ms": tracker::backoff_base_ms(),
            "token": set(std::env::var("TRACKER_TOKEN").is_ok_and(|t| !t.is_empty())),
            "webhook_secret": set(webhook::secret_set()),
        }),
    )
}

/// `GET /notifications[?state=S][&task=N]`, oldest first.
pub fn list(conn: &Connection, req: &Request) -> Handled {
    let state = req.query_value("state");
    let task: i64 = req.query_value("task").parse().unwrap_or(0);
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE (?1 = '' OR state = ?1) AND (?2 = 0 OR task_id = ?2) ORDER BY id"
    ))?;
    let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let rows = stmt.query_map(params![state, task], |r| {
        let mut obj = serde_json::Map::new();
        for (i, name) in names.iter().enumerate() {
            let v = match r.get_ref(i)? {
                rusqlite::types::ValueRef::Integer(n) => json!(n),
                rusqlite::types::ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                _ => Value::Null,
            };
            obj.insert(name.clone(), v);
        }
        Ok(Value::Object(obj))
    })?;
    Ok(Response::json(
        200,
        Value::Array(rows.collect::<Result<_, _>>()?),
    ))
}

pub fn get(conn: &Connection, id: Option<i64>) -> Handled {
    let rows = db::rows(
        conn,
        &format!("SELECT {COLUMNS} FROM notifications WHERE id = ?1"),
        id.unwrap_or(0),
    )?;
    Ok(match rows.into_iter().next() {
        Some(n) => Response::json(200, n),
        None => Response::error(404, "no such notification"),
    })
}

/// `POST /notifications/{id}/retry`: a dead letter goes back to the queue, its tries counted
/// afresh.
pub fn retry(conn: &Connection, id: Option<i64>) -> Handled {
    let id = id.unwrap_or(0);
    let changed = conn.execute(
        "UPDATE notifications SET state = 'pending', attempts = 0, next_at = 0 WHERE id = ?1 AND state = 'dead'",
        [id],
    )?;
    if changed == 0 {
        return Ok(match get(conn, Some(id))? {
            r if r.status == 404 => r,
            _ => Response::error(409, format!("notification {id} is not dead")),
        });
    }
    get(conn, Some(id))
}

/// `GET /usage[?task=N]`: what the tracker's answers said the calls cost, summed.
pub fn usage(conn: &Connection, req: &Request) -> Handled {
    let task: i64 = req.query_value("task").parse().unwrap_or(0);
    conn.query_row(
        "SELECT count(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cost_micros), 0)
         FROM api_usage WHERE ?1 = 0 OR task_id = ?1",
        [task],
        |r| {
            let micros: i64 = r.get(3)?;
            Ok(Response::json(
                200,
                json!({
                    "calls": r.get::<_, i64>(0)?,
                    "input_tokens": r.get::<_, i64>(1)?,
                    "output_tokens": r.get::<_, i64>(2)?,
                    "cost_micros": micros,
                    "cost_usd": format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000),
                }),
            ))
        },
    )
}
