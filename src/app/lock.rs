//! The evidence directory's lock, as the commands take it: waited for interruptibly, its errors
//! mapped to exit codes, or for a command a gate runs, the pid of the run holding it.

use crate::config;
use crate::evidence;
use crate::exit::Error;

use super::signals::signals;

/// The evidence lock, or the pid of the ancestor run holding it (a command run by a gate).
pub(super) async fn lock_or_nested(
    project: &config::Project,
) -> Result<Result<evidence::lock::EvidenceLock, i32>, Error> {
    match lock_evidence_raw(project).await {
        Ok(l) => Ok(Ok(l)),
        Err(evidence::lock::LockError::Nested { pid, .. }) => Ok(Err(pid)),
        Err(e) => Err(lock_error(e)),
    }
}

/// The evidence directory's lock, waited for (interruptibly) if another run holds it.
pub(super) async fn lock_evidence(
    project: &config::Project,
) -> Result<evidence::lock::EvidenceLock, Error> {
    lock_evidence_raw(project).await.map_err(lock_error)
}

fn lock_error(e: evidence::lock::LockError) -> Error {
    use evidence::lock::LockError;
    match e {
        LockError::Nested { .. } => Error::Usage(e.to_string()),
        LockError::Interrupted { .. } => Error::Interrupted(e.to_string()),
        LockError::Io { .. } => Error::Internal(e.to_string()),
    }
}

async fn lock_evidence_raw(
    project: &config::Project,
) -> Result<evidence::lock::EvidenceLock, evidence::lock::LockError> {
    let interrupted = async {
        if signals().wait_for(|n| *n >= 1).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let shown = project
        .evidence_dir
        .strip_prefix(&project.root)
        .unwrap_or(&project.evidence_dir);
    evidence::lock::acquire(&project.evidence_dir, shown, interrupted).await
}
