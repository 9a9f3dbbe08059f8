//! gaterun's JavaScript in the page (`page.js`): one function, called by operation with JSON
//! arguments through `Runtime.evaluate`, its answer returned by value. Nothing a page defines
//! is called: the function is evaluated fresh each time. Also what the step's parts share of
//! it: how often a wait looks again, and a selector with its variables filled in.

use std::time::Duration;

use serde_json::{Value, json};

use super::session::Page;
use crate::config::validate::selectors;
use crate::steps::outcome::Failure;
use crate::vars::{self, Vars};

const PAGE_JS: &str = include_str!("page.js");

/// Between two looks at the page.
pub(super) const POLL: Duration = Duration::from_millis(50);

/// Why an evaluation gave no answer.
pub enum Unanswered {
    /// The page is between documents (a navigation, a reload): ask again.
    Navigating,
    /// The script threw (an invalid selector) or the browser is gone.
    Failed(String),
}

pub async fn call(page: &Page, op: &str, args: Value) -> Result<Value, Unanswered> {
    let expression = format!("({})({}, {})", PAGE_JS.trim_end(), json!(op), args);
    // In a world of gaterun's own (an isolated world: the page's DOM, none of its JavaScript),
    // so a page that redefines `innerText`, `Array.from` or `querySelectorAll` changes nothing
    // gaterun reads. A new document has a new world: a stale one is made again, once.
    let mut reply = Err(String::new());
    for _ in 0..2 {
        let world = world(page).await?;
        reply = page
            .browser
            .conn
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "contextId": world }),
                Some(&page.session),
            )
            .await;
        match &reply {
            Err(e) if e.contains("context") => *lock(page) = None,
            _ => break,
        }
    }
    let mut reply = match reply {
        Ok(r) => r,
        // The document went away while the script ran, or none is there yet.
        Err(e) if e.contains("context") || e.contains("navigat") => {
            return Err(Unanswered::Navigating);
        }
        Err(e) => return Err(Unanswered::Failed(e)),
    };
    if let Some(d) = reply.get("exceptionDetails") {
        let text = d["exception"]["description"]
            .as_str()
            .or(d["text"].as_str())
            .unwrap_or("an exception");
        return Err(Unanswered::Failed(
            text.lines().next().unwrap_or_default().to_owned(),
        ));
    }
    Ok(reply["result"]
        .get_mut("value")
        .map(Value::take)
        .unwrap_or(Value::Null))
}

/// The page's title, URL and text, and nothing selected.
pub async fn plain_state(page: &Page) -> Result<Value, Unanswered> {
    call(
        page,
        "state",
        json!({ "visible": [], "count": [], "captures": [] }),
    )
    .await
}

fn lock(page: &Page) -> std::sync::MutexGuard<'_, Option<i64>> {
    page.world.lock().unwrap_or_else(|e| e.into_inner())
}

/// gaterun's world in the page's current document, made if it is not.
async fn world(page: &Page) -> Result<i64, Unanswered> {
    if let Some(id) = *lock(page) {
        return Ok(id);
    }
    let made = page
        .browser
        .conn
        .call(
            "Page.createIsolatedWorld",
            json!({ "frameId": page.frame, "worldName": "gaterun" }),
            Some(&page.session),
        )
        .await;
    match made {
        Ok(v) => {
            let id = v["executionContextId"].as_i64().ok_or_else(|| {
                Unanswered::Failed("the browser made no world for gaterun".into())
            })?;
            *lock(page) = Some(id);
            Ok(id)
        }
        // Between documents: no frame to make it in yet.
        Err(e) if e.contains("frame") || e.contains("context") || e.contains("navigat") => {
            Err(Unanswered::Navigating)
        }
        Err(e) => Err(Unanswered::Failed(e)),
    }
}

/// A selector with its variables filled in (a CSS one only with plain values).
pub(super) fn selector(written: &str, vars: &Vars) -> Result<String, Failure> {
    if written.starts_with("text=") {
        vars::interpolate(written, vars).map_err(|e| Failure::Error(e.to_string()))
    } else {
        selectors::interpolate(written, vars).map_err(Failure::Error)
    }
}
