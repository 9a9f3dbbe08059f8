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
    let reply = page
        .browser
        .conn
        .call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true }),
            Some(&page.session),
        )
        .await;
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

/// A selector with its variables filled in (a CSS one only with plain values).
pub(super) fn selector(written: &str, vars: &Vars) -> Result<String, Failure> {
    if written.starts_with("text=") {
        vars::interpolate(written, vars).map_err(|e| Failure::Error(e.to_string()))
    } else {
        selectors::interpolate(written, vars).map_err(Failure::Error)
    }
}
