//! Step kinds. Each file runs one kind of step once (one attempt); the gate executor handles
//! `eventually`, deadlines and teardown around them.

pub mod file;
pub mod http;
pub mod run;
pub mod sql;
pub mod tcp;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::watch;

use crate::process::CappedBuffer;
use crate::vars::Vars;

/// What a step sees of its gate.
pub struct GateCtx {
    pub vars: Vars,
    /// Captured values with their JSON or SQL type; `vars` holds their text.
    pub typed: crate::expect::value::Typed,
    /// Captures declared `secret: true`, and the values they took: masked like declared
    /// secrets in everything the gate leaves.
    pub secret_captures: std::collections::HashSet<String>,
    pub secrets: Vec<String>,
    pub workdir: PathBuf,
    pub token: String,
    pub grace: std::time::Duration,
    /// Everything the gate's processes print, capped.
    pub log: Arc<Mutex<CappedBuffer>>,
    /// Process groups the gate started, for teardown.
    pub groups: Vec<u32>,
    /// Output readers still running (a background process may hold a pipe open).
    pub readers: Vec<tokio::task::JoinHandle<()>>,
    pub cancel: watch::Receiver<bool>,
    /// The gate's services, in definition order.
    pub services: Vec<crate::services::Service>,
    pub http: Http,
    /// The gate's fresh database, if it asked for one.
    pub db: Option<crate::database::GateDb>,
    /// Its services' exits, as they happen.
    pub exits: crate::services::Exits,
}

impl GateCtx {
    pub fn log_line(&self, line: &str) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if !log.is_empty() && !log.ends_with_newline() {
            log.push(b"\n");
        }
        log.push(line.as_bytes());
        log.push(b"\n");
    }

    /// What an expected value may refer to.
    pub fn bindings(&self) -> crate::expect::value::Bindings<'_> {
        crate::expect::value::Bindings {
            text: &self.vars,
            typed: &self.typed,
        }
    }

    /// Set a captured variable: its text for commands and templates, its type for checks.
    pub fn capture(&mut self, name: &str, value: serde_json::Value) {
        let text = match &value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        if self.secret_captures.contains(name) && !text.is_empty() {
            self.secrets.push(text.clone());
        }
        self.vars.insert(name.to_owned(), text);
        self.typed.insert(name.to_owned(), value);
    }

    pub fn interrupted(&self) -> bool {
        *self.cancel.borrow()
    }
}

/// Why one attempt of a step did not pass.
#[derive(Debug, Clone)]
pub enum Failure {
    /// An expectation did not hold: worth another attempt under `eventually`.
    Check(String),
    /// The step or gate ran out of time.
    Timeout(String),
    Interrupted,
    /// The step could not be evaluated (undefined variable, internal error).
    Error(String),
    /// Service `.0` of the gate exited while the step ran: the gate ends, and says so with
    /// the service's status and output ([`crate::services::exited_while_running`]).
    ServiceExited(usize),
}

impl Failure {
    pub fn message(&self) -> String {
        match self {
            Failure::Check(m) | Failure::Timeout(m) | Failure::Error(m) => m.clone(),
            Failure::Interrupted => "interrupted".to_owned(),
            Failure::ServiceExited(i) => format!("service #{i} exited while the gate ran"),
        }
    }
}

/// The deadline an attempt must finish by, and what to say when it is hit.
#[derive(Debug, Clone)]
pub struct Deadline {
    pub at: Instant,
    pub message: String,
}

impl From<crate::expect::CheckError> for Failure {
    fn from(e: crate::expect::CheckError) -> Self {
        match e {
            crate::expect::CheckError::Mismatch(m) => Failure::Check(m),
            crate::expect::CheckError::Invalid(m) => Failure::Error(m),
        }
    }
}

/// The HTTP client shared by a run (its connection pool), built on first use. It follows no
/// redirect (the `http` step does, itself, so it can drop the gate's headers across origins),
/// sends no `Referer`, and never goes through a proxy: a CI proxy must not intercept requests
/// to localhost.
#[derive(Clone, Default)]
pub struct Http {
    client: Arc<std::sync::OnceLock<Result<reqwest::Client, String>>>,
}

impl Http {
    pub fn client(&self) -> Result<&reqwest::Client, String> {
        let built = self.client.get_or_init(|| {
            reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .referer(false)
                .user_agent(concat!("gaterun/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("failed to build the HTTP client: {e}"))
        });
        built.as_ref().map_err(Clone::clone)
    }
}

/// Resolves once the run is interrupted (or its sender is gone). Holds no lock across awaits.
pub async fn cancelled(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}
