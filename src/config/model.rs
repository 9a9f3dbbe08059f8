//! The validated plan: what the runner trusts. Built only by `validate`.

mod browser;
mod checks;
mod footprint;
pub mod mock;
mod request;
mod setup_gate;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use browser::{BrowserAction, BrowserExpect, BrowserStep, NAMED_KEYS, Screenshot};
pub use checks::{HeaderCheck, JsonExpect};
pub use request::{HttpBody, HttpSign, HttpVersion, MultipartPart};

use crate::expect::Pattern;
use crate::expect::value::ValueCheck;

/// A stage number with an optional sub-stage letter: `4 < 4a < 4b < 5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StageKey {
    pub number: u32,
    pub letter: Option<char>,
}

impl StageKey {
    pub fn parse(s: &str) -> Option<StageKey> {
        let s = s.trim();
        let (digits, letter) = match s.char_indices().last() {
            Some((i, c)) if c.is_ascii_lowercase() => (&s[..i], Some(c)),
            _ => (s, None),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 6 {
            return None;
        }
        Some(StageKey {
            number: digits.parse().ok()?,
            letter,
        })
    }

    /// The evidence directory name: `stage-02`, `stage-04a`.
    pub fn dir_name(&self) -> String {
        format!(
            "stage-{:02}{}",
            self.number,
            self.letter.map(String::from).unwrap_or_default()
        )
    }
}

impl fmt::Display for StageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number)?;
        if let Some(c) = self.letter {
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct Project {
    /// The directory holding `gaterun.yaml`, else the current directory.
    pub root: PathBuf,
    pub gates_dir: PathBuf,
    pub evidence_dir: PathBuf,
    pub current_phase: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub phase: u32,
    pub key: StageKey,
    pub name: String,
    pub goal: Option<String>,
    pub risk: Option<String>,
    pub open_questions: Vec<String>,
    pub serial: bool,
    /// What the stage gives all its gates: `setup`, `services`, `database`.
    pub scope: StageScope,
    pub gates: Vec<Gate>,
    /// The stage file, relative to the top of the git repository (else the project root), as
    /// JUnit reporters and GitHub annotations resolve it.
    pub file: PathBuf,
    /// sha256 of the stage file's parsed content, canonical JSON: the prerequisite ledger key.
    pub definition_hash: String,
}

impl Stage {
    /// `phase-1/stage-02`
    pub fn label(&self) -> String {
        format!("phase-{}/{}", self.phase, self.key.dir_name())
    }

    /// What the stage file says of the stage, for its report.
    pub fn notes(&self) -> crate::results::StageNotes {
        crate::results::StageNotes {
            file: self.file.display().to_string(),
            goal: self.goal.clone(),
            risk: self.risk.clone(),
            open_questions: self.open_questions.clone(),
        }
    }
}

/// A stage's own scope: its `setup:` steps, run once before its gates, the `services:` they
/// share, its `database:`; with the stage's defaults as the setup's deadline, grace and env.
#[derive(Debug, Clone, Default)]
pub struct StageScope {
    pub setup: Vec<Step>,
    pub services: Vec<ServiceDef>,
    pub database: Option<Database>,
    pub mocks: Vec<mock::MockDef>,
    pub timeout: Duration,
    pub grace: Duration,
    pub env: Vec<(String, String)>,
}

impl StageScope {
    /// Nothing to run before the gates: the stage runs as it did before stage scopes.
    pub fn is_empty(&self) -> bool {
        let nothing = self.services.is_empty() && self.mocks.is_empty();
        nothing && self.setup.is_empty() && self.database.is_none()
    }
}

#[derive(Debug, Clone)]
pub struct Gate {
    pub id: String,
    pub title: String,
    pub tags: Vec<String>,
    pub timeout: Duration,
    pub grace: Duration,
    /// Relative to the project root.
    pub workdir: PathBuf,
    /// In order: project defaults, stage defaults, the gate's own. Values may hold `${VAR}`.
    pub env: Vec<(String, String)>,
    pub secrets: Vec<String>,
    /// A fresh database for this gate alone.
    pub database: Option<Database>,
    /// Issue 17. `databases:`: more fresh databases, each with its name (lower case).
    pub databases: Vec<(String, Database)>,
    /// The id as written: `id` is `base_id[K=v,…]` for a combination of a `matrix`.
    pub base_id: String,
    /// This combination's matrix values, in the order the keys were written.
    pub matrix: Vec<(String, String)>,
    /// How many more times a gate that failed runs (`retries:`).
    pub retries: u32,
    /// Background processes, in the order written.
    pub services: Vec<ServiceDef>,
    pub mocks: Vec<mock::MockDef>,
    pub steps: Vec<Step>,
    /// Run after the steps whatever they did, before the services stop.
    pub finally: Vec<Step>,
    pub line: u64,
    pub column: u64,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub name: Option<String>,
    pub kind: StepKind,
    pub timeout: Option<Duration>,
    pub eventually: Option<Eventually>,
    pub captures: Vec<(String, String)>,
    /// Variables for this step alone, in order; values may hold `${VAR}`.
    pub env: Vec<(String, String)>,
    /// The step's directory (`run`, `file`), relative to the project root; may hold `${VAR}`.
    pub workdir: Option<String>,
    /// Captures declared `secret: true`: their values are masked like declared secrets. For a
    /// `use` step, those of its template's steps.
    pub secret_captures: Vec<String>,
    pub line: u64,
}

impl Step {
    /// A short label for reports: the step's name, else its kind and argument.
    pub fn label(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        match &self.kind {
            StepKind::Run { command, .. } => format!("run: {}", command.display()),
            StepKind::Http(h) => format!("http: {} {}", h.method, crate::text::redact_url(&h.url)),
            StepKind::Tcp { address, .. } => format!("tcp: {address}"),
            StepKind::Sql { statement, .. } => {
                let flat: String = statement.split_whitespace().collect::<Vec<_>>().join(" ");
                format!("sql: {flat}")
            }
            StepKind::File { path, .. } => format!("file: {path}"),
            StepKind::Service {
                action, service, ..
            } => format!("{}: {service}", action.as_str()),
            StepKind::Use { template, .. } => format!("use: {template}"),
            StepKind::Browser(b) => format!("browser: {}", crate::text::redact_url(&b.url)),
            StepKind::Received(r) => r.label(),
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            StepKind::Run { .. } => "run",
            StepKind::Http { .. } => "http",
            StepKind::Tcp { .. } => "tcp",
            StepKind::Sql { .. } => "sql",
            StepKind::File { .. } => "file",
            StepKind::Service { action, .. } => action.as_str(),
            StepKind::Use { .. } => "use",
            StepKind::Browser(_) => "browser",
            StepKind::Received(_) => "received",
        }
    }
}

/// `eventually`: retry a failed check for `within`, pausing `every` between attempts (a
/// growing pause when `None`: the short form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Eventually {
    pub within: Duration,
    pub every: Option<Duration>,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Run {
        command: Command,
        expect: RunExpect,
    },
    Http(Box<HttpStep>),
    Tcp {
        address: String,
        open: bool,
    },
    Sql {
        /// May hold `${VAR}`.
        statement: String,
        expect: SqlExpect,
        /// The database of `databases:` it runs on; `None`: the gate's `database:`.
        db: Option<String>,
    },
    File {
        path: String,
        exists: bool,
        contains: Vec<Pattern>,
    },
    Service {
        action: ServiceAction,
        service: String,
        signal: Signal,
    },
    /// A template's steps, run in a scope of their own (`runner::gate::template`).
    Use {
        template: String,
        /// Each param and its value; values may hold the caller's `${VAR}`.
        with: Vec<(String, String)>,
        steps: Arc<Vec<Step>>,
        /// The captures copied back to the caller.
        outputs: Vec<String>,
    },
    /// Issue 19: a page in the run's headless Chromium.
    Browser(Box<BrowserStep>),
    Received(Box<mock::ReceivedStep>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
    Mysql,
}

/// Issue 18. A fresh database: its kind, and what prepares the template it is copied from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    pub kind: DatabaseKind,
    pub init: Option<std::sync::Arc<DbInit>>,
}

/// What prepares a template database, once per run per key (database/template_key.rs). Paths
/// are relative to the gate's workdir, checked to stay below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbInit {
    /// A shell command, and the files and directories it reads.
    Run {
        command: String,
        inputs: Vec<String>,
    },
    /// SQL files, run in order.
    Sql(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct SqlExpect {
    /// Every row, exactly; cells compared as JSON values.
    pub rows: Option<Vec<Vec<serde_json::Value>>>,
    pub count: Option<u64>,
    /// The single cell of the result (first row, first column): an exact value or matchers.
    pub value: Option<ValueCheck>,
    /// `Some`: the statement must fail, with a message satisfying these patterns.
    pub error: Option<Vec<Pattern>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceAction {
    Start,
    Stop,
    Restart,
}

impl ServiceAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceAction::Start => "start",
            ServiceAction::Stop => "stop",
            ServiceAction::Restart => "restart",
        }
    }
}

/// A signal a `stop`/`restart` step may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Term,
    Kill,
    Int,
    Hup,
    Quit,
    Usr1,
    Usr2,
}

impl Signal {
    pub const NAMES: &[&str] = &["TERM", "KILL", "INT", "HUP", "QUIT", "USR1", "USR2"];

    pub fn parse(s: &str) -> Option<Signal> {
        let s = s.trim().to_ascii_uppercase();
        Some(match s.strip_prefix("SIG").unwrap_or(&s) {
            "TERM" => Signal::Term,
            "KILL" => Signal::Kill,
            "INT" => Signal::Int,
            "HUP" => Signal::Hup,
            "QUIT" => Signal::Quit,
            "USR1" => Signal::Usr1,
            "USR2" => Signal::Usr2,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct HttpStep {
    pub method: String,
    /// May hold `${VAR}`.
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// Appended to the URL's query, url-encoded, in order; values may hold `${VAR}`.
    pub query: Vec<(String, String)>,
    pub body: Option<HttpBody>,
    pub follow_redirects: bool,
    /// Store and send the gate's cookies (`cookies: false`: neither).
    pub cookies: bool,
    /// `None`: HTTP/1.1.
    pub version: Option<HttpVersion>,
    /// Where the body is saved, relative to the gate's workdir (may hold `${VAR}`).
    pub save: Option<String>,
    /// Issue 20: the request signed with HMAC-SHA256 (`sign:`).
    pub sign: Option<HttpSign>,
    pub expect: HttpExpect,
}

#[derive(Debug, Clone)]
pub struct HttpExpect {
    pub status: Vec<StatusMatch>,
    /// Header name (lower case) and what its values must satisfy.
    pub headers: Vec<(String, Vec<HeaderCheck>)>,
    pub body: Vec<Pattern>,
    pub json: Vec<(String, JsonExpect)>,
    pub version: Option<HttpVersion>,
    // Issue 18, the response (config/http_expect.rs).
    pub duration: Vec<crate::config::http_expect::DurationBound>,
    pub bytes: crate::config::http_expect::BytesExpect,
    pub xpath: Vec<(String, crate::config::http_expect::NodeExpect)>,
    pub css: Vec<(String, crate::config::http_expect::NodeExpect)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMatch {
    Exact(u16),
    /// `2xx`: the hundreds digit.
    Class(u16),
}

impl StatusMatch {
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusMatch::Exact(s) => s == status,
            StatusMatch::Class(c) => status / 100 == c,
        }
    }
}

impl fmt::Display for StatusMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusMatch::Exact(s) => write!(f, "{s}"),
            StatusMatch::Class(c) => write!(f, "{c}xx"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServiceDef {
    pub name: String,
    pub command: Command,
    pub env: Vec<(String, String)>,
    pub ready: Option<Ready>,
    /// Its exit while the gate runs is expected, not a failure.
    pub may_exit: bool,
    /// A fixed port (`port:`) instead of a leased free one.
    pub port: Option<u16>,
    /// `start: manual`: started by a `start` step only.
    pub manual: bool,
    pub line: u64,
}

impl ServiceDef {
    /// `API` for `api`, `MY_DB` for `my-db`: the prefix of `<NAME>_PORT` and `<NAME>_URL`.
    pub fn var_prefix(&self) -> String {
        var_prefix(&self.name)
    }
}

/// The variable prefix of a service named `name` (`my-db` → `MY_DB`), for checks that run
/// before its definition is built.
pub fn var_prefix(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

#[derive(Debug, Clone)]
pub struct Ready {
    pub probe: Probe,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub enum Probe {
    /// Ready when a GET answers 2xx.
    Http(String),
    /// Ready when a connection is accepted.
    Tcp(String),
    /// Ready when a line of the service's output matches.
    Log(Pattern),
    /// Ready when the command exits 0.
    Run(Command),
}

#[derive(Debug, Clone)]
pub enum Command {
    /// Passed to `sh -c` untouched; the shell expands variables itself.
    Shell(String),
    /// Each argument is interpolated, then run without a shell.
    Argv(Vec<String>),
}

impl Command {
    pub fn display(&self) -> String {
        match self {
            Command::Shell(s) => s.clone(),
            Command::Argv(argv) => argv.join(" "),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RunExpect {
    pub exit: Vec<i64>,
    pub stdout: Vec<Pattern>,
    pub stderr: Vec<Pattern>,
}
