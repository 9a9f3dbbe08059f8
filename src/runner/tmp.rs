//! Gates' temp directories (`GATE_TMP`, also the gate's `TMPDIR`).
//!
//! A gate that leaves its directory empty hands it on to a later gate instead of removing it:
//! every gate still starts in an empty directory of its own, and a run of trivial gates does
//! not pay a directory's creation and removal each (on ext4 the inode allocation was the largest
//! single cost of a `run: "true"` gate; see BENCHMARKS.md). A directory with anything left in
//! it, or whose mode the gate changed, is removed. With `--keep-tmp` every gate gets a new
//! directory named after its token, kept after the run.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

const MODE: u32 = 0o700;

pub struct TmpDirs {
    root: PathBuf,
    keep: bool,
    free: Mutex<Vec<PathBuf>>,
    made: AtomicUsize,
}

impl TmpDirs {
    pub fn new(root: PathBuf, keep: bool) -> Self {
        TmpDirs {
            root,
            keep,
            free: Mutex::new(Vec::new()),
            made: AtomicUsize::new(0),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// An empty directory for a gate.
    pub fn take(&self, token: &str) -> Result<PathBuf, String> {
        if !self.keep
            && let Some(dir) = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop()
        {
            return Ok(dir);
        }
        let dir = if self.keep {
            self.root.join(format!("gate-{token}"))
        } else {
            let n = self.made.fetch_add(1, Ordering::Relaxed);
            self.root.join(format!("gate-{n}"))
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(MODE)
            .create(&dir)
            .map_err(|e| {
                format!(
                    "failed to create the gate's temp directory {}: {e}",
                    dir.display()
                )
            })?;
        Ok(dir)
    }

    /// The gate is over and no process of it is left: keep, reuse or remove its directory.
    pub fn give_back(&self, dir: PathBuf) {
        if self.keep {
            return;
        }
        if is_pristine(&dir) {
            self.free
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(dir);
        } else {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// Remove what gaterun runs killed with SIGKILL left behind: their gates' processes, their temp roots
/// (`$TMPDIR/gaterun-<pid>`) and throw-away PostgreSQL clusters (`/dev/shm/gaterun-<pid>-postgres`),
/// stopping a cluster's postmaster first (its backends exit with it). A directory whose
/// gaterun is still running is left alone.
pub fn sweep_stale() {
    // Their gates' processes first: nothing of a killed run outlives the next run's start.
    #[cfg(target_os = "linux")]
    crate::process::signal_pids(
        &crate::process::strays_of_dead_runs(),
        rustix::process::Signal::KILL,
    );
    for base in [std::env::temp_dir(), PathBuf::from("/dev/shm")] {
        let Ok(entries) = std::fs::read_dir(&base) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix("gaterun-") else {
                continue;
            };
            let Ok(pid) = rest.trim_end_matches("-postgres").parse::<i32>() else {
                continue;
            };
            // Conservative: while any process has that pid, the directory may be in use.
            if pid == std::process::id() as i32 || Path::new(&format!("/proc/{pid}")).exists() {
                continue;
            }
            let dir = e.path();
            for data in [dir.join("data"), dir.join("postgres/data")] {
                crate::database::postgres::kill_postmaster(&data);
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

fn is_pristine(dir: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return false;
    };
    meta.is_dir()
        && meta.permissions().mode() & 0o7777 == MODE
        && std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none())
}

#[cfg(test)]
mod tests {
    use super::TmpDirs;

    #[test]
    fn an_empty_directory_is_reused_anything_else_is_removed() {
        let root = tempfile::tempdir().unwrap();
        let dirs = TmpDirs::new(root.path().join("run"), false);
        let a = dirs.take("t1").unwrap();
        dirs.give_back(a.clone());
        assert_eq!(
            dirs.take("t2").unwrap(),
            a,
            "an empty directory is handed on"
        );

        std::fs::write(a.join("left-over"), "x").unwrap();
        dirs.give_back(a.clone());
        assert!(!a.exists(), "a directory with something in it is removed");
        let b = dirs.take("t3").unwrap();
        assert_ne!(b, a);
        assert_eq!(std::fs::read_dir(&b).unwrap().count(), 0);

        std::fs::set_permissions(&b, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        dirs.give_back(b.clone());
        assert!(
            !b.exists(),
            "a directory whose mode the gate changed is removed"
        );
    }

    #[test]
    fn keep_tmp_gives_every_gate_its_own_directory_and_keeps_it() {
        let root = tempfile::tempdir().unwrap();
        let dirs = TmpDirs::new(root.path().to_path_buf(), true);
        let a = dirs.take("t1").unwrap();
        dirs.give_back(a.clone());
        let b = dirs.take("t2").unwrap();
        assert_ne!(a, b);
        assert!(a.ends_with("gate-t1") && a.is_dir());
    }
}
