//! The children whose exit status belongs to someone else (tokio, or a `wait` of the caller):
//! the orphan reaper leaves them alone.
//!
//! Global because the reaper runs from every gate's teardown and the subreaper collects
//! orphans of every gate alike: any `waitpid` of gaterun must know every child it may not
//! take. A child is recorded while the set is locked around its spawn, so the reaper cannot
//! race the registration.

use std::collections::HashSet;
use std::io;
use std::sync::{Mutex, MutexGuard};

static OWNED: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

fn owned() -> MutexGuard<'static, Option<HashSet<u32>>> {
    OWNED.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn is_owned(pid: u32) -> bool {
    owned().as_ref().is_some_and(|s| s.contains(&pid))
}

/// Spawn with tokio, the pid recorded as owned while the registry is locked.
pub(crate) fn spawn_tokio(cmd: &mut tokio::process::Command) -> io::Result<tokio::process::Child> {
    let mut guard = owned();
    let child = cmd.spawn()?;
    if let Some(pid) = child.id() {
        guard.get_or_insert_with(HashSet::new).insert(pid);
    }
    Ok(child)
}

/// Spawn a helper with std (not tokio), registered as owned so the orphan reaper leaves its
/// exit status to the caller's `wait`; `release` it after.
pub(crate) fn spawn_std(cmd: &mut std::process::Command) -> io::Result<std::process::Child> {
    let mut guard = owned();
    let child = cmd.spawn()?;
    guard.get_or_insert_with(HashSet::new).insert(child.id());
    Ok(child)
}

/// Forget a child once it has been reaped.
pub(crate) fn forget(pid: u32) {
    if let Some(set) = owned().as_mut() {
        set.remove(&pid);
    }
}
