//! Joining cgroups: a child writes itself into each `cgroup.procs`, opened beforehand, between
//! `fork` and `exec`, so it and all it forks are in the gate's cgroups from their first
//! instruction.

use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Arc;

/// The function a child runs before `exec`: write `0` (itself) to each `cgroup.procs`.
pub(super) fn join_closure(
    joins: Arc<Vec<(OwnedFd, bool)>>,
) -> impl FnMut() -> io::Result<()> + Send + Sync + 'static {
    move || {
        for (fd, required) in joins.iter() {
            if let Err(e) = rustix::io::write(fd, b"0")
                && *required
            {
                return Err(io::Error::from_raw_os_error(e.raw_os_error()));
            }
        }
        Ok(())
    }
}

pub(super) fn open_procs(dir: &Path) -> io::Result<OwnedFd> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.procs"))?;
    Ok(f.into())
}
