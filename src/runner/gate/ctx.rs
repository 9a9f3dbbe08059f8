//! What a step sees of its gate: the gate context, owned by the gate executor. Steps take it
//! whole; services get only the part they need ([`GateCtx::split`]), so this file imports
//! them and they never import it.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::database::GateDb;
use crate::expect::value::{Bindings, Typed};
use crate::services::{Host, Services, SharedWatch};
use crate::steps::cookies::CookieJar;
use crate::steps::log::GateLog;
use crate::steps::probe::Http;
use crate::vars::Vars;

pub struct GateCtx {
    pub vars: Vars,
    /// Captured values with their JSON or SQL type; `vars` holds their text.
    pub typed: Typed,
    /// Captures declared `secret: true`, and the values they took: masked like declared
    /// secrets in everything the gate leaves.
    pub secret_captures: HashSet<String>,
    pub secrets: Vec<String>,
    pub workdir: PathBuf,
    /// The project's evidence directory: no step writes into it (`save`).
    pub evidence_dir: PathBuf,
    pub token: String,
    pub grace: Duration,
    /// Everything the gate's processes print, capped.
    pub log: GateLog,
    /// Process groups the gate started, for teardown.
    pub groups: Vec<u32>,
    /// Output readers still running (a background process may hold a pipe open).
    pub readers: Vec<JoinHandle<()>>,
    pub cancel: watch::Receiver<bool>,
    /// The gate's services, in definition order, with the news of their exits.
    pub services: Services,
    /// Issue 20: the gate's mocks, and its stage's.
    pub mocks: crate::mock::Mocks,
    /// The exits of the stage's shared services (empty without any).
    pub shared: SharedWatch,
    pub http: Http,
    /// The gate's cookie jar: `http` steps store and send cookies through it.
    pub cookies: CookieJar,
    /// The gate's fresh database, if it asked for one.
    pub db: Option<GateDb>,
    /// The databases of `databases:`, by name.
    pub dbs: Vec<(String, GateDb)>,
    /// The names gaterun sets for the gate, each with what it is: a step's `env` may not
    /// replace them.
    pub fixed: Vec<(String, &'static str)>,
    /// Issue 19: the gate's context and page of the run's browser, and its screenshots.
    pub browser: crate::steps::browser::session::Session,
}

impl GateCtx {
    pub fn log_line(&self, line: &str) {
        self.log.line(line);
    }

    /// What an expected value may refer to.
    pub fn bindings(&self) -> Bindings<'_> {
        Bindings {
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

    /// The database a `sql` step runs on: a named one of `databases:`, else `database:`.
    pub fn db_mut(&mut self, name: Option<&str>) -> Option<&mut GateDb> {
        match name {
            Some(name) => self
                .dbs
                .iter_mut()
                .find(|(n, _)| n == name)
                .map(|(_, db)| db),
            None => self.db.as_mut(),
        }
    }

    pub fn interrupted(&self) -> bool {
        *self.cancel.borrow()
    }

    /// The gate's services, and what they may use of the gate meanwhile.
    pub fn split(&mut self) -> (&mut Services, Host<'_>) {
        (
            &mut self.services,
            Host {
                vars: &self.vars,
                token: &self.token,
                workdir: &self.workdir,
                http: &self.http,
                log: &self.log,
                cancel: &self.cancel,
                grace: self.grace,
                groups: &mut self.groups,
                readers: &mut self.readers,
            },
        )
    }
}
