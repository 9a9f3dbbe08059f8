//! Processes: spawning in their own process group, finding every process a gate started, and
//! stopping them all — including the ones that daemonized, `setsid` or double-forked.
//!
//! How a stray process is attributed to its gate: gaterun makes itself a child subreaper, so
//! anything that daemonizes out of a gate is reparented to gaterun instead of init and stays in
//! its process tree; and every process a gate starts inherits `GATERUN_GATE=<token>` in its
//! environment (the cookie Jenkins' process tree killer uses). Stopping a gate walks gaterun's
//! descendants in `/proc`, picks those whose initial environment carries the gate's token, and
//! sends them SIGTERM, then SIGKILL after the grace period, alongside the process groups of the
//! commands themselves (which also covers a process that cleared its environment).
//!
//! Orphans reparented to gaterun are reaped here; children spawned through tokio are recorded
//! in an owned set so the reaper never takes an exit status tokio is waiting for.

mod capture;
#[cfg(target_os = "linux")]
mod linux;

pub use capture::{CappedBuffer, mask_bytes};
#[cfg(target_os = "linux")]
pub use linux::{
    all_pids, become_subreaper, is_dying, parent_of, processes_with_token, reap_orphans,
    service_processes, signal_pids, strays_of_dead_runs,
};

use std::collections::HashSet;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The environment variable every gate process inherits.
pub const TOKEN_VAR: &str = "GATERUN_GATE";

/// Set by a second interrupt: stop waiting for grace periods, SIGKILL at once.
pub static FORCE_KILL: AtomicBool = AtomicBool::new(false);

static OWNED: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

fn owned() -> MutexGuard<'static, Option<HashSet<u32>>> {
    OWNED.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn is_owned(pid: u32) -> bool {
    owned().as_ref().is_some_and(|s| s.contains(&pid))
}

/// A token unique to one gate run within this gaterun process (and across processes: it
/// starts with gaterun's pid). Also notes the pid counter at that moment: every process of the
/// gate gets a later pid, which lets the leftover search read only those (see `linux::sweep`).
pub fn new_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let token = format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    #[cfg(target_os = "linux")]
    if let Some(floor) = linux::last_pid() {
        floors().insert(token.clone(), floor);
    }
    token
}

/// The pid of the gaterun that made `token`.
pub fn token_owner(token: &str) -> Option<i32> {
    token.split('-').next()?.parse().ok()
}

/// The gate is over: forget its token's pid floor.
pub fn forget_token(token: &str) {
    floors().remove(token);
}

static FLOORS: Mutex<std::collections::BTreeMap<String, i32>> =
    Mutex::new(std::collections::BTreeMap::new());

fn floors() -> MutexGuard<'static, std::collections::BTreeMap<String, i32>> {
    FLOORS.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn floor_of(token: &str) -> Option<i32> {
    floors().get(token).copied()
}

/// Spawn a command configured by the caller, recording its pid as owned by tokio while the
/// registry is locked, so the orphan reaper cannot race the registration.
pub fn spawn(cmd: &mut tokio::process::Command) -> io::Result<tokio::process::Child> {
    let mut guard = owned();
    let child = cmd.spawn()?;
    if let Some(pid) = child.id() {
        guard.get_or_insert_with(HashSet::new).insert(pid);
    }
    Ok(child)
}

/// Forget a child once tokio has reaped it.
pub fn release(pid: Option<u32>) {
    if let Some(pid) = pid
        && let Some(set) = owned().as_mut()
    {
        set.remove(&pid);
    }
}

/// Stop every process of a gate: SIGTERM to the given process groups and to every process
/// carrying the token; SIGKILL to whatever is left after `grace`. Returns once none is left
/// (or after a last SIGKILL, if something refuses to die within two more seconds).
pub async fn terminate(token: &str, groups: &[u32], grace: Duration) {
    let start = Instant::now();
    let mut killed = false;
    let mut first = true;
    loop {
        let live = processes_with_token(token);
        let force = FORCE_KILL.load(Ordering::Relaxed) || start.elapsed() >= grace;
        if first {
            signal_groups(groups, rustix::process::Signal::TERM);
            signal_pids(&live, rustix::process::Signal::TERM);
            first = false;
        }
        if live.is_empty() {
            break;
        }
        if force {
            signal_groups(groups, rustix::process::Signal::KILL);
            signal_pids(&live, rustix::process::Signal::KILL);
            killed = true;
        }
        if killed && start.elapsed() >= grace + Duration::from_secs(2) {
            break;
        }
        let pause = if start.elapsed() < Duration::from_millis(50) {
            2
        } else {
            10
        };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    // A group member that cleared its environment is invisible to the scan: make sure.
    signal_groups(groups, rustix::process::Signal::KILL);
    if killed {
        reap_orphans();
    }
}

fn signal_groups(groups: &[u32], signal: rustix::process::Signal) {
    for g in groups {
        if let Some(pid) = rustix::process::Pid::from_raw(*g as i32) {
            let _ = rustix::process::kill_process_group(pid, signal);
        }
    }
}

/// A command of a gate, ready to spawn: `sh -c` for a shell string (passed untouched: the
/// shell expands variables itself), the interpolated argv otherwise; exactly the gate's
/// variables as its environment plus the gate's token; its own process group; stdin from
/// `/dev/null`, stdout and stderr piped.
pub fn gate_command(
    command: &crate::config::Command,
    vars: &crate::vars::Vars,
    token: &str,
    workdir: &std::path::Path,
) -> Result<tokio::process::Command, crate::vars::VarError> {
    use std::process::Stdio;
    let mut cmd = match command {
        crate::config::Command::Shell(script) => {
            let mut c = tokio::process::Command::new(shell());
            c.arg("-c").arg(script);
            c
        }
        crate::config::Command::Argv(argv) => {
            let argv: Vec<String> = argv
                .iter()
                .map(|a| crate::vars::interpolate(a, vars))
                .collect::<Result<_, _>>()?;
            let mut c = tokio::process::Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        }
    };
    cmd.env_clear()
        .envs(vars)
        .env(TOKEN_VAR, token)
        .current_dir(workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    Ok(cmd)
}

/// `sh`, found once: `/bin/sh` where it exists (POSIX), else whatever PATH finds. Saves a PATH
/// search — one failed `execve` per directory before it — on every command.
fn shell() -> &'static std::path::Path {
    static SHELL: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    SHELL.get_or_init(|| {
        let bin_sh = std::path::PathBuf::from("/bin/sh");
        if bin_sh.is_file() {
            bin_sh
        } else {
            std::path::PathBuf::from("sh")
        }
    })
}
