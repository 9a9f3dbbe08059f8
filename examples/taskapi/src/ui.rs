//! The UI (the method's Phase 2): plain HTML pages rendered here, from the store, and one small
//! script (`ui/app.js`) that calls the JSON API for what changes state. No build step: the
//! files are compiled into the binary. Every value from the store is HTML-escaped; the pages
//! allow scripts from the service only (no inline script), so a task titled `<script>` is text.
//!
//! Faults for gaterun's UI gates to catch (`TASKAPI_FAULT`, comma-separated):
//! `ui-stale-list` — after creating a task the list is not refreshed, so the new task does not
//! appear; `ui-console-error` — the status page looks right but its script logs an error to the
//! console.

mod forms;

use rusqlite::Connection;
use serde_json::Value;

use crate::api::{self, fault};
use crate::auth;
use crate::db;
use crate::http::{Request, Response, random_hex};

const APP_JS: &str = include_str!("../ui/app.js");
const STYLE_CSS: &str = include_str!("../ui/style.css");
const ICON_SVG: &str = include_str!("../ui/icon.svg");
const FAULTS: &[&str] = &["ui-stale-list", "ui-console-error"];

pub fn page(req: &Request) -> Response {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    if req.method == "POST" {
        return forms::submit(req, &segments);
    }
    if req.method != "GET" {
        return not_found(req, 404, "No such page.");
    }
    match segments.as_slice() {
        ["ui", "login"] => login_page(200, None),
        ["ui", "app.js"] => script(),
        ["ui", "icon.svg"] => Response::of(200, "image/svg+xml", ICON_SVG.to_owned()),
        _ => with_store(req, &segments),
    }
}

fn with_store(req: &Request, segments: &[&str]) -> Response {
    let id = segments.get(2).and_then(|s| s.parse::<i64>().ok());
    render(|conn| match (segments, id) {
        (["ui"], _) => dashboard(conn, req),
        (["ui", "tasks"], _) => list(conn, req, 200, None),
        (["ui", "tasks", _], Some(id)) => detail(conn, req, id, 200, None),
        (["ui", "tasks", _, "evidence"], Some(id)) => export(conn, req, id),
        _ => Ok(not_found(req, 404, "No such page.")),
    })
}

/// A page from the store; a store that fails is a 500.
pub fn render(page: impl FnOnce(&Connection) -> Rendered) -> Response {
    match db::open() {
        Ok(conn) => page(&conn).unwrap_or_else(|e| Response::error(500, e.to_string())),
        Err(e) => Response::error(500, e),
    }
}

/// The `#error` line of a page: shown with a message, else hidden until the script fills it.
fn error_line(error: Option<&str>) -> String {
    match error {
        Some(e) => format!("<p id=\"error\" role=\"alert\">{}</p>", escape(e)),
        None => "<p id=\"error\" role=\"alert\" hidden></p>".to_owned(),
    }
}

/// The script, told which faults are on.
fn script() -> Response {
    let on: Vec<&str> = FAULTS.iter().copied().filter(|f| fault(f)).collect();
    let body = format!("const FAULTS = {};\n{APP_JS}", serde_json::json!(on));
    Response::of(200, "text/javascript; charset=utf-8", body).with("Cache-Control", "no-store")
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => escape(s),
        Value::Null => String::new(),
        other => escape(&other.to_string()),
    }
}

/// A page. The style sheet is in the page, under the response's nonce, so the page is laid
/// out once, styled, as it is parsed: a click aimed at a button the moment it exists lands
/// where the button stays (a linked sheet that loads a moment later moves everything).
fn layout(status: u16, title: &str, user: Option<&str>, main: &str) -> Response {
    let nonce = match random_hex(16) {
        Ok(n) => n,
        Err(e) => return Response::error(500, e),
    };
    let account = match user {
        Some(u) if !u.is_empty() => format!(
            "<span id=\"account\">Signed in as {}</span>\
             <form method=\"post\" action=\"/logout\"><button type=\"submit\" id=\"logout\">Log out</button></form>",
            escape(u)
        ),
        _ => String::new(),
    };
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{} — taskapi</title><style nonce=\"{nonce}\">\n{STYLE_CSS}</style>\
         <link rel=\"icon\" href=\"/ui/icon.svg\" type=\"image/svg+xml\">\
         <script src=\"/ui/app.js\" defer></script></head>\n<body><header><nav>\
         <a href=\"/ui/\">Status</a> <a href=\"/ui/tasks\">Tasks</a></nav>{account}</header>\n\
         <main>\n{main}\n</main></body></html>\n",
        escape(title)
    );
    Response::html(status, page, &nonce)
}

fn html(status: u16, req: &Request, title: &str, main: &str) -> Response {
    layout(status, title, auth::user(req).as_deref(), main)
}

pub fn login_page(status: u16, error: Option<&str>) -> Response {
    let error = error.map_or(String::new(), |e| {
        format!("<p id=\"error\" role=\"alert\">{}</p>", escape(e))
    });
    let main = format!(
        "<h1>Log in</h1>{error}<form method=\"post\" action=\"/login\" id=\"login\">\
         <label for=\"user\">User</label> <input id=\"user\" name=\"user\" autocomplete=\"username\">\
         <label for=\"password\">Password</label> <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\">\
         <button type=\"submit\">Log in</button></form>"
    );
    layout(status, "Log in", None, &main)
}

fn not_found(req: &Request, status: u16, message: &str) -> Response {
    let main = format!(
        "<h1>Not found</h1><p id=\"error\" role=\"alert\">{}</p>\
         <p><a href=\"/ui/tasks\">Back to the tasks</a></p>",
        escape(message)
    );
    html(status, req, "Not found", &main)
}

pub type Rendered = Result<Response, rusqlite::Error>;

fn dashboard(conn: &Connection, req: &Request) -> Rendered {
    let stats = api::stats(conn)?;
    let mut rows = format!(
        "<dt>Tasks</dt><dd id=\"tasks-total\">{}</dd>",
        text(&stats["tasks"]["total"])
    );
    for state in ["new", "planned", "in_progress", "review", "done"] {
        rows.push_str(&format!(
            "<dt>{state}</dt><dd id=\"state-{state}\">{}</dd>",
            text(&stats["tasks"][state])
        ));
    }
    rows.push_str(&format!(
        "<dt>Open escalations</dt><dd id=\"open-escalations\">{}</dd>",
        text(&stats["open_escalations"])
    ));
    for state in ["queued", "running", "done", "dead"] {
        rows.push_str(&format!(
            "<dt>Jobs {state}</dt><dd id=\"jobs-{state}\">{}</dd>",
            text(&stats["jobs"][state])
        ));
    }
    let main = format!(
        "<h1>Status</h1><p id=\"health\" data-state=\"checking\">Service: <strong>checking…</strong></p>\
         <dl id=\"status\">{rows}</dl>"
    );
    Ok(html(200, req, "Status", &main))
}

pub fn list(conn: &Connection, req: &Request, status: u16, error: Option<&str>) -> Rendered {
    let tasks = api::tasks(conn, &req.query_value("q"))?;
    let items: String = tasks.iter().map(item).collect();
    let empty = if tasks.is_empty() { "" } else { " hidden" };
    let main = format!(
        "<h1>Tasks</h1><details id=\"new\"><summary>New task</summary>\
         <form id=\"new-task\" method=\"post\" action=\"/ui/tasks\"><label for=\"title\">Title</label> \
         <input id=\"title\" name=\"title\" autocomplete=\"off\"> <button type=\"submit\">Create</button></form></details>\
         {error}<ul id=\"task-list\">{items}</ul><p id=\"empty\"{empty}>No tasks yet.</p>",
        error = error_line(error),
    );
    Ok(html(status, req, "Tasks", &main))
}

fn item(task: &Value) -> String {
    format!(
        "<li data-id=\"{id}\" data-state=\"{state}\"><a href=\"/ui/tasks/{id}\">{title}</a> \
         <span class=\"state\">{state}</span></li>",
        id = text(&task["id"]),
        state = text(&task["state"]),
        title = text(&task["title"]),
    )
}

pub fn detail(
    conn: &Connection,
    req: &Request,
    id: i64,
    status: u16,
    error: Option<&str>,
) -> Rendered {
    let Some(evidence) = api::evidence_json(conn, id)? else {
        return Ok(not_found(req, 404, &format!("Task {id} not found.")));
    };
    let task = &evidence["task"];
    let state = task["state"].as_str().unwrap_or("");
    let moves: String = api::next_states(state)
        .map(|to| {
            format!("<button type=\"submit\" name=\"to\" value=\"{to}\">Move to {to}</button> ")
        })
        .collect();
    let moves = if moves.is_empty() {
        "<p>No further moves.</p>".to_owned()
    } else {
        format!("<form method=\"post\" action=\"/ui/tasks/{id}/move\">{moves}</form>")
    };
    let escalations: String = rows(&evidence["escalations"], |e| {
        let resolve = if e["state"] == "open" {
            format!(
                " <form method=\"post\" action=\"/ui/tasks/{id}/resolve\">\
                 <button type=\"submit\" name=\"escalation\" value=\"{}\">Resolve</button></form>",
                text(&e["id"])
            )
        } else {
            String::new()
        };
        format!(
            "<li data-id=\"{}\" data-state=\"{}\">{} — {}{resolve}</li>",
            text(&e["id"]),
            text(&e["state"]),
            text(&e["reason"]),
            text(&e["state"])
        )
    });
    let history: String = rows(&evidence["transitions"], |t| {
        format!(
            "<li>{} → {}</li>",
            text(&t["from_state"]),
            text(&t["to_state"])
        )
    });
    let main = format!(
        "<p><a href=\"/ui/tasks\">← Tasks</a></p><h1 id=\"task-title\">{title}</h1>\
         <p>State: <strong id=\"state\" data-state=\"{state}\">{state}</strong></p>\
         <div id=\"actions\">{moves}</div>{error}\
         <h2>Escalations</h2><ul id=\"escalations\">{escalations}</ul>\
         <form id=\"escalate\" method=\"post\" action=\"/ui/tasks/{id}/escalate\"><label for=\"reason\">Reason</label> \
         <input id=\"reason\" name=\"reason\" autocomplete=\"off\"> <button type=\"submit\">Escalate</button></form>\
         <h2>History</h2><ol id=\"history\">{history}</ol>\
         <p><a id=\"evidence-link\" href=\"/ui/tasks/{id}/evidence\">Evidence</a></p>",
        title = text(&task["title"]),
        state = escape(state),
        error = error_line(error),
    );
    let title = format!("Task {id}: {}", task["title"].as_str().unwrap_or(""));
    Ok(html(status, req, &title, &main))
}

fn rows(list: &Value, render: impl Fn(&Value) -> String) -> String {
    list.as_array()
        .map_or(String::new(), |l| l.iter().map(render).collect())
}

fn table(id: &str, list: &Value, columns: &[(&str, &str)]) -> String {
    let head: String = columns
        .iter()
        .map(|(_, h)| format!("<th>{h}</th>"))
        .collect();
    let body = rows(list, |row| {
        let cells: String = columns
            .iter()
            .map(|(key, _)| format!("<td>{}</td>", text(&row[*key])))
            .collect();
        format!("<tr>{cells}</tr>")
    });
    format!("<table id=\"{id}\"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
}

fn export(conn: &Connection, req: &Request, id: i64) -> Rendered {
    let Some(evidence) = api::evidence_json(conn, id)? else {
        return Ok(not_found(req, 404, &format!("Task {id} not found.")));
    };
    let pretty = serde_json::to_string_pretty(&evidence).unwrap_or_default();
    let main = format!(
        "<h1>Evidence: task {id}</h1>\
         <p>Task <a href=\"/ui/tasks/{id}\" id=\"task-link\">{title}</a> is <strong id=\"state\" data-state=\"{state}\">{state}</strong>.</p>\
         <p><a id=\"download\" href=\"/tasks/{id}/evidence?download\" download>Download JSON</a></p>\
         <h2>Transitions</h2>{transitions}<h2>Escalations</h2>{escalations}\
         <h2>Costs</h2>{costs}<h2>Jobs</h2>{jobs}\
         <h2>JSON</h2><pre id=\"evidence-json\">{json}</pre>",
        title = text(&evidence["task"]["title"]),
        state = text(&evidence["task"]["state"]),
        transitions = table(
            "transitions",
            &evidence["transitions"],
            &[("from_state", "From"), ("to_state", "To"), ("at", "At")]
        ),
        escalations = table(
            "escalation-table",
            &evidence["escalations"],
            &[("id", "Id"), ("reason", "Reason"), ("state", "State")]
        ),
        costs = table(
            "costs",
            &evidence["costs"],
            &[("amount", "Amount"), ("at", "At")]
        ),
        jobs = table(
            "jobs",
            &evidence["jobs"],
            &[
                ("id", "Id"),
                ("kind", "Kind"),
                ("state", "State"),
                ("attempts", "Attempts"),
                ("result", "Result")
            ]
        ),
        json = escape(&pretty),
    );
    Ok(html(200, req, &format!("Evidence: task {id}"), &main))
}
