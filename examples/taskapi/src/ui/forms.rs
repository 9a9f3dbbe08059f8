//! The UI's forms. Each is the JSON API's own route with the form's fields as its body, so a
//! rule holds the same from the page as from a client; a refusal shows the page again with the
//! API's reason in `#error`, under the API's status. They work without the script, so a click
//! that comes before the script has loaded does what it says.

use serde_json::{Value, json};

use super::{detail, list, not_found, render};
use crate::api;
use crate::http::{Form, Request, Response};

pub fn submit(req: &Request, segments: &[&str]) -> Response {
    let form = Form::parse(&req.body);
    let field = |name: &str| form.field(name);
    let id = segments.get(2).and_then(|s| s.parse::<i64>().ok());
    match (segments, id) {
        (["ui", "tasks"], _) => {
            let answer = call(req, "/tasks", json!({ "title": field("title") }));
            if answer.status < 300 {
                return Response::redirect("/ui/tasks");
            }
            render(|conn| list(conn, req, answer.status, Some(&reason(&answer))))
        }
        (["ui", "tasks", _, "move"], Some(id)) => on_task(
            req,
            id,
            call(
                req,
                &format!("/tasks/{id}/transition"),
                json!({ "to": field("to") }),
            ),
        ),
        (["ui", "tasks", _, "escalate"], Some(id)) => {
            let why = field("reason").trim();
            if why.is_empty() {
                let refused = Response::error(422, "An escalation needs a reason.");
                return on_task(req, id, refused);
            }
            let answer = call(
                req,
                &format!("/tasks/{id}/escalations"),
                json!({ "reason": why }),
            );
            on_task(req, id, answer)
        }
        (["ui", "tasks", _, "resolve"], Some(id)) => {
            let path = format!("/escalations/{}/resolve", field("escalation"));
            on_task(req, id, call(req, &path, json!({})))
        }
        _ => not_found(req, 404, "No such page."),
    }
}

/// The API's answer to `POST path` with `body`.
fn call(req: &Request, path: &str, body: Value) -> Response {
    api::handle(&Request {
        method: "POST".to_owned(),
        path: path.to_owned(),
        query: String::new(),
        headers: req.headers.clone(),
        body: body.to_string().into_bytes(),
    })
}

fn reason(answer: &Response) -> String {
    serde_json::from_str::<Value>(&answer.body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("the request failed with status {}", answer.status))
}

/// Back to the task's page: as it is now, or with the reason it was refused.
fn on_task(req: &Request, id: i64, answer: Response) -> Response {
    if answer.status < 300 {
        return Response::redirect(&format!("/ui/tasks/{id}"));
    }
    render(|conn| detail(conn, req, id, answer.status, Some(&reason(&answer))))
}
