//! Step kinds. Each file runs one kind of step once (one attempt); the gate executor handles
//! `eventually`, deadlines and teardown around them.

pub mod run;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::watch;

use crate::process::CappedBuffer;
use crate::vars::Vars;

/// What a step sees of its gate.
pub struct GateCtx {
    pub vars: Vars,
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
}

impl Failure {
    pub fn message(&self) -> String {
        match self {
            Failure::Check(m) | Failure::Timeout(m) | Failure::Error(m) => m.clone(),
            Failure::Interrupted => "interrupted".to_owned(),
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
