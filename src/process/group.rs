//! Process groups a gate started away from its context (a readiness probe's): noted by token,
//! so the gate's teardown signals them with the others.
//!
//! Global because the probe runs where only the gate's token is at hand (a service's
//! readiness check), and the teardown finds the groups by that token.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

static NOTED: Mutex<BTreeMap<String, Vec<u32>>> = Mutex::new(BTreeMap::new());

fn noted() -> MutexGuard<'static, BTreeMap<String, Vec<u32>>> {
    NOTED.lock().unwrap_or_else(|e| e.into_inner())
}

/// A process group the gate started away from its context (a readiness probe's): signalled
/// by the gate's teardown with the others.
pub fn note_group(token: &str, pgid: u32) {
    noted().entry(token.to_owned()).or_default().push(pgid);
}

/// Forget a noted group once no process is left in it: its number may be reused by a stranger.
pub fn forget_group_if_empty(token: &str, pgid: u32) {
    let gone = !super::kill::group_alive(pgid);
    if gone && let Some(groups) = noted().get_mut(token) {
        groups.retain(|g| *g != pgid);
    }
}

/// The groups noted for `token`.
pub(super) fn noted_groups(token: &str) -> Vec<u32> {
    noted().get(token).into_iter().flatten().copied().collect()
}

/// The gate is over: forget its noted groups.
pub(super) fn forget_groups(token: &str) {
    noted().remove(token);
}
