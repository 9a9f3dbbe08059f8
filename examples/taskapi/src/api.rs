//! The HTTP API: tasks and their state machine, escalations, costs under a cap, jobs, and one
//! task's whole history as evidence.

use rusqlite::{Connection, TransactionBehavior, params};
use serde_json::{Value, json};

use crate::http::{Request, Response};
use crate::{db, integration, tracker};

/// The state machine: new → planned → in_progress → review → done, and review → in_progress.
const ALLOWED: &[(&str, &str)] = &[
    ("new", "planned"),
    ("planned", "in_progress"),
    ("in_progress", "review"),
    ("review", "in_progress"),
    ("review", "done"),
];

/// A number, also when written as a string (`"${TASK}"` in a JSON body).
fn int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.trim().parse().ok())
}

pub fn fault(name: &str) -> bool {
    std::env::var("TASKAPI_FAULT").is_ok_and(|f| f.split(',').any(|x| x.trim() == name))
}

pub fn handle(req: &Request) -> Response {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    if req.method == "GET" && segments == ["healthz"] {
        return Response::text(200, "ok\n");
    }
    let mut conn = match db::open() {
        Ok(c) => c,
        Err(e) => return Response::error(500, e),
    };
    let body: Value = if req.body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => return Response::error(400, format!("the body is not JSON: {e}")),
        }
    };
    let id = |i: usize| segments.get(i).and_then(|s| s.parse::<i64>().ok());
    let result = match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["tasks"]) => list_tasks(&conn, req),
        ("GET", ["stats"]) => stats(&conn).map(|s| Response::json(200, s)),
        ("POST", ["tasks"]) => create_task(&mut conn, &body),
        ("GET", ["tasks", _]) => get_task(&conn, id(1)),
        ("POST", ["tasks", _, "transition"]) => transition(&mut conn, id(1), &body),
        ("POST", ["tasks", _, "escalations"]) => escalate(&mut conn, id(1), &body),
        ("POST", ["escalations", _, "resolve"]) => resolve(&conn, id(1)),
        ("POST", ["tasks", _, "costs"]) => add_cost(&mut conn, id(1), &body),
        ("POST", ["jobs"]) => enqueue(&mut conn, &body),
        ("GET", ["jobs", _]) => get_job(&conn, id(1)),
        // Phase 3: the tracker integration (src/integration.rs).
        ("GET", ["integrations", "tracker"]) => Ok(integration::settings()),
        ("GET", ["notifications"]) => integration::list(&conn, req),
        ("GET", ["notifications", _]) => integration::get(&conn, id(1)),
        ("POST", ["notifications", _, "retry"]) => integration::retry(&conn, id(1)),
        ("GET", ["usage"]) => integration::usage(&conn, req),
        ("GET", ["tasks", _, "evidence"]) => {
            evidence(&conn, id(1)).map(|r| download(r, req, id(1)))
        }
        _ => Ok(Response::error(
            404,
            format!("no route for {} {}", req.method, req.path),
        )),
    };
    result.unwrap_or_else(|e| Response::error(500, e.to_string()))
}

type Handled = Result<Response, rusqlite::Error>;

/// The states a task may move to from `from`, in the order of the state machine.
pub fn next_states(from: &str) -> impl Iterator<Item = &'static str> + '_ {
    ALLOWED
        .iter()
        .filter(move |(f, _)| *f == from)
        .map(|(_, t)| *t)
}

/// The tasks whose title contains `q` (every task for ""), newest first.
pub fn tasks(conn: &Connection, q: &str) -> Result<Vec<Value>, rusqlite::Error> {
    let mut stmt =
        conn.prepare("SELECT id FROM tasks WHERE instr(title, ?1) > 0 ORDER BY id DESC")?;
    let ids: Vec<i64> = stmt
        .query_map([q], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids
        .into_iter()
        .filter_map(|id| db::task_json(conn, id).ok().flatten())
        .collect())
}

fn list_tasks(conn: &Connection, req: &Request) -> Handled {
    Ok(Response::json(
        200,
        Value::Array(tasks(conn, &req.query_value("q"))?),
    ))
}

/// What the status page shows: tasks by state, open escalations, jobs by state.
pub fn stats(conn: &Connection) -> Result<Value, rusqlite::Error> {
    let count = |sql: &str, key: &str| -> Result<i64, rusqlite::Error> {
        conn.query_row(sql, [key], |r| r.get(0))
    };
    let mut tasks = serde_json::Map::new();
    for state in ["new", "planned", "in_progress", "review", "done"] {
        let n = count("SELECT count(*) FROM tasks WHERE state = ?1", state)?;
        tasks.insert(state.to_owned(), json!(n));
    }
    let total: i64 = conn.query_row("SELECT count(*) FROM tasks", [], |r| r.get(0))?;
    tasks.insert("total".to_owned(), json!(total));
    let mut jobs = serde_json::Map::new();
    for state in ["queued", "running", "done", "dead"] {
        let n = count("SELECT count(*) FROM jobs WHERE state = ?1", state)?;
        jobs.insert(state.to_owned(), json!(n));
    }
    Ok(json!({
        "tasks": tasks,
        "open_escalations": count("SELECT count(*) FROM escalations WHERE state = ?1", "open")?,
        "jobs": jobs,
    }))
}

/// `?download` asks for the evidence as a file to keep.
fn download(response: Response, req: &Request, id: Option<i64>) -> Response {
    if response.status != 200 || !req.query_has("download") {
        return response;
    }
    let name = format!("task-{}-evidence.json", id.unwrap_or(0));
    response.with(
        "Content-Disposition",
        format!("attachment; filename=\"{name}\""),
    )
}

fn not_found(what: &str) -> Response {
    Response::error(404, format!("no such {what}"))
}

fn create_task(conn: &mut Connection, body: &Value) -> Handled {
    let Some(title) = body["title"].as_str().filter(|t| !t.trim().is_empty()) else {
        return Ok(Response::error(422, "a task needs a non-empty title"));
    };
    let cap = int(&body["cost_cap"]).unwrap_or(100);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let id = db::next_id(&tx, "tasks")?;
    tx.execute(
        "INSERT INTO tasks (id, title, state, cost_cap, created_at) VALUES (?1, ?2, 'new', ?3, ?4)",
        params![id, title, cap, db::now_text()],
    )?;
    tx.commit()?;
    Ok(Response::json(
        201,
        db::task_json(conn, id)?.unwrap_or_default(),
    ))
}

fn get_task(conn: &Connection, id: Option<i64>) -> Handled {
    match id.map(|id| db::task_json(conn, id)).transpose()?.flatten() {
        Some(t) => Ok(Response::json(200, t)),
        None => Ok(not_found("task")),
    }
}

fn transition(conn: &mut Connection, id: Option<i64>, body: &Value) -> Handled {
    let Some(id) = id else {
        return Ok(not_found("task"));
    };
    let Some(to) = body["to"].as_str() else {
        return Ok(Response::error(422, "a transition needs `to`"));
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(task) = db::task_json(&tx, id)? else {
        return Ok(not_found("task"));
    };
    let from = task["state"].as_str().unwrap_or("").to_owned();
    if !fault("allow-invalid-transitions") && !ALLOWED.contains(&(from.as_str(), to)) {
        return Ok(Response::error(
            409,
            format!("invalid transition {from} -> {to}"),
        ));
    }
    let open: Option<i64> = tx
        .query_row(
            "SELECT id FROM escalations WHERE task_id = ?1 AND state = 'open' ORDER BY id LIMIT 1",
            [id],
            |r| r.get(0),
        )
        .ok();
    if let Some(e) = open {
        return Ok(Response::error(
            409,
            format!("blocked by open escalation {e}"),
        ));
    }
    if let Err(e) = tx.execute("UPDATE tasks SET state = ?1 WHERE id = ?2", params![to, id]) {
        return Ok(Response::error(
            422,
            format!("the store refused state {to}: {e}"),
        ));
    }
    // The tracker hears of a done task: queued with the move, sent by the delivery loop.
    if to == "done" {
        tracker::enqueue(&tx, id, "done")?;
    }
    let audit = db::next_id(&tx, "audit_log")?;
    tx.execute(
        "INSERT INTO audit_log (id, task_id, from_state, to_state, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![audit, id, from, to, db::now_text()],
    )?;
    tx.commit()?;
    Ok(Response::json(
        200,
        db::task_json(conn, id)?.unwrap_or_default(),
    ))
}

fn escalate(conn: &mut Connection, id: Option<i64>, body: &Value) -> Handled {
    let Some(id) = id else {
        return Ok(not_found("task"));
    };
    let reason = body["reason"].as_str().unwrap_or("unspecified");
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if db::task_json(&tx, id)?.is_none() {
        return Ok(not_found("task"));
    }
    let eid = db::next_id(&tx, "escalations")?;
    tx.execute(
        "INSERT INTO escalations (id, task_id, reason, state, created_at) VALUES (?1, ?2, ?3, 'open', ?4)",
        params![eid, id, reason, db::now_text()],
    )?;
    tx.commit()?;
    Ok(Response::json(
        201,
        json!({ "id": eid, "task_id": id, "reason": reason, "state": "open" }),
    ))
}

fn resolve(conn: &Connection, id: Option<i64>) -> Handled {
    let Some(id) = id else {
        return Ok(not_found("escalation"));
    };
    let changed = conn.execute(
        "UPDATE escalations SET state = 'resolved' WHERE id = ?1",
        [id],
    )?;
    if changed == 0 {
        return Ok(not_found("escalation"));
    }
    Ok(Response::json(
        200,
        json!({ "id": id, "state": "resolved" }),
    ))
}

/// The cost policy, enforced at runtime: a task's costs never exceed its cap.
fn add_cost(conn: &mut Connection, id: Option<i64>, body: &Value) -> Handled {
    let Some(id) = id else {
        return Ok(not_found("task"));
    };
    let Some(amount) = int(&body["amount"]).filter(|a| *a > 0) else {
        return Ok(Response::error(422, "a cost needs a positive `amount`"));
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(task) = db::task_json(&tx, id)? else {
        return Ok(not_found("task"));
    };
    let cap = task["cost_cap"].as_i64().unwrap_or(0);
    let spent: i64 = tx.query_row(
        "SELECT COALESCE(SUM(amount), 0) FROM costs WHERE task_id = ?1",
        [id],
        |r| r.get(0),
    )?;
    if spent + amount > cap {
        return Ok(Response::error(
            422,
            format!("cost cap exceeded: {spent} + {amount} > {cap}"),
        ));
    }
    let cid = db::next_id(&tx, "costs")?;
    tx.execute(
        "INSERT INTO costs (id, task_id, amount, at) VALUES (?1, ?2, ?3, ?4)",
        params![cid, id, amount, db::now_text()],
    )?;
    tx.commit()?;
    Ok(Response::json(
        201,
        json!({ "id": cid, "task_id": id, "amount": amount, "spent": spent + amount, "cap": cap }),
    ))
}

fn enqueue(conn: &mut Connection, body: &Value) -> Handled {
    let (Some(task), Some(kind), Some(key)) = (
        int(&body["task_id"]),
        body["kind"].as_str(),
        body["idempotency_key"].as_str(),
    ) else {
        return Ok(Response::error(
            422,
            "a job needs task_id, kind and idempotency_key",
        ));
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if db::task_json(&tx, task)?.is_none() {
        return Ok(not_found("task"));
    }
    let existing: Option<i64> = tx
        .query_row(
            "SELECT id FROM jobs WHERE idempotency_key = ?1",
            [key],
            |r| r.get(0),
        )
        .ok();
    if let Some(j) = existing {
        return Ok(Response::error(
            409,
            format!("duplicate idempotency key: job {j} has it"),
        ));
    }
    let jid = db::next_id(&tx, "jobs")?;
    tx.execute(
        "INSERT INTO jobs (id, task_id, kind, idempotency_key, state, created_at) VALUES (?1, ?2, ?3, ?4, 'queued', ?5)",
        params![jid, task, kind, key, db::now_text()],
    )?;
    tx.commit()?;
    get_job(conn, Some(jid)).map(|r| Response { status: 201, ..r })
}

fn get_job(conn: &Connection, id: Option<i64>) -> Handled {
    let Some(id) = id else {
        return Ok(not_found("job"));
    };
    let rows = db::rows(
        conn,
        "SELECT id, task_id, kind, state, attempts, result, last_error FROM jobs WHERE id = ?1",
        id,
    )?;
    match rows.into_iter().next() {
        Some(j) => Ok(Response::json(200, j)),
        None => Ok(not_found("job")),
    }
}

/// One task's whole history: the task, every transition, escalation, cost and job.
pub fn evidence_json(conn: &Connection, id: i64) -> Result<Option<Value>, rusqlite::Error> {
    let Some(task) = db::task_json(conn, id)? else {
        return Ok(None);
    };
    Ok(Some(json!({
        "task": task,
        "transitions": db::rows(conn, "SELECT from_state, to_state, at FROM audit_log WHERE task_id = ?1 ORDER BY id", id)?,
        "escalations": db::rows(conn, "SELECT id, reason, state FROM escalations WHERE task_id = ?1 ORDER BY id", id)?,
        "costs": db::rows(conn, "SELECT amount, at FROM costs WHERE task_id = ?1 ORDER BY id", id)?,
        "jobs": db::rows(conn, "SELECT id, kind, state, attempts, result FROM jobs WHERE task_id = ?1 ORDER BY id", id)?,
    })))
}

fn evidence(conn: &Connection, id: Option<i64>) -> Handled {
    match id.map(|id| evidence_json(conn, id)).transpose()?.flatten() {
        Some(e) => Ok(Response::json(200, e)),
        None => Ok(not_found("task")),
    }
}
