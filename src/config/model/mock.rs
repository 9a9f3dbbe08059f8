//! Issue 20, validated: a mock (a fake HTTP API a gate or a stage runs), its routes and
//! responses, and the `received` step that judges what a mock was sent. A leaf of the model:
//! header and JSON expectations are the `http` step's own types, handed in by the parent.

use std::fmt;
use std::time::Duration;

use super::checks::{HeaderCheck, JsonExpect};
use crate::expect::Pattern;
use crate::expect::value::ValueCheck;

/// One mock: `<NAME>_URL` and `<NAME>_PORT` for its gate (or stage).
#[derive(Debug, Clone)]
pub struct MockDef {
    /// As written (lower case, `-` and `_`), like a service's.
    pub name: String,
    /// Tried in order: the first whose target and matchers hold answers.
    pub routes: Vec<Route>,
    /// The answer to a request no route takes (recorded as unexpected).
    pub unmatched: MockResponse,
    pub line: u64,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub target: Target,
    pub matchers: RequestMatch,
    /// A sequence: the n-th request this route takes gets the n-th, the last one repeats.
    pub respond: Vec<MockResponse>,
    pub line: u64,
}

/// `METHOD PATH`: a method (`None` for `*`, any) and the path, exactly or by regex. Both
/// may hold `${VAR}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub method: Option<String>,
    pub path: PathMatch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// The path as sent, without its query, equal to this.
    Exact(String),
    /// A regex (written between slashes) found in the path, without its query.
    Regex(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.method.as_deref().unwrap_or("*"))?;
        match &self.path {
            PathMatch::Exact(p) => write!(f, " {p}"),
            PathMatch::Regex(r) => write!(f, " /{r}/"),
        }
    }
}

/// What a request must show beside its target: as an `http` step's `expect` would judge a
/// response (`json`, `headers`, `body`), and `query` parameters judged like headers.
#[derive(Debug, Clone, Default)]
pub struct RequestMatch {
    pub json: Vec<(String, JsonExpect)>,
    /// Lower-case header name, what its values must satisfy.
    pub headers: Vec<(String, Vec<HeaderCheck>)>,
    pub query: Vec<(String, Vec<HeaderCheck>)>,
    pub body: Vec<Pattern>,
}

impl RequestMatch {
    pub fn is_empty(&self) -> bool {
        self.json.is_empty()
            && self.headers.is_empty()
            && self.query.is_empty()
            && self.body.is_empty()
    }
}

/// One answer. Header values and the body may hold `${VAR}` (filled in when the mock starts)
/// and `{{request.…}}` (filled in from each request, `mock::template`).
#[derive(Debug, Clone)]
pub struct MockResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: MockBody,
    pub delay: Option<Duration>,
    /// Close the connection instead of answering.
    pub drop: bool,
}

#[derive(Debug, Clone)]
pub enum MockBody {
    Empty,
    /// Sent as `application/json` unless `headers` say otherwise.
    Json(serde_json::Value),
    Text(String),
}

/// `received: NAME`: what mock NAME was sent, judged.
#[derive(Debug, Clone)]
pub struct ReceivedStep {
    pub mock: String,
    /// `match:`, the requests judged; `None`: every request the mock was sent.
    pub target: Option<Target>,
    /// How many; `None`: at least one.
    pub count: Option<ValueCheck>,
    /// What each request judged must show (`json`, `headers`).
    pub each: RequestMatch,
    /// The requests that match one of these, in arrival order, must be exactly these.
    pub order: Vec<Target>,
    /// How many requests no route took.
    pub unexpected: Option<ValueCheck>,
    /// Bounds on the time between consecutive requests judged (a retry's wait).
    pub gap: Vec<crate::config::http_expect::DurationBound>,
}

impl ReceivedStep {
    pub fn label(&self) -> String {
        match &self.target {
            Some(t) => format!("received: {} {t}", self.mock),
            None => format!("received: {}", self.mock),
        }
    }
}
