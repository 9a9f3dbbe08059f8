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

/// The run's temp root, `$TMPDIR/gaterun-<run id>`, and the lock that says the run is alive:
/// `.lock` in it, flock'ed for the run's whole life (the kernel releases it when the run dies,
/// however it dies). Liveness judged by the lock holds across pid namespaces: a run in a
/// container, whose pid means nothing here, still holds its lock.
pub struct RunRoot {
    pub path: PathBuf,
    _lock: std::fs::File,
}

const LOCK: &str = ".lock";

impl RunRoot {
    /// Made under a hidden name, locked, then renamed into place: a sweep never sees the
    /// directory without its lock held.
    pub fn create() -> Result<Self, String> {
        let base = std::env::temp_dir();
        let run = crate::process::run_id();
        let hidden = base.join(format!(".gaterun-{run}"));
        let path = base.join(format!("gaterun-{run}"));
        let fail =
            |what: &Path, e: std::io::Error| format!("failed to create {}: {e}", what.display());
        std::fs::create_dir_all(&hidden).map_err(|e| fail(&hidden, e))?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(hidden.join(LOCK))
            .map_err(|e| fail(&hidden.join(LOCK), e))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive)
            .map_err(|e| fail(&hidden.join(LOCK), e.into()))?;
        std::fs::rename(&hidden, &path).map_err(|e| fail(&path, e))?;
        Ok(RunRoot { path, _lock: lock })
    }
}

/// A run that is over: its lock, taken by this sweep (so no other sweep works on it too), and
/// its temp root, moved aside to `.gaterun-<run id>.swept` at once (a sweep of another run
/// that finds the lock taken and the name gone knows the run is being dealt with).
struct Dead {
    _lock: Option<std::fs::File>,
    swept: Option<PathBuf>,
}

const SWEPT: &str = ".swept";

/// Lock `file` if it is free.
fn try_lock(file: &Path) -> Option<std::fs::File> {
    let f = std::fs::File::open(file).ok()?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive).ok()?;
    Some(f)
}

/// Whether run `run` is over, judged by its lock in our temp directory: free means dead (the
/// lock is then held until the sweep is done with the run). No lock file: a run of an older
/// gaterun (`run` a bare pid) is judged by `/proc/<pid>`; any other is not ours to judge (it
/// may use another temp directory) and counts as alive.
fn claim_dead(run: &str) -> Option<Dead> {
    if run == crate::process::run_id() {
        return None;
    }
    let base = std::env::temp_dir();
    let root = base.join(format!("gaterun-{run}"));
    if root.join(LOCK).exists() {
        let lock = try_lock(&root.join(LOCK))?;
        let aside = base.join(format!(".gaterun-{run}{SWEPT}"));
        let swept = std::fs::rename(&root, &aside).ok().map(|()| aside);
        return Some(Dead {
            _lock: Some(lock),
            swept,
        });
    }
    let pid: i32 = run.parse().ok()?;
    let alive = pid == std::process::id() as i32 || Path::new(&format!("/proc/{pid}")).exists();
    (!alive).then_some(Dead {
        _lock: None,
        swept: None,
    })
}

/// Whether `s` has the form of a run id, `<pid>r<8 hex digits>` (see `process::run_id`): a
/// directory named otherwise (`gaterun-pidns-…`, someone else's) is never removed for lack of
/// a lock.
fn is_run_id(s: &str) -> bool {
    s.split_once('r').is_some_and(|(pid, random)| {
        !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && random.len() == 8
            && random.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// Remove a run's temp root or server directory, stopping a PostgreSQL cluster's postmaster or
/// a MariaDB server first.
fn remove_run_dir(dir: &Path) {
    for data in [dir.join("data"), dir.join("postgres/data")] {
        crate::database::kill_postmaster(&data);
    }
    for server in [dir.to_owned(), dir.join("mysql")] {
        crate::database::kill_mysql_server(&server);
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Remove what gaterun runs killed with SIGKILL left behind: their gates' processes and
/// cgroups, their temp roots (`$TMPDIR/gaterun-<run id>`) and throw-away PostgreSQL clusters
/// and MariaDB servers (`/dev/shm/gaterun-<run id>-postgres`, `-mysql`), stopping a cluster's
/// postmaster or the server first (a postmaster's backends exit with it). Only runs whose lock is free are touched: a run still going, in this pid
/// namespace or another, is left alone. Returns what could not be removed.
pub fn sweep_stale() -> Vec<String> {
    use std::collections::HashMap;
    let mut problems = Vec::new();
    let mut judged: HashMap<String, Option<Dead>> = HashMap::new();
    let mut dead = |run: &str| {
        judged
            .entry(run.to_owned())
            .or_insert_with(|| claim_dead(run))
            .is_some()
    };
    // Their gates first: nothing of a killed run outlives the next run's start.
    #[cfg(target_os = "linux")]
    problems.extend(crate::process::kill_dead_runs(&mut dead));
    // A cluster before the temp root that holds the run's lock.
    for base in [PathBuf::from("/dev/shm"), std::env::temp_dir()] {
        let Ok(entries) = std::fs::read_dir(&base) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            // A temp root a sweep moved aside and did not finish with: its lock free, or gone
            // with part of its content (something wrote into it while it was removed).
            let lock = e.path().join(LOCK);
            if name.starts_with(".gaterun-")
                && name.ends_with(SWEPT)
                && (!lock.exists() || try_lock(&lock).is_some())
            {
                remove_run_dir(&e.path());
                continue;
            }
            // A temp root being made (hidden until it is locked) whose maker died before the
            // rename: abandoned once a minute old, its lock free or never made.
            if let Some(run) = name.strip_prefix(".gaterun-")
                && is_run_id(run)
                && e.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().is_ok_and(|age| age.as_secs() >= 60))
                && (!lock.exists() || try_lock(&lock).is_some())
            {
                let _ = std::fs::remove_dir_all(e.path());
                continue;
            }
            let Some(rest) = name.strip_prefix("gaterun-") else {
                continue;
            };
            let run = ["-postgres", "-mysql"]
                .iter()
                .find_map(|s| rest.strip_suffix(s))
                .unwrap_or(rest);
            // A temp root here without its lock is no live run's (a live run's root has its
            // lock from the moment it has its name): one whose removal was cut short.
            let lockless = base == std::env::temp_dir()
                && run == rest
                && is_run_id(run)
                && run != crate::process::run_id()
                && e.path().is_dir()
                && !lock.exists();
            if run.is_empty() || !(lockless || dead(run)) {
                continue;
            }
            // A temp root claimed now was moved aside: removed below.
            if e.path().exists() {
                remove_run_dir(&e.path());
            }
        }
    }
    for dead in judged.into_values().flatten() {
        if let Some(dir) = &dead.swept {
            remove_run_dir(dir);
        }
    }
    problems
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
    fn a_run_is_dead_only_when_its_lock_is_free() {
        let run = format!("{}r5eed{:04x}", std::process::id(), 0xbeef);
        let root = std::env::temp_dir().join(format!("gaterun-{run}"));
        std::fs::create_dir_all(&root).unwrap();
        let lock = std::fs::File::create(root.join(super::LOCK)).unwrap();
        let flock = |f: &std::fs::File, op| rustix::fs::flock(f, op).unwrap();
        use rustix::fs::FlockOperation::{LockExclusive, Unlock};

        flock(&lock, LockExclusive);
        assert!(super::claim_dead(&run).is_none(), "held: alive");
        flock(&lock, Unlock);
        let claim = super::claim_dead(&run).expect("free: dead");
        let aside = claim.swept.clone().expect("moved aside");
        assert!(!root.exists() && aside.join(super::LOCK).exists());
        assert!(
            super::claim_dead(&run).is_none(),
            "claimed by one sweep: not another's to work on"
        );
        drop(claim);
        std::fs::remove_dir_all(&aside).unwrap();

        let ids = [
            (crate::process::run_id(), true),
            ("123r0badf00d", true),
            ("123", false),
            ("pidns-6h2mgY", false),
            ("123r0badf00", false),
            ("r0badf00d", false),
            ("12x3r0badf00d", false),
        ];
        for (id, want) in ids {
            assert_eq!(super::is_run_id(id), want, "{id}");
        }

        // No lock file: a bare pid (an older gaterun) by /proc; anything else is not ours.
        let table = [
            ("1", false),
            ("99999999", true),
            (run.as_str(), false),
            (crate::process::run_id(), false),
        ];
        for (run, dead) in table {
            assert_eq!(super::claim_dead(run).is_some(), dead, "{run}");
        }
    }

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
