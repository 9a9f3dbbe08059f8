//! A gate's browser: a fresh incognito context of the run's browser (no cookies, storage or
//! cache shared with another gate) holding one page, opened on the gate's first `browser`
//! step and closed when the gate ends. Later `browser` steps of the gate continue on the same
//! page, with its cookies (a login stays logged in).
//!
//! The page's events go to the gate log as they come: each navigation, dialog (accepted: it
//! would stop the page), console message,
//! uncaught exception and failed request (a network error, or an HTTP status of 400 or more;
//! not `/favicon.ico`, which the browser asks for by itself). The errors among them are
//! counted for `expect.console_errors`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use super::cdp::Event;
use super::launch::{Browser, Running};
use crate::steps::log::GateLog;

/// The gate's part of the run's browser.
#[derive(Default)]
pub struct Session {
    browser: Option<Browser>,
    page: Option<Page>,
    /// The number of the gate's step running (for a screenshot's name).
    pub step: usize,
    /// Screenshots taken, by name (`03.png`), in order.
    pub shots: Vec<(String, Vec<u8>)>,
    /// The project's secrets: a page showing one is not photographed (a picture cannot be
    /// masked).
    pub secrets: Vec<String>,
}

/// One page, in a context of its own.
pub struct Page {
    pub browser: Arc<Running>,
    context: String,
    pub session: String,
    pub seen: Arc<Mutex<Seen>>,
    /// How many times the page finished loading.
    pub loads: watch::Receiver<u64>,
    /// Whether the page's main frame is loading a document (1) or not (0).
    pub loading: watch::Receiver<i64>,
    /// The page's main frame (Chromium names it by its target's id).
    pub frame: String,
    /// gaterun's own JavaScript world in the current document, once made (`script::call`).
    pub world: Mutex<Option<i64>>,
}

/// What the page did that a check reads.
#[derive(Default)]
pub struct Seen {
    /// Console errors, uncaught exceptions and failed requests: how many.
    pub errors: usize,
    /// The first of them, each cut to a line (a page logging megabytes of errors must not
    /// grow gaterun's memory with them: the log has them, capped).
    pub lines: Vec<String>,
}

/// How many errors' lines a page keeps, and how long each.
const KEPT_LINES: usize = 1000;
const KEPT_CHARS: usize = 500;

impl Page {
    /// The main frame is loading a document: what a look would see is the old one, or none.
    pub fn is_loading(&self) -> bool {
        *self.loading.borrow() > 0
    }

    /// After an action that may navigate (a click, a key): a moment for a navigation it caused
    /// to start, so the next look waits for the new document instead of judging the old one.
    pub async fn settle(&self) {
        let mut loading = self.loading.clone();
        let started = loading.wait_for(|n| *n > 0);
        let _ = tokio::time::timeout(std::time::Duration::from_millis(50), started).await;
    }
}

pub fn seen(s: &Mutex<Seen>) -> MutexGuard<'_, Seen> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

impl Session {
    pub fn new(browser: Browser, secrets: Vec<String>) -> Session {
        Session {
            browser: Some(browser),
            secrets,
            ..Default::default()
        }
    }

    /// The gate's page, opened now if it is not.
    pub async fn page(&mut self, log: &GateLog) -> Result<&Page, String> {
        if self.page.is_none() {
            let browser = self
                .browser
                .as_ref()
                .ok_or("internal error: the gate has no browser")?;
            let running = browser.get().await?;
            self.page = Some(open(running, log).await?);
        }
        self.page.as_ref().ok_or_else(String::new)
    }

    /// The page, if one is open.
    pub fn current(&self) -> Option<&Page> {
        self.page.as_ref()
    }

    /// The gate is over: its context closed with its page.
    pub async fn close(&mut self) {
        if let Some(page) = self.page.take() {
            let conn = &page.browser.conn;
            conn.unsubscribe(&page.session);
            let dispose = conn.call(
                "Target.disposeBrowserContext",
                json!({ "browserContextId": page.context }),
                None,
            );
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), dispose).await;
        }
    }
}

async fn open(browser: Arc<Running>, log: &GateLog) -> Result<Page, String> {
    let started = std::time::Instant::now();
    let conn = &browser.conn;
    let fail = |e: String| format!("the browser could not open a page: {e}");
    // Each call answers with the id the next one needs.
    let id = |method: &'static str, params: Value, field: &'static str| async move {
        conn.call(method, params, None)
            .await
            .map(|v| v[field].as_str().unwrap_or_default().to_owned())
            .map_err(fail)
    };
    let context = id(
        "Target.createBrowserContext",
        json!({ "disposeOnDetach": true }),
        "browserContextId",
    )
    .await?;
    let target = id(
        "Target.createTarget",
        json!({ "url": "about:blank", "browserContextId": context }),
        "targetId",
    )
    .await?;
    let session = id(
        "Target.attachToTarget",
        json!({ "targetId": target, "flatten": true }),
        "sessionId",
    )
    .await?;
    let events = conn.subscribe(&session);
    let seen: Arc<Mutex<Seen>> = Default::default();
    let (loaded, loads) = watch::channel(0);
    let (in_flight, loading) = watch::channel(0);
    let answer = Answer {
        browser: browser.clone(),
        session: session.clone(),
        // Chromium names a page's main frame by its target's id.
        main_frame: target.clone(),
        loading: in_flight,
    };
    tokio::spawn(pump(events, log.clone(), seen.clone(), loaded, answer));
    // The four at once: one round trip instead of four.
    let enable = |domain: &'static str| conn.call(domain, json!({}), Some(&session));
    let (a, b, c, d) = tokio::join!(
        enable("Page.enable"),
        enable("Runtime.enable"),
        enable("Network.enable"),
        enable("Log.enable")
    );
    for r in [a, b, c, d] {
        r.map_err(fail)?;
    }
    log.line(&format!(
        "── browser: {}, a new context in {}ms",
        browser.version,
        started.elapsed().as_millis()
    ));
    Ok(Page {
        browser,
        context,
        session,
        seen,
        loads,
        loading,
        frame: target,
        world: Mutex::new(None),
    })
}

/// The page's events, into the log and the counts, until the page is closed.
/// How the pump answers a page's dialog (on the page's own session), and tells when its main
/// frame is loading a document.
struct Answer {
    browser: Arc<Running>,
    session: String,
    main_frame: String,
    loading: watch::Sender<i64>,
}

async fn pump(
    mut events: mpsc::UnboundedReceiver<Event>,
    log: GateLog,
    seen: Arc<Mutex<Seen>>,
    loaded: watch::Sender<u64>,
    answer: Answer,
) {
    // Requests by id: their method and URL, for a failure's line.
    let mut requests: HashMap<String, String> = HashMap::new();
    let error = |line: String| {
        log.line(&line);
        let mut seen = self::seen(&seen);
        seen.errors += 1;
        if seen.lines.len() < KEPT_LINES {
            seen.lines.push(crate::text::one_line(&line, KEPT_CHARS));
        }
    };
    while let Some(Event { method, params: p }) = events.recv().await {
        let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        match method.as_str() {
            "Page.loadEventFired" => loaded.send_modify(|n| *n += 1),
            // Loading or not, never a count: a document that replaces itself while loading
            // (`location.replace` in a script) starts a second load and stops only once.
            "Page.frameStartedLoading" if p["frameId"] == answer.main_frame.as_str() => {
                answer.loading.send_replace(1);
            }
            "Page.frameStoppedLoading" if p["frameId"] == answer.main_frame.as_str() => {
                answer.loading.send_replace(0);
            }
            // `alert`, `confirm`, `prompt`, `beforeunload` would stop the page until answered:
            // logged and accepted (a prompt with its default).
            "Page.javascriptDialogOpening" => {
                log.line(&format!("[dialog] {}: {}", s(&p["type"]), s(&p["message"])));
                let accept = json!({ "accept": true, "promptText": s(&p["defaultPrompt"]) });
                let (browser, session) = (answer.browser.clone(), answer.session.clone());
                tokio::spawn(async move {
                    let conn = &browser.conn;
                    let _ = conn
                        .call("Page.handleJavaScriptDialog", accept, Some(&session))
                        .await;
                });
            }
            "Page.frameNavigated" if p["frame"]["parentId"].is_null() => {
                log.line(&format!(
                    "[page] navigated to {}",
                    crate::text::redact_url(&s(&p["frame"]["url"]))
                ));
            }
            "Runtime.consoleAPICalled" => {
                let kind = s(&p["type"]);
                let text: Vec<String> = p["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(remote_text)
                    .collect();
                let line = format!("[console.{kind}] {}", text.join(" "));
                if kind == "error" || kind == "assert" {
                    error(line);
                } else {
                    log.line(&line);
                }
            }
            "Runtime.exceptionThrown" => {
                let d = &p["exceptionDetails"];
                let text = d["exception"]["description"]
                    .as_str()
                    .or(d["text"].as_str())
                    .unwrap_or("an exception");
                let first = text.lines().next().unwrap_or_default();
                error(format!("[uncaught] {first}"));
            }
            // Network problems come as `Network.*` below, console calls as `Runtime.*`.
            "Log.entryAdded" if !matches!(p["entry"]["source"].as_str(), Some("network")) => {
                let e = &p["entry"];
                let line = format!("[{}] {}", s(&e["level"]), s(&e["text"]));
                if e["level"] == "error" {
                    error(line);
                } else {
                    log.line(&line);
                }
            }
            "Network.requestWillBeSent" => {
                let r = &p["request"];
                requests.insert(
                    s(&p["requestId"]),
                    format!("{} {}", s(&r["method"]), s(&r["url"])),
                );
            }
            "Network.responseReceived" => {
                let status = p["response"]["status"].as_u64().unwrap_or(0);
                // The browser asks for `/favicon.ico` by itself: not the page's request.
                let own = p["response"]["url"]
                    .as_str()
                    .and_then(|u| url::Url::parse(u).ok())
                    .is_some_and(|u| u.path() == "/favicon.ico");
                if status >= 400 && !own {
                    let what = requests
                        .get(&s(&p["requestId"]))
                        .cloned()
                        .unwrap_or_else(|| s(&p["response"]["url"]));
                    error(format!("[request failed] {what}: status {status}"));
                }
            }
            "Network.loadingFailed" if p["canceled"] != true => {
                let what = requests
                    .remove(&s(&p["requestId"]))
                    .unwrap_or_else(|| "a request".to_owned());
                error(format!("[request failed] {what}: {}", s(&p["errorText"])));
            }
            "Network.loadingFinished" => {
                requests.remove(&s(&p["requestId"]));
            }
            _ => {}
        }
    }
}

/// A console argument as text: its value, else its description.
fn remote_text(arg: &Value) -> String {
    match &arg["value"] {
        Value::String(s) => s.clone(),
        Value::Null => arg["description"]
            .as_str()
            .or(arg["type"].as_str())
            .unwrap_or_default()
            .to_owned(),
        other => other.to_string(),
    }
}
