//! How one attempt of a step (or a service's start or stop) ends, and the deadline it runs
//! under. A leaf: steps, services and the gate executor all speak it, so it imports none of
//! them.

use std::time::Instant;

use tokio::sync::watch;

use crate::expect::CheckError;

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
    /// the service's status and output (`Services::exited_while_running`).
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

impl From<CheckError> for Failure {
    fn from(e: CheckError) -> Self {
        match e {
            CheckError::Mismatch(m) => Failure::Check(m),
            CheckError::Invalid(m) => Failure::Error(m),
        }
    }
}

/// The deadline an attempt must finish by, and what to say when it is hit.
#[derive(Debug, Clone)]
pub struct Deadline {
    pub at: Instant,
    pub message: String,
}

/// Resolves once the run is interrupted (or its sender is gone). Holds no lock across awaits.
pub async fn cancelled(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}
