//! Where a throw-away server of the run keeps its data: in memory (`/dev/shm`) when there is
//! room, since creating databases writes megabytes and on a shared disk that costs tens of
//! milliseconds more, and varies; else below the run's temp root. The name carries the run id,
//! so the next run's sweep finds it if this run is killed (`runner::tmp::sweep_stale`).

use std::path::{Path, PathBuf};

/// `/dev/shm/gaterun-<run id>-<what>` with 1 GiB free, else `<tmp_root>/<what>`.
pub fn dir(tmp_root: &Path, what: &str) -> PathBuf {
    let shm = Path::new("/dev/shm");
    let roomy = rustix::fs::statvfs(shm)
        .map(|s| s.f_bavail.saturating_mul(s.f_frsize) >= 1 << 30)
        .unwrap_or(false);
    if roomy && shm.is_dir() {
        shm.join(format!("gaterun-{}-{what}", crate::process::run_id()))
    } else {
        tmp_root.join(what)
    }
}
