//! One `browser` step attempt: open the URL on the gate's page and wait for it to load, do
//! the actions in order (each waiting for its target), then wait until every expectation and
//! capture holds at once.
//!
//! How long a wait lasts: until the step's deadline when the step has a `timeout:`; else at
//! most [`WAIT`] for each action and for the expectations (a near miss fails in seconds, not
//! at the gate's deadline), never past the gate's. A wait that runs out is a failed check,
//! told by what it last saw, a little before the deadline would cut the step. Under
//! `eventually` the expectations are looked at once per attempt: the retries (each opening the
//! page again) are the waiting, as for other steps.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::keys::key_down;
use super::script::{POLL, Unanswered, call, plain_state, selector};
use super::session::{Page, seen};
use crate::config::{BrowserAction, BrowserStep};
use crate::runner::gate::ctx::GateCtx;
use crate::steps::log::GateLog;
use crate::steps::outcome::{Deadline, Failure};
use crate::text::redact_url;
use crate::vars::{self, Vars};

/// How long an action's target and the expectations are waited for without a `timeout:`.
pub const WAIT: Duration = Duration::from_secs(5);

/// What bounds a step's waits.
#[derive(Clone, Copy)]
pub struct Waits {
    /// The step has a `timeout:` of its own: wait up to its deadline.
    pub own_timeout: bool,
    /// The step has `eventually`: look at the expectations once per attempt.
    pub eventually: bool,
}

pub async fn attempt(
    ctx: &mut GateCtx,
    step: &BrowserStep,
    captures: &[(String, String)],
    waits: Waits,
    deadline: &Deadline,
) -> Result<(), Failure> {
    let written =
        vars::interpolate(&step.url, &ctx.vars).map_err(|e| Failure::Error(e.to_string()))?;
    let log = ctx.log.clone();
    let page = ctx.browser.page(&log).await.map_err(Failure::Error)?;
    let errors_before = seen(&page.seen).errors;
    let until = || wait_until(waits.own_timeout, deadline);
    navigate(page, &written, &log, until()).await?;
    for action in &step.actions {
        act(page, action, &ctx.vars, &log, until()).await?;
    }
    let judge = super::judge::Judge {
        step,
        captures,
        vars: &ctx.vars,
        typed: &ctx.typed,
        errors_before,
    };
    let values = judge
        .wait(
            page,
            if waits.eventually {
                Instant::now()
            } else {
                until()
            },
        )
        .await?;
    for (name, value) in values {
        ctx.capture(&name, Value::String(value));
    }
    Ok(())
}

/// Open the gate's page (and start the run's browser) if it is not: before the step's clock
/// starts, so the first `browser` step of a run is not cut short by the browser's start.
pub async fn open(ctx: &mut GateCtx) -> Result<(), Failure> {
    let log = ctx.log.clone();
    ctx.browser
        .page(&log)
        .await
        .map(|_| ())
        .map_err(Failure::Error)
}

/// The step's deadline moved on by the time opening took, never past the gate's.
pub fn later(deadline: &Deadline, took: Duration, gate: &Deadline) -> Deadline {
    Deadline {
        at: (deadline.at + took).min(gate.at),
        message: deadline.message.clone(),
    }
}

/// When a wait ends: before the step's deadline by a quarter of the time left (at most
/// 500 ms), so it fails with what it saw; on a loaded machine a narrower margin lost the race
/// to the step's own timeout, whose message says nothing of why.
fn wait_until(own_timeout: bool, deadline: &Deadline) -> Instant {
    let now = Instant::now();
    let end = if own_timeout {
        deadline.at
    } else {
        deadline.at.min(now + WAIT)
    };
    let left = end.saturating_duration_since(now);
    end - (left / 4).min(Duration::from_millis(500))
}

/// Open `url` (relative to the page's) and wait for its `load` event, until `until`.
async fn navigate(page: &Page, url: &str, log: &GateLog, until: Instant) -> Result<(), Failure> {
    let target = match url::Url::parse(url) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            let here = match plain_state(page).await {
                Ok(state) => state["url"].as_str().unwrap_or_default().to_owned(),
                Err(_) => String::new(),
            };
            url::Url::parse(&here)
                .and_then(|base| base.join(url))
                .map_err(|_| {
                    Failure::Error(format!(
                        "`{url}` is relative, and the page is not on a URL it could be relative to ({})",
                        if here.is_empty() { "none" } else { &here }
                    ))
                })?
        }
        Err(e) => return Err(Failure::Error(format!("`{url}` is not a URL: {e}"))),
    };
    let shown = redact_url(target.as_str());
    log.line(&format!("[page] open {shown}"));
    let mut loads = page.loads.clone();
    let before = *loads.borrow_and_update();
    let started = Instant::now();
    // Chromium answers `Page.navigate` once the response's headers are in: a server that never
    // sends them holds the answer, and that wait ends at `until` too, saying why.
    let call = page.browser.conn.call(
        "Page.navigate",
        json!({ "url": target.as_str() }),
        Some(&page.session),
    );
    let reply = tokio::time::timeout_at(until.into(), call)
        .await
        .map_err(|_| {
            Failure::Check(format!(
                "opening {shown}: no answer in {} (the server never sent its headers?)",
                crate::text::human_duration(started.elapsed())
            ))
        })?
        .map_err(|e| Failure::Check(format!("opening {shown} failed: {e}")))?;
    if let Some(e) = reply["errorText"].as_str().filter(|e| !e.is_empty()) {
        return Err(Failure::Check(format!("opening {shown} failed: {e}")));
    }
    // No loader: the same document (a `#fragment`), nothing to load.
    if reply["loaderId"].is_string() {
        let mut loading = page.loading.clone();
        let loaded = async {
            let _ = loads.wait_for(|n| *n > before).await;
            // And its loading stopped (which Chromium says just after `load`).
            let _ = loading.wait_for(|n| *n == 0).await;
        };
        if tokio::time::timeout_at(until.into(), loaded).await.is_err() {
            return Err(Failure::Check(format!(
                "opening {shown}: the page did not finish loading in {} (a request of it never answered?)",
                crate::text::human_duration(started.elapsed())
            )));
        }
        log.line(&format!(
            "[page] loaded in {}ms",
            started.elapsed().as_millis()
        ));
    }
    Ok(())
}

/// What an action needs of its target.
#[derive(Clone, Copy, PartialEq)]
enum Need {
    Visible,
    Click,
    Edit,
}

async fn act(
    page: &Page,
    action: &BrowserAction,
    vars: &Vars,
    log: &GateLog,
    until: Instant,
) -> Result<(), Failure> {
    let conn = &page.browser.conn;
    let session = Some(page.session.as_str());
    let input = |method: &'static str, params: Value| async move {
        conn.call(method, params, session)
            .await
            .map(|_| ())
            .map_err(|e| Failure::Error(format!("the browser refused {method}: {e}")))
    };
    match action {
        BrowserAction::Click(sel) => {
            let sel = selector(sel, vars)?;
            log.line(&format!("[action] click {sel}"));
            let (x, y) = target(page, &sel, Need::Click, until).await?;
            for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
                let p = json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 });
                input("Input.dispatchMouseEvent", p).await?;
            }
            page.settle().await;
        }
        BrowserAction::Fill(pairs) => {
            for (sel, text) in pairs {
                let sel = selector(sel, vars)?;
                let text = vars::interpolate(text, vars)
                    .map_err(|e| Failure::Error(format!("fill `{sel}`: {e}")))?;
                log.line(&format!("[action] fill {sel} with \"{text}\""));
                target(page, &sel, Need::Edit, until).await?;
                script(page, "clear", json!({ "sel": sel })).await?;
                input("Input.insertText", json!({ "text": text })).await?;
                script(page, "changed", json!({})).await?;
            }
        }
        BrowserAction::Press(key) => {
            log.line(&format!("[action] press {key}"));
            let down = key_down(key)
                .ok_or_else(|| Failure::Error(format!("`press` cannot type `{key}`")))?;
            let mut up = down.clone();
            up["type"] = json!("keyUp");
            if let Some(o) = up.as_object_mut() {
                o.remove("text");
                o.remove("unmodifiedText");
            }
            input("Input.dispatchKeyEvent", down).await?;
            input("Input.dispatchKeyEvent", up).await?;
            page.settle().await;
        }
        BrowserAction::WaitFor(sel) => {
            let sel = selector(sel, vars)?;
            log.line(&format!("[action] wait_for {sel}"));
            target(page, &sel, Need::Visible, until).await?;
        }
    }
    Ok(())
}

/// A script call whose answer does not matter: done, or the step's error.
async fn script(page: &Page, op: &str, args: Value) -> Result<(), Failure> {
    match call(page, op, args).await {
        Ok(_) | Err(Unanswered::Navigating) => Ok(()),
        Err(Unanswered::Failed(e)) => Err(Failure::Error(e)),
    }
}

/// Between two looks at a click's target: a frame and a little more.
const STILL: Duration = Duration::from_millis(25);

/// Wait for the first visible element `sel` matches to be ready for `need`; its centre.
async fn target(page: &Page, sel: &str, need: Need, until: Instant) -> Result<(f64, f64), Failure> {
    let verb = match need {
        Need::Visible => "wait_for",
        Need::Click => "click",
        Need::Edit => "fill",
    };
    // A click waits for its target to stand still: the same centre on two looks a frame
    // apart (a stylesheet or an image arriving late moves the layout, and a click at where
    // the element was lands on something else).
    let mut last = None;
    loop {
        let look = async {
            if page.is_loading() {
                return Err(Unanswered::Navigating);
            }
            call(page, "locate", json!({ "sel": sel })).await
        };
        let looked = Instant::now();
        let answer = look.await;
        // Another look must fit before the deadline, with room to spare for how long this
        // one took: otherwise the step's own timeout would end it first, without the reason.
        let room = looked.elapsed() * 2;
        let why = match answer {
            Ok(v) => match ready(&v, need) {
                Ok(at) if need != Need::Click || last == Some(at) => return Ok(at),
                Ok(at) => {
                    last = Some(at);
                    if Instant::now() + STILL + room < until {
                        tokio::time::sleep(STILL).await;
                        continue;
                    }
                    "the element kept moving".to_owned()
                }
                Err(why) => why,
            },
            Err(Unanswered::Navigating) => "the page is loading".to_owned(),
            Err(Unanswered::Failed(e)) => {
                return Err(Failure::Error(format!("{verb} `{sel}`: {e}")));
            }
        };
        if Instant::now() + POLL + room >= until {
            return Err(Failure::Check(format!("{verb} `{sel}`: {why}")));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether a located element is ready for `need`, else why not.
fn ready(v: &Value, need: Need) -> Result<(f64, f64), String> {
    let matched = v["matched"].as_u64().unwrap_or(0);
    let (Some(x), Some(y)) = (v["x"].as_f64(), v["y"].as_f64()) else {
        return Err(match matched {
            0 => "no element matches".to_owned(),
            1 => "the element it matches is not visible".to_owned(),
            n => format!("{n} elements match, none visible"),
        });
    };
    match need {
        Need::Click if v["enabled"] == false => Err("the element is disabled".to_owned()),
        Need::Click if v["covered"] == true => Err("another element covers it".to_owned()),
        Need::Edit if v["editable"] == false => {
            Err("the element is not an editable field".to_owned())
        }
        _ => Ok((x, y)),
    }
}
