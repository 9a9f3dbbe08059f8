//! One run at a time per evidence directory.
//!
//! Two runs writing the same evidence directory would each leave a consistent stage directory
//! (every write is atomic) but an invocation `junit.xml`, `summary.md` and history that mix
//! them. A run therefore holds an exclusive `flock` on `<evidence>/.gaterun.lock` from before
//! its first gate until its last evidence file is written; a second run waits for it, saying
//! so once. The kernel drops the lock when its holder dies, even by SIGKILL, so a killed run
//! never leaves a stale lock behind. A gaterun started by a gate of the run holding the lock
//! (a nested run on the same directory) would wait for its own parent: it is refused instead.

use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::FlockOperation;

pub const LOCK_FILE: &str = ".gaterun.lock";

/// Held until dropped.
#[derive(Debug)]
pub struct EvidenceLock {
    _file: std::fs::File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("failed to lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{dir} is in use by the gaterun run this command was started from (pid {pid}): give a \
         nested run its own directory with --evidence"
    )]
    Nested { dir: String, pid: i32 },
    #[error("interrupted while waiting for another gaterun run to finish with {dir}")]
    Interrupted { dir: String },
}

/// Take the lock on `dir` (made if missing), waiting while another run holds it.
/// `interrupted` resolves when the user gives up (Ctrl-C).
pub async fn acquire(
    dir: &Path,
    shown: &Path,
    interrupted: impl std::future::Future<Output = ()>,
) -> Result<EvidenceLock, LockError> {
    let path = dir.join(LOCK_FILE);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        // A symbolic link planted in evidence/ is never followed (its target would be written).
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(&path)
        .map_err(io)?;
    let shown = shown.display().to_string();
    tokio::pin!(interrupted);
    let mut said = false;
    loop {
        match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => break,
            Err(rustix::io::Errno::WOULDBLOCK) => {}
            Err(e) => return Err(io(e.into())),
        }
        let holder = holder(&mut file);
        if let Some((pid, run)) = &holder
            && (is_ancestor(*pid) || started_by(run))
        {
            return Err(LockError::Nested {
                dir: shown,
                pid: *pid,
            });
        }
        if !said {
            let who = holder
                .map(|(p, _)| format!(" (pid {p})"))
                .unwrap_or_default();
            errln!("waiting for another gaterun run{who} to finish with {shown} ...");
            said = true;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = &mut interrupted => return Err(LockError::Interrupted { dir: shown }),
        }
    }
    // Say who holds it, for the message of a run that has to wait.
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = writeln!(file, "{}", crate::process::run_id());
    Ok(EvidenceLock { _file: file })
}

/// The holder's pid (in its PID namespace) and run id, from the lock file: `<pid>r<random>`
/// (a bare pid from an older gaterun).
fn holder(file: &mut std::fs::File) -> Option<(i32, String)> {
    let mut text = String::with_capacity(32);
    file.rewind().ok()?;
    file.take(64).read_to_string(&mut text).ok()?;
    let run = text.trim();
    let pid = run.split('r').next()?.parse().ok()?;
    Some((pid, run.to_owned()))
}

/// Whether this process was started by a gate of the run `run`: its gate token names that run.
/// Both are written by that run, so this holds where the ancestor walk cannot (a gate in a PID
/// namespace sees other pids in its `/proc`).
fn started_by(run: &str) -> bool {
    std::env::var(crate::process::TOKEN_VAR)
        .ok()
        .is_some_and(|token| crate::process::token_run(&token) == Some(run))
}

/// Whether `pid` is this process's parent, grandparent, ...
fn is_ancestor(pid: i32) -> bool {
    let mut current = std::process::id() as i32;
    for _ in 0..64 {
        match crate::process::parent_of(current) {
            Some(ppid) if ppid == pid => return true,
            Some(ppid) if ppid > 1 => current = ppid,
            _ => return false,
        }
    }
    false
}
