//! A gate's mocks: each bound to a leased port when the gate's variables are made (so its
//! `<NAME>_URL` and `<NAME>_PORT` exist for the gate's `env`), started once the gate's `env`
//! is known (its routes' `${VAR}` filled in), and stopped with the gate: the accept task is
//! aborted, which ends every connection task it owns, then the port's lease is let go.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use tokio::task::JoinHandle;

use super::server::{LiveRoute, Shared, serve};
use super::target::Resolved;
use crate::config::{MockBody, MockDef, MockResponse};
use crate::expect::value::Typed;
use crate::ports::PortLease;
use crate::steps::log::GateLog;
use crate::vars::{self, Vars};

pub struct Mock {
    pub def: MockDef,
    pub port: u16,
    listener: Option<std::net::TcpListener>,
    shared: Option<Arc<Shared>>,
    task: Option<JoinHandle<()>>,
    /// Held while the mock runs: no other gate, of any run, is given the port.
    _lease: PortLease,
}

impl Mock {
    /// A leased port, and a listener bound on it (connections wait until [`Mock::start`]).
    pub fn bind(def: &MockDef) -> Result<Mock, String> {
        let lease = PortLease::allocate()
            .map_err(|e| format!("failed to find a free port for mock `{}`: {e}", def.name))?;
        let listener = std::net::TcpListener::bind(("127.0.0.1", lease.0))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| {
                format!(
                    "mock `{}`: failed to listen on port {}: {e}",
                    def.name, lease.0
                )
            })?;
        Ok(Mock {
            def: def.clone(),
            port: lease.0,
            listener: Some(listener),
            shared: None,
            task: None,
            _lease: lease,
        })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Fill in the routes' variables and serve. Must run inside the tokio runtime.
    pub fn start(&mut self, vars: &Vars, typed: &Typed, log: &GateLog) -> Result<(), String> {
        let name = &self.def.name;
        let mut routes = Vec::new();
        for r in &self.def.routes {
            let at = |e: String| format!("mock `{name}`, route at line {}: {e}", r.line);
            let respond = r
                .respond
                .iter()
                .map(|x| fill(x, vars, typed))
                .collect::<Result<Vec<_>, _>>()
                .map_err(at)?;
            super::preflight::defined(&r.matchers, vars).map_err(at)?;
            routes.push(LiveRoute {
                target: Resolved::new(&r.target, vars).map_err(at)?,
                matchers: r.matchers.clone(),
                respond,
                taken: AtomicUsize::new(0),
                line: r.line,
            });
        }
        let unmatched = fill(&self.def.unmatched, vars, typed)
            .map_err(|e| format!("mock `{name}`, unmatched: {e}"))?;
        let shared = Arc::new(Shared {
            name: name.clone(),
            routes,
            unmatched,
            vars: vars.clone(),
            typed: typed.clone(),
            journal: Default::default(),
            log: log.clone(),
            started: std::time::Instant::now(),
        });
        let listener = self
            .listener
            .take()
            .ok_or_else(|| format!("mock `{name}` was started twice"))?;
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| format!("mock `{name}`: {e}"))?;
        self.task = Some(tokio::spawn(serve(listener, shared.clone())));
        self.shared = Some(shared);
        Ok(())
    }

    /// What it was sent, for `received`; `None` before it started.
    pub fn shared(&self) -> Option<Arc<Shared>> {
        self.shared.clone()
    }

    /// Stop serving: every connection ends, the listener closes.
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        self.listener = None;
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// A response with the gate's `${VAR}` filled in (its `{{request.…}}` stay for each request);
/// in JSON, a string that is one `${NAME}` alone keeps the variable's type (a port, a
/// capture), as in an expectation.
fn fill(r: &MockResponse, vars: &Vars, typed: &Typed) -> Result<MockResponse, String> {
    let text = |t: &str| vars::interpolate(t, vars).map_err(|e| e.to_string());
    let headers = r
        .headers
        .iter()
        .map(|(k, v)| Ok((k.clone(), text(v)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let body = match &r.body {
        MockBody::Empty => MockBody::Empty,
        MockBody::Text(t) => MockBody::Text(text(t)?),
        MockBody::Json(v) => {
            let b = crate::expect::value::Bindings { text: vars, typed };
            MockBody::Json(crate::expect::value::resolve(v, b).map_err(|e| match e {
                crate::expect::CheckError::Mismatch(m) | crate::expect::CheckError::Invalid(m) => m,
            })?)
        }
    };
    Ok(MockResponse {
        headers,
        body,
        ..r.clone()
    })
}

/// The mocks a gate sees: its own, and its stage's (shared, run by the stage's scope).
#[derive(Default)]
pub struct Mocks {
    pub own: Vec<Mock>,
    pub stage: Vec<Arc<Shared>>,
    /// When the gate's attempt began: its `received` steps count only what arrived since
    /// (a stage's mock outlives an attempt; a gate's own starts with each).
    pub since: Option<std::time::Instant>,
}

impl Mocks {
    /// The running mock named `name`.
    pub fn find(&self, name: &str) -> Option<Arc<Shared>> {
        self.own
            .iter()
            .filter_map(Mock::shared)
            .chain(self.stage.iter().cloned())
            .find(|s| s.name == name)
    }

    pub async fn stop_all(&mut self) {
        for m in self.own.iter_mut().rev() {
            m.stop().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{MockDef, PathMatch, RequestMatch, Route, Target};

    fn def() -> MockDef {
        let ok = MockResponse {
            status: 200,
            headers: Vec::new(),
            body: MockBody::Empty,
            delay: None,
            drop: false,
        };
        MockDef {
            name: "api".to_owned(),
            routes: vec![Route {
                target: Target {
                    method: Some("GET".to_owned()),
                    path: PathMatch::Regex("^/users/${ID}$".to_owned()),
                },
                matchers: RequestMatch::default(),
                respond: vec![ok.clone()],
                line: 1,
            }],
            unmatched: MockResponse { status: 404, ..ok },
            line: 1,
        }
    }

    /// Acceptance 3 of issue 20: a mock costs well under 2 ms per gate to start (a lease, a
    /// listener, a task), after the first (which reads the port pool).
    #[tokio::test]
    async fn a_mock_starts_in_well_under_two_milliseconds() {
        let vars: Vars = [("ID".to_owned(), "7".to_owned())].into();
        let log = GateLog::new(1 << 20);
        let mut warm = Mock::bind(&def()).expect("bind");
        warm.start(&vars, &Typed::default(), &log).expect("start");
        // The median of many, so that a busy machine's pauses do not decide.
        let mut took = Vec::new();
        let mut mocks = Vec::new();
        for _ in 0..100 {
            let started = std::time::Instant::now();
            let mut m = Mock::bind(&def()).expect("bind");
            m.start(&vars, &Typed::default(), &log).expect("start");
            took.push(started.elapsed());
            mocks.push(m);
        }
        took.sort();
        let median = took[took.len() / 2];
        eprintln!("a mock starts in {median:?} (median)");
        assert!(median < std::time::Duration::from_millis(2), "{median:?}");
        for m in &mut mocks {
            m.stop().await;
        }
    }
}
